//! The catalog as odoo-sync keeps it: templates with their variants, categories, translations.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::stock::StockLevel;
use super::storefront::Storefront;

/// A product template, named after Odoo's fields so exports read like Odoo's own answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub default_code: Option<String>,
    pub barcode: Option<String>,
    pub list_price: f64,
    pub categ_id: Option<i64>,
    pub description_sale: Option<String>,
    pub active: bool,
    pub sale_ok: bool,
    pub is_published: bool,
    pub public_categ_ids: Vec<i64>,
    #[serde(with = "crate::domain::catalog::odoo_datetime")]
    pub write_date: NaiveDateTime,
    pub variants: Vec<Variant>,
    /// Translated fields by language code (e.g. `fr_FR`).
    pub translations: BTreeMap<String, Translation>,
    /// Values of `SYNC_EXTRA_FIELDS`, as Odoo returned them.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Attributes, SEO texts, ribbon, currency (see `storefront`).
    #[serde(default)]
    pub storefront: Storefront,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub id: i64,
    pub default_code: Option<String>,
    pub barcode: Option<String>,
    pub lst_price: f64,
    pub active: bool,
    pub product_template_attribute_value_ids: Vec<i64>,
    #[serde(with = "crate::domain::catalog::odoo_datetime")]
    pub write_date: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Translation {
    pub name: String,
    pub description_sale: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub complete_name: String,
    pub parent_id: Option<i64>,
    #[serde(with = "crate::domain::catalog::odoo_datetime")]
    pub write_date: NaiveDateTime,
}

impl Product {
    /// Hash of everything odoo-sync keeps of the product: equal hashes mean nothing to rewrite.
    pub fn content_hash(&self) -> String {
        content_hash(self)
    }
}

impl Category {
    pub fn content_hash(&self) -> String {
        content_hash(self)
    }
}

fn content_hash<T: Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).expect("catalog types always serialise");
    let digest = Sha256::digest(&bytes);
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Odoo's wire format for datetimes: `YYYY-MM-DD HH:MM:SS`, UTC, second precision.
pub mod odoo_datetime {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

    pub fn serialize<S: Serializer>(
        value: &NaiveDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.format(FORMAT).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<NaiveDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        NaiveDateTime::parse_from_str(&text, FORMAT).map_err(serde::de::Error::custom)
    }
}

/// A product as stored, with what the store knows beyond Odoo's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProduct {
    pub product: Product,
    /// Stock by variant id, where the stock sweep or a webhook has seen it.
    pub stock: BTreeMap<i64, StockLevel>,
    /// Prices by variant id, then by pricelist id, where pricing has seen them (`None`: the
    /// pricelist's rule cannot be computed by odoo-sync).
    pub prices: BTreeMap<i64, BTreeMap<i64, Option<f64>>>,
    pub category: Option<Category>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub change_seq: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product() -> Product {
        Product {
            id: 7,
            name: "Desk".into(),
            default_code: Some("FURN_1".into()),
            barcode: None,
            list_price: 10.0,
            categ_id: Some(1),
            description_sale: None,
            active: true,
            sale_ok: true,
            is_published: false,
            public_categ_ids: vec![],
            write_date: NaiveDateTime::parse_from_str("2026-11-24 13:00:00", odoo_datetime::FORMAT)
                .unwrap(),
            variants: vec![],
            translations: BTreeMap::new(),
            extra: Default::default(),
            storefront: Default::default(),
        }
    }

    #[test]
    fn equal_products_hash_equal_and_any_change_moves_the_hash() {
        let a = product();
        let mut b = product();
        assert_eq!(a.content_hash(), b.content_hash());
        b.list_price = 10.5;
        assert_ne!(a.content_hash(), b.content_hash());
    }
}
