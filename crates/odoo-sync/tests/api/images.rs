//! Images end to end: synced by checksum from the simulator's ir.attachment, served by
//! `/api/images/{hash}`, changed and removed in Odoo, and bad input.

use std::time::Duration;

use base64::Engine as _;
use odoo_rpc::{Context, Domain, SearchOptions};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{spawn_app, spawn_app_with_postgres, TestApp, TestServer};
use crate::webhooks::{real_time_app, within};

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A PNG the generated catalog does not have.
fn new_png(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(80, 60, |x, y| image::Rgb([seed, x as u8, y as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn set_image(app: &TestApp, template: i64, bytes: Option<&[u8]>) {
    let value = match bytes {
        Some(b) => json!(base64::engine::general_purpose::STANDARD.encode(b)),
        None => json!(false),
    };
    let mut vals = Map::new();
    vals.insert("image_1920".into(), value);
    app.odoo()
        .await
        .write("product.template", &[template], vals, &Context::default())
        .await
        .unwrap();
}

/// A template with an image of its own in the simulator.
async fn template_with_image(app: &TestApp, offset: u32) -> i64 {
    let domain = Domain::leaf("res_model", "=", "product.template").and(Domain::leaf(
        "res_field",
        "=",
        "image_1920",
    ));
    let options = SearchOptions {
        offset: Some(offset),
        limit: Some(1),
        order: Some("res_id".into()),
        ..Default::default()
    };
    let found = app
        .odoo()
        .await
        .search_read("ir.attachment", &domain, &["res_id"], &options)
        .await
        .unwrap();
    found[0].get_i64("res_id").unwrap()
}

/// Every image URL of every product and variant in the API, paging through it all.
async fn all_image_urls(server: &TestServer) -> Vec<String> {
    let mut urls = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/products?limit=100&include_inactive=true&cursor={c}"),
            None => "/api/products?limit=100&include_inactive=true".to_string(),
        };
        let page = server.json(&path).await;
        for product in page["products"].as_array().unwrap() {
            let mut images: Vec<&Value> = product["images"].as_array().unwrap().iter().collect();
            for variant in product["variants"].as_array().unwrap() {
                images.extend(variant["images"].as_array().unwrap());
            }
            for image in images {
                urls.push(image["url"].as_str().unwrap().to_string());
            }
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return urls,
        }
    }
}

async fn assert_every_image_fetches(server: &TestServer, urls: &[String]) {
    for url in urls {
        let response = server.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            kind == "image/png" || kind == "image/jpeg",
            "{url}: original format without Accept: image/webp, got {kind}"
        );
        let bytes = response.bytes().await.unwrap();
        let format = image::guess_format(&bytes).unwrap();
        assert_eq!(format.to_mime_type(), kind, "{url}");
        assert_eq!(
            format!("/api/images/{}", sha256(&bytes)),
            *url,
            "the bytes' hash names them"
        );
    }
}

async fn product(server: &TestServer, id: i64) -> Value {
    server.json(&format!("/api/products/{id}")).await
}

#[tokio::test]
async fn a_full_sync_of_2000_products_serves_every_image_by_its_hash_and_a_second_full_sync_fetches_none(
) {
    let app = spawn_app(2000).await;
    app.cli_ok(&["sync", "--full"]).await;
    let first = app.last_run().await;
    let fetched = first["counts"]["images_fetched"].as_u64().unwrap();
    assert!(fetched > 1000, "most products have images: {first}");
    let server = app.serve(&[]).await;
    let urls = all_image_urls(&server).await;
    assert_eq!(urls.len() as u64, fetched, "one image per fetched checksum");
    assert_every_image_fetches(&server, &urls).await;

    let summary = app.cli_ok(&["sync", "--full"]).await;
    let second = app.last_run().await;
    assert_eq!(second["counts"]["images_fetched"], 0, "{summary}");
    assert_eq!(second["counts"]["images_unchanged"], fetched);
    let runs = server
        .admin_get("/api/products/sync/runs")
        .send()
        .await
        .unwrap();
    let runs: Value = runs.json().await.unwrap();
    assert_eq!(runs["runs"][0]["imagesFetched"], 0, "{runs}");
    server.stop().await;
}

/// Pages are read ahead of the writer; a read left waiting for room once held an Odoo permit,
/// and a run of more pages than fit ahead hung in the writer's image pass.
#[tokio::test]
async fn a_full_sync_of_many_more_pages_than_are_read_ahead_ends_with_every_image() {
    let mut app = spawn_app(600).await;
    app.env.insert("SYNC_FULL_BATCH_SIZE".into(), "25".into());
    app.set_faults(odoo_sim::Faults {
        latency_ms: 5,
        ..Default::default()
    });
    let run = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        app.cli_ok(&["sync", "--full"]),
    )
    .await;
    assert!(run.is_ok(), "24 pages with images must not hang");
    let last = app.last_run().await;
    assert_eq!(last["counts"]["created"], 600, "{last}");
    assert!(
        last["counts"]["images_fetched"].as_u64().unwrap() > 300,
        "{last}"
    );
}

