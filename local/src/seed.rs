//! Sample products, their stock, one order and one cart for a new store, so `cargo dev` has something to show at
//! once (the benchmark seeds its DynamoDB tables with the same).

use stockroom_domain::carts::CartId;
use stockroom_domain::catalog::{Category, Description, Product, ProductDetails, ProductName};
use stockroom_domain::inventory::{Available, Quantity, StockMove};
use stockroom_domain::orders::{CustomerId, Order, OrderId, OrderRequest, RawLine};
use stockroom_domain::{Currency, Price, ProductId, timestamp};
use stockroom_store::Store;
use stockroom_store::carts::AddToCart;
use stockroom_store::catalog::WriteError;
use stockroom_store::orders::PlaceOrder;

/// `(id, name, description, price, currency, category)`.
const SAMPLES: &[(&str, &str, &str, i64, &str, &str)] = &[
    (
        "sku-mug",
        "Stoneware mug",
        "350 ml, dishwasher safe.",
        1250,
        "USD",
        "kitchen",
    ),
    (
        "sku-kettle",
        "Gooseneck kettle",
        "1 l, for pour-over coffee.",
        4900,
        "USD",
        "kitchen",
    ),
    (
        "sku-notebook",
        "Dot-grid notebook",
        "A5, 160 pages.",
        1800,
        "USD",
        "stationery",
    ),
    (
        "sku-pen",
        "Fountain pen",
        "Fine nib, converter included.",
        3200,
        "USD",
        "stationery",
    ),
    (
        "sku-lamp",
        "Desk lamp",
        "Warm white LED, dimmable.",
        5900,
        "EUR",
        "home",
    ),
    (
        "sku-plant",
        "Potted fern",
        "Likes shade and a weekly drink.",
        1500,
        "EUR",
        "home",
    ),
];

/// Units available of each sample product, by id. `sku-pen` is below the low-stock threshold
/// of 10 on purpose, and `sku-plant` has no stock level at all. `sku-kettle` also has
/// [`KETTLES_RESERVED`] of its units reserved, as if for an order.
const STOCK: &[(&str, i64)] = &[
    ("sku-mug", 40),
    ("sku-kettle", 12),
    ("sku-notebook", 100),
    ("sku-pen", 8),
    ("sku-lamp", 25),
];

/// Units of `sku-kettle` the seed reserves, so a release has something to release.
pub const KETTLES_RESERVED: i64 = 2;

/// The sample order's id (a ULID, fixed so `events/get_order.json` can name it): one
/// `sku-lamp` for [`SAMPLE_CUSTOMER`], so its unit is reserved.
pub const SAMPLE_ORDER: &str = "01KAY7SAMP1E0RDER000000000";
/// The customer of the sample order.
pub const SAMPLE_CUSTOMER: &str = "cust-ada";

/// The sample cart's id (fixed so the `events/` cart samples can name it), [`SAMPLE_CUSTOMER`]'s:
/// 2 `sku-mug` and 1
/// `sku-notebook`, so it checks out at 4300 (USD). It expires 30 days after the store was seeded.
pub const SAMPLE_CART: &str = "cart-ada";

/// What [`seed`] created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    pub products: usize,
    pub stock_levels: usize,
    pub orders: usize,
    pub carts: usize,
}

/// Creates the sample products that do not exist yet, and sets their stock.
///
/// # Errors
/// When the store fails for another reason than an existing id.
pub async fn seed(store: &Store) -> anyhow::Result<Seeded> {
    let catalog = store.catalog()?;
    let inventory = store.inventory()?;
    let mut products = 0;
    for (id, name, description, price, currency, category) in SAMPLES {
        let product = Product::new(
            ProductId::parse(id)?,
            ProductDetails {
                name: ProductName::parse(name)?,
                description: Some(Description::parse(description)?),
                price: Price::new(*price)?,
                currency: Currency::parse(currency)?,
                category: Some(Category::parse(category)?),
            },
            timestamp::now(),
        );
        match catalog.create_product(&product).await {
            Ok(()) => products += 1,
            Err(WriteError::AlreadyExists(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    for (id, units) in STOCK {
        inventory
            .set_stock(
                &ProductId::parse(id)?,
                Available::new(*units)?,
                None,
                timestamp::now(),
            )
            .await?;
    }
    inventory
        .move_stock(
            &ProductId::parse("sku-kettle")?,
            StockMove::Reserve,
            Quantity::new(KETTLES_RESERVED)?,
            timestamp::now(),
        )
        .await?;
    let orders = usize::from(sample_order(store).await?);
    let carts = usize::from(sample_cart(store).await?);
    Ok(Seeded {
        products,
        stock_levels: STOCK.len(),
        orders,
        carts,
    })
}

/// Places the sample order unless it exists; whether it placed it.
async fn sample_order(store: &Store) -> anyhow::Result<bool> {
    let orders = store.orders()?;
    let id = OrderId::parse(SAMPLE_ORDER)?;
    if orders.get_order(&id).await?.is_some() {
        return Ok(false);
    }
    place_order(store, id, SAMPLE_CUSTOMER, &[("sku-lamp", 1)]).await?;
    Ok(true)
}

/// Fills the sample cart unless it is live; whether it did.
async fn sample_cart(store: &Store) -> anyhow::Result<bool> {
    let carts = store.carts()?;
    let id = CartId::parse(SAMPLE_CART)?;
    let owner = CustomerId::parse(SAMPLE_CUSTOMER)?;
    if carts
        .get_cart(&owner, &id, timestamp::now())
        .await?
        .is_some()
    {
        return Ok(false);
    }
    for (product, quantity) in [("sku-mug", 2), ("sku-notebook", 1)] {
        carts
            .add_to_cart(&AddToCart {
                owner: owner.clone(),
                cart_id: id.clone(),
                product_id: ProductId::parse(product)?,
                quantity: Quantity::new(quantity)?,
                now: timestamp::now(),
            })
            .await?;
    }
    Ok(true)
}

/// Places order `id` of `lines` (`(product id, quantity)`) for `customer` now, without an
/// idempotency key, reserving its stock: sample data for the dev server and the benchmark.
///
/// # Errors
/// When the lines are invalid or the store refuses the order.
pub async fn place_order(
    store: &Store,
    id: OrderId,
    customer: &str,
    lines: &[(&str, i64)],
) -> anyhow::Result<Order> {
    let lines: Vec<RawLine> = lines
        .iter()
        .map(|(product, quantity)| RawLine {
            product_id: Some((*product).to_owned()),
            quantity: Some(*quantity),
        })
        .collect();
    let request = OrderRequest::parse(Some(customer), Some(&lines))
        .map_err(|errors| anyhow::anyhow!("the sample order {id} is invalid: {errors:?}"))?;
    let placed = store
        .orders()?
        .place_order(&PlaceOrder {
            id,
            request,
            key: None,
            now: timestamp::now(),
        })
        .await?;
    Ok(placed.order)
}
