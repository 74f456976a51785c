//! The seven inventory handlers. Each parses its request into domain values, calls its store
//! port once, and answers success or its operation's error.

use anyhow::Context as _;
use http::StatusCode;
use serde::Deserialize;
use stockroom_domain::inventory::{Available, MAX_SHARDS, Quantity, Shards, StockMove};
use stockroom_domain::{FieldError, ProductId, timestamp};
use stockroom_http::{
    Body, Caller, OperationError, QueryParams, Request, RequestError, Response, json_body,
    path_param,
};
use stockroom_store::inventory::{StockQuery, StockReader, StockWriter};

use crate::errors::{ChangeStockError, DeleteStockError, GetStockError, SetStockError};

fn product_id(req: &Request) -> Result<ProductId, RequestError> {
    path_param(req, "product_id", "product", ProductId::parse)
}

/// `PUT /stock/{product_id}`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetStockInput {
    available: Option<i64>,
    /// How many shards to split the level into; the shards it has when left out (`null` is
    /// refused: it is not a number).
    #[serde(default, deserialize_with = "stockroom_http::sent")]
    shards: Option<Option<i64>>,
}

/// The body of decrement, reserve and release.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuantityInput {
    quantity: Option<i64>,
}

fn required(field: &str) -> RequestError {
    RequestError::Validation(vec![FieldError::new(field, "is required")])
}

/// `GET /stock?limit=&cursor=`: one page of stock levels in product id order.
#[tracing::instrument(skip_all, fields(route = "GET /stock"))]
pub async fn list_stock(
    store: &dyn StockReader,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, OperationError> {
    caller.admin()?;
    let mut params = QueryParams::new(&req);
    let (limit, after) = params.page::<ProductId>();
    params.finish()?;
    let page = store
        .list_stock(&StockQuery { limit, after })
        .await
        .context("failed to list stock levels")?;
    Ok(stockroom_http::json(StatusCode::OK, &page))
}

/// `GET /stock/{product_id}`.
#[tracing::instrument(skip_all, fields(route = "GET /stock/{product_id}"))]
pub async fn get_stock(
    store: &dyn StockReader,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, GetStockError> {
    caller.admin()?;
    let id = product_id(&req)?;
    match store
        .get_stock(&id)
        .await
        .map_err(GetStockError::Unexpected)?
    {
        Some(level) => Ok(stockroom_http::json(StatusCode::OK, &level)),
        None => Err(GetStockError::NoStockLevel(id)),
    }
}

/// `PUT /stock/{product_id} {available, shards?}`: sets the units available of a product in
/// the catalog, creating its level if needed, split over `shards` (for a hot product: orders
/// then write different items); what is reserved stays.
#[tracing::instrument(skip_all, fields(route = "PUT /stock/{product_id}"))]
pub async fn set_stock(
    store: &dyn StockWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, SetStockError> {
    caller.admin()?;
    let id = product_id(&req)?;
    let input: SetStockInput = json_body(&req)?;
    let available = input
        .available
        .ok_or_else(|| FieldError::new("available", "is required"))
        .and_then(Available::new);
    let shards = match input.shards {
        None => Ok(None),
        Some(Some(n)) => Shards::new(n).map(Some),
        Some(None) => Err(FieldError::new(
            "shards",
            format!("must be a whole number from 1 to {MAX_SHARDS}"),
        )),
    };
    let (available, shards) = match (available, shards) {
        (Ok(available), Ok(shards)) => (available, shards),
        (available, shards) => {
            let errors = [available.err(), shards.err()]
                .into_iter()
                .flatten()
                .collect();
            return Err(RequestError::Validation(errors).into());
        }
    };
    let level = store
        .set_stock(&id, available, shards, timestamp::now())
        .await?;
    tracing::info!(product_id = %id, available = level.available, shards = level.shards, "stock set");
    Ok(stockroom_http::json(StatusCode::OK, &level))
}

async fn change(
    store: &dyn StockWriter,
    caller: Caller,
    req: Request,
    mv: StockMove,
) -> Result<Response<Body>, ChangeStockError> {
    caller.admin()?;
    let id = product_id(&req)?;
    let input: QuantityInput = json_body(&req)?;
    let quantity = input
        .quantity
        .ok_or_else(|| required("quantity"))
        .and_then(|n| Quantity::new(n).map_err(RequestError::from))?;
    let level = store
        .move_stock(&id, mv, quantity, timestamp::now())
        .await?;
    tracing::info!(product_id = %id, ?mv, quantity = quantity.get(), available = level.available, "stock changed");
    Ok(stockroom_http::json(StatusCode::OK, &level))
}

/// `POST /stock/{product_id}/decrement {quantity}`: takes units out of `available`, only if
/// that many are there.
#[tracing::instrument(skip_all, fields(route = "POST /stock/{product_id}/decrement"))]
pub async fn decrement_stock(
    store: &dyn StockWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, ChangeStockError> {
    change(store, caller, req, StockMove::Decrement).await
}

/// `POST /stock/{product_id}/reserve {quantity}`: moves units from `available` to `reserved`.
#[tracing::instrument(skip_all, fields(route = "POST /stock/{product_id}/reserve"))]
pub async fn reserve_stock(
    store: &dyn StockWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, ChangeStockError> {
    change(store, caller, req, StockMove::Reserve).await
}

/// `POST /stock/{product_id}/release {quantity}`: moves reserved units back to `available`.
#[tracing::instrument(skip_all, fields(route = "POST /stock/{product_id}/release"))]
pub async fn release_stock(
    store: &dyn StockWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, ChangeStockError> {
    change(store, caller, req, StockMove::Release).await
}

/// `DELETE /stock/{product_id}`: removes a level with nothing reserved.
#[tracing::instrument(skip_all, fields(route = "DELETE /stock/{product_id}"))]
pub async fn delete_stock(
    store: &dyn StockWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, DeleteStockError> {
    caller.admin()?;
    let id = product_id(&req)?;
    store.delete_stock(&id).await?;
    tracing::info!(product_id = %id, "stock level deleted");
    Ok(stockroom_http::no_content())
}
