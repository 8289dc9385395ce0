//! The `ccgsim` binary: a thin shell around [`ccgsim::cli::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    match ccgsim::cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(ccgsim::cli::exit_code(&err))
        }
    }
}
