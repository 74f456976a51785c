//! The `health` Lambda function; see the crate docs.

use lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stockroom_telemetry::init();
    stockroom_http::run(|_, req| stockroom_health::health(req)).await
}
