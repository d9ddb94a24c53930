//! The catalog API for the website: product lists, one product, categories, the change feed.
//! Access checks, ETags and the response cache are the `catalog_cache` middleware's.

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::{ListLimit, QueryParams};
use super::facets::{self, FacetsView};
use super::views::{
    category_tree, CategoryView, PriceContext, PricelistView, ProductView, PublicCategoryView,
};
use super::AppState;
use crate::domain::pricelist::Pricelist;
use crate::domain::{CatalogScope, StoredProduct};
use crate::store::{public_category_tree, ProductQuery, ProductSort};

const PRODUCT_PAGE: ListLimit = ListLimit::new(24, 100);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ListParams {
    /// Products per page, 1 to 100 (default 24).
    limit: Option<u32>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
    /// A category id: its products and those of all its sub-categories. With
    /// `CATALOG_SCOPE=website`, a website category (`/api/public-categories`).
    category: Option<i64>,
    /// Full text over names, SKUs and barcodes, accent- and case-insensitive.
    q: Option<String>,
    /// `name` (default), `price` or `updated` (most recent first).
    sort: Option<String>,
    /// Include archived products.
    include_inactive: Option<bool>,
    /// Language of names and descriptions, e.g. `fr_FR`.
    lang: Option<String>,
    /// A synced pricelist's id (`/api/pricelists`): `price` and `currency` become its.
    pricelist: Option<i64>,
    /// Products whose price (`price`, the sales price) is at least this.
    #[param(value_type = Option<f64>)]
    price_min: Option<String>,
    /// Products whose price is at most this.
    #[param(value_type = Option<f64>)]
    price_max: Option<String>,
    /// `true`: only products with a variant still sold that has stock free to sell.
    #[param(value_type = Option<bool>)]
    in_stock: Option<String>,
    /// `true`: the answer has `facets`, counted for these filters (whatever the page).
    #[param(value_type = Option<bool>)]
    facets: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductList {
    pub products: Vec<ProductView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// Only with `facets=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<FacetsView>,
}

#[utoipa::path(get, path = "/api/products", tag = "catalog",
    params(ListParams, ("attr" = Option<Vec<i64>>, Query, explode, style = Form,
        description = "Attribute value ids (a product's `attributes[].values[].id`), repeated: \
            `attr=1&attr=2`. Values of one attribute are OR-ed, attributes AND-ed; an id no product \
            offers is a 400.")),
    responses((status = 200, body = ProductList), (status = 400, description = "bad parameter or cursor")))]
pub async fn list_products(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ProductList>, ApiError> {
    let (attr, rest) = facets::split_attr(raw.as_deref())?;
    let params: ListParams = serde_urlencoded::from_str(&rest).map_err(|e| {
        ApiError::bad_request(
            "invalid_query",
            format!("Failed to deserialize query string: {e}"),
        )
    })?;
    let (price_min, price_max) =
        facets::price_range(params.price_min.as_deref(), params.price_max.as_deref())?;
    let in_stock = facets::flag("in_stock", params.in_stock.as_deref())?;
    let with_facets = facets::flag("facets", params.facets.as_deref())?;
    let limit = PRODUCT_PAGE.of_query(params.limit)?;
    let sort = match params.sort.as_deref().unwrap_or("name") {
        "name" => ProductSort::Name,
        "price" => ProductSort::Price,
        "updated" => ProductSort::Updated,
        other => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("sort must be name, price or updated, got '{other}'"),
            ))
        }
    };
    let include_inactive = params.include_inactive.unwrap_or(false);
    let text = params.q.filter(|q| !q.trim().is_empty());
    let attributes = facets::attribute_filters(state.store.as_ref(), &attr).await?;
    // A cursor is only good for the filters it was made under.
    let filters = format!(
        "{sort:?}|{:?}|{:?}|{include_inactive}|{attributes:?}|{price_min:?}|{price_max:?}|{in_stock}",
        params.category, text
    );
    let after = params
        .cursor
        .as_deref()
        .map(|token| state.cursors.verify(token, &filters))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_cursor", e.to_string()))?;
    let scope = state.settings.catalog_scope;
    let website = matches!(scope, CatalogScope::Website { .. });
    let query = ProductQuery {
        limit,
        after,
        category: params.category.filter(|_| !website),
        text,
        sort,
        include_inactive,
        scope,
        public_category: params.category.filter(|_| website),
        attributes,
        price_min,
        price_max,
        in_stock,
    };
    // The pricelists (for `prices` and `?pricelist=`) are read beside the page, not after it.
    let (page, facets, pricelists) = if with_facets {
        let (page, facets, pricelists) = futures::try_join!(
            state.store.list_products(&query),
            state.store.facets(&query),
            state.store.pricelists(),
        )?;
        let facets = FacetsView::new(facets, params.lang.as_deref());
        (page, Some(facets), pricelists)
    } else {
        let (page, pricelists) =
            futures::try_join!(state.store.list_products(&query), state.store.pricelists())?;
        (page, None, pricelists)
    };
    let pricing = price_context(&pricelists, params.pricelist)?;
    let lang = params.lang.as_deref();
    let ids: Vec<i64> = page.products.iter().map(|p| p.product.id).collect();
    let images = state.store.product_images(&ids).await?;
    Ok(Json(ProductList {
        next_cursor: page
            .next
            .as_ref()
            .map(|key| state.cursors.sign(key, &filters)),
        products: page
            .products
            .into_iter()
            .map(|p| ProductView::new(p, lang, pricing).with_images(&images))
            .collect(),
        facets,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LangParam {
    /// Language of names and descriptions, e.g. `fr_FR`.
    lang: Option<String>,
    /// A synced pricelist's id (`/api/pricelists`): `price` and `currency` become its.
    pricelist: Option<i64>,
}

#[utoipa::path(get, path = "/api/products/{id}", params(("id" = i64, Path, description = "Odoo product.template id"), LangParam),
    tag = "catalog", responses((status = 200, body = ProductView), (status = 404, description = "unknown or deleted")))]
pub async fn product_by_id(
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<LangParam>,
) -> Result<Json<ProductView>, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_path",
            format!("product id must be an integer, got '{id}'"),
        )
    })?;
    let found = state
        .store
        .product(id)
        .await?
        .filter(|p| p.deleted_at.is_none() && in_scope(&state, p));
    let product = found.ok_or_else(|| ApiError::NotFound(format!("product {id} not found")))?;
    let pricelists = state.store.pricelists().await?;
    let pricing = price_context(&pricelists, params.pricelist)?;
    let images = state.store.product_images(&[id]).await?;
    Ok(Json(
        ProductView::new(product, params.lang.as_deref(), pricing).with_images(&images),
    ))
}

