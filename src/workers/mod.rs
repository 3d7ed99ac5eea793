//! Background loops, each on a narrow context (never the web's state), startable
//! alone in a test.

pub mod cron;
pub mod event_retention;
pub mod handed_over;
mod index_queue;
pub mod indexes;
pub mod job_ack;
pub mod mail_retry;
pub mod submissions;
pub mod webhook_address;
pub mod webhook_alert;
mod webhook_clients;
mod webhook_places;
mod webhook_taken_up;
pub mod webhooks;

use std::sync::{Arc, Weak};

/// Keeps a worker running; dropping it stops the loop (at its next look).
pub struct Running(#[allow(dead_code)] Arc<()>);

impl Running {
    /// The handle, and what the loop watches: it ends once the handle is gone.
    fn new() -> (Running, Weak<()>) {
        let alive = Arc::new(());
        let weak = Arc::downgrade(&alive);
        (Running(alive), weak)
    }
}
