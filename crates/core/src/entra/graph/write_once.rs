//! Writing something to the directory exactly once, whatever answers get
//! lost: one combinator for every create the tool makes.
//!
//! Look it up; if it is absent, write it. A write whose answer is lost (a
//! 5xx, a timeout, a dropped connection: [`EntraError::Ambiguous`], since
//! Graph can commit and then fail to answer) is followed by a lookup before
//! it is ever sent again. Graph's refusal of a second object
//! ([`GraphCode::AlreadyExists`]) is success once the lookup shows the
//! object, which is then ours (the lookup finds only what this write makes);
//! it is waited for through replication, since what Graph refuses to make
//! twice may not be visible yet. Every other answer is final.

use super::super::EntraError;
use super::super::http::{HttpClient, RetryReason};
use super::GraphCode;
use std::future::Future;
use std::time::Instant;

/// What sending a write a second time could do, which decides how long to
/// look for the first one's effect before sending it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Graph refuses a second one ([`GraphCode::AlreadyExists`]): after a
    /// lost answer one lookup, then the write again, whose "already exists"
    /// leads back to the lookup.
    Refused,
    /// An upsert (`Prefer: create-if-missing` on the object's key): a second
    /// one updates the first, which the caller may not be allowed to do. So
    /// after a lost answer one lookup, then the write again, and
    /// `Authorization_RequestDenied` to that repeat means the first made it.
    Upsert,
    /// A second one would be a second object (Graph checks no key of it):
    /// after a lost answer the lookup is polled through replication, and the
    /// write is sent again only once the replication budget is spent with
    /// no sign of it.
    Duplicates,
}

/// How the object came to be there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written<T> {
    /// The lookup found it (made earlier, or by a write whose answer got lost).
    Found(T),
    /// This write made it, and said so.
    Made(T),
}

impl<T> Written<T> {
    pub fn into_inner(self) -> T {
        match self {
            Written::Found(value) | Written::Made(value) => value,
        }
    }
}

/// Waiting for a directory object to show (the client's replication budget).
pub trait Replication {
    /// Waits one replication interval before the next look, announcing
    /// `reason`; false, without waiting, once the budget since `started` is
    /// spent.
    fn pause(
        &self,
        started: Instant,
        attempt: u32,
        reason: RetryReason,
    ) -> impl Future<Output = bool> + Send;
}

impl Replication for HttpClient {
    fn pause(
        &self,
        started: Instant,
        attempt: u32,
        reason: RetryReason,
    ) -> impl Future<Output = bool> + Send {
        self.replication_pause(started, attempt, reason)
    }
}

/// Sends of one write at most, counting those after an answer that got lost.
const SENDS: u32 = 4;

/// One write made exactly once: [`WriteOnce::run`] with a lookup and a write.
#[derive(Debug, Clone, Copy)]
pub struct WriteOnce<'a, R> {
    replication: &'a R,
    repeat: Repeat,
    look_first: bool,
}

impl<'a, R: Replication> WriteOnce<'a, R> {
    pub fn new(replication: &'a R, repeat: Repeat) -> Self {
        WriteOnce {
            replication,
            repeat,
            look_first: true,
        }
    }

    /// Sends the write without looking first: the caller has just looked and
    /// found nothing, or the write is an upsert, which finds the object
    /// itself.
    pub fn write_first(self) -> Self {
        WriteOnce {
            look_first: false,
            ..self
        }
    }

    /// Makes the object `write` writes, exactly once. `lookup` finds that
    /// object and only it (by what makes it ours: its unique name, its
    /// certificate, its principal and role), so what it finds after
    /// "already exists" is ours. Errors of the lookup end the run; so does
    /// any answer of the write other than a lost one or "already exists".
    pub async fn run<T, E: From<EntraError>>(
        self,
        mut lookup: impl AsyncFnMut() -> Result<Option<T>, E>,
        mut write: impl AsyncFnMut() -> Result<T, EntraError>,
    ) -> Result<Written<T>, E> {
        let started = Instant::now();
        let mut pauses = 0;
        if self.look_first
            && let Some(found) = lookup().await?
        {
            return Ok(Written::Found(found));
        }
        let mut lost = false;
        let mut sends = 0;
        loop {
            sends += 1;
            let error = match write().await {
                Ok(made) => return Ok(Written::Made(made)),
                Err(error) => error,
            };
            let code = error.graph_code();
            let exists = code.is_some_and(GraphCode::already_exists)
                || lost
                    && self.repeat == Repeat::Upsert
                    && code == Some(&GraphCode::AuthorizationRequestDenied);
            let reason = match (&error, exists) {
                (_, true) => RetryReason::ExistsNotVisible,
                (EntraError::Ambiguous { .. }, false) => RetryReason::AnswerLost,
                _ => return Err(error.into()),
            };
            // Polled through replication where another send would not do.
            let patient = exists || self.repeat == Repeat::Duplicates;
            loop {
                if let Some(found) = lookup().await? {
                    return Ok(Written::Found(found));
                }
                pauses += 1;
                if !patient
                    || !self
                        .replication
                        .pause(started, pauses, reason.clone())
                        .await
                {
                    break;
                }
            }
            // Someone else's, or never visible within the budget.
            if exists || sends >= SENDS {
                return Err(error.into());
            }
            lost = true;
        }
    }
}

#[cfg(test)]
mod tests;
