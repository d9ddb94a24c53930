//! The Odoo 18 latency model over HTTP: calls beyond the server workers queue (counted, never
//! timed), and the command-line flags reach the knobs.

use clap::Parser;
use odoo_sim::{Dataset, Faults, LatencyModel, Sim, SimArgs, SimConfig};
use serde_json::{json, Value as Json};

async fn with_workers(workers: usize) -> Sim {
    // A long per-call overhead makes the concurrent calls overlap for sure.
    let model = LatencyModel {
        overhead_us: 150_000.0,
        ..LatencyModel::odoo18(workers)
    };
    let config = SimConfig {
        db: "odoo".into(),
        dataset: Dataset::Generated {
            products: 10,
            seed: 1,
        },
        faults: Faults {
            latency_model: Some(model),
            ..Faults::default()
        },
        odoo_version: 18,
    };
    Sim::spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn count(url: String) -> Json {
    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
        "service": "object", "method": "execute_kw",
        "args": ["odoo", 2, "admin", "product.template", "search_count", [[]], {}]}});
    reqwest::Client::new()
        .post(format!("{url}/jsonrpc"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn burst(sim: &Sim, n: usize) {
    let calls: Vec<_> = (0..n).map(|_| tokio::spawn(count(sim.url()))).collect();
    for c in calls {
        assert!(c.await.unwrap()["result"].is_number());
    }
}

#[tokio::test]
async fn calls_beyond_the_server_workers_queue_instead_of_running_in_parallel() {
    let sim = with_workers(2).await;
    burst(&sim, 6).await;
    let q = sim.queue_counts();
    assert_eq!(q.served, 6);
    assert_eq!(q.max_busy, 2, "never more than 2 calls in service");
    assert!(q.max_queued >= 3, "the others waited: {q:?}");
    assert_eq!((q.busy, q.queued), (0, 0));
    let stats: Json = reqwest::get(format!("{}/__sim/stats", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["queue"]["max_busy"], 2);

    let wide = with_workers(4).await;
    burst(&wide, 6).await;
    assert_eq!(wide.queue_counts().max_busy, 4);
}

#[tokio::test]
async fn the_latency_model_is_off_by_default() {
    let sim = Sim::spawn(
        SimConfig {
            db: "odoo".into(),
            dataset: Dataset::Empty,
            faults: Faults::default(),
            odoo_version: 18,
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    count(sim.url()).await;
    assert_eq!(sim.queue_counts().served, 0);
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    sim: SimArgs,
}

#[test]
fn the_command_line_sets_the_webhook_and_latency_knobs() {
    let cli = Cli::parse_from([
        "odoo-sim",
        "--latency-model",
        "odoo18",
        "--odoo-workers",
        "3",
        "--drop-webhooks",
        "0.25",
        "--webhook-visibility-delay-ms",
        "500",
    ]);
    let faults = cli.sim.config().faults;
    assert_eq!(faults.latency_model, Some(LatencyModel::odoo18(3)));
    assert_eq!(faults.drop_webhooks, 0.25);
    assert_eq!(faults.webhook_visibility_delay_ms, 500);
    let plain = Cli::parse_from(["odoo-sim"]).sim.config().faults;
    assert_eq!(plain, Faults::default());
}
