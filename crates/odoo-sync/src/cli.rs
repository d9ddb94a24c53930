//! The `odoo-sync` command line: parse, load the config, call into the engine, print.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::domain::{SyncMode, SyncRun, Trigger};
use crate::engine::{Progress, ProgressObserver, SyncEngine, SyncRequest};
use crate::{export, odoo_admin, startup, telemetry};

#[derive(Parser)]
#[command(
    name = "odoo-sync",
    version,
    about = "Keeps a product catalog in sync with Odoo and serves it"
)]
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
    /// Serve the catalog API, the sync API and the admin page, with the built-in schedule.
    Serve,
    /// Run the Odoo simulator in-process, sync its generated catalog into ./odoo-sync-demo.sqlite,
    /// then serve the admin page and the APIs on it until Ctrl-C.
    Demo(DemoArgs),
    /// Run the Odoo simulator standalone.
    Sim(odoo_sim::SimArgs),
    /// Set Odoo up for odoo-sync (automation rules sending webhooks) and check it.
    #[command(subcommand)]
    Odoo(OdooCommand),
    /// Print the OpenAPI document of the HTTP API (the one `GET /api/openapi.json` serves).
    Openapi,
    /// Exit 0 when the server at BIND answers GET /healthz (for container health checks).
    Healthcheck {
        /// The server's base URL; default: http:// and BIND (a wildcard BIND asks 127.0.0.1).
        #[arg(long)]
        url: Option<String>,
    },
    /// The signed catalog.changed webhooks sent to SITE_WEBHOOK_URLS.
    #[command(subcommand)]
    SiteWebhooks(SiteWebhooksCommand),
    /// The stored image blobs (IMAGE_STORE).
    #[command(subcommand)]
    Images(ImagesCommand),
}

#[derive(Subcommand)]
enum ImagesCommand {
    /// Delete the blobs no product has shown for IMAGE_RETENTION_HOURS (their resized copies
    /// too), as `serve` does every hour; prints how many.
    Collect {
        /// Hours unused before a blob goes, instead of IMAGE_RETENTION_HOURS; 0 collects every
        /// unused one now.
        #[arg(long, value_name = "HOURS")]
        unused_for_hours: Option<u64>,
    },
}

#[derive(Subcommand)]
enum SiteWebhooksCommand {
    /// Send a signed catalog.test event to each URL and print each answer; fails if any is not 2xx.
    Test,
}

#[derive(Subcommand)]
enum OdooCommand {
    /// Create the automation rules and webhook actions odoo-sync needs (idempotent).
    InstallWebhooks {
        /// The public URL of POST /api/products/sync/webhook; WEBHOOK_SECRET is added as ?token=.
        #[arg(long)]
        url: String,
    },
    /// Remove exactly the rules install-webhooks created.
    UninstallWebhooks,
    /// Say which Odoo this is, what is installed, and whether a test event reaches the webhook URL.
    Check,
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
    /// Products per batch (overrides SYNC_BATCH_SIZE and SYNC_FULL_BATCH_SIZE).
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
    /// Sync, print the summary and exit instead of serving.
    #[arg(long)]
    no_serve: bool,
}

/// The command failed only because whoever read its output closed the pipe (`| head`).
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    let broken = Some(std::io::ErrorKind::BrokenPipe);
    error.chain().any(|cause| {
        let io = cause.downcast_ref::<std::io::Error>().map(|io| io.kind());
        let json = cause
            .downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind);
        io == broken || json == broken
    })
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        // Needs no configuration: CI and scripts/generate-ts-client run it bare.
        return print_openapi();
    }
    telemetry::init("warn,odoo_sync=info,odoo_sim=warn");
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Sync(args) => sync(config, args).await,
        Command::Catalog(CatalogCommand::Export { include_deleted }) => {
            export_catalog(config, include_deleted).await
        }
        Command::Status { json } => status(config, json).await,
        Command::Serve => serve(config).await,
        Command::Demo(args) => demo(config, args).await,
        Command::Sim(args) => odoo_sim::run(args).await,
        Command::Odoo(command) => odoo(config, command).await,
        Command::SiteWebhooks(SiteWebhooksCommand::Test) => test_site_webhooks(config).await,
        Command::Images(ImagesCommand::Collect { unused_for_hours }) => {
            collect_images(config, unused_for_hours).await
        }
        Command::Openapi => print_openapi(),
        Command::Healthcheck { url } => healthcheck(&config, url).await,
    }
}

