//! `cargo dev`: the zero-setup dev server. See the library docs and README.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use stockroom_local::auth::{AUDIENCE, DEFAULT_TTL_SECS, ISSUER, SigningKeyPair};
use stockroom_local::server::{App, serve};
use stockroom_store::StoreConfig;
use stockroom_store::config::EMBEDDED_FILE;

const USAGE: &str = "usage: cargo dev [--port N] [--host ADDR] [--data-dir DIR] [--template FILE]
       cargo dev token --sub ID [--admin] [--expires-in SECS] [--data-dir DIR] [--event FILE]

  --port N         port to listen on (default 3000)
  --host ADDR      address to bind (default 127.0.0.1)
  --data-dir DIR   where the embedded store and the token signing key live
                   (default <workspace>/.stockroom)
  --template FILE  the SAM template whose routes to serve (default <workspace>/template.yaml)

token: prints a bearer token the dev server accepts, for customer ID (the token's sub), in
the admin group with --admin, lasting SECS seconds (default 3600). With --event FILE it
prints that API Gateway event instead, carrying the token and its verified claims where
API Gateway puts them, for `cargo lambda invoke --data-file`.";

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
    /// `cargo dev token ...`: print a token instead of serving.
    token: Option<TokenArgs>,
}

#[derive(Debug, Default)]
struct TokenArgs {
    sub: Option<String>,
    admin: bool,
    expires_in: Option<i64>,
    event: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        host: String::from("127.0.0.1"),
        port: 3000,
        data_dir: workspace().join(".stockroom"),
        template: workspace().join("template.yaml"),
        token: None,
    };
    let mut raw = std::env::args().skip(1).peekable();
    if raw.peek().map(String::as_str) == Some("token") {
        raw.next();
        args.token = Some(TokenArgs::default());
    }
    while let Some(arg) = raw.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if let (Some(token), "--admin") = (args.token.as_mut(), flag.as_str()) {
            token.admin = true;
            continue;
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
            "--sub" | "--expires-in" | "--event" if args.token.is_some() => {
                let token = args.token.as_mut().context("checked above")?;
                match flag.as_str() {
                    "--sub" => token.sub = Some(value),
                    "--event" => token.event = Some(PathBuf::from(value)),
                    _ => {
                        token.expires_in = Some(value.parse().with_context(|| {
                            format!("--expires-in {value:?} is not a number of seconds")
                        })?)
                    }
                }
            }
            other => bail!("unknown option {other:?}\n\n{USAGE}"),
        }
    }
    Ok(args)
}

/// `cargo dev token`: a token of the data directory's key (made if new), or an event carrying
/// one.
fn token(data_dir: &std::path::Path, args: TokenArgs) -> anyhow::Result<()> {
    let sub = args
        .sub
        .with_context(|| format!("cargo dev token needs --sub ID\n\n{USAGE}"))?;
    if stockroom_domain::orders::CustomerId::parse(&sub).is_err() {
        bail!(
            "--sub {sub:?} is not an id: {}",
            stockroom_domain::id::ID_RULE
        );
    }
    let keys = SigningKeyPair::load_or_create(data_dir)?;
    let token = keys.token(
        &sub,
        args.admin,
        chrono::Utc::now().timestamp(),
        args.expires_in.unwrap_or(DEFAULT_TTL_SECS),
    );
    match args.event {
        None => println!("{token}"),
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("failed to read {}", path.display()))?;
            let event: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            let event = stockroom_local::event::with_token(event, &token, &keys)?;
            println!("{}", serde_json::to_string_pretty(&event)?);
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let mut args = parse_args()?;
    if let Some(token_args) = args.token.take() {
        return token(&args.data_dir, token_args);
    }
    let metrics = stockroom_telemetry::init_dev();

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

    let keys = SigningKeyPair::load_or_create(&args.data_dir)?;
    let readers = stockroom_local::feed::start(&args.template, &store)?;
    let mut app = App::new(routes, store, openapi, &keys)?;
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
            "  {:<7} {:<28} {} -> {} ({})",
            route.method,
            route.path,
            if route.authorizer.is_some() { "*" } else { " " },
            route.handler,
            route.function
        );
    }
    println!("  GET     /docs, /openapi.yaml, /metrics, /.well-known/jwks.json");
    println!(
        "Routes marked * need a token from `cargo dev token --sub alice [--admin]` \
         (issuer {ISSUER}, audience {AUDIENCE}, key {}).",
        stockroom_local::auth::key_path(&args.data_dir).display()
    );
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
            mapping.source.handler,
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
