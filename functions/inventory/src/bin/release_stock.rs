//! The `release_stock` Lambda function; see the crate docs for the pattern.

fn main() -> Result<(), lambda_http::Error> {
    stockroom_http::serve(stockroom_inventory::Operation::ReleaseStock)
}
