//! The `on_order_change` Lambda function (a DynamoDB stream consumer); see the crate docs.

fn main() -> Result<(), lambda_runtime::Error> {
    stockroom_notifications::serve(stockroom_notifications::StreamConsumer::OnOrderChange)
}
