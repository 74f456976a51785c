//! The dev server's memory does not grow with the requests it serves when nothing scrapes
//! `/metrics`: the Prometheus recorder keeps each request's latency sample until its upkeep
//! folds it into the histogram, and without the upkeep thread every sample stayed (a soak grew
//! the server from 12 MB to 83 MB in 5 minutes, issue 23).

use std::process::{Command, Stdio};

use crate::support::{free_port, wait_for_port};

/// The resident set of process `pid`, in bytes (`VmRSS` in `/proc/<pid>/status`).
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

/// `requests` reads of the seeded `sku-lamp`, eight at a time, all answered 200.
async fn reads(base: &str, requests: usize) {
    let http = reqwest::Client::new();
    let per_task = requests / 8;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let http = http.clone();
            let url = format!("{base}/products/sku-lamp");
            tokio::spawn(async move {
                for _ in 0..per_task {
                    let status = http.get(&url).send().await.unwrap().status();
                    assert_eq!(status, 200);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_flat_over_many_requests_with_nothing_scraping_metrics() {
    let dir = std::env::temp_dir().join(format!("stockroom-memory-{}", ulid::Ulid::new()));
    let port = free_port();
    let mut dev = Command::new(env!("CARGO_BIN_EXE_stockroom-dev"))
        .args(["--port", &port.to_string(), "--data-dir"])
        .arg(&dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .expect("the dev server starts");
    wait_for_port(port).await;
    let base = format!("http://127.0.0.1:{port}");

    // Warm up: connections, caches, the allocator's arenas.
    reads(&base, 20_000).await;
    let before = rss(dev.id());
    reads(&base, 100_000).await;
    // The upkeep runs every 5 s: what it has not folded yet is at most that long's samples.
    tokio::time::sleep(stockroom_telemetry::metrics::UPKEEP_INTERVAL).await;
    let after = rss(dev.id());
    dev.kill().unwrap();
    dev.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    let growth = after.saturating_sub(before);
    println!(
        "RSS {:.1} MB after 20k requests, {:.1} MB after 100k more: {:+} bytes",
        before as f64 / 1e6,
        after as f64 / 1e6,
        after as i64 - before as i64
    );
    // Without the upkeep every sample stays, about 20 bytes a request: +2.0 MB here against
    // +0.5 MB with it (measured on this test, 2026-12-07).
    assert!(
        growth < 1_000_000,
        "the dev server grew by {growth} bytes over 100k requests"
    );
}
