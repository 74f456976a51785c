//! `GET /notifications`: what was sent, newest first, for tests and operators.

use anyhow::Context as _;
use http::StatusCode;
use stockroom_domain::ProductId;
use stockroom_domain::notifications::{NotificationKey, NotificationKind};
use stockroom_domain::orders::OrderId;
use stockroom_http::{Body, Caller, OperationError, QueryParams, Request, Response};
use stockroom_store::notifications::{NotificationQuery, NotificationReader};

/// `GET /notifications?order_id=&product_id=&kind=&limit=&cursor=`: every filter optional,
/// an unknown kind a 400.
#[tracing::instrument(skip_all, fields(route = "GET /notifications"))]
pub async fn list_notifications(
    store: &dyn NotificationReader,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, OperationError> {
    caller.admin()?;
    let mut params = QueryParams::new(&req);
    let order_id = params.optional("order_id", |s| OrderId::parse_field("order_id", s));
    let product_id = params.optional("product_id", |s| ProductId::parse_field("product_id", s));
    let kind = params.optional("kind", NotificationKind::parse);
    let (limit, after) = params.page::<NotificationKey>();
    params.finish()?;
    let page = store
        .list_notifications(&NotificationQuery {
            order_id,
            product_id,
            kind,
            limit,
            after,
        })
        .await
        .context("failed to list notifications")?;
    Ok(stockroom_http::json(StatusCode::OK, &page))
}
