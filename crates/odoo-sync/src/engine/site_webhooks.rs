//! Sending the site outbox: "catalog changed" events POSTed to each `SITE_WEBHOOK_URLS` target,
//! signed per the Standard Webhooks spec, retried on the configured schedule (honouring a longer
//! `Retry-After`), failed and kept after the last attempt.
//!
//! Every `serve` instance runs a worker; the store's claims make each delivery one instance's.
//! Woken after this process's commits, and on a timer for other processes' (a CLI sync, another
//! instance) and for retries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use crate::domain::site_event::{parse_signing_secret, sign, AttemptOutcome, SiteDelivery};
use crate::store::{CatalogStore, StoreError};

/// The svix schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h after each failed attempt.
pub const DEFAULT_RETRY_DELAYS: &str = "5s,5m,30m,2h,5h,10h";
/// How long one POST may take.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claimed delivery stays this worker's: longer than a POST can take.
const LEASE: Duration = Duration::from_secs(15);
/// How often the worker looks for deliveries other processes queued.
const POLL: Duration = Duration::from_secs(1);
const CLAIM_LIMIT: u32 = 16;
/// A `Retry-After` longer than this is taken as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// `SITE_WEBHOOK_URLS`, `SITE_WEBHOOK_SECRET` and `SITE_WEBHOOK_RETRY_DELAYS`.
#[derive(Debug, Clone)]
pub struct SiteWebhookSettings {
    pub urls: Vec<String>,
    /// `whsec_…`, checked by the config.
    pub secret: SecretString,
    /// The wait after each failed attempt; one attempt more than delays in all.
    pub retry_delays: Vec<Duration>,
}

impl SiteWebhookSettings {
    pub fn key(&self) -> Vec<u8> {
        parse_signing_secret(self.secret.expose_secret()).expect("checked when the config loaded")
    }
}

/// `5s,5m,30m,2h` (units ms, s, m, h): the wait after each failed attempt.
pub fn parse_retry_delays(text: &str) -> Result<Vec<Duration>, String> {
    text.split(',')
        .map(str::trim)
        .map(|item| {
            let split = item
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(|| format!("'{item}' has no unit (ms, s, m or h)"))?;
            let (number, unit) = item.split_at(split);
            let number: u64 = number
                .parse()
                .map_err(|_| format!("'{item}' does not start with a whole number"))?;
            let millis = match unit {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                other => return Err(format!("'{item}': unit '{other}' is not ms, s, m or h")),
            };
            if number == 0 || number.saturating_mul(millis) > 7 * 86_400_000 {
                return Err(format!("'{item}' is not between 1ms and 7 days"));
            }
            Ok(Duration::from_millis(number * millis))
        })
        .collect()
}

/// What one POST came to.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: String,
}

