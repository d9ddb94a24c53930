//! The load generator, run in its own process: plain HTTP/1.1 keep-alive connections (hyper, no
//! pool, no TLS) so the client costs as little CPU as possible on a 2-core machine.
//!
//! Two shapes:
//! - open loop (`rate_per_s`): request `i` is due at `start + i / rate`; its latency counts from
//!   that due time, not from when a connection was free, so a slow server cannot hide its
//!   queueing (no coordinated omission). The schedule is bounded by `duration_ms`.
//! - closed loop: `connections` clients send back to back for `duration_ms`; throughput.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Mutex};

/// One request to send; requests are cycled through in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Req {
    pub fn get(path: impl Into<String>) -> Req {
        Req {
            method: "GET".to_string(),
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadSpec {
    pub addr: SocketAddr,
    pub requests: Vec<Req>,
    pub connections: usize,
    /// Measured phase; requests due (or sent) during `warmup_ms` before it are not counted.
    pub duration_ms: u64,
    pub warmup_ms: u64,
    /// Open loop at this rate; `None`: closed loop.
    pub rate_per_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadOutcome {
    /// Answers received in the measured phase.
    pub requests: u64,
    /// Transport errors (a non-2xx/304 status counts in `statuses`, not here).
    pub errors: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// CPU the load generator itself used, in cores (1.0 = one core busy), warm-up included.
    pub load_cpu_cores: f64,
}

type Body = http_body_util::Full<hyper::body::Bytes>;

struct Recorder {
    measure_from: Instant,
    latencies: Vec<Duration>,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
}

impl Recorder {
    /// Records an answer to a request due (or sent) at `due`.
    fn record(&mut self, due: Instant, result: anyhow::Result<u16>) {
        if due < self.measure_from {
            return;
        }
        match result {
            Ok(status) => {
                self.latencies.push(due.elapsed());
                *self.statuses.entry(status).or_default() += 1;
            }
            Err(_) => self.errors += 1,
        }
    }
}

pub async fn run(spec: &LoadSpec) -> anyhow::Result<LoadOutcome> {
    anyhow::ensure!(!spec.requests.is_empty(), "no requests to send");
    let cpu_before = crate::case::cpu_seconds(None);
    let start = Instant::now();
    let measure_from = start + Duration::from_millis(spec.warmup_ms);
    let end = measure_from + Duration::from_millis(spec.duration_ms);
    let recorder = Arc::new(std::sync::Mutex::new(Recorder {
        measure_from,
        latencies: Vec::new(),
        statuses: BTreeMap::new(),
        errors: 0,
    }));
    let requests = Arc::new(spec.requests.clone());
    let mut workers = Vec::new();
    match spec.rate_per_s {
        Some(rate) => {
            let (due_tx, due_rx) = mpsc::unbounded_channel::<(usize, Instant)>();
            let due_rx = Arc::new(Mutex::new(due_rx));
            for _ in 0..spec.connections {
                let (due_rx, recorder, requests) =
                    (due_rx.clone(), recorder.clone(), requests.clone());
                let addr = spec.addr;
                workers.push(tokio::spawn(async move {
                    let mut conn = Conn::new(addr);
                    loop {
                        let next = due_rx.lock().await.recv().await;
                        let Some((i, due)) = next else { break };
                        let result = conn.send(&requests[i % requests.len()]).await;
                        lock(&recorder).record(due, result);
                    }
                }));
            }
            // The fixed schedule: a send is due every 1/rate, whatever the answers do.
            let interval = Duration::from_secs_f64(1.0 / rate);
            let mut i = 0usize;
            loop {
                let due = start + interval.mul_f64(i as f64);
                if due >= end {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                if due_tx.send((i, due)).is_err() {
                    break;
                }
                i += 1;
            }
            drop(due_tx);
        }
        None => {
            for worker in 0..spec.connections {
                let (recorder, requests) = (recorder.clone(), requests.clone());
                let addr = spec.addr;
                workers.push(tokio::spawn(async move {
                    let mut conn = Conn::new(addr);
                    let mut i = worker;
                    while Instant::now() < end {
                        let sent = Instant::now();
                        let result = conn.send(&requests[i % requests.len()]).await;
                        lock(&recorder).record(sent, result);
                        i += 1;
                    }
                }));
            }
        }
    }
    for worker in workers {
        worker.await?;
    }
    let load_cpu_cores = match (cpu_before, crate::case::cpu_seconds(None)) {
        (Some(before), Some(after)) => (after - before) / start.elapsed().as_secs_f64(),
        _ => f64::NAN,
    };
    let mut recorder = lock(&recorder);
    let latencies = &mut recorder.latencies;
    latencies.sort_unstable();
    let quantile = |q: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1].as_secs_f64() * 1000.0
    };
    Ok(LoadOutcome {
        requests: latencies.len() as u64,
        requests_per_s: latencies.len() as f64 / (spec.duration_ms as f64 / 1000.0),
        p50_ms: quantile(0.50),
        p99_ms: quantile(0.99),
        max_ms: quantile(1.0),
        errors: recorder.errors,
        statuses: recorder.statuses.clone(),
        load_cpu_cores,
    })
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// One keep-alive connection, reopened after an error.
struct Conn {
    addr: SocketAddr,
    sender: Option<SendRequest<Body>>,
}

impl Conn {
    fn new(addr: SocketAddr) -> Conn {
        Conn { addr, sender: None }
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Body>> {
        let stream = tokio::net::TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(sender)
    }

    async fn send(&mut self, req: &Req) -> anyhow::Result<u16> {
        let result = self.try_send(req).await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    async fn try_send(&mut self, req: &Req) -> anyhow::Result<u16> {
        if self.sender.is_none() {
            self.sender = Some(self.connect().await?);
        }
        let sender = self.sender.as_mut().context("connected")?;
        sender.ready().await?;
        let mut builder = Request::builder()
            .method(req.method.as_str())
            .uri(req.path.as_str())
            .header(hyper::header::HOST, self.addr.to_string());
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if req.body.is_some() {
            builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let body = Body::from(req.body.clone().unwrap_or_default());
        let response = sender.send_request(builder.body(body)?).await?;
        let status = response.status().as_u16();
        http_body_util::BodyExt::collect(response.into_body()).await?;
        Ok(status)
    }
}
