//! The five orders handlers. Each parses its request into domain values, calls its store port
//! once, and answers success or its operation's error.

use anyhow::Context as _;
use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use stockroom_domain::orders::{
    CustomerId, IdempotencyKey, Order, OrderId, OrderKey, OrderRequest, OrderStatus, RawLine,
};
use stockroom_domain::{FieldError, timestamp};
use stockroom_http::{
    Body, Caller, OperationError, QueryParams, Request, RequestError, Response, json_body,
    path_param,
};
use stockroom_store::orders::{OrderQuery, OrderReader, OrderWriter, OrdersStore, PlaceOrder};

use crate::errors::{ChangeOrderError, GetOrderError, PlaceOrderError};

/// The request header that makes `POST /orders` (and checkout) safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The response header of an answer replayed for a retried key.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

fn order_id(req: &Request) -> Result<OrderId, RequestError> {
    path_param(req, "id", "order", OrderId::parse)
}

/// `POST /orders`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceOrderInput {
    #[serde(default, deserialize_with = "stockroom_http::sent")]
    customer_id: Option<Option<String>>,
    items: Option<Vec<LineInput>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineInput {
    product_id: Option<String>,
    quantity: Option<i64>,
}

/// `PATCH /orders/{id}`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusInput {
    status: Option<String>,
}

/// The `Idempotency-Key` header, if sent.
///
/// # Errors
/// A key outside 1 to 255 printable ASCII characters, reported against `Idempotency-Key`.
pub fn idempotency_key(req: &Request) -> Result<Option<IdempotencyKey>, FieldError> {
    // A value that is not visible ASCII reads as "", which the key's rule refuses.
    req.headers()
        .get(IDEMPOTENCY_KEY)
        .map(|value| IdempotencyKey::parse(value.to_str().unwrap_or("")))
        .transpose()
}

/// The `customer_id` an order is placed for: the caller's own when the body names none;
/// another customer's only for an administrator. A string that is no id is passed on as it
/// is, for the request's validation to report with the other fields; `null` is refused here.
fn order_customer(caller: &Caller, raw: Option<Option<String>>) -> Result<String, RequestError> {
    let asked = match raw {
        Some(Some(raw)) if CustomerId::parse(&raw).is_err() => return Ok(raw),
        raw => stockroom_http::customer_field(raw)?,
    };
    Ok(caller.customer_for(asked)?.to_string())
}

/// The order the request asks for, with every bad field (body and key) reported at once.
fn place_request(req: &Request, caller: &Caller) -> Result<PlaceOrder, RequestError> {
    caller.signed_in()?;
    let key = idempotency_key(req);
    let input: PlaceOrderInput = json_body(req)?;
    let customer = order_customer(caller, input.customer_id)?;
    let lines: Option<Vec<RawLine>> = input.items.map(|items| {
        items
            .into_iter()
            .map(|l| RawLine {
                product_id: l.product_id,
                quantity: l.quantity,
            })
            .collect()
    });
    let request = OrderRequest::parse(Some(&customer), lines.as_deref());
    match (request, key) {
        (Ok(request), Ok(key)) => {
            let now = timestamp::now();
            Ok(PlaceOrder {
                id: OrderId::at(now),
                request,
                key,
                now,
            })
        }
        (request, key) => {
            let mut errors = request.err().unwrap_or_default();
            errors.extend(key.err());
            Err(RequestError::Validation(errors))
        }
    }
}

