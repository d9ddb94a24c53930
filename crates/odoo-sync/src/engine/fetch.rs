//! Reading the catalog from Odoo and turning Odoo's records into domain types.
//!
//! Every read passes `active_test: false`: archived products must be seen to be marked inactive.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use odoo_rpc::{Context, DecodeError, Domain, OdooApi, Record, SearchOptions};

use super::{SyncError, SyncSettings};
use crate::domain::{
    AttributeValue, Category, NameTranslations, Product, ProductAttribute, PublicCategory,
    Storefront, Translation, Variant, WatermarkKey,
};

pub const TEMPLATE: &str = "product.template";
pub const VARIANT: &str = "product.product";
pub const CATEGORY: &str = "product.category";
pub const ATTRIBUTE_VALUE: &str = "product.template.attribute.value";
pub const ATTRIBUTE: &str = "product.attribute";
pub const VALUE: &str = "product.attribute.value";
pub const PUBLIC_CATEGORY: &str = "product.public.category";
/// A template's or variant's extra media (website_sale).
pub const PRODUCT_IMAGE: &str = "product.image";
const RIBBON: &str = "product.ribbon";
const CURRENCY: &str = "res.currency";

/// What the engine reads of a template. `barcode` is not among them: Odoo computes it from the
/// variants on every read (`store: false`), which costs more than half of the template read on a
/// real server, and the engine reads the variants anyway (see `assemble`). `default_code` is
/// stored and cheap.
const TEMPLATE_FIELDS: &[&str] = &[
    "id",
    "name",
    "default_code",
    "list_price",
    "categ_id",
    "description_sale",
    "active",
    "sale_ok",
    "write_date",
];
/// Fields that only exist with the `website_sale` module (and `currency_id`, which `product` has
/// but a trimmed-down database may not): read only where `fields_get` lists them.
const WEBSITE_FIELDS: &[&str] = &[
    "is_published",
    "public_categ_ids",
    "website_id",
    "website_url",
    "website_meta_title",
    "website_meta_description",
    "website_ribbon_id",
    "currency_id",
];
/// The field whose presence says `website_sale` is installed.
const WEBSITE_MARKER: &str = "public_categ_ids";
/// What the engine reads of a variant. `lst_price` is not among them: Odoo computes it on every
/// read from the template's `list_price` and the attribute values' `price_extra`, half of the
/// variant read on a real server; the engine has both (see `assemble`).
const VARIANT_FIELDS: &[&str] = &[
    "id",
    "product_tmpl_id",
    "default_code",
    "barcode",
    "active",
    "product_template_attribute_value_ids",
    "write_date",
];
const CATEGORY_FIELDS: &[&str] = &["id", "name", "complete_name", "parent_id", "write_date"];

/// The template fields to read, checked once per run against Odoo's `fields_get`.
#[derive(Debug, Clone)]
pub struct FieldPlan {
    /// Whether Odoo has `website_sale` (website categories, ribbons, SEO fields).
    pub website: bool,
    template_fields: Vec<String>,
    extra_fields: Vec<String>,
    langs: Vec<String>,
}

impl FieldPlan {
    pub async fn discover(odoo: &dyn OdooApi, settings: &SyncSettings) -> Result<Self, SyncError> {
        let known = odoo.fields_get(TEMPLATE, &["type"]).await?;
        if let Some(missing) = settings
            .extra_fields
            .iter()
            .find(|field| !known.contains_key(field.as_str()))
        {
            return Err(SyncError::UnknownExtraField {
                field: missing.clone(),
                model: TEMPLATE,
            });
        }
        let mut template_fields: Vec<String> =
            TEMPLATE_FIELDS.iter().map(|f| f.to_string()).collect();
        template_fields.extend(
            WEBSITE_FIELDS
                .iter()
                .filter(|f| known.contains_key(**f))
                .map(|f| f.to_string()),
        );
        template_fields.extend(settings.extra_fields.iter().cloned());
        let website = known.contains_key(WEBSITE_MARKER);
        if !website {
            tracing::info!("Odoo has no website_sale: no website categories, ribbons or SEO texts");
        }
        Ok(FieldPlan {
            website,
            template_fields,
            extra_fields: settings.extra_fields.clone(),
            langs: settings.langs.clone(),
        })
    }

    fn template_fields(&self) -> Vec<&str> {
        self.template_fields.iter().map(String::as_str).collect()
    }
}

pub fn archived_too() -> Context {
    Context::default().active_test(false)
}

/// Archived records too, and many2one fields as bare ids: the engine keeps ids only, and a
/// related record's display name costs Odoo a computation per record (the variant's
/// `product_tmpl_id` is the template's computed name).
fn options(order: &str, limit: Option<u32>) -> SearchOptions {
    SearchOptions {
        limit,
        order: Some(order.to_string()),
        context: archived_too(),
        bare_many2one: true,
        ..SearchOptions::default()
    }
}

/// All template ids after `after_id`, ascending: one cheap call that sizes a full pass.
pub async fn template_ids_after(odoo: &dyn OdooApi, after_id: i64) -> Result<Vec<i64>, SyncError> {
    let domain = Domain::leaf("id", ">", after_id);
    Ok(odoo.search(TEMPLATE, &domain, &options("id", None)).await?)
}

