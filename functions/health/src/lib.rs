//! stockroom-health
