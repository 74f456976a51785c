//! The six catalog handlers. Each parses its request into domain values, calls its store port,
//! and answers success or its operation's error through `stockroom_http::error_response`.

use anyhow::Context as _;
use http::StatusCode;
use stockroom_domain::catalog::Product;
use stockroom_domain::prices::{self, Days};
use stockroom_domain::{ProductId, timestamp};
use stockroom_http::{
    Body, Caller, OperationError, QueryParams, Request, RequestError, Response, json_body,
    path_param,
};
use stockroom_store::catalog::{PriceHistoryReader, ProductQuery, ProductReader, ProductWriter};

use crate::errors::{ChangeProductError, CreateProductError, GetProductError};
use crate::input::ProductInput;

fn product_id(req: &Request) -> Result<ProductId, RequestError> {
    path_param(req, "id", "product", ProductId::parse)
}

/// `GET /products?limit=&cursor=&category=`: one page of products in id order.
#[tracing::instrument(skip_all, fields(route = "GET /products"))]
pub async fn list_products(
    store: &dyn ProductReader,
    _caller: Caller,
    req: Request,
) -> Result<Response<Body>, OperationError> {
    let mut params = QueryParams::new(&req);
    let (limit, after) = params.page::<ProductId>();
    let category = params.optional("category", stockroom_domain::catalog::Category::parse);
    params.finish()?;
    let query = ProductQuery {
        category,
        limit,
        after,
    };
    let page = store
        .list_products(&query)
        .await
        .context("failed to list products")?;
    Ok(stockroom_http::json(StatusCode::OK, &page))
}

/// `POST /products`: creates a product, with the client's id or a new ULID.
#[tracing::instrument(skip_all, fields(route = "POST /products"))]
pub async fn create_product(
    store: &dyn ProductWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, CreateProductError> {
    caller.admin()?;
    let input: ProductInput = json_body(&req)?;
    let (id, details) = input.into_details().map_err(RequestError::Validation)?;
    let product = Product::new(
        id.unwrap_or_else(ProductId::generate),
        details,
        timestamp::now(),
    );
    store.create_product(&product).await?;
    tracing::info!(product_id = %product.id, "product created");
    let location = format!("/products/{}", product.id);
    Ok(stockroom_http::created(&location, &product))
}

/// `GET /products/{id}`.
#[tracing::instrument(skip_all, fields(route = "GET /products/{id}"))]
pub async fn get_product(
    store: &dyn ProductReader,
    _caller: Caller,
    req: Request,
) -> Result<Response<Body>, GetProductError> {
    let id = product_id(&req)?;
    match store
        .get_product(&id)
        .await
        .map_err(GetProductError::Unexpected)?
    {
        Some(product) => Ok(stockroom_http::json(StatusCode::OK, &product)),
        None => Err(GetProductError::NotFound(id)),
    }
}

/// `PUT /products/{id}`: replaces the client-set fields; a moved price is recorded.
#[tracing::instrument(skip_all, fields(route = "PUT /products/{id}"))]
pub async fn update_product(
    store: &dyn ProductWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, ChangeProductError> {
    caller.admin()?;
    let id = product_id(&req)?;
    let input: ProductInput = json_body(&req)?;
    let details = input.into_replacement().map_err(RequestError::Validation)?;
    let product = store
        .replace_product(&id, details, timestamp::now())
        .await?;
    Ok(stockroom_http::json(StatusCode::OK, &product))
}

/// `DELETE /products/{id}`.
#[tracing::instrument(skip_all, fields(route = "DELETE /products/{id}"))]
pub async fn delete_product(
    store: &dyn ProductWriter,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, ChangeProductError> {
    caller.admin()?;
    let id = product_id(&req)?;
    store.delete_product(&id).await?;
    tracing::info!(product_id = %id, "product deleted");
    Ok(stockroom_http::no_content())
}

/// `GET /products/{id}/prices?days=N`: the daily price over the last N days (default 30).
#[tracing::instrument(skip_all, fields(route = "GET /products/{id}/prices"))]
pub async fn get_product_prices(
    store: &dyn PriceHistoryReader,
    _caller: Caller,
    req: Request,
) -> Result<Response<Body>, GetProductError> {
    let id = product_id(&req)?;
    let mut params = QueryParams::new(&req);
    let days = params.optional("days", Days::parse).unwrap_or_default();
    params.finish()?;
    let today = timestamp::now().date_naive();
    let history = store
        .price_history(&id, days.window_start(today))
        .await
        .map_err(GetProductError::Unexpected)?;
    let Some((product, changes)) = history else {
        return Err(GetProductError::NotFound(id));
    };
    let summary = prices::summarize(&product, &changes, days, today);
    Ok(stockroom_http::json(StatusCode::OK, &summary))
}
