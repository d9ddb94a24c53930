//! The run loop shared by every way to sync: begin (or resume) a run, then drive it phase by
//! phase, committing each batch of rows together with the cursor that follows it.
//!
//! Incremental reads fix their window (`write_date >= since`) when the run starts and page through
//! it by id. Paging on `(write_date, id)` cannot be exact against Odoo: it answers whole seconds but
//! compares and orders microseconds, so a page boundary inside a second would skip rows. A row
//! written again after its id was passed has a `write_date` after the run started, which the next
//! run's overlap window covers.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use futures::{FutureExt, StreamExt};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::fetch::{self, FieldPlan};
use super::images::{read_image_refs, ImageRefs};
use super::lease::is_dead_local_owner;
use super::{Progress, ProgressObserver, SyncEngine, SyncError};
use crate::domain::{
    Category, Phase, Position, Product, RunCounts, RunStatus, StockLevel, SyncCursor, SyncMode,
    SyncRun, Trigger, Watermark, WatermarkKey,
};
use crate::meters;
use crate::store::{CatalogBatch, Checkpoint, NewRun, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncRequest {
    pub mode: SyncMode,
    pub trigger: Trigger,
}

/// What a progressive step leaves behind: the run as stored, and the token to continue it.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub run: SyncRun,
    pub done: bool,
    pub next_cursor: Option<String>,
}

/// Runs idle between progressive steps longer than this are abandoned and may be replaced.
const ABANDONED_AFTER: chrono::Duration = chrono::Duration::minutes(30);
/// How many recent runs to look through for the last successful one.
const RUNS_SEARCHED_FOR_A_SUCCESS: u32 = 50;

impl SyncEngine {
    /// Runs a whole sync to its end, resuming an interrupted run when there is one. Returns the
    /// run as stored: finished, or still running (and resumable) if `cancel` fired.
    pub async fn run(
        &self,
        request: SyncRequest,
        observer: &dyn ProgressObserver,
        cancel: &CancellationToken,
    ) -> Result<SyncRun, SyncError> {
        let run = self.begin(request).await?;
        self.drive(run, u64::MAX, observer, cancel).await
    }

    /// One progressive step: at most `limit` products, then the run waits for the next step.
    pub async fn step(
        &self,
        request: SyncRequest,
        limit: u64,
        cursor: Option<&str>,
        observer: &dyn ProgressObserver,
    ) -> Result<StepOutcome, SyncError> {
        let run = match cursor {
            Some(token) => self.resume_from_token(token).await?,
            None => self.begin(request).await?,
        };
        let run = self
            .drive(run, limit.max(1), observer, &CancellationToken::new())
            .await?;
        let done = run.is_finished();
        let next_cursor = (!done).then(|| run.cursor.to_token(run.id));
        Ok(StepOutcome {
            run,
            done,
            next_cursor,
        })
    }

    /// Starts a run, or takes over the running one when it can be resumed.
    pub async fn begin(&self, request: SyncRequest) -> Result<SyncRun, SyncError> {
        if let Some(running) = self.store.running_run().await? {
            if running.mode == SyncMode::Full || running.mode == request.mode {
                return self.claim(&running).await;
            }
            if !self.abandoned(&running) {
                return Err(SyncError::RunInProgress {
                    running: running.id,
                });
            }
            let reason = "abandoned: superseded by a full run";
            self.store
                .finish_run(
                    running.id,
                    RunStatus::Failed,
                    Some(reason),
                    &BTreeMap::new(),
                )
                .await?;
            meters::run_ended(running.mode, RunStatus::Failed);
        }
        self.create(request).await
    }

    async fn resume_from_token(&self, token: &str) -> Result<SyncRun, SyncError> {
        let (given, _) = SyncCursor::from_token(token)?;
        match self.store.running_run().await? {
            Some(running) if running.id == given => self.claim(&running).await,
            running => Err(SyncError::StaleCursor {
                given,
                running: running.map(|run| run.id),
            }),
        }
    }