pub async fn all_template_ids(odoo: &dyn OdooApi) -> Result<Vec<i64>, SyncError> {
    template_ids_after(odoo, 0).await
}

pub async fn categories(odoo: &dyn OdooApi) -> Result<Vec<Category>, SyncError> {
    let records = odoo
        .search_read(
            CATEGORY,
            &Domain::all(),
            CATEGORY_FIELDS,
            &options("id", None),
        )
        .await?;
    records
        .iter()
        .map(|record| category(record).map_err(|e| bad(CATEGORY, record, e)))
        .collect()
}

/// Every website category, archived ones aside (the model has no `active`).
pub async fn public_categories(
    odoo: &dyn OdooApi,
    langs: &[String],
) -> Result<Vec<PublicCategory>, SyncError> {
    let fields = ["id", "name", "parent_id", "sequence", "website_id"];
    let records = odoo
        .search_read(
            PUBLIC_CATEGORY,
            &Domain::all(),
            &fields,
            &options("id", None),
        )
        .await?;
    let ids: Vec<i64> = records.iter().filter_map(|r| r.id().ok()).collect();
    let mut translations = name_translations(odoo, PUBLIC_CATEGORY, &ids, langs).await?;
    records
        .iter()
        .map(|record| {
            let category = (|| {
                Ok::<_, DecodeError>(PublicCategory {
                    id: record.id()?,
                    name: required_str(record, "name")?,
                    parent_id: record.get_many2one_id("parent_id")?,
                    sequence: record.get_i64("sequence")?,
                    website_id: record.get_many2one_id("website_id")?,
                    translations: translations.remove(&record.id()?).unwrap_or_default(),
                })
            })();
            category.map_err(|e| bad(PUBLIC_CATEGORY, record, e))
        })
        .collect()
}

/// What three counts say about Odoo since an incremental window opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietProbe {
    /// Templates written, or whose variants, category or its parents were, since the window
    /// opened.
    pub templates_touched: u64,
    /// Every template, archived ones included: fewer than the store holds means deletions.
    pub templates: u64,
}

/// Two counts, in flight together, instead of reading the window and every template id. Both are
/// needed: a creation and a deletion cancel out in a count of all templates, and the touched
/// count sees no deletion. A category is seen through the templates in it (two levels of
/// parents up, as deep as shop trees go); a category no product uses is read by the next run
/// that has anything to read.
pub async fn quiet_probe(
    odoo: &dyn OdooApi,
    since: &BTreeMap<WatermarkKey, NaiveDateTime>,
) -> Result<QuietProbe, SyncError> {
    let from = |key| {
        let at = since.get(&key).copied().unwrap_or(NaiveDateTime::MIN);
        odoo_rpc::format_odoo_datetime(at)
    };
    let category_written = |path: &str| Domain::leaf(path, ">=", from(WatermarkKey::Category));
    let touched = Domain::leaf("write_date", ">=", from(WatermarkKey::Template))
        .or(Domain::leaf(
            "product_variant_ids.write_date",
            ">=",
            from(WatermarkKey::Variant),
        ))
        .or(category_written("categ_id.write_date"))
        .or(category_written("categ_id.parent_id.write_date"))
        .or(category_written("categ_id.parent_id.parent_id.write_date"));
    let (every, context) = (Domain::all(), archived_too());
    let (templates_touched, templates) = futures::try_join!(
        odoo.search_count(TEMPLATE, &touched, &context),
        odoo.search_count(TEMPLATE, &every, &context),
    )?;
    Ok(QuietProbe {
        templates_touched,
        templates,
    })
}

/// Ids of records of `model` written since `since`, after `after_id`, as `(id, write_date, template id)`.
pub async fn changed_page(
    odoo: &dyn OdooApi,
    model: &'static str,
    since: NaiveDateTime,
    after_id: i64,
    limit: u32,
) -> Result<Vec<ChangedRow>, SyncError> {
    let domain = Domain::leaf("write_date", ">=", odoo_rpc::format_odoo_datetime(since))
        .and(Domain::leaf("id", ">", after_id));
    let fields: &[&str] = if model == VARIANT {
        &["id", "write_date", "product_tmpl_id"]
    } else {
        &["id", "write_date"]
    };
    let records = odoo
        .search_read(model, &domain, fields, &options("id", Some(limit)))
        .await?;
    records
        .iter()
        .map(|record| changed_row(model, record).map_err(|e| bad(model, record, e)))
        .collect()
}

pub struct ChangedRow {
    pub id: i64,
    pub write_date: NaiveDateTime,
    pub template_id: i64,
}

fn changed_row(model: &str, record: &Record) -> Result<ChangedRow, DecodeError> {
    let id = record.id()?;
    let template_id = if model == VARIANT {
        required_many2one(record, "product_tmpl_id")?
    } else {
        id
    };
    Ok(ChangedRow {
        id,
        write_date: required_datetime(record, "write_date")?,
        template_id,
    })
}

