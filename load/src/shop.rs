//! `--scenario shop`: shoppers browse and buy, weighted like the Locust file of the FastAPI shop
//! this API replaces: 7 product views : 3 cart adds : 1 catalog list : 1 health check. Every
//! third add fills a cart; one full cart in five is checked out, the others are left. Shoppers
//! also read their own orders (list, then the newest), and cancel one order in ten; a
//! warehouse user (one in 16 users, none below 2) ships three in ten.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use goose::prelude::*;
use serde_json::json;

use crate::args::Args;
use crate::run::{Call, Length, Run, Stage, Staged};

/// Lines a cart gets before it is checked out or left.
const CART_LINES: usize = 3;
/// One full cart in this many is checked out.
const CHECKOUT_EVERY: u64 = 5;

static SHOP: Stage<Shop> = Stage::new();

/// The run, and the orders the warehouse is to ship.
#[derive(Debug)]
pub struct Shop {
    run: Run,
    admin: String,
    /// Orders placed so far, which decides each one's life after placement.
    orders: AtomicU64,
    /// Placed orders (indexes in the run) the warehouse is to ship.
    to_ship: Mutex<VecDeque<usize>>,
}

impl Staged for Shop {
    fn stage() -> &'static Stage<Self> {
        &SHOP
    }

    fn new(run: Run, args: &Args) -> anyhow::Result<(Self, Vec<Scenario>, Length)> {
        println!(
            "shop: {} users for {} s (one warehouse user in 16)",
            args.users(),
            args.run_time
        );
        let shoppers = scenario!("Shoppers")
            .set_weight(15)?
            .register_transaction(transaction!(start).set_name("sign in").set_on_start())
            .register_transaction(
                transaction!(view_product)
                    .set_name("view a product")
                    .set_weight(7)?,
            )
            .register_transaction(
                transaction!(add_to_cart)
                    .set_name("add to cart")
                    .set_weight(3)?,
            )
            .register_transaction(transaction!(list_catalog).set_name("list the catalog"))
            .register_transaction(transaction!(health).set_name("health check"))
            .register_transaction(transaction!(my_orders).set_name("my orders"));
        let warehouse = scenario!("Warehouse")
            .set_weight(1)?
            .set_wait_time(Duration::from_millis(100), Duration::from_millis(100))?
            .register_transaction(transaction!(ship).set_name("ship orders"));
        let shop = Self {
            admin: run.tokens.admin(),
            run,
            orders: AtomicU64::new(0),
            to_ship: Mutex::new(VecDeque::new()),
        };
        Ok((
            shop,
            vec![shoppers, warehouse],
            Length::Seconds(args.run_time),
        ))
    }

    fn run(&self) -> &Run {
        &self.run
    }
}

/// One shopper's session.
#[derive(Debug, Clone)]
struct Shopper {
    customer: String,
    token: String,
    /// Carts filled so far; the current cart's number.
    carts: u64,
    cart: BTreeMap<String, u64>,
    newest_order: Option<String>,
    /// Placed orders (indexes in the run) this shopper is to cancel.
    to_cancel: Vec<usize>,
    /// A xorshift state: which product the shopper looks at next.
    seed: u64,
}

impl Shopper {
    fn pick<'a>(&mut self, products: &'a [String]) -> &'a str {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let index = usize::try_from(self.seed % products.len() as u64).unwrap_or(0);
        &products[index]
    }

    fn cart_id(&self, prefix: &str, user: usize) -> String {
        format!("{prefix}-u{user}-cart{}", self.carts)
    }
}

async fn start(user: &mut GooseUser) -> TransactionResult {
    let Some(shop) = SHOP.get() else {
        return Ok(());
    };
    let (customer, token) = shop.run.customer(user.weighted_users_index);
    user.set_session_data(Shopper {
        customer,
        token,
        carts: 0,
        cart: BTreeMap::new(),
        newest_order: None,
        to_cancel: Vec::new(),
        seed: 0x9e37_79b9_7f4a_7c15 ^ (user.weighted_users_index as u64 + 1),
    });
    Ok(())
}

/// The shop and this user's shopper (a copy, put back with `set_session_data`).
fn shopper(user: &GooseUser) -> Option<(Arc<Shop>, Shopper)> {
    Some((SHOP.get()?, user.get_session_data::<Shopper>()?.clone()))
}

async fn view_product(user: &mut GooseUser) -> TransactionResult {
    let Some((shop, mut shopper)) = shopper(user) else {
        return Ok(());
    };
    let product = shopper.pick(&shop.run.products);
    let call = Call::new(
        GooseMethod::Get,
        format!("/products/{product}"),
        "/products/{id}",
    );
    shop.run.call(user, call).await?;
    user.set_session_data(shopper);
    Ok(())
}

