//! What the catalog should hold, read straight from the simulator over JSON-RPC and shaped like
//! `catalog export`. Written apart from the engine so that a bug there cannot hide here.

use std::collections::BTreeMap;

use odoo_rpc::{Context, Domain, OdooApi, SearchOptions};
use serde_json::{json, Map, Value};

pub async fn expected_catalog(odoo: &dyn OdooApi, langs: &[&str]) -> BTreeMap<i64, Value> {
    let all = SearchOptions {
        order: Some("id".into()),
        context: Context::default().active_test(false),
        ..Default::default()
    };
    let fields = [
        "id",
        "name",
        "default_code",
        "barcode",
        "list_price",
        "categ_id",
        "description_sale",
        "active",
        "sale_ok",
        "is_published",
        "public_categ_ids",
        "write_date",
    ];
    let templates = odoo
        .search_read("product.template", &Domain::all(), &fields, &all)
        .await
        .unwrap();
    let variant_fields = [
        "id",
        "product_tmpl_id",
        "default_code",
        "barcode",
        "lst_price",
        "active",
        "product_template_attribute_value_ids",
        "write_date",
    ];
    let variants = odoo
        .search_read("product.product", &Domain::all(), &variant_fields, &all)
        .await
        .unwrap();
    let mut variants_by_template: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for variant in variants {
        let mut variant = variant.into_inner();
        let owner = variant.remove("product_tmpl_id").unwrap()[0]
            .as_i64()
            .unwrap();
        variants_by_template
            .entry(owner)
            .or_default()
            .push(Value::Object(variant));
    }
    let mut translations: BTreeMap<i64, Map<String, Value>> = BTreeMap::new();
    for lang in langs {
        let options = SearchOptions {
            context: Context::default().active_test(false).lang(*lang),
            ..all.clone()
        };
        let rows = odoo
            .search_read(
                "product.template",
                &Domain::all(),
                &["name", "description_sale"],
                &options,
            )
            .await
            .unwrap();
        for row in rows {
            let id = row["id"].as_i64().unwrap();
            let value = json!({"name": row["name"], "description_sale": row["description_sale"]});
            translations
                .entry(id)
                .or_default()
                .insert(lang.to_string(), value);
        }
    }
    templates
        .into_iter()
        .map(|template| {
            let mut product = template.into_inner();
            let id = product["id"].as_i64().unwrap();
            product.insert(
                "variants".into(),
                Value::Array(variants_by_template.remove(&id).unwrap_or_default()),
            );
            product.insert(
                "translations".into(),
                Value::Object(translations.remove(&id).unwrap_or_default()),
            );
            (id, Value::Object(product))
        })
        .collect()
}
