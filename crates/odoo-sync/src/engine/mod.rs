//! The sync engine: full, progressive and incremental runs over one loop of durable batches.
//!
//! Owns `SyncEngine`, `SyncError` and the progress events. Talks to Odoo only through
//! `odoo_rpc::OdooApi` and to the catalog only through `store::CatalogStore`: it never imports
//! sqlx or axum.

pub mod fetch;
mod images;
mod lease;
pub mod pricing;
mod progress;
mod runner;
pub mod scheduler;
mod service;
pub mod site_webhooks;
pub mod sweeps;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use odoo_rpc::{OdooApi, OdooError};

use crate::domain::{CursorError, Product, RunId};
use crate::store::{CatalogStore, StoreError};

pub use progress::{NoProgress, Progress, ProgressObserver};
pub use runner::{StepOutcome, SyncRequest};
pub use service::{RunEvent, SyncService};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("Odoo: {0}")]
    Odoo(#[from] OdooError),
    #[error("catalog store: {0}")]
    Store(StoreError),
    #[error("Odoo answered {model} {id} with a bad value: {detail}")]
    BadRecord {
        model: &'static str,
        id: String,
        detail: String,
    },
    #[error("sync run {running} is already running")]
    RunInProgress { running: RunId },
    #[error("invalid sync cursor: {0}")]
    InvalidCursor(#[from] CursorError),
    #[error("the cursor belongs to sync run {given}, but {}", match running {
        Some(running) => format!("the running run is {running}"),
        None => "no run is running".to_string(),
    })]
    StaleCursor {
        given: RunId,
        running: Option<RunId>,
    },
    #[error("configuration does not match Odoo: SYNC_EXTRA_FIELDS names '{field}', which {model} does not have")]
    UnknownExtraField { field: String, model: &'static str },
    #[error("configuration does not match Odoo: SYNC_PRICELIST_IDS names {}, but Odoo has no active pricelist with that id", ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))]
    UnknownPricelists { ids: Vec<i64> },
}

impl From<StoreError> for SyncError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::RunInProgress { running } => SyncError::RunInProgress { running },
            StoreError::RunLeased { run, .. } => SyncError::RunInProgress { running: run },
            other => SyncError::Store(other),
        }
    }
}

/// Engine settings, from the `SYNC_*` configuration keys.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Products per batch of progressive steps and incremental pages.
    pub batch_size: u32,
    /// Products per page of a full pass: Odoo's per-call overhead (~19 ms) is paid per page.
    pub full_batch_size: u32,
    pub langs: Vec<String>,
    pub extra_fields: Vec<String>,
    /// How far before the watermark incremental reads start (slow Odoo transactions).
    pub overlap: Duration,
    /// Odoo pages in flight at once during a full pass: as many as Odoo has workers (2 by
    /// default); more only queue there.
    pub concurrency: usize,
    /// How long a run stays ours without a heartbeat.
    pub lease: Duration,
    /// The pricelists whose prices the catalog carries (`SYNC_PRICELIST_IDS`); the first one's
    /// is each variant's `pricelistPrice`.
    pub pricelist_ids: Vec<i64>,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            batch_size: 200,
            full_batch_size: 2500,
            langs: Vec::new(),
            extra_fields: Vec::new(),
            overlap: Duration::from_secs(300),
            concurrency: 2,
            lease: Duration::from_secs(60),
            pricelist_ids: Vec::new(),
        }
    }
}

#[derive(Clone)]
pub struct SyncEngine {
    odoo: Arc<dyn OdooApi>,
    store: Arc<dyn CatalogStore>,
    settings: SyncSettings,
    owner: String,
    /// Whether Odoo sends its webhooks after the commit (19+), learnt once from its version.
    webhooks_after_commit: Arc<tokio::sync::OnceCell<bool>>,
    /// The fields to read, as the last run (or the first webhook batch) discovered them.
    field_plan: Arc<std::sync::Mutex<Option<fetch::FieldPlan>>>,
    /// Where image bytes go; without one, no image pass runs.
    images: Option<Arc<dyn crate::store::ImageStore>>,
}

impl SyncEngine {
    pub fn new(
        odoo: Arc<dyn OdooApi>,
        store: Arc<dyn CatalogStore>,
        settings: SyncSettings,
    ) -> Self {
        SyncEngine {
            odoo,
            store,
            settings,
            owner: lease::this_process(),
            webhooks_after_commit: Default::default(),
            field_plan: Default::default(),
            images: None,
        }
    }

    /// Syncs images too, their bytes into `images`.
    pub fn with_images(mut self, images: Arc<dyn crate::store::ImageStore>) -> Self {
        self.images = Some(images);
        self
    }

    /// The fields to read. Every run asks Odoo again at its start (`refresh_field_plan`); webhook
    /// batches and sweeps reuse that answer instead of paying a `fields_get` call each.
    async fn field_plan(&self) -> Result<fetch::FieldPlan, SyncError> {
        let cached = self.field_plan.lock().expect("never poisoned").clone();
        match cached {
            Some(plan) => Ok(plan),
            None => self.refresh_field_plan().await,
        }
    }

    async fn refresh_field_plan(&self) -> Result<fetch::FieldPlan, SyncError> {
        let plan = fetch::FieldPlan::discover(self.odoo.as_ref(), &self.settings).await?;
        *self.field_plan.lock().expect("never poisoned") = Some(plan.clone());
        Ok(plan)
    }

    /// Writes the products' stock (`fetch::stock_of`) before the products themselves: a page
    /// replayed after a kill writes the same levels again.
    async fn record_stock(&self, products: &[Product]) -> Result<(), SyncError> {
        let levels = fetch::stock_of(self.odoo.as_ref(), products).await?;
        if !levels.is_empty() {
            self.store.set_stock(&levels).await?;
        }
        Ok(())
    }

    pub fn odoo(&self) -> &Arc<dyn OdooApi> {
        &self.odoo
    }

    pub fn store(&self) -> &Arc<dyn CatalogStore> {
        &self.store
    }

    pub fn images(&self) -> Option<&Arc<dyn crate::store::ImageStore>> {
        self.images.as_ref()
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }
}