#[tokio::test]
async fn a_large_image_is_served_at_snapped_widths_as_webp_when_accepted_with_an_immutable_etag() {
    let app = spawn_app(100).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[]).await;
    // Every 50th generated template's image is 600×400 (when it has one).
    let shown = product(&server, 100).await;
    let image = &shown["images"][0];
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(600), Some(400)),
        "{shown}"
    );
    let url = image["url"].as_str().unwrap();
    let small = server
        .get(&format!("{url}?w=200"))
        .header("accept", "image/avif,image/webp,*/*")
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
    assert_eq!(small.headers()["content-type"], "image/webp");
    assert_eq!(
        small.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = small.headers()["etag"].to_str().unwrap().to_string();
    let decoded = image::load_from_memory(&small.bytes().await.unwrap()).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (256, 170),
        "snapped up to 256"
    );
    let again = server
        .get(&format!("{url}?w=200"))
        .header("accept", "image/webp")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let huge = server.get(&format!("{url}?w=4000")).send().await.unwrap();
    let decoded = image::load_from_memory(&huge.bytes().await.unwrap()).unwrap();
    assert_eq!(decoded.width(), 600, "never upscaled");
    server.stop().await;
}

#[tokio::test]
async fn an_image_changed_in_odoo_is_fetched_once_by_the_next_incremental_run_and_a_removed_one_leaves_the_api(
) {
    let app = spawn_app(50).await;
    app.cli_ok(&["sync", "--full"]).await;
    let changed = template_with_image(&app, 0).await;
    let removed = template_with_image(&app, 1).await;
    let bytes = new_png(7);
    set_image(&app, changed, Some(&bytes)).await;
    set_image(&app, removed, None).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.cli_ok(&["sync"]).await;
    let run = app.last_run().await;
    assert_eq!(run["mode"], "incremental");
    assert_eq!(run["counts"]["images_fetched"], 1, "{run}");
    let server = app.serve(&[]).await;
    let shown = product(&server, changed).await;
    assert_eq!(
        shown["images"][0]["url"],
        format!("/api/images/{}", sha256(&bytes))
    );
    assert_eq!(
        (
            shown["images"][0]["width"].as_u64(),
            shown["images"][0]["height"].as_u64()
        ),
        (Some(80), Some(60))
    );
    let gone = product(&server, removed).await;
    let name = gone["name"].clone();
    assert!(
        gone["images"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["alt"] != name),
        "the template image is gone (extra media stay): {gone}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_image_changed_in_odoo_reaches_the_api_by_webhook() {
    let (app, server) = real_time_app(30, &[]).await;
    let changed = template_with_image(&app, 0).await;
    let bytes = new_png(42);
    set_image(&app, changed, Some(&bytes)).await;
    let want = format!("/api/images/{}", sha256(&bytes));
    within(
        &server,
        &format!("/api/products/{changed}"),
        Duration::from_secs(10),
        |answer| answer["body"]["images"][0]["url"] == json!(want),
    )
    .await;
    let fetched = server.get(&want).send().await.unwrap();
    assert_eq!(fetched.status(), 200);
    server.stop().await;
}

/// Adds an extra image (`product.image`) to a template in Odoo and waits for the API to show it
/// last, with its name as alt; returns the template, the image's id and its URL.
async fn add_an_extra_image(
    app: &TestApp,
    server: &TestServer,
    wait: Duration,
) -> (i64, i64, String) {
    let template = template_with_image(app, 0).await;
    let bytes = new_png(77);
    let url = format!("/api/images/{}", sha256(&bytes));
    let mut vals = Map::new();
    vals.insert("product_tmpl_id".into(), json!(template));
    vals.insert("name".into(), json!("Side view"));
    vals.insert("sequence".into(), json!(99));
    vals.insert(
        "image_1920".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(&bytes)),
    );
    let created = app
        .odoo()
        .await
        .create("product.image", vec![vals], &Context::default())
        .await
        .unwrap();
    let path = format!("/api/products/{template}");
    within(server, &path, wait, |answer| shows_image(answer, &url)).await;
    let shown = product(server, template).await;
    let last = shown["images"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["url"].clone(), last["alt"].clone()),
        (json!(url), json!("Side view"))
    );
    assert_eq!(server.get(&url).send().await.unwrap().status(), 200);
    (template, created[0], url)
}

/// The change feed's token after everything already in it.
async fn latest_change_token(server: &TestServer) -> String {
    let mut path = "/api/changes".to_string();
    loop {
        let feed = server.json(&path).await;
        let token = feed["nextToken"].as_str().unwrap().to_string();
        if feed["hasMore"] == false {
            return token;
        }
        path = format!("/api/changes?since={token}");
    }
}

fn shows_image(answer: &Value, url: &str) -> bool {
    answer["body"]["images"]
        .as_array()
        .is_some_and(|images| images.iter().any(|i| i["url"] == json!(url)))
}

