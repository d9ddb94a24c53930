//! No secret leaks: a whole scenario (syncs, status, a served instance driven through every door
//! with right and wrong credentials, Odoo failing) runs with `RUST_LOG=trace`; everything it
//! printed, logged or answered is searched for every secret.

use std::process::Stdio;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::helpers::{spawn_app_on, TestApp};

const SECRETS: &[(&str, &str)] = &[
    ("ADMIN_TOKEN", "adm-7f3c9e1b2d"),
    ("ADMIN_TOKEN_PREVIOUS", "adm-old-5a8e4c"),
    ("CRON_SECRET", "cron-91d0be77aa"),
    ("WEBHOOK_SECRET", "hook-3b6f20c4e9"),
    ("CATALOG_TOKEN", "site-c0ffee4242"),
    ("CURSOR_SECRET", "cursor-8d1e5f0a7b"),
];

fn traced(app: &TestApp, args: &[&str]) -> tokio::process::Command {
    let mut command = app.command(args);
    command.env("RUST_LOG", "trace");
    for (key, value) in SECRETS {
        command.env(key, value);
    }
    command.env("CATALOG_PUBLIC", "false");
    command
}

async fn run_traced(app: &TestApp, args: &[&str], seen: &mut String) {
    let output = traced(app, args).output().await.unwrap();
    seen.push_str(&String::from_utf8_lossy(&output.stdout));
    seen.push_str(&String::from_utf8_lossy(&output.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_a_log_line_an_answer_or_the_status_output() {
    // Odoo 19 with an API key: the key is a distinctive secret (the password is the sim's "admin").
    let app = spawn_app_on(40, 19).await;
    let api_key = app.env["ODOO_API_KEY"].clone();
    let mut seen = String::new();
    run_traced(&app, &["sync", "--full"], &mut seen).await;
    run_traced(&app, &["sync", "--incremental"], &mut seen).await;
    for args in [&["status"][..], &["status", "--json"], &["odoo", "check"]] {
        run_traced(&app, args, &mut seen).await;
    }

    let mut serve = traced(&app, &["serve"]);
    serve
        .env("BIND", "127.0.0.1:0")
        .env("SYNC_SCHEDULE", "off")
        .env("SYNC_FULL_SCHEDULE", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = serve.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut announce = String::new();
    stdout.read_line(&mut announce).await.unwrap();
    seen.push_str(&announce);
    let base = announce
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {announce:?}"))
        .to_owned();
    let mut stderr = child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.unwrap();
        text
    });

    let http = reqwest::Client::new();
    let secret = |key: &str| SECRETS.iter().find(|(k, _)| *k == key).unwrap().1;
    let admin = secret("ADMIN_TOKEN");
    let mut answers = Vec::new();
    let credentials = [
        None,
        Some("wrong"),
        Some(admin),
        Some(secret("CRON_SECRET")),
    ];
    for path in [
        "/readyz",
        "/healthz",
        "/api/openapi.json",
        "/admin",
        "/admin/admin.js",
        "/api/products?limit=5",
        "/api/categories",
        "/api/changes",
        "/api/products/sync/status",
        "/api/products/sync/runs",
        "/api/products/sync/webhooks",
        "/api/cron/sync",
        "/no/such/route",
    ] {
        for credential in credentials {
            let mut request = http.get(format!("{base}{path}"));
            if let Some(token) = credential {
                request = request.bearer_auth(token);
            }
            answers.push(request.send().await.unwrap());
        }
    }
    let hook = format!(
        "{base}/api/products/sync/webhook?token={}",
        secret("WEBHOOK_SECRET")
    );
    let event = json!({"_model": "product.template", "_id": 1, "id": 1});
    answers.push(http.post(&hook).json(&event).send().await.unwrap());
    answers.push(
        http.post(format!("{base}/api/products/sync/webhook?token=wrong"))
            .json(&event)
            .send()
            .await
            .unwrap(),
    );
    let sync_step = || {
        http.post(format!("{base}/api/products/sync"))
            .bearer_auth(admin)
            .json(&json!({"forceRefresh": true, "limit": 10}))
            .send()
    };
    answers.push(sync_step().await.unwrap());
    answers.push(
        http.post(format!("{base}/api/products/sync/events/ticket"))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap(),
    );
    let stream = format!("{base}/api/products/sync/events?token={admin}");
    answers.push(http.get(&stream).send().await.unwrap());
    // Odoo failing: the 502 and the logged cause.
    app.set_faults(odoo_sim::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    answers.push(sync_step().await.unwrap());
    for answer in answers {
        seen.push_str(&format!("{:?}\n", answer.headers()));
        seen.push_str(&answer.text().await.unwrap_or_default());
    }
    app.set_faults(odoo_sim::Faults::default());
    run_traced(&app, &["status"], &mut seen).await;

    nix_terminate(&child);
    child.wait().await.unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.unwrap();
    seen.push_str(&rest);
    let logs = logs.await.unwrap();
    assert!(
        logs.contains("TRACE") || logs.contains("trace"),
        "trace logs were captured"
    );
    seen.push_str(&logs);

    let mut leaks = Vec::new();
    for (key, value) in SECRETS
        .iter()
        .copied()
        .chain([("ODOO_API_KEY", api_key.as_str())])
    {
        if let Some(at) = seen.find(value) {
            let start = seen[..at]
                .char_indices()
                .rev()
                .nth(200)
                .map_or(0, |(i, _)| i);
            leaks.push(format!(
                "{key} in: …{}…",
                &seen[start..(at + value.len()).min(seen.len())]
            ));
        }
    }
    assert!(
        leaks.is_empty(),
        "{} characters searched; leaks:\n{}",
        seen.len(),
        leaks.join("\n\n")
    );
}

/// SIGTERM, so that the server shuts down as in production and flushes its logs.
fn nix_terminate(child: &tokio::process::Child) {
    let pid = child.id().expect("running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
