//! `--scenario flash-sale`: `--users` shoppers race to order one unit each of one product that
//! has `--units` in stock, all started at once, each trying once.

use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use goose::goose::GooseResponse;
use goose::prelude::*;
use serde_json::{Value, json};

use crate::Audit;
use crate::api::{Api, Tokens};
use crate::args::Args;

/// The sale the users race in; Goose's transactions are plain functions, so they find it here.
static SALE: Mutex<Option<Arc<Sale>>> = Mutex::new(None);

fn sale() -> Option<Arc<Sale>> {
    SALE.lock().ok().and_then(|s| s.clone())
}

#[derive(Debug)]
struct Sale {
    run: String,
    product: String,
    tokens: Tokens,
    outcomes: Mutex<Vec<Outcome>>,
}

/// One shopper's attempt: the status `POST /orders` answered, and the order's id when placed.
#[derive(Debug, Clone)]
struct Outcome {
    customer: String,
    status: u16,
    order: Option<String>,
}

pub async fn run(args: &Args) -> anyhow::Result<Audit> {
    Box::pin(run_with(args, async |_, _| Ok(()))).await
}

/// [`run`], with `before_audit` called between the attack and the audit with the API and the
/// sale's product id (the tests change the stock there, to see the audit catch it).
pub async fn run_with(
    args: &Args,
    before_audit: impl AsyncFnOnce(&Api, &str) -> anyhow::Result<()>,
) -> anyhow::Result<Audit> {
    let tokens = Tokens::of_data_dir(&args.data_dir)?;
    let api = Api::new(&args.host, tokens.admin());
    let run = format!(
        "load-{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let product = format!("{run}-flash");
    api.stocked_product(&product, args.units).await?;
    println!(
        "flash sale: {} shoppers for {} units of {product} at {}",
        args.users, args.units, args.host
    );
    let sale = Arc::new(Sale {
        run,
        product: product.clone(),
        tokens,
        outcomes: Mutex::new(Vec::new()),
    });
    *SALE
        .lock()
        .map_err(|_| anyhow::anyhow!("a shopper panicked"))? = Some(Arc::clone(&sale));

    std::fs::create_dir_all(&args.report_dir)?;
    let report = args.report_dir.join("flash-sale.html");
    // Boxed: Goose's attack is a future of over 20 KB.
    let attack = GooseAttack::initialize_with_config(goose::config::GooseConfiguration::default())?
        .register_scenario(
            scenario!("FlashSale")
                .register_transaction(transaction!(order_one).set_name("order one unit")),
        )
        .set_default(GooseDefault::Host, args.host.as_str())?
        .set_default(GooseDefault::Users, args.users)?
        .set_default(GooseDefault::IncreaseRate, args.users.to_string().as_str())?
        .set_default(GooseDefault::Iterations, 1)?
        .set_default(GooseDefault::ReportFile, report.to_string_lossy().as_ref())?;
    Box::pin(attack.execute())
        .await
        .context("the Goose attack failed")?;
    println!("Goose's report: {}", report.display());

    *SALE
        .lock()
        .map_err(|_| anyhow::anyhow!("a shopper panicked"))? = None;
    before_audit(&api, &product).await?;
    let outcomes = sale
        .outcomes
        .lock()
        .map_err(|_| anyhow::anyhow!("a shopper panicked"))?
        .clone();
    audit(&api, &sale, args, &outcomes).await
}

/// One shopper: one order for one unit, with its own token and idempotency key.
async fn order_one(user: &mut GooseUser) -> TransactionResult {
    let Some(sale) = sale() else {
        return Ok(());
    };
    let customer = format!("{}-c{}", sale.run, user.weighted_users_index);
    let token = sale.tokens.customer(&customer);
    let body = json!({
        "customer_id": customer,
        "items": [{ "product_id": sale.product, "quantity": 1 }],
    });
    let builder = user
        .get_request_builder(&GooseMethod::Post, "/orders")?
        .bearer_auth(token)
        .header("idempotency-key", format!("{customer}-order"))
        .json(&body);
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path("/orders")
        .name("/orders")
        .set_request_builder(builder)
        .build();
    let GooseResponse {
        mut request,
        response,
    } = user.request(request).await?;
    let (status, order) = match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body["id"].as_str().map(str::to_owned))
        }
        Err(_) => (0, None),
    };
    // A refusal for want of stock is the sale working, not a failed request.
    if status == 409 {
        user.set_success(&mut request)?;
    }
    if let Ok(mut outcomes) = sale.outcomes.lock() {
        outcomes.push(Outcome {
            customer,
            status,
            order,
        });
    }
    Ok(())
}

/// What must hold after a flash sale, read back through the API.
async fn audit(api: &Api, sale: &Sale, args: &Args, outcomes: &[Outcome]) -> anyhow::Result<Audit> {
    let mut audit = Audit::new("flash-sale");
    let attempts = outcomes.len() as u64;
    let placed: Vec<&Outcome> = outcomes.iter().filter(|o| o.status == 201).collect();
    let refused = outcomes.iter().filter(|o| o.status == 409).count() as u64;
    let other: Vec<String> = outcomes
        .iter()
        .filter(|o| o.status != 201 && o.status != 409)
        .map(|o| format!("{} ({})", o.status, o.customer))
        .collect();
    let expected = args.units.min(attempts);
    audit.check(
        attempts == args.users as u64,
        format!("every shopper tried: {attempts} attempts of {}", args.users),
    );
    audit.check(
        placed.len() as u64 == expected,
        format!(
            "orders placed: {} (min(units, attempts) = {expected})",
            placed.len()
        ),
    );
    audit.check(
        refused == attempts - expected,
        format!("409s: {refused} (expected {})", attempts - expected),
    );
    audit.check(
        other.is_empty(),
        format!(
            "answers other than 201 and 409: {} {:?}",
            other.len(),
            other.iter().take(5).collect::<Vec<_>>()
        ),
    );
    let (available, reserved) = api.stock(&sale.product).await?;
    audit.check(
        available >= 0 && reserved >= 0,
        format!("no level below zero: available {available}, reserved {reserved}"),
    );
    let sold = placed.len() as i64;
    let units = i64::try_from(args.units)?;
    audit.check(
        available + reserved == units && reserved == sold,
        format!("stock accounts for every unit: {units} at start = {available} available + {reserved} reserved, {sold} in placed orders"),
    );
    let mut unreadable = Vec::new();
    for outcome in &placed {
        let readable = match &outcome.order {
            Some(id) => {
                api.order_status(id, &sale.tokens.customer(&outcome.customer))
                    .await?
                    == 200
            }
            None => false,
        };
        if !readable {
            unreadable.push(outcome.customer.clone());
        }
    }
    audit.check(
        unreadable.is_empty(),
        format!(
            "every placed order reads back: {} of {}",
            placed.len() - unreadable.len(),
            placed.len()
        ),
    );
    Ok(audit)
}
