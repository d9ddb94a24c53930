//! Stock and prices that move no product write_date (as recorded on Odoo 18): quants and
//! inventory adjustments, attribute value price_extra, pricelist items.

mod common;

use common::{call, rpc};
use odoo_sim::Sim;
use serde_json::{json, Value as Json};

async fn read_one(sim: &Sim, model: &str, id: i64, fields: &[&str]) -> Json {
    rpc(
        sim,
        model,
        "read",
        json!([[id]]),
        json!({"fields": fields, "context": {"active_test": false}}),
    )
    .await[0]
        .clone()
}

const QUANT_FIELDS: &[&str] = &[
    "id",
    "product_id",
    "location_id",
    "quantity",
    "reserved_quantity",
    "inventory_quantity",
    "write_date",
];

#[tokio::test]
async fn an_inventory_adjustment_moves_the_quant_but_no_product_write_date() {
    let sim = common::generated(200, 3).await;
    let quants = rpc(
        &sim,
        "stock.quant",
        "search_read",
        json!([[
            ["location_id.usage", "=", "internal"],
            ["reserved_quantity", ">", 0]
        ]]),
        json!({"fields": QUANT_FIELDS, "limit": 1}),
    )
    .await;
    let quant = &quants[0];
    assert_eq!(quant["location_id"], json!([8, "WH/Stock"]));
    let fixture: Json = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/odoo18-fixtures/jsonrpc/stock_quant_search_read.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let want = &fixture["response"]["body"]["result"][0];
    let keys = |v: &Json| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(want), keys(quant));
    let (qid, pid) = (
        quant["id"].as_i64().unwrap(),
        quant["product_id"][0].as_i64().unwrap(),
    );
    let variant = read_one(
        &sim,
        "product.product",
        pid,
        &["product_tmpl_id", "qty_available", "free_qty", "write_date"],
    )
    .await;
    let tmpl_id = variant["product_tmpl_id"][0].as_i64().unwrap();
    let tmpl = read_one(
        &sim,
        "product.template",
        tmpl_id,
        &["qty_available", "write_date"],
    )
    .await;
    let (qty, reserved) = (
        quant["quantity"].as_f64().unwrap(),
        quant["reserved_quantity"].as_f64().unwrap(),
    );
    assert_eq!(variant["qty_available"], qty);
    assert_eq!(variant["free_qty"], qty - reserved);
    // The fixture's own domain, through two dotted paths.
    let by_template = rpc(
        &sim,
        "stock.quant",
        "search",
        json!([[
            ["product_id.product_tmpl_id", "=", tmpl_id],
            ["location_id.usage", "=", "internal"]
        ]]),
        json!({}),
    )
    .await;
    assert!(by_template.as_array().unwrap().contains(&json!(qid)));

    rpc(
        &sim,
        "stock.quant",
        "write",
        json!([[qid], {"inventory_quantity": qty + 15.0}]),
        json!({}),
    )
    .await;
    let applied = call(
        &sim.url(),
        "stock.quant",
        "action_apply_inventory",
        json!([[qid]]),
        json!({}),
    )
    .await;
    assert_eq!(
        applied,
        json!({"jsonrpc": "2.0", "id": 1}),
        "no result key, like Odoo"
    );

    let after = read_one(&sim, "stock.quant", qid, QUANT_FIELDS).await;
    assert_eq!(after["quantity"], qty + 15.0);
    assert_eq!(after["inventory_quantity"], 0.0);
    assert_ne!(after["write_date"], quant["write_date"]);
    let variant_after = read_one(
        &sim,
        "product.product",
        pid,
        &["qty_available", "free_qty", "write_date"],
    )
    .await;
    assert_eq!(variant_after["qty_available"], qty + 15.0);
    assert_eq!(variant_after["free_qty"], qty + 15.0 - reserved);
    assert_eq!(variant_after["write_date"], variant["write_date"]);
    let tmpl_after = read_one(
        &sim,
        "product.template",
        tmpl_id,
        &["qty_available", "write_date"],
    )
    .await;
    assert_eq!(tmpl_after["write_date"], tmpl["write_date"]);
    assert_eq!(
        tmpl_after["qty_available"].as_f64().unwrap() - tmpl["qty_available"].as_f64().unwrap(),
        15.0
    );
}

