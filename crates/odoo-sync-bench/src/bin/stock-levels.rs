//! Which read of stock levels is cheaper: Odoo's computed `qty_available` / `free_qty` on
//! `product.product`, or the `stock.quant` rows of internal locations summed by odoo-sync?
//! Both are measured here on the same simulator (Odoo 18's latency model, 2 workers), for the
//! same variants in the same chunks, and their results are compared value by value.
//!
//! `cargo run --release -p odoo-sync-bench --bin stock-levels -- [--templates N]`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use odoo_rpc::{ClientConfig, Context, Domain, OdooApi, OdooClient, SearchOptions};
use odoo_sim::{Dataset, Faults, LatencyModel, Sim, SimConfig};
use odoo_sync::domain::StockLevel;
use odoo_sync::engine::fetch;
use secrecy::SecretString;

#[derive(Debug, Parser)]
struct Cli {
    /// Generated templates (about 1.3 variants each).
    #[arg(long, default_value_t = 5000)]
    templates: usize,
    /// Variants per call, as the stock sweep asks them.
    #[arg(long, default_value_t = 500)]
    chunk: usize,
}

struct Way {
    name: &'static str,
    wall_s: f64,
    calls: u64,
    levels: BTreeMap<i64, (f64, f64)>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let sim = Sim::spawn(
        SimConfig {
            db: "odoo".into(),
            dataset: Dataset::Generated {
                products: cli.templates,
                seed: 7,
            },
            faults: Faults {
                latency_model: Some(LatencyModel::default()),
                ..Faults::default()
            },
            odoo_version: 18,
        },
        "127.0.0.1:0".parse()?,
    )
    .await?;
    let config = ClientConfig::new(sim.url(), "odoo", "admin", SecretString::from("admin"));
    let odoo: Arc<dyn OdooApi> = Arc::new(OdooClient::connect(config).await?);
    let variants = odoo
        .search(
            fetch::VARIANT,
            &Domain::default(),
            &SearchOptions {
                order: Some("id".into()),
                ..SearchOptions::default()
            },
        )
        .await?;

    let computed = measure(
        &sim,
        "qty_available + free_qty on product.product",
        || async {
            let mut levels = BTreeMap::new();
            for chunk in variants.chunks(cli.chunk) {
                let fields = ["qty_available", "free_qty"];
                for record in odoo
                    .read(fetch::VARIANT, chunk, &fields, &Context::default())
                    .await?
                {
                    let level = (
                        record.get_f64("qty_available")?,
                        record.get_f64("free_qty")?,
                    );
                    levels.insert(record.id()?, level);
                }
            }
            Ok(levels)
        },
    )
    .await?;
    let summed = measure(
        &sim,
        "stock.quant of internal locations, summed",
        || async {
            let mut levels = BTreeMap::new();
            for chunk in variants.chunks(cli.chunk) {
                for level in fetch::stock_levels(odoo.as_ref(), chunk).await? {
                    let StockLevel {
                        variant_id,
                        qty_available,
                        free_qty,
                    } = level;
                    levels.insert(variant_id, (qty_available, free_qty));
                }
            }
            Ok(levels)
        },
    )
    .await?;

    print_table(&cli, variants.len(), &[&computed, &summed]);
    let equal = computed.levels == summed.levels;
    println!(
        "\nsame levels for every variant: {}",
        if equal { "yes" } else { "NO" }
    );
    anyhow::ensure!(equal, "the two ways disagree");
    Ok(())
}

async fn measure<F, Fut>(sim: &Sim, name: &'static str, read: F) -> anyhow::Result<Way>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<BTreeMap<i64, (f64, f64)>>>,
{
    let calls_before = sim.call_count();
    let started = Instant::now();
    let levels = read().await?;
    Ok(Way {
        name,
        wall_s: started.elapsed().as_secs_f64(),
        calls: sim.call_count() - calls_before,
        levels,
    })
}

fn print_table(cli: &Cli, variants: usize, ways: &[&Way]) {
    println!(
        "stock levels of {variants} variants ({} templates), {} per call, Odoo 18 latency model (2 workers)\n",
        cli.templates, cli.chunk
    );
    println!("| way | wall | variants/s | Odoo calls |");
    println!("|---|---:|---:|---:|");
    for way in ways {
        println!(
            "| {} | {:.2} s | {:.0} | {} |",
            way.name,
            way.wall_s,
            variants as f64 / way.wall_s,
            way.calls
        );
    }
}
