//! The catalog port over the embedded store.

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};
use stockroom_domain::ProductId;
use stockroom_domain::catalog::{PriceChange, Product, ProductDetails};
use stockroom_domain::page::Page;

use crate::sqlite::{SqliteStore, get_item, list_by_entity, query_items, write_item, write_transaction};
use crate::catalog::{
    PriceHistoryReader, ProductQuery, ProductReader, ProductWriter, WriteError, page_of,
};
use crate::catalog::items::{self as items, PriceItem, ProductItem};

/// The catalog's own index: the `by-category` GSI, products of one category in id order.
pub(crate) const SCHEMA: &str = "
CREATE INDEX IF NOT EXISTS items_by_category
    ON items (tbl, json_extract(body, '$.category'), json_extract(body, '$.id'));
";

/// The stored product `id`, read inside a write transaction that goes on to change it.
fn product_for_write(tx: &Transaction<'_>, id: &ProductId) -> Result<ProductItem, WriteError> {
    get_item::<ProductItem>(tx, super::TABLE, &items::product_pk(id), items::PRODUCT_SK)?
        .ok_or_else(|| WriteError::NotFound(id.clone()))
}

#[async_trait]
impl ProductReader for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite", product_id = %id))]
    async fn get_product(&self, id: &ProductId) -> anyhow::Result<Option<Product>> {
        let pk = items::product_pk(id);
        self.with_reader(move |conn| -> anyhow::Result<_> {
            get_item::<ProductItem>(conn, super::TABLE, &pk, items::PRODUCT_SK)?
                .map(ProductItem::into_product)
                .transpose()
        })
        .await
        .context("failed to get a product from the embedded store")
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite"))]
    async fn list_products(&self, query: &ProductQuery) -> anyhow::Result<Page<Product>> {
        let query = query.clone();
        self.with_reader(move |conn| -> anyhow::Result<_> {
            let after = query.after.as_ref().map(ToString::to_string);
            let fetch = query.limit.fetch_size();
            let stored: Vec<ProductItem> = match &query.category {
                Some(category) => query_items(
                    conn,
                    "SELECT body FROM items WHERE tbl = ?1 AND json_extract(body, '$.category') = ?2
                     AND json_extract(body, '$.id') > ?3 AND sk = ?4
                     ORDER BY json_extract(body, '$.id') LIMIT ?5",
                    params![
                        super::TABLE.name,
                        category.as_str(),
                        after.as_deref().unwrap_or_default(),
                        items::PRODUCT_SK,
                        i64::try_from(fetch).unwrap_or(i64::MAX)
                    ],
                )?,
                None => list_by_entity(conn, super::TABLE, items::PRODUCT_ENTITY, after.as_deref(), fetch)?,
            };
            let products = stored
                .into_iter()
                .map(ProductItem::into_product)
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(page_of(products, query.limit))
        })
        .await
        .context("failed to list products from the embedded store")
    }
}

#[async_trait]
impl ProductWriter for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite", product_id = %product.id))]
    async fn create_product(&self, product: &Product) -> Result<(), WriteError> {
        let product = product.clone();
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            let item = ProductItem::new(&product, 1);
            if get_item::<ProductItem>(&tx, super::TABLE, &item.pk, &item.sk)?.is_some() {
                return Err(WriteError::AlreadyExists(product.id.clone()));
            }
            write_item(&tx, super::TABLE, &item.pk, &item.sk, Some(&item))?;
            let price = PriceItem::new(&product.id, &product.initial_price(), 1);
            write_item(&tx, super::TABLE, &price.pk, &price.sk, Some(&price))?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite", product_id = %id))]
    async fn replace_product(
        &self,
        id: &ProductId,
        details: ProductDetails,
        now: DateTime<Utc>,
    ) -> Result<Product, WriteError> {
        let id = id.clone();
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            let old = product_for_write(&tx, &id)?;
            let (next, item, price) = items::replacement(old, details, now)?;
            write_item(&tx, super::TABLE, &item.pk, &item.sk, Some(&item))?;
            if let Some(price) = price {
                write_item(&tx, super::TABLE, &price.pk, &price.sk, Some(&price))?;
            }
            tx.commit()?;
            Ok(next)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite", product_id = %id))]
    async fn delete_product(&self, id: &ProductId) -> Result<Product, WriteError> {
        let id = id.clone();
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            let old = product_for_write(&tx, &id)?;
            write_item(&tx, super::TABLE, &old.pk, &old.sk, None::<&ProductItem>)?;
            tx.commit()?;
            Ok(old.into_product()?)
        })
        .await
    }
}