/// The complete products (variants and translations included) for the given template ids.
pub async fn products(
    odoo: &dyn OdooApi,
    plan: &FieldPlan,
    ids: &[i64],
) -> Result<Vec<Product>, SyncError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ((mut templates, refs), variants, translations, ptavs) = futures::try_join!(
        read_templates(odoo, plan, ids),
        read_variants(odoo, ids),
        read_translations(odoo, plan, ids),
        read_ptavs(odoo, ids),
    )?;
    let names = read_names(odoo, refs, &ptavs, &plan.langs).await?;
    for product in &mut templates {
        names.fill(product, &ptavs);
    }
    let price_extras = ptavs.iter().map(|p| (p.id, p.price_extra)).collect();
    Ok(assemble(templates, variants, translations, &price_extras))
}

/// A `product.template.attribute.value`, with ids only: its names are the attribute's and the
/// value's, read once for the whole page (`read_names`).
#[derive(Debug, Clone)]
pub struct Ptav {
    id: i64,
    template: i64,
    attribute: i64,
    value: i64,
    price_extra: f64,
    active: bool,
}

/// The attribute values of the templates: stored fields only (one cheap read in parallel with
/// the others), whose `price_extra` also spares Odoo computing `lst_price` for each variant.
async fn read_ptavs(odoo: &dyn OdooApi, template_ids: &[i64]) -> Result<Vec<Ptav>, SyncError> {
    let domain = Domain::leaf("product_tmpl_id", "in", template_ids.to_vec());
    let fields = [
        "price_extra",
        "product_tmpl_id",
        "attribute_id",
        "product_attribute_value_id",
        "ptav_active",
    ];
    let records = odoo
        .search_read(ATTRIBUTE_VALUE, &domain, &fields, &options("id", None))
        .await?;
    records
        .iter()
        .map(|record| {
            let ptav = (|| {
                Ok::<_, DecodeError>(Ptav {
                    id: record.id()?,
                    template: required_many2one(record, "product_tmpl_id")?,
                    attribute: required_many2one(record, "attribute_id")?,
                    value: required_many2one(record, "product_attribute_value_id")?,
                    price_extra: record.get_f64("price_extra")?,
                    active: record.get_bool("ptav_active")?,
                })
            })();
            ptav.map_err(|e| bad(ATTRIBUTE_VALUE, record, e))
        })
        .collect()
}

/// What a page's products name by id: attributes, values, ribbons, currencies; one read per
/// model for the whole page.
#[derive(Debug, Default)]
struct Names {
    /// id -> (name, display_type, sequence)
    attributes: HashMap<i64, (String, String, i64)>,
    /// id -> (name, html_color, sequence)
    values: HashMap<i64, (String, Option<String>, i64)>,
    attribute_translations: HashMap<i64, NameTranslations>,
    value_translations: HashMap<i64, NameTranslations>,
    ribbons: HashMap<i64, String>,
    currencies: HashMap<i64, String>,
    /// template id -> (ribbon id, currency id), as read.
    refs: TemplateRefs,
}

async fn read_names(
    odoo: &dyn OdooApi,
    refs: TemplateRefs,
    ptavs: &[Ptav],
    langs: &[String],
) -> Result<Names, SyncError> {
    let sorted = |ids: Vec<i64>| -> Vec<i64> {
        let set: std::collections::BTreeSet<i64> = ids.into_iter().collect();
        set.into_iter().collect()
    };
    let attribute_ids = sorted(ptavs.iter().map(|p| p.attribute).collect());
    let value_ids = sorted(ptavs.iter().map(|p| p.value).collect());
    let ribbon_ids = sorted(refs.values().filter_map(|r| r.0).collect());
    let currency_ids = sorted(refs.values().filter_map(|r| r.1).collect());
    let (attributes, values, ribbons, currencies, attribute_translations, value_translations) = futures::try_join!(
        read_by_ids(
            odoo,
            ATTRIBUTE,
            &attribute_ids,
            &["name", "display_type", "sequence"]
        ),
        read_by_ids(odoo, VALUE, &value_ids, &["name", "html_color", "sequence"]),
        read_by_ids(odoo, RIBBON, &ribbon_ids, &["name"]),
        read_by_ids(odoo, CURRENCY, &currency_ids, &["name"]),
        name_translations(odoo, ATTRIBUTE, &attribute_ids, langs),
        name_translations(odoo, VALUE, &value_ids, langs),
    )?;
    let mut names = Names {
        refs,
        attribute_translations,
        value_translations,
        ..Names::default()
    };
    for record in &attributes {
        let row = (|| {
            Ok::<_, DecodeError>((
                record.id()?,
                (
                    required_str(record, "name")?,
                    record
                        .get_str("display_type")?
                        .unwrap_or_else(|| "radio".into()),
                    record.get_i64("sequence")?,
                ),
            ))
        })();
        let (id, row) = row.map_err(|e| bad(ATTRIBUTE, record, e))?;
        names.attributes.insert(id, row);
    }
    for record in &values {
        let row = (|| {
            Ok::<_, DecodeError>((
                record.id()?,
                (
                    required_str(record, "name")?,
                    record.get_str("html_color")?,
                    record.get_i64("sequence")?,
                ),
            ))
        })();
        let (id, row) = row.map_err(|e| bad(VALUE, record, e))?;
        names.values.insert(id, row);
    }
    for (model, records, into) in [
        (RIBBON, &ribbons, &mut names.ribbons),
        (CURRENCY, &currencies, &mut names.currencies),
    ] {
        for record in records {
            let row = (|| Ok::<_, DecodeError>((record.id()?, required_str(record, "name")?)))();
            let (id, name) = row.map_err(|e| bad(model, record, e))?;
            into.insert(id, name);
        }
    }
    Ok(names)
}

