//! The binary sizes table: stripped and zipped bootstraps per architecture, as `cargo lambda
//! build --release` makes them.

use std::path::Path;

use anyhow::Context as _;
use stockroom_store::testing::workspace;

use crate::build::{FLOOR, packages_of, run, target_dir};

/// Builds the binaries `functions` and the floor for both architectures and prints their sizes; and the
/// reference's, from its checkout, if the run has one ([`crate::reference`]).
pub fn sizes(functions: &[String], reference: Option<&Path>) -> anyhow::Result<()> {
    let target = target_dir().join("lambda-size");
    println!("\n| binary | arch | stripped bootstrap bytes | zipped bytes |");
    println!("|---|---|---|---|");
    for (arch, flag) in [("x86_64", "--x86-64"), ("arm64", "--arm64")] {
        let mut cmd = std::process::Command::new("cargo");
        cmd.current_dir(workspace())
            .env("CARGO_TARGET_DIR", &target)
            .args(["lambda", "build", "--release"]);
        cmd.arg(flag);
        let measured: Vec<&str> = functions.iter().map(String::as_str).collect();
        for package in packages_of(&measured)? {
            cmd.args(["-p", &package]);
        }
        cmd.args(["-p", "stockroom-bench-floor"]);
        for f in functions.iter().map(String::as_str).chain([FLOOR]) {
            cmd.args(["--bin", f]);
        }
        run(&mut cmd)?;
        for f in functions.iter().map(String::as_str).chain([FLOOR]) {
            let bootstrap = target.join("lambda").join(f).join("bootstrap");
            print_size(f, arch, &bootstrap)?;
        }
        if let Some(checkout) = reference {
            let bootstrap = crate::reference::lambda_build(checkout, &[flag])?;
            print_size(crate::reference::ROW, arch, &bootstrap)?;
        }
    }
    Ok(())
}

/// The row of `name`'s `bootstrap` for `arch`: its size, and its size zipped beside it.
fn print_size(name: &str, arch: &str, bootstrap: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::metadata(bootstrap)
        .with_context(|| format!("no {}", bootstrap.display()))?
        .len();
    let zip = bootstrap.with_file_name(format!("bootstrap-{arch}.zip"));
    let _ = std::fs::remove_file(&zip);
    run(std::process::Command::new("zip")
        .args(["-q", "-9", "-j"])
        .arg(&zip)
        .arg(bootstrap))?;
    println!(
        "| {name} | {arch} | {bytes} | {} |",
        std::fs::metadata(&zip)?.len()
    );
    Ok(())
}