/// Extra media move no product's write_date: only their own rule tells.
#[tokio::test]
async fn an_extra_image_added_or_deleted_in_odoo_reaches_the_api_by_webhook() {
    let (app, server) = real_time_app(30, &[]).await;
    let token = latest_change_token(&server).await;
    let (template, extra, url) = add_an_extra_image(&app, &server, Duration::from_secs(10)).await;
    let feed = server.json(&format!("/api/changes?since={token}")).await;
    assert!(
        feed["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == json!(template) && c["action"] == "upsert"),
        "an image-only change is in the change feed: {feed}"
    );
    app.odoo()
        .await
        .unlink("product.image", &[extra], &Context::default())
        .await
        .unwrap();
    let path = format!("/api/products/{template}");
    within(&server, &path, Duration::from_secs(10), |answer| {
        answer["status"] == 200 && !shows_image(answer, &url)
    })
    .await;
    server.stop().await;
}

/// With no webhook at all, the sweep finds the extra image by its own write_date.
#[tokio::test]
async fn an_extra_image_added_in_odoo_reaches_the_api_by_the_sweep() {
    let app = spawn_app(30).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[("SYNC_SWEEP_INTERVAL", "1")]).await;
    add_an_extra_image(&app, &server, Duration::from_secs(30)).await;
    server.stop().await;
}

#[tokio::test]
async fn bytes_that_are_not_an_image_are_skipped_and_bad_image_requests_are_clear_4xx() {
    let app = spawn_app(20).await;
    let broken = template_with_image(&app, 0).await;
    set_image(&app, broken, Some(b"this is not an image at all")).await;
    let summary = app.cli_ok(&["sync", "--full"]).await;
    assert!(summary.contains("succeeded"), "{summary}");
    let server = app.serve(&[]).await;
    let shown = product(&server, broken).await;
    assert_eq!(
        shown["images"],
        json!([]),
        "the corrupt image is skipped: {shown}"
    );
    let some = all_image_urls(&server).await;
    let bad_width = server
        .get(&format!("{}?w=abc", some[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_width.status(), 400);
    let body: Value = bad_width.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_query", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("abc"));
    let unknown = server
        .get(&format!("/api/images/{}", "0".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let not_a_hash = server.get("/api/images/nope").send().await.unwrap();
    assert_eq!(not_a_hash.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn images_sync_and_serve_on_postgresql() {
    let app = spawn_app_with_postgres(100).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[]).await;
    let urls = all_image_urls(&server).await;
    assert!(!urls.is_empty());
    assert_every_image_fetches(&server, &urls).await;
    app.cli_ok(&["sync", "--full"]).await;
    assert_eq!(app.last_run().await["counts"]["images_fetched"], 0);
    server.stop().await;
}

/// The names in the image folder that belong to the blob `hash` (it and its resized copies).
fn files_of(app: &TestApp, hash: &str) -> Vec<String> {
    let folder = std::path::Path::new(&app.env["IMAGE_STORE"]);
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(hash))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_image_no_product_shows_any_more_is_deleted_with_its_copies_once_its_retention_is_over()
{
    let app = spawn_app(30).await;
    let template = template_with_image(&app, 0).await;
    let bytes = new_png(9);
    let hash = sha256(&bytes);
    set_image(&app, template, Some(&bytes)).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[]).await;
    let url = format!("/api/images/{hash}");
    let webp = server
        .get(&url)
        .header("accept", "image/webp")
        .send()
        .await
        .unwrap();
    assert_eq!(webp.status(), 200);
    assert_eq!(
        files_of(&app, &hash),
        [hash.clone(), format!("{hash}.w80.webp")]
    );
    let kept = template_with_image(&app, 1).await;
    let kept_url = product(&server, kept).await["images"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();

    set_image(&app, template, None).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.cli_ok(&["sync"]).await;
    // Within its retention (IMAGE_RETENTION_HOURS, 24 by default) an unused blob stays.
    let summary = app.cli_ok(&["images", "collect"]).await;
    assert!(
        summary.contains("0 unused image blob(s) deleted"),
        "{summary}"
    );
    assert_eq!(files_of(&app, &hash).len(), 2);
    let summary = app
        .cli_ok(&["images", "collect", "--unused-for-hours", "0"])
        .await;
    assert!(
        summary.contains("1 unused image blob(s) deleted"),
        "{summary}"
    );
    assert!(
        files_of(&app, &hash).is_empty(),
        "the original and its copy are gone"
    );
    assert_eq!(server.get(&url).send().await.unwrap().status(), 404);
    assert_eq!(
        server.get(&kept_url).send().await.unwrap().status(),
        200,
        "a shown image stays"
    );

    // Shown again in Odoo, it is fetched again.
    set_image(&app, template, Some(&bytes)).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.cli_ok(&["sync"]).await;
    assert_eq!(app.last_run().await["counts"]["images_fetched"], 1);
    assert_eq!(server.get(&url).send().await.unwrap().status(), 200);
    server.stop().await;
}
