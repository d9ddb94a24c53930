//! Outgoing "catalog changed" events for websites, signed per the Standard Webhooks spec
//! (<https://www.standardwebhooks.com>), and the deliveries that carry them to each target URL.
//! Pure types and functions: the store writes the events in the transaction of the change, the
//! engine's worker sends them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

/// Product ids per event at most: a bigger change is split into several events.
pub const MAX_IDS_PER_EVENT: usize = 1000;
/// A single write changing more products than this (a full sync's page of new or changed
/// products, 2,500 by default) is one `{"full": true}` event: a website revalidates everything
/// rather than thousands of tags.
pub const FULL_CHANGE_THRESHOLD: usize = 2000;

/// The `/api/changes` token that resumes the feed after `seq`.
pub fn change_token(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("changes:{seq}"))
}

/// What one committed write changed, as websites are told.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CatalogChange {
    pub upserted: BTreeSet<i64>,
    pub deleted: BTreeSet<i64>,
    /// `category:ID` and `public-category:ID` of each changed product, where known.
    pub product_tags: BTreeMap<i64, BTreeSet<String>>,
    /// Tags not tied to a product (a category whose name or place changed).
    pub other_tags: BTreeSet<String>,
}

impl CatalogChange {
    pub fn is_empty(&self) -> bool {
        self.upserted.is_empty() && self.deleted.is_empty() && self.other_tags.is_empty()
    }

    /// Every product the change touches.
    pub fn product_ids(&self) -> Vec<i64> {
        self.upserted.union(&self.deleted).copied().collect()
    }

    /// The category tags of a product as stored: its category and its website categories.
    pub fn add_product_categories(&mut self, id: i64, category: Option<i64>, public: &[i64]) {
        let tags = self.product_tags.entry(id).or_default();
        tags.extend(category.map(|c| format!("category:{c}")));
        tags.extend(public.iter().map(|c| format!("public-category:{c}")));
    }

    /// The event bodies (JSON text) that tell websites of this change, `change_token` being the
    /// feed's token after it: one `{"full": true}` event above [`FULL_CHANGE_THRESHOLD`]
    /// products, otherwise events of at most [`MAX_IDS_PER_EVENT`] ids.
    pub fn event_bodies(&self, change_token: &str) -> Vec<String> {
        if self.is_empty() {
            return Vec::new();
        }
        let total = self.upserted.len() + self.deleted.len();
        if total > FULL_CHANGE_THRESHOLD {
            return vec![json!({
                "type": "catalog.changed",
                "changes": {"full": true},
                "tags": ["products"],
                "changeToken": change_token,
            })
            .to_string()];
        }
        let all: Vec<(i64, bool)> = self
            .upserted
            .iter()
            .map(|id| (*id, true))
            .chain(self.deleted.iter().map(|id| (*id, false)))
            .collect();
        let chunks: Vec<&[(i64, bool)]> = if all.is_empty() {
            vec![&[]]
        } else {
            all.chunks(MAX_IDS_PER_EVENT).collect()
        };
        chunks
            .into_iter()
            .enumerate()
            .map(|(index, chunk)| {
                let mut tags = BTreeSet::from(["products".to_string()]);
                if index == 0 {
                    tags.extend(self.other_tags.iter().cloned());
                }
                let mut upserted = Vec::new();
                let mut deleted = Vec::new();
                for (id, kept) in chunk {
                    if *kept {
                        upserted.push(*id);
                    } else {
                        deleted.push(*id);
                    }
                    tags.insert(format!("product:{id}"));
                    tags.extend(self.product_tags.get(id).into_iter().flatten().cloned());
                }
                json!({
                    "type": "catalog.changed",
                    "changes": {"upserted": upserted, "deleted": deleted},
                    "tags": tags,
                    "changeToken": change_token,
                })
                .to_string()
            })
            .collect()
    }
}

/// A new event id: `msg_` and 128 random bits, the `webhook-id` of every attempt.
pub fn new_event_id() -> String {
    format!("msg_{:032x}", rand::random::<u128>())
}

