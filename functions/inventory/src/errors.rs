//! What each inventory endpoint can answer besides success. The status of each comes from its
//! [`stockroom_http::ErrorKind`], mapped to HTTP in one place (`stockroom_http`).
//!
//! The three moves (decrement, reserve, release) share [`ChangeStockError`]: they fail in exactly
//! the same ways, and three identical enums would only be copies.

use stockroom_domain::ProductId;
use stockroom_http::{RequestError, api_error};
use stockroom_store::inventory::StockError;

#[derive(Debug, thiserror::Error)]
pub enum GetStockError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("Product \"{0}\" has no stock level.")]
    NoStockLevel(ProductId),
    #[error("failed to get a stock level")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(GetStockError { NoStockLevel => NotFound });

#[derive(Debug, thiserror::Error)]
pub enum SetStockError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("No product has the id \"{0}\" in the catalog; add it there before stocking it.")]
    UnknownProduct(ProductId),
    #[error("failed to set a stock level")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(SetStockError { UnknownProduct => NotFound });

impl From<StockError> for SetStockError {
    fn from(err: StockError) -> Self {
        match err {
            StockError::UnknownProduct(id) => Self::UnknownProduct(id),
            other => Self::Unexpected(other.into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeStockError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("Product \"{0}\" has no stock level; set one with PUT /stock/{0} first.")]
    NoStockLevel(ProductId),
    #[error(
        "Product \"{product_id}\" has {available} available, fewer than the {requested} requested. Nothing was changed."
    )]
    InsufficientAvailable {
        product_id: ProductId,
        available: u64,
        requested: u64,
    },
    #[error(
        "Product \"{product_id}\" has {reserved} reserved, fewer than the {requested} to release. Nothing was changed."
    )]
    InsufficientReserved {
        product_id: ProductId,
        reserved: u64,
        requested: u64,
    },
    #[error("failed to change a stock level")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(ChangeStockError {
    NoStockLevel => NotFound,
    InsufficientAvailable => Conflict,
    InsufficientReserved => Conflict,
});

impl From<StockError> for ChangeStockError {
    fn from(err: StockError) -> Self {
        match err {
            StockError::NoStockLevel(id) => Self::NoStockLevel(id),
            StockError::InsufficientAvailable {
                product_id,
                available,
                requested,
            } => Self::InsufficientAvailable {
                product_id,
                available,
                requested,
            },
            StockError::InsufficientReserved {
                product_id,
                reserved,
                requested,
            } => Self::InsufficientReserved {
                product_id,
                reserved,
                requested,
            },
            other => Self::Unexpected(other.into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeleteStockError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("Product \"{0}\" has no stock level.")]
    NoStockLevel(ProductId),
    #[error(
        "Product \"{product_id}\" still has {reserved} reserved; release them before deleting its stock level."
    )]
    StillReserved {
        product_id: ProductId,
        reserved: u64,
    },
    #[error("failed to delete a stock level")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(DeleteStockError { NoStockLevel => NotFound, StillReserved => Conflict });

impl From<StockError> for DeleteStockError {
    fn from(err: StockError) -> Self {
        match err {
            StockError::NoStockLevel(id) => Self::NoStockLevel(id),
            StockError::StillReserved {
                product_id,
                reserved,
            } => Self::StillReserved {
                product_id,
                reserved,
            },
            other => Self::Unexpected(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every sentence a client can read, pinned.

    use super::*;
    use stockroom_http::{ApiError, ErrorKind};

    fn id() -> ProductId {
        ProductId::parse("sku-mug").unwrap()
    }

    #[test]
    fn every_client_error_sentence_says_what_happened_and_names_the_id_as_sent() {
        let cases: Vec<(Box<dyn ApiError>, ErrorKind, &str)> = vec![
            (
                Box::new(GetStockError::NoStockLevel(id())),
                ErrorKind::NotFound,
                "Product \"sku-mug\" has no stock level.",
            ),
            (
                Box::new(SetStockError::from(StockError::UnknownProduct(id()))),
                ErrorKind::NotFound,
                "No product has the id \"sku-mug\" in the catalog; add it there before stocking it.",
            ),
            (
                Box::new(ChangeStockError::from(StockError::NoStockLevel(id()))),
                ErrorKind::NotFound,
                "Product \"sku-mug\" has no stock level; set one with PUT /stock/sku-mug first.",
            ),
            (
                Box::new(ChangeStockError::from(StockError::InsufficientAvailable {
                    product_id: id(),
                    available: 3,
                    requested: 4,
                })),
                ErrorKind::Conflict,
                "Product \"sku-mug\" has 3 available, fewer than the 4 requested. Nothing was changed.",
            ),
            (
                Box::new(ChangeStockError::from(StockError::InsufficientReserved {
                    product_id: id(),
                    reserved: 1,
                    requested: 2,
                })),
                ErrorKind::Conflict,
                "Product \"sku-mug\" has 1 reserved, fewer than the 2 to release. Nothing was changed.",
            ),
            (
                Box::new(DeleteStockError::from(StockError::NoStockLevel(id()))),
                ErrorKind::NotFound,
                "Product \"sku-mug\" has no stock level.",
            ),
            (
                Box::new(DeleteStockError::from(StockError::StillReserved {
                    product_id: id(),
                    reserved: 2,
                })),
                ErrorKind::Conflict,
                "Product \"sku-mug\" still has 2 reserved; release them before deleting its stock level.",
            ),
        ];
        for (err, kind, sentence) in cases {
            assert_eq!((err.kind(), err.to_string().as_str()), (kind, sentence));
        }
    }
}