/// Ribbon and currency ids of a template.
type Refs = (Option<i64>, Option<i64>);
/// `Refs` by template id.
type TemplateRefs = HashMap<i64, Refs>;

fn template_refs(record: &Record) -> Result<(i64, Refs), DecodeError> {
    let ribbon = optional_many2one(record, "website_ribbon_id")?;
    Ok((
        record.id()?,
        (ribbon, optional_many2one(record, "currency_id")?),
    ))
}

impl Names {
    /// Replaces the ids `template` left in `product.storefront` by names, and adds its attributes.
    fn fill(&self, product: &mut Product, ptavs: &[Ptav]) {
        let (ribbon, currency) = self.refs.get(&product.id).copied().unwrap_or_default();
        product.storefront.ribbon = ribbon.and_then(|id| self.ribbons.get(&id).cloned());
        product.storefront.currency = currency.and_then(|id| self.currencies.get(&id).cloned());
        let mut attributes: Vec<(i64, ProductAttribute)> = Vec::new();
        let mut mine: Vec<&Ptav> = ptavs
            .iter()
            .filter(|p| p.template == product.id && p.active)
            .collect();
        let value_key = |p: &Ptav| (self.values.get(&p.value).map_or(0, |v| v.2), p.value);
        mine.sort_by_key(|p| value_key(p));
        for ptav in mine {
            let (Some(attribute), Some(value)) = (
                self.attributes.get(&ptav.attribute),
                self.values.get(&ptav.value),
            ) else {
                continue;
            };
            let position = match attributes.iter().position(|(_, a)| a.id == ptav.attribute) {
                Some(position) => position,
                None => {
                    attributes.push((
                        attribute.2,
                        ProductAttribute {
                            id: ptav.attribute,
                            name: attribute.0.clone(),
                            display_type: attribute.1.clone(),
                            values: Vec::new(),
                            translations: self.translations_of_attribute(ptav.attribute),
                        },
                    ));
                    attributes.len() - 1
                }
            };
            attributes[position].1.values.push(AttributeValue {
                id: ptav.value,
                ptav_id: ptav.id,
                name: value.0.clone(),
                html_color: value.1.clone(),
                price_extra: ptav.price_extra,
                translations: self.translations_of_value(ptav.value),
            });
        }
        attributes.sort_by_key(|(sequence, attribute)| (*sequence, attribute.id));
        product.storefront.attributes = attributes.into_iter().map(|(_, a)| a).collect();
    }
}

impl Names {
    fn translations_of_attribute(&self, id: i64) -> NameTranslations {
        self.attribute_translations
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }

    fn translations_of_value(&self, id: i64) -> NameTranslations {
        self.value_translations
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }
}

/// The `name` of these records in each of `langs`: one read per language.
async fn name_translations(
    odoo: &dyn OdooApi,
    model: &'static str,
    ids: &[i64],
    langs: &[String],
) -> Result<HashMap<i64, NameTranslations>, SyncError> {
    let mut by_id: HashMap<i64, NameTranslations> = HashMap::new();
    if ids.is_empty() {
        return Ok(by_id);
    }
    for lang in langs {
        let context = archived_too().lang(lang.as_str());
        for record in &odoo.read(model, ids, &["name"], &context).await? {
            let row = (|| Ok::<_, DecodeError>((record.id()?, required_str(record, "name")?)))();
            let (id, name) = row.map_err(|e| bad(model, record, e))?;
            by_id.entry(id).or_default().insert(lang.clone(), name);
        }
    }
    Ok(by_id)
}

/// `fields` of the records of `model` with these ids; none asked, no call.
async fn read_by_ids(
    odoo: &dyn OdooApi,
    model: &str,
    ids: &[i64],
    fields: &[&str],
) -> Result<Vec<Record>, SyncError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(odoo.read(model, ids, fields, &archived_too()).await?)
}

async fn read_templates(
    odoo: &dyn OdooApi,
    plan: &FieldPlan,
    ids: &[i64],
) -> Result<(Vec<Product>, TemplateRefs), SyncError> {
    let domain = Domain::leaf("id", "in", ids.to_vec());
    let records = odoo
        .search_read(
            TEMPLATE,
            &domain,
            &plan.template_fields(),
            &options("id", None),
        )
        .await?;
    let products = records
        .iter()
        .map(|record| template(record, plan).map_err(|e| bad(TEMPLATE, record, e)))
        .collect::<Result<_, _>>()?;
    let refs = records
        .iter()
        .map(|record| template_refs(record).map_err(|e| bad(TEMPLATE, record, e)))
        .collect::<Result<_, _>>()?;
    Ok((products, refs))
}

