//! Sample products for a new embedded store, so `cargo dev` has something to show at once.

use stockroom_domain::catalog::{Category, Description, Product, ProductDetails, ProductName};
use stockroom_domain::{Currency, Price, ProductId, timestamp};
use stockroom_store::catalog::{ProductWriter, WriteError};

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

/// Creates the sample products that do not exist yet; returns how many it created.
///
/// # Errors
/// When the store fails for another reason than an existing id.
pub async fn seed(store: &dyn ProductWriter) -> anyhow::Result<usize> {
    let mut created = 0;
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
        match store.create_product(&product).await {
            Ok(()) => created += 1,
            Err(WriteError::AlreadyExists(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(created)
}
