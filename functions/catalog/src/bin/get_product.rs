//! The `get_product` Lambda function; see the crate docs for the pattern.

use lambda_http::Error;
use stockroom_store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stockroom_telemetry::init();
    let store = Store::from_env().await?.catalog()?;
    stockroom_http::run(|_, req| stockroom_catalog::get_product(&*store, req)).await
}
