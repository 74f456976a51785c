//! The flags of `cargo load`.

use std::path::PathBuf;

use anyhow::{Context as _, bail};

pub const USAGE: &str = "usage: cargo load --scenario flash-sale [--host URL] [--data-dir DIR]
                  [--users N] [--units N] [--report-dir DIR]

  --scenario    flash-sale: N shoppers race to order one product with --units in stock
  --host        the API's base URL (default http://127.0.0.1:3000, where `cargo dev` listens)
  --data-dir    the dev server's data directory, whose key signs the run's tokens as
                `cargo dev token` does (default .stockroom, as `cargo dev`)
  --users       shoppers (default 100)
  --units       units in stock for the flash sale (default 20)
  --report-dir  where Goose's HTML report goes (default target/load)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    FlashSale,
}

#[derive(Debug, Clone)]
pub struct Args {
    pub scenario: Scenario,
    pub host: String,
    pub data_dir: PathBuf,
    pub users: usize,
    pub units: u64,
    pub report_dir: PathBuf,
}

pub fn parse() -> anyhow::Result<Args> {
    parse_from(std::env::args().skip(1))
}

fn parse_from(raw: impl IntoIterator<Item = String>) -> anyhow::Result<Args> {
    let mut scenario = None;
    let mut args = Args {
        scenario: Scenario::FlashSale,
        host: String::from("http://127.0.0.1:3000"),
        data_dir: PathBuf::from(".stockroom"),
        users: 100,
        units: 20,
        report_dir: PathBuf::from("target/load"),
    };
    let mut raw = raw.into_iter();
    while let Some(flag) = raw.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let mut value = || {
            raw.next()
                .with_context(|| format!("{flag} needs a value\n\n{USAGE}"))
        };
        match flag.as_str() {
            "--scenario" => {
                scenario = Some(match value()?.as_str() {
                    "flash-sale" => Scenario::FlashSale,
                    other => bail!("unknown scenario {other:?}\n\n{USAGE}"),
                })
            }
            "--host" => args.host = value()?.trim_end_matches('/').to_owned(),
            "--data-dir" => args.data_dir = PathBuf::from(value()?),
            "--users" => args.users = whole(&flag, &value()?)?,
            "--units" => args.units = whole(&flag, &value()?)?,
            "--report-dir" => args.report_dir = PathBuf::from(value()?),
            other => bail!("unknown option {other:?}\n\n{USAGE}"),
        }
    }
    args.scenario = scenario.with_context(|| format!("--scenario is required\n\n{USAGE}"))?;
    if args.users == 0 {
        bail!("--users must be at least 1");
    }
    Ok(args)
}

fn whole<T: std::str::FromStr>(flag: &str, value: &str) -> anyhow::Result<T> {
    value
        .parse()
        .map_err(|_| anyhow::anyhow!("{flag} {value:?} is not a whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Args> {
        parse_from(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn flags_are_read_and_bad_ones_named() {
        let args = parse(&[
            "--scenario",
            "flash-sale",
            "--users",
            "500",
            "--units",
            "100",
            "--host",
            "http://x:1/",
        ])
        .expect("args");
        assert_eq!(args.scenario, Scenario::FlashSale);
        assert_eq!((args.users, args.units), (500, 100));
        assert_eq!(args.host, "http://x:1");
        let err = parse(&["--users", "5"]).expect_err("no scenario");
        assert!(
            err.to_string().starts_with("--scenario is required"),
            "{err}"
        );
        let err = parse(&["--scenario", "flash-sale", "--units", "-1"]).expect_err("negative");
        assert!(err.to_string().contains("not a whole number"), "{err}");
        let err = parse(&["--scenario", "stampede"]).expect_err("unknown");
        assert!(err.to_string().contains("unknown scenario"), "{err}");
    }
}
