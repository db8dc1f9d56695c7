//! Where "now" comes from, and how waiting is done: the engine's decisions
//! (expiry, the rotation path, the maintenance tick) and the device-code poll
//! read one [`Clock`], so a test puts time anywhere.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use time::OffsetDateTime;

/// A wait on a [`Clock`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The time and the waiting a decision or a poll reads.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;

    /// Waits `duration`: on tokio's timer, which paused-time tests drive.
    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The system's clock and tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
