//! One cold start: a function binary started under a loopback Lambda Runtime API in Lambda's
//! environment, its first and warm calls timed, its answers labelled, its peak RSS, DynamoDB
//! calls, stream batches handled and EMF metrics read.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;
use tokio::io::AsyncBufReadExt as _;

use crate::emf;
use crate::runtime_api::{Answer, RuntimeApi};
use crate::streams::Handled;

/// One cold start, its first call, and the warm calls after it.
#[derive(Debug, Default)]
pub struct Sample {
    pub init: Duration,
    /// None when the function was not invoked ([`NOT_INVOKED`]).
    pub first: Option<Duration>,
    pub warm: Vec<Duration>,
    /// Up to the end of the last call, or of init when the function was not invoked.
    pub peak_rss_kib: u64,
    pub first_status: String,
    /// How the warm calls answered (see [`answer_label`]), and how many times each.
    pub warm_answers: BTreeMap<String, usize>,
    pub calls_per_invocation: Option<f64>,
    /// What a stream consumer logged it did with its batches, over all the calls.
    pub handled: Handled,
    /// The metrics of the EMF documents the function printed (all of which were valid).
    pub emf: std::collections::BTreeSet<String>,
    /// Where init went, in order: `start` (spawn to `main`), each phase the function logged
    /// in its `init phases` line, and `to first next` (the rest, until it asked for an event).
    /// Empty for a function that logs no such line (the floor).
    pub init_phases: Vec<(String, Duration)>,
}

/// Where `init` went, from the function's `init phases` log line (see
/// `stockroom_telemetry::init`) and the time it was spawned at.
fn init_phases(lines: &[String], spawned_unix_us: u64, init: Duration) -> Vec<(String, Duration)> {
    let Some(fields) = lines.iter().find_map(|line| {
        let value: Value = serde_json::from_str(line).ok()?;
        let fields = value.get("fields")?;
        (fields["message"] == stockroom_telemetry::init::MESSAGE).then(|| fields.clone())
    }) else {
        return Vec::new();
    };
    let main_at = fields["main_at_unix_us"]
        .as_u64()
        .unwrap_or(spawned_unix_us);
    let mut phases = vec![(
        String::from("start"),
        Duration::from_micros(main_at.saturating_sub(spawned_unix_us)),
    )];
    phases.extend(
        stockroom_telemetry::init::parse(fields["phases"].as_str().unwrap_or(""))
            .into_iter()
            .map(|(name, us)| (name, Duration::from_micros(us))),
    );
    let accounted: Duration = phases.iter().map(|(_, d)| *d).sum();
    phases.push((
        String::from("to first next"),
        init.saturating_sub(accounted),
    ));
    phases
}

/// The response header `place_order` sets on an answer replayed for a reused idempotency key.
const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// The label of a stream consumer's answer that reported records it could not handle.
const BATCH_ITEM_FAILURES: &str = "batch item failures";

