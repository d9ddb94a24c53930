//! `odoo-sync serve` in a child process, until its stdin closes: the server under load never
//! shares a runtime (nor a process) with the load generator or the simulator.

use std::io::Read as _;

use odoo_sync::config::Config;
use odoo_sync::startup;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::case::{peak_rss_mb, Target, LISTENING};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ServeOutcome {
    pub peak_rss_mb: f64,
}

pub async fn run(
    target: &Target,
    webhook_secret: Option<String>,
    webhook_workers: usize,
) -> anyhow::Result<ServeOutcome> {
    let mut values = crate::sim::odoo_sync_values(target);
    if let Some(secret) = webhook_secret {
        values.insert("WEBHOOK_SECRET".to_string(), secret);
    }
    values.insert("WEBHOOK_WORKERS".to_string(), webhook_workers.to_string());
    // The webhook rows read the inbox's backlog through the sync API.
    values.insert(
        "ADMIN_TOKEN".to_string(),
        crate::webhooks::ADMIN_TOKEN.to_string(),
    );
    let config = Config::from_values(values)?;
    let cancel = CancellationToken::new();
    let app = startup::application(&config, cancel.clone()).await?;
    println!("{LISTENING}{}", app.local_addr());
    let server = tokio::spawn(app.run_until_stopped());
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    cancel.cancel();
    server.await??;
    Ok(ServeOutcome {
        peak_rss_mb: peak_rss_mb(),
    })
}
