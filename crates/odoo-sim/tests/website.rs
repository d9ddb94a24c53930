//! website_sale's models and fields in the generated catalog, and the database without it.

mod common;

use common::{call, generated, rpc};
use serde_json::json;

#[tokio::test]
async fn generated_products_carry_attributes_with_colours_a_three_level_category_tree_and_website_fields(
) {
    let sim = generated(300, 7).await;
    let colours = rpc(
        &sim,
        "product.attribute.value",
        "search_read",
        json!([[["html_color", "!=", false]]]),
        json!({"fields": ["name", "html_color", "attribute_id"]}),
    )
    .await;
    assert!(
        !colours.as_array().unwrap().is_empty(),
        "some values have an html_color"
    );
    let ptavs = rpc(
        &sim,
        "product.template.attribute.value",
        "search_read",
        json!([[["html_color", "!=", false]]]),
        json!({"fields": ["name", "html_color", "product_attribute_value_id"], "limit": 1}),
    )
    .await;
    assert!(
        ptavs[0]["html_color"].as_str().unwrap().starts_with('#'),
        "{ptavs}"
    );
    let deepest = rpc(
        &sim,
        "product.public.category",
        "search_read",
        json!([[["parent_id.parent_id", "!=", false]]]),
        json!({"fields": ["parent_path"]}),
    )
    .await;
    let path = deepest[0]["parent_path"].as_str().unwrap();
    assert_eq!(path.matches('/').count(), 3, "three levels: {path}");
    let unpublished = rpc(
        &sim,
        "product.template",
        "search_count",
        json!([[["is_published", "=", false]]]),
        json!({}),
    )
    .await;
    assert!(unpublished.as_i64().unwrap() > 0);
    let shown = rpc(
        &sim,
        "product.template",
        "read",
        json!([[1]]),
        json!({"fields": ["name", "website_url", "currency_id", "website_ribbon_id"]}),
    )
    .await;
    let name = shown[0]["name"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .replace(' ', "-");
    assert_eq!(shown[0]["website_url"], json!(format!("/shop/{name}-1")));
    assert_eq!(shown[0]["currency_id"], json!([1, "USD"]));
    let currency = rpc(
        &sim,
        "res.currency",
        "read",
        json!([[1]]),
        json!({"fields": ["name", "symbol"]}),
    )
    .await;
    assert_eq!(
        (currency[0]["name"].clone(), currency[0]["symbol"].clone()),
        (json!("USD"), json!("$"))
    );
}

#[tokio::test]
async fn without_website_sale_its_fields_and_models_fail_as_unknown_ones_do_in_odoo() {
    let sim = generated(20, 7).await;
    sim.uninstall_website();
    let answer = call(
        &sim.url(),
        "product.template",
        "search_read",
        json!([[]]),
        json!({"fields": ["name", "public_categ_ids"], "limit": 1}),
    )
    .await;
    assert_eq!(
        answer["error"]["data"]["name"], "builtins.ValueError",
        "{answer}"
    );
    assert_eq!(
        answer["error"]["data"]["message"],
        "Invalid field 'public_categ_ids' on model 'product.template'"
    );
    let answer = call(
        &sim.url(),
        "product.public.category",
        "search_read",
        json!([[]]),
        json!({}),
    )
    .await;
    assert_eq!(
        answer["error"]["data"]["message"],
        "Object product.public.category doesn't exist"
    );
    let fields = rpc(
        &sim,
        "product.template",
        "fields_get",
        json!([]),
        json!({"attributes": ["type"]}),
    )
    .await;
    assert!(fields.get("is_published").is_none() && fields.get("website_url").is_none());
    assert!(fields.get("attribute_line_ids").is_some() && fields.get("currency_id").is_some());
    let rest = rpc(
        &sim,
        "product.template.attribute.value",
        "search_read",
        json!([[]]),
        json!({"fields": ["name", "price_extra"], "limit": 1}),
    )
    .await;
    assert_eq!(rest.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_renamed_attribute_value_is_renamed_in_every_template_attribute_value_using_it() {
    let sim = generated(300, 7).await;
    let ptav = rpc(
        &sim,
        "product.template.attribute.value",
        "search_read",
        json!([[]]),
        json!({"fields": ["product_attribute_value_id"], "limit": 1}),
    )
    .await;
    let value = ptav[0]["product_attribute_value_id"][0].as_i64().unwrap();
    rpc(
        &sim,
        "product.attribute.value",
        "write",
        json!([[value], {"name": "Crimson"}]),
        json!({}),
    )
    .await;
    let after = rpc(
        &sim,
        "product.template.attribute.value",
        "search_read",
        json!([[["product_attribute_value_id", "=", value]]]),
        json!({"fields": ["name"]}),
    )
    .await;
    assert!(
        after
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] == "Crimson"),
        "{after}"
    );
}
