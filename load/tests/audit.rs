//! The flash sale and a short shop run against an in-process dev server (the same `App`
//! `cargo dev` serves), each once as it is and once with the stock changed behind its back: the
//! audit must pass the first and fail the second.
#![allow(clippy::unwrap_used)] // A test that cannot unwrap has failed; the panic says where.

#[path = "support/dev_server.rs"]
mod support;

use std::path::{Path, PathBuf};

use stockroom_load::args::{Args, Scenario};

/// Serves the template's routes over a fresh embedded store in `data_dir`; its base URL.
async fn dev_server(data_dir: &Path) -> String {
    let (app, _) = support::app(data_dir).await;
    support::serve(stockroom_local::server::router(app)).await
}

/// One Goose attack at a time in this process (Goose's run-wide setup is not made for two at
/// once).
static ONE_ATTACK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The flags of `scenario` against a fresh dev server; the run's scratch directory.
async fn args(scenario: Scenario) -> (Args, PathBuf) {
    let dir = std::env::temp_dir().join(format!("stockroom-load-{}", ulid::Ulid::new()));
    let data_dir = dir.join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let host = dev_server(&data_dir).await;
    let mut args = Args::new(scenario);
    args.host = host;
    args.data_dir = data_dir;
    args.report_dir = dir.join("report");
    (args, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_flash_sale_passes_the_audit_and_stock_changed_behind_its_back_fails_it() {
    let _one = ONE_ATTACK.lock().await;
    let (mut args, dir) = args(Scenario::FlashSale).await;
    args.users = Some(40);
    args.units = Some(10);

    let audit = Box::pin(stockroom_load::run(&args)).await.unwrap();
    assert!(audit.clean(), "{audit}");
    assert!(
        audit.to_string().ends_with("audit: clean (9 checks)"),
        "{audit}"
    );

    // Five units appear from nowhere between the sale and the audit.
    let audit = Box::pin(stockroom_load::run_with(&args, async |api, products| {
        api.set_available(&products[0], 5).await
    }))
    .await
    .unwrap();
    assert!(!audit.clean(), "{audit}");
    let text = audit.to_string();
    assert!(
        text.contains("FAILED  stock accounts for every unit"),
        "{text}"
    );
    assert!(text.ends_with("audit: FAILED (1 of 9 checks)"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_shop_run_passes_the_audit_and_stock_changed_behind_its_back_fails_it() {
    let _one = ONE_ATTACK.lock().await;
    let (mut args, dir) = args(Scenario::Shop).await;
    // Six users: five shoppers and the warehouse, which ships the first order placed.
    args.users = Some(6);
    args.products = Some(10);
    args.units = Some(1000);
    args.run_time = 3;

    let audit = Box::pin(stockroom_load::run(&args)).await.unwrap();
    let text = audit.to_string();
    assert!(audit.clean(), "{text}");
    assert!(text.ends_with("audit: clean (6 checks)"), "{text}");
    assert!(!text.contains("status: 0 of 0"), "no order placed: {text}");
    assert!(!text.contains(" + 0) "), "no order shipped: {text}");

    // Five units of one product appear from nowhere between the run and the audit.
    let audit = Box::pin(stockroom_load::run_with(&args, async |api, products| {
        api.set_available(&products[0], 1005).await
    }))
    .await
    .unwrap();
    let text = audit.to_string();
    assert!(!audit.clean(), "{text}");
    assert!(
        text.contains("FAILED  stock accounts for every unit: 9 of 10 products"),
        "{text}"
    );
    assert!(text.ends_with("audit: FAILED (1 of 6 checks)"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