/// An answer as the tables show it: the HTTP status, `replayed` added when `place_order`
/// answered from an earlier order with the same key (it wrote nothing), `ok` for a function
/// that is not an HTTP one (a stream consumer reporting no `batchItemFailures`),
/// [`BATCH_ITEM_FAILURES`] when one reported some, `error` for an invocation error.
fn answer_label(answer: &Answer) -> String {
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let batch_failures = body["batchItemFailures"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    match (answer.ok, body["statusCode"].as_u64()) {
        (true, Some(code)) if body["headers"][IDEMPOTENT_REPLAYED] == "true" => {
            format!("{code} replayed")
        }
        (true, Some(code)) => code.to_string(),
        (true, None) if batch_failures => String::from(BATCH_ITEM_FAILURES),
        (true, None) => String::from("ok"),
        (false, _) => String::from("error"),
    }
}

/// The status of a cold start given no events: timed to its first `next` and not invoked.
pub const NOT_INVOKED: &str = "not invoked";

/// Whether an answer labelled `label` means the function is broken rather than slow.
pub fn is_failure(label: &str) -> bool {
    label == "error" || label == BATCH_ITEM_FAILURES || label.starts_with('5')
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// What a function's environment takes from the harness's own: what Lambda gives a function
/// through its role and region, plus the local DynamoDB endpoint.
const PASSED_THROUGH: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL_DYNAMODB",
    // Span export on (to the caller's collector) or off, as the collector layer sets it.
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// Starts `binary` under a fresh Runtime API with `env`, and measures one cold start: the first
/// of `events` is the first call, the rest are warm calls. With no events the function is not
/// invoked: its init, and its peak RSS up to it, only, with the status [`NOT_INVOKED`] (for a
/// binary whose calls could not do their work here).
pub async fn cold_start(
    binary: &Path,
    env: &[(String, String)],
    events: &[Value],
) -> anyhow::Result<Sample> {
    let api = RuntimeApi::start().await?;
    let name = binary
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("function");
    let mut command = tokio::process::Command::new(binary);
    // Lambda's environment, not this shell's: a developer's shell often sets variables (such as
    // SSL_CERT_DIR) that change what a function does at init. Only the DynamoDB endpoint,
    // region and credentials come from the caller, as Lambda provides them too.
    command.env_clear();
    for (key, value) in std::env::vars().filter(|(k, _)| PASSED_THROUGH.contains(&k.as_str())) {
        command.env(key, value);
    }
    command
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("_HANDLER", "bootstrap")
        .env("TZ", ":UTC")
        .env("LANG", "en_US.UTF-8")
        .env(
            "RUST_LOG",
            format!("info,{}=debug", stockroom_store::dynamodb::CALLS_TARGET),
        )
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let spawned_unix_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    let started = std::time::Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("failed to start {}", binary.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let lines = tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let mut all = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push(line);
        }
        all
    });

    let ready = api.ready(Duration::from_secs(20)).await?;
    let mut sample = Sample {
        init: ready.saturating_duration_since(started),
        ..Sample::default()
    };
    let mut failed = false;
    if let Some((event, warm_events)) = events.split_first() {
        let (first, answer) = api.invoke(event.clone()).await?;
        sample.first = Some(first);
        sample.first_status = answer_label(&answer);
        failed = is_failure(&sample.first_status);
        for event in warm_events {
            let (took, answer) = api.invoke(event.clone()).await?;
            sample.warm.push(took);
            *sample
                .warm_answers
                .entry(answer_label(&answer))
                .or_default() += 1;
        }
        api.idle(1 + warm_events.len(), Duration::from_secs(10))
            .await?;
    } else {
        sample.first_status = String::from(NOT_INVOKED);
    }
    sample.peak_rss_kib = child.id().map_or(0, peak_rss_kib);
    child.kill().await.ok();
    let lines = lines.await.unwrap_or_default();
    if failed {
        // What the function logged says why; the answer alone is an opaque 500.
        eprintln!(
            "{name} answered its sample event with {}:",
            sample.first_status
        );
        for line in lines
            .iter()
            .filter(|l| l.contains("ERROR") || l.contains("error"))
        {
            eprintln!("  {line}");
        }
    }
    let calls = lines
        .iter()
        .filter(|l| l.contains(stockroom_store::dynamodb::CALLS_TARGET))
        .count();
    #[allow(clippy::cast_precision_loss)]
    let per = calls as f64 / events.len() as f64;
    sample.calls_per_invocation = (!events.is_empty()).then_some(per);
    sample.handled = Handled::from_log(&lines);
    sample.init_phases = init_phases(&lines, spawned_unix_us, sample.init);
    for line in lines.iter().filter(|l| emf::is_document(l)) {
        let metrics = emf::check(line).map_err(|why| {
            anyhow::anyhow!(
                "{name} printed an EMF document CloudWatch would not read ({why}): {line}"
            )
        })?;
        sample
            .emf
            .extend(metrics.into_iter().map(|(_, metric)| metric));
    }
    Ok(sample)
}
