//! Behaviour over HTTP on a generated catalog: write_date precision and propagation, variants
//! following their template, translations, the hold route, faults, stats, determinism and speed.

mod common;

use common::rpc;
use odoo_sim::{Faults, Sim};
use serde_json::{json, Value as Json};
use std::time::{Duration, Instant};

async fn read(sim: &Sim, model: &str, ids: &[i64], fields: &[&str]) -> Vec<Json> {
    let r = rpc(
        sim,
        model,
        "read",
        json!([ids]),
        json!({"fields": fields, "context": {"active_test": false}}),
    )
    .await;
    r.as_array().unwrap().clone()
}

/// A template with several variants: (template id, variant ids).
async fn multi_variant_template(sim: &Sim) -> (i64, Vec<i64>) {
    let found = rpc(
        sim,
        "product.template",
        "search_read",
        json!([[["product_variant_count", ">", 1]]]),
        json!({"fields": ["product_variant_ids"], "limit": 1, "order": "id"}),
    )
    .await;
    let t = &found[0];
    let variants = t["product_variant_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    (t["id"].as_i64().unwrap(), variants)
}

fn write_date(rec: &Json) -> String {
    rec["write_date"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_write_date_cursor_truncated_to_the_second_still_matches_with_greater_than() {
    let sim = common::generated(20, 42).await;
    let rec = &read(&sim, "product.template", &[1], &["write_date"]).await[0];
    let second = write_date(rec);
    let domain = json!([["id", "=", 1], ["write_date", ">", second]]);
    let found = rpc(
        &sim,
        "product.template",
        "search",
        json!([domain]),
        json!({"context": {"active_test": false}}),
    )
    .await;
    assert_eq!(
        found,
        json!([1]),
        "the stored value has microseconds beyond {second}"
    );
    let domain = json!([
        ["id", "=", 1],
        ["write_date", ">", format!("{second}.999999")]
    ]);
    let found = rpc(
        &sim,
        "product.template",
        "search",
        json!([domain]),
        json!({"context": {"active_test": false}}),
    )
    .await;
    assert_eq!(found, json!([]));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_template_write_moves_all_its_variants_but_a_variant_write_moves_only_that_variant() {
    let sim = common::generated(200, 42).await;
    let (tmpl, variants) = multi_variant_template(&sim).await;
    let before_t = write_date(&read(&sim, "product.template", &[tmpl], &["write_date"]).await[0]);
    rpc(
        &sim,
        "product.product",
        "write",
        json!([[variants[0]], {"barcode": "9999999999994"}]),
        json!({}),
    )
    .await;
    let after = read(&sim, "product.product", &variants, &["write_date"]).await;
    assert_ne!(write_date(&after[0]), before_t);
    assert_eq!(
        write_date(&read(&sim, "product.template", &[tmpl], &["write_date"]).await[0]),
        before_t
    );
    let untouched = write_date(&after[1]);
    assert!(untouched < write_date(&after[0]));

    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"description_sale": "new"}]),
        json!({}),
    )
    .await;
    let t_date = write_date(&read(&sim, "product.template", &[tmpl], &["write_date"]).await[0]);
    for v in read(&sim, "product.product", &variants, &["write_date"]).await {
        assert_eq!(write_date(&v), t_date);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn variant_prices_follow_the_template_list_price() {
    let sim = common::generated(200, 42).await;
    let (tmpl, variants) = multi_variant_template(&sim).await;
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[tmpl], {"list_price": 100.0}]),
        json!({}),
    )
    .await;
    for v in read(
        &sim,
        "product.product",
        &variants,
        &["lst_price", "price_extra"],
    )
    .await
    {
        let (lst, extra) = (
            v["lst_price"].as_f64().unwrap(),
            v["price_extra"].as_f64().unwrap(),
        );
        assert_eq!(lst, 100.0 + extra);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn create_archive_and_unlink_carry_the_single_variant_along() {
    let sim = common::generated(0, 42).await;
    let id = rpc(
        &sim,
        "product.template",
        "create",
        json!([{"name": "Stool", "default_code": "ST-1", "list_price": 9.5}]),
        json!({}),
    )
    .await;
    let id = id.as_i64().unwrap();
    let t = &read(
        &sim,
        "product.template",
        &[id],
        &["product_variant_ids", "display_name"],
    )
    .await[0];
    assert_eq!(t["display_name"], "[ST-1] Stool");
    let vid = t["product_variant_ids"][0].as_i64().unwrap();
    let v = &read(
        &sim,
        "product.product",
        &[vid],
        &["default_code", "lst_price", "product_tmpl_id"],
    )
    .await[0];
    assert_eq!(v["product_tmpl_id"], json!([id, "[ST-1] Stool"]));
    assert_eq!(v["lst_price"], json!(9.5));

    rpc(
        &sim,
        "product.template",
        "write",
        json!([[id], {"active": false}]),
        json!({}),
    )
    .await;
    assert_eq!(
        rpc(
            &sim,
            "product.product",
            "search_count",
            json!([[]]),
            json!({})
        )
        .await,
        json!(0)
    );
    assert_eq!(
        read(&sim, "product.product", &[vid], &["active"]).await[0]["active"],
        json!(false)
    );

    rpc(&sim, "product.template", "unlink", json!([[id]]), json!({})).await;
    assert_eq!(
        read(&sim, "product.product", &[vid], &["id"]).await,
        Vec::<Json>::new()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn creating_a_list_returns_ids_and_missing_required_fields_fail() {
    let sim = common::generated(0, 42).await;
    let ids = rpc(
        &sim,
        "product.template",
        "create",
        json!([[{"name": "A"}, {"name": "B"}]]),
        json!({}),
    )
    .await;
    assert_eq!(ids.as_array().unwrap().len(), 2);
    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 3, "params": {"service": "object", "method": "execute_kw",
        "args": ["odoo", 2, "admin", "product.template", "create", [{"list_price": 1.0}], {}]}});
    let answer: Json = reqwest::Client::new()
        .post(format!("{}/jsonrpc", sim.url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["error"]["data"]["name"],
        "odoo.exceptions.ValidationError"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_french_write_changes_only_the_french_name() {
    let sim = common::generated(5, 42).await;
    let fr = json!({"lang": "fr_FR"});
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[1], {"name": "Nouveau nom"}]),
        json!({"context": fr}),
    )
    .await;
    let en = &read(&sim, "product.template", &[1], &["name"]).await[0];
    assert_ne!(en["name"], "Nouveau nom");
    let got = rpc(
        &sim,
        "product.template",
        "read",
        json!([[1]]),
        json!({"fields": ["name"], "context": fr}),
    )
    .await;
    assert_eq!(got[0]["name"], "Nouveau nom");
    let found = rpc(
        &sim,
        "product.template",
        "search",
        json!([[["name", "=", "Nouveau nom"]]]),
        json!({"context": fr}),
    )
    .await;
    assert_eq!(found, json!([1]));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_held_write_is_stamped_at_its_start_and_visible_only_after_the_hold() {
    let sim = common::generated(5, 42).await;
    let client = reqwest::Client::new();
    let hold = json!({"model": "product.template", "ids": [2], "values": {"list_price": 123.0}, "hold_ms": 600});
    let started: Json = client
        .post(format!("{}/__sim/hold", sim.url()))
        .json(&hold)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stamped = started["write_date"].as_str().unwrap()[..19].to_string();
    let now = &read(
        &sim,
        "product.template",
        &[2],
        &["list_price", "write_date"],
    )
    .await[0];
    assert_ne!(now["list_price"], json!(123.0), "not visible while held");
    tokio::time::sleep(Duration::from_millis(300)).await;
    rpc(
        &sim,
        "product.template",
        "write",
        json!([[3], {"list_price": 5.0}]),
        json!({}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let later = &read(
        &sim,
        "product.template",
        &[2, 3],
        &["list_price", "write_date"],
    )
    .await;
    assert_eq!(later[0]["list_price"], json!(123.0));
    assert_eq!(write_date(&later[0]), stamped);
    assert!(
        write_date(&later[0]) <= write_date(&later[1]),
        "the held write carries the earlier date"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_can_be_switched_on_and_off_and_calls_are_counted() {
    let sim = common::generated(5, 42).await;
    let client = reqwest::Client::new();
    rpc(
        &sim,
        "product.template",
        "search_count",
        json!([[]]),
        json!({}),
    )
    .await;
    assert_eq!(sim.call_count(), 1);

    sim.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": "common", "method": "version", "args": []}});
    let resp = client
        .post(format!("{}/jsonrpc", sim.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    let slow = json!({"latency_ms": 150});
    client
        .post(format!("{}/__sim/faults", sim.url()))
        .json(&slow)
        .send()
        .await
        .unwrap();
    let got: Json = client
        .get(format!("{}/__sim/faults", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Knobs left out of the POST fall back to their defaults (newer knobs are checked elsewhere).
    let want =
        json!({"latency_ms": 150, "per_record_us": 0, "error_rate": 0.0, "timeout_rate": 0.0});
    for (key, value) in want.as_object().unwrap() {
        assert_eq!(&got[key], value, "{key} in {got}");
    }
    let t0 = Instant::now();
    rpc(
        &sim,
        "product.template",
        "search_count",
        json!([[]]),
        json!({}),
    )
    .await;
    assert!(t0.elapsed() >= Duration::from_millis(150));

    let stats: Json = client
        .get(format!("{}/__sim/stats", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["calls"], json!(3));
    assert_eq!(
        stats["by_method"]["product.template.search_count"],
        json!(2)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_generated_catalog_is_the_same_for_the_same_seed() {
    use odoo_sim::methods::{read_records, resolve_fields, Load};
    use odoo_sim::value::Ctx;
    let dump = |seed: u64| {
        let db = odoo_sim::generate::generate(300, seed);
        let mut out = Vec::new();
        for model in [
            "product.template",
            "product.product",
            "product.category",
            "product.template.attribute.value",
        ] {
            let ids: Vec<i64> = db.table(model).unwrap().recs.keys().copied().collect();
            let fields = resolve_fields(&db, model, None, 18).unwrap();
            out.extend(read_records(
                &db,
                model,
                &ids,
                &fields,
                &Ctx::default(),
                Load::Classic,
            ));
        }
        out
    };
    assert_eq!(dump(9), dump(9));
    assert_ne!(dump(9), dump(10));
}

#[tokio::test]
async fn the_generated_catalog_has_the_promised_mix() {
    let sim = common::generated(2000, 42).await;
    let count = |domain: Json| {
        rpc(
            &sim,
            "product.template",
            "search_count",
            json!([domain]),
            json!({"context": {"active_test": false}}),
        )
    };
    let archived = count(json!([["active", "=", false]]))
        .await
        .as_i64()
        .unwrap();
    assert!((40..=160).contains(&archived), "{archived} archived");
    let multi = count(json!([["product_variant_count", ">", 1]]))
        .await
        .as_i64()
        .unwrap();
    assert!((100..=300).contains(&multi), "{multi} with variants");
    let no_barcode = count(json!([["barcode", "=", false]]))
        .await
        .as_i64()
        .unwrap();
    assert!(no_barcode > 0);
    let codes = rpc(
        &sim,
        "product.product",
        "search_read",
        json!([[["barcode", "!=", false]]]),
        json!({"fields": ["barcode"], "context": {"active_test": false}}),
    )
    .await;
    let mut barcodes: Vec<String> = codes
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["barcode"].as_str().unwrap().to_string())
        .collect();
    let n = barcodes.len();
    barcodes.sort();
    barcodes.dedup();
    assert_eq!(barcodes.len(), n, "barcodes are unique");
    let fr = rpc(
        &sim,
        "product.template",
        "read",
        json!([[1]]),
        json!({"fields": ["name"], "context": {"lang": "fr_FR"}}),
    )
    .await;
    let en = read(&sim, "product.template", &[1], &["name"]).await;
    assert_ne!(fr[0]["name"], en[0]["name"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn keyset_pages_over_100k_templates_do_not_scan_the_table() {
    let t0 = Instant::now();
    let sim = common::generated(100_000, 42).await;
    let built = t0.elapsed();
    let fields = json!([
        "id",
        "name",
        "default_code",
        "barcode",
        "list_price",
        "categ_id",
        "write_date"
    ]);
    let t1 = Instant::now();
    let page = rpc(
        &sim,
        "product.template",
        "search_read",
        json!([[["id", ">", 90_000]]]),
        json!({"fields": fields, "order": "id", "limit": 500, "context": {"active_test": false}}),
    )
    .await;
    let paged = t1.elapsed();
    assert_eq!(page.as_array().unwrap().len(), 500);
    assert_eq!(page[0]["id"], json!(90_001));
    let t2 = Instant::now();
    let ids: Vec<i64> = (50_000..50_500).collect();
    assert_eq!(
        read(&sim, "product.template", &ids, &["id", "name"])
            .await
            .len(),
        500
    );
    let by_ids = t2.elapsed();
    eprintln!("100k: built in {built:?}, keyset page in {paged:?}, read of 500 ids in {by_ids:?}");
    assert!(paged < Duration::from_secs(2) && by_ids < Duration::from_secs(2));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_variant_name_write_renames_its_template() {
    let sim = common::generated(5, 42).await;
    let vid = read(&sim, "product.template", &[1], &["product_variant_ids"]).await[0]
        ["product_variant_ids"][0]
        .as_i64()
        .unwrap();
    rpc(
        &sim,
        "product.product",
        "write",
        json!([[vid], {"name": "Renamed", "lst_price": 1.0}]),
        json!({}),
    )
    .await;
    assert_eq!(
        read(&sim, "product.template", &[1], &["name"]).await[0]["name"],
        "Renamed"
    );
    assert_eq!(
        read(&sim, "product.product", &[vid], &["name"]).await[0]["name"],
        "Renamed"
    );
    sim.shutdown().await;
}

/// `barcode` on a template is computed from its variants on every read (`store: false`), and its
/// stored `default_code` recomputed when its only variant's code is written, as in Odoo 18.
#[tokio::test]
async fn a_template_s_codes_follow_its_only_variant() {
    let sim = common::generated(60, 11).await;
    let singles = rpc(
        &sim,
        "product.template",
        "search_read",
        json!([[["product_variant_count", "=", 1]]]),
        json!({"fields": ["product_variant_ids"], "limit": 1}),
    )
    .await;
    let template = singles[0]["id"].as_i64().unwrap();
    let variant = singles[0]["product_variant_ids"][0].as_i64().unwrap();
    let codes = json!({"default_code": "NEW-CODE", "barcode": "4006381333931"});
    rpc(
        &sim,
        "product.product",
        "write",
        json!([[variant], codes]),
        json!({}),
    )
    .await;
    let read = rpc(
        &sim,
        "product.template",
        "read",
        json!([[template]]),
        json!({"fields": ["default_code", "barcode"]}),
    )
    .await;
    assert_eq!(read[0]["default_code"], "NEW-CODE");
    assert_eq!(read[0]["barcode"], "4006381333931");
    let fields = rpc(
        &sim,
        "product.template",
        "fields_get",
        json!([["barcode", "default_code"]]),
        json!({"attributes": ["store"]}),
    )
    .await;
    assert_eq!(fields["barcode"]["store"], false);
    assert_eq!(fields["default_code"]["store"], true);
}

/// `search_read` drops `active_test` before reading, so a template's computed barcode counts its
/// active variants there even when the search saw archived records; `read` keeps the context.
#[tokio::test]
async fn a_template_barcode_counts_active_variants_first_as_search_read_reads() {
    let sim = common::generated(60, 11).await;
    let pairs = rpc(
        &sim,
        "product.template",
        "search_read",
        json!([[["product_variant_count", "=", 2]]]),
        json!({"fields": ["product_variant_ids"], "limit": 1}),
    )
    .await;
    let template = pairs[0]["id"].as_i64().unwrap();
    let variants: Vec<i64> =
        serde_json::from_value(pairs[0]["product_variant_ids"].clone()).unwrap();
    for (variant, barcode) in variants.iter().zip(["4006381333931", "4006381333948"]) {
        let vals = json!([[variant], {"barcode": barcode}]);
        rpc(&sim, "product.product", "write", vals, json!({})).await;
    }
    let archive = json!([[variants[0]], {"active": false}]);
    rpc(&sim, "product.product", "write", archive, json!({})).await;
    let all = json!({"context": {"active_test": false}, "fields": ["barcode"]});
    let barcode_by = |method: &'static str, all: Json| {
        let sim = &sim;
        async move {
            let args = match method {
                "read" => json!([[template]]),
                _ => json!([[["id", "=", template]]]),
            };
            rpc(sim, "product.template", method, args, all).await[0]["barcode"].clone()
        }
    };
    assert_eq!(
        barcode_by("search_read", all.clone()).await,
        "4006381333948"
    );
    assert_eq!(barcode_by("read", all.clone()).await, false);
    let archive = json!([[variants[1]], {"active": false}]);
    rpc(&sim, "product.product", "write", archive, json!({})).await;
    assert_eq!(barcode_by("search_read", all).await, false);
}

/// `load` other than `_classic_read` gives a many2one as a bare id (recorded on Odoo 19's
/// `product_template_read_load_none`; the webhook payloads of Odoo 18 read the same way).
#[tokio::test]
async fn a_read_with_load_null_gives_many2one_as_bare_ids() {
    let sim = common::generated(20, 3).await;
    let fields = json!(["product_tmpl_id", "write_date"]);
    let search_read = |kwargs: Json| {
        let sim = &sim;
        async move { rpc(sim, "product.product", "search_read", json!([[]]), kwargs).await }
    };
    let classic = search_read(json!({"fields": fields, "limit": 1})).await;
    assert!(classic[0]["product_tmpl_id"].is_array(), "{classic}");
    let bare = search_read(json!({"fields": fields, "limit": 1, "load": null})).await;
    assert_eq!(bare[0]["product_tmpl_id"], classic[0]["product_tmpl_id"][0]);
    assert_eq!(bare[0]["write_date"], classic[0]["write_date"]);
    let id = bare[0]["id"].clone();
    let read = rpc(
        &sim,
        "product.product",
        "read",
        json!([[id], fields, false]),
        json!({}),
    )
    .await;
    assert_eq!(read[0]["product_tmpl_id"], bare[0]["product_tmpl_id"]);
}
