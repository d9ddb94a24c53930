//! An opt-in latency model that makes the simulator as slow as a real Odoo 18, per JSON-RPC call:
//! the call waits for one of `workers` server workers (a semaphore; beyond it requests queue),
//! then holds it for `cost(shape)`, or for the simulator's own computing time when that is longer
//! (the two overlap: a real Odoo's cost is the model's, not the model's plus ours).
//!
//! Calibrated on bench18 (20,000 product.template, 2 HTTP workers; client, Odoo and PostgreSQL
//! sharing one 2-core machine; see the fixtures README, "Throughput"):
//!
//! | measured                                          | model                                   |
//! |---------------------------------------------------|-----------------------------------------|
//! | `search_count`: 19-20 ms                          | overhead 19 ms                          |
//! | `search`, 20,000 ids: 62-66 ms                    | 19 ms + 20,000 × 2.15 µs = 62 ms        |
//! | keyset 1000, 10 fields, 21 req: 2.74-3.05 s       | 21 × 19 ms + 20,000 × 10 × 11.7 µs = 2.74 s |
//! | keyset 1000, 15 fields + qty_available: 8.81-8.89 s | 21 × 19 ms + 20,000 × (15 × 11.7 + 245) µs = 8.81 s |
//! | offset 200, 10 fields, 101 req: 6.04-6.50 s       | 101 × 19 ms + 2.34 s + Σoffset (1,010,000) × 1.9 µs = 6.18 s |
//! | offset 200, with qty: 12.41-13.04 s               | 1.92 + 8.40 + 1.92 = 12.24 s            |
//! | offset 1000 / 5000, with qty: 9.17 / 8.32 s       | 9.20 / 8.59 s                           |
//! | 2 parallel keyset streams: 4.60 s; 4 streams: 4.53 s | 2 workers: half of 8.8 s; more streams queue |
//!
//! Formula: `cost = overhead + records * (plain_fields * per_field + stock_fields *
//! per_stock_field) + ids * per_id + offset * per_offset_row`, where `records` is the length of
//! a `search_read` / `read` result, `ids` that of a `search` result, `stock_fields` the per-call
//! computed stock fields asked (`qty_available`, `free_qty`, `virtual_available`, ...; two thirds
//! of the pull time in the measurements), and no field list means every field of the model.
//! Writes and counts cost the overhead only.

use crate::models::defs::model_def;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Computed-per-call stock fields (the expensive ones).
const STOCK_FIELDS: &[&str] = &[
    "qty_available",
    "free_qty",
    "virtual_available",
    "incoming_qty",
    "outgoing_qty",
];

/// The cost parameters (defaults: Odoo 18 as measured on bench18, see the module doc).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LatencyModel {
    /// Server workers; calls beyond them queue.
    pub workers: usize,
    /// Every call: HTTP, auth, dispatch, one new connection.
    pub overhead_us: f64,
    /// Per record returned and per plain field read.
    pub per_field_us: f64,
    /// Per record returned and per stock field read.
    pub per_stock_field_us: f64,
    /// Per id returned by `search`.
    pub per_id_us: f64,
    /// Per row skipped by `offset`.
    pub per_offset_row_us: f64,
}

impl Default for LatencyModel {
    fn default() -> Self {
        LatencyModel::odoo18(2)
    }
}

/// What a call asked and got, as far as its cost goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallShape {
    /// Records returned with fields (`search_read`, `read`).
    pub records: usize,
    pub plain_fields: usize,
    pub stock_fields: usize,
    /// Ids returned by `search`.
    pub ids: usize,
    pub offset: usize,
}

impl LatencyModel {
    /// Odoo 18 with `workers` HTTP workers.
    pub fn odoo18(workers: usize) -> LatencyModel {
        LatencyModel {
            workers,
            overhead_us: 19_000.0,
            per_field_us: 11.7,
            per_stock_field_us: 245.0,
            per_id_us: 2.15,
            per_offset_row_us: 1.9,
        }
    }

