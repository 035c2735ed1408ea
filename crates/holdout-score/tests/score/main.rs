//! Integration tests of holdout-score: one binary, one module per concern.

#![allow(clippy::unwrap_used, reason = "tests fail loudly on bad fixtures")]

mod bootstrap;
mod corpus;
mod duplicates;
mod fuzz;
mod integrity;
mod order;
mod parity;
mod problems;
mod ranking;
mod submission;
mod uncertainty;
