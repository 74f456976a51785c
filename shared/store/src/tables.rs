//! The services' tables: each service's module defines its `TABLE`; [`ALL`] lists them.
//!
//! Each table is a DynamoDB table in template.yaml (its logical id), whose name reaches a
//! function in the `<SERVICE>_TABLE` variable; in the embedded store it is a name inside the one
//! SQLite file, so a transaction can span tables there as it can in DynamoDB.

/// One service's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Table {
    /// The logical name: the table's name in the embedded store and in the change feed.
    pub name: &'static str,
    /// The variable template.yaml sets to the deployed table's name.
    pub env_var: &'static str,
    /// The table's logical id in template.yaml.
    pub resource: &'static str,
}

/// Every service's table: one per service module, listed once in `services!` (lib.rs).
pub const ALL: &[Table] = crate::TABLES;

impl Table {
    /// The table whose template.yaml logical id is `resource`.
    pub fn by_resource(resource: &str) -> Option<Self> {
        ALL.iter().copied().find(|t| t.resource == resource)
    }
}