    /// How long a worker is busy with a call of this shape.
    pub fn cost(&self, shape: &CallShape) -> Duration {
        let per_record = shape.plain_fields as f64 * self.per_field_us
            + shape.stock_fields as f64 * self.per_stock_field_us;
        let us = self.overhead_us
            + shape.records as f64 * per_record
            + shape.ids as f64 * self.per_id_us
            + shape.offset as f64 * self.per_offset_row_us;
        Duration::from_micros(us.max(0.0) as u64)
    }
}

/// The shape of one JSON-RPC request and its answer.
pub fn shape_of(request: &Json, answer: &Json) -> CallShape {
    let params = &request["params"];
    if params["service"] != "object" {
        return CallShape::default();
    }
    let args = &params["args"];
    let model = args[3].as_str().unwrap_or("");
    let method = args[4].as_str().unwrap_or("");
    let pos = args[5].as_array().cloned().unwrap_or_default();
    let kw = &args[6];
    let arg = |i: usize, name: &str| kw.get(name).or_else(|| pos.get(i)).cloned();
    let returned = answer["result"].as_array().map_or(0, Vec::len);
    let offset = |i| arg(i, "offset").and_then(|v| v.as_u64()).unwrap_or(0) as usize;
    let (fields, offset) = match method {
        "search_read" => (arg(1, "fields"), offset(2)),
        "read" => (arg(1, "fields"), 0),
        "search" => {
            return CallShape {
                ids: returned,
                offset: offset(1),
                ..CallShape::default()
            }
        }
        _ => return CallShape::default(),
    };
    let names: Vec<String> = match fields.as_ref().and_then(Json::as_array) {
        Some(items) if !items.is_empty() => items
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => model_def(model)
            .map(|d| d.fields.iter().map(|f| f.name.to_string()).collect())
            .unwrap_or_default(),
    };
    let stock = names
        .iter()
        .filter(|n| STOCK_FIELDS.contains(&n.as_str()))
        .count();
    CallShape {
        records: returned,
        plain_fields: names.len() - stock,
        stock_fields: stock,
        ids: 0,
        offset,
    }
}

/// The server workers: a semaphore sized by the model in force, and queue counters.
#[derive(Debug, Default)]
pub struct Workers {
    pool: Mutex<Option<(usize, Arc<Semaphore>)>>,
    queued: AtomicU64,
    busy: AtomicU64,
    max_queued: AtomicU64,
    max_busy: AtomicU64,
    served: AtomicU64,
}

/// Queue counters of the latency model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounts {
    /// Calls waiting for a worker now.
    pub queued: u64,
    /// Calls holding a worker now.
    pub busy: u64,
    pub max_queued: u64,
    pub max_busy: u64,
    /// Calls served through the model.
    pub served: u64,
}

