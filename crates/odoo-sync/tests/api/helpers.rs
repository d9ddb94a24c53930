//! Spawning the simulator, running the built CLI against it, and reading both sides.

use std::collections::BTreeMap;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use odoo_rpc::{ClientConfig, OdooApi, OdooClient};
use odoo_sim::{Dataset, Faults, Sim, SimConfig};
use odoo_sync::testkit::ScratchDatabase;
use serde_json::Value;
use tempfile::TempDir;

pub const DB: &str = "odoo";

pub struct TestApp {
    pub sim: Sim,
    /// Kept so the catalog file lives as long as the app.
    _dir: TempDir,
    /// The PostgreSQL database of an app spawned with one, dropped with the app.
    _postgres: Option<ScratchDatabase>,
    pub env: BTreeMap<String, String>,
}

pub async fn spawn_app(products: usize) -> TestApp {
    spawn_app_on(products, 18).await
}

/// `spawn_app` against a simulator of Odoo `odoo_version` (18 or 19); on 19 the environment also
/// holds the admin's API key.
pub async fn spawn_app_on(products: usize, odoo_version: u8) -> TestApp {
    init_logs();
    let config = SimConfig {
        db: DB.to_string(),
        dataset: Dataset::Generated { products, seed: 7 },
        faults: Faults::default(),
        odoo_version,
    };
    let sim = Sim::spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts");
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("ODOO_URL", sim.url()),
        ("ODOO_DB", DB.to_string()),
        ("ODOO_LOGIN", "admin".to_string()),
        ("ODOO_PASSWORD", "admin".to_string()),
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("catalog.sqlite").display()),
        ),
        ("SYNC_LANGS", "fr_FR".to_string()),
        (
            "IMAGE_STORE",
            dir.path().join("images").display().to_string(),
        ),
        ("ODOO_TIMEOUT_SECONDS", "5".to_string()),
    ];
    let mut env: BTreeMap<String, String> =
        env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    if odoo_version >= 19 {
        env.insert("ODOO_API_KEY".into(), odoo_sim::DEFAULT_API_KEY.into());
    }
    TestApp {
        sim,
        _dir: dir,
        _postgres: None,
        env,
    }
}

/// `spawn_app` with the catalog in a fresh PostgreSQL database (`DATABASE_URL=postgres://…`).
pub async fn spawn_app_with_postgres(products: usize) -> TestApp {
    let database = ScratchDatabase::create()
        .await
        .expect("PostgreSQL runs at 127.0.0.1:5432 (scripts/test starts it)");
    let mut app = spawn_app(products).await;
    app.env.insert("DATABASE_URL".into(), database.url.clone());
    app._postgres = Some(database);
    app
}

fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_test_writer()
            .try_init();
    }
}

impl TestApp {
    /// Runs the built binary with this app's environment; the simulator keeps serving meanwhile.
    pub async fn cli(&self, args: &[&str]) -> Output {
        self.command(args).output().await.expect("odoo-sync runs")
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_odoo-sync"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        command
            .envs(&self.env)
            .env("RUST_LOG", "warn,odoo_sync=info");
        command.kill_on_drop(true);
        command
    }

