//! The notifications endpoint's error: one enum, mapped to problem+json like every service's.

use stockroom_http::{RequestError, api_error};

#[derive(Debug, thiserror::Error)]
pub enum ListNotificationsError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("failed to list notifications")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(ListNotificationsError {});
