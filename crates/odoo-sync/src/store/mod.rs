//! The catalog store: where synced products, sync runs and watermarks live.
//!
//! Owns the store traits (`CatalogStore` is all of them), their implementations and
//! `StoreError`. Multi-step transactions are store methods taking domain types, so neither the
//! engine nor http ever sees SQL. Must not import the engine, http, axum or the Odoo client.

mod blobs;
mod facet_index;
mod facets;
mod images;
mod postgres;
mod query;
mod search;
mod sqlite;
mod stored;
mod storefront;
mod version_reads;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::pricelist::{
    PricedVariant, Pricelist, PricelistRule, PricingState, VariantPrice,
};
use crate::domain::site_event::{AttemptOutcome, DeliveryStatus, SiteDelivery};
use crate::domain::{
    CatalogScope, Category, NewWebhookEvent, Product, PublicCategory, QueueStats, RunCounts, RunId,
    RunStatus, SyncCursor, SyncMode, SyncRun, Trigger, Watermark, WatermarkKey, WebhookEvent,
    WebhookState,
};

// Re-exported while http/ and engine/fetch.rs still name them here.
use crate::domain::{StockLevel, StoredProduct};
pub use blobs::{ImageStore, ObjectImageStore};
pub use facets::{AttributeFacet, CategoryCount, Facets, PriceRange, ValueCount};
pub use images::ImageUpdate;
pub use postgres::PgStore;
pub use query::{
    fts_query, AttributeFilter, CategoryNode, Change, ChangePage, ProductPage, ProductQuery,
    ProductSort, SortKey,
};
pub use sqlite::SqliteStore;
pub use storefront::{public_category_tree, PublicCategoryNode};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("sync run {running} is already running")]
    RunInProgress { running: RunId },
    #[error("sync run {run} is being worked on by {owner} until {until}")]
    RunLeased {
        run: RunId,
        owner: String,
        until: DateTime<Utc>,
    },
    /// The database cannot be reached; `at` names it (host and port, or file) without secrets.
    #[error("catalog database {at} is unavailable")]
    Unavailable {
        at: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("catalog database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("catalog database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value of the wrong type, or NULL where a value is expected.
    #[error("stored {table}.{column} of row {row} cannot be read")]
    Decode {
        table: &'static str,
        column: String,
        row: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("image store: {0}")]
    Images(#[from] object_store::Error),
    #[error("cannot create the image folder {folder}")]
    ImageFolder {
        folder: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "unsupported DATABASE_URL '{0}': expected sqlite://PATH or postgres://USER@HOST/DATABASE"
    )]
    UnsupportedUrl(String),
    /// An image pass pointed to stored blobs that the collector deleted since it looked them up.
    #[error("{missing} image blob(s) were collected while an image pass still pointed to them")]
    ImagesCollected { missing: u64 },
}

/// A batch of catalog rows and the run position they bring the run to, written in one transaction.
pub struct CatalogBatch<'a> {
    pub products: &'a [Product],
    pub categories: &'a [Category],
    /// The run this batch belongs to; `None` for writes outside a run (webhooks).
    pub checkpoint: Option<Checkpoint<'a>>,
}

/// Where a run stands after a batch: committed with the batch's rows, so the two never disagree.
pub struct Checkpoint<'a> {
    pub run: RunId,
    pub cursor: &'a SyncCursor,
    pub total: Option<u64>,
}

/// How many events per wanted record a claim takes at most, counted over whole bursts (the
/// first record is always taken): Odoo repeats itself (up to 26 POSTs for one creation), and
/// every claimed row is written under the write lock that acknowledgements wait for.
pub const CLAIM_EVENTS_PER_RECORD: i64 = 5;
/// How many of the oldest due rows per wanted record a claim picks its records from: records
/// still in a burst (not yet quiet) are passed over, so it looks further than `limit` rows.
pub const CANDIDATE_ROWS_PER_RECORD: i64 = 4;

/// When a record's webhook events are ready to be handled together: once no new event came for
/// `quiet`, or `max_wait` after the first one, whichever is sooner. Odoo 18 sends up to 26 POSTs
/// for one create over the length of its transaction; waiting for the burst to end turns them
/// into one read, taken when the commit is more likely done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coalesce {
    pub quiet: Duration,
    pub max_wait: Duration,
}

/// A JSON-RPC login kept for the next process, which then need not log in again (see
/// `odoo_rpc::ClientConfig::resume_uid`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OdooSession {
    /// Whose login it is: the server URL, database and login it was made with.
    pub server: String,
    pub uid: i64,
    pub saved_at: DateTime<Utc>,
}

/// What the store holds of a product about to be written.
struct ExistingRow {
    hash: String,
    active: bool,
    deleted: bool,
}

