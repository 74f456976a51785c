//! Building what a run measures: the functions (as `sam build` makes them and with the embedded
//! store), the floor, and the dev server; and where cargo puts them.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use stockroom_store::testing::workspace;

use crate::args::{Args, Store};

/// The floor: the bare `lambda_runtime` binary of bench/floor, built by the same profile as the
/// functions, which every row's ratios are to.
pub const FLOOR: &str = "hello";

/// The workspace package of each of `binaries`, from `cargo metadata`.
pub fn packages_of(binaries: &[&str]) -> anyhow::Result<Vec<String>> {
    let bins = stockroom_store::testing::cargo_bins()?;
    let mut packages: Vec<String> = Vec::new();
    for f in binaries {
        let bin = bins
            .iter()
            .find(|b| b.name == *f)
            .with_context(|| format!("no workspace package has a binary {f}"))?;
        if !packages.contains(&bin.package) {
            packages.push(bin.package.clone());
        }
    }
    Ok(packages)
}

/// The feature of every function package that uses a store: the DynamoDB adapter its Lambda
/// artifact is built with (`dynamodb = ["stockroom-store/dynamodb"]`, root Cargo.toml).
const STORE_FEATURE: &str = "dynamodb";

/// The binaries of `functions` (handler names), each once, in their order.
pub fn binaries_of(functions: &[&str]) -> anyhow::Result<Vec<String>> {
    let mut binaries: Vec<String> = Vec::new();
    for f in functions {
        let binary = crate::args::binary_of(f)?;
        if !binaries.contains(&binary) {
            binaries.push(binary);
        }
    }
    Ok(binaries)
}

/// Those of `functions` (handler names) that use a store, from `cargo metadata`: the ones
/// whose binary's package has [`STORE_FEATURE`]. The others (health) are measured without one
/// and not built with the embedded store.
pub fn with_store<'f>(functions: &[&'f str]) -> anyhow::Result<Vec<&'f str>> {
    let bins = stockroom_store::testing::cargo_bins()?;
    let mut stored = Vec::new();
    for f in functions {
        let binary = crate::args::binary_of(f)?;
        let bin = bins
            .iter()
            .find(|b| b.name == binary)
            .with_context(|| format!("no workspace package has a binary {binary}"))?;
        if bin.features.iter().any(|feature| feature == STORE_FEATURE) {
            stored.push(*f);
        }
    }
    Ok(stored)
}

/// Where cargo puts what it builds: `CARGO_TARGET_DIR` when set (relative to the workspace, as
/// cargo reads it when run there), else the workspace's `target/`. Everything the harness
/// builds or copies goes there, so a clone with its own target directory measures its own
/// binaries.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace().join(dir),
        _ => workspace().join("target"),
    }
}

pub fn profile_dir(profile: &str) -> &str {
    if profile == "dev" { "debug" } else { profile }
}

pub fn run(cmd: &mut std::process::Command) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("failed to run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// Builds what this run measures, into `bins`: `dynamodb/` holds the functions as `sam build`
/// makes them (no embedded store), `embedded/` the same functions with the `embedded` feature,
/// [`FLOOR`] the floor; and the reference, if the run has one ([`crate::reference`]). Separate
/// cargo runs, because features unify across the packages of one.
/// Only the binaries measured are linked: every release link is an LTO link, about a minute each
/// on two cores.
pub fn build(args: &Args, bins: &Path) -> anyhow::Result<()> {
    let target = target_dir().join(profile_dir(&args.profile));
    let cargo = |packages: &[&str], features: Option<&str>, binaries: &[&str]| {
        let mut cmd = std::process::Command::new("cargo");
        cmd.current_dir(workspace())
            .args(["build", "--locked", "--profile", &args.profile]);
        for package in packages {
            cmd.args(["-p", package]);
        }
        if let Some(features) = features {
            cmd.args(["--features", features]);
        }
        for bin in binaries {
            cmd.args(["--bin", bin]);
        }
        run(&mut cmd)
    };
    let copy = |binaries: &[&str], to: &Path| -> anyhow::Result<()> {
        std::fs::create_dir_all(to)?;
        for bin in binaries {
            std::fs::copy(target.join(bin), to.join(bin))
                .with_context(|| format!("failed to copy {bin} to {}", to.display()))?;
        }
        Ok(())
    };
    cargo(&["stockroom-bench-floor"], None, &[FLOOR])?;
    copy(&[FLOOR], bins)?;
    let functions: Vec<&str> = args.functions.iter().map(String::as_str).collect();
    let binaries = binaries_of(&functions)?;
    let binaries: Vec<&str> = binaries.iter().map(String::as_str).collect();
    let packages = packages_of(&binaries)?;
    let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
    cargo(&packages, None, &binaries)?;
    copy(&binaries, &bins.join("dynamodb"))?;
    // The binaries of the functions that use a store, built again with the embedded one.
    let stored = binaries_of(&with_store(&functions)?)?;
    let stored: Vec<&str> = stored.iter().map(String::as_str).collect();
    if args.stores.contains(&Store::Embedded) && !stored.is_empty() {
        let packages = packages_of(&stored)?;
        let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
        cargo(&packages, Some("stockroom-store/embedded"), &stored)?;
        copy(&stored, &bins.join("embedded"))?;
    }
    if let Some(checkout) = &args.reference {
        crate::reference::build(checkout)?;
    }
    if args.wrk {
        // The dev server as `cargo dev` builds it, whatever --profile says for the functions.
        let mut cmd = std::process::Command::new("cargo");
        cmd.current_dir(workspace()).args([
            "build",
            "--locked",
            "--profile",
            &cargo_dev_profile()?,
            "-p",
            "stockroom-local",
            "--bin",
            "stockroom-dev",
        ]);
        run(&mut cmd)?;
    }
    Ok(())
}

/// The profile the `cargo dev` alias in .cargo/config.toml builds with (`dev` when it names
/// none), so the throughput rows are for what users run.
pub fn cargo_dev_profile() -> anyhow::Result<String> {
    let config = std::fs::read_to_string(workspace().join(".cargo/config.toml"))?;
    let alias = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("dev = "))
        .context("no `dev` alias in .cargo/config.toml")?;
    let mut words = alias.trim_matches('"').split_whitespace();
    Ok(words
        .by_ref()
        .skip_while(|w| *w != "--profile")
        .nth(1)
        .unwrap_or("dev")
        .to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn health_and_web_are_the_functions_without_a_store() {
        let functions = crate::args::template_functions().unwrap();
        let functions: Vec<&str> = functions.iter().map(String::as_str).collect();
        let stored = with_store(&functions).unwrap();
        let storeless: Vec<&str> = functions
            .into_iter()
            .filter(|f| !stored.contains(f))
            .collect();
        assert_eq!(storeless, ["health", "web"]);
    }
}
