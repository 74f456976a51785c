//! The dev server's log output never holds a token or an `Authorization` header: not when a
//! token passes, not when it is refused, not at debug level.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{free_port, wait_for_port};
use serde_json::json;
use stockroom_local::auth::{AUDIENCE, ISSUER, SigningKeyPair};

/// Runs a shop's worth of requests with good and bad tokens against the `stockroom-dev` binary
/// at `rust_log`, and returns what it printed and the tokens it was sent.
async fn run_and_collect(rust_log: &str) -> (String, Vec<String>) {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("stockroom-logs-{}-{rust_log}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = SigningKeyPair::load_or_create(&dir.join("data")).unwrap();
    let now = chrono::Utc::now().timestamp();
    let admin = keys.token("ops", true, now, 600);
    let alice = keys.token("alice", false, now, 600);
    let expired = keys.token("alice", false, now - 7200, 600);
    let foreign = SigningKeyPair::generate()
        .unwrap()
        .token("alice", true, now, 600);
    let wrong_audience = keys.sign(&json!({
        "sub": "alice", "iss": ISSUER, "aud": format!("{AUDIENCE}-other"), "exp": now + 600,
    }));

    let port = free_port();
    let log_path = dir.join("dev.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut dev = Command::new(env!("CARGO_BIN_EXE_stockroom-dev"))
        .args(["--port", &port.to_string(), "--data-dir"])
        .arg(dir.join("data"))
        .env("RUST_LOG", rust_log)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("the dev server starts");
    wait_for_port(port).await;

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let send = |method: reqwest::Method,
                path: &str,
                token: Option<&str>,
                body: Option<serde_json::Value>| {
        let mut request = http.request(method, format!("{base}{path}"));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    use reqwest::Method;
    let steps = [
        (
            Method::POST,
            "/products",
            Some(&admin),
            Some(json!({"id": "sku-log", "name": "Log", "price": 100})),
        ),
        (
            Method::PUT,
            "/stock/sku-log",
            Some(&admin),
            Some(json!({"available": 5})),
        ),
        (
            Method::POST,
            "/carts/c1/items",
            Some(&alice),
            Some(json!({"product_id": "sku-log", "quantity": 1})),
        ),
        (Method::POST, "/carts/c1/checkout", Some(&alice), None),
        (Method::GET, "/orders", Some(&alice), None),
        (Method::GET, "/stock", Some(&alice), None),
        (Method::GET, "/orders", Some(&expired), None),
        (Method::GET, "/orders", Some(&foreign), None),
        (Method::GET, "/orders", Some(&wrong_audience), None),
        (
            Method::POST,
            "/orders",
            Some(&alice),
            Some(json!({"customer_id": "bob", "items": []})),
        ),
        (Method::GET, "/orders", None, None),
        (Method::GET, "/products/sku-log", Some(&alice), None),
    ];
    let mut statuses = Vec::new();
    for (method, path, token, body) in steps {
        let response = send(method.clone(), path, token.map(String::as_str), body)
            .await
            .unwrap();
        statuses.push((format!("{method} {path}"), response.status().as_u16()));
    }
    // Give the notification consumers time to log what they do with the order.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = dev.kill();
    let _ = dev.wait();
    let text = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    // The flow did what it says, so the log has something to hold.
    assert_eq!(
        statuses.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        vec![201, 200, 200, 201, 200, 403, 401, 401, 401, 403, 401, 200],
        "{statuses:?}\n{text}"
    );
    (text, vec![admin, alice, expired, foreign, wrong_audience])
}

fn assert_no_secrets(text: &str, tokens: &[String]) {
    assert!(
        text.contains("invoked"),
        "the server logged its requests:\n{text}"
    );
    for token in tokens {
        // Any of a token's three parts would be enough to replay or forge with.
        for part in token.split('.') {
            assert!(!text.contains(part), "a token part is in the log:\n{text}");
        }
    }
    let lower = text.to_ascii_lowercase();
    for needle in ["authorization", "bearer "] {
        assert!(!lower.contains(needle), "{needle:?} is in the log:\n{text}");
    }
}

#[tokio::test]
async fn the_dev_servers_log_never_holds_a_token_or_an_authorization_header() {
    let (text, tokens) = run_and_collect("info").await;
    assert_no_secrets(&text, &tokens);
    let (text, tokens) = run_and_collect("debug").await;
    assert_no_secrets(&text, &tokens);
}
