//! The flags of `cargo load`.

use std::path::PathBuf;

use anyhow::{Context as _, bail};

pub const USAGE: &str = "usage: cargo load --scenario shop|flash-sale|orders [--host URL]
                  [--data-dir DIR | --token TOKEN | --token-command CMD]
                  [--users N] [--units N] [--products N] [--shards N] [--run-time SECS]
                  [--report-dir DIR] [--heat [--template FILE]]

  --scenario       shop: shoppers view products, fill carts, check out one cart in five,
                     read their orders (a warehouse user ships some, shoppers cancel some)
                   flash-sale: N shoppers race to order one product with --units in stock
                   orders: users place orders of 1-3 lines spread evenly over --products
  --host           the API's base URL (default http://127.0.0.1:3000, where `cargo dev` listens)
  --data-dir       the dev server's data directory, whose key signs the run's tokens as
                   `cargo dev token` does (default .stockroom, as `cargo dev`)
  --token          a bearer token for a deployed API, of a user in the admin group (to prepare
                   products and stock); every shopper is that user (its `sub`)
  --token-command  a shell command that prints such a token (run once, at the start)
  --users          concurrent users (default 100 for flash-sale, 64 for shop and orders)
  --units          units in stock of each product (default 20 for flash-sale, 10000 otherwise)
  --products       products prepared (default 100 for shop, 1000 for orders)
  --shards         split each product's stock level into N shards (1-32), as
                   PUT /stock/{id} {\"shards\": N} does for a hot product (default: not split)
  --run-time       seconds shop and orders run for (default 30)
  --report-dir     where Goose's HTML and Markdown reports go (default target/load)
  --heat           after the audit, price every write the attack made (read from --data-dir's
                   change feed) as DynamoDB would with --template's keys and indexes, and
                   print the hottest partitions and the orders/s they cap (docs/scaling.md);
                   only against a `cargo dev` on this machine
  --template       the template.yaml whose tables --heat applies (default template.yaml)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Shop,
    FlashSale,
    Orders,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::Shop => "shop",
            Self::FlashSale => "flash-sale",
            Self::Orders => "orders",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Args {
    pub scenario: Scenario,
    pub host: String,
    pub data_dir: PathBuf,
    pub token: Option<String>,
    pub token_command: Option<String>,
    pub users: Option<usize>,
    pub units: Option<u64>,
    pub products: Option<usize>,
    pub run_time: u64,
    pub report_dir: PathBuf,
    pub shards: Option<u32>,
    pub heat: bool,
    pub template: PathBuf,
}

impl Args {
    /// The flags a scenario runs with when only `scenario` is given.
    pub fn new(scenario: Scenario) -> Self {
        Self {
            scenario,
            host: String::from("http://127.0.0.1:3000"),
            data_dir: PathBuf::from(".stockroom"),
            token: None,
            token_command: None,
            users: None,
            units: None,
            products: None,
            run_time: 30,
            report_dir: PathBuf::from("target/load"),
            shards: None,
            heat: false,
            template: PathBuf::from("template.yaml"),
        }
    }

    pub fn users(&self) -> usize {
        self.users.unwrap_or(match self.scenario {
            Scenario::FlashSale => 100,
            Scenario::Shop | Scenario::Orders => 64,
        })
    }

    pub fn units(&self) -> u64 {
        self.units.unwrap_or(match self.scenario {
            Scenario::FlashSale => 20,
            Scenario::Shop | Scenario::Orders => 10_000,
        })
    }

    pub fn products(&self) -> usize {
        self.products.unwrap_or(match self.scenario {
            Scenario::FlashSale => 1,
            Scenario::Shop => 100,
            Scenario::Orders => 1000,
        })
    }
}

pub fn parse() -> anyhow::Result<Args> {
    parse_from(std::env::args().skip(1))
}

fn parse_from(raw: impl IntoIterator<Item = String>) -> anyhow::Result<Args> {
    let mut scenario = None;
    let mut args = Args::new(Scenario::FlashSale);
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
                    "shop" => Scenario::Shop,
                    "flash-sale" => Scenario::FlashSale,
                    "orders" => Scenario::Orders,
                    other => bail!("unknown scenario {other:?}\n\n{USAGE}"),
                })
            }
            "--host" => args.host = value()?.trim_end_matches('/').to_owned(),
            "--data-dir" => args.data_dir = PathBuf::from(value()?),
            "--token" => args.token = Some(value()?),
            "--token-command" => args.token_command = Some(value()?),
            "--users" => args.users = Some(whole(&flag, &value()?)?),
            "--units" => args.units = Some(whole(&flag, &value()?)?),
            "--products" => args.products = Some(whole(&flag, &value()?)?),
            "--run-time" => args.run_time = whole(&flag, &value()?)?,
            "--report-dir" => args.report_dir = PathBuf::from(value()?),
            "--shards" => args.shards = Some(whole(&flag, &value()?)?),
            "--heat" => args.heat = true,
            "--template" => args.template = PathBuf::from(value()?),
            other => bail!("unknown option {other:?}\n\n{USAGE}"),
        }
    }
    args.scenario = scenario.with_context(|| format!("--scenario is required\n\n{USAGE}"))?;
    if args.users == Some(0) {
        bail!("--users must be at least 1");
    }
    if args.products == Some(0) {
        bail!("--products must be at least 1");
    }
    if args.scenario == Scenario::FlashSale && args.products.is_some() {
        bail!("--products is for shop and orders: a flash sale is one product");
    }
    if args.run_time == 0 {
        bail!("--run-time must be at least 1 second");
    }
    if args.token.is_some() && args.token_command.is_some() {
        bail!("--token and --token-command: give one");
    }
    if args.shards.is_some_and(|n| !(1..=32).contains(&n)) {
        bail!("--shards must be a whole number from 1 to 32");
    }
    if args.heat && (args.token.is_some() || args.token_command.is_some()) {
        bail!("--heat reads a `cargo dev` data directory's change feed: not with --token");
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
        assert_eq!((args.users(), args.units(), args.products()), (500, 100, 1));
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

    #[test]
    fn shards_and_heat_are_read_and_their_limits_named() {
        let args = parse(&[
            "--scenario",
            "flash-sale",
            "--shards",
            "16",
            "--heat",
            "--template",
            "/tmp/before.yaml",
        ])
        .expect("args");
        assert_eq!(args.shards, Some(16));
        assert!(args.heat);
        assert_eq!(args.template, PathBuf::from("/tmp/before.yaml"));
        let defaults = parse(&["--scenario", "orders"]).expect("defaults");
        assert_eq!(
            (defaults.shards, defaults.heat, defaults.template),
            (None, false, PathBuf::from("template.yaml"))
        );
        for bad in ["0", "33"] {
            let err = parse(&["--scenario", "orders", "--shards", bad]).expect_err(bad);
            assert!(err.to_string().contains("from 1 to 32"), "{err}");
        }
        let err = parse(&["--scenario", "shop", "--heat", "--token", "t"]).expect_err("remote");
        assert!(err.to_string().contains("not with --token"), "{err}");
    }

    #[test]
    fn shop_and_orders_take_their_own_defaults_and_flags() {
        let shop = parse(&["--scenario", "shop"]).expect("shop");
        assert_eq!(shop.scenario, Scenario::Shop);
        assert_eq!(
            (shop.users(), shop.units(), shop.products(), shop.run_time),
            (64, 10_000, 100, 30)
        );
        assert_eq!(shop.data_dir, PathBuf::from(".stockroom"));
        let orders = parse(&[
            "--scenario",
            "orders",
            "--products",
            "10000",
            "--run-time",
            "5",
            "--token-command",
            "echo t",
            "--data-dir",
            "/tmp/d",
        ])
        .expect("orders");
        assert_eq!(orders.scenario, Scenario::Orders);
        assert_eq!((orders.products(), orders.run_time), (10_000, 5));
        assert_eq!(orders.token_command.as_deref(), Some("echo t"));
        assert_eq!(orders.data_dir, PathBuf::from("/tmp/d"));
        for (bad, says) in [
            (
                &["--scenario", "orders", "--products", "0"][..],
                "at least 1",
            ),
            (
                &["--scenario", "shop", "--run-time", "0"],
                "at least 1 second",
            ),
            (
                &["--scenario", "flash-sale", "--products", "5"],
                "one product",
            ),
            (
                &["--scenario", "shop", "--token", "a", "--token-command", "b"],
                "give one",
            ),
            (&["--scenario", "shop", "--token"], "needs a value"),
        ] {
            let err = parse(bad).expect_err(says);
            assert!(err.to_string().contains(says), "{bad:?}: {err}");
        }
    }
}
