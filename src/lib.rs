//! Wharf: a self-hosted data exchange.

pub mod app;
pub mod auth;
pub mod blueprint;
pub mod cli;
pub mod db;
pub mod ids;
pub mod mail;
pub mod model;
pub mod settings;
pub mod validate;
pub mod web;
