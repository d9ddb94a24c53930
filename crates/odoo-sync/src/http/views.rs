//! What the API answers with: camelCase JSON for the website and the admin page, built from
//! domain and store types.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::pricelist::Pricelist;
use crate::domain::{name_in, slug, StoredProduct};
use crate::domain::{RunStatus, SyncRun};
use crate::engine::Progress;
use crate::store::{CategoryNode, PublicCategoryNode};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductView {
    pub id: i64,
    /// In the asked language when a translation exists.
    pub name: String,
    pub description: Option<String>,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    /// The sales price; with `?pricelist=ID`, the lowest price of the product's active variants
    /// under that pricelist (null when none of them can be priced).
    pub price: Option<f64>,
    pub active: bool,
    pub sale_ok: bool,
    pub published: bool,
    pub category: Option<CategoryRef>,
    pub public_category_ids: Vec<i64>,
    /// Odoo's slug of the product: its name slugified, then `-ID`.
    pub slug: String,
    /// The product's page on the Odoo website (`/shop/…`); null without website_sale.
    pub website_url: Option<String>,
    pub seo: SeoView,
    /// The ribbon's name (e.g. "Sale"), if the product has one.
    pub ribbon: Option<String>,
    /// ISO code of the product's currency, e.g. "USD"; with `?pricelist=ID`, that pricelist's.
    pub currency: Option<String>,
    /// The variant picker: attributes in Odoo's order, each with its values.
    pub attributes: Vec<AttributeView>,
    pub variants: Vec<VariantView>,
    /// The template's image first, then its extra media (`product.image`) by sequence.
    pub images: Vec<ImageView>,
    /// Translated names and descriptions by language code.
    pub translations: BTreeMap<String, TranslationView>,
    /// Values of `SYNC_EXTRA_FIELDS`, as Odoo returned them.
    #[schema(value_type = Object)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Odoo's `write_date`, UTC.
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryRef {
    pub id: i64,
    pub name: String,
    /// The path from the root, e.g. "All / Saleable / Office Furniture".
    pub path: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariantView {
    pub id: i64,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    /// The sales price (`lst_price`); with `?pricelist=ID`, the price under that pricelist
    /// (null when its rule computes from a base odoo-sync does not sync, or before pricing).
    pub price: Option<f64>,
    pub active: bool,
    pub attribute_value_ids: Vec<i64>,
    /// This variant's value of each attribute, in the product's attribute order.
    pub attributes: Vec<VariantAttributeView>,
    /// One unit's price under the first of `SYNC_PRICELIST_IDS` (the sales price where no rule
    /// applies). Null without a pricelist, before pricing saw the variant, or when its rule
    /// computes from a base odoo-sync does not sync (the cost, another pricelist).
    pub pricelist_price: Option<f64>,
    /// One unit's price under each synced pricelist, by pricelist id (`/api/pricelists`).
    #[schema(example = json!({"1": {"price": 1799.0, "currency": "USD"}, "5": {"price": 1650.0, "currency": "EUR"}}))]
    pub prices: BTreeMap<String, PriceView>,
    /// Written with the variant by every sync, then kept fresh by the stock sweep and stock
    /// webhooks. Null only when Odoo's stock cannot be read (no stock app, or no access to quants).
    pub stock: Option<StockView>,
    /// The variant's own image first when it has one, then its extra media.
    pub images: Vec<ImageView>,
}

/// An image of a product or variant, served by `GET /api/images/{hash}` (`?w=` for a width).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"url": "/api/images/3b7c…", "width": 1920, "height": 1280, "alt": "Office Chair"}))]
pub struct ImageView {
    pub url: String,
    pub width: u32,
    pub height: u32,
    pub alt: Option<String>,
}

impl ImageView {
    fn of(image: &crate::domain::ProductImage) -> Self {
        ImageView {
            url: super::images::image_url(&image.meta.content_hash),
            width: image.meta.width,
            height: image.meta.height,
            alt: image.alt.clone(),
        }
    }
}

impl ProductView {
    /// Sets the product's and its variants' images from the product's stored image rows.
    pub fn with_images(mut self, rows: &[crate::domain::ProductImage]) -> Self {
        let mut rows: Vec<&crate::domain::ProductImage> =
            rows.iter().filter(|r| r.product_id == self.id).collect();
        rows.sort_by_key(|r| r.position);
        self.images = rows
            .iter()
            .filter(|r| r.variant_id.is_none())
            .map(|r| ImageView::of(r))
            .collect();
        for variant in &mut self.variants {
            variant.images = rows
                .iter()
                .filter(|r| r.variant_id == Some(variant.id))
                .map(|r| ImageView::of(r))
                .collect();
        }
        self
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceView {
    /// Null when the pricelist's rule computes from a base odoo-sync does not sync, or before
    /// pricing saw the variant.
    pub price: Option<f64>,
    /// ISO code of the pricelist's currency.
    pub currency: Option<String>,
}

/// One synced pricelist (`SYNC_PRICELIST_IDS`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PricelistView {
    pub id: i64,
    pub name: String,
    /// ISO code of the pricelist's currency, e.g. "EUR".
    pub currency: Option<String>,
}

impl From<Pricelist> for PricelistView {
    fn from(pricelist: Pricelist) -> Self {
        PricelistView {
            id: pricelist.id,
            name: pricelist.name,
            currency: pricelist.currency,
        }
    }
}

/// What a product's prices are shown under: the synced pricelists, and the one asked with
/// `?pricelist=` whose prices become `price`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PriceContext<'a> {
    pub pricelists: &'a [Pricelist],
    pub selected: Option<&'a Pricelist>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeoView {
    /// `website_meta_title`; null when Odoo has none.
    pub title: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeView {
    /// Odoo's product.attribute id.
    pub id: i64,
    pub name: String,
    /// radio, select, color, pills or multi.
    pub display_type: String,
    pub values: Vec<AttributeValueView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeValueView {
    /// Odoo's product.attribute.value id: one id for "Red" in every product.
    pub id: i64,
    pub name: String,
    /// The swatch colour of a `color` attribute, e.g. "#FF0000".
    pub html_color: Option<String>,
    /// What this value adds to the price.
    pub price_extra: f64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariantAttributeView {
    pub attribute_id: i64,
    /// The attribute's name, e.g. "Size".
    pub name: String,
    pub value_id: i64,
    /// The value's name, e.g. "M".
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StockView {
    /// Quantity on hand in internal locations (Odoo's `qty_available`).
    pub on_hand: f64,
    /// On hand minus reserved (Odoo's `free_qty`).
    pub free: f64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TranslationView {
    pub name: String,
    pub description: Option<String>,
}

impl ProductView {
    pub fn new(stored: StoredProduct, lang: Option<&str>, pricing: PriceContext<'_>) -> Self {
        let product = stored.product;
        let no_prices = BTreeMap::new();
        let prices_of = |variant: i64| stored.prices.get(&variant).unwrap_or(&no_prices);
        let selected_price = |variant: &crate::domain::Variant| match pricing.selected {
            Some(pricelist) => prices_of(variant.id).get(&pricelist.id).copied().flatten(),
            None => Some(variant.lst_price),
        };
        let product_price = match pricing.selected {
            Some(_) => product
                .variants
                .iter()
                .filter(|v| v.active)
                .filter_map(selected_price)
                .min_by(f64::total_cmp),
            None => Some(product.list_price),
        };
        let storefront = product.storefront;
        let variant_attributes = |ptavs: &[i64]| -> Vec<VariantAttributeView> {
            storefront
                .attributes
                .iter()
                .filter_map(|attribute| {
                    let value = attribute
                        .values
                        .iter()
                        .find(|v| ptavs.contains(&v.ptav_id))?;
                    Some(VariantAttributeView {
                        attribute_id: attribute.id,
                        name: name_in(&attribute.name, &attribute.translations, lang).to_string(),
                        value_id: value.id,
                        value: name_in(&value.name, &value.translations, lang).to_string(),
                    })
                })
                .collect()
        };
        let translated = lang.and_then(|lang| product.translations.get(lang));
        ProductView {
            id: product.id,
            name: translated.map_or_else(|| product.name.clone(), |t| t.name.clone()),
            description: translated.map_or_else(
                || product.description_sale.clone(),
                |t| t.description_sale.clone(),
            ),
            sku: product.default_code,
            barcode: product.barcode,
            price: product_price,
            active: product.active,
            sale_ok: product.sale_ok,
            published: product.is_published,
            category: stored.category.map(|c| CategoryRef {
                id: c.id,
                name: c.name,
                path: c.complete_name,
            }),
            public_category_ids: product.public_categ_ids,
            slug: slug(&product.name, product.id),
            website_url: storefront.website_url.clone(),
            seo: SeoView {
                title: storefront.seo_title.clone(),
                description: storefront.seo_description.clone(),
            },
            ribbon: storefront.ribbon.clone(),
            currency: match pricing.selected {
                Some(pricelist) => pricelist.currency.clone(),
                None => storefront.currency.clone(),
            },
            variants: product
                .variants
                .into_iter()
                .map(|v| VariantView {
                    price: selected_price(&v),
                    id: v.id,
                    sku: v.default_code,
                    barcode: v.barcode,
                    active: v.active,
                    pricelist_price: pricing
                        .pricelists
                        .first()
                        .and_then(|first| prices_of(v.id).get(&first.id).copied().flatten()),
                    prices: pricing
                        .pricelists
                        .iter()
                        .map(|pricelist| {
                            let price = prices_of(v.id).get(&pricelist.id).copied().flatten();
                            let currency = pricelist.currency.clone();
                            (pricelist.id.to_string(), PriceView { price, currency })
                        })
                        .collect(),
                    stock: stored.stock.get(&v.id).map(|s| StockView {
                        on_hand: s.qty_available,
                        free: s.free_qty,
                    }),
                    attributes: variant_attributes(&v.product_template_attribute_value_ids),
                    attribute_value_ids: v.product_template_attribute_value_ids,
                    images: Vec::new(),
                })
                .collect(),
            images: Vec::new(),
            attributes: storefront
                .attributes
                .iter()
                .map(|attribute| AttributeView {
                    id: attribute.id,
                    name: name_in(&attribute.name, &attribute.translations, lang).to_string(),
                    display_type: attribute.display_type.clone(),
                    values: attribute
                        .values
                        .iter()
                        .map(|value| AttributeValueView {
                            id: value.id,
                            name: name_in(&value.name, &value.translations, lang).to_string(),
                            html_color: value.html_color.clone(),
                            price_extra: value.price_extra,
                        })
                        .collect(),
                })
                .collect(),
            translations: product
                .translations
                .into_iter()
                .map(|(lang, t)| {
                    (
                        lang,
                        TranslationView {
                            name: t.name,
                            description: t.description_sale,
                        },
                    )
                })
                .collect(),
            extra: product.extra,
            updated_at: format!("{}Z", product.write_date.format("%Y-%m-%dT%H:%M:%S")),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryView {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub parent_id: Option<i64>,
    /// Active products directly in this category.
    pub product_count: u64,
    /// Active products in this category and below.
    pub total_product_count: u64,
    #[schema(no_recursion)]
    pub children: Vec<CategoryView>,
}

/// Nests the flat category list into trees, children ordered by path.
pub fn category_tree(nodes: Vec<CategoryNode>) -> Vec<CategoryView> {
    let mut children: BTreeMap<Option<i64>, Vec<CategoryNode>> = BTreeMap::new();
    let known: std::collections::HashSet<i64> = nodes.iter().map(|n| n.category.id).collect();
    for node in nodes {
        let parent = node.category.parent_id.filter(|p| known.contains(p));
        children.entry(parent).or_default().push(node);
    }
    build_level(None, &mut children)
}

fn build_level(
    parent: Option<i64>,
    children: &mut BTreeMap<Option<i64>, Vec<CategoryNode>>,
) -> Vec<CategoryView> {
    let level = children.remove(&parent).unwrap_or_default();
    level
        .into_iter()
        .map(|node| CategoryView {
            id: node.category.id,
            name: node.category.name,
            path: node.category.complete_name,
            parent_id: node.category.parent_id,
            product_count: node.product_count,
            total_product_count: node.total_count,
            children: build_level(Some(node.category.id), children),
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicCategoryView {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
    pub sequence: i64,
    /// Ids from the root down to this category, itself included.
    pub path: Vec<i64>,
    /// Products in scope in this category or any below it, each counted once.
    pub product_count: u64,
    #[schema(no_recursion)]
    pub children: Vec<PublicCategoryView>,
}

impl PublicCategoryView {
    /// The node and its subtree, names in `lang` where Odoo has them.
    pub fn new(node: PublicCategoryNode, lang: Option<&str>) -> Self {
        let category = node.category;
        PublicCategoryView {
            id: category.id,
            name: name_in(&category.name, &category.translations, lang).to_string(),
            parent_id: category.parent_id,
            sequence: category.sequence,
            path: node.path,
            product_count: node.product_count,
            children: node
                .children
                .into_iter()
                .map(|child| PublicCategoryView::new(child, lang))
                .collect(),
        }
    }
}

/// A sync run as the admin page and API clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    pub run_id: i64,
    pub mode: String,
    pub trigger: String,
    pub status: String,
    pub phase: String,
    pub processed: u64,
    pub total: Option<u64>,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub archived: u64,
    pub deleted: u64,
    /// Images downloaded from Odoo (new or changed checksums).
    pub images_fetched: u64,
    /// Images whose checksum was already stored: not downloaded.
    pub images_unchanged: u64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: i64,
    pub rate_per_sec: Option<f64>,
    pub eta_seconds: Option<u64>,
    pub error: Option<String>,
}

impl From<&SyncRun> for RunView {
    fn from(run: &SyncRun) -> Self {
        let end = run.finished_at.unwrap_or_else(Utc::now);
        let mut view = RunView {
            run_id: run.id.0,
            mode: run.mode.to_string(),
            trigger: run.trigger.to_string(),
            status: run.status.to_string(),
            phase: phase_name(run.cursor.phase),
            processed: run.processed,
            total: run.total,
            created: run.counts.created,
            updated: run.counts.updated,
            unchanged: run.counts.unchanged,
            archived: run.counts.archived,
            deleted: run.counts.deleted,
            images_fetched: run.counts.images_fetched,
            images_unchanged: run.counts.images_unchanged,
            started_at: run.started_at,
            finished_at: run.finished_at,
            duration_ms: (end - run.started_at).num_milliseconds(),
            rate_per_sec: None,
            eta_seconds: None,
            error: run.error.clone(),
        };
        view.estimate(run.status == RunStatus::Running);
        view
    }
}

impl From<&Progress> for RunView {
    fn from(progress: &Progress) -> Self {
        let mut view = RunView {
            run_id: progress.run.0,
            mode: progress.mode.to_string(),
            trigger: progress.trigger.to_string(),
            status: RunStatus::Running.to_string(),
            phase: phase_name(progress.phase),
            processed: progress.processed,
            total: progress.total,
            created: progress.counts.created,
            updated: progress.counts.updated,
            unchanged: progress.counts.unchanged,
            archived: progress.counts.archived,
            deleted: progress.counts.deleted,
            images_fetched: progress.counts.images_fetched,
            images_unchanged: progress.counts.images_unchanged,
            started_at: progress.started_at,
            finished_at: None,
            duration_ms: (Utc::now() - progress.started_at).num_milliseconds(),
            rate_per_sec: None,
            eta_seconds: None,
            error: None,
        };
        view.estimate(true);
        view
    }
}

impl RunView {
    fn estimate(&mut self, running: bool) {
        let seconds = self.duration_ms as f64 / 1000.0;
        if seconds <= 0.0 || self.processed == 0 {
            return;
        }
        let rate = self.processed as f64 / seconds;
        self.rate_per_sec = Some((rate * 10.0).round() / 10.0);
        if running {
            self.eta_seconds = self
                .total
                .map(|total| (total.saturating_sub(self.processed) as f64 / rate).ceil() as u64);
        }
    }
}

fn phase_name(phase: crate::domain::Phase) -> String {
    serde_json::to_value(phase)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
