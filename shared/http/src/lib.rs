//! vitals-http
