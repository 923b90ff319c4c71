//! vitals-aws
