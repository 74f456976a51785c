//! The catalog port over DynamoDB: the single-table layout of [`crate::catalog::items`].
//!
//! Every operation is one request where it can be: a read is one `GetItem` or `Query`, a create
//! is one `TransactWriteItems` (product and first price together), a delete one `DeleteItem`.
//! A replace is a `GetItem` and a write conditional on the version it read, tried again when
//! another writer got in between (a changed version, or a transaction in flight on the item).

use anyhow::Context as _;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::builders::PutBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use stockroom_domain::ProductId;
use stockroom_domain::catalog::{PriceChange, Product, ProductDetails};
use stockroom_domain::page::Page;

use crate::dynamodb::{Cancelled, Item, WRITE_ATTEMPTS, s, sdk, to_item};
use crate::catalog::{PriceHistoryReader, ProductQuery, ProductReader, ProductWriter, WriteError};
use crate::items::BY_ENTITY_INDEX;
use crate::catalog::items::{self as items, PriceItem, ProductItem};

/// What a create's cancelled transaction means: the id exists, or another transaction held it
/// at that moment (a 409 either way; only the second may succeed when tried again).
fn create_failure(id: &ProductId, cancelled: Cancelled) -> WriteError {
    match cancelled {
        Cancelled::ConditionFailed(_) => WriteError::AlreadyExists(id.clone()),
        Cancelled::Conflict => WriteError::Contended(id.clone()),
    }
}

/// The catalog in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoCatalog {
    client: Client,
    table: String,
}

impl DynamoCatalog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl DynamoCatalog {
    fn put_builder(&self, item: Item) -> PutBuilder {
        Put::builder().table_name(&self.table).set_item(Some(item))
    }

    fn put(&self, item: Item) -> anyhow::Result<Put> {
        self.put_builder(item)
            .build()
            .context("failed to build a Put")
    }

    /// Writes `item` if its stored version is still `version`, with `price` beside it in the
    /// same transaction when the price moved.
    async fn write_replacement(
        &self,
        item: &ProductItem,
        version: u64,
        price: Option<PriceItem>,
    ) -> Result<bool, WriteError> {
        let condition = "version = :v";
        let version = AttributeValue::N(version.to_string());
        let Some(price) = price else {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(item)?))
                .condition_expression(condition)
                .expression_attribute_values(":v", version)
                .send()
                .await;
            return match result {
                Ok(_) => Ok(true),
                // Changed since it was read, or held by a transaction right now: read again.
                Err(err)
                    if matches!(
                        err.as_service_error(),
                        Some(
                            PutItemError::ConditionalCheckFailedException(_)
                                | PutItemError::TransactionConflictException(_)
                        )
                    ) =>
                {
                    Ok(false)
                }
                Err(err) => Err(sdk(err, "failed to put a product").into()),
            };
        };
        let product = self
            .put_builder(to_item(item)?)
            .condition_expression(condition)
            .expression_attribute_values(":v", version)
            .build()
            .context("failed to build a Put")?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(product).build())
            .transact_items(
                TransactWriteItem::builder()
                    .put(self.put(to_item(&price)?)?)
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // A failed version condition or a conflicting transaction: read again and retry.
            Err(err) if Cancelled::of(&err).is_some() => Ok(false),
            Err(err) => Err(sdk(err, "failed to write a product and its price change").into()),
        }
    }

    async fn get_item(&self, id: &ProductId) -> anyhow::Result<Option<ProductItem>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(items::product_pk(id)))
            .key("sk", s(items::PRODUCT_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk(e, "failed to get a product"))?;
        output
            .item
            .map(|item| {
                serde_dynamo::from_item(item).context("stored product has an unexpected shape")
            })
            .transpose()
    }
}

#[async_trait]
impl ProductReader for DynamoCatalog {
    #[tracing::instrument(skip_all, fields(store = "dynamodb", product_id = %id))]
    async fn get_product(&self, id: &ProductId) -> anyhow::Result<Option<Product>> {
        self.get_item(id)
            .await?
            .map(ProductItem::into_product)
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(store = "dynamodb"))]
    async fn list_products(&self, query: &ProductQuery) -> anyhow::Result<Page<Product>> {
        let (index, key_attr, key_value) = match &query.category {
            Some(category) => (items::BY_CATEGORY_INDEX, "category", category.as_str()),
            None => (BY_ENTITY_INDEX, "entity", items::PRODUCT_ENTITY),
        };
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_names("#k", key_attr)
            .expression_attribute_values(":k", s(key_value))
            // One more than asked for tells whether another page exists, in this same request.
            .limit(i32::try_from(query.limit.fetch_size()).unwrap_or(i32::MAX));
        request = match &query.after {
            Some(after) => request
                .key_condition_expression("#k = :k AND id > :after")
                .expression_attribute_values(":after", s(after.to_string())),
            None => request.key_condition_expression("#k = :k"),
        };
        let output = request
            .send()
            .await
            .map_err(|e| sdk(e, "failed to query products"))?;
        let stored: Vec<ProductItem> = serde_dynamo::from_items(output.items.unwrap_or_default())
            .context("stored product has an unexpected shape")?;
        let products = stored
            .into_iter()
            .map(ProductItem::into_product)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(crate::catalog::page_of(products, query.limit))
    }
}

