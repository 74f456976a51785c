//! The five orders handlers. Each parses its request into domain values, calls its store port
//! once, and answers success or its operation's error.

use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use stockroom_domain::orders::{
    CustomerId, IdempotencyKey, OrderId, OrderKey, OrderRequest, OrderStatus, RawLine,
};
use stockroom_domain::{FieldError, timestamp};
use stockroom_http::{
    Body, QueryParams, Request, RequestError, Response, json_body, path_param, respond,
};
use stockroom_store::orders::{OrderQuery, OrderReader, OrderWriter, PlaceOrder};

use crate::errors::{ChangeOrderError, GetOrderError, ListOrdersError, PlaceOrderError};

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
    customer_id: Option<String>,
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

/// The order the request asks for, with every bad field (body and key) reported at once.
fn place_request(req: &Request) -> Result<PlaceOrder, RequestError> {
    let key = idempotency_key(req);
    let input: PlaceOrderInput = json_body(req)?;
    let lines: Option<Vec<RawLine>> = input.items.map(|items| {
        items
            .into_iter()
            .map(|l| RawLine {
                product_id: l.product_id,
                quantity: l.quantity,
            })
            .collect()
    });
    let request = OrderRequest::parse(input.customer_id.as_deref(), lines.as_deref());
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

/// `POST /orders {customer_id, items:[{product_id, quantity}]}`: prices the order from the
/// catalog and reserves its stock in one transaction. With an `Idempotency-Key` already used
/// for the same body, answers that first order again (`Idempotent-Replayed: true`).
#[tracing::instrument(skip_all, fields(route = "POST /orders"))]
pub async fn place_order(store: &dyn OrderWriter, req: Request) -> Response<Body> {
    respond(
        async {
            let order = place_request(&req)?;
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
            Ok::<_, PlaceOrderError>(response)
        }
        .await,
    )
}

/// `GET /orders?customer_id=&limit=&cursor=`: one page of a customer's orders, newest first.
#[tracing::instrument(skip_all, fields(route = "GET /orders"))]
pub async fn list_orders(store: &dyn OrderReader, req: Request) -> Response<Body> {
    respond(
        async {
            let mut params = QueryParams::new(&req);
            let customer =
                params.required("customer_id", |s| CustomerId::parse_field("customer_id", s));
            let (limit, after) = params.page::<OrderKey>();
            params.finish()?;
            let Some(customer_id) = customer else {
                return Err(RequestError::Validation(vec![FieldError::new(
                    "customer_id",
                    "is required",
                )])
                .into());
            };
            let page = store
                .list_orders(&OrderQuery {
                    customer_id,
                    limit,
                    after,
                })
                .await
                .map_err(ListOrdersError::Unexpected)?;
            Ok::<_, ListOrdersError>(stockroom_http::json(StatusCode::OK, &page))
        }
        .await,
    )
}

/// `GET /orders/{id}`.
#[tracing::instrument(skip_all, fields(route = "GET /orders/{id}"))]
pub async fn get_order(store: &dyn OrderReader, req: Request) -> Response<Body> {
    respond(
        async {
            let id = order_id(&req)?;
            match store
                .get_order(&id)
                .await
                .map_err(GetOrderError::Unexpected)?
            {
                Some(order) => Ok(stockroom_http::json(StatusCode::OK, &order)),
                None => Err(GetOrderError::NotFound(id)),
            }
        }
        .await,
    )
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
#[tracing::instrument(skip_all, fields(route = "PATCH /orders/{id}"))]
pub async fn update_order_status(store: &dyn OrderWriter, req: Request) -> Response<Body> {
    respond(
        async {
            let id = order_id(&req)?;
            let input: StatusInput = json_body(&req)?;
            let to = input
                .status
                .ok_or_else(|| FieldError::new("status", "is required"))
                .and_then(|s| OrderStatus::parse(&s))
                .map_err(RequestError::from)?;
            change(store, id, to).await
        }
        .await,
    )
}

/// `POST /orders/{id}/cancel`: cancels a confirmed order and returns its units to `available`.
#[tracing::instrument(skip_all, fields(route = "POST /orders/{id}/cancel"))]
pub async fn cancel_order(store: &dyn OrderWriter, req: Request) -> Response<Body> {
    respond(
        async {
            let id = order_id(&req)?;
            change(store, id, OrderStatus::Cancelled).await
        }
        .await,
    )
}
