//! Section 1, full sync: the seed's way, odoo-sync's engine, and the floor (the engine's exact
//! Odoo calls at the engine's batch size and concurrency, nothing stored).

use std::collections::BTreeMap;
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use odoo_sim::Sim;
use odoo_sync::config::Config;
use odoo_sync::domain::{SyncMode, Trigger};
use odoo_sync::engine::fetch::{self, FieldPlan};
use odoo_sync::engine::{NoProgress, SyncRequest};
use odoo_sync::startup;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::case::{peak_rss_mb, run_child, Case, SyncOutcome, Target};
use crate::sim::without_latency;
use crate::table::{num, Row};

/// One way of syncing, measured in its own process.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub wall_s: f64,
    pub products: u64,
    pub products_per_s: f64,
    pub odoo_calls: u64,
    /// The same calls by `model.method` (login calls as `common.*`), from the simulator's stats.
    pub odoo_calls_by_method: BTreeMap<String, u64>,
    pub peak_rss_mb: f64,
}

/// Runs `case` in a child and counts the Odoo calls it made.
pub async fn measure(sim: &Sim, case: &Case) -> anyhow::Result<Measured> {
    let calls = sim.call_count();
    let before = calls_by_method(sim).await?;
    let outcome: SyncOutcome = run_child(case).await?;
    let odoo_calls = sim.call_count() - calls;
    let mut by_method = calls_by_method(sim).await?;
    for (method, n) in &before {
        if let Some(after) = by_method.get_mut(method) {
            *after -= n;
        }
    }
    by_method.retain(|_, n| *n > 0);
    Ok(Measured {
        wall_s: outcome.wall_s,
        products: outcome.products,
        products_per_s: outcome.products as f64 / outcome.wall_s,
        odoo_calls,
        odoo_calls_by_method: by_method,
        peak_rss_mb: outcome.peak_rss_mb,
    })
}

/// The simulator's call counters by method (`GET /__sim/stats`).
async fn calls_by_method(sim: &Sim) -> anyhow::Result<BTreeMap<String, u64>> {
    #[derive(serde::Deserialize)]
    struct Stats {
        by_method: BTreeMap<String, u64>,
    }
    let stats: Stats = reqwest::get(format!("{}/__sim/stats", sim.url()))
        .await?
        .json()
        .await?;
    Ok(stats.by_method)
}

#[derive(Debug, Clone, Serialize)]
pub struct FullSync {
    pub templates: usize,
    pub seed: Measured,
    pub engine: Measured,
    pub floor: Measured,
    /// The floor's calls with the latency model off: what the simulator itself costs (CPU on
    /// this machine), included in every row above but not in a real Odoo's bill.
    pub floor_without_latency_model: Measured,
    /// time(seed) / time(engine): how many times faster than the seed.
    pub ratio_to_seed: f64,
    /// time(engine) / time(floor): 1.0 is as fast as Odoo can serve.
    pub ratio_to_floor: f64,
    /// The engine again, into a fresh PostgreSQL database; `None` without one.
    pub engine_postgres: Option<OnPostgres>,
}

/// odoo-sync's full sync into PostgreSQL, compared with the same run's seed and floor.
#[derive(Debug, Clone, Serialize)]
pub struct OnPostgres {
    #[serde(flatten)]
    pub measured: Measured,
    pub ratio_to_seed: f64,
    pub ratio_to_floor: f64,
}

/// The three ways at one catalog size, and the engine into `postgres` (an empty database) when
/// given; the engine's catalogs are left in `engine.db_path` and that database.
pub async fn run(
    sim: &Sim,
    templates: usize,
    engine: &Target,
    postgres: Option<&Target>,
) -> anyhow::Result<FullSync> {
    let seed_target = Target {
        db_path: engine
            .db_path
            .with_file_name(format!("seed-{templates}.sqlite")),
        ..engine.clone()
    };
    eprintln!("full sync, {templates} templates: seed…");
    let seed = measure(
        sim,
        &Case::Seed {
            target: seed_target,
        },
    )
    .await?;
    eprintln!("full sync, {templates} templates: odoo-sync…");
    let engine_measured = measure(
        sim,
        &Case::Engine {
            target: engine.clone(),
            full: true,
        },
    )
    .await?;
    let mut engine_postgres = None;
    if let Some(target) = postgres {
        eprintln!("full sync, {templates} templates: odoo-sync into PostgreSQL…");
        let case = Case::Engine {
            target: target.clone(),
            full: true,
        };
        engine_postgres = Some(measure(sim, &case).await?);
    }
    eprintln!("full sync, {templates} templates: floor…");
    let floor = measure(
        sim,
        &Case::Floor {
            target: engine.clone(),
        },
    )
    .await?;
    eprintln!("full sync, {templates} templates: floor without the latency model…");
    let floor_case = Case::Floor {
        target: engine.clone(),
    };
    let floor_without_latency_model = without_latency(sim, || measure(sim, &floor_case)).await;
    let engine_postgres = engine_postgres.map(|measured| OnPostgres {
        ratio_to_seed: seed.wall_s / measured.wall_s,
        ratio_to_floor: measured.wall_s / floor.wall_s,
        measured,
    });
    Ok(FullSync {
        floor_without_latency_model: floor_without_latency_model?,
        templates,
        ratio_to_seed: seed.wall_s / engine_measured.wall_s,
        ratio_to_floor: engine_measured.wall_s / floor.wall_s,
        engine_postgres,
        seed,
        engine: engine_measured,
        floor,
    })
}

