//! The `list_stock` Lambda function; see the crate docs for the pattern.

use lambda_http::Error;
use stockroom_store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stockroom_telemetry::init();
    let store = Store::from_env().await?.inventory()?;
    stockroom_http::run(|caller, req| stockroom_inventory::list_stock(&*store, caller, req)).await
}
