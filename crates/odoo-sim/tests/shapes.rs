//! Shape checks against the other recorded Odoo 18 exchanges (`jsonrpc/`, `errors/`): for every
//! request the simulator can answer, the same HTTP status and content type, the same keys and
//! value types, and the same exception class (`error.data.name`); HTML transport errors must match
//! exactly. Values are not compared: these fixtures were recorded at other database states.

use odoo_sim::{Dataset, Faults, Sim, SimConfig};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

const ROOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/odoo18-fixtures"
);

/// Fixtures left out, and why.
const NOT_SIMULATED: &[(&str, &str)] = &[
    (
        "write_date_not_commit_order",
        "a timing observation, not one request",
    ),
    (
        "product_template_search_read_image_128",
        "images are not simulated: image_128 reads false",
    ),
    (
        "product_template_unlink",
        "unlinks a template created while recording, absent from dataset.json",
    ),
];

/// Models the simulator does not hold (their fixtures are skipped).
const OTHER_MODELS: &[&str] = &[
    "stock.quant",
    "stock.move",
    "product.pricelist.item",
    "res.users",
    "ir.config_parameter",
];

async fn demo18() -> Sim {
    let config = SimConfig {
        db: "demo18".into(),
        dataset: Dataset::Demo18 {
            path: Path::new(ROOT).join("conformance/dataset.json"),
        },
        faults: Faults::default(),
        odoo_version: 18,
    };
    Sim::spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn fixtures(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn skip_reason(name: &str, fixture: &Json) -> Option<String> {
    if let Some((_, why)) = NOT_SIMULATED.iter().find(|(n, _)| *n == name) {
        return Some(why.to_string());
    }
    let args = &fixture["request"]["body"]["params"]["args"];
    if args[1].as_i64().is_some_and(|uid| uid == 8 || uid == 9) {
        return Some("other users' access rights are not simulated".into());
    }
    let model = args[3].as_str().unwrap_or("");
    OTHER_MODELS
        .contains(&model)
        .then(|| format!("{model} is not simulated"))
}

/// Same JSON types, same keys (in order), recursively; lists compare their first elements.
fn shape_diff(path: &str, want: &Json, got: &Json) -> Option<String> {
    let kind = |v: &Json| match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    };
    match (want, got) {
        (Json::Object(a), Json::Object(b)) => {
            let (ka, kb): (Vec<_>, Vec<_>) = (a.keys().collect(), b.keys().collect());
            if ka != kb {
                return Some(format!("{path}: keys {ka:?} != {kb:?}"));
            }
            a.iter()
                .find_map(|(k, v)| shape_diff(&format!("{path}/{k}"), v, &b[k]))
        }
        (Json::Array(a), Json::Array(b)) => match (a.first(), b.first()) {
            (Some(x), Some(y)) => shape_diff(&format!("{path}/0"), x, y),
            _ => None,
        },
        // `false` stands for an empty value of any type in Odoo.
        (Json::Bool(false), _) | (_, Json::Bool(false)) => None,
        _ if kind(want) == kind(got) => None,
        _ => Some(format!(
            "{path}: {} != {} ({want} vs {got})",
            kind(want),
            kind(got)
        )),
    }
}

async fn replay(sim: &Sim, fixture: &Json) -> reqwest::Response {
    let req = &fixture["request"];
    let url = format!("{}{}", sim.url(), req["path"].as_str().unwrap());
    let client = reqwest::Client::new();
    let mut builder = match req["method"].as_str() {
        Some("GET") => client.get(url),
        _ => client.post(url),
    };
    for (k, v) in req["headers"].as_object().into_iter().flatten() {
        builder = builder.header(k.as_str(), v.as_str().unwrap_or(""));
    }
    let body = match &req["body"] {
        Json::Null => String::new(),
        Json::String(raw) => raw.clone(),
        other => other.to_string(),
    };
    builder.body(body).send().await.unwrap()
}

async fn check(path: &Path) -> Result<(), String> {
    let name = path.file_stem().unwrap().to_string_lossy().to_string();
    let fixture: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    if skip_reason(&name, &fixture).is_some() {
        return Ok(());
    }
    let sim = demo18().await;
    let resp = replay(&sim, &fixture).await;
    let want = &fixture["response"];
    let status = resp.status().as_u16();
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    let text = resp.text().await.unwrap();
    sim.shutdown().await;
    if u64::from(status) != want["status"].as_u64().unwrap()
        || ctype != want["headers"]["Content-Type"]
    {
        return Err(format!("{name}: status/type {status} {ctype}"));
    }
    match &want["body"] {
        Json::String(html) if html != &text => Err(format!("{name}: body {text:?}")),
        Json::String(_) => Ok(()),
        body => {
            let got: Json = serde_json::from_str(&text).unwrap();
            let want_name = &body["error"]["data"]["name"];
            if want_name != &got["error"]["data"]["name"] {
                return Err(format!(
                    "{name}: error {} != {}",
                    want_name, got["error"]["data"]["name"]
                ));
            }
            shape_diff("", body, &got).map_or(Ok(()), |d| Err(format!("{name}: {d}")))
        }
    }
}

#[tokio::test]
async fn recorded_reads_and_errors_have_odoos_shapes_and_exception_names() {
    let mut failures = Vec::new();
    for folder in ["jsonrpc", "errors"] {
        for path in fixtures(folder) {
            if let Err(e) = check(&path).await {
                failures.push(format!("{folder}/{e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "shape differences:\n{}",
        failures.join("\n")
    );
}
