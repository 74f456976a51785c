//! The orders service: an order is placed in one transaction that reserves every line's stock
//! and writes the order (and its `Idempotency-Key` record), so a confirmed order always holds
//! its units; each status change is one transaction that moves them on.
//!
//! Each endpoint is one Lambda function, wired like the catalog's: one variant of
//! [`Operation`], run by the service's one binary (`src/bin/orders.rs`).

mod errors;
mod handlers;

pub use errors::{ChangeOrderError, GetOrderError, PlaceOrderError};
pub use handlers::{
    IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, cancel_order, get_order, idempotency_key, list_orders,
    place_order, update_order_status,
};

stockroom_http::operations! {
    /// Every orders endpoint, named by its handler (its function's template.yaml `Handler`).
    pub enum Operation in "orders" for stockroom_store::Store, port orders: stockroom_store::orders::OrdersStore {
        PlaceOrder = "place_order", "POST /orders" => place_order,
        ListOrders = "list_orders", "GET /orders" => list_orders,
        GetOrder = "get_order", "GET /orders/{id}" => get_order,
        UpdateOrderStatus = "update_order_status", "PATCH /orders/{id}" => update_order_status,
        CancelOrder = "cancel_order", "POST /orders/{id}/cancel" => cancel_order,
    }
}
