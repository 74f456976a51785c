//! Test tooling for faults: [`proxy`], a DynamoDB endpoint that sits between the functions and
//! a DynamoDB-compatible server (moto) and injects the failures production brings, by a seeded
//! rate or a script, counting what it injected; and [`run`], `./scripts/faults`: the shop's
//! order and cart flows through it, audited. Never part of a Lambda artifact: only tests,
//! `./scripts/faults` and this crate's binary use it.

pub mod audit;
pub mod feed;
pub mod proxy;
pub mod rng;
pub mod run;
pub mod shop;

pub use proxy::{Access, Fault, FaultProxy, Plan, accesses};
