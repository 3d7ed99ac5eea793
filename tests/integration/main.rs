//! One integration binary; every test runs on SQLite and on PostgreSQL.

mod helpers;

mod api_auth;
mod api_files;
mod api_jobs;
mod api_mapping;
mod api_records;
mod api_spaces;
mod bad_input;
mod browser;
mod browser_files;
mod browser_guests;
mod cli;
mod editing;
mod files_bad_input;
mod files_hardening;
mod flatfile_client;
mod guests;
mod guests_files;
mod health_and_migrations;
mod jobs_crash;
mod mail;
mod pages;
mod pages_admin;
mod pages_files;
mod pages_grid;
mod pages_names;
mod pages_security;
mod people;
mod processes;
mod records_concurrency;
mod records_integrity;
mod records_search;
mod security_matrix;
mod smtp;
