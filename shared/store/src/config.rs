//! Which store a function uses, read once at cold start from the environment the template (or
//! `cargo-lambda.toml`, or the dev server) sets.

use std::path::PathBuf;
use std::sync::Arc;

use crate::catalog::CatalogStore;

/// The variable template.yaml sets to the catalog table's name.
pub const CATALOG_TABLE_VAR: &str = "CATALOG_TABLE";
/// The directory of the embedded store when no table is configured.
pub const DATA_DIR_VAR: &str = "STOCKROOM_DATA_DIR";
/// Where the embedded store lives when nothing says otherwise.
pub const DEFAULT_DATA_DIR: &str = ".stockroom";
/// The embedded store's file name inside the data directory.
pub const EMBEDDED_FILE: &str = "stockroom.db";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// DynamoDB, with the endpoint and credentials the AWS SDK finds itself (including
    /// `AWS_ENDPOINT_URL_DYNAMODB` for a local server).
    DynamoDb { catalog_table: String },
    /// The embedded SQLite file in this directory, with this many read-only connections beside
    /// the writer (0: reads use the writer).
    Embedded { data_dir: PathBuf, readers: usize },
}

impl StoreConfig {
    pub fn from_env() -> Self {
        match std::env::var(CATALOG_TABLE_VAR) {
            Ok(table) if !table.trim().is_empty() => Self::DynamoDb {
                catalog_table: table,
            },
            _ => Self::Embedded {
                data_dir: std::env::var_os(DATA_DIR_VAR)
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
                // A function handles one invocation at a time: more connections would only add
                // to its cold start.
                readers: 0,
            },
        }
    }

    /// # Errors
    /// When the embedded file cannot be opened or created, or this build has no embedded store.
    pub async fn catalog(&self) -> anyhow::Result<Arc<dyn CatalogStore>> {
        Ok(match self {
            Self::DynamoDb { catalog_table } => {
                let client = crate::dynamodb::client_from_env().await;
                Arc::new(crate::dynamodb::DynamoCatalog::new(
                    client,
                    catalog_table.clone(),
                ))
            }
            #[cfg(feature = "embedded")]
            Self::Embedded { data_dir, readers } => {
                use anyhow::Context as _;
                std::fs::create_dir_all(data_dir).with_context(|| {
                    format!("failed to create the data directory {}", data_dir.display())
                })?;
                Arc::new(crate::sqlite::SqliteStore::open_with_readers(
                    &data_dir.join(EMBEDDED_FILE),
                    *readers,
                )?)
            }
            #[cfg(not(feature = "embedded"))]
            Self::Embedded { .. } => anyhow::bail!(
                "{CATALOG_TABLE_VAR} is not set and this build has no embedded store: set \
                 {CATALOG_TABLE_VAR} to a DynamoDB table, or build with `--features embedded` \
                 (cargo dev and cargo lambda watch do)"
            ),
        })
    }
}