#[async_trait]
impl PriceHistoryReader for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite", product_id = %id))]
    async fn price_history(
        &self,
        id: &ProductId,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Option<(Product, Vec<PriceChange>)>> {
        let pk = items::product_pk(id);
        self.with_reader(move |conn| -> anyhow::Result<_> {
            let tx = conn.transaction()?;
            let Some(product) = get_item::<ProductItem>(&tx, super::TABLE, &pk, items::PRODUCT_SK)?
            else {
                return Ok(None);
            };
            let product = product.into_product()?;
            let changes = query_items::<PriceItem>(
                &tx,
                "SELECT body FROM items WHERE tbl = ?1 AND pk = ?2 AND sk >= ?3 AND sk < 'PRICE$'
                 ORDER BY sk",
                params![super::TABLE.name, pk, items::price_sk_from(&since)],
            )?
            .into_iter()
            .map(PriceItem::into_change)
            .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(Some((
                product.clone(),
                items::own_history(&product, changes),
            )))
        })
        .await
        .context("failed to read price history from the embedded store")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::build::{details as named, id as product_id};
    use stockroom_domain::timestamp;

    fn details(price: i64) -> ProductDetails {
        named("Mug", price, None)
    }

    #[tokio::test]
    async fn every_write_lands_in_the_change_feed_with_old_and_new_images_in_order() {
        let store = SqliteStore::in_memory().unwrap();
        let id = product_id("mug");
        let created = Product::new(id.clone(), details(500), timestamp::now());
        store.create_product(&created).await.unwrap();
        store
            .replace_product(&id, details(400), timestamp::now())
            .await
            .unwrap();
        store.delete_product(&id).await.unwrap();

        let feed = store.changes_after(crate::catalog::TABLE, 0, 100).await.unwrap();
        let summary: Vec<(&str, &str)> = feed
            .iter()
            .map(|c| (c.kind.as_str(), c.sk.split('#').next().unwrap()))
            .collect();
        assert_eq!(
            summary,
            [
                ("INSERT", "PRODUCT"),
                ("INSERT", "PRICE"),
                ("MODIFY", "PRODUCT"),
                ("INSERT", "PRICE"),
                ("REMOVE", "PRODUCT")
            ]
        );
        assert!(feed.windows(2).all(|w| w[0].seq < w[1].seq));
        let modify = &feed[2];
        assert_eq!(modify.old_image.as_ref().unwrap()["price"], 500);
        assert_eq!(modify.new_image.as_ref().unwrap()["price"], 400);
        assert_eq!(modify.new_image.as_ref().unwrap()["version"], 2);
        let remove = &feed[4];
        assert_eq!(remove.old_image.as_ref().unwrap()["price"], 400);
        assert!(remove.new_image.is_none());
        assert!(
            feed.iter()
                .all(|c| c.table == "catalog" && c.pk == "PRODUCT#mug")
        );

        // Resuming after a position returns only what came later.
        assert_eq!(
            store
                .changes_after(crate::catalog::TABLE, feed[3].seq, 100)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn two_handles_on_one_file_see_each_others_writes() {
        let path = crate::testing::temp_store_path();
        let a = SqliteStore::open(&path).unwrap();
        let b = SqliteStore::open(&path).unwrap();
        let id = product_id("shared");
        a.create_product(&Product::new(id.clone(), details(1), timestamp::now()))
            .await
            .unwrap();
        assert!(b.get_product(&id).await.unwrap().is_some());
        let err = b
            .create_product(&Product::new(id.clone(), details(2), timestamp::now()))
            .await
            .unwrap_err();
        assert!(matches!(err, WriteError::AlreadyExists(_)));
    }
}
