//! The partition heat model: what a run's writes would cost in DynamoDB, partition by partition,
//! measured from the embedded store's change feed.
//!
//! Every change the dev server records (the scenario's writes and the stream consumers' after
//! them) is priced as DynamoDB would price the same write, with template.yaml's key schemas and
//! global secondary indexes:
//!
//! - **Item size** by DynamoDB's rules
//!   (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html>):
//!   each attribute's UTF-8 name bytes plus its value's size: a string its UTF-8 bytes, a number
//!   1 byte per 2 significant digits plus 1, a bool or null 1, a list or map 3 plus its elements
//!   plus 1 per element. The images are the JSON of the store's item structs, which are the
//!   DynamoDB item layouts: a JSON number is taken as N, a string as S, an array as L, an
//!   object as M.
//! - **Table write units**: `ceil(max(old size, new size) / 1 KB)` (at least 1), doubled when
//!   the write was transactional. *Transactional* is read from the feed: a change whose
//!   transaction number it shares with another change was written in one SQLite transaction
//!   with it, which the DynamoDB adapter makes one `TransactWriteItems`. Two exceptions, where
//!   the DynamoDB adapter uses a transaction for one item and so this model counts half what
//!   DynamoDB charges: `set_stock` (its `Update` rides with a `ConditionCheck` on the catalog,
//!   inventory/dynamodb.rs) and an order status change that moves no stock (`change_status`
//!   always uses `TransactWriteItems`, orders/dynamodb.rs). The `ConditionCheck` itself costs
//!   write units too and is not in the feed at all. Neither is on an order's placement path.
//! - **Index writes** per global secondary index, as the developer guide's "Provisioned
//!   throughput considerations for global secondary indexes"
//!   (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations.Writes>)
//!   states them: an item that gains the index key costs one write of its new projection; one
//!   that loses it one write (the delete) of its old; an update that changes the index key
//!   value two (a delete from the old key, a put to the new); one that keeps the key costs one
//!   write when a projected attribute changed and none when nothing projected changed
//!   (`ALL` projects every attribute, `KEYS_ONLY` only the table's and the index's keys, so an
//!   update that keeps the keys writes nothing there, `INCLUDE` the keys and the listed
//!   attributes); an item without the index key (a sparse index) costs nothing. Each index
//!   write is `ceil(projected size / 1 KB)` units; a transaction does not double them (the
//!   doubling is of the transactional write to the table; index propagation is the ordinary
//!   one).
//! - **Partitions**: a table write lands on `(table, partition key value)`, an index write on
//!   `(table, index, index partition key value)`. DynamoDB serves at most 1,000 write units per
//!   second to one partition key value, of a table or of an index (adaptive capacity can isolate
//!   a hot key on its own partition but not lift that limit), and an index that cannot keep up
//!   throttles the table's writes.
//!
//! The report divides by the orders the run placed (order items inserted in the orders table),
//! and projects the ceiling: the orders per second at which the hottest partition would take
//! 1,000 write units per second.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Map, Value};
use serde_yaml::Value as Yaml;
use stockroom_store::changes::Change;
use stockroom_store::sqlite::SqliteStore;
use stockroom_store::tables::{self, Table};

/// One write unit: a write of up to this many bytes.
pub const WRITE_UNIT_BYTES: u64 = 1024;
/// The write units per second one partition key value takes before DynamoDB throttles it.
pub const PARTITION_WRITE_UNITS_PER_SECOND: f64 = 1000.0;
/// How many partitions the report lists.
pub const TOP: usize = 8;
/// How long the feed must go without a new change before [`measure`] reads it: the stream
/// consumers write their notifications a little after the run's own writes.
pub const QUIET: Duration = Duration::from_secs(1);
/// How long [`measure`] waits for that quiet before reading anyway (and saying so).
pub const QUIET_WAIT_LIMIT: Duration = Duration::from_secs(60);
/// How many changes one read of the feed takes.
const PAGE: usize = 5000;

/// What a global secondary index copies of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    All,
    KeysOnly,
    /// The keys and these non-key attributes.
    Include(Vec<String>),
}

/// A key schema: the partition (HASH) attribute and the sort (RANGE) one, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySchema {
    pub hash: String,
    pub range: Option<String>,
}

