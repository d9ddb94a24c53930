//! Prices under the configured pricelist (`SYNC_PRICELIST_ID`). Odoo computes pricelist prices
//! in Python and exposes no RPC method for them; a pricelist item's change moves no product
//! `write_date` and sends no product webhook. So the rules are read (whole: a pricelist is small,
//! and a deleted rule leaves no trace but its absence) on every sweep, and applied here: to the
//! products changed since the last pricing, or to all when the rules changed or a rule started
//! or ended.

use chrono::{NaiveDateTime, Utc};
use odoo_rpc::{Context, DecodeError, Domain, Record, SearchOptions};

use super::{SyncEngine, SyncError};
use crate::domain::pricelist::{
    next_boundary, price_of, sort_rules, AppliesTo, PriceBase, PriceComputation, Priced,
    PricelistRule, PricingState, VariantPrice,
};

const PRICELIST: &str = "product.pricelist";
pub const ITEM: &str = "product.pricelist.item";
/// The fields of a pricelist item that decide a price (also the fields whose change should
/// send a webhook, see `odoo install-webhooks`).
pub const RULE_FIELDS: &[&str] = &[
    "applied_on",
    "product_id",
    "product_tmpl_id",
    "categ_id",
    "min_quantity",
    "date_start",
    "date_end",
    "base",
    "compute_price",
    "fixed_price",
    "percent_price",
    "price_discount",
    "price_round",
    "price_surcharge",
    "price_min_margin",
    "price_max_margin",
];

impl SyncEngine {
    /// Reads the pricelist's rules; when they changed, stores them and prices every variant
    /// again, otherwise prices what changed since. Returns how many prices changed.
    pub async fn sweep_pricelist(&self) -> Result<u64, SyncError> {
        let Some(pricelist) = self.settings.pricelist_id else {
            return Ok(0);
        };
        let mut rules = self.read_rules(pricelist).await?;
        sort_rules(&mut rules);
        let mut stored = self.store.pricelist_rules().await?;
        sort_rules(&mut stored);
        let changed = rules != stored;
        if changed {
            tracing::info!(pricelist, rules = rules.len(), "pricelist rules changed");
            self.store.replace_pricelist_rules(&rules).await?;
        }
        self.price(rules, changed).await
    }

    /// Prices the variants of products changed since the last pricing (all of them when a rule
    /// started or ended since). Reads the rules from Odoo the first time.
    pub async fn reprice_changed(&self) -> Result<u64, SyncError> {
        if self.settings.pricelist_id.is_none() {
            return Ok(0);
        }
        if self.store.pricing_state().await?.is_none() {
            return self.sweep_pricelist().await;
        }
        let mut rules = self.store.pricelist_rules().await?;
        sort_rules(&mut rules);
        self.price(rules, false).await
    }

    async fn price(&self, rules: Vec<PricelistRule>, everything: bool) -> Result<u64, SyncError> {
        let now = Utc::now().naive_utc();
        let state = self.store.pricing_state().await?;
        let boundary_passed = state
            .as_ref()
            .and_then(|state| state.next_boundary)
            .is_some_and(|boundary| boundary <= now);
        let after = match &state {
            Some(state) if !everything && !boundary_passed => state.seq,
            _ => 0,
        };
        let (variants, newest) = self.store.variants_to_price(after).await?;
        let prices: Vec<VariantPrice> = variants
            .iter()
            .map(|variant| {
                let priced = price_of(&rules, variant, now);
                VariantPrice {
                    variant_id: variant.variant_id,
                    template_id: variant.template_id,
                    price: priced.price(),
                    rule_id: match priced {
                        Priced::ListPrice(_) => None,
                        Priced::ByRule { rule_id, .. } | Priced::NotComputable { rule_id } => {
                            Some(rule_id)
                        }
                    },
                }
            })
            .collect();
        let state = PricingState {
            seq: newest,
            priced_at: now,
            next_boundary: next_boundary(&rules, now),
        };
        let changed = self.store.set_prices(&prices, &state).await?;
        if changed > 0 {
            tracing::info!(changed, "pricelist prices changed");
        }
        Ok(changed)
    }

