//! Test tooling for faults: [`proxy`], a DynamoDB endpoint that sits between the functions and
//! a DynamoDB-compatible server (moto) and injects the failures production brings, by a seeded
//! rate or a script, counting what it injected. Never part of a Lambda artifact: only tests,
//! `./scripts/faults` and this crate's binary use it.

pub mod proxy;

pub use proxy::{Fault, FaultProxy, Plan};