impl KeySchema {
    fn attributes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.hash.as_str()).chain(self.range.as_deref())
    }

    /// The item's value of the partition key when it has every key attribute (not null), else
    /// `None`: the item is not in this index.
    fn partition_of(&self, item: &Map<String, Value>) -> Option<String> {
        if self
            .attributes()
            .any(|a| item.get(a).is_none_or(Value::is_null))
        {
            return None;
        }
        item.get(&self.hash).map(key_text)
    }

    /// The item's whole key (every key attribute's value), when it has one.
    fn key_of<'a>(&self, item: &'a Map<String, Value>) -> Option<Vec<&'a Value>> {
        self.attributes()
            .map(|a| item.get(a).filter(|v| !v.is_null()))
            .collect()
    }
}

/// One global secondary index of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSchema {
    pub name: String,
    pub key: KeySchema,
    pub projection: Projection,
}

/// One `AWS::DynamoDB::Table` of template.yaml: its key schema and global secondary indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    /// The logical id (`InventoryTable`).
    pub resource: String,
    pub key: KeySchema,
    pub indexes: Vec<IndexSchema>,
}

/// Where a write lands: a table's partition, or an index's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    /// The logical table (`inventory`).
    pub table: String,
    /// The index, for an index partition.
    pub index: Option<String>,
    /// The partition key's value.
    pub key: String,
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.index {
            Some(index) => write!(f, "{} index {} `{}`", self.table, index, self.key),
            None => write!(f, "{} table `{}`", self.table, self.key),
        }
    }
}

/// One priced write to one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub partition: Partition,
    pub units: u64,
}

/// A partition key value as text: a string as it is, anything else as its JSON.
fn key_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The size in bytes DynamoDB counts for `value` (without its attribute name).
pub fn value_size(value: &Value) -> u64 {
    match value {
        Value::Null | Value::Bool(_) => 1,
        Value::String(s) => s.len() as u64,
        Value::Number(n) => number_size(&n.to_string()),
        Value::Array(items) => 3 + items.iter().map(|v| value_size(v) + 1).sum::<u64>(),
        Value::Object(map) => {
            3 + map
                .iter()
                .map(|(name, v)| name.len() as u64 + value_size(v) + 1)
                .sum::<u64>()
        }
    }
}

/// A number's size: 1 byte per 2 significant digits (leading and trailing zeros trimmed), plus 1.
fn number_size(text: &str) -> u64 {
    let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len() as u64;
    significant.max(1).div_ceil(2) + 1
}

/// The size in bytes of an item (a JSON object): the sum of its attributes' names and values.
pub fn item_size(item: &Map<String, Value>) -> u64 {
    item.iter()
        .map(|(name, v)| name.len() as u64 + value_size(v))
        .sum()
}

/// The write units of a write of `bytes`: one per started KB, at least one.
pub fn units(bytes: u64) -> u64 {
    bytes.div_ceil(WRITE_UNIT_BYTES).max(1)
}

fn object<'a>(
    image: Option<&'a Value>,
    what: &str,
) -> anyhow::Result<Option<&'a Map<String, Value>>> {
    image
        .map(|v| {
            v.as_object()
                .with_context(|| format!("the {what} image is not an object: {v}"))
        })
        .transpose()
}

impl TableSchema {
    /// The attributes `index` holds of an item: the table's keys, the index's keys, and what it
    /// projects (`None`: every attribute).
    fn projected<'a>(&'a self, index: &'a IndexSchema) -> Option<Vec<&'a str>> {
        let mut names: Vec<&str> = self
            .key
            .attributes()
            .chain(index.key.attributes())
            .collect();
        match &index.projection {
            Projection::All => return None,
            Projection::KeysOnly => {}
            Projection::Include(more) => names.extend(more.iter().map(String::as_str)),
        }
        names.sort_unstable();
        names.dedup();
        Some(names)
    }

    /// What `index` holds of `item`.
    fn projection_of(&self, index: &IndexSchema, item: &Map<String, Value>) -> Map<String, Value> {
        match self.projected(index) {
            None => item.clone(),
            Some(names) => names
                .into_iter()
                .filter_map(|n| item.get(n).map(|v| (n.to_owned(), v.clone())))
                .collect(),
        }
    }

