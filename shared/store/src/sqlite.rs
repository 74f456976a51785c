//! The embedded adapter: one SQLite file that holds every table's items as JSON, keyed like
//! DynamoDB (`pk`, `sk`), with a change feed beside it.
//!
//! Several processes may share the file (`cargo dev` and a `cargo lambda watch` function, say):
//! it runs in WAL mode with a busy timeout, and every write is an `IMMEDIATE` transaction, so a
//! read-modify-write cannot interleave with another writer's.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension as _, Transaction, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use stockroom_domain::ProductId;
use stockroom_domain::catalog::{PriceChange, Product, ProductDetails};
use stockroom_domain::page::Page;
use stockroom_domain::timestamp;

use crate::catalog::{
    PriceHistoryReader, ProductQuery, ProductReader, ProductWriter, WriteError, page_of,
};
use crate::changes::{Change, ChangeKind};
use crate::items::{self, PriceItem, ProductItem};

const CATALOG: &str = "catalog";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    tbl  TEXT NOT NULL,
    pk   TEXT NOT NULL,
    sk   TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tbl, pk, sk)
) WITHOUT ROWID;
-- The catalog's two GSIs: every product by id, and products of one category by id.
CREATE INDEX IF NOT EXISTS items_by_entity
    ON items (tbl, json_extract(body, '$.entity'), json_extract(body, '$.id'));
CREATE INDEX IF NOT EXISTS items_by_category
    ON items (tbl, json_extract(body, '$.category'), json_extract(body, '$.id'));
CREATE TABLE IF NOT EXISTS changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    tbl       TEXT NOT NULL,
    pk        TEXT NOT NULL,
    sk        TEXT NOT NULL,
    kind      TEXT NOT NULL,
    old_image TEXT,
    new_image TEXT,
    at        TEXT NOT NULL
);
";

/// The embedded store. Cheap to clone; clones share its connections: one that writes (and
/// reads inside write transactions), and, when opened with them, read-only ones, so reads run side by
/// side on WAL snapshots instead of queueing behind one lock.
#[derive(Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write goes through it.
    writer: Connections,
    /// Read-only connections; none for an in-memory store.
    readers: Connections,
    next_reader: Arc<AtomicUsize>,
}

type Connections = Arc<[Mutex<Connection>]>;

/// How long a connection waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `f` on a blocking thread on the first free connection of `connections` from `start` on
/// (rotating), or, when all are busy, on that one as soon as it is free.
async fn run_on<T: Send + 'static, E: From<anyhow::Error> + Send + 'static>(
    connections: &Connections,
    start: usize,
    f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    let connections = Arc::clone(connections);
    tokio::task::spawn_blocking(move || {
        let n = connections.len();
        let mut conn = match (0..n).find_map(|i| connections[(start + i) % n].try_lock().ok()) {
            Some(conn) => conn,
            None => connections[start % n]
                .lock()
                .map_err(|_| anyhow::anyhow!("the embedded store's lock was poisoned"))?,
        };
        f(&mut conn)
    })
    .await
    .map_err(|err| E::from(anyhow::Error::new(err).context("embedded store task failed")))?
}