/// A worker held by one call; released on drop.
pub struct Busy<'a> {
    workers: &'a Workers,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.workers.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Workers {
    fn semaphore(&self, workers: usize) -> Arc<Semaphore> {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        let workers = workers.max(1);
        match pool.as_ref() {
            Some((n, sem)) if *n == workers => sem.clone(),
            _ => {
                let sem = Arc::new(Semaphore::new(workers));
                *pool = Some((workers, sem.clone()));
                sem
            }
        }
    }

    /// Waits for a free worker.
    pub async fn acquire(&self, workers: usize) -> Busy<'_> {
        let sem = self.semaphore(workers);
        let queued = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_queued.fetch_max(queued, Ordering::Relaxed);
        let permit = sem.acquire_owned().await;
        self.queued.fetch_sub(1, Ordering::Relaxed);
        let busy = self.busy.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_busy.fetch_max(busy, Ordering::Relaxed);
        self.served.fetch_add(1, Ordering::Relaxed);
        let permit = match permit {
            Ok(p) => p,
            // The semaphore is never closed; a fresh one stands in if it were.
            Err(_) => Arc::new(Semaphore::new(1))
                .acquire_owned()
                .await
                .expect("a new semaphore has a permit"),
        };
        Busy {
            workers: self,
            _permit: permit,
        }
    }

    pub fn counts(&self) -> QueueCounts {
        QueueCounts {
            queued: self.queued.load(Ordering::Relaxed),
            busy: self.busy.load(Ordering::Relaxed),
            max_queued: self.max_queued.load(Ordering::Relaxed),
            max_busy: self.max_busy.load(Ordering::Relaxed),
            served: self.served.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    /// A full pull of `total` records in pages of `page`, with offsets or keyset.
    fn pull(
        m: &LatencyModel,
        total: usize,
        page: usize,
        offsets: bool,
        plain: usize,
        stock: usize,
    ) -> f64 {
        let requests = total / page + 1;
        (0..requests)
            .map(|i| {
                let shape = CallShape {
                    records: page.min(total.saturating_sub(i * page)),
                    plain_fields: plain,
                    stock_fields: stock,
                    ids: 0,
                    offset: if offsets { i * page } else { 0 },
                };
                secs(m.cost(&shape))
            })
            .sum()
    }

    fn near(got: f64, lo: f64, hi: f64) {
        assert!(
            got >= lo * 0.97 && got <= hi * 1.03,
            "{got} not in {lo}..{hi}"
        );
    }

    #[test]
    fn the_odoo18_model_reproduces_the_bench18_table() {
        let m = LatencyModel::odoo18(2);
        near(secs(m.cost(&CallShape::default())), 0.019, 0.020);
        let search = CallShape {
            ids: 20_000,
            ..CallShape::default()
        };
        near(secs(m.cost(&search)), 0.062, 0.066);
        near(pull(&m, 20_000, 1000, false, 10, 0), 2.74, 3.05);
        near(pull(&m, 20_000, 1000, false, 15, 1), 8.81, 8.89);
        near(pull(&m, 20_000, 200, true, 10, 0), 6.04, 6.50);
        near(pull(&m, 20_000, 200, true, 15, 1), 12.41, 13.04);
        near(pull(&m, 20_000, 1000, true, 15, 1), 9.17, 9.21);
        near(pull(&m, 20_000, 5000, true, 15, 1), 8.32, 8.58);
        // Deeper offsets cost more; qty_available is about two thirds of the pull.
        let at = |offset| CallShape {
            records: 200,
            plain_fields: 10,
            offset,
            ..CallShape::default()
        };
        assert!(m.cost(&at(19_800)) > m.cost(&at(0)));
        let with_qty = pull(&m, 20_000, 1000, false, 15, 1);
        let without = pull(&m, 20_000, 1000, false, 15, 0);
        near((with_qty - without) / with_qty, 0.55, 0.70);
    }

    #[test]
    fn call_shapes_come_from_the_request_and_the_answer() {
        let req = json!({"params": {"service": "object", "method": "execute_kw", "args": [
            "odoo", 2, "admin", "product.template", "search_read", [[]],
            {"fields": ["id", "name", "qty_available"], "offset": 400, "limit": 2}]}});
        let answer = json!({"result": [{}, {}]});
        assert_eq!(
            shape_of(&req, &answer),
            CallShape {
                records: 2,
                plain_fields: 2,
                stock_fields: 1,
                ids: 0,
                offset: 400
            }
        );
        let search = json!({"params": {"service": "object", "args": [
            "odoo", 2, "admin", "product.template", "search", [[], 10]]}});
        assert_eq!(shape_of(&search, &json!({"result": [1, 2, 3]})).ids, 3);
        assert_eq!(shape_of(&search, &json!({"result": [1, 2, 3]})).offset, 10);
        let count = json!({"params": {"service": "object", "args": [
            "odoo", 2, "admin", "product.template", "search_count", [[]]]}});
        assert_eq!(
            shape_of(&count, &json!({"result": 5})),
            CallShape::default()
        );
        let all = json!({"params": {"service": "object", "args": [
            "odoo", 2, "admin", "product.template", "read", [[1]]]}});
        let s = shape_of(&all, &json!({"result": [{}]}));
        assert_eq!(s.stock_fields, 2, "qty_available and free_qty");
        assert!(s.plain_fields > 20);
    }
}
