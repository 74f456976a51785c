//! The tables and lists a run prints from its rows: times and memory against the floor, the
//! stream consumers' batches, the rows whose calls answered unlike their first, the EMF
//! metrics, and which rows are broken rather than slow.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cold_start::is_failure;
use crate::measure::Row;

fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The `p` percentile of `values` in ms, or `-` when there are none (a row that was not invoked,
/// or had no warm calls).
fn ms_at(values: &[Duration], p: f64) -> String {
    if values.is_empty() {
        String::from("-")
    } else {
        ms(percentile(values, p))
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        String::from("-")
    }
}

/// A row's figures as the tables print them: init over its cold starts, the first call of each
/// (none for a row that was not invoked), the warm calls of the first, and the median peak RSS.
struct Figures {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    rss_kib: u64,
}

impl Figures {
    fn of(row: &Row) -> Self {
        let mut rss: Vec<u64> = row.samples.iter().map(|s| s.peak_rss_kib).collect();
        rss.sort_unstable();
        Self {
            init: row.samples.iter().map(|s| s.init).collect(),
            first: row.samples.iter().filter_map(|s| s.first).collect(),
            warm: row
                .samples
                .iter()
                .flat_map(|s| s.warm.iter().copied())
                .collect(),
            rss_kib: rss.get(rss.len() / 2).copied().unwrap_or(0),
        }
    }

    /// `init median ms | init p90 ms | init / floor | first median ms | first p90 ms | warm
    /// p50 ms | warm p99 ms`
    fn times(&self, floor: &Self) -> String {
        let init = percentile(&self.init, 0.5);
        format!(
            "{} | {} | {} | {} | {} | {} | {}",
            ms(init),
            ms(percentile(&self.init, 0.9)),
            ratio(
                init.as_secs_f64(),
                percentile(&floor.init, 0.5).as_secs_f64()
            ),
            ms_at(&self.first, 0.5),
            ms_at(&self.first, 0.9),
            ms_at(&self.warm, 0.5),
            ms_at(&self.warm, 0.99),
        )
    }

    /// `peak RSS MiB | RSS / floor`
    #[allow(clippy::cast_precision_loss)]
    fn rss(&self, floor: &Self) -> String {
        let rss = self.rss_kib as f64;
        format!("{:.1} | {}", rss / 1024.0, ratio(rss, floor.rss_kib as f64))
    }
}

/// DynamoDB calls per invocation over the first cold start's calls, for a DynamoDB row.
fn calls_per_invocation(row: &Row) -> Option<f64> {
    match row.store {
        "dynamodb" => row.samples.first().and_then(|s| s.calls_per_invocation),
        _ => None,
    }
}

pub fn print_table<'r>(rows: impl Iterator<Item = &'r Row>, floor: &'r Row) {
    let floor_figures = Figures::of(floor);
    println!(
        "\n| function | store | status | init median ms | init p90 ms | init / floor | first call median ms | first call p90 ms | warm p50 ms | warm p99 ms | peak RSS MiB | RSS / floor | DynamoDB calls / invocation |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in std::iter::once(floor).chain(rows) {
        let figures = Figures::of(row);
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.function,
            row.store,
            row.samples.first().map_or("-", |s| s.first_status.as_str()),
            figures.times(&floor_figures),
            figures.rss(&floor_figures),
            calls_per_invocation(row).map_or(String::from("-"), |c| format!("{c:.2}")),
        );
    }
}

