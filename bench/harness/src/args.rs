//! The harness's flags, and what it takes from template.yaml before anything runs: the functions
//! to measure and the environment every function gets.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use stockroom_store::testing::workspace;

/// Every function template.yaml deploys, by its handler name, the HTTP ones in its order, then
/// the stream consumers: what the benchmark measures unless `--functions` says otherwise.
pub fn template_functions() -> anyhow::Result<Vec<String>> {
    Ok(template_binaries()?
        .iter()
        .map(|(handler, _)| handler.clone())
        .collect())
}

/// Every function's (handler, binary), in [`template_functions`]' order: template.yaml read
/// once per run, however often a function's binary is looked up.
pub fn template_binaries() -> anyhow::Result<&'static [(String, String)]> {
    static BINARIES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    if let Some(binaries) = BINARIES.get() {
        return Ok(binaries);
    }
    let template = workspace().join("template.yaml");
    let routes = stockroom_local::template::load(&template)?;
    let sources = stockroom_local::template::load_stream_sources(&template)?;
    let mut functions: Vec<(String, String)> = Vec::new();
    let all = routes
        .into_iter()
        .map(|r| (r.handler, r.binary))
        .chain(sources.into_iter().map(|s| (s.handler, s.binary)));
    for function in all {
        if !functions.contains(&function) {
            functions.push(function);
        }
    }
    Ok(BINARIES.get_or_init(|| functions))
}

/// The binary the function `handler` runs (its template.yaml `Binary`).
pub fn binary_of(handler: &str) -> anyhow::Result<String> {
    template_binaries()?
        .iter()
        .find(|(h, _)| h == handler)
        .map(|(_, binary)| binary.clone())
        .with_context(|| format!("template.yaml has no function with the Handler {handler}"))
}

#[derive(Debug, Clone)]
pub struct Args {
    pub profile: String,
    pub iterations: usize,
    pub warm: usize,
    pub functions: Vec<String>,
    pub stores: Vec<Store>,
    pub build: bool,
    pub sizes: bool,
    pub sizes_of: Vec<String>,
    pub wrk: bool,
    /// A checkout of aws-samples/serverless-rust-demo, whose `get-product` is measured beside
    /// ours ([`crate::reference`]).
    pub reference: Option<PathBuf>,
    /// What template.yaml's `Globals` set for every function (see [`template_env`]).
    pub env: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Embedded,
    DynamoDb,
}

impl Store {
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::DynamoDb => "dynamodb",
        }
    }
}

const USAGE: &str = "usage: stockroom-bench [--profile release|dev] [--iterations N] [--warm N]
       [--functions a,b] [--stores embedded,dynamodb] [--sizes-of a,b]
       [--reference DIR] [--no-build] [--no-sizes] [--no-wrk]
  --reference DIR  also measure the get-product function of a checkout of
                   aws-samples/serverless-rust-demo (init and RSS, not invoked; and its size),
                   built there by `cargo lambda build --release`; get one with
                   git clone https://github.com/aws-samples/serverless-rust-demo DIR";

pub fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        profile: String::from("release"),
        iterations: 20,
        warm: 100,
        functions: template_functions()?,
        stores: vec![Store::Embedded, Store::DynamoDb],
        build: true,
        sizes: true,
        // Binaries, not functions: every function of a service runs its service's binary. Every
        // SDK-using binary links the same crates and lands within a few percent of the others
        // (`scripts/sam-build` prints all seven as sam build makes them), so one of them and
        // health stand for all: `--sizes-of orders,carts` measures others.
        sizes_of: vec![String::from("catalog"), String::from("health")],
        wrk: true,
        reference: None,
        env: Vec::new(),
    };
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        let mut value = || {
            raw.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--profile" => args.profile = value()?,
            "--iterations" => args.iterations = value()?.parse()?,
            "--warm" => args.warm = value()?.parse()?,
            "--functions" => args.functions = value()?.split(',').map(str::to_owned).collect(),
            "--stores" => {
                args.stores = value()?
                    .split(',')
                    .map(|s| match s {
                        "embedded" => Ok(Store::Embedded),
                        "dynamodb" => Ok(Store::DynamoDb),
                        other => bail!("unknown store {other:?}"),
                    })
                    .collect::<anyhow::Result<_>>()?;
            }
            "--no-build" => args.build = false,
            "--no-sizes" => args.sizes = false,
            "--sizes-of" => args.sizes_of = value()?.split(',').map(str::to_owned).collect(),
            "--no-wrk" => args.wrk = false,
            "--reference" => args.reference = Some(checkout(&value()?)?),
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    if args.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    Ok(args)
}

/// `--reference`'s checkout, as an absolute path without `..` (the report prints it); checked
/// now rather than after the run's builds. A relative path is from the current directory,
/// which for `./scripts/bench` is the repository's root.
fn checkout(dir: &str) -> anyhow::Result<PathBuf> {
    let dir = std::fs::canonicalize(dir)
        .with_context(|| format!("--reference {dir}: no such directory\n{USAGE}"))?;
    if !dir.join("Cargo.toml").is_file() {
        bail!(
            "--reference {}: no Cargo.toml there; it takes a checkout of \
             aws-samples/serverless-rust-demo\n{USAGE}",
            dir.display()
        );
    }
    Ok(dir)
}

/// The environment template.yaml gives every function, but `RUST_LOG`, which the harness sets
/// itself (it counts DynamoDB calls from debug lines).
pub fn template_env() -> anyhow::Result<Vec<(String, String)>> {
    let mut env = stockroom_store::testing::global_function_env()?;
    env.retain(|(k, _)| k != "RUST_LOG");
    Ok(env)
}
