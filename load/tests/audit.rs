//! The flash sale against an in-process dev server (the same `App` `cargo dev` serves), once
//! as it is and once with the stock changed behind its back: the audit must pass the first and
//! fail the second.
#![allow(clippy::unwrap_used)] // A test that cannot unwrap has failed; the panic says where.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use stockroom_load::args::{Args, Scenario};
use stockroom_local::auth::SigningKeyPair;
use stockroom_local::server::App;
use stockroom_store::StoreConfig;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// Serves the template's routes over a fresh embedded store in `data_dir`; its base URL.
async fn dev_server(data_dir: &Path) -> String {
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
    let app = Arc::new(App::new(routes, store, openapi, &keys).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(stockroom_local::server::serve(
        listener,
        app,
        std::future::pending(),
    ));
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_flash_sale_passes_the_audit_and_stock_changed_behind_its_back_fails_it() {
    let dir = std::env::temp_dir().join(format!("stockroom-load-{}", ulid::Ulid::new()));
    let data_dir = dir.join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let host = dev_server(&data_dir).await;
    let args = Args {
        scenario: Scenario::FlashSale,
        host,
        data_dir,
        users: 40,
        units: 10,
        report_dir: dir.join("report"),
    };

    let audit = stockroom_load::flash_sale::run(&args).await.unwrap();
    assert!(audit.clean(), "{audit}");
    assert!(
        audit.to_string().ends_with("audit: clean (7 checks)"),
        "{audit}"
    );

    // Five units appear from nowhere between the sale and the audit.
    let audit = stockroom_load::flash_sale::run_with(&args, async |api, product| {
        api.set_available(product, 5).await
    })
    .await
    .unwrap();
    assert!(!audit.clean(), "{audit}");
    let text = audit.to_string();
    assert!(
        text.contains("FAILED  stock accounts for every unit"),
        "{text}"
    );
    assert!(text.ends_with("audit: FAILED (1 of 7 checks)"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
