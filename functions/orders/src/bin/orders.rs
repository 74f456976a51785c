//! The `orders` binary: every orders API function runs it, each with its own `Handler` (see
//! `stockroom_http::serve_binary`).

fn main() -> Result<(), lambda_http::Error> {
    stockroom_http::serve_binary::<stockroom_orders::Operation>()
}
