//! The notifications port over the embedded store, and the stream consumers' checkpoints in the
//! change feed (the embedded stand-in for an event source mapping's position in a shard).

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension as _, params};
use stockroom_domain::notifications::{Delivery, Notification, NotificationId};
use stockroom_domain::page::Page;

use crate::sqlite::{SqliteStore, get_item, newest_before, query_items, write_item, write_transaction};
use crate::notifications::items::{NOTIFICATION_SK, NotificationItem, notification_pk};
use crate::notifications::{NotificationQuery, NotificationReader, NotificationWriter, page_of};

/// The list's order (`listed`) as an index; each consumer's position in the change feed; and
/// the feed by table, which is how a consumer reads it.
pub(crate) const SCHEMA: &str = "
CREATE INDEX IF NOT EXISTS items_by_listed
    ON items (tbl, json_extract(body, '$.listed'))
    WHERE json_extract(body, '$.listed') IS NOT NULL;
CREATE INDEX IF NOT EXISTS changes_by_table ON changes (tbl, seq);
CREATE TABLE IF NOT EXISTS feed_checkpoints (
    consumer TEXT PRIMARY KEY,
    seq      INTEGER NOT NULL
) WITHOUT ROWID;
";

fn stored(
    conn: &rusqlite::Connection,
    id: &NotificationId,
) -> anyhow::Result<Option<NotificationItem>> {
    get_item::<NotificationItem>(conn, super::TABLE, &notification_pk(id), NOTIFICATION_SK)
}

#[async_trait]
impl NotificationReader for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite"))]
    async fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> anyhow::Result<Page<Notification>> {
        let query = query.clone();
        self.with_reader(move |conn| -> anyhow::Result<_> {
            let fetch = i64::try_from(query.limit.fetch_size()).unwrap_or(i64::MAX);
            let items = query_items::<NotificationItem>(
                conn,
                "SELECT body FROM items WHERE tbl = ?1
                 AND json_extract(body, '$.listed') IS NOT NULL
                 AND json_extract(body, '$.listed') < ?2
                 AND (?3 IS NULL OR json_extract(body, '$.order_id') = ?3)
                 AND (?4 IS NULL OR json_extract(body, '$.product_id') = ?4)
                 AND (?5 IS NULL OR json_extract(body, '$.kind') = ?5)
                 ORDER BY json_extract(body, '$.listed') DESC LIMIT ?6",
                params![
                    super::TABLE.name,
                    newest_before(query.after.as_ref()),
                    query.order_id.as_ref().map(|o| o.as_str()),
                    query.product_id.as_ref().map(|p| p.as_str()),
                    query.kind.map(|k| k.as_str()),
                    fetch
                ],
            )?
            .into_iter()
            .map(NotificationItem::into_notification)
            .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(page_of(items, query.limit))
        })
        .await
        .context("failed to list notifications from the embedded store")
    }
}

#[async_trait]
impl NotificationWriter for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite", notification_id = %notification.id))]
    async fn record(&self, notification: &Notification) -> anyhow::Result<Notification> {
        let notification = notification.clone();
        self.with_conn(move |conn| -> anyhow::Result<_> {
            let tx = write_transaction(conn)?;
            if let Some(existing) = stored(&tx, &notification.id)? {
                return existing.into_notification();
            }
            let item = NotificationItem::new(&notification);
            write_item(&tx, super::TABLE, &item.pk, &item.sk, Some(&item))?;
            tx.commit()?;
            Ok(notification)
        })
        .await
        .context("failed to record a notification in the embedded store")
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite", notification_id = %id))]
    async fn mark_sent(&self, id: &NotificationId, at: DateTime<Utc>) -> anyhow::Result<()> {
        let id = id.clone();
        self.with_conn(move |conn| -> anyhow::Result<_> {
            let tx = write_transaction(conn)?;
            let mut item =
                stored(&tx, &id)?.with_context(|| format!("no notification {id:?} is recorded"))?;
            item.status = Delivery::Sent;
            item.sent_at = Some(stockroom_domain::timestamp::format(&at));
            write_item(&tx, super::TABLE, &item.pk, &item.sk, Some(&item))?;
            tx.commit()?;
            Ok(())
        })
        .await
        .context("failed to mark a notification sent in the embedded store")
    }
}

impl SqliteStore {
    /// Where `consumer` stopped in `table`'s change feed: the last change it finished (0
    /// before its first).
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn checkpoint(&self, consumer: &str) -> anyhow::Result<i64> {
        let consumer = consumer.to_owned();
        self.with_reader(move |conn| -> anyhow::Result<_> {
            Ok(conn
                .prepare_cached("SELECT seq FROM feed_checkpoints WHERE consumer = ?1")?
                .query_row(params![consumer], |r| r.get(0))
                .optional()?
                .unwrap_or(0))
        })
        .await
        .context("failed to read a feed checkpoint")
    }

    /// Records that `consumer` has finished every change up to `seq`.
    ///
    /// # Errors
    /// When the store cannot be written.
    pub async fn save_checkpoint(&self, consumer: &str, seq: i64) -> anyhow::Result<()> {
        let consumer = consumer.to_owned();
        self.with_conn(move |conn| -> anyhow::Result<_> {
            conn.prepare_cached(
                "INSERT INTO feed_checkpoints (consumer, seq) VALUES (?1, ?2)
                 ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq",
            )?
            .execute(params![consumer, seq])?;
            Ok(())
        })
        .await
        .context("failed to save a feed checkpoint")
    }
}
