//! The facet filters of `GET /api/products` (`attr`, repeated; `price_min`, `price_max`,
//! `in_stock`, `facets`), read and checked here with errors that name the parameter, and the
//! facets as the API answers them. `attr` is taken out of the raw query string before the rest
//! is read into `ListParams`: a repeated key is not something serde_urlencoded's structs take.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use crate::domain::name_in;
use crate::store::{AttributeFilter, CatalogStore, Facets};

/// The `attr` values of a query string, and the rest of it (re-encoded) for `ListParams`.
pub fn split_attr(raw: Option<&str>) -> Result<(Vec<String>, String), ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|e| {
            ApiError::bad_request(
                "invalid_query",
                format!("Failed to deserialize query string: {e}"),
            )
        })?;
    let (attr, rest): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(key, _)| key == "attr");
    let rest = serde_urlencoded::to_string(rest).map_err(|e| {
        ApiError::bad_request(
            "invalid_query",
            format!("Failed to deserialize query string: {e}"),
        )
    })?;
    Ok((attr.into_iter().map(|(_, value)| value).collect(), rest))
}

/// An empty value (`price_min=`, as an HTML form sends an empty field) is no value.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// A price bound: a finite number, 0 or more.
pub fn price(name: &str, value: Option<&str>) -> Result<Option<f64>, ApiError> {
    let Some(text) = given(value) else {
        return Ok(None);
    };
    match text.parse::<f64>() {
        Ok(price) if price.is_finite() && price >= 0.0 => Ok(Some(price)),
        _ => Err(ApiError::bad_request(
            "invalid_query",
            format!("{name} must be a number, 0 or more, got '{text}'"),
        )),
    }
}

/// Both bounds, the lower one not above the upper one.
pub fn price_range(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<(Option<f64>, Option<f64>), ApiError> {
    let (min, max) = (price("price_min", min)?, price("price_max", max)?);
    if let (Some(low), Some(high)) = (min, max) {
        if low > high {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("price_min ({low}) is above price_max ({high})"),
            ));
        }
    }
    Ok((min, max))
}

pub fn flag(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match given(value) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_request(
            "invalid_query",
            format!("{name} must be true or false, got '{other}'"),
        )),
    }
}

/// The `attr` values as product.attribute.value ids, grouped by their attribute (in attribute
/// id order, values sorted and once each); an id no product offers is refused.
pub async fn attribute_filters(
    store: &dyn CatalogStore,
    values: &[String],
) -> Result<Vec<AttributeFilter>, ApiError> {
    let mut ids = Vec::new();
    for text in values.iter().filter_map(|v| given(Some(v))) {
        let id = text
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_query",
                    format!(
                        "attr must be an attribute value id (a positive integer), got '{text}'"
                    ),
                )
            })?;
        ids.push(id);
    }
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let owners: BTreeMap<i64, i64> = store.attribute_of_values(&ids).await?.into_iter().collect();
    let mut groups: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for id in ids {
        let attribute = owners.get(&id).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                format!("attr {id} is not an attribute value of any product"),
            )
        })?;
        groups.entry(*attribute).or_default().push(id);
    }
    Ok(groups
        .into_iter()
        .map(|(attribute_id, values)| AttributeFilter {
            attribute_id,
            values,
        })
        .collect())
}

/// What a shop's filter sidebar shows, counted for the current filters.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "attributes": [{"id": 1, "name": "Color", "values": [
        {"id": 1, "name": "Red", "count": 12}, {"id": 2, "name": "Blue", "count": 7}]}],
    "price": {"min": 9.5, "max": 1250.0},
    "categories": [{"id": 1, "count": 19}, {"id": 3, "count": 4}]
}))]
pub struct FacetsView {
    /// Each attribute's values with the products they would show: every filter applies except
    /// that attribute's own `attr` values (ticking one value leaves the others countable).
    /// Attributes and values in id order; values no product would show are left out.
    pub attributes: Vec<AttributeFacetView>,
    /// The price range of the products every filter but `price_min`/`price_max` keeps.
    pub price: PriceRangeView,
    /// Categories (website categories with `CATALOG_SCOPE=website`) with how many of the
    /// filtered products `category=ID` would show (in it or below it, each once); id order,
    /// categories with none left out.
    pub categories: Vec<CategoryCountView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeFacetView {
    /// Odoo's product.attribute id.
    pub id: i64,
    pub name: String,
    pub values: Vec<ValueCountView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValueCountView {
    /// Odoo's product.attribute.value id: what `attr=` takes.
    pub id: i64,
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceRangeView {
    /// Null when no product matches.
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryCountView {
    pub id: i64,
    pub count: u64,
}

impl FacetsView {
    /// The facets, names in `lang` where Odoo has them.
    pub fn new(facets: Facets, lang: Option<&str>) -> Self {
        FacetsView {
            attributes: facets
                .attributes
                .into_iter()
                .map(|a| AttributeFacetView {
                    id: a.id,
                    name: name_in(&a.name, &a.translations, lang).to_string(),
                    values: a
                        .values
                        .into_iter()
                        .map(|v| ValueCountView {
                            id: v.id,
                            name: name_in(&v.name, &v.translations, lang).to_string(),
                            count: v.count,
                        })
                        .collect(),
                })
                .collect(),
            price: PriceRangeView {
                min: facets.price.min,
                max: facets.price.max,
            },
            categories: facets
                .categories
                .into_iter()
                .map(|c| CategoryCountView {
                    id: c.id,
                    count: c.count,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_attr_keys_are_taken_out_and_the_rest_kept() {
        let (attr, rest) = split_attr(Some("attr=1&limit=5&attr=%32&q=a+b")).unwrap();
        assert_eq!(attr, ["1", "2"]);
        assert_eq!(rest, "limit=5&q=a+b");
        assert_eq!(split_attr(None).unwrap(), (Vec::new(), String::new()));
    }

    #[test]
    fn bad_prices_and_flags_name_their_parameter() {
        assert_eq!(
            price_range(Some("1.5"), Some("")).unwrap(),
            (Some(1.5), None)
        );
        for (min, max, named) in [
            (Some("-1"), None, "price_min"),
            (None, Some("abc"), "price_max"),
            (Some("NaN"), None, "price_min"),
            (Some("9"), Some("3"), "price_min (9) is above price_max (3)"),
        ] {
            let error = price_range(min, max).unwrap_err().to_string();
            assert!(error.contains(named), "{error}");
        }
        assert!(flag("in_stock", Some("true")).unwrap());
        assert!(!flag("in_stock", None).unwrap());
        assert!(flag("in_stock", Some("yes"))
            .unwrap_err()
            .to_string()
            .contains("in_stock"));
    }
}
