//! Why a write to one entity did not happen, shared by the ports whose writes fail the same
//! ways. Nothing was changed in any of these cases.

/// A failed write on the entity named by `Id`. The messages are sentences for a client: the
/// id as it was sent, never a Rust debug form.
#[derive(Debug, thiserror::Error)]
pub enum WriteError<Id: std::fmt::Display> {
    #[error("An item with the id \"{0}\" already exists.")]
    AlreadyExists(Id),
    #[error("No item has the id \"{0}\".")]
    NotFound(Id),
    /// Other writers kept changing the item (or held it in their transactions) until the
    /// retries ran out.
    #[error("\"{0}\" is being changed by someone else right now; try again.")]
    Contended(Id),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[cfg(feature = "embedded")]
impl<Id: std::fmt::Display> From<rusqlite::Error> for WriteError<Id> {
    fn from(err: rusqlite::Error) -> Self {
        Self::Unexpected(err.into())
    }
}
