//! The schedule of a whole run (full or `--quick`), and its report: one table, one JSON object
//! per section.

use serde_json::json;

use crate::case::Target;
use crate::catalog::Catalog;
use crate::full_sync::FullSync;
use crate::incremental::Incremental;
use crate::machine::Machine;
use crate::postgres::{unavailable, Database};
use crate::table::Table;
use crate::webhooks::Webhooks;

/// A section that `--only` can run alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// The full syncs (seed, engine, floor) at every size, nothing else.
    FullSync,
    /// The incremental rows, after an unmeasured full sync of the largest size.
    Incremental,
    /// The webhook rows, after an unmeasured full sync of the largest size.
    Webhooks,
    Catalog,
}

/// What to measure and for how long.
#[derive(Debug, Clone)]
pub struct Plan {
    pub quick: bool,
    pub only: Option<Section>,
    /// Catalog sizes of the full sync; the last one also serves the other sections.
    pub sizes: Vec<usize>,
    pub batch_size: u32,
    pub full_batch_size: u32,
    pub concurrency: usize,
    pub edits: usize,
    pub ack_rates: Vec<f64>,
    /// Measured phase of each load, after its warm-up.
    pub load_ms: u64,
    pub warmup_ms: u64,
    /// Catalog section: only the reads whose name contains this (`--reads`).
    pub reads: Option<String>,
}

impl Plan {
    pub fn new(quick: bool, only: Option<Section>) -> Plan {
        // odoo-sync's defaults: the engine is measured as it ships.
        let defaults = odoo_sync::engine::SyncSettings::default();
        let base = Plan {
            quick,
            only,
            sizes: vec![20_000, 100_000],
            batch_size: defaults.batch_size,
            full_batch_size: defaults.full_batch_size,
            concurrency: defaults.concurrency,
            edits: 40,
            ack_rates: vec![200.0, 1_000.0],
            load_ms: 10_000,
            warmup_ms: 1_000,
            reads: None,
        };
        if quick {
            Plan {
                sizes: vec![2_000, 5_000],
                edits: 8,
                load_ms: 1_500,
                warmup_ms: 300,
                ..base
            }
        } else {
            base
        }
    }
}

pub struct Report {
    pub plan: Plan,
    pub machine: Machine,
    /// Empty, and the next `None`s, when only another section ran.
    pub full_sync: Vec<FullSync>,
    pub incremental: Option<Incremental>,
    pub webhooks: Option<Webhooks>,
    pub incremental_postgres: Option<Incremental>,
    pub webhooks_postgres: Option<Webhooks>,
    /// Why the PostgreSQL rows of the sync sections are missing, when they are.
    pub postgres: Option<String>,
    pub catalog: Catalog,
}

/// The SQLite target, and the PostgreSQL one when there is a database.
fn targets<'a, E>(sqlite: &'a Target, postgres: &'a Result<Database, E>) -> Vec<&'a Target> {
    let mut targets = vec![sqlite];
    targets.extend(postgres.as_ref().ok().map(|database| &database.target));
    targets
}

impl Report {
    fn record_incremental(&mut self, measured: Vec<Incremental>) {
        for incremental in measured {
            match incremental.store {
                "postgres" => self.incremental_postgres = Some(incremental),
                _ => self.incremental = Some(incremental),
            }
        }
    }

    fn new(plan: &Plan, catalog: Catalog) -> Report {
        Report {
            plan: plan.clone(),
            machine: Machine::this_one(),
            full_sync: Vec::new(),
            incremental: None,
            webhooks: None,
            incremental_postgres: None,
            webhooks_postgres: None,
            postgres: None,
            catalog,
        }
    }
}

pub async fn run(plan: &Plan) -> anyhow::Result<Report> {
    match plan.only {
        Some(Section::FullSync) => return run_full_sync_only(plan).await,
        Some(section) => return run_on_synced_catalog(plan, section).await,
        None => {}
    }
    let dir = tempfile::tempdir()?;
    let mut report = Report::new(plan, not_run(Section::FullSync));
    let largest = *plan.sizes.iter().max().expect("at least one size");
    for &size in plan.sizes.iter().filter(|s| **s != largest) {
        let (sim, _, _) = full_sync_at(plan, &dir, size, &mut report).await?;
        sim.shutdown().await;
    }
    let (sim, target, postgres) = full_sync_at(plan, &dir, largest, &mut report).await?;
    report.record_incremental(
        crate::incremental::run(&sim, largest, &targets(&target, &postgres)).await?,
    );
    report.webhooks = Some(crate::webhooks::run(&sim, plan, &target, largest).await?);
    if let Ok(database) = &postgres {
        database.catch_up(&sim).await?;
        report.webhooks_postgres =
            Some(crate::webhooks::run(&sim, plan, &database.target, largest).await?);
    }
    let postgres = postgres.map_err(|error| unavailable(&error));
    report.postgres = postgres.as_ref().err().cloned();
    report.catalog = crate::catalog::run(
        plan,
        &target,
        postgres.as_ref().map_err(Clone::clone),
        largest,
    )
    .await?;
    sim.shutdown().await;
    Ok(report)
}

