//! Fuzzed inputs through the real server, on both stores: full-text queries (quotes, `*`,
//! `NEAR(`, `OR`, unbalanced parentheses, control characters), sync request bodies and webhook
//! bodies. None may get a 5xx; each refusal is a 4xx naming the problem; nothing stored changes.
//! Proptest generates the inputs; a failure prints the smallest input that fails.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with_postgres, TestApp, TestServer};
use crate::webhooks::WEBHOOK_SECRET;

fn search_queries() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\"".to_owned()),
        Just("*".to_owned()),
        Just("NEAR(".to_owned()),
        Just(" OR ".to_owned()),
        Just(" AND NOT ".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("'".to_owned()),
        Just(":".to_owned()),
        Just("^".to_owned()),
        Just("-".to_owned()),
        Just("\\".to_owned()),
        Just("&|!<->".to_owned()),
        Just("chaise".to_owned()),
        Just("bureau".to_owned()),
        "[\\x00-\\x1f]".prop_map(|c| c),
        "\\PC{1,6}".prop_map(|t| t),
    ];
    prop::collection::vec(piece, 1..8).prop_map(|pieces| pieces.concat())
}

fn json_bodies() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "\\PC{0,20}".prop_map(Value::from),
    ];
    let value = leaf.prop_recursive(2, 16, 4, |inner| {
        prop::collection::btree_map(
            prop::sample::select(vec![
                "forceRefresh",
                "limit",
                "cursor",
                "_model",
                "_id",
                "id",
                "write_date",
                "x",
            ]),
            inner,
            0..4,
        )
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
    });
    prop_oneof![
        value.prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// Runs `property` on generated inputs from inside a tokio test.
fn check<S: Strategy>(
    strategy: S,
    cases: u32,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(Config::with_cases(cases));
    let outcome = tokio::task::block_in_place(|| runner.run(&strategy, property));
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

fn no_server_error(status: u16, body: &str, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(status < 500, "{what}: HTTP {status}: {body}");
    if status >= 400 {
        let error: Value = serde_json::from_str(body)
            .map_err(|e| TestCaseError::fail(format!("{what}: {e}: {body}")))?;
        prop_assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    }
    Ok(())
}

async fn attack(app: &TestApp, server: &TestServer) {
    let handle = tokio::runtime::Handle::current();
    let before: BTreeMap<i64, Value> = app.export().await;
    let http = reqwest::Client::new();
    check(search_queries(), 64, |q| {
        let (status, body) = handle.block_on(async {
            let answer = http
                .get(format!("{}/api/products", server.url))
                .query(&[("q", q.as_str()), ("limit", "5")])
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        });
        no_server_error(status, &body, &format!("q={q:?}"))
    });
    check(search_queries(), 32, |sku| {
        let mut url = reqwest::Url::parse(&server.url).unwrap();
        url.path_segments_mut()
            .unwrap()
            .extend(["api", "products", "by-sku", sku.as_str()]);
        let (status, body) = handle.block_on(async {
            let answer = http.get(url).send().await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        });
        no_server_error(status, &body, &format!("sku={sku:?}"))
    });
    let hook = format!(
        "{}/api/products/sync/webhook?token={WEBHOOK_SECRET}&event=unlink",
        server.url
    );
    check(json_bodies(), 64, |body| {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let (status, text) = handle.block_on(async {
            let answer = http
                .post(&hook)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        });
        no_server_error(status, &text, &format!("webhook {shown}"))
    });
    // Sync bodies: refused ones start nothing; a valid one may run, and changes nothing here
    // since Odoo did not change.
    check(json_bodies(), 48, |body| {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let (status, text) = handle.block_on(async {
            let answer = server
                // The JSON content type set here, then the fuzzed bytes as the body.
                .admin_post("/api/products/sync", Value::Null)
                .body(body)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        });
        no_server_error(status, &text, &format!("sync {shown}"))
    });
    server.wait_for_idle().await;
    let after = app.export().await;
    assert_eq!(after.len(), before.len(), "no product appeared or vanished");
    for (id, product) in &before {
        assert_eq!(after[id]["name"], product["name"], "product {id}");
        assert_eq!(
            after[id]["list_price"], product["list_price"],
            "product {id}"
        );
    }
}

async fn served(app: &TestApp) -> TestServer {
    app.cli_ok(&["sync", "--full"]).await;
    app.serve(&[("WEBHOOK_SECRET", WEBHOOK_SECRET)]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn fuzzed_queries_and_bodies_get_4xx_never_5xx_and_change_nothing_on_sqlite() {
    let app = spawn_app(60).await;
    let server = served(&app).await;
    attack(&app, &server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fuzzed_queries_and_bodies_get_4xx_never_5xx_and_change_nothing_on_postgresql() {
    let app = spawn_app_with_postgres(60).await;
    let server = served(&app).await;
    attack(&app, &server).await;
    server.stop().await;
}
