//! An Odoo 18 or 19 simulator on the wire, for tests and benchmarks.
//!
//! It holds a product catalog in memory (the recorded demo18 data set, a generated one of any
//! size, or nothing), answers `common`, `db` and `object.execute_kw` on `/jsonrpc` like Odoo 18.0
//! does (values, orders, domains, errors), and can be made slow or flaky through `Faults`. It
//! depends on nothing of ours: its wire structs are its own, so a client bug cannot be mirrored.
//!
//! With `odoo_version: 19` it serves what Odoo 19 serves: JSON-2 (`POST /json/2/<model>/<method>`
//! with the API key `DEFAULT_API_KEY` as bearer token, see `json2`), `GET /web/version`, the
//! legacy `/jsonrpc` (error code 0; an API key works as password), domains that compare datetimes
//! by whole seconds, and webhooks sent after the commit (nothing for a rolled-back change).
//!
//! Control routes (not Odoo's): `GET/POST /__sim/faults`, `GET /__sim/stats`, `POST /__sim/hold`,
//! `GET/POST /__sim/webhooks` (drop rate, visibility delay, POST counters), `POST /__sim/phantom`
//! (a write whose webhooks are sent but which never commits; 19 sends none),
//! `GET/POST /__sim/api_keys` (add an expired key, another user's, another database's...) and
//! `POST /__sim/databases` (another database, so that JSON-2 calls must name one).

pub mod apikeys;
pub mod automation;
pub mod dataset;
pub mod domain;
pub mod faults;
pub mod generate;
pub mod images;
pub mod json2;
pub mod latency;
pub mod like;
pub mod methods;
pub mod models;
pub mod order;
pub mod rpc;
pub mod server;
pub mod txn;
pub mod value;
pub mod webhooks;
pub mod wire;
pub mod write;

pub use apikeys::{ApiKey, DEFAULT_API_KEY};
pub use faults::Faults;
pub use latency::{LatencyModel, QueueCounts};
pub use webhooks::WebhookCounts;

use server::AppState;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The demo18 `dataset.json` shipped in the shared fixtures.
pub const DEFAULT_DEMO18_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/odoo18-fixtures/conformance/dataset.json"
);

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The one database name accepted.
    pub db: String,
    pub dataset: Dataset,
    pub faults: Faults,
    /// 18 or 19: which Odoo to be (see the module doc).
    pub odoo_version: u8,
}

/// The catalog the simulator starts with.
#[derive(Clone, Debug)]
pub enum Dataset {
    /// The recorded demo18 `dataset.json`.
    Demo18 { path: PathBuf },
    /// A deterministic generated catalog.
    Generated { products: usize, seed: u64 },
    /// Base data only (languages, UoMs, the category tree, attributes): no products.
    Empty,
}

impl Dataset {
    fn build(&self) -> anyhow::Result<models::Db> {
        match self {
            Dataset::Demo18 { path } => dataset::load_demo18(path),
            Dataset::Generated { products, seed } => Ok(generate::generate(*products, *seed)),
            Dataset::Empty => Ok(generate::generate(0, 0)),
        }
    }
}

/// A running simulator.
pub struct Sim {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sim {
    /// Builds the catalog, binds `listen` (port 0 allowed) and serves in the background.
    pub async fn spawn(config: SimConfig, listen: SocketAddr) -> anyhow::Result<Sim> {
        let dataset = config.dataset.clone();
        let mut db = tokio::task::spawn_blocking(move || dataset.build()).await??;
        db.series = config.odoo_version;
        let state = Arc::new(AppState {
            db: RwLock::new(db),
            db_name: config.db,
            odoo_version: config.odoo_version,
            faults: RwLock::new(config.faults),
            calls: AtomicU64::new(0),
            by_method: Mutex::new(BTreeMap::new()),
            webhooks: Default::default(),
            workers: Default::default(),
            keys: Default::default(),
            other_databases: Default::default(),
        });
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = server::router(state.clone());
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "odoo-sim server failed");
            }
        });
        Ok(Sim {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_faults(&self, faults: Faults) {
        self.state.set_faults(faults);
    }

    /// The fault knobs in force.
    pub fn faults(&self) -> Faults {
        self.state.faults()
    }

    /// Probability (0..1) that a webhook POST is silently not sent.
    pub fn set_drop_webhooks(&self, rate: f64) {
        let mut faults = self.state.faults();
        faults.drop_webhooks = rate;
        self.state.set_faults(faults);
    }

    /// How long a staged write stays invisible after its webhook POSTs.
    pub fn set_webhook_visibility_delay_ms(&self, ms: u64) {
        let mut faults = self.state.faults();
        faults.webhook_visibility_delay_ms = ms;
        self.state.set_faults(faults);
    }

    /// The latency model's worker queue (current and maximum depths).
    pub fn queue_counts(&self) -> QueueCounts {
        self.state.workers.counts()
    }

    /// Webhook POSTs sent, failed and dropped so far.
    pub fn webhook_counts(&self) -> WebhookCounts {
        self.state.webhooks.counts()
    }

    /// Adds (or replaces) an API key: another user's, an expired one, one of another database...
    pub fn add_api_key(&self, key: ApiKey) {
        self.state.keys.add(key);
    }

    /// Another database on the server: from then on a JSON-2 call must name one.
    pub fn add_database(&self, name: &str) {
        self.state.add_database(name);
    }

    /// As if `website_sale` were not installed (see `models::Db::uninstall_website`).
    pub fn uninstall_website(&self) {
        let mut db = self.state.db.write().unwrap_or_else(|e| e.into_inner());
        db.uninstall_website();
    }

    /// JSON-RPC calls served so far.
    pub fn call_count(&self) -> u64 {
        self.state.calls.load(Ordering::Relaxed)
    }

    /// Stops accepting, lets in-flight calls finish for up to 2 s, then stops.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Which data set the command line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DatasetKind {
    Demo18,
    Generated,
    Empty,
}

/// Which latency model the command line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LatencyModelKind {
    None,
    Odoo18,
}

