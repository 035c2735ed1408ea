//! Scoring contest submissions: the metrics, exactly as scikit-learn 1.9 defines them (with the
//! contest's fixed label set), and an explicit "undefined" wherever a metric has no value.
//!
//! Pure: callers parse files and pass slices.

pub mod bootstrap;
pub mod metrics;
pub mod submission;
