//! stockroom-http
