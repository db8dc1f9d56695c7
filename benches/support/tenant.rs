//! The sandbox tenant a benchmark runs against: in-process, with its default
//! configuration, on a runtime of two worker threads (the CI machine's
//! cores) that the benchmark also drives its requests on.

use entra_connect::sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use tokio::runtime::Runtime;

/// The runtime and the sandbox served on it; keep the runtime as long as
/// the sandbox is used.
pub fn start() -> (Runtime, SandboxHandle) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig::default()))
        .expect("sandbox");
    (runtime, sandbox)
}
