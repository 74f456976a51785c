//! Where a function's cold start spends its init, phase by phase: timed from `main` and logged
//! once, as one `init phases` line, just before the runtime asks for its first event. In Lambda
//! that line is in CloudWatch for every cold start; the bench reads it for its breakdown.

use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The log target of the `init phases` line.
pub const TARGET: &str = "stockroom::init";
/// The message of the `init phases` line.
pub const MESSAGE: &str = "init phases";

/// The phases of one init, each the time since the previous one ended (or since `main`).
#[derive(Debug)]
struct InitPhases {
    /// When `main` started, in microseconds since the Unix epoch: what the process's start
    /// (exec, loading, page-in) is measured up to, by whoever knows when it was spawned.
    main_at_unix_us: u64,
    last: Instant,
    phases: Vec<(&'static str, u64)>,
}

impl InitPhases {
    /// Starts timing: the first call in `main`.
    fn start() -> Self {
        let main_at_unix_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        Self {
            main_at_unix_us,
            last: Instant::now(),
            phases: Vec::new(),
        }
    }

    /// Ends the phase `name` now.
    fn phase(&mut self, name: &'static str) {
        let now = Instant::now();
        let took = u64::try_from(now.duration_since(self.last).as_micros()).unwrap_or(u64::MAX);
        self.phases.push((name, took));
        self.last = now;
    }

    /// The phases as `name=microseconds` pairs, comma-separated, in order.
    fn render(&self) -> String {
        self.phases
            .iter()
            .map(|(name, us)| format!("{name}={us}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Logs the phases: call it once telemetry is installed, so the line reaches the log.
    fn log(&self) {
        tracing::info!(
            target: TARGET,
            main_at_unix_us = self.main_at_unix_us,
            phases = %self.render(),
            "{MESSAGE}"
        );
    }
}

/// The init being timed: from [`begin`] to [`finish`], any code on the cold-start path may end
/// a phase with [`phase`] (the DynamoDB client marks its configuration and its construction).
static CURRENT: Mutex<Option<InitPhases>> = Mutex::new(None);

/// Starts timing this process's init: the first call in `main`.
pub fn begin() {
    if let Ok(mut current) = CURRENT.lock() {
        *current = Some(InitPhases::start());
    }
}

/// Ends the phase `name` of the init being timed; nothing outside one (after [`finish`], in
/// the dev server, in tests).
pub fn phase(name: &'static str) {
    if let Ok(mut current) = CURRENT.lock()
        && let Some(init) = current.as_mut()
    {
        init.phase(name);
    }
}

/// Ends the init being timed: its last phase is `name`, and the `init phases` line is logged.
pub fn finish(name: &'static str) {
    let init = CURRENT.lock().ok().and_then(|mut current| current.take());
    if let Some(mut init) = init {
        init.phase(name);
        init.log();
    }
}

/// The phases of a rendered `phases` field (`name=microseconds`, comma-separated), in order; pairs that do not parse are left out.
pub fn parse(rendered: &str) -> Vec<(String, u64)> {
    rendered
        .split(',')
        .filter_map(|pair| {
            let (name, us) = pair.split_once('=')?;
            Some((name.to_owned(), us.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_render_in_order_and_parse_back() {
        let mut init = InitPhases::start();
        init.phase("runtime");
        init.phase("telemetry");
        let parsed = parse(&init.render());
        assert_eq!(
            parsed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["runtime", "telemetry"]
        );
        assert!(init.main_at_unix_us > 1_700_000_000_000_000);
        assert_eq!(
            parse("store=12,bad,notifier=x"),
            [(String::from("store"), 12)]
        );
    }

    #[test]
    fn a_phase_outside_an_init_being_timed_is_ignored() {
        phase("nothing");
        finish("nothing");
        begin();
        phase("runtime");
        let rendered = CURRENT
            .lock()
            .unwrap()
            .as_ref()
            .map(InitPhases::render)
            .unwrap();
        assert!(rendered.starts_with("runtime="), "{rendered}");
        finish("store");
        assert!(CURRENT.lock().unwrap().is_none());
    }
}