    fn abandoned(&self, run: &SyncRun) -> bool {
        chrono::Utc::now() - run.updated_at > ABANDONED_AFTER
    }

    async fn claim(&self, run: &SyncRun) -> Result<SyncRun, SyncError> {
        let lease = self.settings.lease;
        match self.store.claim_run(run.id, &self.owner, lease, None).await {
            Err(StoreError::RunLeased { owner, .. }) if is_dead_local_owner(&owner) => {
                tracing::info!(run = %run.id, dead_owner = %owner, "taking over a run whose process is gone");
                Ok(self
                    .store
                    .claim_run(run.id, &self.owner, lease, Some(&owner))
                    .await?)
            }
            other => Ok(other?),
        }
    }

    async fn create(&self, request: SyncRequest) -> Result<SyncRun, SyncError> {
        let watermarks = self.store.watermarks().await?;
        // The first incremental run on an empty store has nothing to be incremental from.
        let mode = if request.mode == SyncMode::Incremental
            && !WatermarkKey::CATALOG
                .iter()
                .all(|k| watermarks.contains_key(k))
        {
            SyncMode::Full
        } else {
            request.mode
        };
        let mut cursor = SyncCursor::start(Phase::Categories);
        if mode == SyncMode::Incremental {
            let settled = self.last_success_start().await?;
            cursor.since = incremental_window(&watermarks, settled, self.settings.overlap);
        }
        let new = NewRun {
            mode,
            trigger: request.trigger,
            cursor: &cursor,
            total: None,
            owner: &self.owner,
            lease: self.settings.lease,
        };
        let run = self.store.create_run(new).await?;
        tracing::info!(run = %run.id, mode = %mode, trigger = %request.trigger, "sync run started");
        Ok(run)
    }

    /// When the last successful run began: every row written before then minus the overlap was
    /// committed by then (no Odoo transaction outlasts the overlap), so that run saw it.
    async fn last_success_start(&self) -> Result<Option<NaiveDateTime>, SyncError> {
        let runs = self.store.recent_runs(RUNS_SEARCHED_FOR_A_SUCCESS).await?;
        Ok(runs
            .iter()
            .find(|run| run.status == RunStatus::Succeeded)
            .map(|run| run.started_at.naive_utc()))
    }

    /// Works on a claimed run until `budget` products are handled, the run ends, or `cancel`.
    pub async fn drive(
        &self,
        run: SyncRun,
        budget: u64,
        observer: &dyn ProgressObserver,
        cancel: &CancellationToken,
    ) -> Result<SyncRun, SyncError> {
        let id = run.id;
        let mode = run.mode;
        let mut driver = Driver {
            engine: self,
            run,
            plan: None,
            handled: 0,
            budget,
            observer,
            heartbeat: Instant::now(),
        };
        let advanced = driver.advance(cancel).await;
        if advanced.is_ok() {
            self.reprice_after_run(id).await;
        }
        match advanced {
            Ok(()) => {
                if !driver.run.cursor.is_done() {
                    self.store.release_run(id, &self.owner).await?;
                    return Ok(self.store.run(id).await?.unwrap_or(driver.run));
                }
                Ok(driver.finish().await?)
            }
            Err(error) => {
                tracing::error!(run = %id, %error, "sync run failed");
                let message = error.to_string();
                self.store
                    .finish_run(id, RunStatus::Failed, Some(&message), &BTreeMap::new())
                    .await?;
                meters::run_ended(mode, RunStatus::Failed);
                Err(error)
            }
        }
    }
}

impl SyncEngine {
    /// Prices what the run stored; a pricing failure is logged, not the run's failure (the
    /// next sweep prices it again).
    async fn reprice_after_run(&self, run: crate::domain::RunId) {
        if let Err(error) = self.reprice_changed().await {
            tracing::warn!(run = %run, %error, "pricing after the run failed");
        }
    }
}

