//! Section 3, webhooks, against `serve` in its own process with the rules installed the way
//! `odoo-sync odoo install-webhooks` does:
//! - change to visible: a template's name is written through the simulator's RPC (which answers
//!   once its webhook POSTs are sent and the write is committed); from that commit, the catalog
//!   API is polled every 5 ms until it shows the new name;
//! - acknowledgement latency under a bounded open-loop load of webhook POSTs (a fixed schedule,
//!   so queueing is counted) at each rate, from a load generator in a third process.
//!
//! Change-to-visible runs first, while the inbox is empty: the ack load leaves a backlog the
//! inbox worker drains afterwards.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use odoo_sim::Sim;
use odoo_sync::odoo_admin;
use serde::Serialize;
use serde_json::{json, Map};

use crate::case::{run_child, Background, Case, Target};
use crate::load::{LoadOutcome, LoadSpec, Req};
use crate::report::Plan;
use crate::serve::ServeOutcome;
use crate::table::{ms, num, Row};

const SECRET: &str = "bench-webhook-secret";
/// How long one edit may take to show before it counts as not visible.
const VISIBLE_WITHIN: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Serialize)]
pub struct Ack {
    pub target_requests_per_s: f64,
    #[serde(flatten)]
    pub load: LoadOutcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct Visibility {
    pub edits: usize,
    /// Edits not visible within `VISIBLE_WITHIN`.
    pub not_visible: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// How long the writing RPC call took (its webhook POSTs happen inside it), median.
    pub write_call_p50_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Webhooks {
    /// `sqlite` or `postgres`.
    pub store: &'static str,
    pub rules: Vec<String>,
    pub change_to_visible: Visibility,
    pub ack: Vec<Ack>,
    /// The catalog API during the highest acknowledgement rate, and the inbox's drain after it.
    pub flood: Option<Flood>,
    pub server_peak_rss_mb: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Flood {
    /// Uncached list pages at a fixed rate, during the flood.
    pub catalog: LoadOutcome,
    /// From the flood's end until no event is pending; `None`: not within `DRAIN_WITHIN`.
    pub drained_s: Option<f64>,
}

/// How long the inbox may take to drain a flood before the row says it did not.
const DRAIN_WITHIN: Duration = Duration::from_secs(120);
pub const ADMIN_TOKEN: &str = "bench-admin-token";

/// Uncached catalog pages (made from the database every time) at 100/s, 4 connections.
fn catalog_reads(addr: SocketAddr, plan: &Plan) -> LoadSpec {
    LoadSpec {
        addr,
        requests: vec![Req::get("/api/products?limit=24").header("cache-control", "no-cache")],
        connections: 4,
        duration_ms: plan.load_ms,
        warmup_ms: plan.warmup_ms,
        rate_per_s: Some(100.0),
    }
}

/// Waits until the inbox has no pending event.
async fn drain(addr: SocketAddr) -> anyhow::Result<bool> {
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/api/products/sync/webhooks?status=pending&limit=1");
    let deadline = Instant::now() + DRAIN_WITHIN;
    while Instant::now() < deadline {
        let pending: serde_json::Value = http
            .get(&url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if pending["events"].as_array().is_some_and(Vec::is_empty) {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(false)
}

pub async fn run(
    sim: &Sim,
    plan: &Plan,
    target: &Target,
    templates: usize,
) -> anyhow::Result<Webhooks> {
    let server = Background::start(&Case::Serve {
        target: target.clone(),
        webhook_secret: Some(SECRET.to_string()),
        webhook_workers: 1,
    })
    .await?;
    let addr: SocketAddr = server.listening.parse()?;
    let odoo = crate::sim::client(&sim.url()).await?;
    let url = odoo_admin::webhook_url(&format!("http://{addr}/api/products/sync/webhook"), SECRET);
    let rules = odoo_admin::install(odoo.as_ref(), &url, false)
        .await?
        .iter()
        .map(ToString::to_string)
        .collect();
    eprintln!("webhooks: change to visible ({} edits)…", plan.edits);
    let change_to_visible =
        change_to_visible(odoo.as_ref(), addr, templates, plan.edits, target.store()).await?;
    let mut ack = Vec::new();
    let mut flood = None;
    let top_rate = plan.ack_rates.iter().copied().fold(0.0, f64::max);
    for rate in &plan.ack_rates {
        eprintln!("webhooks: acknowledgement at {rate}/s…");
        let spec = LoadSpec {
            addr,
            requests: webhook_posts(templates),
            connections: 64,
            duration_ms: plan.load_ms,
            warmup_ms: plan.warmup_ms,
            rate_per_s: Some(*rate),
        };
        let load: LoadOutcome = if *rate == top_rate {
            // The flood: shoppers read pages made from the database while the inbox fills.
            let (posts, reads) = (Case::Load(spec), Case::Load(catalog_reads(addr, plan)));
            let (load, catalog) = tokio::try_join!(
                run_child::<LoadOutcome>(&posts),
                run_child::<LoadOutcome>(&reads),
            )?;
            let started = Instant::now();
            let drained = drain(addr).await?;
            flood = Some(Flood {
                catalog,
                drained_s: drained.then(|| started.elapsed().as_secs_f64()),
            });
            load
        } else {
            run_child(&Case::Load(spec)).await?
        };
        ack.push(Ack {
            target_requests_per_s: *rate,
            load,
        });
    }
    let served: ServeOutcome = server.stop().await?;
    Ok(Webhooks {
        store: target.store(),
        rules,
        change_to_visible,
        ack,
        flood,
        server_peak_rss_mb: served.peak_rss_mb,
    })
}

/// Odoo's POSTs for template saves, over many templates.
fn webhook_posts(templates: usize) -> Vec<Req> {
    (0..500)
        .map(|i| {
            let id = 1 + (i * 7_919) % templates;
            let body = json!({"_model": "product.template", "_id": id, "id": id,
                "write_date": "2025-01-01 00:00:00"});
            Req {
                method: "POST".to_string(),
                path: format!("/api/products/sync/webhook?token={SECRET}"),
                headers: Vec::new(),
                body: Some(body.to_string()),
            }
        })
        .collect()
}

async fn change_to_visible(
    odoo: &dyn odoo_rpc::OdooApi,
    addr: SocketAddr,
    templates: usize,
    edits: usize,
    store: &str,
) -> anyhow::Result<Visibility> {
    let http = reqwest::Client::new();
    let mut visible = Vec::new();
    let mut writes = Vec::new();
    let mut not_visible = 0;
    for edit in 0..edits {
        let id = 1 + (edit * 104_729 + 13) % templates;
        // Named after the store too: another store's section may have written this name.
        let name = format!("Bench edit {edit} of {id} ({store})");
        let mut values = Map::new();
        values.insert("name".to_string(), json!(name));
        let write_started = Instant::now();
        odoo.write(
            "product.template",
            &[id as i64],
            values,
            &Default::default(),
        )
        .await?;
        let committed = Instant::now();
        writes.push(committed - write_started);
        let needle = serde_json::to_string(&name)?;
        loop {
            let body = http
                .get(format!("http://{addr}/api/products/{id}"))
                .send()
                .await?
                .text()
                .await?;
            if body.contains(&needle) {
                visible.push(committed.elapsed());
                break;
            }
            if committed.elapsed() > VISIBLE_WITHIN {
                not_visible += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Visibility {
        edits,
        not_visible,
        p50_ms: quantile_ms(&mut visible, 0.50),
        p99_ms: quantile_ms(&mut visible, 0.99),
        max_ms: quantile_ms(&mut visible, 1.0),
        write_call_p50_ms: quantile_ms(&mut writes, 0.50),
    })
}

pub fn quantile_ms(values: &mut [Duration], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_unstable();
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1].as_secs_f64() * 1000.0
}

impl Webhooks {
    pub fn rows(&self) -> Vec<Row> {
        let section = Target::section(self.store, "webhooks");
        let mut rows: Vec<Row> = self
            .ack
            .iter()
            .map(|ack| {
                let l = &ack.load;
                let statuses: Vec<String> = l
                    .statuses
                    .iter()
                    .map(|(s, n)| format!("{s}×{}", num(*n as f64)))
                    .collect();
                Row::new(
                    &section,
                    &format!("ack at {}/s", num(ack.target_requests_per_s)),
                )
                .set("p50", ms(l.p50_ms))
                .set("p99", ms(l.p99_ms))
                .set("requests/s", num(l.requests_per_s))
                .set(
                    "note",
                    format!(
                        "open loop; max {}; {} errors; {}",
                        ms(l.max_ms),
                        l.errors,
                        statuses.join(" ")
                    ),
                )
            })
            .collect();
        if let Some(flood) = &self.flood {
            let c = &flood.catalog;
            let top = self
                .ack
                .iter()
                .map(|a| a.target_requests_per_s)
                .fold(0.0, f64::max);
            let acked = self
                .ack
                .last()
                .and_then(|a| a.load.statuses.get(&200))
                .copied();
            let drained = flood.drained_s.map_or(
                format!("not drained within {} s", DRAIN_WITHIN.as_secs()),
                |s| format!("inbox drained {s:.1} s after the flood"),
            );
            rows.push(
                Row::new(&section, &format!("catalog API during the {}/s flood", num(top)))
                    .set("p50", ms(c.p50_ms))
                    .set("p99", ms(c.p99_ms))
                    .set("requests/s", num(c.requests_per_s))
                    .set(
                        "note",
                        format!(
                            "uncached pages at 100/s; {} errors; {} events acknowledged, each after its insert committed; {drained}",
                            c.errors,
                            acked.map_or("-".to_string(), |n| num(n as f64)),
                        ),
                    ),
            );
        }
        let v = &self.change_to_visible;
        rows.push(
            Row::new(&section, "change → visible in the API")
                .set("p50", ms(v.p50_ms))
                .set("p99", ms(v.p99_ms))
                .set(
                    "note",
                    format!(
                        "{} edits, {} not visible in {} s; max {}; from the commit (write call p50 {})",
                        v.edits,
                        v.not_visible,
                        VISIBLE_WITHIN.as_secs(),
                        ms(v.max_ms),
                        ms(v.write_call_p50_ms)
                    ),
                ),
        );
        rows
    }
}
