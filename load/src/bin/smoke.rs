//! `scripts/smoke BASE_URL [--data-dir DIR]`: the README's flows against a running API, then
//! one verdict line (see `stockroom_load::smoke`). An administrator's token comes from
//! `STOCKROOM_TOKEN` (for AWS: a Cognito user in the `admin` group, who is then every customer
//! too), or tokens are minted from `--data-dir`'s key as `cargo dev token` mints them. Exit 0
//! passed, 1 failed, 2 could not run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use stockroom_load::api::Tokens;

const USAGE: &str = "usage: scripts/smoke BASE_URL [--data-dir DIR]
  BASE_URL    the API, e.g. the stack's ApiUrl output or http://127.0.0.1:3000 for cargo dev
  --data-dir  mint tokens from this dev data directory's key (cargo dev's, default .stockroom)
  STOCKROOM_TOKEN (environment): an administrator's bearer token instead (for a deployed API)";

fn parse() -> anyhow::Result<(String, Tokens)> {
    let mut base = None;
    let mut data_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--data-dir" => {
                data_dir = Some(PathBuf::from(
                    args.next().context("--data-dir needs a value")?,
                ));
            }
            _ if arg.starts_with("--") => bail!("unknown flag {arg:?}\n{USAGE}"),
            _ if base.is_none() => base = Some(arg),
            _ => bail!("one BASE_URL only\n{USAGE}"),
        }
    }
    let base = base.with_context(|| format!("no BASE_URL\n{USAGE}"))?;
    let tokens = match (std::env::var("STOCKROOM_TOKEN").ok(), data_dir) {
        (Some(token), None) if !token.trim().is_empty() => Tokens::given(token.trim())?,
        (_, Some(dir)) => Tokens::of_data_dir(&dir)?,
        (_, None) => Tokens::of_data_dir(&PathBuf::from(".stockroom"))
            .with_context(|| format!("no STOCKROOM_TOKEN and no dev data directory\n{USAGE}"))?,
    };
    Ok((base, tokens))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (base, tokens) = match parse() {
        Ok(parsed) => parsed,
        Err(err) => {
            eprintln!("{err:#}");
            return ExitCode::from(2);
        }
    };
    match stockroom_load::smoke::smoke(&base, &tokens).await {
        Ok(verdict) => {
            println!("{verdict}");
            if verdict.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(err) => {
            eprintln!("smoke: could not run against {base}: {err:#}");
            ExitCode::from(2)
        }
    }
}
