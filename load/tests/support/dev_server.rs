//! The dev server in-process, as `cargo dev` serves it: the template's routes over a fresh
//! embedded store in a data directory, whose key signs the tokens the tests mint. Shared by
//! `#[path]`; not a test target of its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use stockroom_local::auth::SigningKeyPair;
use stockroom_local::server::App;
use stockroom_store::{Store, StoreConfig};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// The app over a fresh embedded store in `data_dir`, and that store.
pub async fn app(data_dir: &Path) -> (Arc<App>, Store) {
    let routes = stockroom_local::template::load(&workspace().join("template.yaml")).unwrap();
    let openapi = std::fs::read_to_string(workspace().join("openapi.yaml")).unwrap();
    let store = StoreConfig::Embedded {
        data_dir: data_dir.to_path_buf(),
        readers: 2,
    }
    .open()
    .await
    .unwrap();
    let keys = SigningKeyPair::load_or_create(data_dir).unwrap();
    let app = Arc::new(App::new(routes, store.clone(), openapi, &keys).unwrap());
    (app, store)
}

/// Serves `router` on a free local port until the test ends; its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    format!("http://{addr}")
}
