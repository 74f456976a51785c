//! Orders placed straight through the store's ports (no HTTP, no stream consumers): what the
//! heat test and the heat example drive. Shared by `#[path]`; not a test target of its own.

use anyhow::Context as _;
use stockroom_domain::catalog::{Product, ProductDetails, ProductName};
use stockroom_domain::inventory::Available;
use stockroom_domain::orders::{OrderId, OrderRequest, RawLine};
use stockroom_domain::{Currency, Price, ProductId, timestamp};
use stockroom_store::Store;
use stockroom_store::orders::PlaceOrder;

/// Puts `count` products `<prefix>-<n>` in the catalog with `units` available each; their ids.
pub async fn stocked_products(
    store: &Store,
    prefix: &str,
    count: usize,
    units: i64,
) -> anyhow::Result<Vec<String>> {
    let catalog = store.catalog()?;
    let inventory = store.inventory()?;
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let id = format!("{prefix}-{n}");
        let product_id = ProductId::parse(&id).context("a product id")?;
        let details = ProductDetails {
            name: ProductName::parse(&id).context("a product name")?,
            description: None,
            price: Price::new(1250)?,
            currency: Currency::default(),
            category: None,
        };
        let now = timestamp::now();
        catalog
            .create_product(&Product::new(product_id.clone(), details, now))
            .await?;
        inventory
            .set_stock(&product_id, Available::new(units)?, None, now)
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Places `orders` single-unit orders, order `i` for `products[i % len]` by customer
/// `<prefix>-c<i % customers>`, one after another.
pub async fn place_orders(
    store: &Store,
    prefix: &str,
    products: &[String],
    orders: usize,
    customers: usize,
) -> anyhow::Result<()> {
    let port = store.orders()?;
    for i in 0..orders {
        let customer = format!("{prefix}-c{}", i % customers.max(1));
        let line = RawLine {
            product_id: Some(products[i % products.len()].clone()),
            quantity: Some(1),
        };
        let request = OrderRequest::parse(Some(&customer), Some(&[line]))
            .map_err(|errors| anyhow::anyhow!("a bad order request: {errors:?}"))?;
        let now = timestamp::now();
        Box::pin(port.place_order(&PlaceOrder {
            id: OrderId::at(now),
            request,
            key: None,
            now,
        }))
        .await
        .map_err(|err| anyhow::anyhow!("order {i} was not placed: {err}"))?;
    }
    Ok(())
}
