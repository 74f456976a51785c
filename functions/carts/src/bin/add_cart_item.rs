//! The `add_cart_item` Lambda function; see the crate docs for the pattern.

use lambda_http::Error;
use stockroom_store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stockroom_telemetry::init();
    let store = Store::from_env().await?.carts()?;
    stockroom_http::run(|caller, req| stockroom_carts::add_cart_item(&*store, caller, req)).await
}
