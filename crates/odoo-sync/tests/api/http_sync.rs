//! The sync API over HTTP: the progressive loop a serverless caller drives, one run at a time,
//! malformed requests, live progress, and a graceful stop that resumes.

use serde_json::{json, Value};

use crate::helpers::{assert_same_catalog, sleep_ms, spawn_app};
use crate::odoo_state::expected_catalog;

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_looping_with_limit_and_cursor_until_done_ends_equal_to_odoo() {
    let app = spawn_app(1_000).await;
    let server = app.serve(&[]).await;
    let mut body = json!({"forceRefresh": true, "limit": 300});
    let mut steps = 0;
    loop {
        let answer = server
            .admin_post("/api/products/sync", body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let step: Value = answer.json().await.unwrap();
        steps += 1;
        assert_eq!(step["total"], 1000, "{step}");
        if step["done"] == true {
            assert_eq!(step["processed"], 1000);
            assert!(step["nextCursor"].is_null());
            break;
        }
        assert!(steps < 10, "never done: {step}");
        body = json!({"forceRefresh": true, "limit": 300, "cursor": step["nextCursor"]});
    }
    assert_eq!(steps, 4);
    // The finished run's last cursor is stale: a 409 that says no run is going.
    let stale = server
        .admin_post(
            "/api/products/sync",
            json!({"limit": 300, "cursor": body["cursor"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 409);
    let error: Value = stale.json().await.unwrap();
    assert_eq!(error["error"]["code"], "stale_cursor", "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.ends_with("but no run is running"), "{message}");
    let odoo = app.odoo().await;
    assert_same_catalog(
        &app.export().await,
        &expected_catalog(odoo.as_ref(), &["fr_FR"]).await,
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_while_one_is_going_gets_409_with_the_running_id() {
    let app = spawn_app(600).await;
    app.set_faults(odoo_sim::Faults {
        latency_ms: 100,
        ..Default::default()
    });
    let server = app.serve(&[("SYNC_BATCH_SIZE", "50")]).await;
    let started = server
        .admin_post("/api/products/sync", json!({"forceRefresh": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let run_id = started.json::<Value>().await.unwrap()["runId"].clone();
    let second = server
        .admin_post("/api/products/sync", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 409);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "run_in_progress");
    assert_eq!(body["error"]["runId"], run_id);
    let step = server
        .admin_post("/api/products/sync", json!({"limit": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(step.status(), 409);
    app.set_faults(odoo_sim::Faults::default());
    let last = server.wait_for_idle().await;
    assert_eq!(last["status"], "succeeded", "{last}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_sync_requests_get_a_4xx_naming_the_problem_and_change_nothing() {
    let app = spawn_app(40).await;
    app.cli_ok(&["sync", "--full"]).await;
    let before = app.export().await;
    let server = app.serve(&[]).await;
    let url = format!("{}/api/products/sync", server.url);
    let cases: Vec<(reqwest::RequestBuilder, &str)> = vec![
        (server.http.post(&url).body("{not json"), "request body"),
        (
            server
                .http
                .post(&url)
                .json(&json!({"forceRefresh": true, "limt": 5})),
            "limt",
        ),
        (
            server.http.post(&url).json(&json!({"forceRefresh": "yes"})),
            "forceRefresh",
        ),
        (server.http.post(&url).json(&json!({"limit": 0})), "limit"),
        (
            server
                .http
                .post(&url)
                .json(&json!({"limit": 10, "cursor": "forged!"})),
            "cursor",
        ),
        (
            server.http.post(&url).json(&json!({"cursor": "abc"})),
            "cursor",
        ),
        (
            server.http.post(&url).body(vec![b' '; 100_000]),
            "larger than",
        ),
    ];
    for (request, named) in cases {
        let answer = request
            .bearer_auth(crate::helpers::ADMIN_TOKEN)
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let body: Value = answer.json().await.unwrap();
        assert!(status.is_client_error(), "{status} {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(named),
            "message should name {named}: {body}"
        );
    }
    let runs: Value = server
        .admin_get("/api/products/sync/runs")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        runs["runs"].as_array().unwrap().len(),
        1,
        "no bad request started a run: {runs}"
    );
    assert_eq!(app.export().await, before);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_streams_over_sse_until_the_run_is_done() {
    let app = spawn_app(400).await;
    app.set_faults(odoo_sim::Faults {
        latency_ms: 30,
        ..Default::default()
    });
    let server = app.serve(&[("SYNC_BATCH_SIZE", "50")]).await;
    let ticket = stream_ticket(&server).await;
    let stream = format!("/api/products/sync/events?ticket={ticket}");
    let mut events = server.get(&stream).send().await.unwrap();
    assert_eq!(events.status(), 200);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    server
        .admin_post("/api/products/sync", json!({"forceRefresh": true}))
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !text.contains("event: done") {
        match tokio::time::timeout_at(deadline, events.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("the stream ended or stalled ({other:?}) before `done`; got:\n{text}"),
        }
    }
    let progress: Vec<Value> = text
        .split("\n\n")
        .filter(|e| e.contains("event: progress"))
        .filter_map(|e| {
            e.lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(|d| serde_json::from_str(d).unwrap())
        })
        .collect();
    assert!(progress.len() >= 3, "one progress event per batch: {text}");
    assert!(progress
        .windows(2)
        .all(|w| w[0]["processed"].as_u64() <= w[1]["processed"].as_u64()));
    assert!(progress
        .iter()
        .any(|p| p["total"] == 400 && p["ratePerSec"].is_number()));
    let reused = server.get(&stream).send().await.unwrap();
    assert_eq!(reused.status(), 401);
    let reused: Value = reused.json().await.unwrap();
    assert_eq!(reused["error"]["code"], "ticket_refused");
    assert!(reused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already used"));
    for (query, code) in [
        ("ticket=st1.1.forged.c2ln", "ticket_refused"),
        ("ticket=", "ticket_refused"),
    ] {
        let refused = server
            .get(&format!("/api/products/sync/events?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401, "{query}");
        assert_eq!(
            refused.json::<Value>().await.unwrap()["error"]["code"],
            code
        );
    }
    // Not even the right admin token is taken from a URL, where proxies would log it.
    let token = crate::helpers::ADMIN_TOKEN;
    let in_url = server
        .get(&format!("/api/products/sync/events?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(in_url.status(), 401);
    let message = in_url.json::<Value>().await.unwrap()["error"]["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("not accepted in the URL"),
        "{message}"
    );
    // A ticket is bought with the token in a header, never without.
    let unpaid = reqwest::Client::new()
        .post(format!("{}/api/products/sync/events/ticket", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unpaid.status(), 401);
    server.stop().await;
}

async fn stream_ticket(server: &crate::helpers::TestServer) -> String {
    let answer = server
        .admin_post("/api/products/sync/events/ticket", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    assert!(body["expiresAt"].is_string(), "{body}");
    body["ticket"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_graceful_stop_during_a_run_commits_the_batch_and_the_run_resumes_after_restart() {
    let app = spawn_app(800).await;
    app.set_faults(odoo_sim::Faults {
        latency_ms: 80,
        ..Default::default()
    });
    let server = app
        .serve(&[
            ("SYNC_BATCH_SIZE", "50"),
            ("SYNC_FULL_BATCH_SIZE", "50"),
            ("SYNC_CONCURRENCY", "1"),
        ])
        .await;
    let started = server
        .admin_post("/api/products/sync", json!({"forceRefresh": true}))
        .send()
        .await
        .unwrap();
    let run_id = started.json::<Value>().await.unwrap()["runId"].clone();
    // Stopped once a batch is in, however slow the machine: a run interrupted mid-way.
    for _ in 0..200 {
        let status = server.sync_status().await;
        if status["current"]["processed"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        sleep_ms(50).await;
    }
    server.stop().await;

    let interrupted = app.last_run().await;
    assert_eq!(
        interrupted["status"], "running",
        "a stopped run stays resumable: {interrupted}"
    );
    let processed = interrupted["processed"].as_u64().unwrap();
    assert!(processed > 0 && processed < 800, "{interrupted}");
    assert_eq!(
        app.export().await.len() as u64,
        processed,
        "rows and cursor were committed together"
    );

    app.set_faults(odoo_sim::Faults::default());
    let server = app.serve(&[]).await;
    let resumed = server
        .admin_post("/api/products/sync", json!({"forceRefresh": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 202);
    assert_eq!(
        resumed.json::<Value>().await.unwrap()["runId"],
        run_id,
        "the same run goes on"
    );
    let last = server.wait_for_idle().await;
    assert_eq!(last["status"], "succeeded");
    assert_eq!(last["created"], 800, "{last}");
    let odoo = app.odoo().await;
    assert_same_catalog(
        &app.export().await,
        &expected_catalog(odoo.as_ref(), &["fr_FR"]).await,
    );
    server.stop().await;
}
