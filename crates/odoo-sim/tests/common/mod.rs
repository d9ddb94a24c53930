//! What the simulator's HTTP tests share: a generated catalog on a random port (as Odoo 18 or 19),
//! and JSON-RPC calls to it as the admin user.
#![allow(dead_code)] // each test binary uses its own subset

use odoo_sim::{Dataset, Faults, Sim, SimConfig};
use serde_json::{json, Value as Json};

pub async fn generated(products: usize, seed: u64) -> Sim {
    generated_as(18, products, seed).await
}

/// A generated catalog served as Odoo `odoo_version` (18 or 19).
pub async fn generated_as(odoo_version: u8, products: usize, seed: u64) -> Sim {
    let config = SimConfig {
        db: "odoo".into(),
        dataset: Dataset::Generated { products, seed },
        faults: Faults::default(),
        odoo_version,
    };
    Sim::spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// `execute_kw` as admin on the simulator at `url`: the whole JSON-RPC answer, errors included.
pub async fn call(url: &str, model: &str, method: &str, args: Json, kwargs: Json) -> Json {
    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
        "service": "object", "method": "execute_kw",
        "args": ["odoo", 2, "admin", model, method, args, kwargs]}});
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

/// `execute_kw` that must succeed: its result.
pub async fn rpc(sim: &Sim, model: &str, method: &str, args: Json, kwargs: Json) -> Json {
    let answer = call(&sim.url(), model, method, args, kwargs).await;
    assert!(answer.get("error").is_none(), "{model}.{method}: {answer}");
    answer["result"].clone()
}