impl FullSync {
    pub fn rows(&self) -> Vec<Row> {
        let section = format!("full sync {}", num(self.templates as f64));
        let row = |case: &str, m: &Measured| {
            Row::new(&section, case)
                .set("wall", format!("{:.2} s", m.wall_s))
                .set("products/s", num(m.products_per_s))
                .set("Odoo calls", m.odoo_calls.to_string())
                .set("peak RSS", format!("{:.0} MB", m.peak_rss_mb))
        };
        let mut rows = vec![
            row("(a) seed: offset 200, sequential", &self.seed).set(
                "note",
                format!("{} active rows", num(self.seed.products as f64)),
            ),
            row("(b) odoo-sync sync --full", &self.engine)
                .set("×seed", format!("{:.2}", self.ratio_to_seed))
                .set("×floor", format!("{:.2}", self.ratio_to_floor)),
        ];
        if let Some(pg) = &self.engine_postgres {
            rows.push(
                row("(b) the same into PostgreSQL", &pg.measured)
                    .set("×seed", format!("{:.2}", pg.ratio_to_seed))
                    .set("×floor", format!("{:.2}", pg.ratio_to_floor)),
            );
        }
        rows.extend([
            row("(c) floor: engine's calls, no store", &self.floor),
            row(
                "(d) = (c) without the latency model",
                &self.floor_without_latency_model,
            )
            .set(
                "note",
                "the simulator's own CPU cost, inside every row above",
            ),
        ]);
        rows
    }
}

fn config(target: &Target) -> anyhow::Result<Config> {
    Ok(Config::from_values(crate::sim::odoo_sync_values(target))?)
}

/// `odoo-sync sync --full` (or `sync`), from start-up to the finished run.
pub async fn engine(target: &Target, full: bool) -> anyhow::Result<SyncOutcome> {
    let started = Instant::now();
    let config = config(target)?;
    let engine = startup::engine(&config).await?;
    let mode = if full {
        SyncMode::Full
    } else {
        SyncMode::Incremental
    };
    let request = SyncRequest {
        mode,
        trigger: Trigger::Cli,
    };
    let run = engine
        .run(request, &NoProgress, &CancellationToken::new())
        .await?;
    // As `odoo-sync sync` does: the next run resumes this login.
    startup::keep_odoo_session(&config, &engine).await;
    Ok(SyncOutcome {
        wall_s: started.elapsed().as_secs_f64(),
        products: run.processed,
        peak_rss_mb: peak_rss_mb(),
    })
}

/// The engine's calls of a full run, in its order, at its batch size and concurrency; results
/// are counted and dropped.
pub async fn floor(target: &Target) -> anyhow::Result<SyncOutcome> {
    let started = Instant::now();
    let config = config(target)?;
    let odoo = startup::connect_odoo(&config.odoo()?).await?;
    let odoo = odoo.as_ref();
    fetch::categories(odoo).await?;
    let ids = fetch::template_ids_after(odoo, 0).await?;
    let plan = FieldPlan::discover(odoo, &config.sync).await?;
    let batch = config.sync.full_batch_size.max(1) as usize;
    let fetched = futures::stream::iter(ids.chunks(batch))
        .map(|chunk| fetch::products(odoo, &plan, chunk))
        .buffered(config.sync.concurrency.max(1))
        .try_fold(
            0u64,
            |n, products| async move { Ok(n + products.len() as u64) },
        )
        .await?;
    // The deletion phase's id list, as the engine reads it at the end of a full pass.
    fetch::template_ids_after(odoo, 0).await?;
    Ok(SyncOutcome {
        wall_s: started.elapsed().as_secs_f64(),
        products: fetched,
        peak_rss_mb: peak_rss_mb(),
    })
}
