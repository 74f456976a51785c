//! The services' tables: the one list a new service's table is added to.
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

pub const CATALOG: Table = Table {
    name: "catalog",
    env_var: "CATALOG_TABLE",
    resource: "CatalogTable",
};

pub const INVENTORY: Table = Table {
    name: "inventory",
    env_var: "INVENTORY_TABLE",
    resource: "InventoryTable",
};

pub const ORDERS: Table = Table {
    name: "orders",
    env_var: "ORDERS_TABLE",
    resource: "OrdersTable",
};

pub const CARTS: Table = Table {
    name: "carts",
    env_var: "CARTS_TABLE",
    resource: "CartsTable",
};

pub const NOTIFICATIONS: Table = Table {
    name: "notifications",
    env_var: "NOTIFICATIONS_TABLE",
    resource: "NotificationsTable",
};

/// Every service's table.
pub const ALL: &[Table] = &[CATALOG, INVENTORY, ORDERS, CARTS, NOTIFICATIONS];

impl Table {
    /// The table whose template.yaml logical id is `resource`.
    pub fn by_resource(resource: &str) -> Option<Self> {
        ALL.iter().copied().find(|t| t.resource == resource)
    }
}
