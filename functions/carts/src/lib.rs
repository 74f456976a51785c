//! The carts service: a cart is one item, so adding is one conditional `ADD` that never loses a
//! concurrent add, and checkout places the order (stock, order, `Idempotency-Key` record) and
//! empties the cart in one transaction.
//!
//! Each endpoint is one Lambda function, built like the catalog's: a tiny main in
//! `src/bin/<operation>.rs` opens the process's store ([`stockroom_store::Store`]), takes the
//! carts port, and runs the handler of the same name from this library.

mod errors;
mod handlers;

pub use errors::{CartError, CheckoutError};
pub use handlers::{
    add_cart_item, checkout, delete_cart, get_cart, remove_cart_item, set_cart_item,
};

stockroom_http::operations! {
    /// Every carts endpoint, named by its binary (and its template.yaml `Binary` property).
    pub enum Operation for stockroom_store::Store {
        GetCart = "get_cart" => |s, c, r| get_cart(&*s.carts()?, c, r).await,
        AddCartItem = "add_cart_item" => |s, c, r| add_cart_item(&*s.carts()?, c, r).await,
        SetCartItem = "set_cart_item" => |s, c, r| set_cart_item(&*s.carts()?, c, r).await,
        RemoveCartItem = "remove_cart_item" => |s, c, r| remove_cart_item(&*s.carts()?, c, r).await,
        DeleteCart = "delete_cart" => |s, c, r| delete_cart(&*s.carts()?, c, r).await,
        Checkout = "checkout" => |s, c, r| checkout(&*s.carts()?, c, r).await,
    }
}