/// Which products of a batch must be written (with their content hash), and what the batch does
/// to the run's counts: a product whose stored content is the same is not rewritten.
fn plan_batch<'a>(
    products: &'a [Product],
    existing: &HashMap<i64, ExistingRow>,
) -> (RunCounts, Vec<(&'a Product, String)>) {
    let mut counts = RunCounts::default();
    let mut writes = Vec::new();
    for product in products {
        let hash = product.content_hash();
        match existing.get(&product.id) {
            Some(row) if row.hash == hash && !row.deleted => counts.unchanged += 1,
            found => {
                if found.is_some() {
                    counts.updated += 1;
                } else {
                    counts.created += 1;
                }
                if found.is_some_and(|row| row.active && !product.active) {
                    counts.archived += 1;
                }
                writes.push((product, hash));
            }
        }
    }
    (counts, writes)
}

/// Which database a `DATABASE_URL` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

impl StoreKind {
    pub fn of_url(url: &str) -> Option<StoreKind> {
        if url.starts_with("sqlite:") {
            Some(StoreKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(StoreKind::Postgres)
        } else {
            None
        }
    }
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

/// What a sync writes of the catalog: pages of products, deletions, run checkpoints, stock.
#[async_trait]
pub trait CatalogWriter: Send + Sync + 'static {
    /// Upserts products and categories (rows whose content did not change are not rewritten),
    /// adds the outcome to the run's counts and stores its cursor, all in one transaction.
    async fn apply_batch(&self, batch: CatalogBatch<'_>) -> Result<RunCounts, StoreError>;

    /// Marks the products deleted (kept, with the time), with the run's checkpoint if any.
    async fn mark_deleted(
        &self,
        ids: &[i64],
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<u64, StoreError>;

    /// Stock per variant, kept apart from the product rows (no product `write_date` tracks it).
    async fn set_stock(&self, levels: &[StockLevel]) -> Result<u64, StoreError>;

    /// Ids of the products that are not marked deleted, ascending.
    async fn live_product_ids(&self) -> Result<Vec<i64>, StoreError>;
}

/// What the catalog API and the export read.
#[async_trait]
pub trait CatalogReader: Send + Sync + 'static {
    /// The whole catalog sorted by id.
    async fn export(&self, include_deleted: bool) -> Result<Vec<StoredProduct>, StoreError>;

    /// A page of live products matching the query, in its sort order.
    async fn list_products(&self, query: &ProductQuery) -> Result<ProductPage, StoreError>;

    /// The facets of every live product the query matches, its cursor and limit aside (what
    /// each count leaves out is in `store/facets.rs`).
    async fn facets(&self, query: &ProductQuery) -> Result<Facets, StoreError>;

    /// (value id, attribute id) of each of `values` that some stored product offers; a value
    /// no product offers is left out.
    async fn attribute_of_values(&self, values: &[i64]) -> Result<Vec<(i64, i64)>, StoreError>;

    /// One product by Odoo id, deleted ones included (the caller decides what to show).
    async fn product(&self, id: i64) -> Result<Option<StoredProduct>, StoreError>;

    /// One live product by SKU: the template's `default_code` or one of its variants'.
    async fn product_by_sku(&self, sku: &str) -> Result<Option<StoredProduct>, StoreError>;

    async fn category_tree(&self) -> Result<Vec<CategoryNode>, StoreError>;

    /// A number that changes with every committed write to what the catalog API shows
    /// (products, variants, translations, categories, stock), whichever process wrote it.
    async fn catalog_version(&self) -> Result<i64, StoreError>;

    /// Products changed (written or deleted) after `seq`, oldest change first.
    async fn changes_since(&self, seq: i64, limit: u32) -> Result<ChangePage, StoreError>;

    async fn product_count(&self) -> Result<u64, StoreError>;

    /// A cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Sync runs: one running at a time, held by a leased owner.
#[async_trait]
pub trait RunLedger: Send + Sync + 'static {
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
    async fn record_skipped_run(
        &self,
        mode: SyncMode,
        trigger: Trigger,
        reason: &str,
    ) -> Result<SyncRun, StoreError>;

    async fn running_run(&self) -> Result<Option<SyncRun>, StoreError>;

    async fn run(&self, run: RunId) -> Result<Option<SyncRun>, StoreError>;

    async fn recent_runs(&self, limit: u32) -> Result<Vec<SyncRun>, StoreError>;
}

/// Received webhooks, committed before they are acknowledged and leased to workers.
#[async_trait]
pub trait WebhookInbox: Send + Sync + 'static {
    /// Commits a received webhook to the inbox before it is acknowledged.
    async fn enqueue_webhook(&self, event: &NewWebhookEvent) -> Result<i64, StoreError>;

    /// Leases the pending events of up to `limit` records that are due and quiet (see
    /// [`Coalesce`]), every pending event of such a record together, so that a burst for one
    /// record is one read; at most [`CLAIM_EVENTS_PER_RECORD`] × `limit` events, except that
    /// the oldest record is taken whole whatever its burst.
    async fn claim_webhooks(
        &self,
        limit: u32,
        lease: Duration,
        coalesce: Coalesce,
    ) -> Result<Vec<WebhookEvent>, StoreError>;

    async fn complete_webhooks(&self, ids: &[i64], outcome: &str) -> Result<(), StoreError>;

    /// Back to pending, due at `run_at`, unleased.
    async fn reschedule_webhooks(
        &self,
        ids: &[i64],
        run_at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError>;

    async fn fail_webhooks(&self, ids: &[i64], error: &str) -> Result<(), StoreError>;

    async fn webhooks(
        &self,
        state: Option<WebhookState>,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, StoreError>;

    /// Puts a failed event back in the queue, due now; `None` if there is no such failed event.
    async fn retry_webhook(&self, id: i64) -> Result<Option<WebhookEvent>, StoreError>;

    async fn webhook_backlog(&self) -> Result<u64, StoreError>;

    /// Pending and failed counts and the oldest pending event's arrival, in one read.
    async fn webhook_inbox_stats(&self) -> Result<QueueStats, StoreError>;

    /// Deletes up to `limit` events handled (`done`) before `before`; returns how many. Pending
    /// and failed events stay whatever their age.
    async fn prune_webhooks(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError>;
}

/// The configured pricelists (`SYNC_PRICELIST_IDS`), their rules, and the prices computed from
/// them. Every pricelist has its own rules, prices and pricing state.
#[async_trait]
pub trait PricingStore: Send + Sync + 'static {
    /// Makes `pricelists` (in this order) the synced ones: their names and currencies are
    /// stored, and the rules, prices and pricing state of any other pricelist go.
    async fn set_pricelists(&self, pricelists: &[Pricelist]) -> Result<(), StoreError>;

    /// The synced pricelists, in `SYNC_PRICELIST_IDS` order.
    async fn pricelists(&self) -> Result<Vec<Pricelist>, StoreError>;

    /// A pricelist's rules, as last read from Odoo.
    async fn pricelist_rules(&self, pricelist: i64) -> Result<Vec<PricelistRule>, StoreError>;

    async fn replace_pricelist_rules(
        &self,
        pricelist: i64,
        rules: &[PricelistRule],
    ) -> Result<(), StoreError>;

    async fn pricing_state(&self, pricelist: i64) -> Result<Option<PricingState>, StoreError>;

    /// What pricing needs of the live variants of products changed after `after_seq`, and the
    /// newest `change_seq` it covers.
    async fn variants_to_price(
        &self,
        after_seq: i64,
    ) -> Result<(Vec<PricedVariant>, i64), StoreError>;

    /// Stores a pricelist's prices that changed (their products get a new `change_seq`) and its
    /// state, at once; returns how many prices changed.
    async fn set_prices(
        &self,
        pricelist: i64,
        prices: &[VariantPrice],
        state: &PricingState,
    ) -> Result<u64, StoreError>;
}

/// Where each store keeps a pricelist's pricing state: `pricing:ID`.
fn pricing_state_key(pricelist: i64) -> String {
    format!("pricing:{pricelist}")
}

/// What a process keeps for the next one: watermarks and the Odoo login.
#[async_trait]
pub trait StateStore: Send + Sync + 'static {
    async fn watermarks(&self) -> Result<BTreeMap<WatermarkKey, Watermark>, StoreError>;

    /// Stores one watermark outside a run (the stock and price sweeps).
    async fn set_watermark(&self, key: WatermarkKey, mark: Watermark) -> Result<(), StoreError>;

    /// The Odoo login an earlier process kept, if any.
    async fn odoo_session(&self) -> Result<Option<OdooSession>, StoreError>;

    async fn save_odoo_session(&self, session: &OdooSession) -> Result<(), StoreError>;
}

/// Where catalog changes are reported (`SITE_WEBHOOK_URLS`), and the bell rung after a commit
/// that queued deliveries. Held by the store: every catalog write queues its events for these
/// URLs in its own transaction, whichever command (serve, a CLI sync) made it.
#[derive(Debug, Default)]
pub struct SiteTargets {
    pub urls: Vec<String>,
    pub queued: tokio::sync::Notify,
}

impl SiteTargets {
    pub fn new(urls: Vec<String>) -> Arc<SiteTargets> {
        Arc::new(SiteTargets {
            urls,
            queued: tokio::sync::Notify::new(),
        })
    }

    /// Wakes this process's worker after a commit that queued deliveries.
    fn rung(&self, queued: bool) {
        if queued {
            self.queued.notify_one();
        }
    }
}

/// The outbox of "catalog changed" events to websites, one delivery per event and target URL.
#[async_trait]
pub trait SiteOutbox: Send + Sync + 'static {
    /// Notified after this process committed a change that queued deliveries.
    fn site_targets(&self) -> Arc<SiteTargets>;

    /// Leases up to `limit` due pending deliveries, oldest due first; a leased delivery is not
    /// claimed again (by any process) until the lease ends or it is settled.
    async fn claim_site_deliveries(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<SiteDelivery>, StoreError>;

    /// Records how an attempt at a leased delivery ended, and ends its lease.
    async fn settle_site_delivery(
        &self,
        id: i64,
        outcome: AttemptOutcome<'_>,
    ) -> Result<(), StoreError>;

    /// Deliveries in the status (all when `None`), oldest first.
    async fn site_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<SiteDelivery>, StoreError>;

    /// Puts a failed delivery back in the queue, due now with its attempts reset; `None` if
    /// there is no such failed delivery.
    async fn replay_site_delivery(&self, id: i64) -> Result<Option<SiteDelivery>, StoreError>;

    async fn failed_site_deliveries(&self) -> Result<u64, StoreError>;

    /// Pending and failed deliveries, and when the oldest pending one was queued.
    async fn site_outbox_stats(&self) -> Result<QueueStats, StoreError>;

    /// Deletes at most `limit` deliveries delivered before `before`; pending and failed ones
    /// stay. Returns how many went.
    async fn prune_site_deliveries(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;
}

/// The website category tree and what the scope's category counts need.
#[async_trait]
pub trait StorefrontStore: Send + Sync + 'static {
    /// Makes the stored website categories these (a category Odoo no longer has goes).
    async fn replace_public_categories(
        &self,
        categories: &[PublicCategory],
    ) -> Result<(), StoreError>;
    async fn public_categories(&self) -> Result<Vec<PublicCategory>, StoreError>;
    /// (product id, public category ids) of the live products `scope` shows that are in one.
    async fn public_category_members(
        &self,
        scope: CatalogScope,
    ) -> Result<Vec<(i64, Vec<i64>)>, StoreError>;
}

/// Image references and blob metadata (the bytes are in an `ImageStore`).
#[async_trait]
pub trait ImageCatalog: Send + Sync + 'static {
    /// The stored blobs among these Odoo checksums, by checksum.
    async fn known_images(
        &self,
        checksums: &[String],
    ) -> Result<HashMap<String, crate::domain::ImageMeta>, StoreError>;

    /// Makes the image rows of `update.product_ids` exactly `update.images` (only products whose
    /// rows differ are rewritten, and queue a site event), records the new blobs and adds the
    /// pass to the run's counts, in one transaction. Returns how many products changed.
    async fn replace_product_images(&self, update: ImageUpdate<'_>) -> Result<u64, StoreError>;

    /// The image rows of these products: per product, its own first, then each variant's.
    async fn product_images(
        &self,
        product_ids: &[i64],
    ) -> Result<Vec<crate::domain::ProductImage>, StoreError>;

    /// A stored blob by the SHA-256 of its bytes.
    async fn image(
        &self,
        content_hash: &str,
    ) -> Result<Option<crate::domain::ImageMeta>, StoreError>;

    async fn image_stats(&self) -> Result<crate::domain::ImageStats, StoreError>;

    /// Deletes up to `limit` blobs that no image row has pointed to since before `unused_before`,
    /// and each one's bytes and resized copies from `blobs`. The files go before the rows'
    /// deletion commits: an image pass that finds a blob unknown afterwards writes its bytes
    /// again after them, and one that found it known before is refused (`ImagesCollected`).
    /// Returns the blobs deleted.
    async fn collect_unused_images(
        &self,
        unused_before: DateTime<Utc>,
        limit: u32,
        blobs: &dyn ImageStore,
    ) -> Result<Vec<crate::domain::ImageMeta>, StoreError>;
}

/// Everything the engine and http hold of the store, as one `Arc<dyn CatalogStore>`; each part
/// says what a caller needs.
pub trait CatalogStore:
    CatalogWriter
    + CatalogReader
    + RunLedger
    + WebhookInbox
    + PricingStore
    + StateStore
    + StorefrontStore
    + SiteOutbox
    + ImageCatalog
{
}

impl<T> CatalogStore for T where
    T: CatalogWriter
        + CatalogReader
        + RunLedger
        + WebhookInbox
        + PricingStore
        + StateStore
        + SiteOutbox
        + StorefrontStore
        + ImageCatalog
{
}

#[cfg(test)]
mod contract_tests;
