//! stockroom-telemetry
