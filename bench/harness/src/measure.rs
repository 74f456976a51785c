//! One row of the tables: a function (for a stream consumer, one way its batches reach it)
//! measured against one store over the run's cold starts.

use std::path::Path;

use anyhow::Context as _;

use crate::args::{Args, Store};
use crate::cold_start::{Sample, cold_start};
use crate::prepare::{Prepared, Run, prepare};
use crate::streams::{Delivery, Handled};
use crate::workload::{Setup, Workload};

/// What one row measures: a function, what its calls are sent, and for a stream consumer how
/// its batches reach it.
#[derive(Debug, Clone)]
pub struct Case {
    pub function: String,
    /// None for a binary that is not invoked, only timed to its first `next` (the reference,
    /// [`crate::reference`]).
    pub workload: Option<Workload>,
    pub delivery: Option<Delivery>,
    /// What the binary needs in its environment besides the run's and its store's.
    pub env: Vec<(String, String)>,
}

impl Case {
    /// The rows of `function`: one, or for a stream consumer a first delivery of fresh records
    /// and a replay of records already handled (what at-least-once delivery resends).
    pub fn of(function: &str) -> anyhow::Result<Vec<Self>> {
        let workload = Workload::of(function)?;
        let deliveries = if workload.stream().is_some() {
            vec![Some(Delivery::First), Some(Delivery::Replay)]
        } else {
            vec![None]
        };
        Ok(deliveries
            .into_iter()
            .map(|delivery| Self {
                function: function.to_owned(),
                workload: Some(workload.clone()),
                delivery,
                // What Lambda hands the function's binary from its `Handler`.
                env: vec![(String::from("_HANDLER"), function.to_owned())],
            })
            .collect())
    }
}

pub struct Row {
    pub function: String,
    /// For a stream consumer: how its batches reached it, and the records in each.
    pub batches: Option<(Delivery, usize)>,
    pub store: &'static str,
    pub samples: Vec<Sample>,
}

impl Row {
    /// The function, and for a stream consumer how its batches reached it.
    pub fn name(&self) -> String {
        match self.batches {
            Some((delivery, _)) => format!("{} ({})", self.function, delivery.name()),
            None => self.function.clone(),
        }
    }

    /// What a stream consumer's row logged it did with its batches, over every call, and what
    /// it had to do: every record notified about once (a first delivery) or found sent (a
    /// replay).
    pub fn handled(&self) -> Option<(Handled, Handled)> {
        let (delivery, size) = self.batches?;
        let mut handled = Handled::default();
        for sample in &self.samples {
            handled.add(sample.handled);
        }
        let calls = self.samples.iter().map(|s| 1 + s.warm.len()).sum();
        Some((handled, delivery.expected(calls, size)))
    }
}

/// Measures `case` against `store` (none for the floor, the reference and a function without
/// one): `args.iterations` cold starts, the first of them followed by `args.warm` warm calls,
/// or none when the case has no workload.
pub async fn measure(
    binary: &Path,
    case: &Case,
    store: Option<Store>,
    args: &Args,
    run: &mut Run,
) -> anyhow::Result<Row> {
    let function = case.function.as_str();
    let mut samples = Vec::new();
    for i in 0..args.iterations {
        // Warm calls once per function: they measure the steady state, not the start.
        let warm = if i == 0 { args.warm } else { 0 };
        let Prepared {
            env: store_env,
            dir,
            setup,
        } = match store {
            Some(store) => prepare(store, run, case, 1 + warm).await?,
            None => Prepared {
                env: Vec::new(),
                dir: None,
                setup: Setup::default(),
            },
        };
        let mut env = args.env.clone();
        env.extend(store_env);
        env.extend(case.env.iter().cloned());
        let events = match &case.workload {
            Some(workload) => workload.events(1 + warm, &setup)?,
            None => Vec::new(),
        };
        let sample = cold_start(binary, &env, &events).await;
        if let Some(dir) = dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        samples.push(
            sample
                .with_context(|| format!("{function} ({})", store.map_or("none", Store::name)))?,
        );
    }
    let stream = case.workload.as_ref().and_then(Workload::stream);
    let batches = match (case.delivery, stream, &run.feed) {
        (Some(delivery), Some(consumer), Some(feed)) => {
            Some((delivery, feed.batch_size(consumer)?))
        }
        _ => None,
    };
    Ok(Row {
        function: function.to_owned(),
        batches,
        store: store.map_or("none", Store::name),
        samples,
    })
}
