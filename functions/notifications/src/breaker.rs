//! A circuit breaker around the notifier, the pattern the stock-price service we replace is
//! known for: **closed** (every send goes to SNS), **open** after [`Breaker::threshold`] sends
//! in a row failed (no send goes to SNS), **half-open** once [`Breaker::cool_down`] has passed
//! (one send, the probe, goes; its success closes the circuit, its failure opens it again).
//!
//! What a consumer does while it is open: a send waits out the rest of the cool-down and then
//! probes, so that Lambda's retries of a failed batch (which come at once) are paced at one
//! probe per cool-down instead of burning through the event source mapping's
//! `MaximumRetryAttempts` in seconds; a send that cannot probe (another probe is in flight)
//! fails at once. Either way the record is reported in `batch_item_failures` and retried, and
//! the notification's record in the store keeps exactly-once: only a send that succeeded marks
//! it sent. With the template's 20 retries and a 30 s cool-down, a record rides out about ten
//! minutes of SNS outage before it goes to the dead-letter queue.
//!
//! Its state is the `circuit_breaker_state` gauge (0 closed, 1 open, 2 half-open, as the
//! stock-price service named it), set on every change and at every send.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use stockroom_domain::notifications::Notification;
use tokio::time::Instant;

use crate::notifier::Notifier;

/// Where the circuit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

impl State {
    /// The gauge's value: 0 closed, 1 open, 2 half-open.
    pub fn gauge(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::Open => 1.0,
            Self::HalfOpen => 2.0,
        }
    }
}

/// Why a send did not reach the notifier.
#[derive(Debug, thiserror::Error)]
#[error(
    "the notifier's circuit is open after {failures} failed sends in a row: not called; the \
     record is retried"
)]
pub struct CircuitOpen {
    pub failures: u32,
}

#[derive(Debug)]
struct Inner {
    state: State,
    /// Failed sends in a row.
    failures: u32,
    /// When an open circuit lets a probe through.
    probe_at: Instant,
    /// Whether the half-open circuit's probe is in flight.
    probing: bool,
}

/// The notifier `inner` behind a circuit breaker.
pub struct Breaker {
    inner: Arc<dyn Notifier>,
    /// Failed sends in a row that open the circuit.
    pub threshold: u32,
    /// How long an open circuit stays open before it probes.
    pub cool_down: Duration,
    state: Mutex<Inner>,
}

impl std::fmt::Debug for Breaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breaker")
            .field("threshold", &self.threshold)
            .field("cool_down", &self.cool_down)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// Failed sends in a row that open the circuit.
pub const THRESHOLD: u32 = 5;
/// How long the circuit stays open before a probe.
pub const COOL_DOWN: Duration = Duration::from_secs(30);

impl Breaker {
    /// `inner` behind a breaker with [`THRESHOLD`] and [`COOL_DOWN`].
    pub fn new(inner: Arc<dyn Notifier>) -> Self {
        Self::with(inner, THRESHOLD, COOL_DOWN)
    }

    pub fn with(inner: Arc<dyn Notifier>, threshold: u32, cool_down: Duration) -> Self {
        stockroom_telemetry::metrics::circuit_breaker_state(State::Closed.gauge());
        Self {
            inner,
            threshold: threshold.max(1),
            cool_down,
            state: Mutex::new(Inner {
                state: State::Closed,
                failures: 0,
                probe_at: Instant::now(),
                probing: false,
            }),
        }
    }

