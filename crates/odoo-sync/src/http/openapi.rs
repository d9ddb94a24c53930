//! The OpenAPI document of every route, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{catalog, facets, images, metrics, site_webhooks, sync, views, webhook};

#[derive(OpenApi)]
#[openapi(
    info(title = "odoo-sync", description = "Product catalog synced from Odoo, and the sync that keeps it fresh."),
    paths(
        catalog::list_products, catalog::product_by_id, catalog::product_by_sku, catalog::categories, catalog::public_categories, catalog::pricelists, catalog::changes,
        images::image,
        sync::start_sync, sync::status, sync::runs, sync::events, sync::stream_ticket, sync::cron,
        webhook::receive, webhook::list, webhook::retry,
        site_webhooks::list, site_webhooks::replay,
        metrics::scrape,
    ),
    components(schemas(
        views::ProductView, views::CategoryRef, views::VariantView, views::StockView, views::TranslationView, views::CategoryView,
        views::SeoView, views::AttributeView, views::AttributeValueView, views::VariantAttributeView,
        views::PublicCategoryView, catalog::PublicCategoryList, views::PriceView, views::PricelistView, catalog::PricelistList,
        facets::FacetsView, facets::AttributeFacetView, facets::ValueCountView, facets::PriceRangeView, facets::CategoryCountView,
        views::ImageView,
        views::RunView, catalog::ProductList, catalog::CategoryList, catalog::ChangeFeed, catalog::ChangeView,
        sync::SyncBody, sync::TicketView, sync::StepView, sync::StartedView, sync::StatusView, sync::RunList,
        webhook::Accepted, webhook::EventView, webhook::EventList,
        site_webhooks::DeliveryView, site_webhooks::DeliveryList,
    )),
    modifiers(&BearerSchemes),
    tags((name = "catalog", description = "What the website reads"), (name = "sync", description = "Starting and watching syncs"), (name = "webhooks", description = "Odoo automation rules in, the inbox out"), (name = "site webhooks", description = "Signed catalog.changed events out to websites (SITE_WEBHOOK_URLS)"), (name = "operations", description = "Metrics for Prometheus"))
)]
pub struct ApiDoc;

struct BearerSchemes;

impl Modify for BearerSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in ["admin", "cron", "metrics"] {
            let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
            components.add_security_scheme(name, SecurityScheme::Http(scheme));
        }
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generated clients name their functions and types after operation ids: two routes with
    /// the same one make a client that does not compile.
    #[test]
    fn every_operation_id_is_unique() {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut seen = std::collections::BTreeMap::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let Some(id) = operation["operationId"].as_str() else {
                    continue;
                };
                if let Some(first) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                    panic!("operationId {id} of {method} {path} is also that of {first}");
                }
            }
        }
        assert!(seen.len() > 10, "{seen:?}");
    }
}