/// Read connections for a server of concurrent requests (the dev server): one per core, at
/// most four.
pub fn concurrent_readers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store file at `path`, with one connection for reads and
    /// writes: enough for a process that handles one request at a time, like a Lambda function.
    ///
    /// # Errors
    /// When the file cannot be opened or its schema cannot be created.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_with_readers(path, 0)
    }

    /// Opens the store file at `path` with `readers` read-only connections beside the writer,
    /// so concurrent reads do not queue behind one lock ([`concurrent_readers`] suits a server).
    ///
    /// # Errors
    /// When the file cannot be opened or its schema cannot be created.
    pub fn open_with_readers(path: &Path, readers: usize) -> anyhow::Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("failed to open the embedded store {}", path.display()))?;
        let mut store = Self::init(conn)?;
        // Opened after the writer has created the file, the schema and the WAL.
        store.readers = (0..readers)
            .map(|_| {
                let reader = Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .with_context(|| format!("failed to open {} for reading", path.display()))?;
                reader
                    .busy_timeout(BUSY_TIMEOUT)
                    .context("failed to set the busy timeout")?;
                Ok(Mutex::new(reader))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
            .into();
        Ok(store)
    }

    /// A private store that lives as long as this value: for tests.
    ///
    /// # Errors
    /// When SQLite cannot allocate the database.
    pub fn in_memory() -> anyhow::Result<Self> {
        Self::init(Connection::open_in_memory().context("failed to open an in-memory store")?)
    }

    fn init(conn: Connection) -> anyhow::Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .context("failed to set the busy timeout")?;
        // WAL lets readers in other processes go on while one process writes.
        conn.pragma_update(None, "journal_mode", "WAL")
            .context("failed to switch to WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .context("failed to set synchronous")?;
        conn.execute_batch(SCHEMA)
            .context("failed to create the embedded store's schema")?;
        Ok(Self {
            writer: Arc::new([Mutex::new(conn)]),
            // An in-memory database is private to its connection: it reads through the writer.
            readers: Arc::new([]),
            next_reader: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Runs `f` on the writer on a blocking thread, so SQLite never stalls the runtime.
    async fn with_conn<T: Send + 'static, E: From<anyhow::Error> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        run_on(&self.writer, 0, f).await
    }

    /// Runs a read on a free read connection (the writer when there are none), on a blocking
    /// thread. Reads see every write committed before they start.
    async fn with_reader<T: Send + 'static, E: From<anyhow::Error> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let connections = if self.readers.is_empty() {
            &self.writer
        } else {
            &self.readers
        };
        run_on(
            connections,
            self.next_reader.fetch_add(1, Ordering::Relaxed),
            f,
        )
        .await
    }

    /// Changes recorded after `seq`, oldest first, at most `limit`.
    ///
    /// # Errors
    /// When the feed cannot be read.
    pub async fn changes_after(&self, seq: i64, limit: usize) -> anyhow::Result<Vec<Change>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_reader(move |conn| -> anyhow::Result<_> {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, tbl, pk, sk, kind, old_image, new_image, at FROM changes
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![seq, limit], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, Option<String>>(6)?,
                    row.get::<_, String>(7)?,
                ))
            })?;
            let mut changes = Vec::new();
            for row in rows {
                let (seq, table, pk, sk, kind, old, new, at) = row?;
                let image = |s: Option<String>| s.map(|s| serde_json::from_str(&s)).transpose();
                changes.push(Change {
                    seq,
                    table,
                    pk,
                    sk,
                    kind: ChangeKind::parse(&kind)?,
                    old_image: image(old)?,
                    new_image: image(new)?,
                    at: DateTime::parse_from_rfc3339(&at)?.with_timezone(&Utc),
                });
            }
            Ok(changes)
        })
        .await
        .context("failed to read the change feed")
    }
}

impl From<rusqlite::Error> for WriteError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Unexpected(err.into())
    }
}

fn get_item<T: DeserializeOwned>(
    conn: &Connection,
    pk: &str,
    sk: &str,
) -> anyhow::Result<Option<T>> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3")?
        .query_row(params![CATALOG, pk, sk], |row| row.get(0))
        .optional()?;
    body.map(|b| serde_json::from_str(&b).context("stored item is not valid JSON"))
        .transpose()
}

/// The stored product `id`, read inside a write transaction that goes on to change it.
fn product_for_write(tx: &Transaction<'_>, id: &ProductId) -> Result<ProductItem, WriteError> {
    get_item::<ProductItem>(tx, &items::product_pk(id), items::PRODUCT_SK)?
        .ok_or_else(|| WriteError::NotFound(id.clone()))
}

/// Writes (or with `None`, deletes) one item and records the change, inside `tx`.
fn write_item(
    tx: &Transaction<'_>,
    pk: &str,
    sk: &str,
    new: Option<&impl Serialize>,
) -> anyhow::Result<()> {
    let old: Option<String> = tx
        .prepare_cached("SELECT body FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3")?
        .query_row(params![CATALOG, pk, sk], |row| row.get(0))
        .optional()?;
    let new = new.map(serde_json::to_string).transpose()?;
    let kind = match (&old, &new) {
        (None, Some(_)) => ChangeKind::Insert,
        (Some(_), Some(_)) => ChangeKind::Modify,
        (Some(_), None) => ChangeKind::Remove,
        (None, None) => return Ok(()),
    };
    match &new {
        Some(body) => tx.execute(
            "INSERT INTO items (tbl, pk, sk, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (tbl, pk, sk) DO UPDATE SET body = excluded.body",
            params![CATALOG, pk, sk, body],
        )?,
        None => tx.execute(
            "DELETE FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3",
            params![CATALOG, pk, sk],
        )?,
    };
    tx.execute(
        "INSERT INTO changes (tbl, pk, sk, kind, old_image, new_image, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![CATALOG, pk, sk, kind.as_str(), old, new, timestamp::format(&timestamp::now())],
    )?;
    Ok(())
}

