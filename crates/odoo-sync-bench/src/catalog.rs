//! Section 4, the catalog API on the synced catalog: closed-loop throughput and latency of the
//! reads a shop makes, against `serve` in its own process (webhook worker off, nothing else
//! running), from a load generator in a third process. Measured on the SQLite catalog the other
//! sections built, then the same on the PostgreSQL database holding the same catalog.
//!
//! Each read is measured twice: as shoppers repeat it (answered from the server's response
//! cache while the catalog does not change) and with `Cache-Control: no-cache` (the body is
//! made again from the store every time: the cost of a cache miss).

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context as _;
use serde::Serialize;

use crate::case::{cpu_seconds, run_child, Background, Case, Target};
use crate::load::{LoadOutcome, LoadSpec, Req};
use crate::postgres::{unavailable, Database};
use crate::report::Plan;
use crate::serve::ServeOutcome;
use crate::table::{ms, num, Row};

const LIST: &str = "/api/products?limit=24";
const CONNECTIONS: usize = 32;

#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub name: String,
    pub store: String,
    #[serde(flatten)]
    pub load: LoadOutcome,
    /// CPU the server used during the load, in cores (1.0 = one core busy).
    pub server_cpu_cores: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    pub connections: usize,
    pub endpoints: Vec<Endpoint>,
    pub server_peak_rss_mb: f64,
    /// Why there are no PostgreSQL rows, when there are none.
    pub postgres: Option<String>,
}

/// Every read on `target`'s SQLite catalog, then on `postgres` (a database holding the same
/// catalog), or the reason it is missing.
pub async fn run(
    plan: &Plan,
    target: &Target,
    postgres: Result<&Database, String>,
    templates: usize,
) -> anyhow::Result<Catalog> {
    let (mut endpoints, server_peak_rss_mb) = measure(plan, target, templates, "sqlite").await?;
    let on_postgres = async |database: &Database| {
        database.analyze().await?;
        let (measured, _) = measure(plan, &database.target, templates, "postgres").await?;
        anyhow::Ok(measured)
    };
    let postgres = match postgres {
        Ok(database) => match on_postgres(database).await {
            Ok(measured) => {
                endpoints.extend(measured);
                None
            }
            Err(error) => Some(unavailable(&error)),
        },
        Err(reason) => Some(reason),
    };
    Ok(Catalog {
        connections: CONNECTIONS,
        endpoints,
        server_peak_rss_mb,
        postgres,
    })
}

/// Every case against `serve` on `target`'s store; returns the endpoints and the server's peak RSS.
async fn measure(
    plan: &Plan,
    target: &Target,
    templates: usize,
    store: &str,
) -> anyhow::Result<(Vec<Endpoint>, f64)> {
    let server = Background::start(&Case::Serve {
        target: target.clone(),
        webhook_secret: None,
        webhook_workers: 0,
    })
    .await?;
    let addr: SocketAddr = server.listening.parse()?;
    let etag = etag(addr).await?;
    let by_id: Vec<Req> = (0..1_000)
        .map(|i| Req::get(format!("/api/products/{}", 1 + (i * 7_919) % templates)))
        .collect();
    let search = vec![Req::get("/api/products?q=chair&limit=24")];
    // A shop's filtered listing with its sidebar: all facets, then one value ticked, then two
    // attributes and a price bound, then stock and a category (ids of the generated catalog).
    let faceted: Vec<Req> = [
        "",
        "&attr=1",
        "&attr=1&attr=2&attr=5&price_max=500",
        "&in_stock=true&category=2&attr=6",
    ]
    .iter()
    .map(|filters| Req::get(format!("{LIST}&facets=true{filters}")))
    .collect();
    let faceted_name = format!("faceted page, {}k products, uncached", templates / 1_000);
    let cases = [
        ("list page of 24", vec![Req::get(LIST)]),
        ("list page of 24, uncached", uncached(vec![Req::get(LIST)])),
        ("product by id", by_id.clone()),
        ("product by id, uncached", uncached(by_id)),
        ("full-text search", search.clone()),
        ("full-text search, uncached", uncached(search)),
        (
            "304 (If-None-Match)",
            vec![Req::get(LIST).header("if-none-match", &etag)],
        ),
        (faceted_name.as_str(), uncached(faceted)),
    ];
    let mut endpoints = Vec::new();
    let wanted = |name: &str| plan.reads.as_deref().is_none_or(|part| name.contains(part));
    for (name, requests) in cases.into_iter().filter(|(name, _)| wanted(name)) {
        eprintln!("catalog API ({store}): {name}…");
        let spec = LoadSpec {
            addr,
            requests,
            connections: CONNECTIONS,
            duration_ms: plan.load_ms,
            warmup_ms: plan.warmup_ms,
            rate_per_s: None,
        };
        let started = Instant::now();
        let cpu_before = cpu_seconds(server.pid());
        let load: LoadOutcome = run_child(&Case::Load(spec)).await?;
        let server_cpu_cores = match (cpu_before, cpu_seconds(server.pid())) {
            (Some(before), Some(after)) => (after - before) / started.elapsed().as_secs_f64(),
            _ => f64::NAN,
        };
        endpoints.push(Endpoint {
            name: name.to_string(),
            store: store.to_string(),
            load,
            server_cpu_cores,
        });
    }
    let served: ServeOutcome = server.stop().await?;
    Ok((endpoints, served.peak_rss_mb))
}

/// The same requests with `Cache-Control: no-cache`: the server makes every body again.
fn uncached(requests: Vec<Req>) -> Vec<Req> {
    requests
        .into_iter()
        .map(|req| req.header("cache-control", "no-cache"))
        .collect()
}

async fn etag(addr: SocketAddr) -> anyhow::Result<String> {
    let response = reqwest::get(format!("http://{addr}{LIST}")).await?;
    let etag = response
        .headers()
        .get(reqwest::header::ETAG)
        .context("the list page has no ETag")?
        .to_str()?
        .to_string();
    Ok(etag)
}

impl Catalog {
    pub fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .endpoints
            .iter()
            .map(|e| {
                let l = &e.load;
                let statuses: Vec<String> = l
                    .statuses
                    .iter()
                    .map(|(s, n)| format!("{s}×{}", num(*n as f64)))
                    .collect();
                let section = match e.store.as_str() {
                    "postgres" => "catalog API, PostgreSQL",
                    _ => "catalog API, SQLite",
                };
                Row::new(section, &e.name)
                    .set("p50", ms(l.p50_ms))
                    .set("p99", ms(l.p99_ms))
                    .set("requests/s", num(l.requests_per_s))
                    .set(
                        "note",
                        format!(
                            "{} connections, closed loop; {} errors; {}; CPU: server {:.2}, load generator {:.2} cores",
                            self.connections,
                            l.errors,
                            statuses.join(" "),
                            e.server_cpu_cores,
                            l.load_cpu_cores
                        ),
                    )
            })
            .collect();
        if let Some(reason) = &self.postgres {
            rows.extend(
                self.endpoints.iter().map(|e| {
                    Row::new("catalog API, PostgreSQL", &e.name).set("note", reason.clone())
                }),
            );
        }
        rows
    }
}
