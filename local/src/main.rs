//! `cargo dev`: the zero-setup dev server. See the library docs and README.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use stockroom_local::server::{App, serve};
use stockroom_store::StoreConfig;
use stockroom_store::config::EMBEDDED_FILE;

const USAGE: &str = "usage: cargo dev [--port N] [--host ADDR] [--data-dir DIR] [--template FILE]

  --port N         port to listen on (default 3000)
  --host ADDR      address to bind (default 127.0.0.1)
  --data-dir DIR   where the embedded store lives (default <workspace>/.stockroom)
  --template FILE  the SAM template whose routes to serve (default <workspace>/template.yaml)";

/// The workspace root, where template.yaml and openapi.yaml live.
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[derive(Debug)]
struct Args {
    host: String,
    port: u16,
    data_dir: PathBuf,
    template: PathBuf,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        host: String::from("127.0.0.1"),
        port: 3000,
        data_dir: workspace().join(".stockroom"),
        template: workspace().join("template.yaml"),
    };
    let mut raw = std::env::args().skip(1);
    while let Some(arg) = raw.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = match inline.or_else(|| raw.next()) {
            Some(value) => value,
            None => bail!("{flag} needs a value\n\n{USAGE}"),
        };
        match flag.as_str() {
            "--port" => {
                args.port = value
                    .parse()
                    .with_context(|| format!("--port {value:?} is not a port number"))?
            }
            "--host" => args.host = value,
            "--data-dir" => args.data_dir = PathBuf::from(value),
            "--template" => args.template = PathBuf::from(value),
            other => bail!("unknown option {other:?}\n\n{USAGE}"),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let metrics = stockroom_telemetry::init_dev();
    let args = parse_args()?;

    let routes = stockroom_local::template::load(&args.template)?;
    let openapi_path = workspace().join("openapi.yaml");
    let openapi = std::fs::read_to_string(&openapi_path)
        .with_context(|| format!("failed to read {}", openapi_path.display()))?;

    let first_start = !args.data_dir.join(EMBEDDED_FILE).exists();
    let config = StoreConfig::Embedded {
        data_dir: args.data_dir.clone(),
        readers: stockroom_store::sqlite::concurrent_readers(),
    };
    let store = config.open().await?;
    if first_start {
        let seeded = stockroom_local::seed::seed(&store).await?;
        println!(
            "New embedded store: seeded {} sample products, {} stock levels, {} order and {} cart.",
            seeded.products, seeded.stock_levels, seeded.orders, seeded.carts
        );
    }

    let readers = stockroom_local::feed::start(&args.template, &store)?;
    let mut app = App::new(routes, store, openapi)?;
    app.metrics = metrics;
    let app = Arc::new(app);
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("failed to listen on {}:{}", args.host, args.port))?;
    let addr = listener.local_addr()?;

    println!(
        "Stockroom dev server on http://{addr}  (store: {})",
        args.data_dir.join(EMBEDDED_FILE).display()
    );
    println!("Routes from {}:", args.template.display());
    for (route, _) in &app.routes {
        println!(
            "  {:<7} {:<28} -> {} ({})",
            route.method, route.path, route.binary, route.function
        );
    }
    println!("  GET     /docs, /openapi.yaml, /metrics");
    if stockroom_telemetry::otel::enabled() {
        println!(
            "Traces go to {} (OTLP/HTTP).",
            std::env::var(stockroom_telemetry::otel::ENDPOINT_VAR).unwrap_or_default()
        );
    }
    println!("Stream consumers over the change feed (notifications are logged):");
    for mapping in &readers.mappings {
        println!(
            "  {:<36} -> {} ({})",
            format!("{} stream", mapping.table.name),
            mapping.source.binary,
            mapping.source.function
        );
    }
    println!(
        "Ready in {} ms. Ctrl-C stops.",
        started.elapsed().as_millis()
    );

    let served = serve(listener, app, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    stockroom_telemetry::otel::shutdown();
    served
}
