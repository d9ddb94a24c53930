//! Draining the webhook inbox. A webhook is a hint that a record may have changed: the worker
//! reads the record back from Odoo and stores what Odoo has committed.
//!
//! Odoo 18 sends webhooks inside the writing transaction, before it commits: the first read can
//! see the old state, a create can be invisible and a deleted row still there. So when the payload
//! carries `write_date`, reads repeat (briefly) until Odoo's second-precision `write_date` reaches
//! the payload's; without it, reads follow a short fixed schedule. A change that never becomes
//! visible (a rolled-back transaction, a phantom) ends quietly when the settle window closes.
//! Odoo 19 sends them after the commit and never for a rolled-back change: the first read is the
//! committed state, so it ends the events at once.
//! Events for one record are claimed together once the burst is over (`coalesce`), so a burst of
//! POSTs becomes one read.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::fetch::{self, FieldPlan};
use super::pricing;
use super::{SyncEngine, SyncError};
use crate::domain::{watermark::truncate_to_second, RunCounts, WebhookEvent, WebhookKind};
use crate::meters;
use crate::store::{CatalogBatch, Coalesce};

/// The first Odoo series that sends webhooks after its commit.
const FIRST_AFTER_COMMIT_MAJOR: u32 = 19;

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// How long after the first event a change may take to become visible in Odoo.
    pub settle_window: Duration,
    /// Re-reads after the event when the payload has no `write_date`.
    pub reread_schedule: Vec<Duration>,
    /// Attempts before an event that keeps failing (Odoo errors) is kept as failed.
    pub max_attempts: u32,
    /// How long a record's events wait for more of the same burst before one read handles them.
    pub coalesce: Coalesce,
    /// Events claimed at once.
    pub batch: u32,
    pub lease: Duration,
    /// Idle wait between empty polls of the inbox.
    pub poll: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            settle_window: Duration::from_secs(15),
            reread_schedule: vec![
                Duration::from_millis(300),
                Duration::from_secs(1),
                Duration::from_secs(3),
            ],
            max_attempts: 8,
            coalesce: Coalesce {
                quiet: Duration::from_millis(100),
                max_wait: Duration::from_secs(1),
            },
            batch: 200,
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(50),
        }
    }
}

