//! Turns a raw survey export into a contest bundle that is safe to publish: invalid samples
//! screened out, direct identifiers dropped, free text scrubbed, quasi-identifiers generalized
//! to k-anonymity, rows split into train and test, and the result audited for leakage.
//!
//! Pure: the caller reads the files and writes the bundle; nothing here touches the file
//! system, the clock or the environment.

pub mod attack;
pub mod bundle;
mod card;
pub mod detect;
pub mod generalize;
pub mod keys;
pub mod leakage;
pub mod manifest;
pub mod raw;
pub mod risk;
pub mod screen;
pub mod scrub;
pub mod split;
pub mod tduck;
