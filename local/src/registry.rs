//! Which in-process handler serves which function binary. A test checks that this table and
//! template.yaml name the same binaries, both ways.

use std::sync::Arc;

use stockroom_catalog::Operation;
use stockroom_http::{Body, Request, Response};
use stockroom_store::catalog::CatalogStore;

/// The stores the functions use, opened once for the whole dev server.
#[derive(Clone)]
pub struct Stores {
    pub catalog: Arc<dyn CatalogStore>,
}

/// A function's handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Catalog(Operation),
    Health,
}

impl Handler {
    /// Every handler the dev server knows, by binary name.
    pub fn all() -> Vec<(&'static str, Self)> {
        let mut all: Vec<_> = Operation::ALL
            .into_iter()
            .map(|op| (op.binary(), Self::Catalog(op)))
            .collect();
        all.push(("health", Self::Health));
        all
    }

    pub fn for_binary(binary: &str) -> Option<Self> {
        Self::all()
            .into_iter()
            .find(|(name, _)| *name == binary)
            .map(|(_, h)| h)
    }

    pub async fn call(self, stores: &Stores, req: Request) -> Response<Body> {
        match self {
            Self::Catalog(op) => op.call(&*stores.catalog, req).await,
            Self::Health => stockroom_health::health(req).await,
        }
    }
}