#[async_trait]
impl ProductReader for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite", product_id = %id))]
    async fn get_product(&self, id: &ProductId) -> anyhow::Result<Option<Product>> {
        let pk = items::product_pk(id);
        self.with_reader(move |conn| -> anyhow::Result<_> {
            get_item::<ProductItem>(conn, &pk, items::PRODUCT_SK)?
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
            let after = query.after.as_ref().map(ToString::to_string).unwrap_or_default();
            let fetch = i64::try_from(query.limit.get() + 1).unwrap_or(i64::MAX);
            let bodies: Vec<String> = match &query.category {
                Some(category) => conn
                    .prepare_cached(
                        "SELECT body FROM items WHERE tbl = ?1 AND json_extract(body, '$.category') = ?2
                         AND json_extract(body, '$.id') > ?3 AND sk = 'PRODUCT'
                         ORDER BY json_extract(body, '$.id') LIMIT ?4",
                    )?
                    .query_map(params![CATALOG, category.as_str(), after, fetch], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
                None => conn
                    .prepare_cached(
                        "SELECT body FROM items WHERE tbl = ?1 AND json_extract(body, '$.entity') = 'product'
                         AND json_extract(body, '$.id') > ?2
                         ORDER BY json_extract(body, '$.id') LIMIT ?3",
                    )?
                    .query_map(params![CATALOG, after, fetch], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
            };
            let products = bodies
                .iter()
                .map(|b| serde_json::from_str::<ProductItem>(b)?.into_product())
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(page_of(products, query.limit.get()))
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
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let item = ProductItem::new(&product, 1);
            if get_item::<ProductItem>(&tx, &item.pk, &item.sk)?.is_some() {
                return Err(WriteError::AlreadyExists(product.id.clone()));
            }
            write_item(&tx, &item.pk, &item.sk, Some(&item))?;
            let price = PriceItem::new(&product.id, &product.initial_price(), 1);
            write_item(&tx, &price.pk, &price.sk, Some(&price))?;
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
            // IMMEDIATE takes the write lock before the read, so no one can change the product
            // between reading and writing it.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let old = product_for_write(&tx, &id)?;
            let (next, item, price) = items::replacement(old, details, now)?;
            write_item(&tx, &item.pk, &item.sk, Some(&item))?;
            if let Some(price) = price {
                write_item(&tx, &price.pk, &price.sk, Some(&price))?;
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
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let old = product_for_write(&tx, &id)?;
            write_item(&tx, &old.pk, &old.sk, None::<&ProductItem>)?;
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
            let Some(product) = get_item::<ProductItem>(&tx, &pk, items::PRODUCT_SK)? else {
                return Ok(None);
            };
            let product = product.into_product()?;
            let bodies: Vec<String> = tx
                .prepare_cached(
                    "SELECT body FROM items WHERE tbl = ?1 AND pk = ?2 AND sk >= ?3 AND sk < 'PRICE$'
                     ORDER BY sk",
                )?
                .query_map(params![CATALOG, pk, items::price_sk_from(&since)], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let changes = bodies
                .iter()
                .map(|b| serde_json::from_str::<PriceItem>(b)?.into_change())
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(Some((product.clone(), items::own_history(&product, changes))))
        })
        .await
        .context("failed to read price history from the embedded store")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockroom_domain::catalog::ProductName;
    use stockroom_domain::{Currency, Price};

    fn details(price: i64) -> ProductDetails {
        ProductDetails {
            name: ProductName::parse("Mug").unwrap(),
            description: None,
            price: Price::new(price).unwrap(),
            currency: Currency::default(),
            category: None,
        }
    }

    #[tokio::test]
    async fn every_write_lands_in_the_change_feed_with_old_and_new_images_in_order() {
        let store = SqliteStore::in_memory().unwrap();
        let id = ProductId::parse("mug").unwrap();
        let created = Product::new(id.clone(), details(500), timestamp::now());
        store.create_product(&created).await.unwrap();
        store
            .replace_product(&id, details(400), timestamp::now())
            .await
            .unwrap();
        store.delete_product(&id).await.unwrap();

        let feed = store.changes_after(0, 100).await.unwrap();
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
            store.changes_after(feed[3].seq, 100).await.unwrap().len(),
            1
        );
    }

    #[tokio::test]
    async fn two_handles_on_one_file_see_each_others_writes() {
        let dir = std::env::temp_dir().join(format!("stockroom-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stockroom.db");
        let a = SqliteStore::open(&path).unwrap();
        let b = SqliteStore::open(&path).unwrap();
        let id = ProductId::parse("shared").unwrap();
        a.create_product(&Product::new(id.clone(), details(1), timestamp::now()))
            .await
            .unwrap();
        assert!(b.get_product(&id).await.unwrap().is_some());
        let err = b
            .create_product(&Product::new(id.clone(), details(2), timestamp::now()))
            .await
            .unwrap_err();
        assert!(matches!(err, WriteError::AlreadyExists(_)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