/// What to do with a group of events after one read.
#[derive(Debug, PartialEq)]
enum Verdict {
    Done(&'static str),
    ReadAgainAt(DateTime<Utc>),
}

/// Pure: the next step for events whose record was read back (`seen` = the record's current
/// `write_date`, `None` when Odoo does not have it).
fn verdict(
    events: &[WebhookEvent],
    seen: Option<NaiveDateTime>,
    settings: &WebhookSettings,
    now: DateTime<Utc>,
    after_commit: bool,
) -> Verdict {
    let unlink = events.iter().any(|e| e.kind == WebhookKind::Unlink);
    if after_commit {
        return Verdict::Done(if unlink || seen.is_none() {
            "deleted"
        } else {
            "applied"
        });
    }
    let first = events.iter().map(|e| e.received_at).min().unwrap_or(now);
    let deadline = first + chrono::Duration::from_std(settings.settle_window).unwrap_or_default();
    let hint = events
        .iter()
        .filter_map(|e| e.hinted_write_date)
        .max()
        .map(truncate_to_second);
    let waiting = match (unlink, seen, hint) {
        (true, Some(_), _) => true,                 // deletion not committed yet
        (false, None, _) => true,                   // creation not committed yet
        (false, Some(at), Some(hint)) => at < hint, // still the old state
        _ => false,
    };
    if waiting {
        if now >= deadline {
            return Verdict::Done(if unlink {
                "deletion never committed"
            } else {
                "change never became visible"
            });
        }
        let attempts = events.iter().map(|e| e.attempts).max().unwrap_or(1);
        let backoff = Duration::from_millis((100 * u64::from(attempts)).min(500));
        return Verdict::ReadAgainAt(now + chrono::Duration::from_std(backoff).unwrap_or_default());
    }
    if hint.is_none() && !unlink {
        // No write_date to wait for: read again on the schedule, the state may still be old.
        let next = settings
            .reread_schedule
            .iter()
            .map(|d| first + chrono::Duration::from_std(*d).unwrap_or_default())
            .find(|at| *at > now);
        if let Some(at) = next {
            return Verdict::ReadAgainAt(at);
        }
    }
    Verdict::Done(if unlink || seen.is_none() {
        "deleted"
    } else {
        "applied"
    })
}

impl SyncEngine {
    /// Claims due events and handles them; returns how many events were handled.
    pub async fn process_webhooks_once(
        &self,
        settings: &WebhookSettings,
    ) -> Result<usize, SyncError> {
        let events = self
            .store
            .claim_webhooks(settings.batch, settings.lease, settings.coalesce)
            .await?;
        if events.is_empty() {
            return Ok(0);
        }
        let plan = self.field_plan().await?;
        let after_commit = self.webhooks_after_commit().await?;
        let mut groups: BTreeMap<(String, i64), Vec<WebhookEvent>> = BTreeMap::new();
        for event in events.iter().cloned() {
            groups
                .entry((event.model.clone(), event.record_id))
                .or_default()
                .push(event);
        }
        let mut pricelist_changed = false;
        let mut done = Vec::new();
        for ((model, record), group) in groups {
            let ids: Vec<i64> = group.iter().map(|e| e.id).collect();
            match self
                .handle_group(&model, record, &group, &plan, settings, after_commit)
                .await
            {
                Ok(Verdict::Done(outcome)) => {
                    pricelist_changed |= model == pricing::ITEM;
                    done.push((ids, outcome));
                }
                Ok(Verdict::ReadAgainAt(at)) => {
                    self.store.reschedule_webhooks(&ids, at, None).await?
                }
                Err(error) => self.retry_later(&group, &error, settings).await?,
            }
        }
        // One read of the rules for every pricelist item of the batch; a failure is healed by
        // the next sweep, which reads them again.
        let priced = if pricelist_changed {
            self.sweep_pricelist().await
        } else {
            self.reprice_changed().await
        };
        if let Err(error) = priced {
            tracing::warn!(%error, "pricing after webhooks failed");
        }
        // Done once every effect is stored, prices included: an idle inbox means a settled
        // catalog (and a crash before this point only makes the events run again).
        for (ids, outcome) in done {
            self.store.complete_webhooks(&ids, outcome).await?;
        }
        Ok(events.len())
    }

    async fn retry_later(
        &self,
        group: &[WebhookEvent],
        error: &SyncError,
        settings: &WebhookSettings,
    ) -> Result<(), SyncError> {
        let ids: Vec<i64> = group.iter().map(|e| e.id).collect();
        let attempts = group.iter().map(|e| e.attempts).max().unwrap_or(1);
        let message = error.to_string();
        if attempts >= settings.max_attempts {
            tracing::error!(events = ?ids, %message, "webhook events failed for good");
            return Ok(self.store.fail_webhooks(&ids, &message).await?);
        }
        let delay = odoo_rpc::backoff_delay(
            attempts,
            Duration::from_millis(500),
            Duration::from_secs(60),
        );
        tracing::warn!(events = ?ids, %message, ?delay, "webhook events will be retried");
        let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        Ok(self
            .store
            .reschedule_webhooks(&ids, at, Some(&message))
            .await?)
    }