async fn list_catalog(user: &mut GooseUser) -> TransactionResult {
    let Some(shop) = SHOP.get() else {
        return Ok(());
    };
    let call = Call::new(
        GooseMethod::Get,
        String::from("/products?limit=20"),
        "/products",
    );
    shop.run.call(user, call).await?;
    Ok(())
}

async fn health(user: &mut GooseUser) -> TransactionResult {
    let Some(shop) = SHOP.get() else {
        return Ok(());
    };
    let call = Call::new(GooseMethod::Get, String::from("/health"), "/health");
    shop.run.call(user, call).await?;
    Ok(())
}

/// One or two units of a product into the shopper's cart; the cart's third line fills it.
async fn add_to_cart(user: &mut GooseUser) -> TransactionResult {
    let Some((shop, mut shopper)) = shopper(user) else {
        return Ok(());
    };
    let product = shopper.pick(&shop.run.products).to_owned();
    let quantity = 1 + shopper.seed % 2;
    let cart = shopper.cart_id(&shop.run.prefix, user.weighted_users_index);
    let call = Call::new(
        GooseMethod::Post,
        format!("/carts/{cart}/items"),
        "/carts/{c}/items",
    )
    .token(&shopper.token)
    .json(json!({ "product_id": product, "quantity": quantity }));
    if shop.run.call(user, call).await?.status == 200 {
        *shopper.cart.entry(product).or_default() += quantity;
    }
    if shopper.cart.len() >= CART_LINES {
        shopper.carts += 1;
        if shopper.carts.is_multiple_of(CHECKOUT_EVERY) {
            checkout(user, &shop, &mut shopper, cart).await?;
        }
        shopper.cart.clear();
    }
    user.set_session_data(shopper);
    Ok(())
}

/// Checks the full cart out; of the orders placed, the warehouse ships three in ten and the
/// shopper cancels one in ten. Too little stock (409) is an answer the shop expects.
async fn checkout(
    user: &mut GooseUser,
    shop: &Shop,
    shopper: &mut Shopper,
    cart: String,
) -> TransactionResult {
    let call = Call::new(
        GooseMethod::Post,
        format!("/carts/{cart}/checkout"),
        "/carts/{c}/checkout",
    )
    .token(&shopper.token)
    .idempotency_key(cart)
    .expecting(&[409]);
    let answer = shop.run.call(user, call).await?;
    let Some((index, id)) = shop
        .run
        .placed(&answer, &shopper.customer, shopper.cart.clone())
    else {
        return Ok(());
    };
    match shop.orders.fetch_add(1, Ordering::Relaxed) % 10 {
        0 | 3 | 6 => {
            if let Ok(mut to_ship) = shop.to_ship.lock() {
                to_ship.push_back(index);
            }
        }
        5 => shopper.to_cancel.push(index),
        _ => {}
    }
    shopper.newest_order = Some(id);
    Ok(())
}

/// The shopper's orders: the list, the newest, and a cancellation when one is due.
async fn my_orders(user: &mut GooseUser) -> TransactionResult {
    let Some((shop, mut shopper)) = shopper(user) else {
        return Ok(());
    };
    let call = Call::new(
        GooseMethod::Get,
        format!("/orders?customer_id={}&limit=10", shopper.customer),
        "/orders",
    )
    .token(&shopper.token);
    shop.run.call(user, call).await?;
    if let Some(id) = &shopper.newest_order {
        let call = Call::new(GooseMethod::Get, format!("/orders/{id}"), "/orders/{id}")
            .token(&shopper.token);
        shop.run.call(user, call).await?;
    }
    if let Some(index) = shopper.to_cancel.pop()
        && let Some(order) = shop.run.order(index)
    {
        let call = Call::new(
            GooseMethod::Post,
            format!("/orders/{}/cancel", order.id),
            "/orders/{id}/cancel",
        )
        .token(&shopper.token);
        if shop.run.call(user, call).await?.status == 200 {
            shop.run.moved(index, "cancelled");
        }
    }
    user.set_session_data(shopper);
    Ok(())
}

/// The warehouse: ships every order waiting to be shipped.
async fn ship(user: &mut GooseUser) -> TransactionResult {
    let Some(shop) = SHOP.get() else {
        return Ok(());
    };
    while let Some(index) = shop.to_ship.lock().ok().and_then(|mut q| q.pop_front()) {
        let Some(order) = shop.run.order(index) else {
            continue;
        };
        let call = Call::new(
            GooseMethod::Patch,
            format!("/orders/{}", order.id),
            "/orders/{id}",
        )
        .token(&shop.admin)
        .json(json!({ "status": "shipped" }));
        if shop.run.call(user, call).await?.status == 200 {
            shop.run.moved(index, "shipped");
        }
    }
    Ok(())
}
