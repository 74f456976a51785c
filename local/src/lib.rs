//! The Stockroom dev server (`cargo dev`): every `HttpApi` route in template.yaml, served by
//! calling that function's handler in-process with the API Gateway HTTP API event it would get
//! in AWS, over the embedded store, and every stream consumer over the store's change feed
//! ([`feed`]). No AWS, no Docker.

pub mod auth;
pub mod event;
pub mod feed;
pub mod registry;
pub mod seed;
pub mod server;
pub mod template;