    async fn handle_group(
        &self,
        model: &str,
        record: i64,
        events: &[WebhookEvent],
        plan: &FieldPlan,
        settings: &WebhookSettings,
        after_commit: bool,
    ) -> Result<Verdict, SyncError> {
        let now = Utc::now();
        let verdict = |seen| verdict(events, seen, settings, now, after_commit);
        match model {
            fetch::TEMPLATE => {
                let seen = self.refresh_template(record, plan).await?;
                Ok(verdict(seen))
            }
            fetch::VARIANT => {
                let owner = fetch::variant_owner(self.odoo.as_ref(), record).await?;
                let template = owner
                    .map(|(template, _)| template)
                    .or_else(|| payload_template(events));
                if let Some(template) = template {
                    self.refresh_template(template, plan).await?;
                }
                Ok(verdict(owner.map(|(_, at)| at)))
            }
            fetch::CATEGORY => {
                let category = fetch::category_by_id(self.odoo.as_ref(), record).await?;
                let seen = category.as_ref().map(|c| c.write_date);
                if let Some(category) = category {
                    self.store
                        .apply_batch(CatalogBatch {
                            products: &[],
                            categories: &[category],
                            checkpoint: None,
                        })
                        .await?;
                }
                Ok(verdict(seen).or_done_when_gone(seen))
            }
            "stock.quant" => {
                let product = match events.iter().find_map(WebhookEvent::product_id) {
                    Some(product) => Some(product),
                    None => fetch::quant_product(self.odoo.as_ref(), record).await?,
                };
                if let Some(product) = product {
                    let levels = fetch::stock_levels(self.odoo.as_ref(), &[product]).await?;
                    self.store.set_stock(&levels).await?;
                }
                Ok(Verdict::Done("stock refreshed"))
            }
            "product.template.attribute.value" => {
                if let Some(template) =
                    fetch::attribute_value_owner(self.odoo.as_ref(), record).await?
                {
                    self.refresh_template(template, plan).await?;
                }
                Ok(Verdict::Done("applied"))
            }
            fetch::VALUE | fetch::ATTRIBUTE => {
                // A rename moves no template's write_date: refresh every template using it.
                let model = if model == fetch::VALUE {
                    fetch::VALUE
                } else {
                    fetch::ATTRIBUTE
                };
                let seen = fetch::write_date_of(self.odoo.as_ref(), model, record).await?;
                let field = if model == fetch::VALUE {
                    "product_attribute_value_id"
                } else {
                    "attribute_id"
                };
                let templates =
                    fetch::templates_using(self.odoo.as_ref(), field, &[record]).await?;
                self.refresh_templates(&templates, plan).await?;
                Ok(verdict(seen).or_done_when_gone(seen))
            }
            fetch::PRODUCT_IMAGE if plan.website => {
                // Extra media move no product's write_date: the owner is refreshed, whose image
                // pass reads them. A deleted image's owner is in the payload.
                let owner = fetch::extra_image_owner(self.odoo.as_ref(), record).await?;
                let template = match owner.and_then(|(template, _)| template) {
                    Some(template) => Some(template),
                    None => match payload_id(events, "product_tmpl_id") {
                        Some(template) => Some(template),
                        None => match payload_id(events, "product_variant_id") {
                            Some(variant) => fetch::variant_owner(self.odoo.as_ref(), variant)
                                .await?
                                .map(|(template, _)| template),
                            None => None,
                        },
                    },
                };
                if let Some(template) = template {
                    self.refresh_template(template, plan).await?;
                }
                Ok(verdict(owner.map(|(_, at)| at)))
            }
            fetch::PUBLIC_CATEGORY if plan.website => {
                let seen = fetch::write_date_of(self.odoo.as_ref(), fetch::PUBLIC_CATEGORY, record)
                    .await?;
                let public =
                    fetch::public_categories(self.odoo.as_ref(), &self.settings.langs).await?;
                self.store.replace_public_categories(&public).await?;
                Ok(verdict(seen).or_done_when_gone(seen))
            }
            pricing::ITEM if !self.settings.pricelist_ids.is_empty() => {
                // The rules are read once for the whole batch, when its events are done.
                Ok(verdict(self.pricelist_item_written(record).await?))
            }
            other => Ok(Verdict::Done(if other.is_empty() {
                "ignored"
            } else {
                "model not synced"
            })),
        }
    }

    /// Odoo 19 and later send webhooks after the commit; asked once, then remembered.
    async fn webhooks_after_commit(&self) -> Result<bool, SyncError> {
        let after_commit = self
            .webhooks_after_commit
            .get_or_try_init(|| async {
                let version = self.odoo.version().await?;
                let major = version.major().unwrap_or(0);
                tracing::info!(
                    server_version = %version.server_version,
                    webhooks_after_commit = major >= FIRST_AFTER_COMMIT_MAJOR,
                    "webhook timing of this Odoo"
                );
                Ok::<bool, SyncError>(major >= FIRST_AFTER_COMMIT_MAJOR)
            })
            .await?;
        Ok(*after_commit)
    }

