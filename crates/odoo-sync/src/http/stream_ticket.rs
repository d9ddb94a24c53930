//! Stream tickets. `EventSource` cannot send an `Authorization` header, and a token in a query
//! string ends up in reverse proxies' access logs; so the admin page trades its token (sent in a
//! header) for a ticket that opens one progress stream, once, within a minute, and nothing else.
//! A ticket is `st1.<expiry>.<nonce>.<signature>`, signed with the server's cursor key for this
//! purpose only; redeemed nonces are remembered until they expire.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TICKET_LIFETIME_SECONDS: i64 = 60;
const PREFIX: &str = "st1";
/// Separates these signatures from the page cursors signed with the same key.
const PURPOSE: &[u8] = b"odoo-sync progress stream ticket\n";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TicketError {
    #[error("the stream ticket is malformed")]
    Malformed,
    #[error("the stream ticket's signature does not match: it was altered or not issued here")]
    BadSignature,
    #[error(
        "the stream ticket has expired: ask POST /api/products/sync/events/ticket for another"
    )]
    Expired,
    #[error("the stream ticket was already used: each opens one stream")]
    AlreadyUsed,
}

pub struct StreamTickets {
    key: Vec<u8>,
    /// Redeemed nonces and when they expire.
    redeemed: Mutex<HashMap<String, i64>>,
}

impl StreamTickets {
    pub fn new(key: &[u8]) -> Self {
        StreamTickets {
            key: key.to_vec(),
            redeemed: Mutex::default(),
        }
    }

    fn signature(&self, expiry: i64, nonce: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(PURPOSE);
        mac.update(format!("{expiry}.{nonce}").as_bytes());
        mac
    }

    /// A new ticket, and when it expires.
    pub fn issue(&self, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let expiry = now.timestamp() + TICKET_LIFETIME_SECONDS;
        let nonce = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
        let signature = self.signature(expiry, &nonce).finalize().into_bytes();
        let ticket = format!(
            "{PREFIX}.{expiry}.{nonce}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        );
        let expires_at = DateTime::from_timestamp(expiry, 0).unwrap_or(now);
        (ticket, expires_at)
    }

    /// Accepts `ticket` once, before it expires.
    pub fn redeem(&self, ticket: &str, now: DateTime<Utc>) -> Result<(), TicketError> {
        let mut parts = ticket.split('.');
        let (Some(PREFIX), Some(expiry), Some(nonce), Some(signature), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(TicketError::Malformed);
        };
        let expiry: i64 = expiry.parse().map_err(|_| TicketError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TicketError::Malformed)?;
        self.signature(expiry, nonce)
            .verify_slice(&signature)
            .map_err(|_| TicketError::BadSignature)?;
        let now = now.timestamp();
        if now > expiry {
            return Err(TicketError::Expired);
        }
        let mut redeemed = self.redeemed.lock().unwrap_or_else(|e| e.into_inner());
        redeemed.retain(|_, expires| *expires >= now);
        match redeemed.insert(nonce.to_owned(), expiry) {
            Some(_) => Err(TicketError::AlreadyUsed),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_ticket_opens_one_stream_within_its_minute() {
        let tickets = StreamTickets::new(b"key");
        let now = Utc::now();
        let (ticket, expires_at) = tickets.issue(now);
        assert_eq!(
            expires_at.timestamp() - now.timestamp(),
            TICKET_LIFETIME_SECONDS
        );
        assert_eq!(tickets.redeem(&ticket, now), Ok(()));
        assert_eq!(tickets.redeem(&ticket, now), Err(TicketError::AlreadyUsed));
        let (late, _) = tickets.issue(now);
        let after = now + Duration::seconds(TICKET_LIFETIME_SECONDS + 1);
        assert_eq!(tickets.redeem(&late, after), Err(TicketError::Expired));
    }

    #[test]
    fn an_altered_or_foreign_ticket_is_refused() {
        let tickets = StreamTickets::new(b"key");
        let now = Utc::now();
        let (ticket, _) = tickets.issue(now);
        let (foreign, _) = StreamTickets::new(b"other key").issue(now);
        assert_eq!(
            tickets.redeem(&foreign, now),
            Err(TicketError::BadSignature)
        );
        let mut parts: Vec<&str> = ticket.split('.').collect();
        let later = (now.timestamp() + 3_600).to_string();
        parts[1] = &later;
        let extended = parts.join(".");
        assert_eq!(
            tickets.redeem(&extended, now),
            Err(TicketError::BadSignature)
        );
        for malformed in [
            "",
            "st1",
            "st1.x.y.z",
            "st2.1.n.c2ln",
            &format!("{ticket}.more"),
        ] {
            assert_eq!(
                tickets.redeem(malformed, now),
                Err(TicketError::Malformed),
                "{malformed}"
            );
        }
        assert_eq!(tickets.redeem(&ticket, now), Ok(()));
    }

    proptest::proptest! {
        #[test]
        fn no_string_is_taken_for_a_ticket(ticket in "(st1\\.)?[0-9a-zA-Z._-]{0,80}") {
            let tickets = StreamTickets::new(b"key");
            proptest::prop_assert!(tickets.redeem(&ticket, Utc::now()).is_err());
        }
    }
}