/// `POST /orders {customer_id?, items:[{product_id, quantity}]}`: prices the order from the
/// catalog and reserves its stock in one transaction. The order is the caller's (an
/// administrator may name any customer). With an `Idempotency-Key` already used for the same
/// body, answers that first order again (`Idempotent-Replayed: true`).
#[tracing::instrument(skip_all, fields(route = "POST /orders"))]
pub async fn place_order(
    store: &dyn OrderWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, PlaceOrderError> {
    let order = place_request(&req, &caller)?;
    let key = order.key.as_ref().map(|k| k.as_str().to_owned());
    let placed = store
        .place_order(&order)
        .await
        .map_err(|err| PlaceOrderError::from_store(err, key.as_deref()))?;
    let order = &placed.order;
    tracing::info!(
        order_id = %order.id,
        customer_id = %order.customer_id,
        lines = order.items.len(),
        total = order.total,
        replayed = placed.replayed,
        "order placed"
    );
    let mut response = stockroom_http::created(&format!("/orders/{}", order.id), order);
    if !placed.replayed {
        stockroom_telemetry::metrics::order_placed();
    }
    if placed.replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// `GET /orders?customer_id=&limit=&cursor=`: one page of a customer's orders, newest first:
/// the caller's own when `customer_id` is left out; another customer's only for an
/// administrator.
#[tracing::instrument(skip_all, fields(route = "GET /orders"))]
pub async fn list_orders(
    store: &dyn OrderReader,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, OperationError> {
    caller.signed_in()?;
    let mut params = QueryParams::new(&req);
    let customer = params.optional("customer_id", |s| CustomerId::parse_field("customer_id", s));
    let (limit, after) = params.page::<OrderKey>();
    params.finish()?;
    let customer_id = caller.customer_for(customer)?;
    let page = store
        .list_orders(&OrderQuery {
            customer_id,
            limit,
            after,
        })
        .await
        .context("failed to list orders")?;
    Ok(stockroom_http::json(StatusCode::OK, &page))
}

/// The order `id`, provided the caller may see it: its customer's or an administrator's.
/// Another customer's order is as not found as one that does not exist.
async fn own_order(
    store: &dyn OrderReader,
    caller: &Caller,
    id: &OrderId,
) -> Result<Option<Order>, anyhow::Error> {
    Ok(store
        .get_order(id)
        .await?
        .filter(|order| caller.may_access(&order.customer_id)))
}

/// `GET /orders/{id}`: the caller's own order (any order for an administrator).
#[tracing::instrument(skip_all, fields(route = "GET /orders/{id}"))]
pub async fn get_order(
    store: &dyn OrderReader,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, GetOrderError> {
    caller.signed_in()?;
    let id = order_id(&req)?;
    match own_order(store, &caller, &id)
        .await
        .map_err(GetOrderError::Unexpected)?
    {
        Some(order) => Ok(stockroom_http::json(StatusCode::OK, &order)),
        None => Err(GetOrderError::NotFound(id)),
    }
}

async fn change(
    store: &dyn OrderWriter,
    id: OrderId,
    to: OrderStatus,
) -> Result<Response<Body>, ChangeOrderError> {
    let order = store.change_status(&id, to, timestamp::now()).await?;
    tracing::info!(order_id = %id, status = %to, "order status changed");
    Ok(stockroom_http::json(StatusCode::OK, &order))
}

/// `PATCH /orders/{id} {status}`: moves the order along its lifecycle, and its stock with it.
/// Administrators only.
#[tracing::instrument(skip_all, fields(route = "PATCH /orders/{id}"))]
pub async fn update_order_status(
    store: &dyn OrderWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, ChangeOrderError> {
    caller.admin()?;
    let id = order_id(&req)?;
    let input: StatusInput = json_body(&req)?;
    let to = input
        .status
        .ok_or_else(|| FieldError::new("status", "is required"))
        .and_then(|s| OrderStatus::parse(&s))
        .map_err(RequestError::from)?;
    change(store, id, to).await
}

/// `POST /orders/{id}/cancel`: cancels a confirmed order and returns its units to `available`.
/// The caller's own order (any order for an administrator); an order's customer never
/// changes, so reading it first decides for the write too.
#[tracing::instrument(skip_all, fields(route = "POST /orders/{id}/cancel"))]
pub async fn cancel_order(
    store: &dyn OrdersStore,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, ChangeOrderError> {
    caller.signed_in()?;
    let id = order_id(&req)?;
    if own_order(store, &caller, &id)
        .await
        .map_err(ChangeOrderError::Unexpected)?
        .is_none()
    {
        return Err(ChangeOrderError::NotFound(id));
    }
    change(store, id, OrderStatus::Cancelled).await
}
