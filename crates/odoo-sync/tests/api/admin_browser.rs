//! The admin page in a real browser: headless Chromium logs in, clicks "Synchroniser" on a
//! 20,000-product catalog, watches the progress bar move and the run end, and saves a screenshot;
//! and it shows the site notifications that failed for good, each with a button to send it again.

use std::process::Stdio;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{sleep_ms, spawn_app, ADMIN_TOKEN};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

async fn start_chromedriver() -> (tokio::process::Child, u16) {
    assert!(
        std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists(),
        "the browser test needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver (scripts/test does it)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (child, port);
        }
        sleep_ms(100).await;
    }
    panic!("chromedriver did not listen on {port}");
}

async fn browser(port: u16) -> fantoccini::Client {
    let profile = tempfile::tempdir().unwrap().keep();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_string(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1280,1000", "--lang=fr-FR", format!("--user-data-dir={}", profile.display())],
            "prefs": {"intl.accept_languages": "fr-FR,fr"}
        }),
    );
    // Plain HTTP to the local chromedriver: no TLS stack needed.
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("webdriver session")
}

async fn attribute(client: &fantoccini::Client, testid: &str, name: &str) -> Option<String> {
    let element = client
        .find(Locator::Css(&format!("[data-testid='{testid}']")))
        .await
        .ok()?;
    element.attr(name).await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_logs_in_clicks_synchroniser_and_watches_the_whole_run_end() {
    let app = spawn_app(20_000).await;
    app.set_faults(odoo_sim::Faults {
        latency_ms: 20,
        ..Default::default()
    });
    let server = app.serve(&[]).await;
    let (_driver, port) = start_chromedriver().await;
    let client = browser(port).await;

    client.goto(&format!("{}/admin", server.url)).await.unwrap();
    let token = client
        .wait()
        .for_element(Locator::Css("[data-testid='token-input']"))
        .await
        .unwrap();
    token.send_keys(ADMIN_TOKEN).await.unwrap();
    client
        .find(Locator::Css("[data-testid='login-button']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let button = client
        .wait()
        .for_element(Locator::Css("[data-testid='sync-button']"))
        .await
        .unwrap();
    assert_eq!(
        button.text().await.unwrap().trim(),
        "Synchroniser",
        "a French browser gets the French page"
    );
    button.click().await.unwrap();

    let mut seen_progress = Vec::new();
    let mut status = String::new();
    // Over SSE, opened with a stream ticket, under the page's Content-Security-Policy.
    let mut followed_live = false;
    for _ in 0..1200 {
        if let Some(now) = attribute(&client, "progress-bar", "aria-valuenow").await {
            if seen_progress.last() != Some(&now) {
                seen_progress.push(now);
            }
        }
        if let Ok(live) = client.find(Locator::Css("#live-mode-text")).await {
            followed_live |= live.text().await.unwrap_or_default() == "En direct";
        }
        status = attribute(&client, "run-status", "data-status")
            .await
            .unwrap_or_default();
        if status == "succeeded" || status == "failed" {
            break;
        }
        sleep_ms(100).await;
    }
    let screenshot = client.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("admin-after-sync.png");
    std::fs::write(&path, screenshot).unwrap();
    eprintln!("screenshot: {}", path.display());
    client.close().await.unwrap();

    assert_eq!(
        status, "succeeded",
        "the run should end well; progress seen: {seen_progress:?}"
    );
    assert!(
        followed_live,
        "the page followed the run over SSE, not by polling"
    );
    let moving: Vec<f64> = seen_progress
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    assert!(
        moving.iter().any(|v| *v > 0.0 && *v < 100.0),
        "the bar should be seen moving: {seen_progress:?}"
    );
    let last = app.last_run().await;
    assert_eq!(last["counts"]["created"], 20_000, "{last}");
    assert_eq!(last["trigger"], "api");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_sees_failed_site_notifications_and_sends_one_again() {
    let mut app = spawn_app(10).await;
    // Nothing listens on the discard port: every delivery is refused, then failed for good.
    for (key, value) in [
        ("SITE_WEBHOOK_URLS", "http://127.0.0.1:9/api/revalidate"),
        (
            "SITE_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
        ("SITE_WEBHOOK_RETRY_DELAYS", "10ms"),
    ] {
        app.env.insert(key.into(), value.into());
    }
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[]).await;
    // Every delivery ends failed before the page is read: the count it shows is then final.
    let deliveries = |status: &'static str| {
        let request = server.admin_get(&format!("/api/site-webhooks?status={status}"));
        async move {
            let list: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
            list["deliveries"].as_array().unwrap().clone()
        }
    };
    let mut failed = Vec::new();
    for _ in 0..600 {
        failed = deliveries("failed").await;
        if !failed.is_empty() && deliveries("pending").await.is_empty() {
            break;
        }
        sleep_ms(100).await;
    }
    assert!(!failed.is_empty(), "the refused deliveries end failed");
    assert!(
        deliveries("pending").await.is_empty(),
        "deliveries still pending"
    );
    let (_driver, port) = start_chromedriver().await;
    let client = browser(port).await;
    client.goto(&format!("{}/admin", server.url)).await.unwrap();
    client
        .wait()
        .for_element(Locator::Css("[data-testid='token-input']"))
        .await
        .unwrap()
        .send_keys(ADMIN_TOKEN)
        .await
        .unwrap();
    client
        .find(Locator::Css("[data-testid='login-button']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let replay = client
        .wait()
        .for_element(Locator::Css("[data-testid='site-webhook-replay']"))
        .await
        .unwrap();
    let count = client
        .find(Locator::Css("[data-testid='site-webhooks-count']"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(count, failed.len().to_string());
    let id = replay.attr("data-id").await.unwrap().unwrap();
    replay.click().await.unwrap();
    let notice = client
        .wait()
        .for_element(Locator::Css("[data-testid='sync-notice']:not([hidden])"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    client.close().await.unwrap();
    assert_eq!(notice, format!("Notification n° {id} renvoyée."));
    server.stop().await;
}
