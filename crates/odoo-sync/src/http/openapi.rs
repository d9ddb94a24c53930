//! The OpenAPI document of every route, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{catalog, sync, views, webhook};

#[derive(OpenApi)]
#[openapi(
    info(title = "odoo-sync", description = "Product catalog synced from Odoo, and the sync that keeps it fresh."),
    paths(
        catalog::list_products, catalog::product_by_id, catalog::product_by_sku, catalog::categories, catalog::public_categories, catalog::changes,
        sync::start_sync, sync::status, sync::runs, sync::events, sync::stream_ticket, sync::cron,
        webhook::receive, webhook::list, webhook::retry,
    ),
    components(schemas(
        views::ProductView, views::CategoryRef, views::VariantView, views::StockView, views::TranslationView, views::CategoryView,
        views::SeoView, views::AttributeView, views::AttributeValueView, views::VariantAttributeView,
        views::PublicCategoryView, catalog::PublicCategoryList,
        views::RunView, catalog::ProductList, catalog::CategoryList, catalog::ChangeFeed, catalog::ChangeView,
        sync::SyncBody, sync::TicketView, sync::StepView, sync::StartedView, sync::StatusView, sync::RunList,
        webhook::Accepted, webhook::EventView, webhook::EventList,
    )),
    modifiers(&BearerSchemes),
    tags((name = "catalog", description = "What the website reads"), (name = "sync", description = "Starting and watching syncs"), (name = "webhooks", description = "Odoo automation rules in, the inbox out"))
)]
pub struct ApiDoc;

struct BearerSchemes;

impl Modify for BearerSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in ["admin", "cron"] {
            let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
            components.add_security_scheme(name, SecurityScheme::Http(scheme));
        }
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