#[utoipa::path(get, path = "/api/products/by-sku/{sku}", params(("sku" = String, Path, description = "default_code of the product or of one of its variants"), LangParam),
    tag = "catalog", responses((status = 200, body = ProductView), (status = 404, description = "unknown or deleted")))]
pub async fn product_by_sku(
    State(state): State<AppState>,
    Path(sku): Path<String>,
    QueryParams(params): QueryParams<LangParam>,
) -> Result<Json<ProductView>, ApiError> {
    // Odoo stores SKUs in PostgreSQL, which refuses a NUL in text; neither store is asked.
    if sku.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_sku",
            "the SKU contains a control character",
        ));
    }
    let product = state
        .store
        .product_by_sku(&sku)
        .await?
        .filter(|p| in_scope(&state, p));
    let product =
        product.ok_or_else(|| ApiError::NotFound(format!("no product with SKU '{sku}'")))?;
    let pricelists = state.store.pricelists().await?;
    let pricing = price_context(&pricelists, params.pricelist)?;
    let images = state.store.product_images(&[product.product.id]).await?;
    Ok(Json(
        ProductView::new(product, params.lang.as_deref(), pricing).with_images(&images),
    ))
}

/// The synced pricelists, and the one `?pricelist=` asks for, which must be one of them.
fn price_context(
    pricelists: &[Pricelist],
    asked: Option<i64>,
) -> Result<PriceContext<'_>, ApiError> {
    let selected = match asked {
        None => None,
        Some(id) => Some(pricelists.iter().find(|p| p.id == id).ok_or_else(|| {
            let synced: Vec<String> = pricelists.iter().map(|p| p.id.to_string()).collect();
            ApiError::bad_request(
                "unknown_pricelist",
                match synced.is_empty() {
                    true => format!(
                        "pricelist {id} is not synced: no pricelist is (SYNC_PRICELIST_IDS)"
                    ),
                    false => format!(
                        "pricelist {id} is not synced; the synced ones are {} (SYNC_PRICELIST_IDS)",
                        synced.join(", ")
                    ),
                },
            )
        })?),
    };
    Ok(PriceContext {
        pricelists,
        selected,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PricelistList {
    pub pricelists: Vec<PricelistView>,
}

#[utoipa::path(get, path = "/api/pricelists", tag = "catalog",
    responses((status = 200, body = PricelistList, example = json!({"pricelists": [
        {"id": 1, "name": "Public Pricelist", "currency": "USD"},
        {"id": 5, "name": "Europe", "currency": "EUR"}]}))))]