async fn read_variants(
    odoo: &dyn OdooApi,
    template_ids: &[i64],
) -> Result<Vec<(i64, Variant)>, SyncError> {
    let domain = Domain::leaf("product_tmpl_id", "in", template_ids.to_vec());
    let records = odoo
        .search_read(VARIANT, &domain, VARIANT_FIELDS, &options("id", None))
        .await?;
    records
        .iter()
        .map(|record| {
            let owner = required_many2one(record, "product_tmpl_id")
                .map_err(|e| bad(VARIANT, record, e))?;
            Ok((owner, variant(record).map_err(|e| bad(VARIANT, record, e))?))
        })
        .collect()
}

type TranslationsById = HashMap<i64, BTreeMap<String, Translation>>;

async fn read_translations(
    odoo: &dyn OdooApi,
    plan: &FieldPlan,
    ids: &[i64],
) -> Result<TranslationsById, SyncError> {
    let mut by_id: TranslationsById = HashMap::new();
    for lang in &plan.langs {
        let context = archived_too().lang(lang.as_str());
        let records = odoo
            .read(TEMPLATE, ids, &["name", "description_sale"], &context)
            .await?;
        for record in &records {
            let (id, translation) = translation(record).map_err(|e| bad(TEMPLATE, record, e))?;
            by_id
                .entry(id)
                .or_default()
                .insert(lang.clone(), translation);
        }
    }
    Ok(by_id)
}

/// Templates with their variants and translations, and what Odoo would have computed from them:
/// each variant's `lst_price`, and the template's `barcode` (see `only_variant_barcode`).
fn assemble(
    templates: Vec<Product>,
    variants: Vec<(i64, Variant)>,
    mut translations: TranslationsById,
    price_extras: &HashMap<i64, f64>,
) -> Vec<Product> {
    let mut variants_by_template: HashMap<i64, Vec<Variant>> = HashMap::new();
    for (owner, variant) in variants {
        variants_by_template.entry(owner).or_default().push(variant);
    }
    templates
        .into_iter()
        .map(|mut product| {
            product.variants = variants_by_template.remove(&product.id).unwrap_or_default();
            product.variants.sort_by_key(|variant| variant.id);
            for variant in &mut product.variants {
                let extras = variant
                    .product_template_attribute_value_ids
                    .iter()
                    .filter_map(|id| price_extras.get(id));
                variant.lst_price = variant_price(product.list_price, extras);
            }
            product.barcode = only_variant_barcode(&product.variants);
            product.translations = translations.remove(&product.id).unwrap_or_default();
            product
        })
        .collect()
}

/// The template's `barcode` as Odoo's `_compute_barcode` gives it to `search_read` (which reads
/// with the default `active_test`): its only active variant's; with no active variant, its only
/// variant's, archived (an archived template, like FURN_0002 in the demo data); else none.
fn only_variant_barcode(variants: &[Variant]) -> Option<String> {
    let mut active = variants.iter().filter(|variant| variant.active);
    match (active.next(), active.next(), variants) {
        (Some(only), None, _) => only.barcode.clone(),
        (None, _, [only]) => only.barcode.clone(),
        _ => None,
    }
}

/// Odoo's `lst_price` without a `uom` in the context: `list_price` plus the sum of the attribute
/// values' `price_extra`. Both are stored rounded to the "Product Price" precision, so their sum
/// is that decimal plus float noise, which Odoo's own rounding removes; rounding at 6 decimals
/// removes it the same way for any precision up to 6, without reading the precision.
pub fn variant_price<'a>(list_price: f64, extras: impl Iterator<Item = &'a f64>) -> f64 {
    const SCALE: f64 = 1e6;
    let sum = list_price + extras.sum::<f64>();
    (sum * SCALE).round() / SCALE
}

fn template(record: &Record, plan: &FieldPlan) -> Result<Product, DecodeError> {
    let has = |field: &str| record.raw(field).is_some();
    Ok(Product {
        id: record.id()?,
        name: required_str(record, "name")?,
        default_code: record.get_str("default_code")?,
        // Computed from the variants by `assemble`.
        barcode: None,
        list_price: record.get_f64("list_price")?,
        categ_id: record.get_many2one_id("categ_id")?,
        description_sale: record.get_str("description_sale")?,
        active: record.get_bool("active")?,
        sale_ok: record.get_bool("sale_ok")?,
        is_published: if has("is_published") {
            record.get_bool("is_published")?
        } else {
            false
        },
        public_categ_ids: if has("public_categ_ids") {
            record.get_ids("public_categ_ids")?
        } else {
            Vec::new()
        },
        write_date: required_datetime(record, "write_date")?,
        variants: Vec::new(),
        translations: BTreeMap::new(),
        // Ribbon and currency names are put in by `Names::fill` (see `template_refs`).
        storefront: Storefront {
            website_id: optional_many2one(record, "website_id")?,
            website_url: optional_str(record, "website_url")?,
            seo_title: optional_str(record, "website_meta_title")?,
            seo_description: optional_str(record, "website_meta_description")?,
            ribbon: None,
            currency: None,
            attributes: Vec::new(),
        },
        extra: plan
            .extra_fields
            .iter()
            .map(|field| {
                (
                    field.clone(),
                    record
                        .raw(field)
                        .cloned()
                        .unwrap_or(serde_json::Value::Null),
                )
            })
            .collect(),
    })
}

