//! One change at a time on this server: every change takes the state
//! directory's lock ([`crate::host::lock`]) for its whole run. A second change
//! waits a bounded time, saying for what, then proceeds on the state as the
//! first left it, or is refused naming the holder; the scheduler's tick never
//! waits (it skips its run). Reads take no lock.

use super::{EngineError, LocalServer};
use crate::host::lock::{self, LockHolder, StateLock};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a change waits for the one already running, by default.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);
/// How often a waiting change asks again: the kernel keeps no queue for
/// a lock taken without blocking.
const LOCK_POLL: Duration = Duration::from_millis(50);
/// How long a change that does not wait still asks again. A lock given back
/// a moment ago can stay held while a child process, forked by another
/// thread just before, holds a copy of its descriptor (until its exec).
const HANDOVER: Duration = Duration::from_millis(200);

/// Told whom a change waits for, when it starts waiting (again if the holder changes).
pub type LockNotice = Arc<dyn Fn(&LockHolder) + Send + Sync>;

/// The lock held for a change, given back when dropped (also when the
/// change's future is dropped on cancel). Empty for a change inside a change
/// (the tick's rotation): the outer one holds the lock.
#[must_use]
pub(crate) struct ChangeGuard {
    held: Option<(StateLock, Arc<AtomicBool>)>,
    /// Whom this change waited for before it got the lock.
    pub waited_for: Option<LockHolder>,
}

impl Drop for ChangeGuard {
    fn drop(&mut self) {
        if let Some((_lock, holding)) = self.held.take() {
            holding.store(false, Ordering::SeqCst);
        }
    }
}

impl LocalServer {
    /// How long a change waits for another one before it is refused.
    pub fn set_lock_wait(&mut self, wait: Duration) {
        self.lock_wait = wait;
    }

    /// Who is told when a local change (scheduler, certificates) waits; an
    /// operation says it in its progress instead.
    pub fn set_lock_notice(&mut self, notice: LockNotice) {
        self.lock_notice = Some(notice);
    }

    /// Whether this server holds the state lock now.
    pub(crate) fn holds_lock(&self) -> bool {
        self.holding_lock.load(Ordering::SeqCst)
    }

    fn guard(&self, held: StateLock, waited_for: Option<LockHolder>) -> ChangeGuard {
        self.holding_lock.store(true, Ordering::SeqCst);
        ChangeGuard {
            held: Some((held, Arc::clone(&self.holding_lock))),
            waited_for,
        }
    }

    fn nested() -> ChangeGuard {
        ChangeGuard {
            held: None,
            waited_for: None,
        }
    }

    /// Takes the lock for `change`, waiting up to the server's wait; `notice`
    /// hears whom it waits for.
    pub(crate) async fn take_lock(
        &self,
        change: &str,
        notice: impl Fn(&LockHolder) + Send + 'static,
    ) -> Result<ChangeGuard, EngineError> {
        self.take_lock_within(change, self.lock_wait, notice).await
    }

    /// Takes the lock for `change`, waiting up to `wait`.
    async fn take_lock_within(
        &self,
        change: &str,
        wait: Duration,
        notice: impl Fn(&LockHolder) + Send + 'static,
    ) -> Result<ChangeGuard, EngineError> {
        if self.holds_lock() {
            return Ok(Self::nested());
        }
        let dir = self.state_dir.clone();
        let change = change.to_string();
        // Waiting sleeps: off the async runtime's threads.
        let (held, waited_for) =
            tokio::task::spawn_blocking(move || wait_for_lock(&dir, &change, wait, notice))
                .await
                .map_err(|_| EngineError::LockWaitFailed)??;
        Ok(self.guard(held, waited_for))
    }

    /// [`LocalServer::take_lock`] for a change made outside the async
    /// runtime, telling the server's [`LocalServer::set_lock_notice`].
    pub(crate) fn take_lock_blocking(&self, change: &str) -> Result<ChangeGuard, EngineError> {
        if self.holds_lock() {
            return Ok(Self::nested());
        }
        let notice = self.lock_notice.clone();
        let (held, waited_for) =
            wait_for_lock(&self.state_dir, change, self.lock_wait, move |holder| {
                if let Some(notice) = &notice {
                    notice(holder)
                }
            })?;
        Ok(self.guard(held, waited_for))
    }

    /// Takes the lock only if no one holds it: the scheduler's tick, which
    /// skips a run rather than wait (beyond [`HANDOVER`]). `Err(holder)` when someone does.
    pub(crate) async fn try_take_lock(
        &self,
        change: &str,
    ) -> Result<Result<ChangeGuard, Option<LockHolder>>, EngineError> {
        match self.take_lock_within(change, HANDOVER, |_| {}).await {
            Ok(guard) => Ok(Ok(guard)),
            Err(EngineError::ChangeRunning { holder, .. }) => Ok(Err(holder.map(|h| *h))),
            Err(other) => Err(other),
        }
    }

    /// Whether another process is changing this server now (a read's
    /// question: it neither waits nor takes the lock).
    pub(crate) fn change_running_elsewhere(&self) -> Result<bool, EngineError> {
        Ok(!self.holds_lock() && lock::is_locked(&self.state_dir)?)
    }

    /// Runs the local change `work` (named `change`) under the lock.
    pub(crate) fn changing<T>(
        &mut self,
        change: &str,
        work: impl FnOnce(&mut LocalServer) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let _guard = self.take_lock_blocking(change)?;
        work(self)
    }
}

/// Takes the lock of `dir`, asking again until `wait` has passed.
fn wait_for_lock(
    dir: &std::path::Path,
    change: &str,
    wait: Duration,
    notice: impl Fn(&LockHolder),
) -> Result<(StateLock, Option<LockHolder>), EngineError> {
    let deadline = Instant::now() + wait;
    let mut waited_for: Option<LockHolder> = None;
    loop {
        let holder = match lock::try_lock(dir, change)? {
            Ok(held) => return Ok((held, waited_for)),
            Err(holder) => holder,
        };
        // A holder that has not written its name yet is named on the next try.
        if let Some(holder) = holder
            && waited_for.as_ref() != Some(&holder)
        {
            notice(&holder);
            waited_for = Some(holder);
        }
        if Instant::now() >= deadline {
            return Err(EngineError::ChangeRunning {
                holder: waited_for.map(Box::new),
                waited: wait,
            });
        }
        std::thread::sleep(LOCK_POLL);
    }
}
