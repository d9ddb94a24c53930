//! Replays every conformance fixture against the simulator loaded with demo18 and compares whole
//! response bodies (ignoring only `error.data.debug`).

use odoo_sim::{Dataset, Faults, Sim, SimConfig};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/odoo18-fixtures/conformance"
);

/// Fixtures the simulator cannot match yet, with the reason. The list may only shrink: a listed
/// fixture that starts matching fails the test too.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

async fn demo18() -> Sim {
    let config = SimConfig {
        db: "demo18".into(),
        dataset: Dataset::Demo18 {
            path: Path::new(FIXTURES).join("dataset.json"),
        },
        faults: Faults::default(),
        odoo_version: 18,
    };
    Sim::spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            name.ends_with(".json") && name.as_bytes()[0].is_ascii_digit()
        })
        .collect();
    files.sort();
    files
}

fn strip_debug(mut v: Json) -> Json {
    if let Some(data) = v.pointer_mut("/error/data").and_then(Json::as_object_mut) {
        data.remove("debug");
    }
    v
}

fn first_difference(path: &str, want: &Json, got: &Json) -> String {
    match (want, got) {
        (Json::Object(a), Json::Object(b)) => {
            let ka: Vec<_> = a.keys().collect();
            let kb: Vec<_> = b.keys().collect();
            if ka != kb {
                return format!("{path}: keys {ka:?} != {kb:?}");
            }
            a.iter()
                .find_map(|(k, v)| {
                    let d = first_difference(&format!("{path}/{k}"), v, &b[k]);
                    (!d.is_empty()).then_some(d)
                })
                .unwrap_or_default()
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| {
                let d = first_difference(&format!("{path}/{i}"), x, y);
                (!d.is_empty()).then_some(d)
            })
            .unwrap_or_default(),
        _ if want == got => String::new(),
        _ => format!("{path}: want {} got {}", short(want), short(got)),
    }
}

fn short(v: &Json) -> String {
    let s = v.to_string();
    s.chars().take(300).collect()
}

#[tokio::test]
async fn every_conformance_fixture_matches_odoo_18_except_the_listed_ones() {
    let sim = demo18().await;
    let client = reqwest::Client::new();
    let mut failures = Vec::new();
    let mut matched = 0;
    for path in fixtures() {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let fixture: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let resp = client
            .post(format!("{}/jsonrpc", sim.url()))
            .json(&fixture["request"]["body"])
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            fixture["response"]["status"].as_u64().unwrap() as u16,
            "{name}: status"
        );
        let got = strip_debug(resp.json::<Json>().await.unwrap());
        let want = strip_debug(fixture["response"]["body"].clone());
        let listed = KNOWN_DIFFERENCES.iter().any(|(n, _)| *n == name);
        // Compared as text: `Map` equality ignores key order, Odoo's key order matters.
        let same = serde_json::to_string(&got).unwrap() == serde_json::to_string(&want).unwrap();
        match (same, listed) {
            (true, true) => failures.push(format!(
                "{name}: matches now; remove it from KNOWN_DIFFERENCES"
            )),
            (false, false) => {
                failures.push(format!("{name}: {}", first_difference("", &want, &got)))
            }
            (true, false) => matched += 1,
            (false, true) => {}
        }
    }
    sim.shutdown().await;
    eprintln!(
        "conformance: {matched} of {} fixtures match",
        fixtures().len()
    );
    assert_eq!(
        fixtures().len(),
        39,
        "the conformance folder should hold 39 fixtures"
    );
    assert!(
        failures.is_empty(),
        "{matched} matched; failures:\n{}",
        failures.join("\n")
    );
}
