//! Stopping on a signal. SIGINT (Ctrl-C), SIGTERM (what a scheduler sends at a time limit) and
//! SIGHUP (a closed terminal) are handled alike: the first one sets the process-wide cancel flag,
//! which the long loops poll between cheap units of work; the command then drops its in-flight
//! work and its temporary files, keeps what is finished, says so in one line and exits with
//! 128 + the signal's number. A second signal ends the process at once, after deleting the
//! temporary files still registered here.
//!
//! The signals are received on a thread of their own (not in a signal handler), so that what it
//! does on a second signal (delete files, exit) is ordinary code.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

/// Set by the first signal (or by a test hook); polled by every long loop.
static CANCEL: AtomicBool = AtomicBool::new(false);
/// The number of the first signal received, 0 if none.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);
/// Temporary files alive in the process, deleted if a second signal ends it at once.
static TEMP_FILES: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
static INSTALL: Once = Once::new();

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;

/// The cancel flag that the signals set.
pub fn cancel_flag() -> &'static AtomicBool {
    &CANCEL
}

/// Whether a signal has arrived (or the flag was set otherwise).
pub fn cancelled() -> bool {
    CANCEL.load(Ordering::Relaxed)
}

/// The first signal received, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s as i32),
    }
}

/// The exit code of a command stopped by a signal: 128 + its number (130 for SIGINT when the stop
/// came from elsewhere, such as a test hook).
pub fn exit_code() -> u8 {
    (128 + received().unwrap_or(SIGINT)).clamp(0, 255) as u8
}

/// The signal's name, for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGHUP => "SIGHUP",
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// " by SIGTERM" (the first signal received), or nothing when none was.
pub fn by() -> String {
    received().map_or(String::new(), |s| format!(" by {}", name(s)))
}

/// Start receiving SIGINT, SIGTERM and SIGHUP. Idempotent. Does nothing off Unix but for Ctrl-C
/// not being caught.
pub fn install() {
    INSTALL.call_once(|| {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            use std::io::Write as _;
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                return;
            };
            let _ = std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    for signal in signals.forever() {
                        if RECEIVED
                            .compare_exchange(
                                0,
                                signal as usize,
                                Ordering::SeqCst,
                                Ordering::SeqCst,
                            )
                            .is_ok()
                        {
                            CANCEL.store(true, Ordering::SeqCst);
                            continue;
                        }
                        // A second signal: no more waiting.
                        remove_temp_files();
                        // Not `eprintln!`, which panics (and would not exit) if stderr is closed.
                        let _ = writeln!(
                            std::io::stderr(),
                            "error: stopped at once by a second signal ({}); finished work is kept",
                            name(signal)
                        );
                        std::process::exit(128 + signal);
                    }
                });
        }
    });
}

fn remove_temp_files() {
    let files = match TEMP_FILES.lock() {
        Ok(f) => f,
        Err(poisoned) => poisoned.into_inner(),
    };
    for path in files.iter() {
        let _ = std::fs::remove_file(path);
    }
}

/// While alive, `path` (a temporary file) is deleted if a second signal ends the process.
#[derive(Debug)]
pub struct TempGuard(PathBuf);

impl TempGuard {
    pub fn new(path: &Path) -> TempGuard {
        if let Ok(mut files) = TEMP_FILES.lock() {
            files.insert(path.to_path_buf());
        }
        TempGuard(path.to_path_buf())
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Ok(mut files) = TEMP_FILES.lock() {
            files.remove(&self.0);
        }
    }
}

/// A signal arrived once the command's work was done: its results are complete, but the exit code
/// still says that it was asked to stop.
#[derive(Debug, thiserror::Error)]
#[error("stopped{} as it finished; its results were written in full", by())]
pub struct LateSignal;

/// A command stopped by a signal after part of its work; the text says what was kept.
#[derive(Debug, thiserror::Error)]
#[error("stopped{} {}", by(), .0)]
pub struct StoppedKeeping(pub String);
