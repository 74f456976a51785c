//! The notifications service: stream consumers that turn committed changes into notifications,
//! each recorded and sent exactly once, and `GET /notifications` to see them.
//!
//! The Go shops we replace published to a broker after the database write, so an event was lost
//! whenever the process died in between, and their consumers sent twice on redelivery. Here the
//! events are the orders and inventory tables' own streams (a committed change is never lost),
//! and each notification has a deterministic id that a conditional write records before it is
//! sent and marks after ([`consumers`]), so a redelivered record skips what was sent and
//! finishes what was not.
//!
//! Functions, built like every service's (a tiny main in `src/bin/`):
//! - `on_order_change`, on the orders stream: `order_confirmation`, `order_shipped`,
//!   `order_cancelled`;
//! - `on_stock_change`, on the inventory stream: `low_stock`;
//! - `list_notifications`, `GET /notifications`.
//!
//! Locally the dev server runs the same consumers over the embedded store's change feed.

pub mod breaker;
pub mod consumers;
mod handlers;
pub mod notifier;

pub use consumers::{Consumers, THRESHOLD_VAR, threshold_from_env};
pub use handlers::list_notifications;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;

stockroom_http::operations! {
    /// The notifications endpoint, named by its binary (and its template.yaml `Binary` property).
    pub enum Operation for stockroom_store::Store, port notifications: stockroom_store::notifications::NotificationsStore {
        ListNotifications = "list_notifications" => list_notifications,
    }
}

/// A stream consumer function, named by its binary (its template.yaml `Binary` property): the
/// dev server finds the consumer of each stream event source in template.yaml here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamConsumer {
    OnOrderChange,
    OnStockChange,
}

impl StreamConsumer {
    pub const ALL: [Self; 2] = [Self::OnOrderChange, Self::OnStockChange];

    pub fn binary(self) -> &'static str {
        match self {
            Self::OnOrderChange => "on_order_change",
            Self::OnStockChange => "on_stock_change",
        }
    }

    pub fn for_binary(binary: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.binary() == binary)
    }

    /// Runs the consumer on `event`, as its Lambda function would.
    pub async fn handle(self, consumers: &Consumers, event: &Event) -> DynamoDbEventResponse {
        match self {
            Self::OnOrderChange => consumers.on_order_change(event).await,
            Self::OnStockChange => consumers.on_stock_change(event).await,
        }
    }
}

/// The main of a stream consumer's Lambda function: telemetry, then the store and the notifier
/// the environment describes and the low-stock threshold, then `consumer` on every event. The
/// time each took at cold start is logged once ([`stockroom_telemetry::init`]).
///
/// # Errors
/// When the store, the notifier or the threshold is misconfigured (a failed cold start, with
/// the sentence in the log), or the runtime fails.
pub fn serve(consumer: StreamConsumer) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{LambdaEvent, service_fn};
    use stockroom_telemetry::init;
    stockroom_telemetry::lambda::start(|| async move {
        let store = stockroom_store::Store::from_env().await?.notifications()?;
        init::phase("store");
        let notifier = notifier::from_env().await?;
        let consumers = Consumers {
            store,
            notifier,
            low_stock_threshold: threshold_from_env()?,
        };
        init::finish("notifier");
        let handler = service_fn(|event: LambdaEvent<Event>| {
            let consumers = &consumers;
            async move {
                Ok::<_, std::convert::Infallible>(consumer.handle(consumers, &event.payload).await)
            }
        });
        stockroom_telemetry::lambda::run(stockroom_telemetry::lambda::Trigger::Datasource, handler)
            .await
    })
}