fn print_openapi() -> anyhow::Result<()> {
    use utoipa::OpenApi as _;
    let document = crate::http::ApiDoc::openapi()
        .to_pretty_json()
        .context("serialising the OpenAPI document")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{document}")?;
    out.flush()?;
    Ok(())
}

/// `GET /healthz` of a running server, for images without curl: exit 0 on a 200 within 5 s.
async fn healthcheck(config: &Config, url: Option<String>) -> anyhow::Result<()> {
    let base = match url {
        Some(url) => url,
        None => {
            let mut bind = config.serve.bind;
            if bind.ip().is_unspecified() {
                bind.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{bind}")
        }
    };
    let url = format!("{}/healthz", base.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "GET {url} answered {}",
        response.status()
    );
    Ok(())
}

async fn sync(mut config: Config, args: SyncArgs) -> anyhow::Result<()> {
    if let Some(batch_size) = args.batch_size {
        config = config.with("SYNC_BATCH_SIZE", batch_size.to_string())?;
        config = config.with("SYNC_FULL_BATCH_SIZE", batch_size.to_string())?;
    }
    let mode = if args.full {
        SyncMode::Full
    } else {
        SyncMode::Incremental
    };
    let engine = startup::engine(&config).await?;
    let request = SyncRequest {
        mode,
        trigger: Trigger::Cli,
    };
    let outcome = match args.limit {
        Some(limit) => step(&engine, request, limit).await,
        None => run_to_end(&engine, request).await.map(|_| ()),
    };
    startup::keep_odoo_session(&config, &engine).await;
    outcome
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
        anyhow::bail!(
            "sync run {} interrupted at {} products; run again to resume",
            run.id,
            run.processed
        );
    }
    print_summary(&run);
    Ok(run)
}

fn print_summary(run: &SyncRun) {
    let seconds = run.duration().num_milliseconds() as f64 / 1000.0;
    let rate = if seconds > 0.0 {
        run.processed as f64 / seconds
    } else {
        0.0
    };
    let c = run.counts;
    println!(
        "sync run {} ({}) {}: {} products in {seconds:.1} s ({rate:.0}/s): created {}, updated {}, unchanged {}, archived {}, deleted {}; images fetched {}, unchanged {}",
        run.id, run.mode, run.status, run.processed, c.created, c.updated, c.unchanged, c.archived, c.deleted,
        c.images_fetched, c.images_unchanged
    );
}

