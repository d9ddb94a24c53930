//! The durable position of a sync run, committed with each batch so a killed run resumes exactly
//! where its last batch ended, and its opaque token form handed to API callers.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::{RunId, WatermarkKey};

/// The passes of a run, in order. Full runs go categories → templates → deletions; incremental
/// runs go categories → variants → templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Categories,
    Variants,
    Templates,
    Deletions,
    Done,
}

/// Keyset position inside a phase: the last row handled, by `(write_date, id)` or by `id` alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_datetime"
    )]
    pub write_date: Option<NaiveDateTime>,
    pub id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCursor {
    pub phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// Incremental runs: where each model's read starts, fixed when the run starts so a resumed
    /// run reads the same window.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub since: BTreeMap<WatermarkKey, NaiveDateTime>,
    /// Newest `write_date` seen per model; becomes the watermark when the run succeeds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub newest_seen: BTreeMap<WatermarkKey, NaiveDateTime>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CursorError {
    #[error("cursor is not valid base64url: {0}")]
    Encoding(String),
    #[error("cursor does not describe a sync position: {0}")]
    Content(String),
}

#[derive(Serialize, Deserialize)]
struct Token {
    run: RunId,
    #[serde(flatten)]
    cursor: SyncCursor,
}

impl SyncCursor {
    pub fn start(phase: Phase) -> Self {
        SyncCursor {
            phase,
            position: None,
            since: BTreeMap::new(),
            newest_seen: BTreeMap::new(),
        }
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Moves to the next phase, forgetting the position inside the last one.
    pub fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.position = None;
    }

    pub fn saw(&mut self, key: WatermarkKey, write_date: NaiveDateTime) {
        let newest = self.newest_seen.entry(key).or_insert(write_date);
        if write_date > *newest {
            *newest = write_date;
        }
    }

    /// The opaque form handed to API callers, naming the run it belongs to.
    pub fn to_token(&self, run: RunId) -> String {
        let token = Token {
            run,
            cursor: self.clone(),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).expect("cursor always serialises"))
    }

    pub fn from_token(token: &str) -> Result<(RunId, SyncCursor), CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|e| CursorError::Encoding(e.to_string()))?;
        let token: Token =
            serde_json::from_slice(&bytes).map_err(|e| CursorError::Content(e.to_string()))?;
        Ok((token.run, token.cursor))
    }
}

mod opt_datetime {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

    pub fn serialize<S: Serializer>(
        value: &Option<NaiveDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(at) => serializer.serialize_str(&at.format(FORMAT).to_string()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<NaiveDateTime>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                NaiveDateTime::parse_from_str(&text, FORMAT).map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn a_token_round_trips_with_its_run() {
        let mut cursor = SyncCursor::start(Phase::Templates);
        cursor.position = Some(Position {
            write_date: Some(at("2026-11-24 13:00:01")),
            id: 42,
        });
        cursor
            .since
            .insert(WatermarkKey::Template, at("2026-11-24 12:55:00"));
        cursor.saw(WatermarkKey::Template, at("2026-11-24 13:00:01"));
        let token = cursor.to_token(RunId(9));
        assert_eq!(SyncCursor::from_token(&token).unwrap(), (RunId(9), cursor));
    }

    #[test]
    fn garbage_tokens_are_rejected_with_the_reason() {
        assert!(matches!(
            SyncCursor::from_token("%%%"),
            Err(CursorError::Encoding(_))
        ));
        let not_a_cursor = URL_SAFE_NO_PAD.encode(br#"{"run": 1, "phase": "sideways"}"#);
        let err = SyncCursor::from_token(&not_a_cursor).unwrap_err();
        assert!(err.to_string().contains("sideways"), "{err}");
    }

    #[test]
    fn newest_seen_keeps_the_maximum() {
        let mut cursor = SyncCursor::start(Phase::Categories);
        cursor.saw(WatermarkKey::Category, at("2026-11-24 13:00:05"));
        cursor.saw(WatermarkKey::Category, at("2026-11-24 13:00:01"));
        assert_eq!(
            cursor.newest_seen[&WatermarkKey::Category],
            at("2026-11-24 13:00:05")
        );
    }

    proptest::proptest! {
        #[test]
        fn no_token_makes_the_sync_cursor_panic(token in ".{0,120}") {
            let _ = SyncCursor::from_token(&token);
        }

        #[test]
        fn no_base64_payload_makes_the_sync_cursor_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
            use base64::Engine;
            let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            let _ = SyncCursor::from_token(&token);
        }
    }
}
