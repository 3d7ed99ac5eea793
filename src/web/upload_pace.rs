//! A request body (an upload, a JSON body) must keep coming. One that stops, or trickles a
//! byte now and then, holds a connection and its buffers (an upload's part, and in a bucket
//! a multipart upload): it is stopped once it sends less than [`STEP`] bytes within the idle
//! time of a kept-alive connection.

use super::error::AppError;
use futures_util::{Stream, StreamExt};
use std::time::Duration;
use tokio::time::Instant;

/// The bytes a body must send within each idle period (about 870 bytes a second at the
/// default 75 s: slower than any real connection).
const STEP: usize = 64 * 1024;

pub struct Pace {
    idle: Duration,
    since: Instant,
    bytes: usize,
}

impl Pace {
    pub fn new(idle: Duration) -> Pace {
        Pace {
            idle,
            since: Instant::now(),
            bytes: 0,
        }
    }

    /// The next item of the body (a part, or a chunk of one), or 408 once the body is late.
    pub async fn next<S: Stream + Unpin>(&mut self, body: &mut S) -> Result<Option<S::Item>, AppError> {
        tokio::time::timeout_at(self.since + self.idle, body.next())
            .await
            .map_err(|_| {
                AppError::TimedOut(format!(
                    "the request body sent less than {} KiB in {} s and was stopped; send it again",
                    STEP / 1024,
                    self.idle.as_secs()
                ))
            })
    }

    /// Counts bytes that arrived; each [`STEP`] of them starts a new period.
    pub fn got(&mut self, n: usize) {
        self.bytes += n;
        if self.bytes >= STEP {
            self.bytes = 0;
            self.since = Instant::now();
        }
    }
}