/// Where each model's incremental read starts: the overlap before the later of its watermark and
/// the start of the last successful run (`settled`). Measured on this machine's clock, which must
/// agree with Odoo's to well within the overlap. Without `settled`, rows written in the overlap
/// before a watermark that no longer moves would be re-read by every run, forever.
fn incremental_window(
    watermarks: &BTreeMap<WatermarkKey, Watermark>,
    settled: Option<NaiveDateTime>,
    overlap: Duration,
) -> BTreeMap<WatermarkKey, NaiveDateTime> {
    let overlap = chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::zero());
    WatermarkKey::CATALOG
        .into_iter()
        .map(|key| {
            let since = watermarks
                .get(&key)
                .map(|mark| match settled {
                    Some(at) => (*mark).max(Watermark(at)).read_from(overlap),
                    None => mark.read_from(overlap),
                })
                .unwrap_or(NaiveDateTime::MIN);
            (key, since)
        })
        .collect()
}

/// A page's products, their variants' stock and their image references, read together.
type PageData = (Vec<Product>, Vec<StockLevel>, Option<ImageRefs>);
type Page = (Vec<i64>, PageData);

/// Fetches pages in a task of their own, `concurrency` in flight and as many ready, so that Odoo's
/// workers stay busy while a page is being written (a stream polled only between writes would
/// leave them idle). Each page is read in a task of its own too: a read left unpolled while the
/// channel is full would hold one of the client's Odoo permits, and the writer's own calls (the
/// image pass) would wait for it forever. Everything stops when the receiver is dropped, and is
/// aborted with the guard.
fn fetch_ahead<F, Fut>(
    chunks: Vec<Vec<i64>>,
    concurrency: usize,
    fetch: F,
) -> (
    AbortOnDropHandle<()>,
    tokio::sync::mpsc::Receiver<Result<Page, SyncError>>,
)
where
    F: Fn(Vec<i64>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<PageData, SyncError>> + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel(concurrency);
    let task = tokio::spawn(async move {
        let mut pages = futures::stream::iter(chunks)
            .map(move |chunk| {
                // Dropping the handle ends the read; a panic in it resumes here.
                let (read, reading) = fetch(chunk.clone()).remote_handle();
                tokio::spawn(read);
                async move { reading.await.map(|data| (chunk, data)) }
            })
            .buffered(concurrency);
        while let Some(page) = pages.next().await {
            let failed = page.is_err();
            if sender.send(page).await.is_err() || failed {
                break;
            }
        }
    });
    (AbortOnDropHandle::new(task), receiver)
}

struct Driver<'a> {
    engine: &'a SyncEngine,
    run: SyncRun,
    plan: Option<FieldPlan>,
    handled: u64,
    budget: u64,
    observer: &'a dyn ProgressObserver,
    heartbeat: Instant,
}

