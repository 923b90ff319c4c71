//! vitals-embedded
