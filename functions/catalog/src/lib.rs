//! stockroom-catalog
