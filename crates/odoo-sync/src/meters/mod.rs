//! The metrics odoo-sync exports (Prometheus text at `GET /metrics`, docs/metrics.md): their
//! names and labels, the helpers the engine and the server record through, and the process's one
//! recorder.
//!
//! Recording goes through the `metrics` facade, whose recorder is global by design (a macro call
//! anywhere reaches it without a handle); it is installed once, by `serve`. Without it (one-shot
//! CLI commands, unit tests) every call is a no-op. Imports neither axum nor sqlx.

mod odoo;

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::{QueueStats, RunCounts, RunStatus, SyncMode};

pub use odoo::{error_kind, MeteredOdoo};

pub const RUNS: &str = "odoo_sync_runs_total";
pub const PRODUCTS_SYNCED: &str = "odoo_sync_products_synced_total";
pub const ODOO_CALLS: &str = "odoo_sync_odoo_calls_total";
pub const ODOO_ERRORS: &str = "odoo_sync_odoo_errors_total";
pub const ODOO_CALL_SECONDS: &str = "odoo_sync_odoo_call_duration_seconds";
pub const INBOX_EVENTS: &str = "odoo_sync_webhook_inbox_events";
pub const INBOX_OLDEST_AGE: &str = "odoo_sync_webhook_inbox_oldest_pending_age_seconds";
pub const OUTBOX_DELIVERIES: &str = "odoo_sync_site_outbox_deliveries";
pub const OUTBOX_OLDEST_AGE: &str = "odoo_sync_site_outbox_oldest_pending_age_seconds";
pub const WEBHOOK_ACK_SECONDS: &str = "odoo_sync_webhook_ack_duration_seconds";
pub const CATALOG_REQUESTS: &str = "odoo_sync_catalog_requests_total";
pub const CATALOG_CACHE: &str = "odoo_sync_catalog_cache_total";
pub const IMAGES_STORED: &str = "odoo_sync_images_stored";
pub const IMAGE_BYTES: &str = "odoo_sync_image_bytes_stored";

/// Histogram buckets of every `*_seconds` metric: Odoo calls from a few milliseconds (a cached
/// `search_count`) to the client's timeout, webhook acks well under Odoo's 1 s wait.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder the first time, and returns the handle that renders it.
/// Safe to call again (several servers in one test process share the first recorder); when
/// another recorder was installed first, the handle renders nothing and a warning says why.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed: GET /metrics stays empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(
        RUNS,
        "Sync runs ended, by mode and status (succeeded, failed, skipped)"
    );
    describe_counter!(
        PRODUCTS_SYNCED,
        "Products written by runs, webhooks and sweeps, by source and outcome"
    );
    describe_counter!(ODOO_CALLS, "Calls to Odoo's API, by method");
    describe_counter!(
        ODOO_ERRORS,
        "Failed calls to Odoo, by method and kind (Odoo's exception name, or transport, timeout...)"
    );
    describe_histogram!(
        ODOO_CALL_SECONDS,
        Unit::Seconds,
        "Duration of calls to Odoo, retries inside the client included, by method"
    );
    describe_gauge!(
        IMAGES_STORED,
        "Images in the image store (distinct originals), read at scrape time"
    );
    describe_gauge!(
        IMAGE_BYTES,
        Unit::Bytes,
        "Size of the images in the image store, read at scrape time"
    );
    describe_gauge!(
        INBOX_EVENTS,
        "Webhook events in the inbox, by state (pending, failed), read at scrape time"
    );
    describe_gauge!(
        INBOX_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest pending webhook event (0 when none), read at scrape time"
    );
    describe_gauge!(
        OUTBOX_DELIVERIES,
        "Site webhook deliveries in the outbox, by status (pending, failed), read at scrape time"
    );
    describe_gauge!(
        OUTBOX_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest pending site webhook delivery (0 when none), read at scrape time"
    );
    describe_histogram!(
        WEBHOOK_ACK_SECONDS,
        Unit::Seconds,
        "Time to answer Odoo's webhook POST (committed to the inbox), by status"
    );
    describe_counter!(
        CATALOG_REQUESTS,
        "Catalog API answers, by route template and status"
    );
    describe_counter!(
        CATALOG_CACHE,
        "Catalog GETs by cache result: hit (body from memory), not_modified (304), miss"
    );
}

/// A run ended (or a scheduled one was skipped).
pub fn run_ended(mode: SyncMode, status: RunStatus) {
    counter!(RUNS, "mode" => mode.as_str(), "status" => status.as_str()).increment(1);
}

/// Where written products came from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    Run,
    Webhook,
    Sweep,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Run => "run",
            Source::Webhook => "webhook",
            Source::Sweep => "sweep",
        }
    }
}

/// What a batch did to the catalog, one series per outcome.
pub fn products_synced(source: Source, counts: &RunCounts) {
    // `archived` is left out: those products are also counted as created or updated, and the
    // outcomes are meant to add up to the products handled.
    let outcomes = [
        ("created", counts.created),
        ("updated", counts.updated),
        ("unchanged", counts.unchanged),
        ("deleted", counts.deleted),
    ];
    for (outcome, n) in outcomes {
        if n > 0 {
            counter!(PRODUCTS_SYNCED, "source" => source.as_str(), "outcome" => outcome)
                .increment(n);
        }
    }
}

/// The inbox as the store reported it, at `now`.
pub fn inbox_sampled(stats: &QueueStats, now: chrono::DateTime<chrono::Utc>) {
    gauge!(INBOX_EVENTS, "state" => "pending").set(stats.pending as f64);
    gauge!(INBOX_EVENTS, "state" => "failed").set(stats.failed as f64);
    gauge!(INBOX_OLDEST_AGE).set(oldest_age(stats, now));
}

/// The site outbox as the store reported it, at `now`.
pub fn outbox_sampled(stats: &QueueStats, now: chrono::DateTime<chrono::Utc>) {
    gauge!(OUTBOX_DELIVERIES, "status" => "pending").set(stats.pending as f64);
    gauge!(OUTBOX_DELIVERIES, "status" => "failed").set(stats.failed as f64);
    gauge!(OUTBOX_OLDEST_AGE).set(oldest_age(stats, now));
}

fn oldest_age(stats: &QueueStats, now: chrono::DateTime<chrono::Utc>) -> f64 {
    stats
        .oldest_pending_at
        .map(|at| (now - at).to_std().unwrap_or(Duration::ZERO))
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

/// Images stored and their bytes, sampled at scrape time.
pub fn images_sampled(stats: &crate::domain::ImageStats) {
    gauge!(IMAGES_STORED).set(stats.count as f64);
    gauge!(IMAGE_BYTES).set(stats.bytes as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installing_twice_keeps_one_recorder_and_renders_what_was_recorded() {
        let first = install();
        let second = install();
        run_ended(SyncMode::Full, RunStatus::Succeeded);
        // Other tests of this process may record meanwhile: only this series is checked.
        for handle in [first, second] {
            let text = handle.render();
            assert!(
                text.contains(r#"odoo_sync_runs_total{mode="full",status="succeeded"}"#),
                "{text}"
            );
        }
    }
}
