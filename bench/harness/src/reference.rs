//! The reference: someone else's Rust Lambda measured beside ours in the same run, the
//! `get-product` function of aws-samples/serverless-rust-demo, from a checkout of it given with
//! `--reference DIR` (`git clone https://github.com/aws-samples/serverless-rust-demo`).
//!
//! It is built as its project builds it: `cargo lambda build --release --bin get-product` in the
//! checkout, with the checkout's release profile (the demo sets none) and what cargo-lambda
//! adds to a release build whose profile does not say otherwise (strip, thin LTO, one codegen
//! unit, `panic = "abort"`), into `<target>/reference` (through `CARGO_TARGET_DIR`:
//! cargo-lambda's `--target-dir` flag is broken). `--profile` does not apply to it. The demo commits no Cargo.lock, so cargo resolves its ranges (aws-sdk 0.7,
//! lambda_http 0.5, tokio 1) to the newest crates that match them and writes a lock into the
//! checkout, which the demo's .gitignore ignores; with rustc 1.95 they build as they are. A
//! checkout that has a lock of its own builds from it.
//!
//! It runs as the floor does: spawned under the loopback Runtime API, in the environment every
//! function gets, plus the `TABLE_NAME` its init reads, and timed from exec to its first `next`.
//! Its init is like ours: tracing, the SDK's config from the environment, a DynamoDB client. It
//! is not invoked: its 2021 SDK (aws-config 0.7) does not read `AWS_ENDPOINT_URL_DYNAMODB`, so
//! its call would go to DynamoDB in AWS rather than to the local one, and fail or hang. Its row
//! has its init and its peak RSS up to the end of init, and no calls.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::build::{run, target_dir};
use crate::measure::Case;

/// The reference's binary, as its Cargo.toml names it.
pub const BINARY: &str = "get-product";

/// The reference's row in the tables.
pub const ROW: &str = "reference get-product";

/// The table its init reads the name of. Any name will do: it is never called.
const TABLE_NAME: &str = "stockroom-bench-reference";

/// What the run measures: a copy of the host build, which [`crate::sizes`] would overwrite in
/// cargo-lambda's output directory with the arm64 one.
pub fn binary() -> PathBuf {
    target_dir()
        .join("bench-bin")
        .join("reference")
        .join(BINARY)
}

/// `cargo lambda build --release --bin get-product` in `checkout`, with `flags` (an architecture,
/// or none for cargo-lambda's default, this host's); the stripped bootstrap it made.
pub fn lambda_build(checkout: &Path, flags: &[&str]) -> anyhow::Result<PathBuf> {
    let target = target_dir().join("reference");
    let mut cmd = std::process::Command::new("cargo");
    cmd.current_dir(checkout)
        .env("CARGO_TARGET_DIR", &target)
        .args(["lambda", "build", "--release"])
        .args(flags)
        .args(["--bin", BINARY]);
    run(&mut cmd).with_context(|| {
        format!(
            "building the reference in {} (a checkout of aws-samples/serverless-rust-demo?)",
            checkout.display()
        )
    })?;
    Ok(target.join("lambda").join(BINARY).join("bootstrap"))
}

/// Builds the reference for this host and copies it to [`binary`].
pub fn build(checkout: &Path) -> anyhow::Result<()> {
    let bootstrap = lambda_build(checkout, &[])?;
    let binary = binary();
    if let Some(dir) = binary.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::copy(&bootstrap, &binary).with_context(|| {
        format!(
            "failed to copy {} to {}",
            bootstrap.display(),
            binary.display()
        )
    })?;
    Ok(())
}

/// The reference's row: no workload, since it is not invoked.
pub fn case() -> Case {
    Case {
        function: ROW.to_owned(),
        workload: None,
        delivery: None,
        env: vec![(String::from("TABLE_NAME"), String::from(TABLE_NAME))],
    }
}

/// What the table's reference row is, under the table.
pub fn print_note(checkout: &Path) {
    let commit = std::process::Command::new("git")
        .arg("-C")
        .arg(checkout)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || String::from("an unknown commit"),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        );
    println!(
        "\n{ROW}: aws-samples/serverless-rust-demo's {BINARY} from {} at {commit}, built by \
         `cargo lambda build --release` (the demo's profile, cargo-lambda's release settings). \
         Its init, like get_product's, loads the SDK's config and makes a DynamoDB client. Not \
         invoked: its 2021 SDK ignores AWS_ENDPOINT_URL_DYNAMODB, so its call could not reach \
         the local DynamoDB. Init is timed as the floor's is (exec to first `next`); its peak \
         RSS is up to the end of init, the others' up to the end of their calls.",
        checkout.display()
    );
}
