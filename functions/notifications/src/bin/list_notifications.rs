//! The `list_notifications` Lambda function; see the crate docs.

use lambda_http::Error;
use stockroom_store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stockroom_telemetry::init();
    let store = Store::from_env().await?.notifications()?;
    stockroom_http::run(|caller, req| {
        stockroom_notifications::list_notifications(&*store, caller, req)
    })
    .await
}
