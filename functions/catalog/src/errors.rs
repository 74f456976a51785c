//! One error enum per operation: what each endpoint can answer besides success. The status of
//! each comes from its [`ErrorKind`], mapped to HTTP in one place (`stockroom_http`).

use stockroom_domain::{FieldError, ProductId};
use stockroom_http::{ApiError, ErrorKind, RequestError};
use stockroom_store::catalog::WriteError;

/// Implements [`ApiError`] for an operation's enum: request errors keep their own kind, the
/// listed variants get theirs, `Unexpected` is internal.
macro_rules! api_error {
    ($ty:ident { $($variant:ident => $kind:ident),* $(,)? }) => {
        impl ApiError for $ty {
            fn kind(&self) -> ErrorKind {
                match self {
                    Self::Request(err) => err.kind(),
                    $(Self::$variant(..) => ErrorKind::$kind,)*
                    Self::Unexpected(_) => ErrorKind::Internal,
                }
            }

            fn field_errors(&self) -> &[FieldError] {
                match self {
                    Self::Request(err) => err.field_errors(),
                    _ => &[],
                }
            }
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum ListProductsError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("failed to list products")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(ListProductsError {});

#[derive(Debug, thiserror::Error)]
pub enum CreateProductError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("A product with the id {0:?} already exists.")]
    AlreadyExists(ProductId),
    #[error("failed to create a product")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(CreateProductError { AlreadyExists => Conflict });

impl From<WriteError> for CreateProductError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::AlreadyExists(id) => Self::AlreadyExists(id),
            other => Self::Unexpected(other.into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GetProductError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("No product has the id \"{0}\".")]
    NotFound(ProductId),
    #[error("failed to get a product")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(GetProductError { NotFound => NotFound });

#[derive(Debug, thiserror::Error)]
pub enum UpdateProductError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("No product has the id \"{0}\".")]
    NotFound(ProductId),
    #[error("Product {0:?} is being changed by someone else right now; try again.")]
    Contended(ProductId),
    #[error("failed to replace a product")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(UpdateProductError { NotFound => NotFound, Contended => Conflict });

impl From<WriteError> for UpdateProductError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::NotFound(id) => Self::NotFound(id),
            WriteError::Contended(id) => Self::Contended(id),
            other => Self::Unexpected(other.into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeleteProductError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("No product has the id \"{0}\".")]
    NotFound(ProductId),
    #[error("failed to delete a product")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(DeleteProductError { NotFound => NotFound });

impl From<WriteError> for DeleteProductError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::NotFound(id) => Self::NotFound(id),
            other => Self::Unexpected(other.into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GetProductPricesError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("No product has the id \"{0}\".")]
    NotFound(ProductId),
    #[error("failed to read a product's price history")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(GetProductPricesError { NotFound => NotFound });
