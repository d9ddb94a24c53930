//! The simulator as Odoo 19 over HTTP: JSON-2 with API keys, the legacy JSON-RPC beside it, and
//! the datetime domains that compare whole seconds (Odoo 18's compare microseconds).

mod common;

use common::{call, generated_as, rpc};
use odoo_sim::{ApiKey, Sim, DEFAULT_API_KEY};
use serde_json::{json, Value as Json};

async fn json2(sim: &Sim, key: Option<&str>, route: &str, body: Json) -> (u16, Json) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/json/2/{route}", sim.url()))
        .header("X-Odoo-Database", "odoo")
        .json(&body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn admin(sim: &Sim, route: &str, body: Json) -> Json {
    let (status, answer) = json2(sim, Some(DEFAULT_API_KEY), route, body).await;
    assert_eq!(status, 200, "{route}: {answer}");
    answer
}

/// A template written just now, and its write_date as read (whole seconds).
async fn freshly_written(sim: &Sim) -> (i64, String) {
    let id = rpc(
        sim,
        "product.template",
        "search",
        json!([[]]),
        json!({"limit": 1}),
    )
    .await[0]
        .as_i64()
        .unwrap();
    rpc(
        sim,
        "product.template",
        "write",
        json!([[id], {"list_price": 42.0}]),
        json!({}),
    )
    .await;
    let read = rpc(
        sim,
        "product.template",
        "read",
        json!([[id]]),
        json!({"fields": ["write_date"]}),
    )
    .await;
    (id, read[0]["write_date"].as_str().unwrap().to_string())
}

fn found(answer: &Json) -> usize {
    answer.as_array().unwrap().len()
}

#[tokio::test]
async fn on_19_write_date_greater_than_its_own_second_finds_nothing_where_18_finds_the_record() {
    let sim19 = generated_as(19, 5, 1).await;
    let (id, second) = freshly_written(&sim19).await;
    let search = |op: &str| json!({"domain": [["id", "=", id], ["write_date", op, second]], "fields": ["id"]});
    let count = |answer: Json| found(&answer);
    assert_eq!(
        count(admin(&sim19, "product.template/search_read", search(">")).await),
        0
    );
    assert_eq!(
        count(admin(&sim19, "product.template/search_read", search(">=")).await),
        1
    );
    assert_eq!(
        count(admin(&sim19, "product.template/search_read", search("=")).await),
        1
    );
    assert_eq!(
        count(admin(&sim19, "product.template/search_read", search("<=")).await),
        1
    );
    assert_eq!(
        count(admin(&sim19, "product.template/search_read", search("<")).await),
        0
    );

    // Odoo 18 keeps the microseconds: the record is later than its own truncated second.
    let sim18 = generated_as(18, 5, 1).await;
    let (id, second) = freshly_written(&sim18).await;
    let later = rpc(
        &sim18,
        "product.template",
        "search",
        json!([[["id", "=", id], ["write_date", ">", second]]]),
        json!({}),
    )
    .await;
    assert_eq!(later, json!([id]));
}

#[tokio::test]
async fn json2_refuses_no_key_a_wrong_key_an_expired_key_and_the_password() {
    let sim = generated_as(19, 5, 1).await;
    sim.add_api_key(ApiKey {
        expired: true,
        ..ApiKey::admin("old-key")
    });
    let body = json!({"domain": [], "fields": ["id"], "limit": 1});
    let route = "product.template/search_read";
    for (key, message) in [
        (
            None,
            "User not authenticated, use an API Key with a Bearer Authorization header.",
        ),
        (Some("wrong-key"), "Invalid apikey"),
        (Some("old-key"), "Invalid apikey"),
        (Some("admin"), "Invalid apikey"),
    ] {
        let (status, answer) = json2(&sim, key, route, body.clone()).await;
        assert_eq!(status, 401, "{key:?}");
        assert_eq!(answer["name"], "werkzeug.exceptions.Unauthorized");
        assert_eq!(answer["message"], message, "{key:?}");
    }
    assert_eq!(found(&admin(&sim, route, body).await), 1);
    let me = admin(&sim, "res.users/context_get", json!({})).await;
    assert_eq!(me["uid"], 2);
}

#[tokio::test]
async fn another_users_key_reads_but_may_not_write() {
    let sim = generated_as(19, 5, 1).await;
    sim.add_api_key(ApiKey {
        uid: 7,
        ..ApiKey::admin("reader-key")
    });
    let (status, me) = json2(&sim, Some("reader-key"), "res.users/context_get", json!({})).await;
    assert_eq!((status, me["uid"].clone()), (200, json!(7)));
    let (status, ids) = json2(
        &sim,
        Some("reader-key"),
        "product.template/search",
        json!({"domain": []}),
    )
    .await;
    assert_eq!(status, 200);
    let id = ids[0].clone();
    let write = json!({"ids": [id], "vals": {"list_price": 1.0}});
    let (status, error) = json2(&sim, Some("reader-key"), "product.template/write", write).await;
    assert_eq!(status, 403);
    assert_eq!(error["name"], "odoo.exceptions.AccessError");
}

#[tokio::test]
async fn a_second_database_makes_the_database_header_necessary() {
    let sim = generated_as(19, 5, 1).await;
    let without_header = || {
        reqwest::Client::new()
            .post(format!("{}/json/2/res.users/context_get", sim.url()))
            .bearer_auth(DEFAULT_API_KEY)
            .json(&json!({}))
            .send()
    };
    assert_eq!(without_header().await.unwrap().status(), 200);
    sim.add_database("other");
    let response = without_header().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("No database is selected"));
    assert_eq!(
        admin(&sim, "res.users/context_get", json!({})).await["uid"],
        2
    );
}