/// The full-sync rows at `size`, on a simulator of that size, the engine also into a fresh
/// PostgreSQL database when one can be made; returns the simulator, the SQLite target and that
/// database (both synced) for the sections that follow.
async fn full_sync_at(
    plan: &Plan,
    dir: &tempfile::TempDir,
    size: usize,
    report: &mut Report,
) -> anyhow::Result<(odoo_sim::Sim, Target, anyhow::Result<Database>)> {
    eprintln!("generating {size} templates…");
    let sim = crate::sim::spawn(size).await?;
    let target = target(plan, &sim, dir, size);
    let postgres = Database::empty(&target).await;
    let pg_target = postgres.as_ref().ok().map(|db| &db.target);
    let measured = crate::full_sync::run(&sim, size, &target, pg_target).await?;
    report.full_sync.push(measured);
    Ok((sim, target, postgres))
}

/// The full-sync rows alone, at every size.
async fn run_full_sync_only(plan: &Plan) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir()?;
    let mut report = Report::new(plan, not_run(Section::FullSync));
    for &size in &plan.sizes {
        let (sim, _, postgres) = full_sync_at(plan, &dir, size, &mut report).await?;
        if let Err(error) = &postgres {
            report.postgres = Some(unavailable(error));
        }
        sim.shutdown().await;
    }
    Ok(report)
}

/// One section alone, on catalogs synced (unmeasured, latency model off) just before: the SQLite
/// file, then a PostgreSQL database.
async fn run_on_synced_catalog(plan: &Plan, section: Section) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir()?;
    let (sim, target, largest) = synced_unmeasured(plan, &dir).await?;
    let postgres = Database::synced(&sim, &target)
        .await
        .map_err(|error| unavailable(&error));
    let mut report = Report::new(plan, not_run(section));
    report.postgres = postgres.as_ref().err().cloned();
    match section {
        Section::Incremental => {
            let targets = targets(&target, &postgres);
            report.record_incremental(crate::incremental::run(&sim, largest, &targets).await?);
        }
        Section::Webhooks => {
            report.webhooks = Some(crate::webhooks::run(&sim, plan, &target, largest).await?);
            if let Ok(database) = &postgres {
                database.catch_up(&sim).await?;
                report.webhooks_postgres =
                    Some(crate::webhooks::run(&sim, plan, &database.target, largest).await?);
            }
        }
        Section::Catalog => {
            report.catalog = crate::catalog::run(
                plan,
                &target,
                postgres.as_ref().map_err(Clone::clone),
                largest,
            )
            .await?
        }
        Section::FullSync => unreachable!("full syncs are measured on fresh catalogs"),
    }
    sim.shutdown().await;
    Ok(report)
}

/// The catalog section of a run that measures another one.
fn not_run(only: Section) -> Catalog {
    use clap::ValueEnum;
    let name = only
        .to_possible_value()
        .map_or_else(String::new, |value| value.get_name().to_string());
    Catalog {
        connections: 0,
        endpoints: Vec::new(),
        server_peak_rss_mb: 0.0,
        postgres: Some(format!("not run (--only {name})")),
    }
}

/// A simulator of the largest size and a catalog `sync --full` filled from it, the latency
/// model off during that sync and back on after.
async fn synced_unmeasured(
    plan: &Plan,
    dir: &tempfile::TempDir,
) -> anyhow::Result<(odoo_sim::Sim, Target, usize)> {
    let largest = *plan.sizes.iter().max().expect("at least one size");
    eprintln!("generating and syncing {largest} templates (not measured)…");
    let sim = crate::sim::spawn(largest).await?;
    let target = target(plan, &sim, dir, largest);
    crate::sim::sync_unmeasured(&sim, &target, true).await?;
    Ok((sim, target, largest))
}

fn target(plan: &Plan, sim: &odoo_sim::Sim, dir: &tempfile::TempDir, size: usize) -> Target {
    Target {
        sim_url: sim.url(),
        db_path: dir.path().join(format!("engine-{size}.sqlite")),
        database_url: None,
        batch_size: plan.batch_size,
        full_batch_size: plan.full_batch_size,
        concurrency: plan.concurrency,
    }
}

impl Report {
    pub fn table(&self) -> String {
        let mut table = Table::default();
        for full in &self.full_sync {
            table.push(full.rows());
        }
        for incremental in [&self.incremental, &self.incremental_postgres]
            .into_iter()
            .flatten()
        {
            table.push(incremental.rows());
        }
        for webhooks in [&self.webhooks, &self.webhooks_postgres]
            .into_iter()
            .flatten()
        {
            table.push(webhooks.rows());
        }
        table.push(self.catalog.rows());
        format!(
            "odoo-sync benchmark{}: simulator with Odoo 18's latency model (2 workers); \
             full-pass pages of {} × concurrency {} (other batches {})\nmachine: {}\n\n{}",
            if self.plan.quick { " (--quick)" } else { "" },
            self.plan.full_batch_size,
            self.plan.concurrency,
            self.plan.batch_size,
            self.machine.describe(),
            table.render()
        )
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "run": {
                "quick": self.plan.quick,
                "batch_size": self.plan.batch_size,
                "full_batch_size": self.plan.full_batch_size,
                "concurrency": self.plan.concurrency,
                "load_phase_ms": self.plan.load_ms,
                "warmup_ms": self.plan.warmup_ms,
                "latency_model": odoo_sim::LatencyModel::default(),
            },
            "machine": self.machine,
            "full_sync": self.full_sync,
            "incremental": self.incremental,
            "webhooks": self.webhooks,
            "incremental_postgres": self.incremental_postgres,
            "webhooks_postgres": self.webhooks_postgres,
            "postgres_missing": self.postgres,
            "catalog_api": self.catalog,
        })
    }
}
