//! Every door, one table: each route with no credential, a wrong one, another role's, and the
//! right one, in the `Authorization` header and in the query string. Only the right credential,
//! where the route takes it, gets past the door; nothing else reaches a handler.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, ADMIN_TOKEN, CRON_SECRET};
use crate::webhooks::WEBHOOK_SECRET;

const CATALOG_TOKEN: &str = "door-site-token";
const METRICS_TOKEN: &str = "door-metrics-token";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Admin,
    Cron,
    Webhook,
    Catalog,
    Metrics,
}

fn secret(role: Role) -> &'static str {
    match role {
        Role::Admin => ADMIN_TOKEN,
        Role::Cron => CRON_SECRET,
        Role::Webhook => WEBHOOK_SECRET,
        Role::Catalog => CATALOG_TOKEN,
        Role::Metrics => METRICS_TOKEN,
    }
}

/// A route, the roles it lets in, and whether it takes its secret in the query too.
struct Door {
    method: Method,
    path: &'static str,
    roles: &'static [Role],
    query_param: Option<&'static str>,
}

const fn door(
    method: Method,
    path: &'static str,
    roles: &'static [Role],
    query_param: Option<&'static str>,
) -> Door {
    Door {
        method,
        path,
        roles,
        query_param,
    }
}

fn doors() -> Vec<Door> {
    use Role::*;
    const READERS: &[Role] = &[Admin, Catalog];
    vec![
        door(Method::GET, "/api/products", READERS, None),
        door(Method::GET, "/api/products/1", READERS, None),
        door(Method::GET, "/api/products/by-sku/X", READERS, None),
        door(Method::GET, "/api/categories", READERS, None),
        door(Method::GET, "/api/changes", READERS, None),
        door(Method::GET, "/api/products/sync/status", &[Admin], None),
        door(Method::GET, "/api/products/sync/runs", &[Admin], None),
        door(Method::GET, "/api/products/sync/webhooks", &[Admin], None),
        door(
            Method::POST,
            "/api/products/sync/webhooks/1/retry",
            &[Admin],
            None,
        ),
        door(
            Method::POST,
            "/api/products/sync/events/ticket",
            &[Admin],
            None,
        ),
        door(Method::POST, "/api/products/sync", &[Admin], None),
        door(Method::GET, "/api/cron/sync", &[Cron], None),
        door(Method::POST, "/api/cron/sync", &[Cron], None),
        door(
            Method::POST,
            "/api/products/sync/webhook",
            &[Webhook],
            Some("token"),
        ),
        door(Method::GET, "/metrics", &[Metrics], None),
        door(Method::GET, "/api/public-categories", READERS, None),
        door(Method::GET, "/api/pricelists", READERS, None),
        door(
            Method::GET,
            "/api/images/0000000000000000000000000000000000000000000000000000000000000000",
            READERS,
            None,
        ),
        door(Method::GET, "/api/site-webhooks", &[Admin], None),
        door(Method::POST, "/api/site-webhooks/1/replay", &[Admin], None),
    ]
}

/// Routes anyone may call: the health probes, the document itself, the SSE stream (its ticket
/// is the credential, see `http_sync`).
const OPEN: &[&str] = &[
    "/healthz",
    "/readyz",
    "/api/openapi.json",
    "/api/products/sync/events",
];

/// Whether the concrete `path` is an instance of the OpenAPI `template` (`/api/products/{id}`).
fn instance_of(path: &str, template: &str) -> bool {
    let (parts, templates): (Vec<&str>, Vec<&str>) =
        (path.split('/').collect(), template.split('/').collect());
    parts.len() == templates.len()
        && parts
            .iter()
            .zip(&templates)
            .all(|(part, template)| template.starts_with('{') || part == template)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_of_the_openapi_document_has_a_door_in_the_table() {
    let app = spawn_app(1).await;
    let document: serde_json::Value =
        serde_json::from_str(&app.cli_ok(&["openapi"]).await).unwrap();
    let doors = doors();
    let mut missing = Vec::new();
    for (template, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let known = doors
                .iter()
                .any(|d| d.method == method && instance_of(d.path, template));
            if !known && !OPEN.contains(&template.as_str()) {
                missing.push(format!("{method} {template}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes with no door in the table: {missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_right_credential_opens_each_door_in_the_header_or_where_allowed_the_query() {
    let mut app = spawn_app(10).await;
    app.env
        .insert("WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
    app.cli_ok(&["sync", "--full"]).await;
    let server = app
        .serve(&[
            ("CATALOG_PUBLIC", "false"),
            ("CATALOG_TOKEN", CATALOG_TOKEN),
            ("METRICS_TOKEN", METRICS_TOKEN),
        ])
        .await;
    let all = [
        Role::Admin,
        Role::Cron,
        Role::Webhook,
        Role::Catalog,
        Role::Metrics,
    ];
    let mut failures = Vec::new();
    for door in doors() {
        let mut attempts: Vec<(String, Option<&str>, Option<&str>, bool)> = vec![
            ("none".into(), None, None, false),
            ("wrong in header".into(), Some("wrong"), None, false),
            ("wrong in query".into(), None, Some("wrong"), false),
        ];
        for role in all {
            let opens = door.roles.contains(&role);
            attempts.push((
                format!("{role:?} in header"),
                Some(secret(role)),
                None,
                opens,
            ));
            // A secret in the URL opens only the door made for callers that cannot send headers.
            let in_query = opens && door.query_param.is_some();
            attempts.push((
                format!("{role:?} in query"),
                None,
                Some(secret(role)),
                in_query,
            ));
        }
        for (what, header, query, opens) in attempts {
            let param = door.query_param.unwrap_or("token");
            let url = match query {
                Some(value) => format!("{}{}?{param}={value}", server.url, door.path),
                None => format!("{}{}", server.url, door.path),
            };
            let mut request = server.http.request(door.method.clone(), url);
            if let Some(token) = header {
                request = match door.query_param {
                    Some(_) => request.header("x-webhook-token", token),
                    None => request.bearer_auth(token),
                };
            }
            if door.method == Method::POST {
                request = request.json(&json!({"_model": "product.template", "_id": 1, "id": 1}));
            }
            let status = request.send().await.unwrap().status().as_u16();
            // Past the door a route may still refuse the request (a 4xx of its own, 409 when a
            // run is going), but never with 401.
            let passed = status != 401;
            if passed != opens {
                failures.push(format!(
                    "{} {} with {what}: {status}",
                    door.method, door.path
                ));
            }
        }
        server.wait_for_idle().await;
    }
    assert!(
        failures.is_empty(),
        "doors that did not hold:\n{}",
        failures.join("\n")
    );
    server.stop().await;
}
