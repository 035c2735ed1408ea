//! Integration tests of holdout-prepare: one binary, one module per step.

#![allow(clippy::unwrap_used, clippy::needless_pass_by_value, reason = "tests fail loudly on bad fixtures")]

mod bundle;
mod detect;
mod risk;
mod screen;
mod scrub;
mod scrub_generated;
mod support;
