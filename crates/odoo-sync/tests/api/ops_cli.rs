//! The commands made for operations: `openapi` (the document without a server, for the
//! TypeScript client) and `healthcheck` (the container's probe, in an image without curl).

use serde_json::Value;

use crate::helpers::{describe, spawn_app};

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_command_prints_the_document_the_server_serves_without_any_config() {
    let app = spawn_app(3).await;
    let server = app.serve(&[]).await;
    let served = server.json("/api/openapi.json").await;
    // No ODOO_* nor DATABASE_URL: the document needs none.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_odoo-sync"))
        .arg("openapi")
        .env_clear()
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let printed: Value = serde_json::from_slice(&output.stdout).expect("the output is JSON");
    assert_eq!(printed, served);
    assert!(printed["paths"]["/metrics"]["get"].is_object());
    // Query parameters are declared as such (typed clients build URLs from them).
    let list = &printed["paths"]["/api/products"]["get"]["parameters"];
    let limit = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit");
    assert_eq!(limit.unwrap()["in"], "query", "{list}");
    let by_id = &printed["paths"]["/api/products/{id}"]["get"]["parameters"];
    for parameter in by_id.as_array().unwrap() {
        let expected = if parameter["name"] == "id" {
            "path"
        } else {
            "query"
        };
        assert_eq!(parameter["in"], expected, "{parameter}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_succeeds_against_a_running_server_and_fails_naming_the_url_otherwise() {
    let app = spawn_app(3).await;
    let server = app.serve(&[]).await;
    app.cli_ok(&["healthcheck", "--url", &server.url]).await;
    let url = server.url.clone();
    server.stop().await;
    let output = app.cli(&["healthcheck", "--url", &url]).await;
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("GET {url}/healthz")), "{stderr}");
}
