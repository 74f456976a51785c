//! The `list_notifications` Lambda function; see the crate docs.

use std::convert::Infallible;

use lambda_http::{Error, run, service_fn};
use stockroom_store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    stockroom_telemetry::init();
    let store = Store::from_env().await?.notifications()?;
    run(service_fn(|req| async {
        Ok::<_, Infallible>(stockroom_notifications::list_notifications(&*store, req).await)
    }))
    .await
}
