//! One integration binary; every test runs on SQLite and on PostgreSQL.

mod helpers;





mod health_and_migrations;
