//! Background loops, each on a narrow context (a pool, a setting), startable alone in a test.

pub mod event_retention;
