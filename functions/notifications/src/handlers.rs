//! `GET /notifications`: what was sent, newest first: every notification for operators, those
//! of one of their own orders for a customer.

use anyhow::Context as _;
use http::StatusCode;
use stockroom_domain::ProductId;
use stockroom_domain::notifications::{NotificationKey, NotificationKind};
use stockroom_domain::orders::OrderId;
use stockroom_http::{Body, Caller, OperationError, QueryParams, Request, Response};
use stockroom_store::notifications::{NotificationQuery, NotificationReader};

/// `GET /notifications?order_id=&product_id=&kind=&limit=&cursor=`: every filter optional for
/// an administrator, an unknown kind a 400. A customer must name an `order_id` and sees only
/// notifications addressed to them: another customer's order lists nothing, like an order that
/// does not exist (all of an order's notifications are its customer's).
#[tracing::instrument(skip_all, fields(route = "GET /notifications"))]
pub async fn list_notifications(
    store: &dyn NotificationReader,
    caller: Caller,
    req: Request,
) -> Result<Response<Body>, OperationError> {
    let principal = caller.signed_in()?;
    let mut params = QueryParams::new(&req);
    let order_id = params.optional("order_id", |s| OrderId::parse_field("order_id", s));
    let product_id = params.optional("product_id", |s| ProductId::parse_field("product_id", s));
    let kind = params.optional("kind", NotificationKind::parse);
    let (limit, after) = params.page::<NotificationKey>();
    params.finish()?;
    if !principal.admin && order_id.is_none() {
        return Err(stockroom_http::RequestError::Forbidden(String::from(
            "Only administrators list every notification; a customer lists those of one of their \
             own orders (order_id).",
        ))
        .into());
    }
    let mut page = store
        .list_notifications(&NotificationQuery {
            order_id,
            product_id,
            kind,
            limit,
            after,
        })
        .await
        .context("failed to list notifications")?;
    if !principal.admin {
        page.items
            .retain(|n| n.customer_id.as_ref() == Some(&principal.customer_id));
    }
    Ok(stockroom_http::json(StatusCode::OK, &page))
}
