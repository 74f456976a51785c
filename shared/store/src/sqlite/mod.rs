//! The embedded adapter: one SQLite file that holds every service's table, items as JSON keyed
//! like DynamoDB (`tbl`, `pk`, `sk`), with a change feed beside it.
//!
//! Several processes may share the file (`cargo dev` and a `cargo lambda watch` function, say):
//! it runs in WAL mode with a busy timeout, and every write is an `IMMEDIATE` transaction, so a
//! read-modify-write cannot interleave with another writer's. Because every table is in the one
//! file, a write across tables (stock set only for a product in the catalog) is one SQLite
//! transaction, as it is one `TransactWriteItems` in DynamoDB.
//!
//! The generic item code here takes the table; each service's `<service>/sqlite.rs` brings its
//! port implementations and its schema fragment, applied in order by [`MIGRATIONS`] under SQLite's
//! `user_version`.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension as _, Transaction, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use stockroom_domain::page::TimeKey;
use stockroom_domain::timestamp;

use crate::changes::{Change, ChangeKind};
use crate::tables::Table;

/// Every table's items and the change feed, and the `by-entity` index every list reads.
const BASE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    tbl  TEXT NOT NULL,
    pk   TEXT NOT NULL,
    sk   TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tbl, pk, sk)
) WITHOUT ROWID;
-- The by-entity GSI of every table: one kind of item, in id order.
CREATE INDEX IF NOT EXISTS items_by_entity
    ON items (tbl, json_extract(body, '$.entity'), json_extract(body, '$.id'));
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

/// The schema, one step per version: step `i` takes a file at `user_version` `i` to `i + 1`.
/// Append a step for a new service or a change; never edit one that has shipped. (Files made
/// before versioning are at 0 and get every step; each is `IF NOT EXISTS`, so that is safe.)
pub const MIGRATIONS: &[&str] = &[
    BASE_SCHEMA,
    crate::catalog::sqlite::SCHEMA,
    crate::inventory::sqlite::SCHEMA,
    crate::orders::sqlite::SCHEMA,
    crate::notifications::sqlite::SCHEMA,
    CHANGE_TRANSACTIONS,
];

/// Groups the change feed by write transaction: every change one [`write_transaction`] records
/// carries the same `txn`, the `seq` of its first change (NULL for changes recorded before).
/// What tells a `TransactWriteItems` of several items from single-item writes in the feed.
const CHANGE_TRANSACTIONS: &str = "ALTER TABLE changes ADD COLUMN txn INTEGER;";

/// Per connection, the `txn` of the write transaction in progress: emptied as one starts, set by
/// its first change. A TEMP table, so it is the connection's own and never in the file.
const CURRENT_TXN: &str = "CREATE TEMP TABLE IF NOT EXISTS current_txn (seq INTEGER NOT NULL);";

/// The embedded store. Cheap to clone; clones share its connections: one that writes (and
/// reads inside write transactions), and, when opened with them, read-only ones, so reads run side by
/// side on WAL snapshots instead of queueing behind one lock.
#[derive(Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write goes through it.
    pub(crate) writer: Connections,
    /// Read-only connections; none for an in-memory store.
    pub(crate) readers: Connections,
    pub(crate) next_reader: Arc<AtomicUsize>,
}

pub(crate) type Connections = Arc<[Mutex<Connection>]>;

/// How long a connection waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `f` on a blocking thread on the first free connection of `connections` from `start` on
/// (rotating), or, when all are busy, on that one as soon as it is free. `f` runs in the
/// caller's span, so what it logs, and the trace context a write stores, are the caller's.
pub(crate) async fn run_on<T: Send + 'static, E: From<anyhow::Error> + Send + 'static>(
    connections: &Connections,
    start: usize,
    f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    let connections = Arc::clone(connections);
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
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

    fn init(mut conn: Connection) -> anyhow::Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .context("failed to set the busy timeout")?;
        // WAL lets readers in other processes go on while one process writes.
        conn.pragma_update(None, "journal_mode", "WAL")
            .context("failed to switch to WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .context("failed to set synchronous")?;
        migrate(&mut conn)?;
        conn.execute_batch(CURRENT_TXN)
            .context("failed to create the connection's transaction marker")?;
        Ok(Self {
            writer: Arc::new([Mutex::new(conn)]),
            // An in-memory database is private to its connection: it reads through the writer.
            readers: Arc::new([]),
            next_reader: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Runs `f` on the writer on a blocking thread, so SQLite never stalls the runtime.
    pub(crate) async fn with_conn<T: Send + 'static, E: From<anyhow::Error> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        run_on(&self.writer, 0, f).await
    }

    /// Runs a read on a free read connection (the writer when there are none), on a blocking
    /// thread. Reads see every write committed before they start.
    pub(crate) async fn with_reader<T: Send + 'static, E: From<anyhow::Error> + Send + 'static>(
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

    /// The position of the last change recorded in any table (0 when there is none): where a
    /// reader that wants only what comes next starts.
    ///
    /// # Errors
    /// When the feed cannot be read.
    pub async fn last_seq(&self) -> anyhow::Result<i64> {
        self.with_reader(|conn| -> anyhow::Result<i64> {
            Ok(conn
                .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM changes")?
                .query_row([], |row| row.get(0))?)
        })
        .await
        .context("failed to read the change feed's position")
    }

    /// Changes to `table` recorded after `seq`, oldest first, at most `limit`: what a consumer
    /// of that table's stream reads next.
    ///
    /// # Errors
    /// When the feed cannot be read.
    pub async fn changes_after(
        &self,
        table: Table,
        seq: i64,
        limit: usize,
    ) -> anyhow::Result<Vec<Change>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_reader(move |conn| -> anyhow::Result<_> {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, tbl, pk, sk, kind, old_image, new_image, at, txn FROM changes
                 WHERE tbl = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![table.name, seq, limit], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, Option<String>>(6)?,
                    row.get::<_, String>(7)?,
                    row.get::<_, Option<i64>>(8)?,
                ))
            })?;
            let mut changes = Vec::new();
            for row in rows {
                let (seq, table, pk, sk, kind, old, new, at, txn) = row?;
                let image = |s: Option<String>| s.map(|s| serde_json::from_str(&s)).transpose();
                changes.push(Change {
                    seq,
                    table,
                    pk,
                    sk,
                    kind: ChangeKind::parse(&kind)?,
                    old_image: image(old)?,
                    new_image: image(new)?,
                    at: timestamp::parse(&at)?,
                    txn,
                });
            }
            Ok(changes)
        })
        .await
        .context("failed to read the change feed")
    }
}

