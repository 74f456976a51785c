//! The heat model by hand, until `cargo load --heat` calls it after a scenario:
//!
//! ```text
//! cargo run -p stockroom-load --example heat -- position DATA_DIR
//! cargo run -p stockroom-load --example heat -- measure DATA_DIR AFTER [TEMPLATE]
//! cargo run -p stockroom-load --example heat -- spread DATA_DIR PRODUCTS ORDERS [CUSTOMERS]
//! ```
//!
//! `position` prints the change feed's position of a dev server's data directory (take it
//! before a run); `measure` prints the Markdown report of every change after it (after the feed
//! has been quiet for a second). `spread` needs no server: in a new data directory it opens the
//! embedded store, starts the dev server's stream consumers over it in-process (as `cargo dev`
//! does), puts PRODUCTS products in the catalog with stock, then places ORDERS single-unit
//! orders through the store's ports (not over HTTP), order `i` for product `i % PRODUCTS` by
//! customer `i % CUSTOMERS` (default: one customer per order), and reports their heat.

#[path = "../tests/support/driver.rs"]
mod driver;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use stockroom_load::heat;
use stockroom_store::StoreConfig;

const USAGE: &str = "usage: heat position DATA_DIR | heat measure DATA_DIR AFTER [TEMPLATE] | \
                     heat spread DATA_DIR PRODUCTS ORDERS [CUSTOMERS]";

fn template() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(
        || PathBuf::from("template.yaml"),
        |w| w.join("template.yaml"),
    )
}

fn number(args: &[String], at: usize, what: &str) -> anyhow::Result<usize> {
    args.get(at)
        .with_context(|| format!("{what} is missing\n{USAGE}"))?
        .parse()
        .with_context(|| format!("{what} is not a number"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data_dir = PathBuf::from(args.get(1).context(USAGE)?);
    match args[0].as_str() {
        "position" => println!("{}", heat::feed_position(&data_dir).await?),
        "measure" => {
            let after = number(&args, 2, "AFTER")?;
            let template = args.get(3).map_or_else(template, PathBuf::from);
            let after = i64::try_from(after)?;
            println!("{}", heat::measure(&data_dir, after, &template).await?);
        }
        "spread" => {
            let products = number(&args, 2, "PRODUCTS")?;
            let orders = number(&args, 3, "ORDERS")?;
            let customers = args
                .get(4)
                .map_or(Ok(orders), |_| number(&args, 4, "CUSTOMERS"))?;
            anyhow::ensure!(
                !data_dir
                    .join(stockroom_store::config::EMBEDDED_FILE)
                    .exists(),
                "{} already has a store: spread makes its own",
                data_dir.display()
            );
            let store = StoreConfig::Embedded {
                data_dir: data_dir.clone(),
                readers: 2,
            }
            .open()
            .await?;
            let _consumers = stockroom_local::feed::start(&template(), &store)?;
            let started = Instant::now();
            let per_product = i64::try_from(orders.div_ceil(products.max(1)) + 10)?;
            let ids = driver::stocked_products(&store, "p", products, per_product).await?;
            eprintln!("{products} products stocked in {:.1?}", started.elapsed());
            let before = heat::feed_position(&data_dir).await?;
            let started = Instant::now();
            driver::place_orders(&store, "c", &ids, orders, customers).await?;
            eprintln!("{orders} orders placed in {:.1?}", started.elapsed());
            let report = heat::measure(&data_dir, before, &template()).await?;
            println!(
                "Orders placed through the store's ports with the stream consumers running: \
                 {orders} single-unit orders over {products} products, {customers} customers.\n"
            );
            println!("{report}");
        }
        other => anyhow::bail!("unknown command {other:?}\n{USAGE}"),
    }
    Ok(())
}