fn variant(record: &Record) -> Result<Variant, DecodeError> {
    Ok(Variant {
        id: record.id()?,
        default_code: record.get_str("default_code")?,
        barcode: record.get_str("barcode")?,
        // Computed from the template and the attribute values by `assemble`.
        lst_price: 0.0,
        active: record.get_bool("active")?,
        product_template_attribute_value_ids: record
            .get_ids("product_template_attribute_value_ids")?,
        write_date: required_datetime(record, "write_date")?,
    })
}

fn category(record: &Record) -> Result<Category, DecodeError> {
    Ok(Category {
        id: record.id()?,
        name: required_str(record, "name")?,
        complete_name: required_str(record, "complete_name")?,
        parent_id: record.get_many2one_id("parent_id")?,
        write_date: required_datetime(record, "write_date")?,
    })
}

fn translation(record: &Record) -> Result<(i64, Translation), DecodeError> {
    let translation = Translation {
        name: required_str(record, "name")?,
        description_sale: record.get_str("description_sale")?,
    };
    Ok((record.id()?, translation))
}

/// A text field that may not exist (see `WEBSITE_FIELDS`).
fn optional_str(record: &Record, field: &str) -> Result<Option<String>, DecodeError> {
    match record.raw(field) {
        Some(_) => record.get_str(field),
        None => Ok(None),
    }
}

fn optional_many2one(record: &Record, field: &str) -> Result<Option<i64>, DecodeError> {
    match record.raw(field) {
        Some(_) => record.get_many2one_id(field),
        None => Ok(None),
    }
}

fn required_str(record: &Record, field: &str) -> Result<String, DecodeError> {
    record
        .get_str(field)?
        .ok_or_else(|| missing(record, field, "a non-empty text"))
}

fn required_datetime(record: &Record, field: &str) -> Result<NaiveDateTime, DecodeError> {
    record
        .get_datetime(field)?
        .ok_or_else(|| missing(record, field, "a datetime"))
}

fn required_many2one(record: &Record, field: &str) -> Result<i64, DecodeError> {
    record
        .get_many2one_id(field)?
        .ok_or_else(|| missing(record, field, "a many2one"))
}

fn missing(record: &Record, field: &str, expected: &str) -> DecodeError {
    DecodeError::field(field, record.id().ok(), expected, record.raw(field))
}

fn bad(model: &'static str, record: &Record, error: DecodeError) -> SyncError {
    let id = record
        .raw("id")
        .map(|id| id.to_string())
        .unwrap_or_else(|| "(no id)".to_string());
    SyncError::BadRecord {
        model,
        id,
        detail: error.to_string(),
    }
}

/// The template of a variant and the variant's `write_date`, if the variant exists.
pub async fn variant_owner(
    odoo: &dyn OdooApi,
    variant_id: i64,
) -> Result<Option<(i64, NaiveDateTime)>, SyncError> {
    let records = odoo
        .read(
            VARIANT,
            &[variant_id],
            &["product_tmpl_id", "write_date"],
            &archived_too(),
        )
        .await?;
    let Some(record) = records.first() else {
        return Ok(None);
    };
    let owner =
        required_many2one(record, "product_tmpl_id").map_err(|e| bad(VARIANT, record, e))?;
    let write_date =
        required_datetime(record, "write_date").map_err(|e| bad(VARIANT, record, e))?;
    Ok(Some((owner, write_date)))
}

/// The template an extra image (`product.image`) shows on, its own or its variant's, and the
/// image's `write_date`; `None` when Odoo has no such image.
pub async fn extra_image_owner(
    odoo: &dyn OdooApi,
    id: i64,
) -> Result<Option<(Option<i64>, NaiveDateTime)>, SyncError> {
    let fields = ["product_tmpl_id", "product_variant_id", "write_date"];
    let records = odoo
        .read(PRODUCT_IMAGE, &[id], &fields, &archived_too())
        .await?;
    let Some(record) = records.first() else {
        return Ok(None);
    };
    let decode = |e| bad(PRODUCT_IMAGE, record, e);
    let template = record.get_many2one_id("product_tmpl_id").map_err(decode)?;
    let variant = record
        .get_many2one_id("product_variant_id")
        .map_err(decode)?;
    let write_date = required_datetime(record, "write_date").map_err(decode)?;
    let template = match (template, variant) {
        (Some(template), _) => Some(template),
        (None, Some(variant)) => variant_owner(odoo, variant).await?.map(|(t, _)| t),
        (None, None) => None,
    };
    Ok(Some((template, write_date)))
}

/// The templates of these variants (archived ones included), each once.
pub async fn templates_of_variants(
    odoo: &dyn OdooApi,
    variant_ids: &[i64],
) -> Result<Vec<i64>, SyncError> {
    if variant_ids.is_empty() {
        return Ok(Vec::new());
    }
    let records = odoo
        .read(VARIANT, variant_ids, &["product_tmpl_id"], &archived_too())
        .await?;
    let mut templates = std::collections::BTreeSet::new();
    for record in &records {
        let template =
            required_many2one(record, "product_tmpl_id").map_err(|e| bad(VARIANT, record, e))?;
        templates.insert(template);
    }
    Ok(templates.into_iter().collect())
}

