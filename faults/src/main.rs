//! `stockroom-faults [--shoppers N] [--intents N] [--products N] [--stock N] [--rate R]
//! [--seed S] [--log FILE]`: the shop's order and cart flows through the fault proxy, then the audit (see
//! `stockroom_faults::run`). Needs `AWS_ENDPOINT_URL_DYNAMODB` pointing at a local
//! DynamoDB-compatible server; `./scripts/faults` starts one. Ends with the line
//! `faults: injected N; acknowledged M; lost 0; duplicated 0; oversold 0;
//! 5xx-without-retry-after 0`, and exits non-zero unless the run was clean.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use stockroom_faults::run::{Settings, run};

const USAGE: &str = "usage: stockroom-faults [--shoppers N] [--intents N] [--products N] [--stock N] [--rate R] [--seed S] [--log FILE]";

fn parse_args() -> anyhow::Result<(Settings, Option<PathBuf>)> {
    let mut settings = Settings::default();
    let mut log = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = || format!("{flag} {value:?} is not valid\n{USAGE}");
        match flag.as_str() {
            "--shoppers" => settings.shoppers = value.parse().with_context(bad)?,
            "--intents" => settings.intents = value.parse().with_context(bad)?,
            "--products" => settings.products = value.parse().with_context(bad)?,
            "--stock" => settings.stock = value.parse().with_context(bad)?,
            "--rate" => settings.rate = value.parse().with_context(bad)?,
            "--seed" => settings.seed = value.parse().with_context(bad)?,
            "--log" => log = Some(PathBuf::from(value)),
            _ => bail!("unknown argument {flag:?}\n{USAGE}"),
        }
    }
    if !(0.0..=0.9).contains(&settings.rate) {
        bail!("--rate is a share of requests, 0 to 0.9\n{USAGE}");
    }
    if settings.products == 0 || settings.shoppers == 0 {
        bail!("--products and --shoppers are at least 1\n{USAGE}");
    }
    Ok((settings, log))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (settings, log) = parse_args()?;
    // Errors only (each failed record of the consumers, a 5xx without Retry-After): to --log,
    // or nowhere, since the injected faults make many and the report counts them.
    if let Some(log) = log {
        let file = std::fs::File::create(&log)
            .with_context(|| format!("--log {} cannot be written", log.display()))?;
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::ERROR)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init();
    }
    let report = run(settings).await?;
    for line in report.details() {
        println!("{line}");
    }
    println!("{}", report.summary());
    if !report.clean() {
        std::process::exit(1);
    }
    Ok(())
}
