//! Scoring contest submissions: the one validator, the metrics exactly as scikit-learn 1.9
//! defines them (with the contest's fixed label set, and an explicit "undefined" wherever a
//! metric has no value), subsets of rows and the paired bootstrap.
//!
//! Pure: callers open files and pass readers or slices.

pub mod bootstrap;
pub mod duplicates;
pub mod evaluate;
pub mod i18n;
pub mod ids;
pub mod integrity;
pub mod metrics;
pub mod problem;
pub mod ranking;
pub mod scorer;
pub mod solution;
pub mod submission;
pub mod uncertainty;