    /// Reads these templates (a page at a time) and stores them.
    async fn refresh_templates(&self, ids: &[i64], plan: &FieldPlan) -> Result<(), SyncError> {
        for chunk in ids.chunks(self.settings.batch_size as usize) {
            let products = fetch::products(self.odoo.as_ref(), plan, chunk).await?;
            self.store
                .apply_batch(CatalogBatch {
                    products: &products,
                    categories: &[],
                    checkpoint: None,
                })
                .await?;
            self.sync_images(&products, None).await?;
        }
        Ok(())
    }

    /// Reads one template and stores it; a template Odoo no longer has is marked deleted.
    /// Returns the template's `write_date` in Odoo, `None` if Odoo does not have it.
    async fn refresh_template(
        &self,
        id: i64,
        plan: &FieldPlan,
    ) -> Result<Option<NaiveDateTime>, SyncError> {
        let products = fetch::products(self.odoo.as_ref(), plan, &[id]).await?;
        match products.first() {
            Some(product) => {
                self.record_stock(&products).await?;
                let counts = self
                    .store
                    .apply_batch(CatalogBatch {
                        products: &products,
                        categories: &[],
                        checkpoint: None,
                    })
                    .await?;
                meters::products_synced(meters::Source::Webhook, &counts);
                self.sync_images(&products, None).await?;
                Ok(Some(product.write_date))
            }
            None => {
                let deleted = self.store.mark_deleted(&[id], None).await?;
                let counts = RunCounts {
                    deleted,
                    ..RunCounts::default()
                };
                meters::products_synced(meters::Source::Webhook, &counts);
                Ok(None)
            }
        }
    }
}

impl Verdict {
    /// Categories are not deleted from the catalog; one that is gone ends the events.
    fn or_done_when_gone(self, seen: Option<NaiveDateTime>) -> Verdict {
        match (self, seen) {
            (Verdict::ReadAgainAt(_), None) => Verdict::Done("category gone"),
            (verdict, _) => verdict,
        }
    }
}

fn payload_template(events: &[WebhookEvent]) -> Option<i64> {
    payload_id(events, "product_tmpl_id")
}

/// A many2one id (`[id, name]` or a bare id) the events' payloads carry in `field`.
fn payload_id(events: &[WebhookEvent], field: &str) -> Option<i64> {
    events.iter().find_map(|event| {
        let payload: serde_json::Value = serde_json::from_str(&event.payload).ok()?;
        match payload.get(field)? {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::Array(pair) => pair.first()?.as_i64(),
            _ => None,
        }
    })
}

/// Events deleted per statement when pruning: SQLite's writers (acknowledgements among them)
/// wait for each statement, so none is long.
const PRUNE_CHUNK: u32 = 500;

impl SyncEngine {
    /// Deletes the events handled more than `retention` ago, a chunk at a time; returns how many.
    pub async fn prune_webhooks(&self, retention: Duration) -> Result<u64, SyncError> {
        let age = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let Some(before) = Utc::now().checked_sub_signed(age) else {
            return Ok(0);
        };
        let mut pruned = 0;
        loop {
            // Handled inbox events and delivered site webhooks: both only history by then.
            let deleted = self.store.prune_webhooks(before, PRUNE_CHUNK).await?
                + self
                    .store
                    .prune_site_deliveries(before, PRUNE_CHUNK)
                    .await?;
            pruned += deleted;
            if deleted < u64::from(PRUNE_CHUNK) {
                return Ok(pruned);
            }
        }
    }
}

/// Drains the inbox until `cancel`: handles what is due, waits a little when nothing is.
pub async fn run_webhook_worker(
    engine: SyncEngine,
    settings: WebhookSettings,
    cancel: CancellationToken,
) {
    while !cancel.is_cancelled() {
        let pause = match engine.process_webhooks_once(&settings).await {
            Ok(0) => settings.poll,
            Ok(_) => Duration::ZERO,
            Err(error) => {
                tracing::error!(%error, "webhook worker could not process the inbox");
                Duration::from_secs(1)
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::WebhookState;

    /// Odoo 18's timing.
    const BEFORE_COMMIT: bool = false;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    fn event(
        kind: WebhookKind,
        hint: Option<&str>,
        received_at: DateTime<Utc>,
        attempts: u32,
    ) -> WebhookEvent {
        WebhookEvent {
            id: 1,
            model: "product.template".into(),
            record_id: 51,
            kind,
            hinted_write_date: hint.map(at),
            payload: "{}".into(),
            state: WebhookState::Pending,
            attempts,
            run_at: received_at,
            last_error: None,
            outcome: None,
            received_at,
            updated_at: received_at,
        }
    }

    #[test]
    fn a_read_of_the_old_state_is_retried_until_the_write_date_reaches_the_payloads() {
        let settings = WebhookSettings::default();
        let now = Utc::now();
        let events = [event(
            WebhookKind::Save,
            Some("2026-11-24 13:27:27.959605"),
            now,
            1,
        )];
        let old = Some(at("2026-11-24 13:20:00"));
        assert!(matches!(
            verdict(&events, old, &settings, now, BEFORE_COMMIT),
            Verdict::ReadAgainAt(_)
        ));
        let same_second = Some(at("2026-11-24 13:27:27"));
        assert_eq!(
            verdict(&events, same_second, &settings, now, BEFORE_COMMIT),
            Verdict::Done("applied")
        );
    }

    #[test]
    fn a_change_that_never_commits_ends_quietly_after_the_settle_window() {
        let settings = WebhookSettings::default();
        let received = Utc::now() - chrono::Duration::seconds(20);
        let phantom = [event(
            WebhookKind::Save,
            Some("2026-11-24 13:27:27.9"),
            received,
            5,
        )];
        let verdict = verdict(
            &phantom,
            Some(at("2026-11-24 13:00:00")),
            &settings,
            Utc::now(),
            BEFORE_COMMIT,
        );
        assert_eq!(verdict, Verdict::Done("change never became visible"));
    }

    #[test]
    fn an_unlink_waits_for_the_row_to_go_and_a_create_for_it_to_appear() {
        let settings = WebhookSettings::default();
        let now = Utc::now();
        let unlink = [event(WebhookKind::Unlink, None, now, 1)];
        assert!(matches!(
            verdict(
                &unlink,
                Some(at("2026-11-24 13:00:00")),
                &settings,
                now,
                BEFORE_COMMIT
            ),
            Verdict::ReadAgainAt(_)
        ));
        assert_eq!(
            verdict(&unlink, None, &settings, now, BEFORE_COMMIT),
            Verdict::Done("deleted")
        );
        let create = [event(
            WebhookKind::Save,
            Some("2026-11-24 13:27:27.1"),
            now,
            1,
        )];
        assert!(matches!(
            verdict(&create, None, &settings, now, BEFORE_COMMIT),
            Verdict::ReadAgainAt(_)
        ));
    }

    #[test]
    fn without_a_write_date_reads_follow_the_schedule_then_stop() {
        let settings = WebhookSettings::default();
        let received = Utc::now();
        let events = [event(WebhookKind::Save, None, received, 1)];
        let seen = Some(at("2026-11-24 13:00:00"));
        match verdict(&events, seen, &settings, received, BEFORE_COMMIT) {
            Verdict::ReadAgainAt(next) => {
                assert_eq!(next, received + chrono::Duration::milliseconds(300))
            }
            other => panic!("{other:?}"),
        }
        let later = received + chrono::Duration::seconds(4);
        assert_eq!(
            verdict(&events, seen, &settings, later, BEFORE_COMMIT),
            Verdict::Done("applied")
        );
    }

    #[test]
    fn after_the_commit_the_first_read_ends_every_kind_of_event_without_waiting() {
        let settings = WebhookSettings::default();
        let now = Utc::now();
        let seen = Some(at("2026-11-24 13:00:00"));
        let without_hint = [event(WebhookKind::Save, None, now, 1)];
        assert_eq!(
            verdict(&without_hint, seen, &settings, now, true),
            Verdict::Done("applied")
        );
        let unlink = [event(WebhookKind::Unlink, None, now, 1)];
        assert_eq!(
            verdict(&unlink, None, &settings, now, true),
            Verdict::Done("deleted")
        );
        let create_then_gone = [event(
            WebhookKind::Save,
            Some("2026-11-24 13:27:27.1"),
            now,
            1,
        )];
        assert_eq!(
            verdict(&create_then_gone, None, &settings, now, true),
            Verdict::Done("deleted")
        );
    }
}
