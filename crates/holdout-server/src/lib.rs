//! The leaderboard service's storage layer (the HTTP service builds on it): the contest
//! database with its embedded migrations ([`db`]) and the hash-chained audit log ([`audit`]).
//! This crate is an IO edge: it owns the database file of a data directory.

pub mod audit;
pub mod db;
