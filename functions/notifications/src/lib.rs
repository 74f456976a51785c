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
//! Functions, each a `Handler` of one of the crate's two binaries:
//! - `notifier` (`src/bin/notifier.rs`, the stream consumers, [`serve`]):
//!   - `on_order_change`, on the orders stream: `order_confirmation`, `order_shipped`,
//!     `order_cancelled`;
//!   - `on_stock_change`, on the inventory stream: `low_stock`;
//! - `notifications` (`src/bin/notifications.rs`, the API, like every service's):
//!   `list_notifications`, `GET /notifications`.
//!
//! Two binaries rather than one so that the API function links no SNS client and the
//! consumers no HTTP routing.
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
    /// The notifications endpoint, named by its handler (its function's template.yaml `Handler`).
    pub enum Operation in "notifications" for stockroom_store::Store, port notifications: stockroom_store::notifications::NotificationsStore {
        ListNotifications = "list_notifications", "GET /notifications" => list_notifications,
    }
}

/// A stream consumer function, named by its handler (its template.yaml `Handler`; both run the
/// `notifier` binary): the dev server finds the consumer of each stream event source in
/// template.yaml here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamConsumer {
    OnOrderChange,
    OnStockChange,
}

impl StreamConsumer {
    pub const ALL: [Self; 2] = [Self::OnOrderChange, Self::OnStockChange];
    /// The binary both consumers' functions run.
    pub const BINARY: &'static str = "notifier";

    /// The handler name: the function's template.yaml `Handler`.
    pub fn handler(self) -> &'static str {
        match self {
            Self::OnOrderChange => "on_order_change",
            Self::OnStockChange => "on_stock_change",
        }
    }

    pub fn named(handler: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.handler() == handler)
    }

    /// The table whose stream this consumer reads.
    fn table(self) -> stockroom_store::tables::Table {
        match self {
            Self::OnOrderChange => stockroom_store::orders::TABLE,
            Self::OnStockChange => stockroom_store::inventory::TABLE,
        }
    }

    /// The consumer of `event`'s stream, by the table its first record's `eventSourceARN`
    /// names: how the binary serves `cargo lambda invoke notifier`, which sets no `_HANDLER`.
    pub fn for_event(event: &Event) -> Option<Self> {
        let arn = event.records.first()?.event_source_arn.as_deref()?;
        let table = arn.split_once(":table/")?.1.split('/').next()?;
        // Its variable's table, or one whose name holds its template.yaml logical id, as a
        // CloudFormation-made table's does (`Stockroom-OrdersTable-1X2Y3Z4W5V6U`).
        Self::ALL.into_iter().find(|c| {
            let ours = c.table();
            std::env::var(ours.env_var).is_ok_and(|name| name == table)
                || table.contains(ours.resource)
        })
    }

    /// Runs the consumer on `event`, as its Lambda function would.
    pub async fn handle(self, consumers: &Consumers, event: &Event) -> DynamoDbEventResponse {
        match self {
            Self::OnOrderChange => consumers.on_order_change(event).await,
            Self::OnStockChange => consumers.on_stock_change(event).await,
        }
    }
}

/// The main of the `notifier` binary, the stream consumers' Lambda functions: the consumer
/// Lambda names in `_HANDLER` (the function's `Handler`; one that names neither fails the
/// init), then telemetry, the store and the notifier the environment describes and the
/// low-stock threshold, then that consumer on every event. Without `_HANDLER` (`cargo lambda
/// invoke`), each event goes to the consumer of its stream ([`StreamConsumer::for_event`]). The
/// time each step took at cold start is logged once ([`stockroom_telemetry::init`]).
///
/// # Errors
/// When the handler is unknown, the store, the notifier or the threshold is misconfigured (a
/// failed cold start, with the sentence in the log), or the runtime fails.
pub fn serve() -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{LambdaEvent, service_fn};
    use stockroom_telemetry::init;
    let named = std::env::var("_HANDLER").ok();
    stockroom_telemetry::lambda::start(|| async move {
        let only = match named {
            Some(name) => Some(StreamConsumer::named(&name).ok_or_else(|| {
                anyhow::anyhow!(
                    "the function's Handler (_HANDLER) is {name:?}, which the {} binary does not \
                     serve; its handlers are on_order_change, on_stock_change",
                    StreamConsumer::BINARY
                )
            })?),
            None => None,
        };
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
                match only.or_else(|| StreamConsumer::for_event(&event.payload)) {
                    Some(consumer) => Ok(consumer.handle(consumers, &event.payload).await),
                    None => Err(lambda_runtime::Error::from(
                        "no consumer reads the stream of this event's eventSourceARN",
                    )),
                }
            }
        });
        stockroom_telemetry::lambda::run(stockroom_telemetry::lambda::Trigger::Datasource, handler)
            .await
    })
}
