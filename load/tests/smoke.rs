//! `scripts/smoke` against an in-process dev server (the `App` `cargo dev` serves, with its
//! change feed, so notifications go out): it passes; against the same server made to drop the
//! `Idempotent-Replayed` header, it fails, and says which check; against nothing, it cannot run.
#![allow(clippy::unwrap_used)] // A test that cannot unwrap has failed; the panic says where.

#[path = "support/dev_server.rs"]
mod support;

use std::path::PathBuf;

use stockroom_load::api::Tokens;
use stockroom_load::smoke::smoke;

/// A dev server over a fresh embedded store, with its feed; `misbehave` strips the replay
/// header from every answer. Its base URL, the data directory its tokens are minted from, and
/// its feed readers (running while they are held).
async fn dev_server(misbehave: bool) -> (String, PathBuf, stockroom_local::feed::Readers) {
    let data_dir = std::env::temp_dir().join(format!("stockroom-smoke-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let (app, store) = support::app(&data_dir).await;
    let feed =
        stockroom_local::feed::start(&support::workspace().join("template.yaml"), &store).unwrap();
    let mut router = stockroom_local::server::router(app);
    if misbehave {
        router = router.layer(axum::middleware::map_response(
            async |mut response: axum::response::Response| {
                response.headers_mut().remove("idempotent-replayed");
                response
            },
        ));
    }
    (support::serve(router).await, data_dir, feed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_passes_on_a_sound_server_and_names_what_a_broken_one_gets_wrong() {
    let (base, data_dir, _feed) = dev_server(false).await;
    let verdict = smoke(&base, &Tokens::of_data_dir(&data_dir).unwrap())
        .await
        .unwrap();
    assert!(verdict.passed(), "{verdict}");
    assert!(
        verdict.to_string().ends_with(&format!("against {base}")),
        "{verdict}"
    );
    assert_eq!(verdict.checks.len(), 20, "{verdict}");

    let (base, data_dir, _feed) = dev_server(true).await;
    let verdict = smoke(&base, &Tokens::of_data_dir(&data_dir).unwrap())
        .await
        .unwrap();
    assert!(!verdict.passed(), "{verdict}");
    let failed: Vec<&String> = verdict
        .checks
        .iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, what)| what)
        .collect();
    assert_eq!(failed.len(), 1, "{verdict}");
    assert!(failed[0].contains("Idempotent-Replayed: true"), "{verdict}");
    assert!(
        verdict
            .to_string()
            .contains("smoke: FAILED (1 of 20 checks)"),
        "{verdict}"
    );
}

#[tokio::test]
async fn smoke_cannot_run_against_nothing() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("stockroom-smoke-{}", ulid::Ulid::new()));
    let tokens = Tokens::of_data_dir(&dir).unwrap();
    assert!(
        smoke(&format!("http://127.0.0.1:{port}"), &tokens)
            .await
            .is_err()
    );
}
