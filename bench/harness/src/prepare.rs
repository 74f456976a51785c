//! The store each cold start runs against: a fresh embedded one or the run's DynamoDB tables,
//! seeded with the dev server's sample data and enough stock, then given what the function's
//! workload needs ([`crate::workload`]); and the orders and carts the harness makes for it.

use std::path::PathBuf;

use stockroom_domain::carts::CartId;
use stockroom_domain::orders::OrderId;
use stockroom_store::sqlite::SqliteStore;
use stockroom_store::tables::Table;

use crate::args::Store;
use crate::measure::Case;
use crate::streams;
use crate::workload::Setup;

/// A store prepared for one cold start: the function's environment, the embedded store's
/// directory to remove afterwards, and what the function's workload made for its calls.
pub struct Prepared {
    pub env: Vec<(String, String)>,
    pub dir: Option<PathBuf>,
    pub setup: Setup,
}

/// What the run keeps from row to row: the DynamoDB tables, created once (they live for the
/// whole run), and the scratch store the stream consumers' batches are made in.
#[derive(Default)]
pub struct Run {
    pub tables: Option<Vec<(String, Table, String)>>,
    pub feed: Option<streams::Feed>,
}

/// Gives `case`'s function a store with the sample products, stock and order in it, enough
/// stock that every warm invocation of a stock change succeeds like the first, and what its
/// workload needs for `invocations` calls ([`crate::workload::Workload::prepare`]).
pub async fn prepare(
    store: Store,
    run: &mut Run,
    case: &Case,
    invocations: usize,
) -> anyhow::Result<Prepared> {
    match store {
        Store::Embedded => {
            let dir = std::env::temp_dir().join(format!("stockroom-bench-{}", ulid::Ulid::new()));
            std::fs::create_dir_all(&dir)?;
            let seeded = stockroom_store::Store::embedded(SqliteStore::open(
                &dir.join(stockroom_store::config::EMBEDDED_FILE),
            )?);
            seed(&seeded).await?;
            let setup = workload_setup(case, &seeded, invocations, &mut run.feed).await?;
            Ok(Prepared {
                env: vec![(
                    String::from("STOCKROOM_DATA_DIR"),
                    dir.display().to_string(),
                )],
                dir: Some(dir),
                setup,
            })
        }
        Store::DynamoDb => {
            // Every table template.yaml's Globals give the functions, created once per run
            // from its key schema, under the variable the template sets.
            if run.tables.is_none() {
                let mut created = Vec::new();
                for (var, table) in stockroom_store::testing::global_table_vars()? {
                    let name = stockroom_store::testing::create_table(table).await;
                    created.push((var, table, name));
                }
                run.tables = Some(created);
            }
            let tables = run.tables.clone().unwrap_or_default();
            let client = stockroom_store::dynamodb::client_from_env()?;
            let store = stockroom_store::Store::dynamodb(
                client,
                tables.iter().map(|(_, table, name)| (*table, name.clone())),
            );
            seed(&store).await?;
            let setup = workload_setup(case, &store, invocations, &mut run.feed).await?;
            Ok(Prepared {
                env: tables
                    .into_iter()
                    .map(|(var, _, name)| (var, name))
                    .collect(),
                dir: None,
                setup,
            })
        }
    }
}

/// What `case`'s workload makes in `store` for `invocations` calls; nothing for a case that is
/// not invoked.
async fn workload_setup(
    case: &Case,
    store: &stockroom_store::Store,
    invocations: usize,
    feed: &mut Option<streams::Feed>,
) -> anyhow::Result<Setup> {
    match &case.workload {
        Some(workload) => {
            workload
                .prepare(store, case.delivery, invocations, feed)
                .await
        }
        None => Ok(Setup::default()),
    }
}

/// The dev server's sample data, plus a million units of the products the stock and order
/// samples in events/ change (half of `sku-kettle`'s reserved, for release; `place_order`
/// reserves `sku-mug` and `sku-notebook`), so a hundred warm invocations never run out.
pub async fn seed(store: &stockroom_store::Store) -> anyhow::Result<()> {
    use stockroom_domain::inventory::{Available, Quantity, StockMove};
    stockroom_local::seed::seed(store).await?;
    let inventory = store.inventory()?;
    let now = stockroom_domain::timestamp::now();
    for sku in ["sku-mug", "sku-kettle", "sku-notebook"] {
        let id = stockroom_domain::ProductId::parse(sku)?;
        inventory
            .set_stock(&id, Available::new(1_000_000)?, None, now)
            .await?;
    }
    inventory
        .move_stock(
            &stockroom_domain::ProductId::parse("sku-kettle")?,
            StockMove::Reserve,
            Quantity::new(500_000)?,
            now,
        )
        .await?;
    Ok(())
}

/// The lines of events/place_order.json and of the sample cart: the order the harness places
/// where a function needs one of its own, and the lines of the carts it fills.
const ORDER_LINES: &[(&str, i64)] = &[("sku-mug", 2), ("sku-notebook", 1)];
/// The customer of the orders the `on_order_change` batches are made of, in the stream's own
/// scratch store ([`streams::Feed`]).
pub const BENCH_CUSTOMER: &str = "cust-bench";

/// Places one order of [`ORDER_LINES`] for `customer`, reserving its stock.
pub async fn place(store: &stockroom_store::Store, customer: &str) -> anyhow::Result<OrderId> {
    let id = OrderId::at(stockroom_domain::timestamp::now());
    let order = stockroom_local::seed::place_order(store, id, customer, ORDER_LINES).await?;
    Ok(order.id)
}

/// Fills a new cart (`cart-bench-<ULID>`, new on every call, since DynamoDB's tables live for
/// the whole run) with [`ORDER_LINES`], the sample cart's lines, through the store.
pub async fn fill_cart(store: &stockroom_store::Store) -> anyhow::Result<CartId> {
    use stockroom_domain::inventory::Quantity;
    use stockroom_store::carts::AddToCart;
    let id = CartId::parse(&format!("cart-bench-{}", ulid::Ulid::new()))?;
    let carts = store.carts()?;
    for (product, quantity) in ORDER_LINES {
        carts
            .add_to_cart(&AddToCart {
                owner: stockroom_domain::orders::CustomerId::parse(
                    stockroom_local::seed::SAMPLE_CUSTOMER,
                )?,
                cart_id: id.clone(),
                product_id: stockroom_domain::ProductId::parse(product)?,
                quantity: Quantity::new(*quantity)?,
                now: stockroom_domain::timestamp::now(),
            })
            .await?;
    }
    Ok(id)
}