    /// The writes one change of an item of logical table `table` costs: its table partition's,
    /// doubled when `transactional`, and each index's.
    ///
    /// # Errors
    /// When an image is not a JSON object, both are missing, or the item lacks the table's
    /// partition key.
    pub fn writes(
        &self,
        table: &str,
        old: Option<&Value>,
        new: Option<&Value>,
        transactional: bool,
    ) -> anyhow::Result<Vec<Write>> {
        let old = object(old, "old")?;
        let new = object(new, "new")?;
        let Some(item) = new.or(old) else {
            bail!("a change of {table} has neither an old nor a new image");
        };
        let key = item
            .get(&self.key.hash)
            .filter(|v| !v.is_null())
            .map(key_text)
            .with_context(|| {
                format!(
                    "an item of {table} has no partition key attribute {:?}",
                    self.key.hash
                )
            })?;
        let size = old.map_or(0, item_size).max(new.map_or(0, item_size));
        let mut writes = vec![Write {
            partition: Partition {
                table: table.to_owned(),
                index: None,
                key,
            },
            units: units(size) * if transactional { 2 } else { 1 },
        }];
        for index in &self.indexes {
            let write = |item: &Map<String, Value>, partition: String| Write {
                partition: Partition {
                    table: table.to_owned(),
                    index: Some(index.name.clone()),
                    key: partition,
                },
                units: units(item_size(&self.projection_of(index, item))),
            };
            let before = old.and_then(|o| Some((o, index.key.partition_of(o)?)));
            let after = new.and_then(|n| Some((n, index.key.partition_of(n)?)));
            match (before, after) {
                (None, None) => {}
                (None, Some((n, p))) => writes.push(write(n, p)),
                (Some((o, p)), None) => writes.push(write(o, p)),
                (Some((o, op)), Some((n, np))) => {
                    if index.key.key_of(o) != index.key.key_of(n) {
                        writes.push(write(o, op));
                        writes.push(write(n, np));
                    } else if self.projection_of(index, o) != self.projection_of(index, n) {
                        writes.push(write(n, np));
                    }
                }
            }
        }
        Ok(writes)
    }
}

/// template.yaml's DynamoDB tables, by logical id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    tables: BTreeMap<String, TableSchema>,
}

fn key_schema(value: &Yaml, owner: &str) -> anyhow::Result<KeySchema> {
    let elements = value
        .as_sequence()
        .with_context(|| format!("{owner} has no KeySchema list"))?;
    let mut hash = None;
    let mut range = None;
    for element in elements {
        let name = element["AttributeName"]
            .as_str()
            .with_context(|| format!("a KeySchema element of {owner} has no AttributeName"))?
            .to_owned();
        match element["KeyType"].as_str() {
            Some("HASH") if hash.is_none() => hash = Some(name),
            Some("RANGE") if range.is_none() => range = Some(name),
            other => bail!(
                "{owner}'s KeySchema has an unexpected KeyType {other:?} for {name} (one HASH and at most one RANGE)"
            ),
        }
    }
    Ok(KeySchema {
        hash: hash.with_context(|| format!("{owner}'s KeySchema has no HASH key"))?,
        range,
    })
}

