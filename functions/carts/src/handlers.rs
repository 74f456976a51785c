//! The six carts handlers. Each parses its request into domain values, calls its store port
//! once, and answers success or its operation's error.
//!
//! A cart is the signed-in caller's: every handler reaches only the carts of the token's
//! `sub`, keyed by it in the store, so another customer's cart of the same id is simply not
//! there (404), and two customers choosing one id have two carts.

use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use stockroom_domain::carts::{CartId, MAX_CART_QUANTITY};
use stockroom_domain::inventory::Quantity;
use stockroom_domain::orders::{CustomerId, MAX_LINE_QUANTITY, OrderId};
use stockroom_domain::{FieldError, ProductId, timestamp};
use stockroom_http::{Body, Caller, Request, RequestError, Response, json_body, path_param};
use stockroom_orders::{IDEMPOTENT_REPLAYED, idempotency_key};
use stockroom_store::carts::{AddToCart, CartReader, CartWriter, CheckoutCart};

use crate::errors::{CartError, CheckoutError};

fn cart_id(req: &Request) -> Result<CartId, RequestError> {
    path_param(req, "cart_id", "cart", CartId::parse)
}

fn product_id(req: &Request) -> Result<ProductId, RequestError> {
    path_param(req, "product_id", "product", ProductId::parse)
}

/// `POST /carts/{cart_id}/items`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddInput {
    product_id: Option<String>,
    quantity: Option<i64>,
}

/// `PUT /carts/{cart_id}/items/{product_id}`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetInput {
    quantity: Option<i64>,
}

/// `POST /carts/{cart_id}/checkout`'s body, which may be left out.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckoutInput {
    #[serde(default, deserialize_with = "stockroom_http::sent")]
    customer_id: Option<Option<String>>,
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, FieldError> {
    value.ok_or_else(|| FieldError::new(field, "is required"))
}

/// A line's `quantity` field: a whole number from `least` (said as `from`) to the most one
/// cart line holds.
fn line_quantity(raw: Option<i64>, least: i64, from: &str) -> Result<i64, FieldError> {
    let quantity = required(raw, "quantity")?;
    if (least..=MAX_LINE_QUANTITY).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(FieldError::new(
            "quantity",
            format!("must be a whole number from {from} to {MAX_CART_QUANTITY}"),
        ))
    }
}

/// Both values, or every bad field of the two at once.
fn both<A, B>(a: Result<A, FieldError>, b: Result<B, FieldError>) -> Result<(A, B), RequestError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(RequestError::Validation(
            a.err().into_iter().chain(b.err()).collect(),
        )),
    }
}

/// Whose carts the caller reaches: their own.
fn owner(caller: &Caller) -> Result<CustomerId, RequestError> {
    Ok(caller.signed_in()?.customer_id.clone())
}

/// Whether the request has a body at all (a checkout may be sent without one).
fn has_body(req: &Request) -> bool {
    match req.body() {
        Body::Empty => false,
        Body::Text(text) => !text.trim().is_empty(),
        Body::Binary(bytes) => !bytes.is_empty(),
        _ => true,
    }
}

fn answer(cart: &stockroom_domain::carts::Cart) -> Response<Body> {
    stockroom_http::json(StatusCode::OK, cart)
}