pub async fn category_by_id(odoo: &dyn OdooApi, id: i64) -> Result<Option<Category>, SyncError> {
    let records = odoo
        .read(CATEGORY, &[id], CATEGORY_FIELDS, &Context::default())
        .await?;
    records
        .first()
        .map(|record| category(record).map_err(|e| bad(CATEGORY, record, e)))
        .transpose()
}

/// The template a `product.template.attribute.value` belongs to.
pub async fn attribute_value_owner(odoo: &dyn OdooApi, id: i64) -> Result<Option<i64>, SyncError> {
    const MODEL: &str = "product.template.attribute.value";
    let records = odoo
        .read(MODEL, &[id], &["product_tmpl_id"], &archived_too())
        .await?;
    records
        .first()
        .map(|record| {
            required_many2one(record, "product_tmpl_id").map_err(|e| bad(MODEL, record, e))
        })
        .transpose()
}

/// The `write_date` of one record of `model`, if it exists.
pub async fn write_date_of(
    odoo: &dyn OdooApi,
    model: &'static str,
    id: i64,
) -> Result<Option<NaiveDateTime>, SyncError> {
    let records = odoo
        .read(model, &[id], &["write_date"], &archived_too())
        .await?;
    records
        .first()
        .map(|record| required_datetime(record, "write_date").map_err(|e| bad(model, record, e)))
        .transpose()
}

/// The templates whose attribute values (`product.template.attribute.value`) have `field` (an
/// attribute or an attribute value) in `ids`: what a rename of those shows in.
pub async fn templates_using(
    odoo: &dyn OdooApi,
    field: &str,
    ids: &[i64],
) -> Result<Vec<i64>, SyncError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let domain = Domain::leaf(field, "in", ids.to_vec());
    let records = odoo
        .search_read(
            ATTRIBUTE_VALUE,
            &domain,
            &["product_tmpl_id"],
            &options("id", None),
        )
        .await?;
    let mut templates = std::collections::BTreeSet::new();
    for record in &records {
        let template = required_many2one(record, "product_tmpl_id")
            .map_err(|e| bad(ATTRIBUTE_VALUE, record, e))?;
        templates.insert(template);
    }
    Ok(templates.into_iter().collect())
}

/// The variant a `stock.quant` counts.
pub async fn quant_product(odoo: &dyn OdooApi, quant_id: i64) -> Result<Option<i64>, SyncError> {
    const MODEL: &str = "stock.quant";
    let records = odoo
        .read(MODEL, &[quant_id], &["product_id"], &Context::default())
        .await?;
    records
        .first()
        .map(|record| required_many2one(record, "product_id").map_err(|e| bad(MODEL, record, e)))
        .transpose()
}

/// The stock of the products' variants, read with their page: a variant with no quant at all is
/// then known to have none instead of staying unknown until a quant appears (the stock sweep
/// only sees quants that change). An Odoo without the stock app, or a user who may not read
/// quants, gives no levels (stock stays unknown) rather than a failed sync.
pub async fn stock_of(
    odoo: &dyn OdooApi,
    products: &[Product],
) -> Result<Vec<crate::domain::StockLevel>, SyncError> {
    let variants: Vec<i64> = products
        .iter()
        .flat_map(|product| product.variants.iter().map(|variant| variant.id))
        .collect();
    if variants.is_empty() {
        return Ok(Vec::new());
    }
    match stock_levels(odoo, &variants).await {
        Err(SyncError::Odoo(error)) if stock_unreadable(&error) => {
            tracing::debug!(%error, "stock.quant cannot be read: stock left unknown");
            Ok(Vec::new())
        }
        other => other,
    }
}

/// `stock.quant` is missing (no stock app: Odoo answers `KeyError`) or not readable by our user.
fn stock_unreadable(error: &odoo_rpc::OdooError) -> bool {
    error.fault().is_some_and(|fault| {
        fault.name == "builtins.KeyError" || fault.kind == odoo_rpc::FaultKind::AccessError
    })
}

