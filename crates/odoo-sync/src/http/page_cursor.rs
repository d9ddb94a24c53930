//! Catalog page cursors: opaque and tamper-evident. The token carries the position and a digest
//! of the filters it was made for, signed with HMAC-SHA256; a forged, altered or reused-elsewhere
//! token is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::store::SortKey;

#[derive(Clone)]
pub struct CursorSigner {
    key: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    after: SortKey,
    filters: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageCursorError {
    #[error("cursor is malformed")]
    Malformed,
    #[error("cursor signature does not match: it was altered or not issued by this server")]
    BadSignature,
    #[error("cursor was issued for other filters or another sort order")]
    OtherQuery,
}

impl CursorSigner {
    pub fn new(key: &[u8]) -> Self {
        CursorSigner { key: key.to_vec() }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(payload);
        mac
    }

    pub fn sign(&self, after: &SortKey, filters: &str) -> String {
        let payload = serde_json::to_vec(&Payload {
            after: after.clone(),
            filters: filters.to_string(),
        })
        .expect("cursor payload serialises");
        let signature = self.mac(&payload).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    pub fn verify(&self, token: &str, filters: &str) -> Result<SortKey, PageCursorError> {
        let (payload, signature) = token.split_once('.').ok_or(PageCursorError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| PageCursorError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| PageCursorError::Malformed)?;
        self.mac(&payload)
            .verify_slice(&signature)
            .map_err(|_| PageCursorError::BadSignature)?;
        let payload: Payload =
            serde_json::from_slice(&payload).map_err(|_| PageCursorError::Malformed)?;
        if payload.filters != filters {
            return Err(PageCursorError::OtherQuery);
        }
        Ok(payload.after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_cursor_verifies_and_any_change_is_caught() {
        let signer = CursorSigner::new(b"key");
        let after = SortKey::Name {
            name: "Desk".into(),
            id: 9,
        };
        let token = signer.sign(&after, "sort=name");
        assert_eq!(signer.verify(&token, "sort=name").unwrap(), after);
        assert_eq!(
            signer.verify(&token, "sort=price"),
            Err(PageCursorError::OtherQuery)
        );
        assert_eq!(
            CursorSigner::new(b"other").verify(&token, "sort=name"),
            Err(PageCursorError::BadSignature)
        );
        let (payload, signature) = token.split_once('.').unwrap();
        let forged = SortKey::Name {
            name: "Zzz".into(),
            id: 1,
        };
        let forged_payload = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Payload {
                after: forged,
                filters: "sort=name".into(),
            })
            .unwrap(),
        );
        assert_ne!(forged_payload, payload);
        assert_eq!(
            signer.verify(&format!("{forged_payload}.{signature}"), "sort=name"),
            Err(PageCursorError::BadSignature)
        );
        assert_eq!(
            signer.verify("garbage", "sort=name"),
            Err(PageCursorError::Malformed)
        );
    }

    proptest::proptest! {
        #[test]
        fn no_cursor_makes_the_verifier_panic_and_only_signed_ones_pass(
            token in ".{0,160}", payload in proptest::collection::vec(proptest::num::u8::ANY, 0..80)
        ) {
            let signer = CursorSigner::new(b"key");
            proptest::prop_assert!(signer.verify(&token, "").is_err());
            let forged = format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(&payload));
            proptest::prop_assert!(signer.verify(&forged, "").is_err());
        }
    }
}
