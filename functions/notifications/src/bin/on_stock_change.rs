//! The `on_stock_change` Lambda function (a DynamoDB stream consumer); see the crate docs.

use stockroom_notifications::{StreamConsumer, run_stream_consumer};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockroom_telemetry::init();
    run_stream_consumer(StreamConsumer::OnStockChange).await
}
