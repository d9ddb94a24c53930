//! Prices under the configured pricelists (`SYNC_PRICELIST_IDS`). Odoo computes pricelist prices
//! in Python and exposes no RPC method for them; a pricelist item's change moves no product
//! `write_date` and sends no product webhook. So the rules are read (whole: a pricelist is small,
//! and a deleted rule leaves no trace but its absence) on every sweep, and applied here: to the
//! products changed since the last pricing, or to all when the rules changed or a rule started
//! or ended.

use std::collections::{BTreeSet, HashMap};

use chrono::{NaiveDateTime, Utc};
use odoo_rpc::{Context, DecodeError, Domain, Record, SearchOptions};

use super::{SyncEngine, SyncError};
use crate::domain::pricelist::{
    next_boundary, price_of, sort_rules, AppliesTo, PriceBase, PriceComputation, Priced, Pricelist,
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
    /// Reads the configured pricelists and their rules; prices every variant again under each
    /// pricelist whose rules changed, and what changed since under the others. Returns how many
    /// prices changed.
    pub async fn sweep_pricelist(&self) -> Result<u64, SyncError> {
        if self.settings.pricelist_ids.is_empty() {
            return Ok(0);
        }
        let pricelists = self.read_pricelists().await?;
        self.store.set_pricelists(&pricelists).await?;
        let mut rules_by_pricelist = self.read_rules().await?;
        let mut changed_prices = 0;
        for pricelist in &pricelists {
            let mut rules = rules_by_pricelist.remove(&pricelist.id).unwrap_or_default();
            sort_rules(&mut rules);
            let mut stored = self.store.pricelist_rules(pricelist.id).await?;
            sort_rules(&mut stored);
            let changed = rules != stored;
            if changed {
                tracing::info!(
                    pricelist = pricelist.id,
                    rules = rules.len(),
                    "pricelist rules changed"
                );
                self.store
                    .replace_pricelist_rules(pricelist.id, &rules)
                    .await?;
            }
            changed_prices += self.price(pricelist.id, rules, changed).await?;
        }
        Ok(changed_prices)
    }

    /// Prices the variants of products changed since the last pricing (all of them when a rule
    /// started or ended since), under every pricelist. Reads the rules from Odoo the first time.
    pub async fn reprice_changed(&self) -> Result<u64, SyncError> {
        for &pricelist in &self.settings.pricelist_ids {
            if self.store.pricing_state(pricelist).await?.is_none() {
                return self.sweep_pricelist().await;
            }
        }
        let mut changed_prices = 0;
        for &pricelist in &self.settings.pricelist_ids {
            let mut rules = self.store.pricelist_rules(pricelist).await?;
            sort_rules(&mut rules);
            changed_prices += self.price(pricelist, rules, false).await?;
        }
        Ok(changed_prices)
    }

    async fn price(
        &self,
        pricelist: i64,
        rules: Vec<PricelistRule>,
        everything: bool,
    ) -> Result<u64, SyncError> {
        let now = Utc::now().naive_utc();
        let state = self.store.pricing_state(pricelist).await?;
        let boundary_passed = state
            .as_ref()
            .and_then(|state| state.next_boundary)
            .is_some_and(|boundary| boundary <= now);
        let after = match &state {
            Some(state) if !everything && !boundary_passed => state.seq,
            _ => 0,
        };
        let (variants, newest) = self.store.variants_to_price(after).await?;
        let mut not_computable = BTreeSet::new();
        let prices: Vec<VariantPrice> = variants
            .iter()
            .map(|variant| {
                let priced = price_of(&rules, variant, now);
                let rule_id = match priced {
                    Priced::ListPrice(_) => None,
                    Priced::ByRule { rule_id, .. } => Some(rule_id),
                    Priced::NotComputable { rule_id } => {
                        not_computable.insert(rule_id);
                        Some(rule_id)
                    }
                };
                VariantPrice {
                    variant_id: variant.variant_id,
                    template_id: variant.template_id,
                    price: priced.price(),
                    rule_id,
                }
            })
            .collect();
        for rule in rules
            .iter()
            .filter(|rule| not_computable.contains(&rule.id))
        {
            if let PriceBase::Unsupported(base) = &rule.base {
                tracing::warn!(
                    pricelist,
                    rule = rule.id,
                    base,
                    "prices of this rule stay null: odoo-sync does not sync the base it computes from"
                );
            }
        }
        let state = PricingState {
            seq: newest,
            priced_at: now,
            next_boundary: next_boundary(&rules, now),
        };
        let changed = self.store.set_prices(pricelist, &prices, &state).await?;
        if changed > 0 {
            tracing::info!(pricelist, changed, "pricelist prices changed");
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

    /// The configured pricelists, in `SYNC_PRICELIST_IDS` order, with their currency; an id
    /// Odoo does not have (or has archived) is a configuration error.
    async fn read_pricelists(&self) -> Result<Vec<Pricelist>, SyncError> {
        let ids = &self.settings.pricelist_ids;
        let records = self
            .odoo
            .read(
                PRICELIST,
                ids,
                &["name", "currency_id"],
                &Context::default(),
            )
            .await?;
        let mut found: HashMap<i64, Pricelist> = HashMap::new();
        for record in &records {
            let pricelist = pricelist(record).map_err(|detail| SyncError::BadRecord {
                model: PRICELIST,
                id: record
                    .raw("id")
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                detail,
            })?;
            found.insert(pricelist.id, pricelist);
        }
        let missing: Vec<i64> = ids
            .iter()
            .filter(|id| !found.contains_key(id))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(SyncError::UnknownPricelists { ids: missing });
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// The rules of every configured pricelist, in one read, by pricelist id.
    async fn read_rules(&self) -> Result<HashMap<i64, Vec<PricelistRule>>, SyncError> {
        let options = SearchOptions {
            order: Some("id".into()),
            ..SearchOptions::default()
        };
        let domain = Domain::leaf("pricelist_id", "in", self.settings.pricelist_ids.clone());
        let fields: Vec<&str> = ["id", "write_date", "pricelist_id"]
            .into_iter()
            .chain(RULE_FIELDS.iter().copied())
            .collect();
        let records = self
            .odoo
            .search_read(ITEM, &domain, &fields, &options)
            .await?;
        let mut rules: HashMap<i64, Vec<PricelistRule>> = HashMap::new();
        for record in &records {
            let (pricelist, rule) =
                pricelist_rule(record).map_err(|detail| SyncError::BadRecord {
                    model: ITEM,
                    id: record
                        .raw("id")
                        .map(|id| id.to_string())
                        .unwrap_or_default(),
                    detail,
                })?;
            rules.entry(pricelist).or_default().push(rule);
        }
        Ok(rules)
    }
}

fn pricelist(record: &Record) -> Result<Pricelist, String> {
    let decoded = |e: DecodeError| e.to_string();
    Ok(Pricelist {
        id: record.id().map_err(decoded)?,
        name: record.get_str("name").map_err(decoded)?.unwrap_or_default(),
        currency: record
            .get_many2one("currency_id")
            .map_err(decoded)?
            .map(|currency| currency.name),
    })
}

fn pricelist_rule(record: &Record) -> Result<(i64, PricelistRule), String> {
    let pricelist = record
        .get_many2one("pricelist_id")
        .map_err(|e| e.to_string())?
        .map(|m| m.id)
        .ok_or("pricelist_id is empty")?;
    Ok((pricelist, rule(record)?))
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
