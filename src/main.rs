use clap::Parser;
use entra_connect::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    // The TPM library prints its own warnings on stderr; our errors say what
    // failed and what to do. Set before any thread starts (TSS2_LOG given wins).
    if std::env::var_os("TSS2_LOG").is_none() {
        // SAFETY: no other thread exists yet to read the environment.
        unsafe { std::env::set_var("TSS2_LOG", "all+NONE") };
    }
    let cli = Cli::parse();
    cli.init_logging();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if cli::reader_went_away(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", cli::error_line(&error));
            if error.downcast_ref::<cli::UsageError>().is_some() {
                ExitCode::from(2)
            } else if error.downcast_ref::<cli::AuditFoundUnknown>().is_some() {
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
