//! stockroom-store
