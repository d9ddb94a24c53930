//! Healing what webhooks never tell: stock (quants move no product `write_date`), attribute
//! `price_extra` and extra media (move no `write_date` either), pricelist rules (see pricing.rs), and deletions (leave no trace but a missing id).

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use chrono::NaiveDateTime;
use odoo_rpc::{Domain, SearchOptions};
use tokio_util::sync::CancellationToken;

use super::fetch;
use super::{SyncEngine, SyncError, SyncRequest, SyncService};
use crate::domain::{RunCounts, SyncMode, Trigger, Watermark, WatermarkKey};
use crate::meters;
use crate::store::CatalogBatch;

const PAGE: u32 = 500;

impl SyncEngine {
    /// Marks deleted the products Odoo no longer has: ids only, one call.
    pub async fn reconcile_deletions(&self) -> Result<u64, SyncError> {
        let in_odoo: HashSet<i64> = fetch::all_template_ids(self.odoo.as_ref())
            .await?
            .into_iter()
            .collect();
        let gone: Vec<i64> = self
            .store
            .live_product_ids()
            .await?
            .into_iter()
            .filter(|id| !in_odoo.contains(id))
            .collect();
        let deleted = self.store.mark_deleted(&gone, None).await?;
        let counts = RunCounts {
            deleted,
            ..RunCounts::default()
        };
        meters::products_synced(meters::Source::Sweep, &counts);
        if deleted > 0 {
            tracing::info!(deleted, "reconcile marked products deleted in Odoo");
        }
        Ok(deleted)
    }

    /// Refreshes the stock of variants whose quants changed since the stock watermark.
    pub async fn sweep_stock(&self) -> Result<u64, SyncError> {
        let changed = self
            .changed_since(WatermarkKey::StockQuant, "stock.quant", "product_id")
            .await?;
        let mut written = 0;
        for chunk in changed.targets.chunks(PAGE as usize) {
            let levels = fetch::stock_levels(self.odoo.as_ref(), chunk).await?;
            written += self.store.set_stock(&levels).await?;
        }
        self.advance(WatermarkKey::StockQuant, changed.newest)
            .await?;
        Ok(written)
    }

    /// Refreshes the products whose attribute values' `price_extra` changed since the watermark,
    /// and those using an attribute or attribute value renamed (or recoloured, reordered) since:
    /// neither moves a template's `write_date`. One watermark follows the three models.
    pub async fn sweep_attribute_prices(&self) -> Result<u64, SyncError> {
        let model = "product.template.attribute.value";
        let key = WatermarkKey::AttributeValue;
        let (ptavs, values, attributes) = futures::try_join!(
            self.changed_since(key, model, "product_tmpl_id"),
            self.changed_since(key, fetch::VALUE, "attribute_id"),
            self.changed_since(key, fetch::ATTRIBUTE, "id"),
        )?;
        let odoo = self.odoo.as_ref();
        let (by_value, by_attribute) = futures::try_join!(
            fetch::templates_using(odoo, "product_attribute_value_id", &values.records),
            fetch::templates_using(odoo, "attribute_id", &attributes.records),
        )?;
        let targets: BTreeSet<i64> = ptavs
            .targets
            .iter()
            .chain(&by_value)
            .chain(&by_attribute)
            .copied()
            .collect();
        let targets: Vec<i64> = targets.into_iter().collect();
        let newest = [ptavs.newest, values.newest, attributes.newest]
            .into_iter()
            .max()
            .flatten();
        let changed = Changed {
            targets,
            newest,
            records: Vec::new(),
        };
        let updated = self.refresh_swept(&changed.targets).await?;
        self.advance(WatermarkKey::AttributeValue, changed.newest)
            .await?;
        Ok(updated)
    }

