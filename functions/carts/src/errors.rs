//! What each carts endpoint can answer besides success. The four cart changes (`GET` aside)
//! fail in the same ways and share [`CartError`]; checkout fails like `POST /orders`, plus the
//! ways only a cart can, and shares the orders service's sentences for the order's part.

use stockroom_domain::ProductId;
use stockroom_domain::carts::{CartConflict, CartId};
use stockroom_domain::id::quoted;
use stockroom_domain::orders::PricingError;
use stockroom_http::{ApiError, ErrorKind, FieldError, RequestError, api_error};
use stockroom_orders::PlaceOrderError;
use stockroom_store::carts as store;

#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("No cart has the id \"{0}\" (a cart expires 30 days after its last change).")]
    NotFound(CartId),
    #[error("No product has the id \"{0}\". Nothing was added.")]
    UnknownProduct(ProductId),
    #[error(
        "Cart \"{cart_id}\" has no line for \"{product_id}\"; add it with POST /carts/{cart_id}/items."
    )]
    NoLine {
        cart_id: CartId,
        product_id: ProductId,
    },
    #[error("{0} Nothing was changed.")]
    Conflict(CartConflict),
    #[error("The cart is being changed by others right now. Nothing was changed; try again.")]
    Contended,
    #[error("failed to change a cart")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(CartError {
    NotFound => NotFound,
    UnknownProduct => NotFound,
    NoLine => NotFound,
    Conflict => Conflict,
    Contended => Conflict,
});

impl From<store::CartError> for CartError {
    fn from(err: store::CartError) -> Self {
        match err {
            store::CartError::NotFound(id) => Self::NotFound(id),
            store::CartError::UnknownProduct(id) => Self::UnknownProduct(id),
            store::CartError::NoLine {
                cart_id,
                product_id,
            } => Self::NoLine {
                cart_id,
                product_id,
            },
            store::CartError::Conflict(conflict) => Self::Conflict(conflict),
            store::CartError::Contended => Self::Contended,
            store::CartError::Unexpected(err) => Self::Unexpected(err),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("No cart has the id \"{0}\" (a cart expires 30 days after its last change).")]
    NotFound(CartId),
    #[error("Cart \"{0}\" is empty; add items before checking out.")]
    Empty(CartId),
    #[error(
        "Cart \"{0}\" changed during checkout. Nothing was ordered and the cart is as it was; check it and try again."
    )]
    Changed(CartId),
    #[error(
        "The cart holds products no longer in the catalog: {}. Nothing was ordered; remove them from the cart and check out again.",
        quoted(.0)
    )]
    ProductsGone(Vec<ProductId>),
    /// Placing the order failed as `POST /orders` would: stock, currencies, the key.
    #[error(transparent)]
    Order(PlaceOrderError),
}

impl ApiError for CheckoutError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Request(err) => err.kind(),
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Empty(_) => ErrorKind::NothingToDo,
            Self::Changed(_) | Self::ProductsGone(_) => ErrorKind::Conflict,
            Self::Order(err) => err.kind(),
        }
    }

    fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Request(err) => err.field_errors(),
            Self::Order(err) => err.field_errors(),
            _ => &[],
        }
    }
}

impl CheckoutError {
    /// The error of a checkout whose `Idempotency-Key` was `key`.
    pub fn from_store(err: store::CheckoutError, key: Option<&str>) -> Self {
        match err {
            store::CheckoutError::NotFound(id) => Self::NotFound(id),
            store::CheckoutError::Empty(id) => Self::Empty(id),
            store::CheckoutError::Changed(id) => Self::Changed(id),
            store::CheckoutError::Order(stockroom_store::orders::OrderError::Pricing(
                PricingError::UnknownProducts(ids),
            )) => Self::ProductsGone(ids),
            store::CheckoutError::Order(err) => Self::Order(PlaceOrderError::from_store(err, key)),
        }
    }
}