/// Stock of variants, summed from their quants in internal locations: on hand and free to sell
/// (on hand minus reserved), which is what Odoo's `qty_available` and `free_qty` compute. Reading
/// the quants is several times cheaper than asking Odoo for those two computed fields, which it
/// recomputes from the quants for every variant on every read (see BENCHMARKS.md, "Stock levels").
pub async fn stock_levels(
    odoo: &dyn OdooApi,
    variant_ids: &[i64],
) -> Result<Vec<crate::domain::StockLevel>, SyncError> {
    const MODEL: &str = "stock.quant";
    const PAGE: u32 = 2000;
    let mut levels: BTreeMap<i64, crate::domain::StockLevel> = variant_ids
        .iter()
        .map(|&variant_id| (variant_id, crate::domain::StockLevel::empty(variant_id)))
        .collect();
    let mut after = 0;
    loop {
        let domain = Domain::leaf("product_id", "in", variant_ids.to_vec())
            .and(Domain::leaf("location_id.usage", "=", "internal"))
            .and(Domain::leaf("id", ">", after));
        let quants = odoo
            .search_read(
                MODEL,
                &domain,
                &["product_id", "quantity", "reserved_quantity"],
                &options("id", Some(PAGE)),
            )
            .await?;
        for quant in &quants {
            let counted = (|| {
                Ok::<_, DecodeError>((
                    quant.id()?,
                    required_many2one(quant, "product_id")?,
                    quant.get_f64("quantity")?,
                    quant.get_f64("reserved_quantity")?,
                ))
            })();
            let (id, variant, quantity, reserved) = counted.map_err(|e| bad(MODEL, quant, e))?;
            let level = levels
                .entry(variant)
                .or_insert_with(|| crate::domain::StockLevel::empty(variant));
            level.qty_available += quantity;
            level.free_qty += quantity - reserved;
            after = after.max(id);
        }
        if quants.len() < PAGE as usize {
            return Ok(levels.into_values().collect());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The real Odoo 18 demo catalog, as recorded with `active_test: false`.
    fn dataset() -> Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/odoo18-fixtures/conformance/dataset.json"
        );
        let text = std::fs::read_to_string(path).expect("the conformance data set");
        serde_json::from_str(&text).expect("JSON")
    }

    fn records(dataset: &Value, model: &str) -> Vec<Record> {
        dataset["models"][model]
            .as_array()
            .expect("records")
            .iter()
            .map(|record| Record(record.as_object().expect("an object").clone()))
            .collect()
    }

    #[test]
    fn local_lst_price_and_barcode_equal_what_odoo_computed_for_the_demo_catalog() {
        let dataset = dataset();
        let plan = FieldPlan {
            website: true,
            template_fields: Vec::new(),
            extra_fields: Vec::new(),
            langs: Vec::new(),
        };
        let templates = records(&dataset, TEMPLATE);
        let variants = records(&dataset, VARIANT);
        let ours: Vec<Product> = templates
            .iter()
            .map(|record| template(record, &plan).expect("a template"))
            .collect();
        let our_variants = variants
            .iter()
            .map(|record| {
                let owner = required_many2one(record, "product_tmpl_id").expect("an owner");
                (owner, variant(record).expect("a variant"))
            })
            .collect();
        let extras = records(&dataset, ATTRIBUTE_VALUE)
            .iter()
            .map(|record| (record.id().unwrap(), record.get_f64("price_extra").unwrap()))
            .collect();
        let products = assemble(ours, our_variants, HashMap::new(), &extras);
        assert_eq!(products.len(), 45);
        let mut with_extras = 0;
        for (product, recorded) in products.iter().zip(&templates) {
            assert_eq!(product.barcode, recorded.get_str("barcode").unwrap());
            assert_eq!(
                product.default_code,
                recorded.get_str("default_code").unwrap()
            );
            for variant in &product.variants {
                let recorded = variants.iter().find(|v| v.id() == Ok(variant.id)).unwrap();
                let expected = recorded.get_f64("lst_price").unwrap();
                assert_eq!(variant.lst_price, expected, "variant {}", variant.id);
                with_extras += usize::from(recorded.get_f64("price_extra").unwrap() != 0.0);
            }
        }
        assert_eq!(
            with_extras, 3,
            "the data set prices three variants' attribute values"
        );
        // The archived template keeps its only (archived) variant's code.
        let desk_pad = products.iter().find(|p| p.id == 32).unwrap();
        assert!(!desk_pad.active);
        assert_eq!(desk_pad.default_code.as_deref(), Some("FURN_0002"));
    }

    fn variant_with(barcode: &str, active: bool) -> Variant {
        Variant {
            id: 1,
            default_code: None,
            barcode: Some(barcode.to_owned()),
            lst_price: 0.0,
            active,
            product_template_attribute_value_ids: Vec::new(),
            write_date: NaiveDateTime::default(),
        }
    }

    #[test]
    fn a_template_barcode_is_its_only_active_variant_s_else_its_only_archived_one_s() {
        let barcode = |variants: &[Variant]| only_variant_barcode(variants);
        let (on, off) = (variant_with("on", true), variant_with("off", false));
        assert_eq!(barcode(std::slice::from_ref(&on)).as_deref(), Some("on"));
        assert_eq!(barcode(&[off.clone(), on.clone()]).as_deref(), Some("on"));
        assert_eq!(barcode(std::slice::from_ref(&off)).as_deref(), Some("off"));
        assert_eq!(barcode(&[off.clone(), off.clone()]), None);
        assert_eq!(barcode(&[on.clone(), on]), None);
        assert_eq!(barcode(&[]), None);
    }

    #[test]
    fn a_variant_price_loses_the_float_noise_of_the_sum() {
        assert_eq!(variant_price(0.1, [0.2].iter()), 0.3);
        assert_eq!(variant_price(5.1, [].iter()), 5.1);
        assert_eq!(variant_price(1799.0, [50.0, 10.0].iter()), 1859.0);
        assert_eq!(variant_price(1.234, [0.001].iter()), 1.235);
        assert_eq!(variant_price(-3.3, [1.1].iter()), -2.2);
    }
}