    pub fn state(&self) -> State {
        self.lock().state
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(inner: &mut Inner, state: State) {
        if inner.state != state {
            tracing::warn!(from = ?inner.state, to = ?state, failures = inner.failures, "notifier circuit breaker");
        }
        inner.state = state;
        stockroom_telemetry::metrics::circuit_breaker_state(state.gauge());
    }

    /// Whether this send may call the notifier: `Ok` (and, half-open, it is the probe), or
    /// how long until it may probe, or that it may not at all.
    fn admit(&self) -> Result<(), Option<Duration>> {
        let mut inner = self.lock();
        match inner.state {
            State::Closed => Ok(()),
            State::Open => {
                let now = Instant::now();
                if now >= inner.probe_at {
                    Self::set(&mut inner, State::HalfOpen);
                    inner.probing = true;
                    Ok(())
                } else {
                    Err(Some(inner.probe_at - now))
                }
            }
            State::HalfOpen if inner.probing => Err(None),
            State::HalfOpen => {
                inner.probing = true;
                Ok(())
            }
        }
    }

    fn record(&self, succeeded: bool) {
        let mut inner = self.lock();
        inner.probing = false;
        if succeeded {
            inner.failures = 0;
            Self::set(&mut inner, State::Closed);
            return;
        }
        inner.failures = inner.failures.saturating_add(1);
        if inner.state == State::HalfOpen || inner.failures >= self.threshold {
            inner.probe_at = Instant::now() + self.cool_down;
            Self::set(&mut inner, State::Open);
        }
    }

    fn open_error(&self) -> anyhow::Error {
        anyhow::Error::new(CircuitOpen {
            failures: self.lock().failures,
        })
    }
}

#[async_trait]
impl Notifier for Breaker {
    async fn send(&self, notification: &Notification) -> anyhow::Result<()> {
        stockroom_telemetry::metrics::circuit_breaker_state(self.state().gauge());
        match self.admit() {
            Ok(()) => {}
            // Open: wait out the cool-down, then try to be the probe.
            Err(Some(wait)) => {
                tokio::time::sleep(wait).await;
                if self.admit().is_err() {
                    return Err(self.open_error());
                }
            }
            Err(None) => return Err(self.open_error()),
        }
        let result = self.inner.send(notification).await;
        self.record(result.is_ok());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifier::RecordingNotifier;

    fn notification(n: usize) -> Notification {
        let order = stockroom_domain::orders::Order {
            id: stockroom_domain::orders::OrderId::parse(&format!("01KAB{n:05}"))
                .unwrap_or_else(|_| panic!("an order id")),
            customer_id: stockroom_domain::orders::CustomerId::parse("cust")
                .unwrap_or_else(|_| panic!("id")),
            items: Vec::new(),
            total: 0,
            currency: stockroom_domain::Currency::parse("USD").unwrap_or_else(|_| panic!("usd")),
            status: stockroom_domain::orders::OrderStatus::Confirmed,
            created_at: stockroom_domain::timestamp::now(),
            updated_at: stockroom_domain::timestamp::now(),
        };
        Notification::about_order(
            stockroom_domain::notifications::NotificationKind::OrderConfirmation,
            &order,
            stockroom_domain::timestamp::now(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn it_opens_after_a_run_of_failures_stops_calling_then_probes_and_closes() {
        // Sends 1-7 fail (SNS is down); then it is back.
        let sns = Arc::new(RecordingNotifier::failing(&[1, 2, 3, 4, 5, 6, 7]));
        let breaker = Breaker::with(sns.clone(), 3, Duration::from_secs(30));
        for i in 0..3 {
            assert!(breaker.send(&notification(i)).await.is_err());
        }
        assert_eq!(breaker.state(), State::Open);
        assert_eq!(sns.attempts(), 3);

        // Open: the next send waits out the cool-down, probes (attempt 4, still down) and opens
        // the circuit again; nothing else reached SNS meanwhile.
        let started = Instant::now();
        assert!(breaker.send(&notification(3)).await.is_err());
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        assert_eq!(sns.attempts(), 4);
        assert_eq!(breaker.state(), State::Open);

        // Probes 5, 6, 7 fail, one per cool-down; probe 8 succeeds and closes it.
        for i in 4..7 {
            assert!(breaker.send(&notification(i)).await.is_err());
        }
        assert_eq!(sns.attempts(), 7);
        assert!(breaker.send(&notification(7)).await.is_ok());
        assert_eq!(breaker.state(), State::Closed);
        assert_eq!(started.elapsed(), Duration::from_secs(30 * 5));
        assert!(breaker.send(&notification(8)).await.is_ok());
        assert_eq!(sns.attempts(), 9);
        assert_eq!(sns.sends().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_lets_one_probe_through_and_a_success_in_between_resets_the_count() {
        let sns = Arc::new(RecordingNotifier::failing(&[1, 2, 3, 4]));
        let breaker = Arc::new(Breaker::with(sns.clone(), 2, Duration::from_secs(10)));
        // fail, fail: open.
        assert!(breaker.send(&notification(0)).await.is_err());
        assert!(breaker.send(&notification(1)).await.is_err());
        assert_eq!(breaker.state(), State::Open);
        tokio::time::advance(Duration::from_secs(10)).await;
        // The cool-down is over: the next send is the probe (attempt 3, which succeeds).
        assert_eq!(breaker.admit(), Ok(()));
        assert_eq!(breaker.state(), State::HalfOpen);
        // While the probe is in flight, others are refused without waiting.
        assert_eq!(breaker.admit(), Err(None));
        breaker.record(true);
        assert_eq!(breaker.state(), State::Closed);
        // One failure (attempt 3) after a success does not open it; a second (4) does.
        assert!(breaker.send(&notification(2)).await.is_err());
        assert_eq!(breaker.state(), State::Closed);
        assert!(breaker.send(&notification(3)).await.is_err());
        assert_eq!(breaker.state(), State::Open);
        assert_eq!(State::Open.gauge(), 1.0);
        assert_eq!(State::HalfOpen.gauge(), 2.0);
        assert_eq!(State::Closed.gauge(), 0.0);
    }
}
