//! The `odoo-sync` command line: parse, load the config, call into the engine, print.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::domain::{SyncMode, SyncRun, Trigger};
use crate::engine::{Progress, ProgressObserver, SyncEngine, SyncRequest};
use crate::{export, startup, telemetry};

#[derive(Parser)]
#[command(name = "odoo-sync", version, about = "Keeps a product catalog in sync with Odoo and serves it")]
pub struct Cli {
    /// Optional TOML file with the same keys as the environment (environment wins).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sync the catalog from Odoo (incremental by default; the first run is full).
    Sync(SyncArgs),
    /// Read the stored catalog.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// The last runs and the watermarks.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Run the Odoo simulator in-process and sync its generated catalog into ./odoo-sync-demo.sqlite.
    Demo(DemoArgs),
    /// Run the Odoo simulator standalone.
    Sim(odoo_sim::SimArgs),
}

#[derive(Args)]
struct SyncArgs {
    /// Read everything and mark products Odoo no longer has as deleted.
    #[arg(long, conflicts_with = "incremental")]
    full: bool,
    /// Read what changed since the last run.
    #[arg(long)]
    incremental: bool,
    /// Run one progressive step of at most N products; run again to continue the same run.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,
    /// Products per batch (overrides SYNC_BATCH_SIZE).
    #[arg(long, value_name = "N")]
    batch_size: Option<u32>,
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// The catalog as JSON lines sorted by id, keys named as Odoo names them.
    Export {
        #[arg(long)]
        include_deleted: bool,
    },
}

#[derive(Args)]
struct DemoArgs {
    /// Products in the generated catalog.
    #[arg(long, default_value_t = 2000)]
    products: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where the demo catalog is stored.
    #[arg(long, default_value = "odoo-sync-demo.sqlite")]
    database: PathBuf,
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init("warn,odoo_sync=info,odoo_sim=warn");
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Sync(args) => sync(config, args).await,
        Command::Catalog(CatalogCommand::Export { include_deleted }) => export_catalog(config, include_deleted).await,
        Command::Status { json } => status(config, json).await,
        Command::Demo(args) => demo(config, args).await,
        Command::Sim(args) => odoo_sim::run(args).await,
    }
}

async fn sync(mut config: Config, args: SyncArgs) -> anyhow::Result<()> {
    if let Some(batch_size) = args.batch_size {
        config = config.with("SYNC_BATCH_SIZE", batch_size.to_string())?;
    }
    let mode = if args.full { SyncMode::Full } else { SyncMode::Incremental };
    let engine = startup::engine(&config).await?;
    let request = SyncRequest { mode, trigger: Trigger::Cli };
    match args.limit {
        Some(limit) => step(&engine, request, limit).await,
        None => run_to_end(&engine, request).await.map(|_| ()),
    }
}

async fn step(engine: &SyncEngine, request: SyncRequest, limit: u64) -> anyhow::Result<()> {
    let observer = TerminalProgress::new();
    let outcome = engine.step(request, limit, None, &observer).await?;
    observer.finish();
    let run = &outcome.run;
    let total = run.total.map_or_else(|| "?".to_string(), |t| t.to_string());
    if outcome.done {
        print_summary(run);
    } else {
        println!(
            "run {} ({}): {}/{} products, phase {:?}; run again to continue",
            run.id, run.mode, run.processed, total, run.cursor.phase
        );
        println!("cursor: {}", outcome.next_cursor.unwrap_or_default());
    }
    Ok(())
}

async fn run_to_end(engine: &SyncEngine, request: SyncRequest) -> anyhow::Result<SyncRun> {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping after the current batch; run again to resume");
            on_ctrl_c.cancel();
        }
    });
    let observer = TerminalProgress::new();
    let run = engine.run(request, &observer, &cancel).await?;
    observer.finish();
    if !run.is_finished() {
        anyhow::bail!("sync run {} interrupted at {} products; run again to resume", run.id, run.processed);
    }
    print_summary(&run);
    Ok(run)
}

