//! The orders service: an order is placed in one transaction that reserves every line's stock
//! and writes the order (and its `Idempotency-Key` record), so a confirmed order always holds
//! its units; each status change is one transaction that moves them on.
//!
//! Each endpoint is one Lambda function, wired like the catalog's: one variant of
//! [`Operation`], and a main in `src/bin/<operation>.rs` that is `stockroom_http::serve` of it.

mod errors;
mod handlers;

pub use errors::{ChangeOrderError, GetOrderError, PlaceOrderError};
pub use handlers::{
    IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, cancel_order, get_order, idempotency_key, list_orders,
    place_order, update_order_status,
};

stockroom_http::operations! {
    /// Every orders endpoint, named by its binary (and its template.yaml `Binary` property).
    pub enum Operation for stockroom_store::Store, port orders: stockroom_store::orders::OrdersStore {
        PlaceOrder = "place_order" => place_order,
        ListOrders = "list_orders" => list_orders,
        GetOrder = "get_order" => get_order,
        UpdateOrderStatus = "update_order_status" => update_order_status,
        CancelOrder = "cancel_order" => cancel_order,
    }
}
