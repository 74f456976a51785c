//! Which store a process uses, chosen once at cold start from the environment the template (or
//! `CargoLambda.toml`, or the dev server) sets, and the one [`Store`] every port comes from.
//!
//! DynamoDB when any service's table variable is set (template.yaml's `Globals` set them all),
//! else the embedded SQLite file. Either way a process holds one SDK client or one SQLite
//! store, shared by every port it uses.

use std::collections::BTreeMap;
use std::path::PathBuf;
#[cfg(feature = "dynamodb")]
use std::sync::Arc;

use crate::tables::{self, Table};

/// The directory of the embedded store when no table is configured.
pub const DATA_DIR_VAR: &str = "STOCKROOM_DATA_DIR";
/// Where the embedded store lives when nothing says otherwise.
pub const DEFAULT_DATA_DIR: &str = ".stockroom";
/// The embedded store's file name inside the data directory.
pub const EMBEDDED_FILE: &str = "stockroom.db";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// DynamoDB, with the endpoint and credentials the AWS SDK finds itself (including
    /// `AWS_ENDPOINT_URL_DYNAMODB` for a local server), and the table names that were set.
    DynamoDb { tables: BTreeMap<Table, String> },
    /// The embedded SQLite file in this directory, with this many read-only connections beside
    /// the writer (0: reads use the writer).
    Embedded { data_dir: PathBuf, readers: usize },
}

impl StoreConfig {
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let tables: BTreeMap<Table, String> = tables::ALL
            .iter()
            .filter_map(|t| {
                let name = var(t.env_var)?;
                (!name.trim().is_empty()).then_some((*t, name))
            })
            .collect();
        if tables.is_empty() {
            Self::Embedded {
                data_dir: var(DATA_DIR_VAR)
                    .filter(|d| !d.is_empty())
                    .map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), PathBuf::from),
                // A function handles one invocation at a time: more connections would only add
                // to its cold start.
                readers: 0,
            }
        } else {
            Self::DynamoDb { tables }
        }
    }

    /// Opens the store: one SDK client, or the embedded file (created and migrated if needed).
    ///
    /// # Errors
    /// When the embedded file cannot be opened or created, or this build has no embedded store.
    pub async fn open(&self) -> anyhow::Result<Store> {
        Ok(match self {
            #[cfg(feature = "dynamodb")]
            Self::DynamoDb { tables } => Store {
                backend: Backend::DynamoDb {
                    client: crate::dynamodb::client_from_env()?,
                    tables: Arc::new(tables.clone()),
                },
            },
            #[cfg(not(feature = "dynamodb"))]
            Self::DynamoDb { .. } => anyhow::bail!(
                "{} set, but this build has no DynamoDB adapter: unset them to use the embedded \
                 store, or build with the `dynamodb` feature (every function crate has it by default)",
                table_vars()
            ),
            #[cfg(feature = "embedded")]
            Self::Embedded { data_dir, readers } => {
                use anyhow::Context as _;
                std::fs::create_dir_all(data_dir).with_context(|| {
                    format!("failed to create the data directory {}", data_dir.display())
                })?;
                Store::embedded(crate::sqlite::SqliteStore::open_with_readers(
                    &data_dir.join(EMBEDDED_FILE),
                    *readers,
                )?)
            }
            #[cfg(not(feature = "embedded"))]
            Self::Embedded { .. } => anyhow::bail!(
                "no table variable ({}) is set and this build has no embedded store: set them to \
                 DynamoDB tables, or build with `--features stockroom-store/embedded` (cargo dev \
                 and cargo lambda watch do)",
                table_vars()
            ),
        })
    }
}

/// The table variables, for sentences that tell what to set.
#[cfg_attr(all(feature = "dynamodb", feature = "embedded"), allow(dead_code))]
fn table_vars() -> String {
    tables::ALL
        .iter()
        .map(|t| t.env_var)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The process's store: every port a function or the dev server uses comes from here.
/// Cheap to clone; clones share the client or the SQLite connections.
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
}

