//! The carts service: a cart is one item, so adding is one conditional `ADD` that never loses a
//! concurrent add, and checkout places the order (stock, order, `Idempotency-Key` record) and
//! empties the cart in one transaction.
//!
//! Each endpoint is one Lambda function, wired like the catalog's: one variant of
//! [`Operation`], and a main in `src/bin/<operation>.rs` that is `stockroom_http::serve` of it.

mod errors;
mod handlers;

pub use errors::{CartError, CheckoutError};
pub use handlers::{
    add_cart_item, checkout, delete_cart, get_cart, remove_cart_item, set_cart_item,
};

stockroom_http::operations! {
    /// Every carts endpoint, named by its binary (and its template.yaml `Binary` property).
    pub enum Operation for stockroom_store::Store, port carts: stockroom_store::carts::CartsStore {
        GetCart = "get_cart" => get_cart,
        AddCartItem = "add_cart_item" => add_cart_item,
        SetCartItem = "set_cart_item" => set_cart_item,
        RemoveCartItem = "remove_cart_item" => remove_cart_item,
        DeleteCart = "delete_cart" => delete_cart,
        Checkout = "checkout" => checkout,
    }
}