/// `GET /carts/{cart_id}`: the live cart, with line totals, subtotal and expiry.
#[tracing::instrument(skip_all, fields(route = "GET /carts/{cart_id}"))]
pub async fn get_cart(
    store: &dyn CartReader,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, CartError> {
    let owner = owner(&caller)?;
    let id = cart_id(&req)?;
    match store
        .get_cart(&owner, &id, timestamp::now())
        .await
        .map_err(CartError::Unexpected)?
    {
        Some(cart) => Ok(answer(&cart)),
        None => Err(CartError::NotFound(id)),
    }
}

/// `POST /carts/{cart_id}/items {product_id, quantity}`: adds to the line (starting the cart
/// if it has none), at the catalog's current name and price.
#[tracing::instrument(skip_all, fields(route = "POST /carts/{cart_id}/items"))]
pub async fn add_cart_item(
    store: &dyn CartWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, CartError> {
    let owner = owner(&caller)?;
    let id = cart_id(&req)?;
    let input: AddInput = json_body(&req)?;
    let product = required(input.product_id, "product_id")
        .and_then(|p| ProductId::parse_field("product_id", &p));
    let quantity = line_quantity(input.quantity, 1, "1").and_then(Quantity::new);
    let (product_id, quantity) = both(product, quantity)?;
    let cart = store
        .add_to_cart(&AddToCart {
            owner,
            cart_id: id,
            product_id,
            quantity,
            now: timestamp::now(),
        })
        .await?;
    stockroom_telemetry::metrics::cart_items_added(quantity.get());
    tracing::info!(cart_id = %cart.id, lines = cart.lines.len(), "added to cart");
    Ok(answer(&cart))
}

/// `PUT /carts/{cart_id}/items/{product_id} {quantity}`: sets the line's quantity; 0 removes it.
#[tracing::instrument(skip_all, fields(route = "PUT /carts/{cart_id}/items/{product_id}"))]
pub async fn set_cart_item(
    store: &dyn CartWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, CartError> {
    let owner = owner(&caller)?;
    let (id, product) = (cart_id(&req)?, product_id(&req)?);
    let input: SetInput = json_body(&req)?;
    let quantity = line_quantity(input.quantity, 0, "0 (removes the line)")
        .map(i64::unsigned_abs)
        .map_err(RequestError::from)?;
    let cart = store
        .set_cart_quantity(&owner, &id, &product, quantity, timestamp::now())
        .await?;
    Ok(answer(&cart))
}

/// `DELETE /carts/{cart_id}/items/{product_id}`: removes the line; the cart stays, maybe empty.
#[tracing::instrument(skip_all, fields(route = "DELETE /carts/{cart_id}/items/{product_id}"))]
pub async fn remove_cart_item(
    store: &dyn CartWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, CartError> {
    let owner = owner(&caller)?;
    let (id, product) = (cart_id(&req)?, product_id(&req)?);
    let cart = store
        .set_cart_quantity(&owner, &id, &product, 0, timestamp::now())
        .await?;
    Ok(answer(&cart))
}

/// `DELETE /carts/{cart_id}`: 204.
#[tracing::instrument(skip_all, fields(route = "DELETE /carts/{cart_id}"))]
pub async fn delete_cart(
    store: &dyn CartWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, CartError> {
    let owner = owner(&caller)?;
    let id = cart_id(&req)?;
    store.delete_cart(&owner, &id, timestamp::now()).await?;
    Ok(stockroom_http::no_content())
}

/// `POST /carts/{cart_id}/checkout {customer_id?}`: re-prices the caller's cart from the
/// catalog and, in one transaction, places the order and empties the cart. The order is the
/// caller's; an administrator may name another customer. 201 with the order and the lines
/// whose price changed since they were added (`price_changes`). With an `Idempotency-Key`
/// already used for the same cart and customer, answers that first checkout again.
#[tracing::instrument(skip_all, fields(route = "POST /carts/{cart_id}/checkout"))]
pub async fn checkout(
    store: &dyn CartWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, CheckoutError> {
    let owner = owner(&caller)?;
    let id = cart_id(&req)?;
    let key = idempotency_key(&req);
    let input: CheckoutInput = if has_body(&req) {
        json_body(&req)?
    } else {
        CheckoutInput::default()
    };
    let asked = stockroom_http::customer_field(input.customer_id);
    let (asked, key) = both(asked, key)?;
    let customer_id = caller.customer_for(asked)?;
    let raw_key = key.as_ref().map(|k| k.as_str().to_owned());
    let now = timestamp::now();
    let done = store
        .checkout(&CheckoutCart {
            owner,
            cart_id: id,
            customer_id,
            order_id: OrderId::at(now),
            key,
            now,
        })
        .await
        .map_err(|err| CheckoutError::from_store(err, raw_key.as_deref()))?;
    let order = &done.answer.order;
    tracing::info!(
        order_id = %order.id,
        customer_id = %order.customer_id,
        lines = order.items.len(),
        total = order.total,
        price_changes = done.answer.price_changes.len(),
        replayed = done.replayed,
        "cart checked out"
    );
    let mut response = stockroom_http::created(&format!("/orders/{}", order.id), &done.answer);
    if !done.replayed {
        stockroom_telemetry::metrics::order_placed();
    }
    if done.replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}
