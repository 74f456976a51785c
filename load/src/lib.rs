//! `cargo load`: a load generator for the shop API, built on Goose, that ends with an audit.
//!
//! It prepares its own products and stock under a run prefix (so runs never collide), drives a
//! scenario against any base URL, prints Goose's report (and writes it as HTML under
//! `--report-dir`), then reads back through the API what it did and checks that nothing was
//! oversold, lost or refused with a server error. The audit's verdict is the last line printed
//! and the exit status: 0 when clean, 1 when not, 2 when the run itself could not be made.
//!
//! Scenarios (`--scenario`):
//! - `flash-sale`: `--users` shoppers each try to order one unit of one product that has
//!   `--units` in stock, all at once. Exactly `min(units, users)` orders must be placed, every
//!   other attempt must be a 409, and the product's level must account for every unit.

pub mod api;
pub mod args;
pub mod flash_sale;
pub mod heat;

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