/// The stream consumers' rows: every call a batch of the stream's `BatchSize` records, so the
/// latencies are a batch's, and the DynamoDB calls are per record. The last column is what the
/// consumer logged it did with the records of every call of the row.
pub fn print_batch_table<'r>(rows: impl Iterator<Item = &'r Row>, floor: &Row) {
    let floor_figures = Figures::of(floor);
    let mut rows = rows.peekable();
    if rows.peek().is_none() {
        return;
    }
    println!(
        "\n| function | delivery | store | answer | records / batch | init median ms | init p90 ms | init / floor | first batch median ms | first batch p90 ms | warm batch p50 ms | warm batch p99 ms | peak RSS MiB | RSS / floor | DynamoDB calls / record | records: sent / found sent |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let Some((delivery, size)) = row.batches else {
            continue;
        };
        let figures = Figures::of(row);
        #[allow(clippy::cast_precision_loss)]
        let per_record = calls_per_invocation(row)
            .map_or(String::from("-"), |c| format!("{:.2}", c / size as f64));
        let handled = row.handled().map_or(String::from("-"), |(done, _)| {
            format!("{}: {} / {}", done.records, done.sent, done.already_sent)
        });
        println!(
            "| {} | {} | {} | {} | {size} | {} | {} | {per_record} | {handled} |",
            row.function,
            delivery.name(),
            row.store,
            row.samples.first().map_or("-", |s| s.first_status.as_str()),
            figures.times(&floor_figures),
            figures.rss(&floor_figures),
        );
    }
}

/// Every row whose calls did not all answer alike (the table's status is the first call of the
/// first cold start): a warm call that answers 404 or 409 where the first created or changed
/// something, or a replay, measures other work than the row says.
/// The phase columns in the order the phases happen: a phase one row has and an earlier row had
/// not goes right after the phase it follows in its own row (so `to first next`, every row's
/// last, stays last).
fn phase_columns(rows: &[Row]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for sample in rows.iter().flat_map(|r| &r.samples) {
        let mut after: Option<usize> = None;
        for (name, _) in &sample.init_phases {
            let at = match names.iter().position(|n| n == name) {
                Some(at) => at,
                None => {
                    let at = after.map_or(names.len(), |a| a + 1);
                    names.insert(at, name.clone());
                    at
                }
            };
            after = Some(at);
        }
    }
    names
}

/// Where each row's init went, phase by phase (medians over its cold starts, ms): what the
/// function's `init phases` line says, with `start` (spawn to `main`) before and `to first
/// next` (the rest of init) after. Rows whose function logs no phases (the floor) are left out.
pub fn print_init_phases(rows: &[Row]) {
    let names = phase_columns(rows);
    if names.is_empty() {
        return;
    }
    println!("\nInit by phase, median ms over the cold starts:");
    println!("| function | store | {} | init |", names.join(" | "));
    println!("|---|---|{}---|", "---|".repeat(names.len()));
    for row in rows
        .iter()
        .filter(|r| r.samples.iter().any(|s| !s.init_phases.is_empty()))
    {
        let cells: Vec<String> = names
            .iter()
            .map(|name| {
                let times: Vec<Duration> = row
                    .samples
                    .iter()
                    .filter_map(|s| {
                        s.init_phases
                            .iter()
                            .find(|(n, _)| n == name)
                            .map(|(_, d)| *d)
                    })
                    .collect();
                ms_at(&times, 0.5)
            })
            .collect();
        let init: Vec<Duration> = row.samples.iter().map(|s| s.init).collect();
        println!(
            "| {} | {} | {} | {} |",
            row.name(),
            row.store,
            cells.join(" | "),
            ms(percentile(&init, 0.5))
        );
    }
}

pub fn print_answers(rows: &[Row]) {
    let mut mixed = Vec::new();
    for row in rows {
        let mut answers: BTreeMap<&str, usize> = BTreeMap::new();
        for sample in &row.samples {
            *answers.entry(sample.first_status.as_str()).or_default() += 1;
            for (label, n) in &sample.warm_answers {
                *answers.entry(label.as_str()).or_default() += n;
            }
        }
        let replayed = answers.keys().any(|a| a.ends_with("replayed"));
        if answers.len() > 1 || replayed {
            let counts: Vec<String> = answers.iter().map(|(a, n)| format!("{a} x{n}")).collect();
            mixed.push(format!(
                "- {} ({}): {}",
                row.name(),
                row.store,
                counts.join(", ")
            ));
        }
    }
    if mixed.is_empty() {
        println!("\nEvery call of every row answered like the row's first.");
    } else {
        println!(
            "\nRows whose calls did not all answer like the first (cold starts and warm calls):"
        );
        for line in mixed {
            println!("{line}");
        }
    }
}

