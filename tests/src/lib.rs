//! vitals-tests
