//! The `on_stock_change` Lambda function (a DynamoDB stream consumer); see the crate docs.

use std::convert::Infallible;

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use stockroom_notifications::{Consumers, StreamConsumer, notifier, threshold_from_env};
use stockroom_store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stockroom_telemetry::init();
    let consumers = Consumers {
        store: Store::from_env().await?.notifications()?,
        notifier: notifier::from_env().await?,
        low_stock_threshold: threshold_from_env()?,
    };
    let consumer = StreamConsumer::for_binary("on_stock_change").ok_or("unknown consumer")?;
    run(service_fn(|event: LambdaEvent<Event>| {
        let consumers = &consumers;
        async move { Ok::<_, Infallible>(consumer.handle(consumers, &event.payload).await) }
    }))
    .await
}