fn projection(value: &Yaml, owner: &str) -> anyhow::Result<Projection> {
    Ok(match value["ProjectionType"].as_str() {
        Some("ALL") => Projection::All,
        Some("KEYS_ONLY") => Projection::KeysOnly,
        Some("INCLUDE") => Projection::Include(
            value["NonKeyAttributes"]
                .as_sequence()
                .with_context(|| format!("{owner} projects INCLUDE without NonKeyAttributes"))?
                .iter()
                .map(|a| {
                    a.as_str().map(str::to_owned).with_context(|| {
                        format!("a NonKeyAttributes entry of {owner} is not a string")
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        ),
        other => bail!("{owner} has an unexpected Projection.ProjectionType {other:?}"),
    })
}

impl Model {
    /// The `AWS::DynamoDB::Table` resources of a template.
    ///
    /// # Errors
    /// When the template is not YAML with `Resources`, or a table's key schema, index or
    /// projection is malformed, saying which.
    pub fn from_template(template: &str) -> anyhow::Result<Self> {
        let doc: Yaml = serde_yaml::from_str(template).context("the template is not valid YAML")?;
        let resources = doc["Resources"]
            .as_mapping()
            .context("the template has no Resources")?;
        let mut tables = BTreeMap::new();
        for (name, resource) in resources {
            if resource["Type"].as_str() != Some("AWS::DynamoDB::Table") {
                continue;
            }
            let name = name
                .as_str()
                .context("a resource's logical id is not a string")?
                .to_owned();
            let props = &resource["Properties"];
            let key = key_schema(&props["KeySchema"], &name)?;
            let mut indexes = Vec::new();
            if let Some(list) = props["GlobalSecondaryIndexes"].as_sequence() {
                for index in list {
                    let index_name = index["IndexName"].as_str().with_context(|| {
                        format!("a GlobalSecondaryIndexes entry of {name} has no IndexName")
                    })?;
                    let owner = format!("{name} index {index_name}");
                    indexes.push(IndexSchema {
                        name: index_name.to_owned(),
                        key: key_schema(&index["KeySchema"], &owner)?,
                        projection: projection(&index["Projection"], &owner)?,
                    });
                }
            } else if !props["GlobalSecondaryIndexes"].is_null() {
                bail!("{name}'s GlobalSecondaryIndexes is not a list");
            }
            tables.insert(
                name.clone(),
                TableSchema {
                    resource: name,
                    key,
                    indexes,
                },
            );
        }
        Ok(Self { tables })
    }

    /// The model of the template file at `path`.
    ///
    /// # Errors
    /// When the file cannot be read, or as [`Model::from_template`].
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read {}", path.display()))?;
        Self::from_template(&text).with_context(|| format!("in {}", path.display()))
    }

    /// The schema of the feed's logical table `name` (`inventory`), through the store's table
    /// list (its template.yaml logical id).
    ///
    /// # Errors
    /// When the store has no table of that name, or the template no resource for it.
    pub fn table(&self, name: &str) -> anyhow::Result<&TableSchema> {
        let table: Table = tables::ALL
            .iter()
            .copied()
            .find(|t| t.name == name)
            .with_context(|| {
                format!("the change feed names a table {name:?} the store does not know")
            })?;
        self.tables.get(table.resource).with_context(|| {
            format!(
                "the template has no AWS::DynamoDB::Table {} (the {name} table)",
                table.resource
            )
        })
    }
}

/// One partition's share of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionHeat {
    pub partition: Partition,
    /// Writes that landed on it.
    pub writes: u64,
    pub units: u64,
}

/// What a run's writes cost, by partition.
#[derive(Debug, Clone, PartialEq)]
pub struct Heat {
    /// Changes read from the feed.
    pub changes: usize,
    /// Of those, the ones written in a transaction with another change (priced at twice).
    pub transactional: usize,
    /// Order items inserted in the orders table.
    pub orders: u64,
    pub table_units: u64,
    pub index_units: u64,
    /// Every partition written, hottest first (ties by name).
    pub partitions: Vec<PartitionHeat>,
    /// Whether the feed went quiet before it was read ([`measure`]); when not, writes may
    /// still have been coming.
    pub settled: bool,
}

impl Heat {
    /// Prices `changes` (the feed of one run, any tables, any order) with `model`.
    ///
    /// # Errors
    /// As [`Model::table`] and [`TableSchema::writes`].
    pub fn from_changes(model: &Model, changes: &[Change]) -> anyhow::Result<Self> {
        let mut per_txn: HashMap<i64, usize> = HashMap::new();
        for txn in changes.iter().filter_map(|c| c.txn) {
            *per_txn.entry(txn).or_default() += 1;
        }
        let orders_table = stockroom_store::orders::TABLE.name;
        let mut heat: BTreeMap<Partition, (u64, u64)> = BTreeMap::new();
        let (mut table_units, mut index_units, mut orders, mut transactional) = (0, 0, 0, 0);
        for change in changes {
            let shared = change
                .txn
                .is_some_and(|t| per_txn.get(&t).copied().unwrap_or(0) > 1);
            transactional += usize::from(shared);
            if change.table == orders_table
                && change.sk == stockroom_store::orders::items::ORDER_SK
                && change.old_image.is_none()
                && change.new_image.is_some()
            {
                orders += 1;
            }
            let writes = model
                .table(&change.table)?
                .writes(
                    &change.table,
                    change.old_image.as_ref(),
                    change.new_image.as_ref(),
                    shared,
                )
                .with_context(|| format!("change {} of {}", change.seq, change.table))?;
            for write in writes {
                if write.partition.index.is_some() {
                    index_units += write.units;
                } else {
                    table_units += write.units;
                }
                let entry = heat.entry(write.partition).or_default();
                entry.0 += 1;
                entry.1 += write.units;
            }
        }
        let mut partitions: Vec<PartitionHeat> = heat
            .into_iter()
            .map(|(partition, (writes, units))| PartitionHeat {
                partition,
                writes,
                units,
            })
            .collect();
        partitions.sort_by(|a, b| {
            b.units
                .cmp(&a.units)
                .then_with(|| a.partition.cmp(&b.partition))
        });
        Ok(Self {
            changes: changes.len(),
            transactional,
            orders,
            table_units,
            index_units,
            partitions,
            settled: true,
        })
    }

    pub fn total_units(&self) -> u64 {
        self.table_units + self.index_units
    }

    /// `units` per order placed; `None` when the run placed none.
    pub fn per_order(&self, units: u64) -> Option<f64> {
        (self.orders > 0).then(|| units as f64 / self.orders as f64)
    }

    /// The partition that took the most units.
    pub fn hottest(&self) -> Option<&PartitionHeat> {
        self.partitions.first()
    }

    /// The orders per second at which the hottest partition would take 1,000 write units per
    /// second, with that partition; `None` when the run placed no orders or wrote nothing.
    pub fn ceiling(&self) -> Option<(f64, &PartitionHeat)> {
        let hottest = self.hottest()?;
        let per_order = self.per_order(hottest.units)?;
        Some((PARTITION_WRITE_UNITS_PER_SECOND / per_order, hottest))
    }

    /// Units by table and index (summed over their partitions), largest first.
    pub fn by_table_and_index(&self) -> Vec<((String, Option<String>), u64)> {
        let mut sums: BTreeMap<(String, Option<String>), u64> = BTreeMap::new();
        for p in &self.partitions {
            *sums
                .entry((p.partition.table.clone(), p.partition.index.clone()))
                .or_default() += p.units;
        }
        let mut sums: Vec<_> = sums.into_iter().collect();
        sums.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        sums
    }
}

fn per_order_text(heat: &Heat, units: u64) -> String {
    match heat.per_order(units) {
        None => String::from("–"),
        Some(u) if u > 0.0 && u < 0.01 => format!("{u:.4}"),
        Some(u) => format!("{u:.2}"),
    }
}

impl fmt::Display for Heat {
    /// Markdown, to paste into the docs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total_units();
        writeln!(f, "#### Partition heat (DynamoDB write units)")?;
        writeln!(f)?;
        if !self.settled {
            writeln!(
                f,
                "> The change feed was still moving after {} s: later writes are not counted.",
                QUIET_WAIT_LIMIT.as_secs()
            )?;
            writeln!(f)?;
        }
        writeln!(
            f,
            "- changes read: {} ({} in multi-item transactions, priced at 2×)",
            self.changes, self.transactional
        )?;
        writeln!(f, "- orders placed: {}", self.orders)?;
        writeln!(
            f,
            "- write units: {} table + {} index = {total}",
            self.table_units, self.index_units
        )?;
        writeln!(
            f,
            "- write units per order: {} table + {} index = {}",
            per_order_text(self, self.table_units),
            per_order_text(self, self.index_units),
            per_order_text(self, total)
        )?;
        writeln!(f)?;
        writeln!(f, "| table | index | units | units/order | share |")?;
        writeln!(f, "|---|---|---:|---:|---:|")?;
        for ((table, index), units) in self.by_table_and_index() {
            writeln!(
                f,
                "| {table} | {} | {units} | {} | {:.1}% |",
                index.as_deref().unwrap_or("(table)"),
                per_order_text(self, units),
                share(units, total)
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "Hottest partitions (top {} of {}):",
            TOP.min(self.partitions.len()),
            self.partitions.len()
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| # | table | index | partition key | writes | units | units/order | share |"
        )?;
        writeln!(f, "|---:|---|---|---|---:|---:|---:|---:|")?;
        for (rank, p) in self.partitions.iter().take(TOP).enumerate() {
            writeln!(
                f,
                "| {} | {} | {} | `{}` | {} | {} | {} | {:.1}% |",
                rank + 1,
                p.partition.table,
                p.partition.index.as_deref().unwrap_or("(table)"),
                p.partition.key,
                p.writes,
                p.units,
                per_order_text(self, p.units),
                share(p.units, total)
            )?;
        }
        writeln!(f)?;
        match self.ceiling() {
            Some((orders_per_second, hottest)) => {
                write!(
                    f,
                    "**Projected ceiling: {orders_per_second:.0} orders/s**, where the {} reaches \
                     1,000 write units/s ({} units per order)",
                    hottest.partition,
                    per_order_text(self, hottest.units)
                )?;
                let tied = self
                    .partitions
                    .iter()
                    .filter(|p| p.units == hottest.units)
                    .count();
                if tied > 1 {
                    write!(f, ", with {} other partitions as hot", tied - 1)?;
                }
                write!(f, ".")
            }
            None => write!(f, "No orders placed: no ceiling to project."),
        }
    }
}

fn share(units: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * units as f64 / total as f64
    }
}

/// The embedded store of the dev server's data directory, opened beside the server: SQLite in
/// WAL mode with a busy timeout, so it reads while the server writes. Opening migrates the file
/// to this build's schema, which is a no-op for a server built from the same tree.
async fn open(data_dir: &Path) -> anyhow::Result<SqliteStore> {
    let file = data_dir.join(stockroom_store::config::EMBEDDED_FILE);
    if !file.is_file() {
        bail!(
            "no embedded store at {}: is {} the dev server's --data-dir?",
            file.display(),
            data_dir.display()
        );
    }
    SqliteStore::open(&file)
}

/// The change feed's position now (the last change's seq, 0 for none): take it before a run
/// and pass it to [`measure`] after.
///
/// # Errors
/// When the data directory has no store, or the feed cannot be read.
pub async fn feed_position(data_dir: &Path) -> anyhow::Result<i64> {
    open(data_dir).await?.last_seq().await
}

/// Every change of any table after `after` up to `until`, in feed order.
async fn changes_between(
    store: &SqliteStore,
    after: i64,
    until: i64,
) -> anyhow::Result<Vec<Change>> {
    let mut all = Vec::new();
    for table in tables::ALL {
        let mut from = after;
        loop {
            let page = store.changes_after(*table, from, PAGE).await?;
            let full = page.len() == PAGE;
            let Some(last) = page.last() else { break };
            from = last.seq;
            all.extend(page.into_iter().filter(|c| c.seq <= until));
            if !full || from >= until {
                break;
            }
        }
    }
    all.sort_by_key(|c| c.seq);
    Ok(all)
}

/// The heat of every change recorded after `after` in the store of `data_dir`, priced with the
/// tables of the template at `template`. It first waits until the feed has had no new change
/// for [`QUIET`] (the stream consumers write after the run), at most [`QUIET_WAIT_LIMIT`]
/// (then it reads what is there and the report says so).
///
/// # Errors
/// When the store or the template cannot be read, or a change does not fit the template.
pub async fn measure(data_dir: &Path, after: i64, template: &Path) -> anyhow::Result<Heat> {
    let model = Model::load(template)?;
    let store = open(data_dir).await?;
    let started = Instant::now();
    let mut last = store.last_seq().await?;
    let mut quiet_since = Instant::now();
    let settled = loop {
        if quiet_since.elapsed() >= QUIET {
            break true;
        }
        if started.elapsed() >= QUIET_WAIT_LIMIT {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = store.last_seq().await?;
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    };
    let changes = changes_between(&store, after, last).await?;
    let mut heat = Heat::from_changes(&model, &changes)?;
    heat.settled = settled;
    Ok(heat)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    const INVENTORY: &str = "
Resources:
  InventoryTable:
    Type: AWS::DynamoDB::Table
    Properties:
      Tags:
        - Key: Stage
          Value: !Ref Stage
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: by-entity
          KeySchema:
            - {AttributeName: entity, KeyType: HASH}
            - {AttributeName: id, KeyType: RANGE}
          Projection:
            ProjectionType: PROJECTION
";

    fn model(projection: &str) -> Model {
        Model::from_template(&INVENTORY.replace("PROJECTION", projection)).unwrap()
    }

    fn stock(id: &str, available: u64, reserved: u64) -> Value {
        json!({
            "pk": format!("STOCK#{id}"), "sk": "STOCK", "entity": "stock", "id": id,
            "available": available, "reserved": reserved,
            "updated_at": "2026-01-10T08:00:00.000Z", "trace": ""
        })
    }

    fn writes(
        model: &Model,
        old: Option<Value>,
        new: Option<Value>,
        tx: bool,
    ) -> Vec<(String, u64)> {
        model
            .table("inventory")
            .unwrap()
            .writes("inventory", old.as_ref(), new.as_ref(), tx)
            .unwrap()
            .into_iter()
            .map(|w| (w.partition.to_string(), w.units))
            .collect()
    }

    #[test]
    fn the_size_of_a_known_stock_item_follows_dynamodbs_rules() {
        let item = stock("mug", 100, 5);
        // pk 2+9, sk 2+5, entity 6+5, id 2+3, available 9+(1 digit: 1+1), reserved 8+(1+1),
        // updated_at 10+24, trace 5+0.
        let expected = 11 + 7 + 11 + 5 + 11 + 10 + 34 + 5;
        assert_eq!(item_size(item.as_object().unwrap()), expected);
        assert_eq!(number_size("12345"), 4);
        assert_eq!(number_size("1000"), 2);
        assert_eq!(number_size("0"), 2);
        assert_eq!(number_size("-1.25"), 3);
        // A list: 3 + each element and 1 per element; a map the same with names.
        assert_eq!(value_size(&json!(["ab", true])), 3 + (2 + 1) + (1 + 1));
        assert_eq!(value_size(&json!({"a": "xyz"})), 3 + (1 + 3 + 1));
        assert_eq!(value_size(&json!("héllo")), 6);
        assert_eq!(units(0), 1);
        assert_eq!(units(1024), 1);
        assert_eq!(units(1025), 2);
    }

    #[test]
    fn a_stock_move_writes_the_all_projection_index_partition_stock() {
        let m = model("ALL");
        assert_eq!(
            writes(
                &m,
                Some(stock("mug", 10, 0)),
                Some(stock("mug", 9, 1)),
                false
            ),
            [
                (String::from("inventory table `STOCK#mug`"), 1),
                (String::from("inventory index by-entity `stock`"), 1)
            ]
        );
        // Nothing projected changed: no index write.
        assert_eq!(
            writes(
                &m,
                Some(stock("mug", 10, 0)),
                Some(stock("mug", 10, 0)),
                false
            )
            .len(),
            1
        );
    }

    #[test]
    fn a_stock_move_under_keys_only_writes_no_index() {
        let m = model("KEYS_ONLY");
        assert_eq!(
            writes(
                &m,
                Some(stock("mug", 10, 0)),
                Some(stock("mug", 9, 1)),
                false
            ),
            [(String::from("inventory table `STOCK#mug`"), 1)]
        );
        // An insert still puts the keys into the index.
        assert_eq!(
            writes(&m, None, Some(stock("mug", 9, 1)), false)[1],
            (String::from("inventory index by-entity `stock`"), 1)
        );
    }

    #[test]
    fn include_writes_the_index_only_when_a_listed_attribute_changes() {
        let m = model("INCLUDE\n            NonKeyAttributes: [reserved]");
        assert_eq!(
            writes(
                &m,
                Some(stock("mug", 10, 0)),
                Some(stock("mug", 9, 0)),
                false
            )
            .len(),
            1
        );
        assert_eq!(
            writes(
                &m,
                Some(stock("mug", 10, 0)),
                Some(stock("mug", 9, 1)),
                false
            )
            .len(),
            2
        );
    }

    #[test]
    fn an_index_key_change_costs_a_delete_and_a_put_and_a_lost_key_a_delete() {
        let m = model("ALL");
        let mut moved = stock("mug", 10, 0);
        moved["entity"] = json!("archived");
        let w = writes(&m, Some(stock("mug", 10, 0)), Some(moved.clone()), false);
        assert_eq!(
            w[1..],
            [
                (String::from("inventory index by-entity `stock`"), 1),
                (String::from("inventory index by-entity `archived`"), 1)
            ]
        );
        // The range key alone changing moves the item within the partition: still two writes.
        let mut renamed = stock("mug", 10, 0);
        renamed["id"] = json!("cup");
        assert_eq!(
            writes(&m, Some(stock("mug", 10, 0)), Some(renamed), false).len(),
            3
        );
        // Losing an index key attribute: one delete; a removal too.
        let mut sparse = stock("mug", 10, 0);
        sparse.as_object_mut().unwrap().remove("entity");
        assert_eq!(
            writes(&m, Some(stock("mug", 10, 0)), Some(sparse), false).len(),
            2
        );
        assert_eq!(writes(&m, Some(stock("mug", 10, 0)), None, false).len(), 2);
    }

    #[test]
    fn a_transactional_write_doubles_the_table_units_not_the_index_units() {
        let m = model("ALL");
        let mut big = stock("mug", 9, 1);
        big["trace"] = json!("x".repeat(1500));
        assert_eq!(
            writes(&m, Some(stock("mug", 10, 0)), Some(big.clone()), true),
            [
                (String::from("inventory table `STOCK#mug`"), 4),
                (String::from("inventory index by-entity `stock`"), 2)
            ]
        );
        assert_eq!(
            writes(&m, Some(stock("mug", 10, 0)), Some(big), false)[0].1,
            2
        );
    }

    fn change(
        seq: i64,
        txn: i64,
        table: &str,
        sk: &str,
        old: Option<Value>,
        new: Option<Value>,
    ) -> Change {
        let image = new.as_ref().or(old.as_ref()).unwrap();
        Change {
            seq,
            table: table.to_owned(),
            pk: image["pk"].as_str().unwrap().to_owned(),
            sk: sk.to_owned(),
            kind: stockroom_store::changes::ChangeKind::Modify,
            old_image: old,
            new_image: new,
            at: stockroom_domain::timestamp::now(),
            txn: Some(txn),
        }
    }

    #[test]
    fn heat_counts_orders_shares_and_the_ceiling() {
        let model =
            Model::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")).unwrap();
        let order = |id: &str| json!({"pk": format!("ORDER#{id}"), "sk": "ORDER", "entity": "order", "id": id, "customer_id": "ada", "placed": format!("t#{id}")});
        // Two orders of mug, each one transaction of the stock move and the order.
        let changes = vec![
            change(
                1,
                1,
                "inventory",
                "STOCK",
                Some(stock("mug", 10, 0)),
                Some(stock("mug", 9, 1)),
            ),
            change(2, 1, "orders", "ORDER", None, Some(order("o1"))),
            change(
                3,
                3,
                "inventory",
                "STOCK",
                Some(stock("mug", 9, 1)),
                Some(stock("mug", 8, 2)),
            ),
            change(4, 3, "orders", "ORDER", None, Some(order("o2"))),
        ];
        let heat = Heat::from_changes(&model, &changes).unwrap();
        assert_eq!((heat.changes, heat.transactional, heat.orders), (4, 4, 2));
        // Per order: stock 2 (transactional) + order 2 = 4 table units; by-customer 1, and
        // by-entity none (it projects keys only, and a move changes no key).
        assert_eq!((heat.table_units, heat.index_units), (8, 2));
        let hottest = heat.hottest().unwrap();
        assert_eq!(hottest.partition.to_string(), "inventory table `STOCK#mug`");
        let (ceiling, _) = heat.ceiling().unwrap();
        assert!((ceiling - 500.0).abs() < 1e-9, "{ceiling}");
        let report = heat.to_string();
        assert!(
            report.contains("**Projected ceiling: 500 orders/s**"),
            "{report}"
        );
        // An unknown table is an error that names it.
        let mut odd = changes[0].clone();
        odd.table = String::from("ledger");
        let err = Heat::from_changes(&model, &[odd]).unwrap_err().to_string();
        assert!(err.contains("\"ledger\""), "{err}");
    }

    #[test]
    fn a_malformed_template_says_what() {
        let err = Model::from_template(&INVENTORY.replace("PROJECTION", "SOME")).unwrap_err();
        assert!(
            err.to_string().contains("InventoryTable index by-entity"),
            "{err}"
        );
        let err = Model::from_template(&INVENTORY.replace("KeyType: RANGE}", "KeyType: SORT}"))
            .unwrap_err();
        assert!(err.to_string().contains("SORT"), "{err}");
        let empty = Model::from_template("Resources: {}").unwrap();
        let err = empty.table("inventory").unwrap_err().to_string();
        assert!(err.contains("InventoryTable"), "{err}");
    }
}
