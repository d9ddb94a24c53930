//! Progress of a run as the engine reports it after every committed batch.

use chrono::{DateTime, Utc};

use crate::domain::{Phase, RunCounts, RunId, SyncMode, Trigger};

#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub run: RunId,
    pub mode: SyncMode,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    pub phase: Phase,
    pub processed: u64,
    pub total: Option<u64>,
    pub counts: RunCounts,
}

/// Told of each committed batch: the CLI draws a progress bar, the server streams it over SSE.
pub trait ProgressObserver: Send + Sync {
    fn update(&self, progress: &Progress);
}

pub struct NoProgress;

impl ProgressObserver for NoProgress {
    fn update(&self, _: &Progress) {}
}