pub async fn pricelists(State(state): State<AppState>) -> Result<Json<PricelistList>, ApiError> {
    Ok(Json(PricelistList {
        pricelists: state
            .store
            .pricelists()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}

/// Whether `CATALOG_SCOPE` shows the product.
fn in_scope(state: &AppState, stored: &StoredProduct) -> bool {
    let p = &stored.product;
    let website = p.storefront.website_id;
    state
        .settings
        .catalog_scope
        .shows(p.is_published, p.sale_ok, p.active, website)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicCategoryList {
    pub categories: Vec<PublicCategoryView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PublicCategoryParams {
    /// Language of the names, e.g. `fr_FR` (one of `SYNC_LANGS`; others show Odoo's base names).
    lang: Option<String>,
}

#[utoipa::path(get, path = "/api/public-categories", tag = "catalog",
    params(PublicCategoryParams),
    responses((status = 200, body = PublicCategoryList, example = json!({"categories": [{
        "id": 1, "name": "Furniture", "parentId": null, "sequence": 0, "path": [1], "productCount": 12,
        "children": [{"id": 3, "name": "Desks", "parentId": 1, "sequence": 2, "path": [1, 3],
            "productCount": 5, "children": []}]}]}))))]
pub async fn public_categories(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<PublicCategoryParams>,
) -> Result<Json<PublicCategoryList>, ApiError> {
    let (categories, members) = futures::try_join!(
        state.store.public_categories(),
        state
            .store
            .public_category_members(state.settings.catalog_scope),
    )?;
    Ok(Json(PublicCategoryList {
        categories: public_category_tree(categories, &members)
            .into_iter()
            .map(|node| PublicCategoryView::new(node, params.lang.as_deref()))
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryList {
    pub categories: Vec<CategoryView>,
}

#[utoipa::path(get, path = "/api/categories", tag = "catalog", responses((status = 200, body = CategoryList)))]
pub async fn categories(State(state): State<AppState>) -> Result<Json<CategoryList>, ApiError> {
    Ok(Json(CategoryList {
        categories: category_tree(state.store.category_tree().await?),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesParams {
    /// `nextToken` of the previous answer; absent: from the beginning.
    since: Option<String>,
    /// Changes per answer, 1 to 1000 (default 500).
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeView {
    pub id: i64,
    /// `upsert` (created or changed: fetch it again) or `delete`.
    pub action: String,
    pub changed_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeFeed {
    pub changes: Vec<ChangeView>,
    pub next_token: String,
    /// More changes are waiting: ask again with `nextToken` at once.
    pub has_more: bool,
}

#[utoipa::path(get, path = "/api/changes", params(ChangesParams), tag = "catalog",
    responses((status = 200, body = ChangeFeed), (status = 400, description = "bad token")))]
pub async fn changes(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<ChangesParams>,
) -> Result<Json<ChangeFeed>, ApiError> {
    let limit = ListLimit::new(500, 1000).of_query(params.limit)?;
    let since = params
        .since
        .as_deref()
        .map(decode_change_token)
        .transpose()?
        .unwrap_or(0);
    let page = state.store.changes_since(since, limit).await?;
    let mut changes = Vec::with_capacity(page.changes.len());
    for c in page.changes {
        // Out of the scope is gone for the website: a product unpublished is a deletion to it.
        let shown = match (c.deleted, state.settings.catalog_scope) {
            (true, _) => false,
            (false, CatalogScope::All) => true,
            (false, _) => state
                .store
                .product(c.product_id)
                .await?
                .is_some_and(|p| in_scope(&state, &p)),
        };
        changes.push(ChangeView {
            id: c.product_id,
            action: if shown { "upsert" } else { "delete" }.to_string(),
            changed_at: c.changed_at,
        });
    }
    Ok(Json(ChangeFeed {
        changes,
        next_token: encode_change_token(page.last_seq),
        has_more: page.has_more,
    }))
}

/// The same token the site webhooks carry as `changeToken`.
fn encode_change_token(seq: i64) -> String {
    crate::domain::site_event::change_token(seq)
}

fn decode_change_token(token: &str) -> Result<i64, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "invalid_token",
            format!("'{token}' is not a token from /api/changes"),
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix("changes:")
        .and_then(|seq| seq.parse::<i64>().ok())
        .filter(|seq| *seq >= 0)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_tokens_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_change_token(&encode_change_token(42)).unwrap(), 42);
        assert!(decode_change_token("bm90LWEtdG9rZW4").is_err());
        assert!(decode_change_token("%%").is_err());
    }

    proptest::proptest! {
        #[test]
        fn no_change_token_makes_the_feed_panic(token in ".{0,80}") {
            let _ = decode_change_token(&token);
        }

        #[test]
        fn every_sequence_round_trips_through_its_token(seq in 0..=i64::MAX) {
            proptest::prop_assert_eq!(decode_change_token(&encode_change_token(seq)).ok(), Some(seq));
        }
    }
}
