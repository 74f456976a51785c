//! `--scenario orders`: users place orders of 1 to 3 lines, one unit each, spread evenly over
//! `--products` products: the lines go round-robin from one shared counter, so every product
//! gets the same share of the load (give or take one line).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use goose::prelude::*;
use serde_json::json;

use crate::args::Args;
use crate::run::{Call, Length, Run, Stage, Staged};

static ORDERS: Stage<Orders> = Stage::new();

/// The run and its counters.
#[derive(Debug)]
pub struct Orders {
    run: Run,
    /// The next order's number, which gives its idempotency key and how many lines it has.
    next_order: AtomicU64,
    /// The next line's product, modulo the number of products.
    next_line: AtomicUsize,
}

impl Staged for Orders {
    fn stage() -> &'static Stage<Self> {
        &ORDERS
    }

    fn new(run: Run, args: &Args) -> anyhow::Result<(Self, Vec<Scenario>, Length)> {
        println!(
            "orders: {} users placing orders over {} products for {} s",
            args.users(),
            run.products.len(),
            args.run_time
        );
        let scenario = scenario!("Orders")
            .register_transaction(transaction!(place_order).set_name("place an order"));
        let orders = Self {
            run,
            next_order: AtomicU64::new(0),
            next_line: AtomicUsize::new(0),
        };
        Ok((orders, vec![scenario], Length::Seconds(args.run_time)))
    }

    fn run(&self) -> &Run {
        &self.run
    }
}

async fn place_order(user: &mut GooseUser) -> TransactionResult {
    let Some(orders) = ORDERS.get() else {
        return Ok(());
    };
    let run = &orders.run;
    let number = orders.next_order.fetch_add(1, Ordering::Relaxed);
    let count = run.products.len();
    let lines = (1 + usize::try_from(number % 3).unwrap_or(0)).min(count);
    let first = orders.next_line.fetch_add(lines, Ordering::Relaxed);
    let lines: BTreeMap<String, u64> = (0..lines)
        .map(|i| (run.products[(first + i) % count].clone(), 1))
        .collect();
    let items: Vec<_> = lines
        .keys()
        .map(|product| json!({ "product_id": product, "quantity": 1 }))
        .collect();
    // Each user is one customer (with minted tokens), whose token is made once.
    if user.get_session_data::<(String, String)>().is_none() {
        user.set_session_data(run.customer(user.weighted_users_index));
    }
    let Some((customer, token)) = user.get_session_data::<(String, String)>().cloned() else {
        return Ok(());
    };
    let call = Call::new(GooseMethod::Post, String::from("/orders"), "/orders")
        .token(&token)
        .idempotency_key(format!("{}-o{number}", run.prefix))
        .json(json!({ "customer_id": customer, "items": items }))
        // Too little stock is an answer the API may give.
        .expecting(&[409]);
    let answer = run.call(user, call).await?;
    run.placed(&answer, &customer, lines);
    Ok(())
}