/// Brings the file's schema to the last of [`MIGRATIONS`], in one write transaction, so two
/// processes opening a new file at once apply each step once.
fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let target = u32::try_from(MIGRATIONS.len()).context("too many migrations")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > target {
        anyhow::bail!(
            "the embedded store is at schema version {version}, newer than this build's {target}: \
             it was written by a newer Stockroom; use that, or another --data-dir"
        );
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).with_context(|| {
            format!(
                "failed to migrate the embedded store to version {}",
                step + 1
            )
        })?;
    }
    tx.pragma_update(None, "user_version", target)?;
    tx.commit()
        .context("failed to commit the embedded store's schema")?;
    Ok(())
}

/// The item `(pk, sk)` of `table`, read with `conn` (inside a write transaction or not).
pub(crate) fn get_item<T: DeserializeOwned>(
    conn: &Connection,
    table: Table,
    pk: &str,
    sk: &str,
) -> anyhow::Result<Option<T>> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3")?
        .query_row(params![table.name, pk, sk], |row| row.get(0))
        .optional()?;
    body.map(|b| serde_json::from_str(&b).context("stored item is not valid JSON"))
        .transpose()
}

/// Writes (or with `None`, deletes) one item of `table` and records the change, inside `tx`.
pub(crate) fn write_item(
    tx: &Transaction<'_>,
    table: Table,
    pk: &str,
    sk: &str,
    new: Option<&impl Serialize>,
) -> anyhow::Result<()> {
    let old: Option<String> = tx
        .prepare_cached("SELECT body FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3")?
        .query_row(params![table.name, pk, sk], |row| row.get(0))
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
            params![table.name, pk, sk, body],
        )?,
        None => tx.execute(
            "DELETE FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3",
            params![table.name, pk, sk],
        )?,
    };
    let txn: Option<i64> = tx
        .prepare_cached("SELECT seq FROM temp.current_txn")?
        .query_row([], |row| row.get(0))
        .optional()?;
    tx.prepare_cached(
        "INSERT INTO changes (tbl, pk, sk, kind, old_image, new_image, at, txn)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        table.name,
        pk,
        sk,
        kind.as_str(),
        old,
        new,
        timestamp::format(&timestamp::now()),
        txn
    ])?;
    if txn.is_none() {
        // The transaction's first change: its seq numbers the transaction.
        let seq = tx.last_insert_rowid();
        tx.prepare_cached("UPDATE changes SET txn = seq WHERE seq = ?1")?
            .execute([seq])?;
        tx.prepare_cached("INSERT INTO temp.current_txn (seq) VALUES (?1)")?
            .execute([seq])?;
    }
    Ok(())
}

