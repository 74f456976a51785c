//! The dev server's integration tests, one test binary (linked once, sharing [`support`]):
//! handlers on the `events/` samples, the dev server end to end over HTTP, access rules,
//! stream consumers over the change feed and over moto's streams, telemetry and logs, the
//! dashboards against the metrics the code emits, template.yaml against the registry, and the
//! edge under generated input, the process killed mid-burst.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap has failed; the panic says where.

mod adding_a_service;
mod dashboards;
mod e2e;
mod e2e_access;
mod e2e_carts;
mod e2e_inventory;
mod e2e_notifications;
mod e2e_orders;
mod fixtures;
mod fuzz_edge;
mod kill;
mod logs;
mod memory;
mod moto_stream;
mod stream_consumers;
mod support;
mod telemetry;
mod template_sync;