#[derive(Clone)]
pub(crate) enum Backend {
    #[cfg(feature = "dynamodb")]
    DynamoDb {
        client: aws_sdk_dynamodb::Client,
        tables: Arc<BTreeMap<Table, String>>,
    },
    #[cfg(feature = "embedded")]
    Embedded(crate::sqlite::SqliteStore),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.backend {
            #[cfg(feature = "dynamodb")]
            Backend::DynamoDb { tables, .. } => f
                .debug_struct("Store::DynamoDb")
                .field("tables", tables)
                .finish(),
            #[cfg(feature = "embedded")]
            Backend::Embedded(_) => f.write_str("Store::Embedded"),
        }
    }
}

impl Store {
    /// The store [`StoreConfig::from_env`] describes.
    ///
    /// # Errors
    /// As [`StoreConfig::open`].
    pub async fn from_env() -> anyhow::Result<Self> {
        StoreConfig::from_env().open().await
    }

    /// DynamoDB through `client`, with these tables.
    #[cfg(feature = "dynamodb")]
    pub fn dynamodb(
        client: aws_sdk_dynamodb::Client,
        tables: impl IntoIterator<Item = (Table, String)>,
    ) -> Self {
        Self {
            backend: Backend::DynamoDb {
                client,
                tables: Arc::new(tables.into_iter().collect()),
            },
        }
    }

    /// The same DynamoDB tables through another `client` (one pointed at the fault proxy);
    /// `None` for the embedded store.
    #[cfg(feature = "dynamodb")]
    #[must_use]
    pub fn with_client(&self, client: aws_sdk_dynamodb::Client) -> Option<Self> {
        match &self.backend {
            Backend::DynamoDb { tables, .. } => Some(Self {
                backend: Backend::DynamoDb {
                    client,
                    tables: Arc::clone(tables),
                },
            }),
            #[cfg(feature = "embedded")]
            Backend::Embedded(_) => None,
        }
    }

    /// The embedded store `store`, holding every table.
    #[cfg(feature = "embedded")]
    pub fn embedded(store: crate::sqlite::SqliteStore) -> Self {
        Self {
            backend: Backend::Embedded(store),
        }
    }

    /// The embedded store, when that is the backend: its change feed, for instance.
    #[cfg(feature = "embedded")]
    pub fn as_sqlite(&self) -> Option<&crate::sqlite::SqliteStore> {
        match &self.backend {
            Backend::Embedded(store) => Some(store),
            #[cfg(feature = "dynamodb")]
            Backend::DynamoDb { .. } => None,
        }
    }

    #[cfg(feature = "dynamodb")]
    pub(crate) fn table(tables: &BTreeMap<Table, String>, table: Table) -> anyhow::Result<String> {
        tables.get(&table).cloned().ok_or_else(|| {
            anyhow::anyhow!(
                "{} is not set, and this function uses the {} table: template.yaml's Globals set \
                 every table variable; with a local DynamoDB, export it with the table's name too",
                table.env_var,
                table.name
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> StoreConfig {
        StoreConfig::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn any_table_variable_chooses_dynamodb_with_exactly_the_tables_set() {
        let StoreConfig::DynamoDb { tables } =
            config(&[("INVENTORY_TABLE", "inv-1"), ("CATALOG_TABLE", " ")])
        else {
            panic!("expected DynamoDB");
        };
        assert_eq!(
            tables.into_iter().collect::<Vec<_>>(),
            [(crate::inventory::TABLE, String::from("inv-1"))]
        );
    }

    #[test]
    fn no_table_variable_chooses_the_embedded_file() {
        assert_eq!(
            config(&[("STOCKROOM_DATA_DIR", "/tmp/x")]),
            StoreConfig::Embedded {
                data_dir: PathBuf::from("/tmp/x"),
                readers: 0
            }
        );
        assert_eq!(
            config(&[]),
            StoreConfig::Embedded {
                data_dir: PathBuf::from(DEFAULT_DATA_DIR),
                readers: 0
            }
        );
    }

    #[cfg(feature = "dynamodb")]
    #[test]
    fn a_port_whose_table_is_not_set_says_which_variable_to_set() {
        let client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .build(),
        );
        let store = Store::dynamodb(client, [(crate::catalog::TABLE, String::from("catalog-1"))]);
        assert!(store.catalog().is_ok());
        let err = store
            .inventory()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("INVENTORY_TABLE is not set"), "{err}");
    }
}