#[async_trait]
impl ProductWriter for DynamoCatalog {
    #[tracing::instrument(skip_all, fields(store = "dynamodb", product_id = %product.id))]
    async fn create_product(&self, product: &Product) -> Result<(), WriteError> {
        let item = self
            .put_builder(to_item(&ProductItem::new(product, 1))?)
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .context("failed to build a Put")?;
        let price = self.put(to_item(&PriceItem::new(
            &product.id,
            &product.initial_price(),
            1,
        ))?)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(item).build())
            .transact_items(TransactWriteItem::builder().put(price).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match Cancelled::of(&err) {
                Some(cancelled) => Err(create_failure(&product.id, cancelled)),
                None => Err(sdk(err, "failed to create a product").into()),
            },
        }
    }

    #[tracing::instrument(skip_all, fields(store = "dynamodb", product_id = %id))]
    async fn replace_product(
        &self,
        id: &ProductId,
        details: ProductDetails,
        now: DateTime<Utc>,
    ) -> Result<Product, WriteError> {
        for _ in 0..WRITE_ATTEMPTS {
            let Some(old) = self.get_item(id).await? else {
                return Err(WriteError::NotFound(id.clone()));
            };
            let version = old.version;
            let (next, item, price) = items::replacement(old, details.clone(), now)?;
            if self.write_replacement(&item, version, price).await? {
                return Ok(next);
            }
            tracing::debug!(version, "product changed since it was read; retrying");
        }
        Err(WriteError::Contended(id.clone()))
    }

    #[tracing::instrument(skip_all, fields(store = "dynamodb", product_id = %id))]
    async fn delete_product(&self, id: &ProductId) -> Result<Product, WriteError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(items::product_pk(id)))
            .key("sk", s(items::PRODUCT_SK))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let old: ProductItem =
                    serde_dynamo::from_item(output.attributes.unwrap_or_default())
                        .context("deleted product has an unexpected shape")?;
                Ok(old.into_product()?)
            }
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(WriteError::NotFound(id.clone()))
            }
            // A create or replace of this product is in flight: 409, try again.
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(DeleteItemError::TransactionConflictException(_))
                ) =>
            {
                Err(WriteError::Contended(id.clone()))
            }
            Err(err) => Err(sdk(err, "failed to delete a product").into()),
        }
    }
}

#[async_trait]
impl PriceHistoryReader for DynamoCatalog {
    #[tracing::instrument(skip_all, fields(store = "dynamodb", product_id = %id))]
    async fn price_history(
        &self,
        id: &ProductId,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Option<(Product, Vec<PriceChange>)>> {
        // `PRICE#<since>` .. `PRODUCT`: the window's changes, then the product, in one query.
        let pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :product")
            .expression_attribute_values(":pk", s(items::product_pk(id)))
            .expression_attribute_values(":from", s(items::price_sk_from(&since)))
            .expression_attribute_values(":product", s(items::PRODUCT_SK))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let found: Vec<Item> = pages
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk(e, "failed to query price history"))?;
        let mut product = None;
        let mut changes = Vec::new();
        for item in found {
            let is_product =
                matches!(item.get("sk"), Some(AttributeValue::S(sk)) if sk == items::PRODUCT_SK);
            if is_product {
                let stored: ProductItem = serde_dynamo::from_item(item)
                    .context("stored product has an unexpected shape")?;
                product = Some(stored.into_product()?);
            } else {
                let stored: PriceItem = serde_dynamo::from_item(item)
                    .context("stored price change has an unexpected shape")?;
                changes.push(stored.into_change()?);
            }
        }
        Ok(product.map(|p| {
            let changes = items::own_history(&p, changes);
            (p, changes)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_that_loses_to_a_transaction_in_flight_is_contended_not_a_server_error() {
        let id = ProductId::parse("sku-mug").unwrap();
        assert!(matches!(
            create_failure(&id, Cancelled::ConditionFailed(vec![0])),
            WriteError::AlreadyExists(_)
        ));
        let conflict = create_failure(&id, Cancelled::Conflict);
        assert!(matches!(conflict, WriteError::Contended(_)));
        assert_eq!(
            conflict.to_string(),
            "\"sku-mug\" is being changed by someone else right now; try again."
        );
    }
}