async fn export_catalog(config: Config, include_deleted: bool) -> anyhow::Result<()> {
    let store = startup::open_store(&config).await?;
    let products = store.export(include_deleted).await?;
    let scope = config.serve.catalog_scope;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // A product out of CATALOG_SCOPE is not the website's, like a deleted one.
    let shown = products.iter().filter(|stored| {
        let p = &stored.product;
        scope.shows(p.is_published, p.sale_ok, p.active, p.storefront.website_id)
    });
    for stored in shown {
        serde_json::to_writer(&mut out, &export::product_json(stored))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

async fn collect_images(config: Config, unused_for_hours: Option<u64>) -> anyhow::Result<()> {
    let retention = match unused_for_hours {
        Some(hours) => std::time::Duration::from_secs(hours.saturating_mul(3600)),
        None => match config.serve.image_retention {
            Some(retention) => retention,
            None => {
                println!("IMAGE_RETENTION_HOURS=0 keeps unused images forever: nothing collected");
                return Ok(());
            }
        },
    };
    let engine = startup::engine(&config).await?;
    let collected = engine.collect_unused_images(retention).await?;
    println!("{collected} unused image blob(s) deleted");
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
            .map(|(key, mark)| {
                (
                    key.model().to_string(),
                    mark.0.format("%Y-%m-%d %H:%M:%S").to_string().into(),
                )
            })
            .collect();
        let body = serde_json::json!({"products": products, "watermarks": marks, "runs": runs});
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    println!("{products} products in the catalog");
    for (key, mark) in &watermarks {
        println!(
            "watermark {:<18} {}",
            key.model(),
            mark.0.format("%Y-%m-%d %H:%M:%S")
        );
    }
    for run in &runs {
        let error = run
            .error
            .as_deref()
            .map(|e| format!(" — {e}"))
            .unwrap_or_default();
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
        dataset: odoo_sim::Dataset::Generated {
            products: args.products,
            seed: args.seed,
        },
        faults: odoo_sim::Faults::default(),
        odoo_version: 18,
    };
    let sim = odoo_sim::Sim::spawn(sim_config, "127.0.0.1:0".parse()?)
        .await
        .context("starting the simulator")?;
    println!(
        "Odoo simulator with {} generated products at {}",
        args.products,
        sim.url()
    );
    let config = config
        .with("ODOO_URL", sim.url())?
        .with("ODOO_DB", "odoo")?
        .with("ODOO_LOGIN", "admin")?
        .with("ODOO_PASSWORD", "admin")?
        .with(
            "DATABASE_URL",
            format!("sqlite://{}", args.database.display()),
        )?;
    let engine = startup::engine(&config).await?;
    let request = SyncRequest {
        mode: SyncMode::Full,
        trigger: Trigger::Demo,
    };
    run_to_end(&engine, request).await?;
    println!("catalog stored in {}", args.database.display());
    if !args.no_serve {
        let token = std::env::var("ADMIN_TOKEN").unwrap_or_else(|_| "demo-admin-token".to_string());
        let secret =
            std::env::var("CRON_SECRET").unwrap_or_else(|_| "demo-cron-secret".to_string());
        let webhook_secret =
            std::env::var("WEBHOOK_SECRET").unwrap_or_else(|_| "demo-webhook-secret".to_string());
        let config = config
            .with("ADMIN_TOKEN", token.clone())?
            .with("CRON_SECRET", secret.clone())?
            .with("WEBHOOK_SECRET", webhook_secret.clone())?;
        let odoo = engine.odoo().clone();
        serve_with(config, |addr| {
            println!("\nadmin page:   http://{addr}/admin   (admin token: {token})");
            println!("catalog API:  http://{addr}/api/products?limit=24   openapi: http://{addr}/api/openapi.json");
            println!("cron:         curl -H 'Authorization: Bearer {secret}' http://{addr}/api/cron/sync");
            println!("Ctrl-C stops.");
            let webhook = format!("http://{addr}/api/products/sync/webhook");
            tokio::spawn(install_demo_webhooks(odoo, webhook, webhook_secret));
        })
        .await?;
    }
    sim.shutdown().await;
    Ok(())
}

/// The simulator's automation rules, as `odoo install-webhooks` sets them on a real Odoo: an
/// edit made in the simulator reaches the demo's catalog in seconds, with no sync to start.
async fn install_demo_webhooks(odoo: Arc<dyn odoo_rpc::OdooApi>, url: String, secret: String) {
    let url = odoo_admin::webhook_url(&url, &secret);
    match odoo_admin::install(odoo.as_ref(), &url, false).await {
        Ok(_) => println!(
            "webhooks:     the simulator's automation rules POST every change to odoo-sync"
        ),
        Err(error) => tracing::warn!(%error, "the demo's webhook rules could not be installed"),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    serve_with(config, |addr| {
        println!("odoo-sync serving on http://{addr} (admin page: /admin)")
    })
    .await
}

async fn serve_with(
    config: Config,
    announce: impl FnOnce(std::net::SocketAddr),
) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    let app = startup::application(&config, cancel.clone()).await?;
    announce(app.local_addr());
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping: the running batch commits first");
        cancel.cancel();
    });
    app.run_until_stopped().await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

/// One signed `catalog.test` event per URL, each answer printed: `URL -> STATUS BODY`.
async fn test_site_webhooks(config: Config) -> anyhow::Result<()> {
    use crate::domain::site_event::new_event_id;
    use crate::engine::site_webhooks;
    let site = config
        .site_webhooks
        .as_ref()
        .context("SITE_WEBHOOK_URLS is not set: there is no site webhook to test")?;
    let key = site.key();
    let client = site_webhooks::client();
    let body = serde_json::json!({
        "type": "catalog.test",
        "changes": {"upserted": [], "deleted": []},
        "tags": [],
    })
    .to_string();
    let mut failed = 0;
    for url in &site.urls {
        match site_webhooks::send(&client, &key, url, &new_event_id(), &body).await {
            Ok(answer) => {
                println!("{url} -> {} {}", answer.status, answer.body.trim());
                if !(200..300).contains(&answer.status) {
                    failed += 1;
                }
            }
            Err(error) => {
                println!("{url} -> error: {}", anyhow::Error::new(error));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} site webhook URLs did not accept the test event",
            site.urls.len()
        );
    }
    Ok(())
}

async fn odoo(config: Config, command: OdooCommand) -> anyhow::Result<()> {
    let settings = config.odoo()?;
    let odoo = startup::connect_odoo(&settings).await?;
    match command {
        OdooCommand::InstallWebhooks { url } => {
            // Rules are installed with the current secret; the previous one only keeps working.
            let secret = config
                .serve
                .webhook_secret
                .as_ref()
                .map(|s| &s.current)
                .ok_or(crate::config::ConfigError::Missing {
                    key: "WEBHOOK_SECRET",
                })?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                anyhow::bail!("--url '{url}' is not an http:// or https:// URL");
            }
            let url = odoo_admin::webhook_url(&url, secrecy::ExposeSecret::expose_secret(secret));
            let with_pricelist = !config.sync.pricelist_ids.is_empty();
            for change in odoo_admin::install(odoo.as_ref(), &url, with_pricelist).await? {
                println!("{change}");
            }
        }
        OdooCommand::UninstallWebhooks => {
            let changes = odoo_admin::uninstall(odoo.as_ref()).await?;
            if changes.is_empty() {
                println!("nothing to remove: no odoo-sync rule is installed");
            }
            for change in changes {
                println!("{change}");
            }
        }
        OdooCommand::Check => {
            let client = odoo_rpc::OdooClient::connect(startup::client_config(&settings)).await?;
            check(&client, &settings).await?
        }
    }
    Ok(())
}

