//! The `list_orders` Lambda function; see the crate docs for the pattern.

use lambda_http::Error;
use stockroom_store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stockroom_telemetry::init();
    let store = Store::from_env().await?.orders()?;
    stockroom_http::run(|caller, req| stockroom_orders::list_orders(&*store, caller, req)).await
}
