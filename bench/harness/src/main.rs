//! `./scripts/bench`: what users of a Lambda feel and pay for, measured on this machine.
//!
//! For every function (and the bare `lambda_runtime` floor built by the same profile) it starts
//! the binary under a loopback Lambda Runtime API, times exec -> first `next` (init), the first
//! invocation with the function's `events/` sample, and warm invocations; reads peak RSS; and,
//! against the DynamoDB adapter, counts DynamoDB operations per invocation from the SDK
//! interceptor's log lines. The stream consumers get a batch of fresh stream records per
//! invocation instead, once as a first delivery and once as a replay of records already
//! handled ([`streams`]), in a table of their own. Then binary sizes per architecture and
//! dev-server throughput: reads at 64 connections, `POST /orders` and
//! `POST /carts/{cart_id}/items` at 16.
//! With `--reference DIR`, the `get-product` of aws-samples/serverless-rust-demo is measured in
//! the same run, beside the floor and ours: its init and memory (it is not invoked) and its size
//! ([`reference`]).
//! Absolute times on a shared two-core machine are noisy; the ratios to the floor are the
//! figures to compare across runs.
//!
//! This file only runs the steps in order; each module does one job. The flags are in
//! [`args`]; what each call of a function is sent, and what its store is given for it, is in
//! [`workload`].

mod args;
mod build;
mod cold_start;
mod emf;
mod measure;
mod prepare;
mod reference;
mod report;
mod runtime_api;
mod sizes;
mod streams;
mod throughput;
mod trust_roots;
mod workload;

use anyhow::bail;

use crate::args::{Store, parse_args, template_env};
use crate::build::{FLOOR, build, target_dir, with_store};
use crate::measure::{Case, measure};
use crate::prepare::Run;
use crate::workload::Workload;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = parse_args()?;
    args.env = template_env()?;
    let bins = target_dir().join("bench-bin").join(&args.profile);
    if args.build {
        build(&args, &bins)?;
    }
    println!(
        "Stockroom benchmark: profile {}, {} cold starts per function, {} warm calls, {} cores, \
         span export {}",
        args.profile,
        args.iterations,
        args.warm,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
            .map_or_else(|_| "off".to_owned(), |e| format!("to {e}")),
    );

    let mut run = Run::default();
    let floor = Case {
        function: FLOOR.to_owned(),
        workload: Some(Workload::of(FLOOR)?),
        delivery: None,
        env: Vec::new(),
    };
    let floor = measure(&bins.join(FLOOR), &floor, None, &args, &mut run).await?;
    let reference = if args.reference.is_some() {
        let case = reference::case();
        Some(measure(&reference::binary(), &case, None, &args, &mut run).await?)
    } else {
        None
    };
    let functions: Vec<&str> = args.functions.iter().map(String::as_str).collect();
    let stored = with_store(&functions)?;
    let mut rows = Vec::new();
    for function in functions {
        let stores: Vec<Option<Store>> = if stored.contains(&function) {
            args.stores.iter().copied().map(Some).collect()
        } else {
            vec![None]
        };
        for case in Case::of(function)? {
            for store in &stores {
                // Each store measures the binary that runs against it: DynamoDB the Lambda
                // artifact, the embedded store the `embedded` build `cargo lambda watch` runs.
                let dir = bins.join(store.map_or("dynamodb", Store::name));
                let binary = dir.join(crate::args::binary_of(function)?);
                rows.push(measure(&binary, &case, *store, &args, &mut run).await?);
            }
        }
    }
    let api_rows = rows.iter().filter(|r| r.batches.is_none());
    report::print_table(reference.iter().chain(api_rows), &floor);
    if let Some(checkout) = &args.reference {
        reference::print_note(checkout);
    }
    report::print_batch_table(rows.iter().filter(|r| r.batches.is_some()), &floor);
    report::print_init_phases(&rows);
    report::print_answers(&rows);
    report::print_emf(&rows);
    trust_roots::trust_roots()?;
    let broken = report::broken(&floor, &rows);
    if !broken.is_empty() {
        bail!("broken rows: {}", broken.join("; "));
    }

    if args.sizes {
        sizes::sizes(&args.sizes_of, args.reference.as_deref())?;
    }
    if args.wrk {
        throughput::throughput().await?;
    }
    Ok(())
}
