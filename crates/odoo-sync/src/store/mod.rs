//! The catalog store: where synced products, sync runs and watermarks live.
//!
//! Owns the `CatalogStore` trait, its implementations and `StoreError`. Multi-step transactions
//! are store methods taking domain types, so neither the engine nor http ever sees SQL. Must not
//! import the engine, http, axum or the Odoo client.

mod sqlite;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Category, Product, RunCounts, RunId, RunStatus, SyncCursor, SyncMode, SyncRun, Trigger, Watermark,
    WatermarkKey,
};

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("sync run {running} is already running")]
    RunInProgress { running: RunId },
    #[error("sync run {run} is being worked on by {owner} until {until}")]
    RunLeased { run: RunId, owner: String, until: DateTime<Utc> },
    #[error("catalog database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("catalog database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("catalog database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("unsupported DATABASE_URL '{0}': expected sqlite://PATH")]
    UnsupportedUrl(String),
}

/// A batch of catalog rows and the run position they bring the run to, written in one transaction.
pub struct CatalogBatch<'a> {
    pub products: &'a [Product],
    pub categories: &'a [Category],
    pub checkpoint: Checkpoint<'a>,
}

/// Where a run stands after a batch: committed with the batch's rows, so the two never disagree.
pub struct Checkpoint<'a> {
    pub run: RunId,
    pub cursor: &'a SyncCursor,
    pub total: Option<u64>,
}

/// A product as stored, with what the store knows beyond Odoo's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProduct {
    pub product: Product,
    pub category: Option<Category>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub change_seq: i64,
}

pub struct NewRun<'a> {
    pub mode: SyncMode,
    pub trigger: Trigger,
    pub cursor: &'a SyncCursor,
    pub total: Option<u64>,
    /// Who holds the run while it is worked on, and for how long without a heartbeat.
    pub owner: &'a str,
    pub lease: Duration,
}

#[async_trait]
pub trait CatalogStore: Send + Sync + 'static {
    /// Upserts products and categories (rows whose content did not change are not rewritten),
    /// adds the outcome to the run's counts and stores its cursor, all in one transaction.
    async fn apply_batch(&self, batch: CatalogBatch<'_>) -> Result<RunCounts, StoreError>;

    /// Marks the products deleted (kept, with the time), with the run's checkpoint.
    async fn mark_deleted(&self, ids: &[i64], checkpoint: Checkpoint<'_>) -> Result<u64, StoreError>;

    /// Ids of the products that are not marked deleted, ascending.
    async fn live_product_ids(&self) -> Result<Vec<i64>, StoreError>;

    /// The whole catalog sorted by id.
    async fn export(&self, include_deleted: bool) -> Result<Vec<StoredProduct>, StoreError>;

    /// Starts a run, or fails with `RunInProgress` if one is running.
    async fn create_run(&self, new: NewRun<'_>) -> Result<SyncRun, StoreError>;

    /// Takes the lease of a running run: fails with `RunLeased` while another owner holds it,
    /// unless that owner is `steal_from` (known dead by the caller).
    async fn claim_run(
        &self,
        run: RunId,
        owner: &str,
        lease: Duration,
        steal_from: Option<&str>,
    ) -> Result<SyncRun, StoreError>;

    /// Gives the lease back without finishing the run (a progressive step ended).
    async fn release_run(&self, run: RunId, owner: &str) -> Result<(), StoreError>;

    /// Ends a run; on success the watermarks are stored in the same transaction.
    async fn finish_run(
        &self,
        run: RunId,
        status: RunStatus,
        error: Option<&str>,
        watermarks: &BTreeMap<WatermarkKey, Watermark>,
    ) -> Result<SyncRun, StoreError>;

    /// Records a run that did not happen (a scheduled run that found another one running).
    async fn record_skipped_run(&self, mode: SyncMode, trigger: Trigger, reason: &str) -> Result<SyncRun, StoreError>;

    async fn running_run(&self) -> Result<Option<SyncRun>, StoreError>;
    async fn run(&self, run: RunId) -> Result<Option<SyncRun>, StoreError>;
    async fn recent_runs(&self, limit: u32) -> Result<Vec<SyncRun>, StoreError>;
    async fn watermarks(&self) -> Result<BTreeMap<WatermarkKey, Watermark>, StoreError>;
    async fn product_count(&self) -> Result<u64, StoreError>;
}