    /// Refreshes the products whose extra media (`product.image`) were added or changed since
    /// the watermark: they move no template's `write_date`. (A deleted one leaves no trace; the
    /// next full run's image pass drops it.) Without website_sale there are none.
    pub async fn sweep_extra_images(&self) -> Result<u64, SyncError> {
        if !self.field_plan().await?.website {
            return Ok(0);
        }
        let key = WatermarkKey::ExtraImage;
        let [of_templates, of_variants] = self
            .changed_since_through(
                key,
                fetch::PRODUCT_IMAGE,
                ["product_tmpl_id", "product_variant_id"],
            )
            .await?;
        let owners = fetch::templates_of_variants(self.odoo.as_ref(), &of_variants.targets).await?;
        let targets: BTreeSet<i64> = of_templates
            .targets
            .iter()
            .chain(&owners)
            .copied()
            .collect();
        let targets: Vec<i64> = targets.into_iter().collect();
        self.refresh_swept(&targets).await?;
        self.advance(key, of_templates.newest).await?;
        Ok(targets.len() as u64)
    }

    /// Reads and stores these templates, images included; returns how many were updated.
    async fn refresh_swept(&self, templates: &[i64]) -> Result<u64, SyncError> {
        let plan = self.field_plan().await?;
        let mut updated = 0;
        for chunk in templates.chunks(self.settings.batch_size as usize) {
            let products = fetch::products(self.odoo.as_ref(), &plan, chunk).await?;
            let counts = self
                .store
                .apply_batch(CatalogBatch {
                    products: &products,
                    categories: &[],
                    checkpoint: None,
                })
                .await?;
            meters::products_synced(meters::Source::Sweep, &counts);
            self.sync_images(&products, None).await?;
            updated += counts.updated;
        }
        Ok(updated)
    }

    async fn advance(
        &self,
        key: WatermarkKey,
        newest: Option<NaiveDateTime>,
    ) -> Result<(), SyncError> {
        if let Some(newest) = newest {
            let current = self.store.watermarks().await?.get(&key).copied();
            self.store
                .set_watermark(key, Watermark::advance(current, newest))
                .await?;
        }
        Ok(())
    }

    /// Records of `model` written since the key's watermark (minus the overlap window): the ids
    /// they point to through `target_field`, and the newest `write_date` seen.
    async fn changed_since(
        &self,
        key: WatermarkKey,
        model: &str,
        target_field: &str,
    ) -> Result<Changed, SyncError> {
        let [changed] = self
            .changed_since_through(key, model, [target_field])
            .await?;
        Ok(changed)
    }

    /// `changed_since` through several fields of the same records, read once: one `Changed`
    /// per field, in order.
    async fn changed_since_through<const N: usize>(
        &self,
        key: WatermarkKey,
        model: &str,
        target_fields: [&str; N],
    ) -> Result<[Changed; N], SyncError> {
        let overlap = chrono::Duration::from_std(self.settings.overlap).unwrap_or_default();
        let since = self
            .store
            .watermarks()
            .await?
            .get(&key)
            .map(|mark| mark.read_from(overlap));
        let mut fields = vec!["id", "write_date"];
        fields.extend(target_fields.iter().filter(|f| **f != "id"));
        let mut targets: [BTreeSet<i64>; N] = std::array::from_fn(|_| BTreeSet::new());
        let mut seen_ids = Vec::new();
        let mut newest = None;
        let mut after = 0;
        loop {
            let mut domain = Domain::leaf("id", ">", after);
            if let Some(since) = since {
                domain = domain.and(Domain::leaf(
                    "write_date",
                    ">=",
                    odoo_rpc::format_odoo_datetime(since),
                ));
            }
            let options = SearchOptions {
                limit: Some(PAGE),
                order: Some("id".into()),
                context: fetch::archived_too(),
                ..Default::default()
            };
            let records = self
                .odoo
                .search_read(model, &domain, &fields, &options)
                .await?;
            for record in &records {
                let bad = |e: odoo_rpc::DecodeError| SyncError::BadRecord {
                    model: "sweep",
                    id: format!("{model} {:?}", record.raw("id")),
                    detail: e.to_string(),
                };
                let id = record.id().map_err(bad)?;
                for (field, targets) in target_fields.iter().zip(targets.iter_mut()) {
                    if *field == "id" {
                        targets.insert(id);
                    } else if let Some(target) = record.get_many2one(field).map_err(bad)? {
                        targets.insert(target.id);
                    }
                }
                seen_ids.push(id);
                if let Some(at) = record.get_datetime("write_date").map_err(bad)? {
                    newest = newest.max(Some(at));
                }
                after = after.max(id);
            }
            if records.len() < PAGE as usize {
                break;
            }
        }
        Ok(targets.map(|targets| Changed {
            targets: targets.into_iter().collect(),
            newest,
            records: seen_ids.clone(),
        }))
    }
}