#[tokio::test]
async fn legacy_jsonrpc_on_19_takes_an_api_key_as_password_and_answers_errors_with_code_0() {
    let sim = generated_as(19, 5, 1).await;
    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
        "service": "object", "method": "execute_kw",
        "args": ["odoo", 2, DEFAULT_API_KEY, "product.template", "search_count", [[]]]}});
    let answer: Json = reqwest::Client::new()
        .post(format!("{}/jsonrpc", sim.url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["result"], 5, "{answer}");
    let error = call(
        &sim.url(),
        "product.templatex",
        "search",
        json!([[]]),
        json!({}),
    )
    .await;
    assert_eq!(error["error"]["code"], 0);
    let sim18 = generated_as(18, 5, 1).await;
    let error = call(
        &sim18.url(),
        "product.templatex",
        "search",
        json!([[]]),
        json!({}),
    )
    .await;
    assert_eq!(error["error"]["code"], 200);
}

#[tokio::test]
async fn only_19_has_json2_and_web_version() {
    let sim19 = generated_as(19, 5, 1).await;
    let version: Json = reqwest::get(format!("{}/web/version", sim19.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(version["version"], "19.0");
    let sim18 = generated_as(18, 5, 1).await;
    let status = reqwest::get(format!("{}/web/version", sim18.url()))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
    // As measured on a real Odoo 18: its `/json/<path>` web route sends the caller to log in.
    let unfollowed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = unfollowed
        .post(format!("{}/json/2/res.users/context_get", sim18.url()))
        .bearer_auth(DEFAULT_API_KEY)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let header = |name| response.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(
        header("location"),
        "/web/login?redirect=%2Fjson%2F2%2Fres.users%2Fcontext_get%3F"
    );
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    // Following it, as a client that follows redirects does, gives the login page with a 200.
    let followed = reqwest::Client::new()
        .post(format!("{}/json/2/res.users/context_get", sim18.url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), 200);
    let page = followed.text().await.unwrap();
    assert!(
        page.contains("var odoo = {") && page.contains("csrf_token"),
        "{page}"
    );
    // Other unknown paths keep the recorded 404 page.
    let elsewhere = unfollowed
        .post(format!("{}/api/v1/products", sim18.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404);
}

#[tokio::test]
async fn a_method_returning_none_answers_a_null_body_and_a_single_dict_create_a_list() {
    let sim = generated_as(19, 200, 3).await;
    let quants = admin(
        &sim,
        "stock.quant/search",
        json!({"domain": [], "limit": 1}),
    )
    .await;
    let quant = quants[0].as_i64().unwrap();
    admin(
        &sim,
        "stock.quant/write",
        json!({"ids": [quant], "vals": {"inventory_quantity": 7.0}}),
    )
    .await;
    let (status, body) = json2(
        &sim,
        Some(DEFAULT_API_KEY),
        "stock.quant/action_apply_inventory",
        json!({"ids": [quant]}),
    )
    .await;
    assert_eq!((status, body), (200, Json::Null));
    let created = admin(
        &sim,
        "product.template/create",
        json!({"vals_list": {"name": "Single dict"}}),
    )
    .await;
    assert_eq!(found(&created), 1, "{created}");
}
