//! One error enum per operation: what each endpoint can answer besides success. The status of
//! each comes from its [`ErrorKind`], mapped to HTTP in one place (`stockroom_http`).

use stockroom_domain::ProductId;
use stockroom_http::{RequestError, api_error};
use stockroom_store::catalog::WriteError;

#[derive(Debug, thiserror::Error)]
pub enum CreateProductError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("A product with the id \"{0}\" already exists.")]
    AlreadyExists(ProductId),
    #[error("Product \"{0}\" is being created by someone else right now; try again.")]
    Contended(ProductId),
    #[error("failed to create a product")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(CreateProductError { AlreadyExists => Conflict, Contended => Conflict });

impl From<WriteError> for CreateProductError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::AlreadyExists(id) => Self::AlreadyExists(id),
            WriteError::Contended(id) => Self::Contended(id),
            other => Self::Unexpected(other.into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
/// Reading a product or its price history.
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
/// Replacing or deleting a product: both fail in exactly the same ways.
pub enum ChangeProductError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("No product has the id \"{0}\".")]
    NotFound(ProductId),
    #[error("Product \"{0}\" is being changed by someone else right now; try again.")]
    Contended(ProductId),
    #[error("failed to change a product")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(ChangeProductError { NotFound => NotFound, Contended => Conflict });

impl From<WriteError> for ChangeProductError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::NotFound(id) => Self::NotFound(id),
            WriteError::Contended(id) => Self::Contended(id),
            other => Self::Unexpected(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every sentence a client can read, pinned: ids as sent, never a Rust debug form.

    use super::*;
    use stockroom_http::{ApiError, ErrorKind};

    fn id() -> ProductId {
        ProductId::parse("sku-mug").unwrap()
    }

    #[test]
    fn every_client_error_sentence_names_the_id_as_sent() {
        let cases: Vec<(Box<dyn ApiError>, ErrorKind, &str)> = vec![
            (
                Box::new(CreateProductError::from(WriteError::AlreadyExists(id()))),
                ErrorKind::Conflict,
                "A product with the id \"sku-mug\" already exists.",
            ),
            (
                Box::new(CreateProductError::from(WriteError::Contended(id()))),
                ErrorKind::Conflict,
                "Product \"sku-mug\" is being created by someone else right now; try again.",
            ),
            (
                Box::new(GetProductError::NotFound(id())),
                ErrorKind::NotFound,
                "No product has the id \"sku-mug\".",
            ),
            (
                Box::new(ChangeProductError::from(WriteError::NotFound(id()))),
                ErrorKind::NotFound,
                "No product has the id \"sku-mug\".",
            ),
            (
                Box::new(ChangeProductError::from(WriteError::Contended(id()))),
                ErrorKind::Conflict,
                "Product \"sku-mug\" is being changed by someone else right now; try again.",
            ),
        ];
        for (err, kind, sentence) in cases {
            assert_eq!((err.kind(), err.to_string().as_str()), (kind, sentence));
        }
    }
}