/// The key of a `whsec_…` secret (base64 after the prefix, 24 to 64 bytes as the spec says).
pub fn parse_signing_secret(text: &str) -> Result<Vec<u8>, String> {
    let encoded = text
        .strip_prefix("whsec_")
        .ok_or("expected whsec_ followed by a base64 key, as the Standard Webhooks spec has it")?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|e| format!("the part after whsec_ is not base64: {e}"))?;
    if !(24..=64).contains(&key.len()) {
        return Err(format!(
            "the key is {} bytes; the Standard Webhooks spec asks for 24 to 64",
            key.len()
        ));
    }
    Ok(key)
}

/// `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryStatus {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            other => Err(format!(
                "'{other}' is not one of pending, delivered, failed"
            )),
        }
    }
}

/// How one delivery attempt ended, as the store records it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttemptOutcome<'a> {
    /// The receiver answered 2xx (`status`).
    Delivered { status: u16 },
    /// Not accepted; due again at `next_at`.
    RetryAt {
        next_at: DateTime<Utc>,
        status: Option<u16>,
        error: &'a str,
    },
    /// The last attempt was not accepted: kept as failed until replayed.
    Failed { status: Option<u16>, error: &'a str },
}

impl AttemptOutcome<'_> {
    /// The delivery's status after this attempt.
    pub fn status(&self) -> DeliveryStatus {
        match self {
            AttemptOutcome::Delivered { .. } => DeliveryStatus::Delivered,
            AttemptOutcome::RetryAt { .. } => DeliveryStatus::Pending,
            AttemptOutcome::Failed { .. } => DeliveryStatus::Failed,
        }
    }

    pub fn next_at(&self) -> Option<DateTime<Utc>> {
        match self {
            AttemptOutcome::RetryAt { next_at, .. } => Some(*next_at),
            _ => None,
        }
    }

    /// The receiver's HTTP status, if one answered.
    pub fn answer_status(&self) -> Option<u16> {
        match self {
            AttemptOutcome::Delivered { status } => Some(*status),
            AttemptOutcome::RetryAt { status, .. } | AttemptOutcome::Failed { status, .. } => {
                *status
            }
        }
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            AttemptOutcome::Delivered { .. } => None,
            AttemptOutcome::RetryAt { error, .. } | AttemptOutcome::Failed { error, .. } => {
                Some(error)
            }
        }
    }
}

/// One event on its way to one target URL.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteDelivery {
    pub id: i64,
    /// The `webhook-id`: the same for every attempt (and every target) of the event.
    pub event_id: String,
    pub url: String,
    pub body: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (pending deliveries).
    pub next_at: DateTime<Utc>,
    /// The HTTP status of the last answer, if one came.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_matches_the_standard_webhooks_example() {
        // The example of the spec's reference libraries (standard-webhooks, libraries/).
        let key = parse_signing_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = sign(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn malformed_secrets_say_what_is_wrong() {
        assert!(parse_signing_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap_err()
            .contains("whsec_"));
        assert!(parse_signing_secret("whsec_!!!")
            .unwrap_err()
            .contains("not base64"));
        assert!(parse_signing_secret("whsec_c2hvcnQ=")
            .unwrap_err()
            .contains("5 bytes"));
    }

    #[test]
    fn big_changes_are_chunked_and_a_full_page_collapses() {
        let mut change = CatalogChange::default();
        change.upserted.extend(1..=1500);
        change.add_product_categories(7, Some(3), &[9]);
        let bodies = change.event_bodies("t");
        assert_eq!(bodies.len(), 2);
        let first: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
        assert_eq!(first["changes"]["upserted"].as_array().unwrap().len(), 1000);
        let tags = first["tags"].as_array().unwrap();
        assert!(tags.contains(&json!("category:3")) && tags.contains(&json!("public-category:9")));
        change.deleted.extend(5000..5600);
        let bodies = change.event_bodies("t");
        assert_eq!(bodies.len(), 1);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&bodies[0]).unwrap()["changes"],
            json!({"full": true})
        );
    }
}