/// The metrics each row's functions printed as EMF (every document checked by [`crate::emf::check`]).
pub fn print_emf(rows: &[Row]) {
    println!(
        "\nEMF metrics (namespace {}), every document valid:",
        stockroom_telemetry::metrics::NAMESPACE
    );
    for row in rows {
        let metrics: std::collections::BTreeSet<&str> = row
            .samples
            .iter()
            .flat_map(|s| s.emf.iter().map(String::as_str))
            .collect();
        let metrics: Vec<&str> = metrics.into_iter().collect();
        println!(
            "- {} ({}): {}",
            row.name(),
            row.store,
            if metrics.is_empty() {
                "none".to_owned()
            } else {
                metrics.join(", ")
            }
        );
    }
}

/// The rows whose figures mean nothing, and why. A function that errs, answers 5xx or fails
/// stream records is broken, not slow, and so is a stream consumer that did other than its row
/// says (sent what it should have found sent, or the reverse).
pub fn broken(floor: &Row, rows: &[Row]) -> Vec<String> {
    let mut broken: Vec<String> = std::iter::once(floor)
        .chain(rows)
        .filter(|r| r.samples.iter().any(|s| is_failure(&s.first_status)))
        .map(|r| format!("{} ({}) failed its first call", r.name(), r.store))
        .collect();
    for row in rows {
        // Every API function counts its requests in EMF: a row without them lost its metrics.
        if row.batches.is_none()
            && row
                .samples
                .iter()
                .any(|s| !s.emf.contains(stockroom_telemetry::metrics::HTTP_REQUESTS))
        {
            broken.push(format!(
                "{} ({}) printed no {} metric",
                row.name(),
                row.store,
                stockroom_telemetry::metrics::HTTP_REQUESTS
            ));
        }
        if let Some((done, expected)) = row.handled()
            && done != expected
        {
            broken.push(format!(
                "{} ({}) logged {done:?} where its batches needed {expected:?}",
                row.name(),
                row.store
            ));
        }
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cold_start::Sample;

    fn row(phases: &[&str]) -> Row {
        Row {
            function: String::from("f"),
            batches: None,
            store: "dynamodb",
            samples: vec![Sample {
                init_phases: phases
                    .iter()
                    .map(|p| ((*p).to_owned(), Duration::ZERO))
                    .collect(),
                ..Sample::default()
            }],
        }
    }

    #[test]
    fn a_row_not_invoked_has_init_and_rss_against_the_floor_and_no_call_figures() {
        let floor = Row {
            samples: vec![Sample {
                init: Duration::from_millis(2),
                first: Some(Duration::from_millis(1)),
                warm: vec![Duration::from_millis(1)],
                peak_rss_kib: 2048,
                first_status: String::from("200"),
                ..Sample::default()
            }],
            ..row(&[])
        };
        let reference = Row {
            samples: vec![Sample {
                init: Duration::from_millis(6),
                peak_rss_kib: 4096,
                first_status: String::from(crate::cold_start::NOT_INVOKED),
                ..Sample::default()
            }],
            ..row(&[])
        };
        let (floor, reference) = (Figures::of(&floor), Figures::of(&reference));
        assert_eq!(reference.times(&floor), "6.0 | 6.0 | 3.00x | - | - | - | -");
        assert_eq!(reference.rss(&floor), "4.0 | 2.00x");
    }

    #[test]
    fn phase_columns_follow_the_order_phases_happen_in_whichever_row_comes_first() {
        let rows = [
            row(&["start", "runtime", "store", "to first next"]),
            row(&[
                "start",
                "runtime",
                "store config",
                "sdk config",
                "store",
                "to first next",
            ]),
        ];
        assert_eq!(
            phase_columns(&rows),
            [
                "start",
                "runtime",
                "store config",
                "sdk config",
                "store",
                "to first next"
            ]
        );
    }
}