    /// A pricelist item's `write_date` in Odoo, `None` if Odoo does not have it (yet, or any more).
    pub(super) async fn pricelist_item_written(
        &self,
        id: i64,
    ) -> Result<Option<NaiveDateTime>, SyncError> {
        let records = self
            .odoo
            .read(ITEM, &[id], &["write_date"], &Context::default())
            .await?;
        let Some(record) = records.first() else {
            return Ok(None);
        };
        record
            .get_datetime("write_date")
            .map_err(|e| SyncError::BadRecord {
                model: ITEM,
                id: id.to_string(),
                detail: e.to_string(),
            })
    }

    async fn read_rules(&self, pricelist: i64) -> Result<Vec<PricelistRule>, SyncError> {
        let exists = self
            .odoo
            .read(PRICELIST, &[pricelist], &["id"], &Context::default())
            .await?;
        if exists.is_empty() {
            return Err(SyncError::Config(format!(
                "SYNC_PRICELIST_ID is {pricelist}, but Odoo has no active pricelist with that id"
            )));
        }
        let options = SearchOptions {
            order: Some("id".into()),
            ..SearchOptions::default()
        };
        let domain = Domain::leaf("pricelist_id", "=", pricelist);
        let fields: Vec<&str> = ["id", "write_date"]
            .into_iter()
            .chain(RULE_FIELDS.iter().copied())
            .collect();
        let records = self
            .odoo
            .search_read(ITEM, &domain, &fields, &options)
            .await?;
        records
            .iter()
            .map(|record| {
                rule(record).map_err(|detail| SyncError::BadRecord {
                    model: ITEM,
                    id: record
                        .raw("id")
                        .map(|id| id.to_string())
                        .unwrap_or_default(),
                    detail,
                })
            })
            .collect()
    }
}

fn rule(record: &Record) -> Result<PricelistRule, String> {
    let decoded = |e: DecodeError| e.to_string();
    let id_of = |field: &str| -> Result<i64, String> {
        record
            .get_many2one(field)
            .map_err(decoded)?
            .map(|m| m.id)
            .ok_or_else(|| format!("{field} is empty"))
    };
    let applied_on = record.get_str("applied_on").map_err(decoded)?;
    let applies_to = match applied_on.as_deref() {
        Some("0_product_variant") => AppliesTo::Variant(id_of("product_id")?),
        Some("1_product") => AppliesTo::Template(id_of("product_tmpl_id")?),
        Some("2_product_category") => AppliesTo::Category(id_of("categ_id")?),
        Some("3_global") => AppliesTo::All,
        other => return Err(format!("applied_on {other:?} is not one Odoo 18 knows")),
    };
    let number = |field: &str| record.get_f64(field).map_err(decoded);
    let computation = match record.get_str("compute_price").map_err(decoded)?.as_deref() {
        Some("fixed") => PriceComputation::Fixed(number("fixed_price")?),
        Some("percentage") => PriceComputation::Percentage(number("percent_price")?),
        Some("formula") => PriceComputation::Formula {
            discount: number("price_discount")?,
            round_to: number("price_round")?,
            surcharge: number("price_surcharge")?,
            min_margin: number("price_min_margin")?,
            max_margin: number("price_max_margin")?,
        },
        other => return Err(format!("compute_price {other:?} is not one Odoo 18 knows")),
    };
    let base = match record.get_str("base").map_err(decoded)?.as_deref() {
        Some("list_price") | None => PriceBase::ListPrice,
        Some(other) => PriceBase::Unsupported(other.to_string()),
    };
    let date = |field: &str| -> Result<Option<NaiveDateTime>, String> {
        record.get_datetime(field).map_err(decoded)
    };
    Ok(PricelistRule {
        id: record.id().map_err(decoded)?,
        applies_to,
        min_quantity: number("min_quantity")?,
        valid_from: date("date_start")?,
        valid_until: date("date_end")?,
        base,
        computation,
        write_date: date("write_date")?.ok_or("write_date is empty")?,
    })
}
