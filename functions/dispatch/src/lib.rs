//! The dispatch function's handler and its cold-start secret loading as a library, so
//! integration tests can drive them exactly as Lambda does.

pub mod handler;
pub mod secrets;
