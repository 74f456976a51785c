//! The carts service: a cart is one item, so adding is one conditional `ADD` that never loses a
//! concurrent add, and checkout places the order (stock, order, `Idempotency-Key` record) and
//! empties the cart in one transaction.
//!
//! Each endpoint is one Lambda function, wired like the catalog's: one variant of
//! [`Operation`], run by the service's one binary (`src/bin/carts.rs`).

mod errors;
mod handlers;

pub use errors::{CartError, CheckoutError};
pub use handlers::{
    add_cart_item, checkout, delete_cart, get_cart, remove_cart_item, set_cart_item,
};

stockroom_http::operations! {
    /// Every carts endpoint, named by its handler (its function's template.yaml `Handler`).
    pub enum Operation in "carts" for stockroom_store::Store, port carts: stockroom_store::carts::CartsStore {
        GetCart = "get_cart", "GET /carts/{cart_id}" => get_cart,
        AddCartItem = "add_cart_item", "POST /carts/{cart_id}/items" => add_cart_item,
        SetCartItem = "set_cart_item", "PUT /carts/{cart_id}/items/{product_id}" => set_cart_item,
        RemoveCartItem = "remove_cart_item", "DELETE /carts/{cart_id}/items/{product_id}" => remove_cart_item,
        DeleteCart = "delete_cart", "DELETE /carts/{cart_id}" => delete_cart,
        Checkout = "checkout", "POST /carts/{cart_id}/checkout" => checkout,
    }
}
