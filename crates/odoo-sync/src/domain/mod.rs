//! Plain catalog and sync types shared by the store, the engine and the http layer.
//! Owns no I/O: nothing here imports sqlx, axum or the Odoo client.

mod catalog;
mod cursor;
pub mod image;
pub mod pricelist;
mod run;
pub mod site_event;
mod stock;
pub mod storefront;
pub mod watermark;
mod webhook;

pub use catalog::{Category, Product, StoredProduct, Translation, Variant};
pub use cursor::{CursorError, Phase, Position, SyncCursor};
pub use image::{ImageMeta, ImageStats, ProductImage};
pub use run::{RunCounts, RunId, RunStatus, SyncMode, SyncRun, Trigger};
pub use stock::StockLevel;
pub use storefront::{
    name_in, slug, AttributeValue, CatalogScope, NameTranslations, ProductAttribute,
    PublicCategory, Storefront,
};
pub use watermark::{Watermark, WatermarkKey};
pub use webhook::{
    parse_webhook, NewWebhookEvent, QueueStats, WebhookEvent, WebhookKind, WebhookState,
    WEBHOOK_MODELS,
};
