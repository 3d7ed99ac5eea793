//! Background loops, each on a narrow context (never the web's state), startable
//! alone in a test.

pub mod event_retention;
pub mod job_ack;
pub mod webhook_address;
pub mod webhooks;
