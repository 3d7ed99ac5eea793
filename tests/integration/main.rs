//! One integration binary; every test runs on SQLite and on PostgreSQL.

mod helpers;

mod api_auth;
mod api_records;
mod api_spaces;
mod bad_input;
mod browser;
mod browser_guests;
mod cli;
mod editing;
mod flatfile_client;
mod guests;
mod health_and_migrations;
mod mail;
mod pages;
mod pages_admin;
mod pages_grid;
mod pages_names;
mod pages_security;
mod people;
mod records_concurrency;
mod records_integrity;
mod security_matrix;
mod smtp;