/// POSTs one event with the Standard Webhooks headers.
pub async fn send(
    client: &reqwest::Client,
    key: &[u8],
    url: &str,
    event_id: &str,
    body: &str,
) -> Result<Answer, reqwest::Error> {
    let timestamp = Utc::now().timestamp();
    let response = client
        .post(url)
        .header("webhook-id", event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", sign(key, event_id, timestamp, body))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, Utc::now()));
    let body = response.text().await.unwrap_or_default();
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// A client for deliveries: a short timeout, no redirects (a moved receiver is an error to see).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("odoo-sync/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client builds")
}

/// `Retry-After` in seconds or as an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc);
            (at - now).to_std().unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The wait before the next attempt after `attempts` failed ones, or `None` when that was the
/// last: the scheduled delay with ±20 % jitter, or `retry_after` if that is longer.
pub fn next_delay(
    delays: &[Duration],
    attempts: u32,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let scheduled = *delays.get(attempts.checked_sub(1)? as usize)?;
    let jittered = scheduled.mul_f64(rand::thread_rng().gen_range(0.8..1.2));
    Some(jittered.max(retry_after.unwrap_or_default()))
}

pub struct SiteWebhookWorker {
    store: Arc<dyn CatalogStore>,
    settings: SiteWebhookSettings,
    key: Vec<u8>,
    client: reqwest::Client,
    /// The retries this worker scheduled, to wake for each before the next poll.
    retries: Mutex<Vec<DateTime<Utc>>>,
}

impl SiteWebhookWorker {
    pub fn new(store: Arc<dyn CatalogStore>, settings: SiteWebhookSettings) -> Self {
        SiteWebhookWorker {
            key: settings.key(),
            store,
            settings,
            client: client(),
            retries: Mutex::default(),
        }
    }

    /// Claims due deliveries and attempts each; returns how many were attempted.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let claimed = self.store.claim_site_deliveries(CLAIM_LIMIT, LEASE).await?;
        let attempted = claimed.len();
        let results = futures::future::join_all(claimed.into_iter().map(|d| self.attempt(d))).await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(attempted)
    }

    async fn attempt(&self, delivery: SiteDelivery) -> Result<(), StoreError> {
        let sent = send(
            &self.client,
            &self.key,
            &delivery.url,
            &delivery.event_id,
            &delivery.body,
        )
        .await;
        let (status, retry_after, error) = match sent {
            Ok(answer) if (200..300).contains(&answer.status) => {
                let delivered = AttemptOutcome::Delivered {
                    status: answer.status,
                };
                return self
                    .store
                    .settle_site_delivery(delivery.id, delivered)
                    .await;
            }
            Ok(answer) => {
                let excerpt: String = answer.body.chars().take(200).collect();
                let error = format!("HTTP {}: {excerpt}", answer.status);
                (Some(answer.status), answer.retry_after, error)
            }
            Err(error) => (None, None, error_chain(&error)),
        };
        let attempts = delivery.attempts + 1;
        match next_delay(&self.settings.retry_delays, attempts, retry_after) {
            Some(delay) => {
                let next_at = Utc::now() + delay;
                tracing::info!(event = %delivery.event_id, url = %delivery.url, attempts, %error, %next_at,
                    "site webhook not accepted; will retry");
                self.retries.lock().expect("never poisoned").push(next_at);
                let retry = AttemptOutcome::RetryAt {
                    next_at,
                    status,
                    error: &error,
                };
                self.store.settle_site_delivery(delivery.id, retry).await
            }
            None => {
                tracing::warn!(event = %delivery.event_id, url = %delivery.url, attempts, %error,
                    "site webhook failed after its last attempt");
                let failed = AttemptOutcome::Failed {
                    status,
                    error: &error,
                };
                self.store.settle_site_delivery(delivery.id, failed).await
            }
        }
    }

    /// Delivers until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        let targets = self.store.site_targets();
        loop {
            match self.run_once().await {
                Ok(0) => {}
                Ok(_) if cancel.is_cancelled() => return,
                Ok(_) => continue,
                Err(error) => {
                    tracing::warn!(%error, "site webhook worker could not read the outbox")
                }
            }
            let now = Utc::now();
            let wait = {
                let mut retries = self.retries.lock().expect("never poisoned");
                let scheduled = retries.len();
                retries.retain(|at| *at > now);
                if retries.len() < scheduled {
                    Duration::ZERO
                } else {
                    let soonest = retries.iter().min().map(|at| *at - now);
                    soonest
                        .and_then(|wait| wait.to_std().ok())
                        .map_or(POLL, |wait| wait.min(POLL))
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = targets.queued.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_parse_with_units_and_bad_ones_say_why() {
        assert_eq!(
            parse_retry_delays(DEFAULT_RETRY_DELAYS).unwrap(),
            [5, 300, 1800, 7200, 18_000, 36_000].map(Duration::from_secs)
        );
        assert_eq!(
            parse_retry_delays("200ms, 1s").unwrap(),
            [Duration::from_millis(200), Duration::from_secs(1)]
        );
        assert!(parse_retry_delays("5").unwrap_err().contains("no unit"));
        assert!(parse_retry_delays("5d").unwrap_err().contains("'d'"));
        assert!(parse_retry_delays("0s").unwrap_err().contains("between"));
    }

    #[test]
    fn the_schedule_ends_after_its_last_delay_and_a_longer_retry_after_wins() {
        let delays = [Duration::from_secs(10), Duration::from_secs(100)];
        let first = next_delay(&delays, 1, None).unwrap();
        assert!((8..=12).contains(&first.as_secs()), "{first:?}");
        let told = next_delay(&delays, 1, Some(Duration::from_secs(60))).unwrap();
        assert_eq!(told, Duration::from_secs(60));
        let shorter = next_delay(&delays, 2, Some(Duration::from_secs(1))).unwrap();
        assert!(shorter.as_secs() >= 80, "{shorter:?}");
        assert_eq!(next_delay(&delays, 3, None), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Mon, 07 Dec 2026 10:05:00 GMT", now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