async fn check(
    client: &odoo_rpc::OdooClient,
    settings: &crate::config::OdooSettings,
) -> anyhow::Result<()> {
    let odoo: &dyn odoo_rpc::OdooApi = client;
    let version = odoo.version().await?;
    println!(
        "Odoo {} at {} (database {}), over {} ({})",
        version.server_version,
        settings.url,
        settings.db,
        client.protocol(),
        client.protocol_choice().unwrap_or("as configured")
    );
    let rules = odoo_admin::installed(odoo).await?;
    if rules.is_empty() {
        println!(
            "no odoo-sync webhook rule is installed: run `odoo-sync odoo install-webhooks --url …`"
        );
        return Ok(());
    }
    for rule in &rules {
        let state = if rule.active { "active" } else { "ARCHIVED" };
        println!(
            "rule {:>4} {state:<8} {} -> {}",
            rule.id,
            rule.name,
            redact_token(&rule.url)
        );
    }
    let Some(url) = rules
        .iter()
        .find(|r| !r.url.contains("event=unlink"))
        .map(|r| r.url.clone())
    else {
        return Ok(());
    };
    let categories = odoo
        .search(
            "product.category",
            &odoo_rpc::Domain::all(),
            &odoo_rpc::SearchOptions {
                limit: Some(1),
                ..Default::default()
            },
        )
        .await?;
    let Some(category) = categories.first() else {
        println!("no category to send a test event about");
        return Ok(());
    };
    let event = serde_json::json!({"_action": "odoo-sync check", "_id": category, "_model": "product.category", "id": category});
    match reqwest::Client::new()
        .post(&url)
        .json(&event)
        .timeout(Duration::from_secs(5))
        .send()
        .await
    {
        Ok(answer) if answer.status().is_success() => println!(
            "test event reached {}: HTTP {}",
            redact_token(&url),
            answer.status()
        ),
        Ok(answer) => anyhow::bail!(
            "test event to {} was refused: HTTP {}",
            redact_token(&url),
            answer.status()
        ),
        Err(error) => anyhow::bail!(
            "test event to {} did not arrive: {error}",
            redact_token(&url)
        ),
    }
    Ok(())
}

/// The webhook secret never goes to a terminal or a log.
fn redact_token(url: &str) -> String {
    match url.find("token=") {
        Some(start) => {
            let end = url[start..].find('&').map_or(url.len(), |i| start + i);
            format!("{}token=***{}", &url[..start], &url[end..])
        }
        None => url.to_string(),
    }
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
        TerminalProgress {
            bar,
            last_line: Mutex::new(Instant::now()),
        }
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
            let total = progress
                .total
                .map_or_else(|| "?".to_string(), |t| t.to_string());
            tracing::info!(run = %progress.run, phase = ?progress.phase, "{}/{} products", progress.processed, total);
        }
    }
}
