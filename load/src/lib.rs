//! `cargo load`: a load generator for the shop API, built on Goose, that ends with an audit.
//!
//! It prepares its own products and stock under a run prefix (so runs never collide), drives
//! a scenario against any base URL, prints Goose's report (and writes it as HTML and Markdown
//! under `--report-dir`), then reads back through the API what it did and checks that nothing
//! was oversold, lost or refused with a server error. The audit's verdict is the last line
//! printed and the exit status: 0 when clean, 1 when not, 2 when the run itself could not be
//! made.
//!
//! Scenarios (`--scenario`):
//! - `shop`: shoppers browse and buy, 7 product views : 3 cart adds : 1 catalog list : 1 health
//!   check, one full cart in five checked out, their own orders read; some orders are shipped
//!   (by a warehouse user) or cancelled (by their shopper) after placement.
//! - `flash-sale`: `--users` shoppers each try to order one unit of one product that has
//!   `--units` in stock, all at once. Exactly `min(units, users)` orders must be placed, every
//!   other attempt must be a 409.
//! - `orders`: orders of 1 to 3 lines spread evenly over `--products` products.
//!
//! Every audit (`run.rs`): zero 5xx, no answer the scenario does not expect, every order the
//! run was told exists reads back with its lines and status, and for every product: units at
//! start = available + reserved + units in shipped orders, reserved = units in confirmed
//! orders, no level below zero.

pub mod api;
pub mod args;
pub mod flash_sale;
pub mod heat;
pub mod orders;
pub mod run;
pub mod shop;
pub mod smoke;

use crate::api::Api;
use crate::args::{Args, Scenario};

/// Runs `--scenario` as `args` say, to its audit.
pub async fn run(args: &Args) -> anyhow::Result<Audit> {
    Box::pin(run_with(args, async |_, _| Ok(()))).await
}

/// [`run`], with `before_audit` called between the attack and the audit with the API and the
/// run's products (the tests change the stock there, to see the audit catch it).
pub async fn run_with(
    args: &Args,
    before_audit: impl AsyncFnOnce(&Api, &[String]) -> anyhow::Result<()>,
) -> anyhow::Result<Audit> {
    match args.scenario {
        Scenario::Shop => Box::pin(run::scenario::<shop::Shop>(args, before_audit)).await,
        Scenario::FlashSale => {
            Box::pin(run::scenario::<flash_sale::Sale>(args, before_audit)).await
        }
        Scenario::Orders => Box::pin(run::scenario::<orders::Orders>(args, before_audit)).await,
    }
}

/// What the audit found: the checks that failed, each said in a line; none means clean.
#[derive(Debug, Default)]
pub struct Audit {
    scenario: &'static str,
    checked: Vec<String>,
    failed: Vec<String>,
}

impl Audit {
    pub fn new(scenario: &'static str) -> Self {
        Self {
            scenario,
            ..Self::default()
        }
    }

    /// Records a check: `ok` or not, said as `what`.
    pub fn check(&mut self, ok: bool, what: String) {
        if ok {
            self.checked.push(what);
        } else {
            self.failed.push(what);
        }
    }

    pub fn clean(&self) -> bool {
        self.failed.is_empty()
    }
}

impl std::fmt::Display for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "\nAudit of {}:", self.scenario)?;
        for line in &self.checked {
            writeln!(f, "  ok      {line}")?;
        }
        for line in &self.failed {
            writeln!(f, "  FAILED  {line}")?;
        }
        if self.clean() {
            write!(f, "audit: clean ({} checks)", self.checked.len())
        } else {
            write!(
                f,
                "audit: FAILED ({} of {} checks)",
                self.failed.len(),
                self.failed.len() + self.checked.len()
            )
        }
    }
}
