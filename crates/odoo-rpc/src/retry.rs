//! Retrying a call on retryable errors (`OdooError::is_retryable`) with exponential backoff and
//! full jitter. Transport-neutral: it only sees futures that yield `OdooError`s.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::error::OdooError;

/// No single wait grows beyond this, however many attempts were made.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub base: Duration,
    pub cap: Duration,
}

/// The longest wait before retry number `attempt` (0-based): `base * 2^attempt`, at most `cap`.
pub fn backoff_ceiling(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let factor = 2u32.checked_pow(attempt).unwrap_or(u32::MAX);
    base.checked_mul(factor).map_or(cap, |delay| delay.min(cap))
}

/// Full jitter: a uniformly random wait between zero and `backoff_ceiling`, so that clients that
/// failed together do not retry together.
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let ceiling = backoff_ceiling(attempt, base, cap);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
}

/// Runs `call` until it succeeds, fails with a non-retryable error, or retries are used up.
pub(crate) async fn with_retries<T, F, Fut>(
    policy: RetryPolicy,
    url: &str,
    mut call: F,
) -> Result<T, OdooError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, OdooError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(error) if error.is_retryable() && attempt < policy.max_retries => {
                let delay = backoff_delay(attempt, policy.base, policy.cap);
                attempt += 1;
                tracing::warn!(
                    url,
                    attempt,
                    max_retries = policy.max_retries,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    error = %error,
                    "Odoo call failed, retrying"
                );
                tokio::time::sleep(delay).await;
            }
            outcome => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    const BASE: Duration = Duration::from_millis(200);
    const CAP: Duration = Duration::from_secs(10);

    #[test]
    fn ceiling_doubles_from_base_up_to_cap() {
        assert_eq!(backoff_ceiling(0, BASE, CAP), Duration::from_millis(200));
        assert_eq!(backoff_ceiling(1, BASE, CAP), Duration::from_millis(400));
        assert_eq!(backoff_ceiling(3, BASE, CAP), Duration::from_millis(1600));
        assert_eq!(backoff_ceiling(6, BASE, CAP), CAP);
        assert_eq!(backoff_ceiling(40, BASE, CAP), CAP);
        assert_eq!(backoff_ceiling(u32::MAX, BASE, CAP), CAP);
    }

    #[test]
    fn delay_stays_between_zero_and_the_ceiling() {
        for attempt in 0..50 {
            for _ in 0..20 {
                let delay = backoff_delay(attempt, BASE, CAP);
                assert!(
                    delay <= backoff_ceiling(attempt, BASE, CAP),
                    "{attempt}: {delay:?}"
                );
            }
        }
    }

    #[test]
    fn delay_is_jittered() {
        let delays: std::collections::HashSet<_> =
            (0..50).map(|_| backoff_delay(5, BASE, CAP)).collect();
        assert!(delays.len() > 1);
    }

    fn policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        }
    }

    fn timeout() -> OdooError {
        OdooError::Timeout {
            url: "http://odoo".to_owned(),
            after: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn gives_up_after_max_retries() {
        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = with_retries(policy(3), "http://odoo", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(timeout())
        })
        .await;
        assert!(matches!(outcome, Err(OdooError::Timeout { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn does_not_retry_a_fault() {
        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = with_retries(policy(3), "http://odoo", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            let fault = crate::OdooFault::new("builtins.ValueError", "Invalid field", 200);
            Err(OdooError::Fault(fault))
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
