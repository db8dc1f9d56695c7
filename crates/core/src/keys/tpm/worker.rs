//! The one thread that owns the TSS context: jobs are sent to it and their
//! answers awaited, each within a limit.

use super::session::Session;
use super::tcti::precheck;
use super::{CONNECT_TIMEOUT, TpmFailure, TpmFailureKind, TpmUnavailable};
use std::str::FromStr;
use std::sync::{Mutex, mpsc};
use std::time::Duration;
use tss_esapi::{Context, TctiNameConf};

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// The connection: jobs go to the worker thread that owns the context.
pub(in crate::keys::tpm) struct Connection {
    jobs: Option<mpsc::Sender<Job>>,
    /// Closed by the worker once the context is finalised.
    finished: Mutex<mpsc::Receiver<()>>,
    manufacturer: String,
}

/// Closing the connection flushes what this process loaded (the primary,
/// the session, the last key): a TPM without a resource manager (swtpm,
/// /dev/tpm0) would otherwise keep them and run out of slots.
impl Drop for Connection {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Ok(finished) = self.finished.lock() {
            let _ = finished.recv_timeout(CONNECT_TIMEOUT);
        }
    }
}

impl Connection {
    /// Connects and asks the TPM for its manufacturer, all within
    /// [`CONNECT_TIMEOUT`]; a TPM that does not answer is unavailable.
    pub(in crate::keys::tpm) fn open(tcti: &str) -> Result<Connection, TpmUnavailable> {
        let unavailable = |why: String| TpmUnavailable {
            tcti: tcti.to_string(),
            why,
        };
        precheck(tcti).map_err(unavailable)?;
        let conf = TctiNameConf::from_str(tcti)
            .map_err(|e| unavailable(format!("the TCTI cannot be parsed: {e}")))?;
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, String>>();
        let (jobs, jobs_rx) = mpsc::channel::<Job>();
        let (finished_tx, finished) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("tpm".into())
            .spawn(move || {
                // Dropped last, after the context: tells the connection it is closed.
                let _finished = finished_tx;
                let opened = Context::new(conf).and_then(|mut context| {
                    let manufacturer = tss_esapi::utils::get_tpm_vendor(&mut context)?;
                    Ok((context, manufacturer))
                });
                let mut session = match opened {
                    Ok((context, manufacturer)) => {
                        if ready_tx.send(Ok(manufacturer)).is_err() {
                            return;
                        }
                        Session::new(context)
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                for job in jobs_rx {
                    job(&mut session);
                }
            })
            .map_err(|e| unavailable(format!("cannot start the TPM thread: {e}")))?;
        match ready_rx.recv_timeout(CONNECT_TIMEOUT) {
            Ok(Ok(manufacturer)) => Ok(Connection {
                jobs: Some(jobs),
                finished: Mutex::new(finished),
                manufacturer,
            }),
            Ok(Err(why)) => Err(unavailable(why)),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(unavailable(format!(
                "no answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(unavailable("the TPM thread stopped".into()))
            }
        }
    }

    pub(in crate::keys::tpm) fn manufacturer(&self) -> &str {
        &self.manufacturer
    }

    /// Runs `job` on the worker, waiting at most `limit` for its answer.
    pub(in crate::keys::tpm) fn run<R: Send + 'static>(
        &self,
        limit: Duration,
        job: impl FnOnce(&mut Session) -> Result<R, TpmFailure> + Send + 'static,
    ) -> Result<R, TpmFailure> {
        let disconnected = || TpmFailure::new(TpmFailureKind::Disconnected);
        let (reply_tx, reply_rx) = mpsc::channel();
        self.jobs
            .as_ref()
            .ok_or_else(disconnected)?
            .send(Box::new(move |session: &mut Session| {
                let _ = reply_tx.send(job(session));
            }))
            .map_err(|_| disconnected())?;
        match reply_rx.recv_timeout(limit) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(TpmFailure::new(TpmFailureKind::TimedOut(limit)))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(disconnected()),
        }
    }
}
