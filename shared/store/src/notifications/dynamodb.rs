//! The notifications port over DynamoDB: the layout of [`crate::notifications::items`].
//!
//! Recording is one `PutItem` conditional on `attribute_not_exists(pk)`; when a notification
//! with the id exists the failed condition returns it (`ReturnValuesOnConditionCheckFailure`),
//! so a replay learns whether it was sent in the same one call. Marking it sent is one
//! `UpdateItem`. A list is a `Query` on the index of its most selective filter (order, product,
//! kind, else all by time), read backwards, with the other filters as a `FilterExpression`.

use std::collections::HashMap;

use anyhow::Context as _;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use stockroom_domain::notifications::{Delivery, Notification, NotificationId};
use stockroom_domain::page::Page;
use stockroom_domain::timestamp;

use crate::dynamodb::{Item, s, sdk, to_item};
use crate::notifications::items::{
    BY_KIND_INDEX, BY_ORDER_INDEX, BY_PRODUCT_INDEX, BY_TIME_INDEX, NOTIFICATION_ENTITY,
    NOTIFICATION_SK, NotificationItem, notification_pk,
};
use crate::notifications::{NotificationQuery, NotificationReader, NotificationWriter, page_of};

/// Notifications in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoNotifications {
    client: Client,
    table: String,
}

impl DynamoNotifications {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get(&self, id: &NotificationId) -> anyhow::Result<Option<NotificationItem>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(notification_pk(id)))
            .key("sk", s(NOTIFICATION_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk(e, "failed to get a notification"))?;
        output.item.map(stored).transpose()
    }
}

fn stored(item: Item) -> anyhow::Result<NotificationItem> {
    serde_dynamo::from_item(item).context("stored notification has an unexpected shape")
}

/// The index `query` reads, its key condition's attribute and value: the most selective filter.
fn index_of(query: &NotificationQuery) -> (&'static str, &'static str, String) {
    if let Some(order) = &query.order_id {
        (BY_ORDER_INDEX, "order_id", order.to_string())
    } else if let Some(product) = &query.product_id {
        (BY_PRODUCT_INDEX, "product_id", product.to_string())
    } else if let Some(kind) = query.kind {
        (BY_KIND_INDEX, "kind", kind.as_str().to_owned())
    } else {
        (BY_TIME_INDEX, "entity", NOTIFICATION_ENTITY.to_owned())
    }
}

#[async_trait]
impl NotificationReader for DynamoNotifications {
    #[tracing::instrument(skip_all, fields(store = "dynamodb"))]
    async fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> anyhow::Result<Page<Notification>> {
        let (index, attribute, value) = index_of(query);
        let fetch = query.limit.fetch_size();
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        // A filter can leave a page of the index short: read on until the page is full or the
        // index ends.
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .expression_attribute_names("#k", attribute)
                .expression_attribute_values(":k", s(value.clone()))
                .scan_index_forward(false)
                .limit(i32::try_from(fetch - found.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            request = match &query.after {
                Some(after) => request
                    .key_condition_expression("#k = :k AND listed < :before")
                    .expression_attribute_values(":before", s(after.sort_key())),
                None => request.key_condition_expression("#k = :k"),
            };
            let mut filters = Vec::new();
            if let (Some(product), false) = (&query.product_id, attribute == "product_id") {
                filters.push("product_id = :p");
                request = request.expression_attribute_values(":p", s(product.to_string()));
            }
            if let (Some(kind), false) = (query.kind, attribute == "kind") {
                filters.push("#kind = :kind");
                request = request
                    .expression_attribute_names("#kind", "kind")
                    .expression_attribute_values(":kind", s(kind.as_str()));
            }
            if !filters.is_empty() {
                request = request.filter_expression(filters.join(" AND "));
            }
            let output = request
                .send()
                .await
                .map_err(|e| sdk(e, "failed to query notifications"))?;
            for item in output.items.unwrap_or_default() {
                found.push(stored(item)?.into_notification()?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() && found.len() < fetch => start = Some(key),
                _ => break,
            }
        }
        Ok(page_of(found, query.limit))
    }
}

#[async_trait]
impl NotificationWriter for DynamoNotifications {
    #[tracing::instrument(skip_all, fields(store = "dynamodb", notification_id = %notification.id))]
    async fn record(&self, notification: &Notification) -> anyhow::Result<Notification> {
        let item = to_item(&NotificationItem::new(notification))?;
        let err = match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
        {
            Ok(_) => return Ok(notification.clone()),
            Err(err) => err,
        };
        let returned = match err.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(e)) => {
                e.item().filter(|item| !item.is_empty()).cloned()
            }
            _ => return Err(sdk(err, "failed to record a notification")),
        };
        let existing = match returned {
            Some(item) => Some(stored(item)?),
            // A server that does not return the item: read it.
            None => self.get(&notification.id).await?,
        };
        existing
            .context("a notification's record was refused as existing, then not found")?
            .into_notification()
    }

    #[tracing::instrument(skip_all, fields(store = "dynamodb", notification_id = %id))]
    async fn mark_sent(&self, id: &NotificationId, at: DateTime<Utc>) -> anyhow::Result<()> {
        let values: HashMap<String, AttributeValue> = [
            (String::from(":sent"), s(Delivery::Sent.as_str())),
            (String::from(":at"), s(timestamp::format(&at))),
        ]
        .into();
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(notification_pk(id)))
            .key("sk", s(NOTIFICATION_SK))
            .update_expression("SET #status = :sent, sent_at = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| sdk(e, "failed to mark a notification sent"))?;
        Ok(())
    }
}
