//! Which TCTI reaches the TPM, and a quick look at its endpoint before the
//! TSS library is asked to open it.

use std::fs;
use std::time::Duration;

/// The TCTI used when none is configured: the kernel's resource manager.
pub const DEFAULT_TCTI: &str = "device:/dev/tpmrm0";
/// This tool's own variable for the TCTI (also `--tpm-tcti`).
pub const TCTI_ENV: &str = "ENTRA_CONNECT_TPM_TCTI";
/// The variable the tpm2-tools read; honoured after ours.
pub const STANDARD_TCTI_ENV: &str = "TPM2TOOLS_TCTI";
/// Where the TCTI came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TctiSource {
    /// Given by the front end (the command line's `--tpm-tcti`).
    Given,
    /// The environment variable of that name.
    Variable(&'static str),
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TctiSetting {
    pub tcti: String,
    pub source: TctiSource,
}

impl TctiSetting {
    /// `--tpm-tcti` if given, else the environment, else the default.
    pub fn resolve(flag: Option<&str>) -> TctiSetting {
        let ours = std::env::var(TCTI_ENV).ok();
        let standard = std::env::var(STANDARD_TCTI_ENV).ok();
        TctiSetting::choose(flag, ours.as_deref(), standard.as_deref())
    }

    /// The first of `flag`, `ours` (`ENTRA_CONNECT_TPM_TCTI`) and `standard`
    /// (`TPM2TOOLS_TCTI`) that is not blank, trimmed; else the default.
    pub(super) fn choose(
        flag: Option<&str>,
        ours: Option<&str>,
        standard: Option<&str>,
    ) -> TctiSetting {
        [
            (flag, TctiSource::Given),
            (ours, TctiSource::Variable(TCTI_ENV)),
            (standard, TctiSource::Variable(STANDARD_TCTI_ENV)),
        ]
        .into_iter()
        .find_map(|(value, source)| {
            let tcti = value?.trim();
            (!tcti.is_empty()).then(|| TctiSetting {
                tcti: tcti.to_string(),
                source,
            })
        })
        .unwrap_or(TctiSetting {
            tcti: DEFAULT_TCTI.to_string(),
            source: TctiSource::Default,
        })
    }
}

/// A TCTI's endpoint, checked before the TSS library is asked to use it, so
/// a missing device or a closed port is reported at once (and the library
/// does not print its own errors). The error says why no TPM can answer there.
#[cfg_attr(not(feature = "tpm"), allow(dead_code))]
pub(super) fn precheck(tcti: &str) -> Result<(), String> {
    let (name, config) = tcti.split_once(':').unwrap_or((tcti, ""));
    match name {
        "device" => {
            let path = if config.is_empty() {
                "/dev/tpm0"
            } else {
                config
            };
            match fs::OpenOptions::new().read(true).write(true).open(path) {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(format!("{path} does not exist: this machine shows no TPM"))
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(format!(
                    "{path}: permission denied; run as root or add the account to the tss group"
                )),
                Err(e) => Err(format!("{path}: {e}")),
            }
        }
        "swtpm" | "mssim" => {
            use std::net::{TcpStream, ToSocketAddrs};
            let field = |key: &str| {
                config
                    .split(',')
                    .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            };
            let host = field("host").unwrap_or("localhost");
            let port: u16 = match field("port") {
                Some(port) => port
                    .parse()
                    .map_err(|_| format!("the port {port:?} is not a number"))?,
                None => 2321,
            };
            let addresses = (host, port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve {host}: {e}"))?;
            let mut last = format!("{host} has no address");
            for address in addresses {
                match TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
                    Ok(_) => return Ok(()),
                    Err(e) => last = format!("{address}: {e}"),
                }
            }
            Err(last)
        }
        "tabrmd" => Ok(()),
        _ => Err(format!(
            "unknown TCTI {name:?}; use device:PATH, swtpm:host=HOST,port=PORT, mssim:host=HOST,port=PORT or tabrmd"
        )),
    }
}