/// The items a `SELECT body FROM items ...` query returns, in its order, each read as `T`.
pub(crate) fn query_items<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> anyhow::Result<Vec<T>> {
    let bodies: Vec<String> = conn
        .prepare_cached(sql)?
        .query_map(params, |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    bodies
        .iter()
        .map(|b| serde_json::from_str(b).context("stored item has an unexpected shape"))
        .collect()
}

/// Where a newest-first list (ordered by a [`TimeKey`]'s sort key) starts reading backwards:
/// before the last item of the previous page, or for the first page after every real key.
pub(crate) fn newest_before<I: stockroom_domain::page::CursorKey>(
    after: Option<&TimeKey<I>>,
) -> String {
    after.map_or_else(|| String::from("\u{10FFFF}"), TimeKey::sort_key)
}

/// Up to `fetch` items of one `entity` of `table` with an id after `after`, in id order: the
/// `by-entity` index, as a DynamoDB `Query` on the GSI reads it.
pub(crate) fn list_by_entity<T: DeserializeOwned>(
    conn: &Connection,
    table: Table,
    entity: &str,
    after: Option<&str>,
    fetch: usize,
) -> anyhow::Result<Vec<T>> {
    query_items(
        conn,
        "SELECT body FROM items WHERE tbl = ?1 AND json_extract(body, '$.entity') = ?2
         AND json_extract(body, '$.id') > ?3
         ORDER BY json_extract(body, '$.id') LIMIT ?4",
        params![
            table.name,
            entity,
            after.unwrap_or(""),
            i64::try_from(fetch).unwrap_or(i64::MAX)
        ],
    )
}

/// Starts the write transaction every write runs in: `IMMEDIATE` takes the write lock before
/// the first read, so no other writer can change what this one reads before it writes. It
/// clears the connection's transaction marker, so its changes get a `txn` of their own (the
/// marker a committed transaction left, or none when it rolled back).
pub(crate) fn write_transaction(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached("DELETE FROM temp.current_txn")?
        .execute([])?;
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_migrated_to_the_last_version_and_reopening_changes_nothing() {
        let dir = std::env::temp_dir().join(format!("stockroom-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stockroom.db");
        let version = |path: &Path| -> u32 {
            Connection::open(path)
                .unwrap()
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap()
        };
        drop(SqliteStore::open(&path).unwrap());
        assert_eq!(version(&path) as usize, MIGRATIONS.len());
        drop(SqliteStore::open(&path).unwrap());
        assert_eq!(version(&path) as usize, MIGRATIONS.len());

        // A file from a newer build is refused with a sentence, not opened and damaged.
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 999)
            .unwrap();
        let err = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("newer"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn the_changes_of_one_write_transaction_share_its_number_and_separate_writes_do_not() {
        use crate::catalog::ProductWriter as _;
        use crate::inventory::StockWriter as _;
        use crate::testing::build::{id, product};
        use stockroom_domain::inventory::Available;

        let store = SqliteStore::in_memory().unwrap();
        let now = timestamp::now();
        // One transaction of two items: the product and its first price.
        store
            .create_product(&product("mug", 500, None, now))
            .await
            .unwrap();
        // A refused write rolls back; it must not leave its number to the next write.
        store
            .create_product(&product("mug", 500, None, now))
            .await
            .unwrap_err();
        // Two single-item transactions.
        store
            .set_stock(&id("mug"), Available::new(5).unwrap(), None, now)
            .await
            .unwrap();
        store
            .set_stock(&id("mug"), Available::new(6).unwrap(), None, now)
            .await
            .unwrap();
        store
            .create_product(&product("cup", 300, None, now))
            .await
            .unwrap();

        let catalog = store
            .changes_after(crate::catalog::TABLE, 0, 100)
            .await
            .unwrap();
        let stock = store
            .changes_after(crate::inventory::TABLE, 0, 100)
            .await
            .unwrap();
        assert_eq!((catalog.len(), stock.len()), (4, 2));
        let txn = |c: &Change| c.txn.unwrap();
        // Numbered by the seq of the transaction's first change.
        assert_eq!(txn(&catalog[0]), catalog[0].seq);
        assert_eq!(txn(&catalog[1]), catalog[0].seq);
        assert_eq!(txn(&stock[0]), stock[0].seq);
        assert_eq!(txn(&stock[1]), stock[1].seq);
        assert_eq!(txn(&catalog[2]), catalog[2].seq);
        assert_eq!(txn(&catalog[3]), catalog[2].seq);
        let mut numbers: Vec<i64> = catalog.iter().chain(&stock).map(txn).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), 4, "{numbers:?}");
        assert_eq!(store.last_seq().await.unwrap(), catalog[3].seq);
    }

    #[tokio::test]
    async fn changes_recorded_before_the_feed_numbered_transactions_have_none() {
        let path = crate::testing::temp_store_path();
        {
            // A file at the last version before the step, with one change in its feed.
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            let before = MIGRATIONS.len() - 1;
            for step in &MIGRATIONS[..before] {
                tx.execute_batch(step).unwrap();
            }
            tx.pragma_update(None, "user_version", before as i64)
                .unwrap();
            tx.execute(
                "INSERT INTO changes (tbl, pk, sk, kind, old_image, new_image, at)
                 VALUES ('catalog', 'PRODUCT#old', 'PRODUCT', 'INSERT', NULL, '{}', ?1)",
                [timestamp::format(&timestamp::now())],
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let feed = store
            .changes_after(crate::catalog::TABLE, 0, 10)
            .await
            .unwrap();
        assert_eq!(feed.len(), 1);
        assert_eq!(feed[0].txn, None);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_file_from_before_versioning_is_brought_up_to_date() {
        let dir = std::env::temp_dir().join(format!("stockroom-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stockroom.db");
        // What the first embedded store created: the tables and the catalog's indexes, version 0.
        Connection::open(&path)
            .unwrap()
            .execute_batch(&format!("{BASE_SCHEMA}{}", crate::catalog::sqlite::SCHEMA))
            .unwrap();
        drop(SqliteStore::open(&path).unwrap());
        let v: u32 = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
