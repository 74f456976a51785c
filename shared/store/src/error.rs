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

/// The store could not take a request right now: DynamoDB throttled it, failed inside, or did
/// not answer in time, and the SDK's own retries did not get through either. Carried inside an
/// `Unexpected` error's cause chain; the API answers it as 503 with `Retry-After` (the client
/// may send the same request again: every write that can be retried is idempotent, or keyed by
/// its `Idempotency-Key`), never as a 500. What was applied before is whole: a transaction or
/// single-item write is all or nothing.
#[derive(Debug, thiserror::Error)]
#[error("the store is unavailable right now: {reason}")]
pub struct Unavailable {
    pub reason: String,
}

impl Unavailable {
    /// Whether `err`, or anything in its cause chain, is [`Unavailable`].
    pub fn in_chain(err: &(dyn std::error::Error + 'static)) -> bool {
        std::iter::successors(Some(err), |e| e.source()).any(|e| e.is::<Self>())
    }
}
