//! The catalog API and the cross-cutting HTTP behaviour: routes, caching, search, cursors, auth.

use serde_json::{json, Value};

use odoo_rpc::Context;

use crate::helpers::{sleep_ms, spawn_app, ADMIN_TOKEN, CRON_SECRET};

#[tokio::test(flavor = "multi_thread")]
async fn every_catalog_route_answers_from_the_synced_store() {
    let app = spawn_app(120).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[]).await;

    assert_eq!(server.json("/healthz").await["status"], "ok");
    let ready = server.json("/readyz").await;
    assert_eq!(ready["ready"], true, "{ready}");

    let page = server.json("/api/products?limit=5").await;
    let products = page["products"].as_array().unwrap();
    assert_eq!(products.len(), 5);
    assert!(products.iter().all(|p| p["active"] == true));
    let names: Vec<&str> = products
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "sorted by name by default");

    let first = &products[0];
    let id = first["id"].as_i64().unwrap();
    let one = server.json(&format!("/api/products/{id}")).await;
    assert_eq!(one["id"], id);
    assert!(one["category"]["path"].is_string(), "{one}");
    if let Some(sku) = one["sku"].as_str() {
        assert_eq!(
            server.json(&format!("/api/products/by-sku/{sku}")).await["id"],
            id
        );
    }
    let french = server.json(&format!("/api/products/{id}?lang=fr_FR")).await;
    assert_eq!(french["name"], one["translations"]["fr_FR"]["name"]);

    let categories = server.json("/api/categories").await;
    let roots = categories["categories"].as_array().unwrap();
    assert!(!roots.is_empty());
    let total: u64 = roots
        .iter()
        .map(|c| c["totalProductCount"].as_u64().unwrap())
        .sum();
    let active = app
        .export()
        .await
        .values()
        .filter(|p| p["active"] == true)
        .count() as u64;
    assert_eq!(total, active, "root totals count every active product once");

    let openapi = server.json("/api/openapi.json").await;
    for path in [
        "/api/products",
        "/api/products/{id}",
        "/api/products/by-sku/{sku}",
        "/api/categories",
        "/api/changes",
        "/api/products/sync",
        "/api/products/sync/status",
        "/api/products/sync/runs",
        "/api/products/sync/events",
        "/api/cron/sync",
        "/metrics",
    ] {
        assert!(openapi["paths"][path].is_object(), "openapi lacks {path}");
    }

    let missing = server.get("/api/products/999999999").send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_follow_the_cursor_to_the_end_and_a_forged_cursor_is_refused() {
    let app = spawn_app(150).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[]).await;
    for sort in ["name", "price", "updated"] {
        let mut seen = std::collections::BTreeSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/products?limit=40&sort={sort}&cursor={c}"),
                None => format!("/api/products?limit=40&sort={sort}"),
            };
            let page = server.json(&path).await;
            for product in page["products"].as_array().unwrap() {
                assert!(
                    seen.insert(product["id"].as_i64().unwrap()),
                    "a product came twice with sort {sort}"
                );
            }
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        let active = app
            .export()
            .await
            .values()
            .filter(|p| p["active"] == true)
            .count();
        assert_eq!(seen.len(), active, "sort {sort} missed products");
    }

    let page = server.json("/api/products?limit=10").await;
    let cursor = page["nextCursor"].as_str().unwrap().to_string();
    let (payload, signature) = cursor.split_once('.').unwrap();
    let mut forged = payload.to_string();
    forged.replace_range(..1, if forged.starts_with('e') { "f" } else { "e" });
    for bad in [format!("{forged}.{signature}"), "not-a-cursor".to_string()] {
        let answer = server
            .get(&format!("/api/products?cursor={bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_cursor", "{body}");
    }
    let other_sort = server
        .get(&format!("/api/products?sort=price&cursor={cursor}"))
        .send()
        .await
        .unwrap();
    assert_eq!(other_sort.status(), 400, "a cursor is bound to its query");
    let bad_limit = server.get("/api/products?limit=0").send().await.unwrap();
    assert_eq!(bad_limit.status(), 400);
    assert!(bad_limit.text().await.unwrap().contains("limit"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn search_ignores_accents_and_case_and_finds_skus() {
    let app = spawn_app(60).await;
    let odoo = app.odoo().await;
    let created = odoo
        .create(
            "product.template",
            vec![json!({"name": "Cahier d'élève à spirale", "default_code": "CAH-ELV-01", "list_price": 3.5}).as_object().unwrap().clone()],
            &Context::default(),
        )
        .await
        .unwrap()[0];
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[]).await;
    for q in ["eleve", "ÉLÈVE", "cahier eleve", "CAH-ELV", "spir"] {
        let page = server
            .json(&format!("/api/products?q={}", urlencode(q)))
            .await;
        let ids: Vec<i64> = page["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        assert!(
            ids.contains(&created),
            "q={q} did not find the product: {ids:?}"
        );
    }
    let none = server.json("/api/products?q=zzzzqqq").await;
    assert!(none["products"].as_array().unwrap().is_empty());
    server.stop().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn get_answers_carry_an_etag_and_a_matching_if_none_match_gets_304() {
    let app = spawn_app(30).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[("CACHE_CONTROL", "public, max-age=30")]).await;
    let first = server.get("/api/products?limit=5").send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(first.headers()["cache-control"], "public, max-age=30");
    let again = server
        .get("/api/products?limit=5")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.text().await.unwrap().is_empty());
    let other = server
        .get("/api/products?limit=5")
        .header("if-none-match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_that_changes_a_product_turns_the_old_etag_into_a_200_with_the_new_body() {
    let app = spawn_app(30).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[]).await;
    let list = "/api/products?limit=100";
    let etag_of =
        |response: &reqwest::Response| response.headers()["etag"].to_str().unwrap().to_string();
    let first = server.get(list).send().await.unwrap();
    let old_etag = etag_of(&first);
    let old_body: Value = first.json().await.unwrap();
    let repeated = server.get(list).send().await.unwrap();
    assert_eq!(etag_of(&repeated), old_etag);
    assert_eq!(repeated.json::<Value>().await.unwrap(), old_body);
    let id = old_body["products"][0]["id"].as_i64().unwrap();
    let by_id = format!("/api/products/{id}");
    let old_product_etag = etag_of(&server.get(&by_id).send().await.unwrap());
    assert_ne!(old_product_etag, old_etag, "each request has its own tag");

    let odoo = app.odoo().await;
    let name = json!({"name": "Renamed between two syncs"});
    odoo.write(
        "product.template",
        &[id],
        name.as_object().unwrap().clone(),
        &Context::default(),
    )
    .await
    .unwrap();
    // Another process writes the catalog file: the server must notice all the same.
    app.cli_ok(&["sync", "--incremental"]).await;

    for (path, stale) in [(list, &old_etag), (by_id.as_str(), &old_product_etag)] {
        let fresh = server
            .get(path)
            .header("if-none-match", stale)
            .send()
            .await
            .unwrap();
        assert_eq!(fresh.status(), 200, "{path}");
        let new_etag = etag_of(&fresh);
        assert_ne!(&new_etag, stale, "{path}");
        let body: Value = fresh.json().await.unwrap();
        assert!(
            body.to_string().contains("Renamed between two syncs"),
            "{path}: {body}"
        );
        let again = server
            .get(path)
            .header("if-none-match", &new_etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
    let remade = server
        .get(list)
        .header("cache-control", "no-cache")
        .send()
        .await
        .unwrap();
    let cached = server.get(list).send().await.unwrap();
    assert_eq!(etag_of(&remade), etag_of(&cached));
    assert_eq!(
        remade.json::<Value>().await.unwrap(),
        cached.json::<Value>().await.unwrap()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_catalog_is_cached_privately_and_refuses_a_cached_page_or_a_304_without_the_token(
) {
    let app = spawn_app(10).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app
        .serve(&[("CATALOG_PUBLIC", "false"), ("CATALOG_TOKEN", "site-token")])
        .await;
    let page = "/api/products?limit=5";
    let allowed = server
        .get(page)
        .bearer_auth("site-token")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    // No shared cache may keep an answer that needed a token and serve it to anyone.
    assert_eq!(allowed.headers()["cache-control"], "private, max-age=60");
    let vary: Vec<_> = allowed.headers().get_all("vary").iter().collect();
    assert!(
        vary.iter()
            .any(|v| v.to_str().unwrap().contains("Authorization")),
        "{vary:?}"
    );
    let etag = allowed.headers()["etag"].to_str().unwrap().to_string();
    let cached = server
        .get(page)
        .bearer_auth("site-token")
        .send()
        .await
        .unwrap();
    assert_eq!(cached.headers()["cache-control"], "private, max-age=60");
    assert_eq!(server.get(page).send().await.unwrap().status(), 401);
    let revalidated = server
        .get(page)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_auth_matrix_holds_for_the_sync_api_the_cron_endpoint_and_a_private_catalog() {
    let app = spawn_app(20).await;
    let server = app.serve(&[]).await;
    let status = "/api/products/sync/status";
    assert_eq!(server.get(status).send().await.unwrap().status(), 401);
    assert_eq!(
        server
            .get(status)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        server
            .get(status)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let post = |token: &str| {
        server
            .http
            .post(format!("{}/api/products/sync", server.url))
            .bearer_auth(token.to_string())
            .json(&json!({}))
            .send()
    };
    assert_eq!(post("wrong").await.unwrap().status(), 401);

    let cron = "/api/cron/sync";
    assert_eq!(server.get(cron).send().await.unwrap().status(), 401);
    assert_eq!(
        server
            .get(cron)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let started = server
        .get(cron)
        .bearer_auth(CRON_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let body: Value = started.json().await.unwrap();
    assert!(body["runId"].is_i64(), "{body}");
    let last = server.wait_for_idle().await;
    assert_eq!(last["trigger"], "cron");
    server.stop().await;

    let closed = app
        .serve(&[
            ("ADMIN_TOKEN", ""),
            ("CRON_SECRET", ""),
            ("CATALOG_PUBLIC", "false"),
            ("CATALOG_TOKEN", "site-token"),
        ])
        .await;
    let disabled = closed
        .get(status)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 503);
    assert_eq!(
        disabled.json::<Value>().await.unwrap()["error"]["code"],
        "sync_api_disabled"
    );
    assert_eq!(
        closed
            .get(cron)
            .bearer_auth(CRON_SECRET)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        closed.get("/api/products").send().await.unwrap().status(),
        401
    );
    assert_eq!(
        closed
            .get("/api/products")
            .bearer_auth("site-token")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    closed.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_change_feed_names_what_was_edited_and_deleted_since_a_token() {
    let app = spawn_app(50).await;
    app.cli_ok(&["sync", "--full"]).await;
    let server = app.serve(&[]).await;
    let mut token = String::new();
    loop {
        let path = if token.is_empty() {
            "/api/changes".to_string()
        } else {
            format!("/api/changes?since={token}")
        };
        let feed = server.json(&path).await;
        token = feed["nextToken"].as_str().unwrap().to_string();
        if feed["hasMore"] == false {
            break;
        }
    }
    let odoo = app.odoo().await;
    let ids: Vec<i64> = app.export().await.keys().copied().take(3).collect();
    let price = json!({"list_price": 99.5}).as_object().unwrap().clone();
    odoo.write("product.template", &ids[..2], price, &Context::default())
        .await
        .unwrap();
    odoo.unlink("product.template", &ids[2..3], &Context::default())
        .await
        .unwrap();
    app.cli_ok(&["sync", "--incremental"]).await;

    let feed = server.json(&format!("/api/changes?since={token}")).await;
    let changes: Vec<(i64, String)> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_i64().unwrap(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(changes.contains(&(ids[0], "upsert".into())), "{changes:?}");
    assert!(changes.contains(&(ids[1], "upsert".into())), "{changes:?}");
    assert!(changes.contains(&(ids[2], "delete".into())), "{changes:?}");
    assert_eq!(changes.len(), 3, "only what changed: {changes:?}");
    assert_eq!(
        server
            .get(&format!("/api/products/{}", ids[2]))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        server
            .get("/api/changes?since=garbage")
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_page_may_not_be_framed_nor_run_foreign_code_and_no_answer_is_sniffed() {
    let app = spawn_app(5).await;
    let server = app.serve(&[]).await;
    for page in ["/admin", "/admin/", "/admin/admin.js", "/admin/admin.css"] {
        let answer = server.get(page).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{page}");
        let headers = answer.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{page}: {csp}");
        }
        assert_eq!(headers["x-frame-options"], "DENY", "{page}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{page}");
    }
    for path in ["/api/products", "/healthz", "/no/such/route"] {
        let answer = server.get(path).send().await.unwrap();
        assert_eq!(
            answer.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_odoo_gets_an_opaque_502_with_a_request_id_and_readiness_is_checked_at_most_every_5_s(
) {
    let app = spawn_app(30).await;
    let server = app.serve(&[]).await;
    let first = server.get("/readyz").send().await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let calls = app.sim.call_count();
    for _ in 0..5 {
        assert_eq!(
            server.json("/readyz").await,
            first,
            "answered from the last check"
        );
    }
    assert_eq!(app.sim.call_count(), calls, "no Odoo call per probe");

    app.set_faults(odoo_sim::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let failed = server
        .admin_post(
            "/api/products/sync",
            json!({"forceRefresh": true, "limit": 10}),
        )
        .header("x-request-id", "shop-check-42")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 502);
    assert_eq!(failed.headers()["x-request-id"], "shop-check-42");
    let body = failed.text().await.unwrap();
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["code"], "odoo_error");
    assert_eq!(error["error"]["requestId"], "shop-check-42");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("shop-check-42"));
    for leak in ["127.0.0.1", "Service Unavailable", "HTTP 503"] {
        assert!(!body.contains(leak), "the body tells {leak}: {body}");
    }

    sleep_ms(5_100).await;
    let down = server.get("/readyz").send().await.unwrap();
    assert_eq!(down.status(), 503);
    let body = down.text().await.unwrap();
    let down: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(down["odoo"]["error"], "Odoo does not answer");
    assert!(
        !body.contains("127.0.0.1") && !body.contains("503"),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn during_a_rotation_the_previous_secret_still_opens_its_door_and_nothing_else_does() {
    let app = spawn_app(5).await;
    let server = app
        .serve(&[
            ("ADMIN_TOKEN_PREVIOUS", "old-admin"),
            ("CRON_SECRET_PREVIOUS", "old-cron"),
            ("WEBHOOK_SECRET", "new-hook"),
            ("WEBHOOK_SECRET_PREVIOUS", "old-hook"),
            ("CATALOG_PUBLIC", "false"),
            ("CATALOG_TOKEN", "new-site"),
            ("CATALOG_TOKEN_PREVIOUS", "old-site"),
        ])
        .await;
    let status = |token: &'static str, path: &'static str| {
        let request = server.get(path).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    for (path, good) in [
        ("/api/products/sync/status", [ADMIN_TOKEN, "old-admin"]),
        ("/api/products", ["new-site", "old-site"]),
    ] {
        for token in good {
            assert_eq!(status(token, path).await, 200, "{path} with {token}");
        }
        for wrong in ["old-cron", "old-hook", "wrong", ""] {
            assert_eq!(status(wrong, path).await, 401, "{path} with {wrong}");
        }
    }
    for (token, expected) in [(CRON_SECRET, 202), ("old-cron", 409), ("old-admin", 401)] {
        let answer = server
            .get("/api/cron/sync")
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        // The second accepted call finds the first run still going: 409, past the door.
        let code = answer.status().as_u16();
        assert!(
            code == expected || (expected != 401 && code != 401),
            "{token}: {code}"
        );
    }
    let hook = |token: &str| {
        let url = format!("{}/api/products/sync/webhook?token={token}", server.url);
        let body = json!({"_model": "product.template", "_id": 1, "id": 1});
        reqwest::Client::new().post(url).json(&body).send()
    };
    for (token, expected) in [("new-hook", 200), ("old-hook", 200), ("old-admin", 401)] {
        assert_eq!(hook(token).await.unwrap().status(), expected, "{token}");
    }
    server.wait_for_idle().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_sync_gives_every_variant_its_stock_even_one_that_never_had_a_quant() {
    let app = spawn_app(30).await;
    let odoo = app.odoo().await;
    let never_stocked = json!({"name": "Never stocked"})
        .as_object()
        .unwrap()
        .clone();
    let created = odoo
        .create("product.template", vec![never_stocked], &Context::default())
        .await
        .unwrap()[0];
    app.cli_ok(&["sync", "--full"]).await;
    // No sweep: what the page writes is all there is.
    let server = app
        .serve(&[
            ("SYNC_SWEEP_INTERVAL", "0"),
            ("SYNC_RECONCILE_INTERVAL", "0"),
        ])
        .await;

    let fields = ["id", "qty_available", "free_qty"];
    let options = odoo_rpc::SearchOptions::default();
    let in_odoo: std::collections::BTreeMap<i64, (f64, f64)> = odoo
        .search_read(
            "product.product",
            &odoo_rpc::Domain::all(),
            &fields,
            &options,
        )
        .await
        .unwrap()
        .iter()
        .map(|v| {
            let stock = (
                v.get_f64("qty_available").unwrap(),
                v.get_f64("free_qty").unwrap(),
            );
            (v.id().unwrap(), stock)
        })
        .collect();
    let page = server.json("/api/products?limit=100").await;
    let variants: Vec<&Value> = page["products"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["variants"].as_array().unwrap())
        .collect();
    assert_eq!(
        variants.len(),
        in_odoo.len(),
        "every active variant is served"
    );
    for variant in variants {
        let (on_hand, free) = in_odoo[&variant["id"].as_i64().unwrap()];
        assert_eq!(variant["stock"], json!({"onHand": on_hand, "free": free}));
    }
    let product = server.json(&format!("/api/products/{created}")).await;
    assert_eq!(
        product["variants"][0]["stock"],
        json!({"onHand": 0.0, "free": 0.0}),
        "{product}"
    );
    server.stop().await;
}
