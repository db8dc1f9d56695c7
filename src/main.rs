use clap::Parser;
use entra_connect::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.init_logging();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if cli::reader_went_away(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            match error.downcast_ref::<cli::UsageError>() {
                Some(_) => ExitCode::from(2),
                None => ExitCode::FAILURE,
            }
        }
    }
}
