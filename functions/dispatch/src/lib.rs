//! The dispatch function's handler as a library, so integration tests can drive it with SQS
//! batches exactly as Lambda does.

pub mod handler;
