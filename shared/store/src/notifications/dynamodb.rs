//! The notifications port over DynamoDB: the layout of [`crate::notifications::items`].
//!
//! Recording is one `PutItem` conditional on `attribute_not_exists(pk)`; when a notification
//! with the id exists the failed condition returns it (`ReturnValuesOnConditionCheckFailure`),
//! so a replay learns whether it was sent in the same one call. Marking it sent is one
//! `UpdateItem`. A list reads the index of its most selective filter (order, product, kind,
//! else all by time) backwards. The order and product indexes are one `Query` each (with the
//! other filters as a `FilterExpression`). The kind and time indexes are sharded and project
//! keys only: a list queries all [`SHARDS`] partitions side by side, merges their keys newest
//! first, and reads the page's notifications with one `BatchGetItem`.

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

use crate::dynamodb::{Item, batch_get, s, sdk, to_item};
use crate::notifications::items::{
    BY_KIND_INDEX, BY_ORDER_INDEX, BY_PRODUCT_INDEX, BY_TIME_INDEX, NOTIFICATION_SK,
    NotificationItem, SHARDS, kind_shard, notification_pk, time_shard,
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

/// The index `query` reads, its key condition's attribute, and the value (or for a sharded
/// index, the values of all its shards): the most selective filter.
fn index_of(query: &NotificationQuery) -> (&'static str, &'static str, Vec<String>) {
    if let Some(order) = &query.order_id {
        (BY_ORDER_INDEX, "order_id", vec![order.to_string()])
    } else if let Some(product) = &query.product_id {
        (BY_PRODUCT_INDEX, "product_id", vec![product.to_string()])
    } else if let Some(kind) = query.kind {
        let shards = (0..SHARDS).map(|s| kind_shard(kind, s)).collect();
        (BY_KIND_INDEX, "kind_shard", shards)
    } else {
        (BY_TIME_INDEX, "time_shard", (0..SHARDS).map(time_shard).collect())
    }
}

impl DynamoNotifications {
    /// Up to `fetch` items of one partition `value` of `index`, newest first, that match the
    /// filters `query` has besides the index's own: read on through pages a filter left short.
    async fn query_partition(
        &self,
        query: &NotificationQuery,
        index: &'static str,
        attribute: &'static str,
        value: String,
    ) -> anyhow::Result<Vec<Item>> {
        let fetch = query.limit.fetch_size();
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
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
            // Only the unsharded indexes (ALL projection) are read with filters: the sharded
            // ones are chosen when kind is the only filter, and it is their key.
            let mut filters = Vec::new();
            if let (Some(product), false) = (&query.product_id, attribute == "product_id") {
                filters.push("product_id = :p");
                request = request.expression_attribute_values(":p", s(product.to_string()));
            }
            if let (Some(kind), false) = (query.kind, attribute == "kind_shard") {
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
            found.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() && found.len() < fetch => start = Some(key),
                _ => break,
            }
        }
        Ok(found)
    }
}

/// An index entry's `listed` (its sort key), for merging shards newest first.
fn listed(item: &Item) -> anyhow::Result<&str> {
    item.get("listed")
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .context("a notification's index entry has no `listed`")
}

#[async_trait]
impl NotificationReader for DynamoNotifications {
    #[tracing::instrument(skip_all, fields(store = "dynamodb"))]
    async fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> anyhow::Result<Page<Notification>> {
        let (index, attribute, values) = index_of(query);
        let sharded = values.len() > 1;
        let partitions = futures_util::future::try_join_all(
            values
                .into_iter()
                .map(|value| self.query_partition(query, index, attribute, value)),
        )
        .await?;
        let mut entries: Vec<Item> = partitions.into_iter().flatten().collect();
        if sharded {
            // Each shard gave its newest `fetch`: the newest `fetch` of all are among them.
            let mut keyed = entries
                .into_iter()
                .map(|item| Ok((listed(&item)?.to_owned(), item)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            keyed.sort_by(|a, b| b.0.cmp(&a.0));
            keyed.truncate(query.limit.fetch_size());
            let keys = keyed
                .into_iter()
                .map(|(_, item)| {
                    let pk = item.get("pk").cloned().context("an index entry has no pk")?;
                    Ok(HashMap::from([
                        (String::from("pk"), pk),
                        (String::from("sk"), s(NOTIFICATION_SK)),
                    ]))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            entries = batch_get(
                &self.client,
                &self.table,
                keys,
                false,
                "failed to read listed notifications",
            )
            .await?;
        }
        let mut found = entries
            .into_iter()
            .map(|item| stored(item)?.into_notification())
            .collect::<anyhow::Result<Vec<_>>>()?;
        found.sort_by_key(|n| std::cmp::Reverse(n.list_key()));
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
