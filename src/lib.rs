//! Wharf: a self-hosted data exchange.

pub mod app;
pub mod auth;
pub mod blueprint;
pub mod cli;
pub mod db;
pub mod disk_full;
pub mod extract;
pub mod ffql;
pub mod ids;
pub mod jobs;
pub mod mail;
pub mod mapping;
pub mod memory;
pub mod model;
pub mod names;
pub mod ops;
pub mod settings;
pub mod storage;
pub mod validate;
pub mod web;
pub mod words;
pub mod workers;
