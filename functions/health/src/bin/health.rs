//! The `health` Lambda function; see the crate docs.

use std::convert::Infallible;

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    stockroom_telemetry::init();
    run(service_fn(|req| async {
        Ok::<_, Infallible>(stockroom_health::health(req).await)
    }))
    .await
}