impl Driver<'_> {
    fn odoo(&self) -> &dyn odoo_rpc::OdooApi {
        self.engine.odoo.as_ref()
    }

    fn batch_size(&self) -> u32 {
        self.engine.settings.batch_size.max(1)
    }

    fn full_batch_size(&self) -> usize {
        self.engine.settings.full_batch_size.max(1) as usize
    }

    fn budget_left(&self) -> u64 {
        self.budget.saturating_sub(self.handled)
    }

    async fn plan(&mut self) -> Result<FieldPlan, SyncError> {
        if self.plan.is_none() {
            self.plan = Some(self.engine.refresh_field_plan().await?);
        }
        Ok(self.plan.clone().expect("just set"))
    }

    async fn advance(&mut self, cancel: &CancellationToken) -> Result<(), SyncError> {
        while !self.run.cursor.is_done() && self.budget_left() > 0 && !cancel.is_cancelled() {
            match self.run.cursor.phase {
                Phase::Categories if self.is_quiet_start() && self.odoo_is_quiet().await? => {
                    self.end_quietly().await?
                }
                Phase::Categories => self.categories().await?,
                Phase::Variants => self.changed_variants().await?,
                Phase::Templates if self.run.mode == SyncMode::Full => {
                    self.all_templates(cancel).await?
                }
                Phase::Templates => self.changed_templates().await?,
                Phase::Deletions => self.deletions().await?,
                Phase::Done => {}
            }
        }
        Ok(())
    }

    fn is_quiet_start(&self) -> bool {
        self.run.mode == SyncMode::Incremental && self.run.processed == 0
    }

    /// Nothing written in the window that a product shows, and as many templates as the store
    /// holds: there is nothing to read.
    async fn odoo_is_quiet(&self) -> Result<bool, SyncError> {
        let (probe, held) = futures::try_join!(
            fetch::quiet_probe(self.odoo(), &self.run.cursor.since),
            async { Ok(self.engine.store.product_count().await?) },
        )?;
        tracing::debug!(?probe, held, "incremental probe");
        Ok(probe.templates_touched == 0 && probe.templates == held)
    }

    async fn end_quietly(&mut self) -> Result<(), SyncError> {
        tracing::info!(run = %self.run.id, "nothing changed in Odoo since the window opened");
        self.run.cursor.enter(Phase::Done);
        self.commit(&[], &[]).await
    }

    /// Categories are few: all of them are read every run, and unchanged ones are not rewritten.
    async fn categories(&mut self) -> Result<(), SyncError> {
        let categories = fetch::categories(self.odoo()).await?;
        // Website categories are few too, and carry no write_date that a product moves.
        if self.plan().await?.website {
            let public = fetch::public_categories(self.odoo(), &self.engine.settings.langs).await?;
            self.engine.store.replace_public_categories(&public).await?;
        }
        for category in &categories {
            self.run
                .cursor
                .saw(WatermarkKey::Category, category.write_date);
        }
        let next = if self.run.mode == SyncMode::Full {
            Phase::Templates
        } else {
            Phase::Variants
        };
        self.run.cursor.enter(next);
        self.commit(&[], &categories).await
    }

    /// Full pass: every template id after the cursor, fetched a few pages ahead of the writes.
    async fn all_templates(&mut self, cancel: &CancellationToken) -> Result<(), SyncError> {
        let after = self.run.cursor.position.map_or(0, |p| p.id);
        let ids = fetch::template_ids_after(self.odoo(), after).await?;
        if self.run.total.is_none() || after == 0 {
            self.run.total = Some(self.run.processed + ids.len() as u64);
        }
        let take = ids
            .len()
            .min(usize::try_from(self.budget_left()).unwrap_or(usize::MAX));
        let plan = self.plan().await?;
        let odoo = self.engine.odoo.clone();
        let concurrency = self.engine.settings.concurrency.max(1);
        let chunks: Vec<Vec<i64>> = ids[..take]
            .chunks(self.full_batch_size())
            .map(<[i64]>::to_vec)
            .collect();
        let with_images = self.engine.images().is_some();
        let (_fetching, mut pages) = fetch_ahead(chunks, concurrency, move |chunk| {
            let (odoo, plan) = (odoo.clone(), plan.clone());
            // The page's stock and image references are read ahead with it, not by the writer
            // (the images' bytes are not: a page's new images may be hundreds of megabytes).
            async move {
                let products = fetch::products(odoo.as_ref(), &plan, &chunk).await?;
                let (stock, images) =
                    futures::try_join!(fetch::stock_of(odoo.as_ref(), &products), async {
                        match with_images {
                            true => read_image_refs(odoo.as_ref(), plan.website, &products)
                                .await
                                .map(Some),
                            false => Ok(None),
                        }
                    },)?;
                Ok::<_, SyncError>((products, stock, images))
            }
        });
        while let Some(page) = pages.recv().await {
            let (chunk, (products, stock, images)) = page?;
            let last = *chunk.last().expect("chunks are never empty");
            self.saw_products(&products);
            self.run.cursor.position = Some(Position {
                write_date: None,
                id: last,
            });
            self.handled += chunk.len() as u64;
            if !stock.is_empty() {
                self.engine.store.set_stock(&stock).await?;
            }
            self.commit_with_images(&products, images).await?;
            if cancel.is_cancelled() {
                return Ok(());
            }
        }
        if take == ids.len() {
            self.run.cursor.enter(Phase::Deletions);
            self.commit(&[], &[]).await?;
        }
        Ok(())
    }

    /// A variant write does not move its template's `write_date`: changed variants name the
    /// templates to refresh.
    async fn changed_variants(&mut self) -> Result<(), SyncError> {
        let page = self
            .changed_page(fetch::VARIANT, WatermarkKey::Variant)
            .await?;
        let Some(last) = page.last().map(|row| row.id) else {
            self.run.cursor.enter(Phase::Templates);
            return self.commit(&[], &[]).await;
        };
        for row in &page {
            self.run.cursor.saw(WatermarkKey::Variant, row.write_date);
        }
        let templates: BTreeSet<i64> = page.iter().map(|row| row.template_id).collect();
        self.refresh(&templates.into_iter().collect::<Vec<_>>(), last)
            .await
    }

    async fn changed_templates(&mut self) -> Result<(), SyncError> {
        let page = self
            .changed_page(fetch::TEMPLATE, WatermarkKey::Template)
            .await?;
        let Some(last) = page.last().map(|row| row.id) else {
            self.run.cursor.enter(Phase::Deletions);
            return self.commit(&[], &[]).await;
        };
        let ids: Vec<i64> = page.iter().map(|row| row.id).collect();
        self.refresh(&ids, last).await
    }

    async fn changed_page(
        &self,
        model: &'static str,
        key: WatermarkKey,
    ) -> Result<Vec<fetch::ChangedRow>, SyncError> {
        let since = self
            .run
            .cursor
            .since
            .get(&key)
            .copied()
            .unwrap_or(NaiveDateTime::MIN);
        let after = self.run.cursor.position.map_or(0, |p| p.id);
        let limit = self
            .batch_size()
            .min(u32::try_from(self.budget_left()).unwrap_or(u32::MAX));
        fetch::changed_page(self.odoo(), model, since, after, limit).await
    }

    async fn refresh(&mut self, template_ids: &[i64], last_id: i64) -> Result<(), SyncError> {
        let plan = self.plan().await?;
        let products = fetch::products(self.odoo(), &plan, template_ids).await?;
        self.saw_products(&products);
        self.run.cursor.position = Some(Position {
            write_date: None,
            id: last_id,
        });
        self.handled += products.len().max(1) as u64;
        self.engine.record_stock(&products).await?;
        self.commit(&products, &[]).await
    }

    /// A deleted record leaves no trace in Odoo: only comparing id sets finds it.
    async fn deletions(&mut self) -> Result<(), SyncError> {
        let in_odoo: HashSet<i64> = fetch::all_template_ids(self.odoo())
            .await?
            .into_iter()
            .collect();
        let gone: Vec<i64> = self
            .engine
            .store
            .live_product_ids()
            .await?
            .into_iter()
            .filter(|id| !in_odoo.contains(id))
            .collect();
        self.run.cursor.enter(Phase::Done);
        let checkpoint = Checkpoint {
            run: self.run.id,
            cursor: &self.run.cursor,
            total: self.run.total,
        };
        let deleted = self
            .engine
            .store
            .mark_deleted(&gone, Some(checkpoint))
            .await?;
        self.run.counts.deleted += deleted;
        let deletions = RunCounts {
            deleted,
            ..RunCounts::default()
        };
        meters::products_synced(meters::Source::Run, &deletions);
        if deleted > 0 {
            tracing::info!(run = %self.run.id, deleted, "products deleted in Odoo marked deleted");
        }
        self.report();
        Ok(())
    }

    fn saw_products(&mut self, products: &[Product]) {
        for product in products {
            self.run
                .cursor
                .saw(WatermarkKey::Template, product.write_date);
            for variant in &product.variants {
                self.run
                    .cursor
                    .saw(WatermarkKey::Variant, variant.write_date);
            }
        }
    }

    /// `commit` of a full-pass page whose image references were read ahead.
    async fn commit_with_images(
        &mut self,
        products: &[Product],
        images: Option<ImageRefs>,
    ) -> Result<(), SyncError> {
        let Some(images) = images else {
            return self.commit(products, &[]).await;
        };
        let counts = self.write_page(products, &[]).await?;
        let image_counts = self
            .engine
            .sync_read_images(images, products, Some(self.run.id))
            .await?;
        self.run.counts.add(image_counts);
        self.after_page(counts).await
    }

    async fn commit(
        &mut self,
        products: &[Product],
        categories: &[Category],
    ) -> Result<(), SyncError> {
        let counts = self.write_page(products, categories).await?;
        let images = self.engine.sync_images(products, Some(self.run.id)).await?;
        self.run.counts.add(images);
        self.after_page(counts).await
    }

    /// Writes a page with the run's checkpoint; its counts are added to the run's.
    async fn write_page(
        &mut self,
        products: &[Product],
        categories: &[Category],
    ) -> Result<RunCounts, SyncError> {
        let checkpoint = Checkpoint {
            run: self.run.id,
            cursor: &self.run.cursor,
            total: self.run.total,
        };
        let counts = self
            .engine
            .store
            .apply_batch(CatalogBatch {
                products,
                categories,
                checkpoint: Some(checkpoint),
            })
            .await?;
        self.run.counts.add(counts);
        Ok(counts)
    }

    async fn after_page(&mut self, counts: RunCounts) -> Result<(), SyncError> {
        meters::products_synced(meters::Source::Run, &counts);
        self.run.processed += counts.processed();
        self.report();
        self.keep_lease().await
    }

    async fn keep_lease(&mut self) -> Result<(), SyncError> {
        if self.heartbeat.elapsed() > self.engine.settings.lease / 3 {
            self.engine
                .store
                .claim_run(
                    self.run.id,
                    &self.engine.owner,
                    self.engine.settings.lease,
                    None,
                )
                .await?;
            self.heartbeat = Instant::now();
        }
        Ok(())
    }

    fn report(&self) {
        self.observer.update(&Progress {
            run: self.run.id,
            mode: self.run.mode,
            trigger: self.run.trigger,
            started_at: self.run.started_at,
            phase: self.run.cursor.phase,
            processed: self.run.processed,
            total: self.run.total,
            counts: self.run.counts,
        });
    }

    async fn finish(self) -> Result<SyncRun, SyncError> {
        let store = &self.engine.store;
        let mut watermarks = store.watermarks().await?;
        for (key, seen) in &self.run.cursor.newest_seen {
            watermarks.insert(
                *key,
                Watermark::advance(watermarks.get(key).copied(), *seen),
            );
        }
        let run = store
            .finish_run(self.run.id, RunStatus::Succeeded, None, &watermarks)
            .await?;
        meters::run_ended(run.mode, RunStatus::Succeeded);
        tracing::info!(run = %run.id, counts = ?run.counts, "sync run succeeded");
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn marks(at_: NaiveDateTime) -> BTreeMap<WatermarkKey, Watermark> {
        WatermarkKey::CATALOG
            .into_iter()
            .map(|key| (key, Watermark(at_)))
            .collect()
    }

    #[test]
    fn the_window_opens_the_overlap_before_the_last_successful_run_when_that_is_later() {
        let overlap = Duration::from_secs(300);
        let old_mark = marks(at("2025-01-01 00:00:00"));
        let window = incremental_window(&old_mark, Some(at("2026-11-24 20:00:00")), overlap);
        assert_eq!(window[&WatermarkKey::Template], at("2026-11-24 19:55:00"));
        let window = incremental_window(&old_mark, None, overlap);
        assert_eq!(window[&WatermarkKey::Variant], at("2024-12-31 23:55:00"));
    }

    #[test]
    fn a_watermark_newer_than_the_last_run_still_opens_the_window() {
        let overlap = Duration::from_secs(60);
        let window = incremental_window(
            &marks(at("2026-11-24 20:10:00")),
            Some(at("2026-11-24 20:00:00")),
            overlap,
        );
        assert_eq!(window[&WatermarkKey::Category], at("2026-11-24 20:09:00"));
    }
}
