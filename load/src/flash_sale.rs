//! `--scenario flash-sale`: `--users` shoppers race to order one unit each of one product that
//! has `--units` in stock, all started at once, each trying once.

use std::collections::BTreeMap;

use goose::prelude::*;
use serde_json::json;

use crate::Audit;
use crate::args::Args;
use crate::run::{Call, Length, Route, Run, Stage, Staged};

/// The route the shoppers race on.
const ROUTE: Route = Route("POST", "/orders");

static SALE: Stage<Sale> = Stage::new();

/// The sale the shoppers race in.
#[derive(Debug)]
pub struct Sale {
    run: Run,
    users: u64,
}

impl Staged for Sale {
    fn stage() -> &'static Stage<Self> {
        &SALE
    }

    fn new(run: Run, args: &Args) -> anyhow::Result<(Self, Vec<Scenario>, Length)> {
        println!(
            "flash sale: {} shoppers for {} units of {}",
            args.users(),
            run.units,
            run.products[0]
        );
        let users = u64::try_from(args.users())?;
        let scenario = scenario!("FlashSale")
            .register_transaction(transaction!(order_one).set_name("order one unit"));
        Ok((Self { run, users }, vec![scenario], Length::Once))
    }

    fn run(&self) -> &Run {
        &self.run
    }

    /// Exactly min(units, attempts) orders placed, every other attempt a 409.
    fn checks(&self, audit: &mut Audit) {
        let answers = self.run.answers();
        let count = |status: Option<u16>| -> u64 {
            answers
                .iter()
                .filter(|((route, s), _)| {
                    *route == ROUTE && status.is_none_or(|status| *s == status)
                })
                .map(|(_, tally)| tally.count)
                .sum()
        };
        let (attempts, placed, refused) = (count(None), count(Some(201)), count(Some(409)));
        let expected = self.run.units.min(attempts);
        audit.check(
            attempts == self.users,
            format!("every shopper tried: {attempts} attempts of {}", self.users),
        );
        audit.check(
            placed == expected,
            format!("orders placed: {placed} (min(units, attempts) = {expected})"),
        );
        audit.check(
            refused == attempts - expected,
            format!("409s: {refused} (expected {})", attempts - expected),
        );
    }
}

/// One shopper: one order for one unit, with its own token and idempotency key.
async fn order_one(user: &mut GooseUser) -> TransactionResult {
    let Some(sale) = SALE.get() else {
        return Ok(());
    };
    let run = &sale.run;
    let (customer, token) = run.customer(user.weighted_users_index);
    let product = run.products[0].clone();
    let call = Call::new(GooseMethod::Post, String::from("/orders"), ROUTE.1)
        .token(&token)
        .idempotency_key(format!(
            "{}-u{}-order",
            run.prefix, user.weighted_users_index
        ))
        .json(json!({
            "customer_id": customer,
            "items": [{ "product_id": product, "quantity": 1 }],
        }))
        // A refusal for want of stock is the sale working.
        .expecting(&[409]);
    let answer = run.call(user, call).await?;
    run.placed(&answer, &customer, BTreeMap::from([(product, 1)]));
    Ok(())
}
