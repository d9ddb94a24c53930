//! The simulator the parent owns: a generated catalog, Odoo 18's latency model (2 workers), and a
//! client for the writes a section makes before it measures.

use std::collections::BTreeMap;
use std::sync::Arc;

use odoo_rpc::{ClientConfig, OdooApi, OdooClient};
use odoo_sim::{Dataset, Faults, LatencyModel, Sim, SimConfig};
use secrecy::SecretString;

pub const DB: &str = "odoo";
pub const LOGIN: &str = "admin";
pub const PASSWORD: &str = "admin";

/// Starts a simulator with `products` generated templates, as slow as a real Odoo 18.
pub async fn spawn(products: usize) -> anyhow::Result<Sim> {
    let config = SimConfig {
        db: DB.to_string(),
        dataset: Dataset::Generated { products, seed: 7 },
        faults: Faults {
            latency_model: Some(LatencyModel::default()),
            ..Faults::default()
        },
        odoo_version: 18,
    };
    Sim::spawn(config, "127.0.0.1:0".parse()?).await
}

pub fn client_config(url: &str) -> ClientConfig {
    ClientConfig::new(url, DB, LOGIN, SecretString::from(PASSWORD))
}

pub async fn client(url: &str) -> anyhow::Result<Arc<dyn OdooApi>> {
    Ok(Arc::new(OdooClient::connect(client_config(url)).await?))
}

/// odoo-sync's configuration for this simulator and catalog file, background work off.
pub fn odoo_sync_values(target: &crate::case::Target) -> BTreeMap<String, String> {
    [
        ("ODOO_URL", target.sim_url.clone()),
        ("ODOO_DB", DB.to_string()),
        ("ODOO_LOGIN", LOGIN.to_string()),
        ("ODOO_PASSWORD", PASSWORD.to_string()),
        (
            "DATABASE_URL",
            target
                .database_url
                .clone()
                .unwrap_or_else(|| format!("sqlite://{}", target.db_path.display())),
        ),
        ("SYNC_BATCH_SIZE", target.batch_size.to_string()),
        ("SYNC_FULL_BATCH_SIZE", target.full_batch_size.to_string()),
        ("SYNC_CONCURRENCY", target.concurrency.to_string()),
        ("SYNC_SCHEDULE", "off".to_string()),
        ("SYNC_FULL_SCHEDULE", "off".to_string()),
        ("SYNC_SWEEP_INTERVAL", "0".to_string()),
        ("SYNC_RECONCILE_INTERVAL", "0".to_string()),
        ("BIND", "127.0.0.1:0".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Runs `work` with the simulator's latency model off, and puts the model back whatever happens.
pub async fn without_latency<T, Fut>(sim: &Sim, work: impl FnOnce() -> Fut) -> anyhow::Result<T>
where
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let modelled = sim.faults();
    sim.set_faults(Faults {
        latency_model: None,
        ..modelled.clone()
    });
    let done = work().await;
    sim.set_faults(modelled);
    done
}

/// odoo-sync's sync into `target` (`sync --full` or `sync`), unmeasured, with the latency model
/// off: the catalog a section starts from.
pub async fn sync_unmeasured(
    sim: &Sim,
    target: &crate::case::Target,
    full: bool,
) -> anyhow::Result<()> {
    without_latency(sim, || async {
        let case = crate::case::Case::Engine {
            target: target.clone(),
            full,
        };
        let _: crate::case::SyncOutcome = crate::case::run_child(&case).await?;
        Ok(())
    })
    .await
}