/// Command-line arguments of `odoo-sim` (and of `odoo-sync sim`, flattened).
#[derive(Clone, Debug, clap::Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, env = "ODOO_SIM_LISTEN", default_value = "127.0.0.1:8069")]
    pub listen: SocketAddr,
    /// Database name the simulator answers to.
    #[arg(long, env = "ODOO_SIM_DB", default_value = "odoo")]
    pub db: String,
    /// Catalog to serve.
    #[arg(
        long,
        env = "ODOO_SIM_DATASET",
        value_enum,
        default_value = "generated"
    )]
    pub dataset: DatasetKind,
    /// demo18 dataset.json (for --dataset demo18).
    #[arg(long, env = "ODOO_SIM_DATASET_PATH", default_value = DEFAULT_DEMO18_PATH)]
    pub dataset_path: PathBuf,
    /// Number of product templates (for --dataset generated).
    #[arg(long, env = "ODOO_SIM_PRODUCTS", default_value_t = 2000)]
    pub products: usize,
    /// Random seed (for --dataset generated).
    #[arg(long, env = "ODOO_SIM_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Sleep per JSON-RPC call.
    #[arg(long, env = "ODOO_SIM_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Sleep per record returned.
    #[arg(long, env = "ODOO_SIM_PER_RECORD_US", default_value_t = 0)]
    pub per_record_us: u64,
    /// Probability of an HTTP 503 answer.
    #[arg(long, env = "ODOO_SIM_ERROR_RATE", default_value_t = 0.0)]
    pub error_rate: f64,
    /// Probability of hanging 30 s.
    #[arg(long, env = "ODOO_SIM_TIMEOUT_RATE", default_value_t = 0.0)]
    pub timeout_rate: f64,
    /// Probability that a webhook POST is silently not sent.
    #[arg(long, env = "ODOO_SIM_DROP_WEBHOOKS", default_value_t = 0.0)]
    pub drop_webhooks: f64,
    /// Delay between a write's webhook POSTs and its commit (visibility).
    #[arg(
        long,
        env = "ODOO_SIM_WEBHOOK_VISIBILITY_DELAY_MS",
        default_value_t = 0
    )]
    pub webhook_visibility_delay_ms: u64,
    /// Per-call latency model: `odoo18` reproduces bench18's measured Odoo 18 timings.
    #[arg(
        long,
        env = "ODOO_SIM_LATENCY_MODEL",
        value_enum,
        default_value = "none"
    )]
    pub latency_model: LatencyModelKind,
    /// Server workers of the latency model (calls beyond them queue).
    #[arg(long, env = "ODOO_SIM_ODOO_WORKERS", default_value_t = 2)]
    pub odoo_workers: usize,
    /// Odoo major version to simulate: 18 (JSON-RPC) or 19 (JSON-2 too, with the admin API key
    /// `odoo-sim-admin-api-key`, and the legacy JSON-RPC).
    #[arg(long, env = "ODOO_SIM_ODOO_VERSION", default_value_t = 18,
          value_parser = clap::value_parser!(u8).range(18..=19))]
    pub odoo_version: u8,

    /// Serve a database without `website_sale`: no website categories, ribbons or website fields.
    #[arg(long, env = "ODOO_SIM_WITHOUT_WEBSITE")]
    pub without_website: bool,
}

impl SimArgs {
    pub fn config(&self) -> SimConfig {
        let dataset = match self.dataset {
            DatasetKind::Demo18 => Dataset::Demo18 {
                path: self.dataset_path.clone(),
            },
            DatasetKind::Generated => Dataset::Generated {
                products: self.products,
                seed: self.seed,
            },
            DatasetKind::Empty => Dataset::Empty,
        };
        let faults = Faults {
            latency_ms: self.latency_ms,
            per_record_us: self.per_record_us,
            error_rate: self.error_rate,
            timeout_rate: self.timeout_rate,
            drop_webhooks: self.drop_webhooks,
            webhook_visibility_delay_ms: self.webhook_visibility_delay_ms,
            latency_model: match self.latency_model {
                LatencyModelKind::None => None,
                LatencyModelKind::Odoo18 => Some(LatencyModel::odoo18(self.odoo_workers)),
            },
        };
        SimConfig {
            db: self.db.clone(),
            dataset,
            faults,
            odoo_version: self.odoo_version,
        }
    }
}

/// Serves until Ctrl-C, printing the URL.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let sim = Sim::spawn(args.config(), args.listen).await?;
    if args.without_website {
        sim.uninstall_website();
    }
    println!(
        "odoo-sim (Odoo {}) listening on {} (db {:?}, dataset {:?})",
        args.odoo_version,
        sim.url(),
        args.db,
        args.dataset
    );
    if args.odoo_version >= 19 {
        println!("JSON-2 API key of admin: {DEFAULT_API_KEY}");
    }
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
