//! Which in-process handler serves which function binary: every service's endpoints, from the
//! one list of services in [`handlers`]. A test checks that these and template.yaml name the
//! same binaries, both ways.

use stockroom_http::{BoxResponse, Caller, Endpoints, Request};
use stockroom_store::Store;

/// One function's handler, whichever service it belongs to.
pub trait Handler: Send + Sync {
    /// The function's binary (its template.yaml `Metadata.BuildProperties.Binary`).
    fn binary(&self) -> &'static str;
    /// Runs the handler for `caller` with the dev server's store, as the function would run in
    /// Lambda.
    fn call<'a>(&self, store: &'a Store, caller: Caller, req: Request) -> BoxResponse<'a>;
}

/// What of the dev server's store an endpoint is called with: all of it, or (for an endpoint
/// that uses none, like `GET /health`) nothing.
pub trait Part {
    fn of(store: &Store) -> &Self;
}

impl Part for Store {
    fn of(store: &Store) -> &Self {
        store
    }
}

impl Part for () {
    fn of(_: &Store) -> &Self {
        &()
    }
}

impl<O: Endpoints> Handler for O
where
    O::Store: Part,
{
    fn binary(&self) -> &'static str {
        Endpoints::binary(*self)
    }

    fn call<'a>(&self, store: &'a Store, caller: Caller, req: Request) -> BoxResponse<'a> {
        Endpoints::call(*self, Part::of(store), caller, req)
    }
}

fn service<O: Endpoints>() -> impl Iterator<Item = Box<dyn Handler>>
where
    O::Store: Part,
{
    O::all().iter().map(|op| Box::new(*op) as Box<dyn Handler>)
}

/// Every handler the dev server knows. The one list of services: a new service is one line
/// here (and its crate in this package's Cargo.toml).
pub fn handlers() -> Vec<Box<dyn Handler>> {
    service::<stockroom_catalog::Operation>()
        .chain(service::<stockroom_inventory::Operation>())
        .chain(service::<stockroom_orders::Operation>())
        .chain(service::<stockroom_carts::Operation>())
        .chain(service::<stockroom_notifications::Operation>())
        .chain(service::<stockroom_health::Operation>())
        .collect()
}

/// The handler of `binary`, if any.
pub fn for_binary(binary: &str) -> Option<Box<dyn Handler>> {
    handlers().into_iter().find(|h| h.binary() == binary)
}