#[tokio::test]
async fn a_new_quant_counts_once_applied_and_only_in_internal_locations() {
    let sim = common::generated(200, 3).await;
    let storable = rpc(
        &sim,
        "product.template",
        "search_read",
        json!([[["is_storable", "=", true], ["qty_available", "=", 0]]]),
        json!({"fields": ["product_variant_ids", "write_date"], "limit": 1}),
    )
    .await;
    let pid = storable[0]["product_variant_ids"][0].as_i64().unwrap();
    let customers = rpc(
        &sim,
        "stock.location",
        "search",
        json!([[["usage", "=", "customer"]]]),
        json!({}),
    )
    .await;
    let qid = rpc(
        &sim,
        "stock.quant",
        "create",
        json!([{"product_id": pid, "location_id": 8, "inventory_quantity": 40.0}]),
        json!({}),
    )
    .await
    .as_i64()
    .unwrap();
    rpc(
        &sim,
        "stock.quant",
        "create",
        json!([{"product_id": pid, "location_id": customers[0], "quantity": 7.0}]),
        json!({}),
    )
    .await;
    assert_eq!(
        read_one(&sim, "product.product", pid, &["qty_available"]).await["qty_available"],
        0.0
    );
    call(
        &sim.url(),
        "stock.quant",
        "action_apply_inventory",
        json!([[qid]]),
        json!({}),
    )
    .await;
    let variant = read_one(&sim, "product.product", pid, &["qty_available", "free_qty"]).await;
    assert_eq!(variant["qty_available"], 40.0);
    assert_eq!(variant["free_qty"], 40.0);
    let tmpl = read_one(
        &sim,
        "product.template",
        storable[0]["id"].as_i64().unwrap(),
        &["qty_available", "write_date"],
    )
    .await;
    assert_eq!(tmpl["qty_available"], 40.0);
    assert_eq!(tmpl["write_date"], storable[0]["write_date"]);
}

#[tokio::test]
async fn a_price_extra_write_changes_lst_price_without_moving_any_write_date() {
    let sim = common::generated(200, 3).await;
    let variants = rpc(
        &sim,
        "product.product",
        "search_read",
        json!([[["product_template_attribute_value_ids", "!=", false]]]),
        json!({"fields": ["product_tmpl_id", "product_template_attribute_value_ids", "lst_price", "price_extra", "write_date"], "limit": 1}),
    )
    .await;
    let v = &variants[0];
    let ptav = v["product_template_attribute_value_ids"][0]
        .as_i64()
        .unwrap();
    let old_extra = read_one(
        &sim,
        "product.template.attribute.value",
        ptav,
        &["price_extra"],
    )
    .await["price_extra"]
        .as_f64()
        .unwrap();
    let tmpl_id = v["product_tmpl_id"][0].as_i64().unwrap();
    let tmpl = read_one(&sim, "product.template", tmpl_id, &["write_date"]).await;
    rpc(
        &sim,
        "product.template.attribute.value",
        "write",
        json!([[ptav], {"price_extra": old_extra + 60.0}]),
        json!({}),
    )
    .await;
    let vid = v["id"].as_i64().unwrap();
    let after = read_one(
        &sim,
        "product.product",
        vid,
        &["lst_price", "price_extra", "write_date"],
    )
    .await;
    assert_eq!(
        after["lst_price"].as_f64().unwrap(),
        v["lst_price"].as_f64().unwrap() + 60.0
    );
    assert_eq!(after["write_date"], v["write_date"]);
    assert_eq!(
        read_one(&sim, "product.template", tmpl_id, &["write_date"]).await,
        tmpl
    );
}

#[tokio::test]
async fn pricelist_items_have_their_own_write_date_and_move_no_product() {
    let sim = common::generated(200, 3).await;
    let pricelists = rpc(
        &sim,
        "product.pricelist",
        "search_read",
        json!([[]]),
        json!({"fields": ["name", "display_name"]}),
    )
    .await;
    assert_eq!(pricelists[0]["name"], "Public Pricelist");
    let tmpl = read_one(
        &sim,
        "product.template",
        11,
        &["write_date", "product_variant_ids"],
    )
    .await;
    let vid = tmpl["product_variant_ids"][0].as_i64().unwrap();
    let variant = read_one(&sim, "product.product", vid, &["write_date"]).await;
    let item = rpc(
        &sim,
        "product.pricelist.item",
        "create",
        json!([{"pricelist_id": 1, "applied_on": "1_product", "product_tmpl_id": 11, "compute_price": "fixed", "fixed_price": 299.0}]),
        json!({}),
    )
    .await
    .as_i64()
    .unwrap();
    rpc(
        &sim,
        "product.pricelist.item",
        "write",
        json!([[item], {"fixed_price": 289.0}]),
        json!({}),
    )
    .await;
    let fields = [
        "id",
        "pricelist_id",
        "applied_on",
        "product_tmpl_id",
        "compute_price",
        "fixed_price",
        "write_date",
    ];
    let found = rpc(
        &sim,
        "product.pricelist.item",
        "search_read",
        json!([[["id", "=", item]]]),
        json!({"fields": fields}),
    )
    .await;
    let got = &found[0];
    assert_eq!(got["pricelist_id"], json!([1, "Public Pricelist (USD)"]));
    assert_eq!(got["product_tmpl_id"][0], 11);
    assert_eq!(got["fixed_price"], 289.0);
    assert_eq!(got["applied_on"], "1_product");
    assert!(got["write_date"].is_string());
    assert_eq!(
        read_one(
            &sim,
            "product.template",
            11,
            &["write_date", "product_variant_ids"]
        )
        .await,
        tmpl
    );
    assert_eq!(
        read_one(&sim, "product.product", vid, &["write_date"]).await,
        variant
    );
}
