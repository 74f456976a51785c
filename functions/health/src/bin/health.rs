//! The `health` binary: the `GET /health` function.

fn main() -> Result<(), lambda_http::Error> {
    stockroom_http::serve_binary::<stockroom_health::Operation>()
}
