//! The `web` binary: the console (`/shop`, `/admin`), the API docs (`/docs`), the spec and their
//! static files, from the files embedded in it (see `stockroom_web`).

fn main() -> Result<(), lambda_http::Error> {
    stockroom_http::serve_binary::<stockroom_web::Operation>()
}
