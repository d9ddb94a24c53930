//! The catalog as JSON shaped like Odoo's own answers: Odoo's field names, `false` for empty,
//! many2one as `[id, "name"]`. Used by `catalog export` and compared with Odoo in tests.

use serde_json::{json, Map, Value};

use crate::domain::{StoredProduct, Variant};

pub fn product_json(stored: &StoredProduct) -> Value {
    let product = &stored.product;
    let mut object = Map::new();
    object.insert("id".into(), json!(product.id));
    object.insert("name".into(), json!(product.name));
    object.insert("default_code".into(), or_false(&product.default_code));
    object.insert("barcode".into(), or_false(&product.barcode));
    object.insert("list_price".into(), json!(product.list_price));
    object.insert("categ_id".into(), categ_json(stored));
    object.insert(
        "description_sale".into(),
        or_false(&product.description_sale),
    );
    object.insert("active".into(), json!(product.active));
    object.insert("sale_ok".into(), json!(product.sale_ok));
    object.insert("is_published".into(), json!(product.is_published));
    object.insert("public_categ_ids".into(), json!(product.public_categ_ids));
    object.insert(
        "write_date".into(),
        json!(product.write_date.format("%Y-%m-%d %H:%M:%S").to_string()),
    );
    object.insert(
        "variants".into(),
        Value::Array(product.variants.iter().map(variant_json).collect()),
    );
    let translations: Map<String, Value> = product
        .translations
        .iter()
        .map(|(lang, t)| {
            (
                lang.clone(),
                json!({"name": t.name, "description_sale": or_false(&t.description_sale)}),
            )
        })
        .collect();
    object.insert("translations".into(), Value::Object(translations));
    for (field, value) in &product.extra {
        object.insert(field.clone(), value.clone());
    }
    if let Some(deleted_at) = stored.deleted_at {
        object.insert("deleted_at".into(), json!(deleted_at.to_rfc3339()));
    }
    Value::Object(object)
}

fn categ_json(stored: &StoredProduct) -> Value {
    match (&stored.category, stored.product.categ_id) {
        (Some(category), _) => json!([category.id, category.complete_name]),
        (None, Some(id)) => json!([id, ""]),
        (None, None) => Value::Bool(false),
    }
}

fn variant_json(variant: &Variant) -> Value {
    json!({
        "id": variant.id,
        "default_code": or_false(&variant.default_code),
        "barcode": or_false(&variant.barcode),
        "lst_price": variant.lst_price,
        "active": variant.active,
        "product_template_attribute_value_ids": variant.product_template_attribute_value_ids,
        "write_date": variant.write_date.format("%Y-%m-%d %H:%M:%S").to_string(),
    })
}

fn or_false(value: &Option<String>) -> Value {
    value
        .as_ref()
        .map_or(Value::Bool(false), |text| json!(text))
}