    /// Runs the CLI and fails the test with its output when it does not succeed.
    pub async fn cli_ok(&self, args: &[&str]) -> String {
        let output = self.cli(args).await;
        assert!(
            output.status.success(),
            "odoo-sync {args:?} failed:\n{}",
            describe(&output)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// The stored catalog, as `catalog export` prints it, by id.
    pub async fn export(&self) -> BTreeMap<i64, Value> {
        let text = self.cli_ok(&["catalog", "export"]).await;
        let mut products = BTreeMap::new();
        for line in text.lines() {
            let product: Value = serde_json::from_str(line).expect("export lines are JSON");
            let id = product["id"].as_i64().unwrap();
            assert!(
                products.insert(id, product).is_none(),
                "product {id} exported twice"
            );
        }
        products
    }

    /// The last run, from `status --json`.
    pub async fn last_run(&self) -> Value {
        let status: Value =
            serde_json::from_str(&self.cli_ok(&["status", "--json"]).await).unwrap();
        status["runs"][0].clone()
    }

    pub async fn odoo(&self) -> Arc<dyn OdooApi> {
        let mut config = ClientConfig::new(self.sim.url(), DB, "admin", "admin".to_string().into());
        // Odoo's state read the plain way on every version, apart from the app's transport.
        config.protocol = odoo_rpc::Protocol::JsonRpc;
        Arc::new(
            OdooClient::connect(config)
                .await
                .expect("client connects to the simulator"),
        )
    }

    pub fn set_faults(&self, faults: Faults) {
        self.sim.set_faults(faults);
    }
}

/// The server of a `TestApp`, running in this process on a random port.
pub struct TestServer {
    pub url: String,
    pub http: reqwest::Client,
    cancel: tokio_util::sync::CancellationToken,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const CRON_SECRET: &str = "test-cron-secret";

impl TestApp {
    /// Starts `serve` in-process with this app's environment plus `extra` keys.
    pub async fn serve(&self, extra: &[(&str, &str)]) -> TestServer {
        let mut values = self.env.clone();
        values.insert("BIND".into(), "127.0.0.1:0".into());
        values.insert("ADMIN_TOKEN".into(), ADMIN_TOKEN.into());
        values.insert("CRON_SECRET".into(), CRON_SECRET.into());
        values.insert("SYNC_SCHEDULE".into(), "off".into());
        values.insert("SYNC_FULL_SCHEDULE".into(), "off".into());
        for (key, value) in extra {
            if value.is_empty() {
                values.remove(*key);
            } else {
                values.insert(key.to_string(), value.to_string());
            }
        }
        let config = odoo_sync::config::Config::from_values(values).expect("test config is valid");
        let cancel = tokio_util::sync::CancellationToken::new();
        let app = odoo_sync::startup::application(&config, cancel.clone())
            .await
            .expect("server builds");
        let url = format!("http://{}", app.local_addr());
        let handle = tokio::spawn(app.run_until_stopped());
        TestServer {
            url,
            http: reqwest::Client::new(),
            cancel,
            handle,
        }
    }
}

impl TestServer {
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.url))
    }

    pub fn admin_get(&self, path: &str) -> reqwest::RequestBuilder {
        self.get(path).bearer_auth(ADMIN_TOKEN)
    }

    pub fn admin_post(&self, path: &str, body: serde_json::Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
    }

    pub async fn json(&self, path: &str) -> Value {
        let response = self.get(path).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// `GET /api/products/sync/status`, as the admin.
    pub async fn sync_status(&self) -> Value {
        self.admin_get("/api/products/sync/status")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until no run is going, returning the last run.
    pub async fn wait_for_idle(&self) -> Value {
        for _ in 0..600 {
            let status = self.sync_status().await;
            if status["current"].is_null() && !status["last"].is_null() {
                return status["last"].clone();
            }
            sleep_ms(100).await;
        }
        panic!("the sync never finished");
    }

    /// Stops the server the way Ctrl-C does, and waits for it.
    pub async fn stop(self) {
        self.cancel.cancel();
        self.handle.await.unwrap().unwrap();
    }
}

pub fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Asserts both catalogs are equal, naming the first products and fields that differ.
pub fn assert_same_catalog(stored: &BTreeMap<i64, Value>, odoo: &BTreeMap<i64, Value>) {
    let mut problems = Vec::new();
    for (id, expected) in odoo {
        match stored.get(id) {
            None => problems.push(format!("product {id} missing from the catalog")),
            Some(actual) if actual != expected => {
                for (field, value) in expected.as_object().unwrap() {
                    if actual.get(field) != Some(value) {
                        problems.push(format!(
                            "product {id} field {field}: stored {:?}, Odoo {value}",
                            actual.get(field)
                        ));
                    }
                }
                if actual.as_object().unwrap().len() != expected.as_object().unwrap().len() {
                    problems.push(format!("product {id}: stored keys differ: {actual}"));
                }
            }
            _ => {}
        }
    }
    for id in stored.keys().filter(|id| !odoo.contains_key(id)) {
        problems.push(format!("product {id} is in the catalog but not in Odoo"));
    }
    assert!(
        problems.is_empty(),
        "{} differences, first ones:\n{}",
        problems.len(),
        problems[..problems.len().min(15)].join("\n")
    );
}

pub async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