struct Changed {
    targets: Vec<i64>,
    newest: Option<NaiveDateTime>,
    /// The ids of the changed records themselves.
    records: Vec<i64>,
}

/// Every `sweep`: an incremental run (edits and deletions whose webhooks were lost), then the
/// stock and price sweeps. Every `reconcile`: the id-set comparison alone. Every hour, with a
/// `webhook_retention`: the inbox's handled events older than it are deleted; with an
/// `image_retention`, image blobs no product has shown for that long too.
pub async fn run_sweeps(service: SyncService, periods: SweepPeriods, cancel: CancellationToken) {
    let mut sweep_timer = periods.sweep.map(ticker);
    let mut reconcile_timer = periods.reconcile.map(ticker);
    // Soon after start too, so that an instance restarted more often than hourly still prunes.
    let mut prune_timer = (periods.webhook_retention.is_some()
        || periods.image_retention.is_some())
    .then(|| ticker_from(Duration::from_secs(60), PRUNE_EVERY));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick(&mut sweep_timer) => sweep_once(&service).await,
            _ = tick(&mut reconcile_timer) => {
                if let Err(error) = service.engine().reconcile_deletions().await {
                    tracing::warn!(%error, "deletion reconcile failed");
                }
            }
            _ = tick(&mut prune_timer) => {
                prune_once(&service, periods.webhook_retention).await;
                collect_images_once(&service, periods.image_retention).await;
            }
        }
    }
}

/// How often handled webhook events past their retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The periods of the background work; `None` disables one.
#[derive(Debug, Clone, Copy)]
pub struct SweepPeriods {
    pub sweep: Option<Duration>,
    pub reconcile: Option<Duration>,
    /// How long handled webhook events are kept.
    pub webhook_retention: Option<Duration>,
    /// How long an image blob no product shows is kept.
    pub image_retention: Option<Duration>,
}

async fn collect_images_once(service: &SyncService, retention: Option<Duration>) {
    let Some(retention) = retention else { return };
    match service.engine().collect_unused_images(retention).await {
        Ok(0) => {}
        Ok(collected) => tracing::info!(collected, "deleted image blobs no product shows any more"),
        Err(error) => tracing::warn!(%error, "image collection failed"),
    }
}

async fn prune_once(service: &SyncService, retention: Option<Duration>) {
    let Some(retention) = retention else { return };
    match service.engine().prune_webhooks(retention).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(
            pruned,
            "deleted handled webhook events and delivered site webhooks past their retention"
        ),
        Err(error) => tracing::warn!(%error, "webhook inbox pruning failed"),
    }
}

fn ticker(period: Duration) -> tokio::time::Interval {
    ticker_from(period, period)
}

fn ticker_from(first: Duration, period: Duration) -> tokio::time::Interval {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + first, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

async fn tick(timer: &mut Option<tokio::time::Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending::<()>().await,
    }
}

async fn sweep_once(service: &SyncService) {
    match service
        .start(SyncRequest {
            mode: SyncMode::Incremental,
            trigger: Trigger::Sweep,
        })
        .await
    {
        Ok(run) => tracing::debug!(run = %run.id, "sweep started"),
        Err(SyncError::RunInProgress { .. }) => {
            tracing::debug!("sweep skipped: a run is in progress")
        }
        Err(error) => tracing::warn!(%error, "sweep could not start"),
    }
    let engine = service.engine();
    if let Err(error) = engine.sweep_stock().await {
        tracing::warn!(%error, "stock sweep failed");
    }
    if let Err(error) = engine.sweep_attribute_prices().await {
        tracing::warn!(%error, "price sweep failed");
    }
    if let Err(error) = engine.sweep_extra_images().await {
        tracing::warn!(%error, "extra image sweep failed");
    }
    if let Err(error) = engine.sweep_pricelist().await {
        tracing::warn!(%error, "pricelist sweep failed");
    }
}
