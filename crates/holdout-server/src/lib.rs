//! The leaderboard service (`holdout serve`): the contest database with its embedded
//! migrations ([`db`]) and hash-chained audit log ([`audit`]), contests loaded from prepared
//! bundles ([`contest`]), uploaded files stored by SHA-256 ([`store`]), the scoring queue's
//! workers ([`worker`]), the boards ([`board`], pure), signed score receipts ([`receipt`],
//! pure), committed final selections ([`selections`], pure), the JSON API ([`api`]) and the
//! load balancer's probes ([`ops`]); on PostgreSQL, changes heard across replicas
//! ([`changes`]) and files kept in the database ([`store`], [`db::blobs`]).
//! This crate is an IO edge: it owns the data directory and the network.

pub mod api;
pub mod audit;
pub mod auth;
pub mod board;
pub mod changes;
pub mod contest;
pub mod db;
pub mod error;
pub mod integrity;
pub mod metrics;
pub mod ops;
pub mod ranks;
pub mod receipt;
pub mod rescore;
pub mod selections;
pub mod state;
pub mod store;
pub mod throttle;
pub mod time;
pub mod web;
pub mod worker;

pub use api::router;
pub use state::{AppState, Config};
