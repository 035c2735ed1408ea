//! The declarative model every other holdout crate builds on: the survey export's columns
//! ([`Survey`]), the generalization hierarchies of its quasi-identifiers ([`Hierarchy`]) and the
//! contests defined on it ([`Competition`]).
//!
//! Everything here is parsed from text the caller has already read (a [`Source`]), validated once,
//! and handed on as a type that cannot be invalid. Errors name the file, line and column of the
//! problem. No file, clock or environment access happens in this crate.

mod competition;
mod dataset;
mod hierarchy;
mod published;
pub mod skeleton;
mod source;
mod survey;
pub mod tduck;
pub mod text;

pub use competition::{
    Bilingual, Board, BotBurst, Competition, FreeTextPolicy, IndexBlock, Metric, Phase, PredictionFormat, Privacy,
    QuasiIdentifier, Screening, Split, SubmissionLimits, Target, TargetDerivation, Task,
};
pub use dataset::Dataset;
pub use hierarchy::Hierarchy;
pub use published::{ColumnInfo, FeatureKind, SUPPRESSED, ValueInfo};
pub use source::{Source, SourceError};
pub use survey::{
    Band, Code, Column, ColumnKind, Condition, Contradiction, Level, Role, Survey, Test, Version, utc_offset,
};
