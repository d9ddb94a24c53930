//! What a storefront renders beyond the catalog fields: variant attributes (the picker), the
//! website category tree, SEO texts, ribbon, currency, and which products a shop shows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A translatable name's other languages (`SYNC_LANGS`): lang code -> name in that language.
pub type NameTranslations = BTreeMap<String, String>;

/// `name` in `lang` when Odoo has it there, else the base language's.
pub fn name_in<'a>(
    name: &'a str,
    translations: &'a NameTranslations,
    lang: Option<&str>,
) -> &'a str {
    lang.and_then(|lang| translations.get(lang))
        .map_or(name, String::as_str)
}

/// A product's storefront data. Everything but `currency` and `attributes` needs Odoo's
/// `website_sale`; without it those stay empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Storefront {
    pub website_id: Option<i64>,
    pub website_url: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    /// The ribbon's name (`website_ribbon_id`).
    pub ribbon: Option<String>,
    /// ISO code of the template's currency.
    pub currency: Option<String>,
    /// In Odoo's order: attributes by (sequence, id), values by (sequence, id).
    pub attributes: Vec<ProductAttribute>,
}

/// One `product.attribute` as one template uses it (its attribute line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductAttribute {
    /// `product.attribute` id.
    pub id: i64,
    pub name: String,
    /// radio, select, color, pills or multi.
    pub display_type: String,
    pub values: Vec<AttributeValue>,
    #[serde(default)]
    pub translations: NameTranslations,
}

/// One value of an attribute line (a `product.template.attribute.value`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeValue {
    /// `product.attribute.value` id: the same for every product ("Red" is one id).
    pub id: i64,
    /// The `product.template.attribute.value` id that variants point to.
    pub ptav_id: i64,
    pub name: String,
    pub html_color: Option<String>,
    pub price_extra: f64,
    #[serde(default)]
    pub translations: NameTranslations,
}

/// One website category (`product.public.category`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicCategory {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
    pub sequence: i64,
    pub website_id: Option<i64>,
    #[serde(default)]
    pub translations: NameTranslations,
}

/// Which products the catalog API shows (`CATALOG_SCOPE`, `WEBSITE_ID`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CatalogScope {
    /// Every product synced.
    #[default]
    All,
    /// Only what a shop shows: published, saleable and active products, of `website` (or of no
    /// website) when one is given.
    Website { website: Option<i64> },
}

impl CatalogScope {
    /// Whether a product with these flags is shown.
    pub fn shows(
        &self,
        is_published: bool,
        sale_ok: bool,
        active: bool,
        website_id: Option<i64>,
    ) -> bool {
        match self {
            CatalogScope::All => true,
            CatalogScope::Website { website } => {
                is_published
                    && sale_ok
                    && active
                    && website.is_none_or(|w| website_id.is_none_or(|p| p == w))
            }
        }
    }
}

/// Odoo's `ir.http._slug`: the name slugified plus `-ID`, or the bare id when the name slugifies
/// to nothing. Odoo's slugify (without python-slugify): NFKD with non-ASCII dropped, every run of
/// characters other than ASCII letters and digits (`_` included) one `-`, `-` trimmed, lower case.
pub fn slug(name: &str, id: i64) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::new();
    for c in name.nfkd().filter(char::is_ascii) {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    match trimmed.is_empty() {
        true => id.to_string(),
        false => format!("{trimmed}-{id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slug_is_the_lowercase_name_with_runs_of_other_characters_as_one_dash_then_the_id() {
        assert_eq!(slug("Customizable Desk", 9), "customizable-desk-9");
        assert_eq!(slug("  Desk -- (Large) ", 3), "desk-large-3");
        assert_eq!(slug("Étagère d'extérieur", 4), "etagere-d-exterieur-4");
        assert_eq!(slug("snake_case", 5), "snake-case-5");
        assert_eq!(slug("¿?", 6), "6");
        assert_eq!(slug("Größe", 7), "groe-7");
    }

    #[test]
    fn a_name_is_shown_in_the_asked_language_when_odoo_has_it_there_else_in_the_base_one() {
        let translations = NameTranslations::from([("fr_FR".to_string(), "Couleur".to_string())]);
        assert_eq!(name_in("Color", &translations, Some("fr_FR")), "Couleur");
        assert_eq!(name_in("Color", &translations, Some("de_DE")), "Color");
        assert_eq!(name_in("Color", &translations, None), "Color");
        assert_eq!(
            name_in("Color", &NameTranslations::new(), Some("fr_FR")),
            "Color"
        );
    }

    #[test]
    fn the_website_scope_shows_published_saleable_active_products_of_its_website_or_none() {
        let all = CatalogScope::All;
        assert!(all.shows(false, false, false, Some(2)));
        let any = CatalogScope::Website { website: None };
        assert!(any.shows(true, true, true, Some(2)));
        assert!(!any.shows(false, true, true, None));
        assert!(!any.shows(true, false, true, None));
        assert!(!any.shows(true, true, false, None));
        let one = CatalogScope::Website { website: Some(1) };
        assert!(one.shows(true, true, true, None));
        assert!(one.shows(true, true, true, Some(1)));
        assert!(!one.shows(true, true, true, Some(2)));
    }
}
