//! Fault injection knobs (latency, per-record cost, 503s, hangs, lost or late webhooks, the Odoo 18
//! latency model) and the per-call dice roll.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What the simulator does wrong, per JSON-RPC call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Sleep this long before answering each call.
    pub latency_ms: u64,
    /// Sleep this long per record in a list result.
    pub per_record_us: u64,
    /// Probability of an HTTP 503 HTML answer (an overloaded proxy).
    pub error_rate: f64,
    /// Probability of not answering for 30 s.
    pub timeout_rate: f64,
    /// Probability that a webhook POST is silently not sent (0..1).
    pub drop_webhooks: f64,
    /// After a staged write's webhook POSTs, how long before the change becomes visible (the
    /// commit that follows the POSTs).
    pub webhook_visibility_delay_ms: u64,
    /// Odoo-like cost per call and a limited number of server workers (`None`: off).
    pub latency_model: Option<crate::latency::LatencyModel>,
}

/// The fate of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Serve,
    Unavailable,
    Hang,
}

/// How long a "timed out" call hangs before answering anyway.
pub const HANG: Duration = Duration::from_secs(30);

impl Faults {
    pub fn roll(&self) -> Fate {
        let mut rng = rand::thread_rng();
        if self.error_rate > 0.0 && rng.gen::<f64>() < self.error_rate {
            return Fate::Unavailable;
        }
        if self.timeout_rate > 0.0 && rng.gen::<f64>() < self.timeout_rate {
            return Fate::Hang;
        }
        Fate::Serve
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }

    pub fn per_records(&self, n: usize) -> Duration {
        Duration::from_micros(self.per_record_us.saturating_mul(n as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certain_faults_always_fire_and_zero_never_does() {
        let always = Faults {
            error_rate: 1.0,
            ..Faults::default()
        };
        assert_eq!(always.roll(), Fate::Unavailable);
        let hang = Faults {
            timeout_rate: 1.0,
            ..Faults::default()
        };
        assert_eq!(hang.roll(), Fate::Hang);
        assert_eq!(Faults::default().roll(), Fate::Serve);
    }
}
