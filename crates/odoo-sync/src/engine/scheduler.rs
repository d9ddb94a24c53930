//! The built-in cron: starts incremental and full runs on their schedules. A scheduled run that
//! finds another run going is recorded as skipped, never queued behind it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use tokio_util::sync::CancellationToken;

use super::{SyncError, SyncRequest, SyncService};
use crate::domain::{SyncMode, Trigger};

#[derive(Debug, Clone)]
pub struct Schedule {
    pub cron: Cron,
    pub mode: SyncMode,
}

/// Parses a 5-field cron expression (`0 */6 * * *`); `off` or empty disables it.
pub fn parse_cron(expression: &str) -> Result<Option<Cron>, String> {
    let expression = expression.trim();
    if expression.is_empty() || expression.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    if expression.split_whitespace().count() != 5 {
        return Err(format!(
            "'{expression}' is not a 5-field cron expression (minute hour day month weekday)"
        ));
    }
    Cron::new(expression)
        .parse()
        .map(Some)
        .map_err(|e| format!("'{expression}': {e}"))
}

/// When each schedule fires next after `now`, earliest first.
pub fn next_firing(
    schedules: &[Schedule],
    timezone: Tz,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, SyncMode)> {
    let local = now.with_timezone(&timezone);
    schedules
        .iter()
        .filter_map(|schedule| {
            let at = schedule.cron.find_next_occurrence(&local, false).ok()?;
            Some((at.with_timezone(&Utc), schedule.mode))
        })
        .min_by_key(|(at, mode)| (*at, *mode == SyncMode::Incremental))
}

pub async fn run_schedules(
    service: SyncService,
    schedules: Vec<Schedule>,
    timezone: Tz,
    cancel: CancellationToken,
) {
    while let Some((at, mode)) = next_firing(&schedules, timezone, Utc::now()) {
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        fire(&service, mode).await;
    }
}

async fn fire(service: &SyncService, mode: SyncMode) {
    let request = SyncRequest {
        mode,
        trigger: Trigger::Schedule,
    };
    match service.start(request).await {
        Ok(run) => tracing::info!(run = %run.id, %mode, "scheduled sync started"),
        Err(SyncError::RunInProgress { running }) => {
            let reason = format!("skipped: sync run {running} was in progress");
            tracing::info!(%mode, %reason, "scheduled sync skipped");
            if let Err(error) = service
                .engine()
                .store()
                .record_skipped_run(mode, Trigger::Schedule, &reason)
                .await
            {
                tracing::error!(%error, "could not record the skipped run");
            }
            crate::meters::run_ended(mode, crate::domain::RunStatus::Skipped);
        }
        Err(error) => tracing::error!(%error, %mode, "scheduled sync could not start"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn schedules() -> Vec<Schedule> {
        vec![
            Schedule {
                cron: parse_cron("0 */6 * * *").unwrap().unwrap(),
                mode: SyncMode::Incremental,
            },
            Schedule {
                cron: parse_cron("0 3 * * *").unwrap().unwrap(),
                mode: SyncMode::Full,
            },
        ]
    }

    #[test]
    fn the_default_schedules_fire_every_six_hours_and_fully_at_three() {
        let (next, mode) = next_firing(&schedules(), Tz::UTC, at("2026-11-24T01:10:00Z")).unwrap();
        assert_eq!((next, mode), (at("2026-11-24T03:00:00Z"), SyncMode::Full));
        let (next, mode) = next_firing(&schedules(), Tz::UTC, at("2026-11-24T03:00:00Z")).unwrap();
        assert_eq!(
            (next, mode),
            (at("2026-11-24T06:00:00Z"), SyncMode::Incremental)
        );
    }

    #[test]
    fn schedules_follow_the_configured_timezone() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let (next, _) = next_firing(&schedules()[1..], paris, at("2026-11-24T01:10:00Z")).unwrap();
        assert_eq!(
            next,
            at("2026-11-24T02:00:00Z"),
            "03:00 in Paris is 02:00 UTC in winter"
        );
    }

    #[test]
    fn malformed_expressions_are_refused_with_the_reason() {
        assert!(parse_cron("0 */6 * *").unwrap_err().contains("5-field"));
        assert!(parse_cron("61 * * * *").is_err());
        assert!(parse_cron("off").unwrap().is_none());
    }
}
