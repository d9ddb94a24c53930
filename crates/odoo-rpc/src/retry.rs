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

/// Model methods that change nothing in Odoo: a call of one that failed on its way may simply be
/// sent again. Any other method (`create`, `write`, `unlink`, `action_*`...) may have committed
/// before its answer was lost, and sending it again could apply it twice.
const READ_ONLY_METHODS: &[&str] = &[
    "search",
    "search_read",
    "search_count",
    "read",
    "read_group",
    "fields_get",
    "name_search",
    "context_get",
    "check_access_rights",
    "has_group",
];

/// What a failed call may do again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay<'a> {
    /// A read: retry on every retryable error.
    Read,
    /// A write, named for the error: retry only when the request never reached the server.
    Write(&'a str),
}

impl<'a> Replay<'a> {
    /// `call` (e.g. `product.template.write`) of model method `method`.
    pub fn of_method(method: &str, call: &'a str) -> Replay<'a> {
        match READ_ONLY_METHODS.contains(&method) {
            true => Replay::Read,
            false => Replay::Write(call),
        }
    }
}

/// Runs `call` until it succeeds, fails with a non-retryable error, or retries are used up. A
/// write that failed after it may have reached Odoo is not retried: its error says the outcome
/// is unknown.
pub(crate) async fn with_retries<T, F, Fut>(
    policy: RetryPolicy,
    url: &str,
    replay: Replay<'_>,
    mut call: F,
) -> Result<T, OdooError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, OdooError>>,
{
    let mut attempt = 0;
    loop {
        match (call().await, replay) {
            (Err(error), Replay::Write(call)) if error.is_retryable() && !error.never_sent() => {
                return Err(OdooError::OutcomeUnknown {
                    call: call.to_owned(),
                    source: Box::new(error),
                });
            }
            (Err(error), _) if error.is_retryable() && attempt < policy.max_retries => {
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
            (outcome, _) => return outcome,
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
        let outcome: Result<(), _> =
            with_retries(policy(3), "http://odoo", Replay::Read, || async {
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
        let outcome: Result<(), _> =
            with_retries(policy(3), "http://odoo", Replay::Read, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                let fault = crate::OdooFault::new("builtins.ValueError", "Invalid field", 200);
                Err(OdooError::Fault(fault))
            })
            .await;
        assert!(outcome.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_write_that_timed_out_is_not_sent_again_and_says_its_outcome_is_unknown() {
        let calls = AtomicU32::new(0);
        let write = Replay::of_method("create", "product.template.create");
        let outcome: Result<(), _> = with_retries(policy(3), "http://odoo", write, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(timeout())
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let error = outcome.unwrap_err();
        assert!(!error.is_retryable());
        let message = error.to_string();
        assert!(message.contains("product.template.create"), "{message}");
        assert!(
            message.contains("may or may not have been applied"),
            "{message}"
        );
        assert!(message.contains("did not answer within"), "{message}");
    }

    #[tokio::test]
    async fn a_write_that_never_reached_odoo_is_retried() {
        let calls = AtomicU32::new(0);
        let write = Replay::of_method("write", "product.template.write");
        let refused = || OdooError::Transport {
            url: "http://odoo".to_owned(),
            source: Box::new(crate::error::NotSent),
        };
        let outcome: Result<(), _> = with_retries(policy(2), "http://odoo", write, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(refused())
        })
        .await;
        assert!(matches!(outcome, Err(OdooError::Transport { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn only_reads_are_replayed() {
        for method in ["search_read", "read", "search_count", "fields_get"] {
            assert_eq!(Replay::of_method(method, "x"), Replay::Read);
        }
        for method in [
            "create",
            "write",
            "unlink",
            "action_apply_inventory",
            "copy",
        ] {
            assert_eq!(Replay::of_method(method, "x"), Replay::Write("x"));
        }
    }
}
