//! The `set_cart_item` Lambda function; see the crate docs for the pattern.

use std::convert::Infallible;

use lambda_http::{Error, run, service_fn};
use stockroom_store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stockroom_telemetry::init();
    let store = Store::from_env().await?.carts()?;
    run(service_fn(|req| async {
        Ok::<_, Infallible>(stockroom_carts::set_cart_item(&*store, req).await)
    }))
    .await
}
