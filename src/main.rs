//! The `ccgsim` binary: a thin shell around [`ccgsim::cli::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    match ccgsim::cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A worker rank of an MPI job leaves the reason to rank 0.
            if !err.is::<ccgsim::cluster::WorkerExit>() {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(ccgsim::cli::exit_code(&err))
        }
    }
}