fn print_summary(run: &SyncRun) {
    let seconds = run.duration().num_milliseconds() as f64 / 1000.0;
    let rate = if seconds > 0.0 { run.processed as f64 / seconds } else { 0.0 };
    let c = run.counts;
    println!(
        "sync run {} ({}) {}: {} products in {seconds:.1} s ({rate:.0}/s): created {}, updated {}, unchanged {}, archived {}, deleted {}",
        run.id, run.mode, run.status, run.processed, c.created, c.updated, c.unchanged, c.archived, c.deleted
    );
}

async fn export_catalog(config: Config, include_deleted: bool) -> anyhow::Result<()> {
    let store = startup::open_store(&config).await?;
    let products = store.export(include_deleted).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for stored in &products {
        serde_json::to_writer(&mut out, &export::product_json(stored))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

async fn status(config: Config, json: bool) -> anyhow::Result<()> {
    let store = startup::open_store(&config).await?;
    let runs = store.recent_runs(10).await?;
    let watermarks = store.watermarks().await?;
    let products = store.product_count().await?;
    if json {
        let marks: serde_json::Map<String, serde_json::Value> = watermarks
            .iter()
            .map(|(key, mark)| (key.model().to_string(), mark.0.format("%Y-%m-%d %H:%M:%S").to_string().into()))
            .collect();
        let body = serde_json::json!({"products": products, "watermarks": marks, "runs": runs});
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    println!("{products} products in the catalog");
    for (key, mark) in &watermarks {
        println!("watermark {:<18} {}", key.model(), mark.0.format("%Y-%m-%d %H:%M:%S"));
    }
    for run in &runs {
        let error = run.error.as_deref().map(|e| format!(" — {e}")).unwrap_or_default();
        println!(
            "run {:>4} {:<11} {:<8} {:<9} {} processed {} (created {}, updated {}, deleted {}){error}",
            run.id.0,
            run.mode.as_str(),
            run.trigger.as_str(),
            run.status.as_str(),
            run.started_at.format("%Y-%m-%d %H:%M:%S"),
            run.processed,
            run.counts.created,
            run.counts.updated,
            run.counts.deleted
        );
    }
    Ok(())
}

async fn demo(config: Config, args: DemoArgs) -> anyhow::Result<()> {
    let sim_config = odoo_sim::SimConfig {
        db: "odoo".to_string(),
        dataset: odoo_sim::Dataset::Generated { products: args.products, seed: args.seed },
        faults: odoo_sim::Faults::default(),
        odoo_version: 18,
    };
    let sim = odoo_sim::Sim::spawn(sim_config, "127.0.0.1:0".parse()?).await.context("starting the simulator")?;
    println!("Odoo simulator with {} generated products at {}", args.products, sim.url());
    let config = config
        .with("ODOO_URL", sim.url())?
        .with("ODOO_DB", "odoo")?
        .with("ODOO_LOGIN", "admin")?
        .with("ODOO_PASSWORD", "admin")?
        .with("DATABASE_URL", format!("sqlite://{}", args.database.display()))?;
    let engine = startup::engine(&config).await?;
    let request = SyncRequest { mode: SyncMode::Full, trigger: Trigger::Demo };
    run_to_end(&engine, request).await?;
    println!("catalog stored in {}", args.database.display());
    sim.shutdown().await;
    Ok(())
}

/// A progress bar on a terminal, a log line every few seconds otherwise.
struct TerminalProgress {
    bar: Option<ProgressBar>,
    last_line: Mutex<Instant>,
}

impl TerminalProgress {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] [{bar:40}] {pos}/{len} products ({per_sec}, ETA {eta}) {msg}",
            )
            .expect("static template")
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        TerminalProgress { bar, last_line: Mutex::new(Instant::now()) }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl ProgressObserver for TerminalProgress {
    fn update(&self, progress: &Progress) {
        if let Some(bar) = &self.bar {
            bar.set_length(progress.total.unwrap_or(progress.processed));
            bar.set_position(progress.processed);
            bar.set_message(format!("{:?}", progress.phase).to_lowercase());
            return;
        }
        let mut last = self.last_line.lock().expect("progress lock");
        if last.elapsed() >= Duration::from_secs(2) {
            *last = Instant::now();
            let total = progress.total.map_or_else(|| "?".to_string(), |t| t.to_string());
            tracing::info!(run = %progress.run, phase = ?progress.phase, "{}/{} products", progress.processed, total);
        }
    }
}
