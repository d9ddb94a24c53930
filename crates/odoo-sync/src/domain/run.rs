//! Sync runs: what started them, how far they got, how they ended.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::SyncCursor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Full runs read everything and reconcile deletions; incremental runs read what moved since the
/// watermarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    Full,
    Incremental,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Cli,
    Api,
    Schedule,
    Cron,
    Webhook,
    Sweep,
    Demo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    Skipped,
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    other => Err(format!("unknown {} '{other}'", stringify!($ty))),
                }
            }
        }
    };
}

text_enum!(SyncMode { Full => "full", Incremental => "incremental" });
text_enum!(Trigger { Cli => "cli", Api => "api", Schedule => "schedule", Cron => "cron", Webhook => "webhook", Sweep => "sweep", Demo => "demo" });
text_enum!(RunStatus { Running => "running", Succeeded => "succeeded", Failed => "failed", Skipped => "skipped" });

/// What a run did to the catalog so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub archived: u64,
    pub deleted: u64,
    /// Images whose bytes were read from Odoo (new or changed checksums).
    #[serde(default)]
    pub images_fetched: u64,
    /// Images whose checksum was already stored: not downloaded.
    #[serde(default)]
    pub images_unchanged: u64,
}

impl RunCounts {
    pub fn add(&mut self, other: RunCounts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.archived += other.archived;
        self.deleted += other.deleted;
        self.images_fetched += other.images_fetched;
        self.images_unchanged += other.images_unchanged;
    }

    /// Products handled: every product counts once in created, updated or unchanged.
    pub fn processed(&self) -> u64 {
        self.created + self.updated + self.unchanged
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRun {
    pub id: RunId,
    pub mode: SyncMode,
    pub trigger: Trigger,
    pub status: RunStatus,
    /// Products expected in this run, when known (counted at the start of a full run).
    pub total: Option<u64>,
    pub processed: u64,
    pub counts: RunCounts,
    pub cursor: SyncCursor,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl SyncRun {
    pub fn is_finished(&self) -> bool {
        self.status != RunStatus::Running
    }

    pub fn duration(&self) -> chrono::Duration {
        self.finished_at.unwrap_or(self.updated_at) - self.started_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_their_text() {
        for mode in [SyncMode::Full, SyncMode::Incremental] {
            assert_eq!(mode.as_str().parse::<SyncMode>().unwrap(), mode);
        }
        assert!("sideways"
            .parse::<SyncMode>()
            .unwrap_err()
            .contains("sideways"));
        assert_eq!("skipped".parse::<RunStatus>().unwrap(), RunStatus::Skipped);
    }
}
