//! Signals and resume, end to end on the built binary: SIGINT, SIGTERM and SIGHUP at known moments
//! of `run`, `sweep`, `calibrate` and `bench` (the child prints `progress: ...` lines under the
//! `CCGSIM_TEST_PROGRESS` hook, and is signalled once it has reached a given one), and SIGKILL.
//! Afterwards: the exit code is 128 + the signal, no temporary file is left (after SIGKILL, the
//! next `--force` or `--resume` removes them), no result file is half written, and `--resume` gives
//! the same bytes as an uninterrupted run.
//!
//! Every wait has a generous timeout, so a loaded machine makes these tests slower, not flaky;
//! nothing asserts a speed beyond "stops within a few seconds of the signal".
#![cfg(unix)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ccgsim");
/// The longest any child is given to reach a moment or to exit.
const PATIENCE: Duration = Duration::from_secs(120);
/// How soon after a signal a child must have exited (generous: the machine may be loaded).
const PROMPT: Duration = Duration::from_secs(15);

/// A big-enough run: a thousand CCGs, so that the ensemble takes seconds and `by_ccg.csv` is
/// large. No test lets it run to the end.
const BIG_RUN: &str = r#"name = "big"
months = 36
replicates = 400
seed = 7

[population]
ccgs = 1000
"#;

/// The base of the sweeps and calibrations: thirty CCGs for two years.
const BASE: &str = r#"name = "base"
months = 24
replicates = 2
seed = 7

[population]
ccgs = 30
"#;

const SWEEP: &str = r#"scenario = "base.toml"
seed = 11
replicates = 4

[design]
kind = "lhs"
points = 120

[[parameters]]
path = "policy.sanctions.rate"
range = [0.0, 0.5]

[[parameters]]
path = "model.peers.rate"
range = [0.01, 0.2]

[[outputs]]
metric = "engaged_share"

[[outputs]]
metric = "mean_trust"
window = [2, 4]
"#;

const CALIBRATION: &str = r#"scenario = "base.toml"
targets = "targets.csv"
seed = 3
replicates = 2

[abc]
particles = 40
generations = 5
min_acceptance = 0.0
predictive_replicates = 20

[[parameters]]
path = "model.acceptability.initial_support.training"
prior = [0.05, 0.95]

[[match]]
target = "training"
metric = "support_training"
"#;

/// A temporary folder with the base, sweep, calibration and big-run files.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    let p = dir.path();
    fs::write(p.join("big.toml"), BIG_RUN).unwrap();
    fs::write(p.join("base.toml"), BASE).unwrap();
    fs::write(p.join("sweep.toml"), SWEEP).unwrap();
    fs::write(p.join("cal.toml"), CALIBRATION).unwrap();
    fs::write(p.join("targets.csv"), "id,value,se\ntraining,0.7,0.02\n").unwrap();
    dir
}

/// A running ccgsim whose standard error is read line by line.
struct Child {
    child: std::process::Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env("CCGSIM_TEST_PROGRESS", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ccgsim");
    let (tx, lines) = channel();
    let stderr = Arc::new(Mutex::new(String::new()));
    let all = stderr.clone();
    let pipe = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            all.lock().unwrap().push_str(&format!("{line}\n"));
            let _ = tx.send(line);
        }
    });
    Child {
        child,
        lines,
        stderr,
    }
}

impl Child {
    /// Wait until the child prints a progress line `progress: WHAT N` with N >= `at`.
    fn reach(&mut self, what: &str, at: u64) {
        let deadline = Instant::now() + PATIENCE;
        let prefix = format!("progress: {what} ");
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(n) = line.strip_prefix(&prefix) {
                        if n.parse::<u64>().map_or(true, |n| n >= at) {
                            return;
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.child.kill();
                    panic!(
                        "ccgsim never reached `{what} {at}`; it printed:\n{}",
                        self.stderr.lock().unwrap()
                    );
                }
            }
        }
    }

    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{signal} failed");
    }

    /// Wait for the child to exit (within `limit`); its status, standard error and how long it
    /// took.
    fn finish(mut self, limit: Duration) -> (ExitStatus, String, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let took = start.elapsed();
                // Let the reader thread take the last lines.
                let deadline = Instant::now() + Duration::from_secs(5);
                while self.lines.recv_timeout(Duration::from_millis(50)).is_ok()
                    && Instant::now() < deadline
                {}
                let stderr = self.stderr.lock().unwrap().clone();
                return (status, stderr, took);
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "ccgsim did not exit within {limit:?}; it printed:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Run ccgsim to the end; its status and standard error.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String) {
    let (status, stderr, _) = spawn(dir, args, env).finish(PATIENCE);
    (status, stderr)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Temporary files in `dir`: a writer's `.NAME.XXXXXX.partial` or any `.tmp`.
fn temporaries(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".partial") || n.ends_with(".tmp"))
        .collect()
}

/// The visible files of `dir` with their bytes.
fn results(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    names(dir)
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .map(|n| {
            let bytes = fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

fn assert_same_results(a: &Path, b: &Path) {
    let (x, y) = (results(a), results(b));
    assert_eq!(
        x.keys().collect::<Vec<_>>(),
        y.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (name, bytes) in &x {
        assert!(bytes == &y[name], "{name} differs");
    }
}

fn no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "a panic:\n{stderr}");
}

fn signal_number(signal: &str) -> i32 {
    match signal {
        "HUP" => 1,
        "INT" => 2,
        "KILL" => 9,
        "TERM" => 15,
        other => panic!("no number for {other}"),
    }
}

/// Every way a folder of a run may be left by a signal: nothing, or every file of a finished run
/// (when the signal came after the last file was renamed into place).
fn assert_whole_or_nothing(out: &Path) {
    let files = names(out);
    if files.is_empty() {
        return;
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap_or_default())
            .unwrap_or_else(|_| panic!("a folder with files but no whole manifest: {files:?}"));
    let listed: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(files, sorted, "exactly the files the manifest lists");
}

#[test]
fn run_stops_on_sigint_sigterm_and_sighup_within_moments_and_writes_nothing() {
    let dir = setup();
    for signal in ["INT", "TERM", "HUP"] {
        let out = format!("out_{signal}");
        let mut child = spawn(
            dir.path(),
            &["run", "big.toml", "--out", &out, "-t", "1"],
            &[],
        );
        child.reach("replicate", 1);
        // Its replicates are being written.
        assert!(
            !temporaries(&dir.path().join(&out)).is_empty(),
            "a temporary replicates.csv while the run is under way"
        );
        child.signal(signal);
        let (status, stderr, took) = child.finish(PATIENCE);
        eprintln!("SIG{signal}: exited {took:?} after the signal");
        assert_eq!(status.code(), Some(128 + signal_number(signal)), "{stderr}");
        assert!(took < PROMPT, "took {took:?} to stop");
        assert!(
            stderr.contains(&format!(
                "interrupted by SIG{signal} before the run finished"
            )),
            "{stderr}"
        );
        no_panic(&stderr);
        // Nothing at all is left: no temporary file, no result.
        assert_eq!(names(&dir.path().join(&out)), Vec::<String>::new());
    }
    // The folder left is empty, so the same command may run again without --force.
    let (status, stderr) = run(
        dir.path(),
        &["run", "big.toml", "--out", "out_TERM", "-r", "2", "--quiet"],
        &[],
    );
    assert!(status.success(), "{stderr}");
    assert_whole_or_nothing(&dir.path().join("out_TERM"));
}

#[test]
fn run_stopped_while_writing_its_files_leaves_all_or_none() {
    let dir = setup();
    let mut child = spawn(
        dir.path(),
        &["run", "big.toml", "--out", "out", "-r", "6", "-t", "1"],
        &[],
    );
    child.reach("finishing", 0);
    child.signal("TERM");
    let (status, stderr, took) = child.finish(PATIENCE);
    eprintln!("SIGTERM while writing: exited {took:?} after the signal");
    // On a loaded machine the signal can land after the process has ended: then it
    // finished normally, which the checks below accept as the complete outcome.
    assert!(matches!(status.code(), Some(143) | Some(0)), "{stderr}");
    assert!(took < PROMPT, "took {took:?} to stop");
    no_panic(&stderr);
    assert_eq!(temporaries(&dir.path().join("out")), Vec::<String>::new());
    assert_whole_or_nothing(&dir.path().join("out"));
}

#[test]
fn a_second_signal_stops_at_once_and_still_removes_temporary_files() {
    let dir = setup();
    // Two signals back to back; then two held while the child is stopped (SIGSTOP) and delivered
    // together when it continues, so that the second is received while the first is being acted on.
    for (i, held) in [false, true].into_iter().enumerate() {
        let out = format!("out{i}");
        let mut child = spawn(
            dir.path(),
            &["run", "big.toml", "--out", &out, "-t", "1"],
            &[],
        );
        child.reach("replicate", 1);
        if held {
            child.signal("STOP");
        }
        child.signal("TERM");
        child.signal("INT");
        if held {
            child.signal("CONT");
        }
        let (status, stderr, took) = child.finish(PATIENCE);
        let code = status.code();
        assert!(code == Some(130) || code == Some(143), "{code:?}: {stderr}");
        assert!(took < PROMPT, "took {took:?} to stop");
        no_panic(&stderr);
        assert_eq!(names(&dir.path().join(&out)), Vec::<String>::new());
        eprintln!(
            "two signals{}: exit {code:?}, {}",
            if held { " held" } else { "" },
            if stderr.contains("stopped at once by a second signal") {
                "ended at once by the second"
            } else {
                "stopped by the first"
            }
        );
    }
}

#[test]
fn a_killed_run_leaves_temporary_files_that_force_removes() {
    let dir = setup();
    let out = dir.path().join("out");
    let mut child = spawn(
        dir.path(),
        &["run", "big.toml", "--out", "out", "-t", "1"],
        &[],
    );
    child.reach("replicate", 1);
    child.signal("KILL");
    let (status, _, _) = child.finish(PATIENCE);
    assert_eq!(status.signal(), Some(9));
    let left = temporaries(&out);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with(".replicates.csv.") && left[0].ends_with(".partial"));
    // Without --force the folder is refused, as any non-empty folder.
    let (status, stderr) = run(
        dir.path(),
        &["run", "big.toml", "--out", "out", "-r", "2", "--quiet"],
        &[],
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    // --force removes what the killed run left.
    let (status, stderr) = run(
        dir.path(),
        &[
            "run", "big.toml", "--out", "out", "-r", "2", "--quiet", "--force",
        ],
        &[],
    );
    assert!(status.success(), "{stderr}");
    assert_eq!(temporaries(&out), Vec::<String>::new());
    assert_whole_or_nothing(&out);
}

#[test]
fn bench_stops_on_sigterm() {
    let dir = setup();
    let child = spawn(
        dir.path(),
        &[
            "bench", "--ccgs", "1000", "-r", "400", "--ticks", "36", "--repeat", "1", "-t", "1",
        ],
        &[],
    );
    // bench prints nothing before it measures; a second is ample for it to start.
    std::thread::sleep(Duration::from_secs(1));
    child.signal("TERM");
    let (status, stderr, took) = child.finish(PATIENCE);
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(took < PROMPT, "took {took:?} to stop");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    no_panic(&stderr);
}

#[test]
fn a_sweep_stopped_by_signals_or_killed_resumes_to_the_same_bytes() {
    let dir = setup();
    let p = dir.path();
    let (status, stderr) = run(
        p,
        &[
            "sweep",
            "sweep.toml",
            "--out",
            "whole",
            "-t",
            "2",
            "--quiet",
        ],
        &[],
    );
    assert!(status.success(), "{stderr}");
    assert!(results(&p.join("whole")).contains_key("results.csv"));

    // Stopped by SIGINT, then SIGTERM, then SIGHUP, then killed, each later in the sweep, and
    // resumed after each.
    let out = p.join("out");
    let mut done = 0;
    for (i, signal) in ["INT", "TERM", "HUP", "KILL"].into_iter().enumerate() {
        let mut args = vec!["sweep", "sweep.toml", "--out", "out", "-t", "1"];
        if i > 0 {
            args.push("--resume");
        }
        let mut child = spawn(p, &args, &[]);
        child.reach("points", done + 1);
        child.signal(signal);
        let (status, stderr, took) = child.finish(PATIENCE);
        no_panic(&stderr);
        if signal == "KILL" {
            assert_eq!(status.signal(), Some(9));
        } else {
            assert_eq!(status.code(), Some(128 + signal_number(signal)), "{stderr}");
            assert!(took < PROMPT, "took {took:?} to stop");
            assert!(
                stderr.contains(&format!("stopped by SIG{signal}")) && stderr.contains("--resume"),
                "{stderr}"
            );
            assert_eq!(temporaries(&out), Vec::<String>::new());
        }
        assert!(out.join(".sweep-state.json").exists());
        assert!(!out.join("manifest.json").exists(), "not finished yet");
        let state: serde_json::Value =
            serde_json::from_slice(&fs::read(out.join(".sweep-state.json")).unwrap()).unwrap();
        done = state["points_done"].as_u64().unwrap();
        eprintln!("sweep: SIG{signal} after {done} of 120 points, exited {took:?} after it");
        assert!(done < 120, "the sweep was stopped before its end");
    }
    // SIGTERM once every point is done, as the final files are written: either they are not
    // renamed into place and the journals stay, or (the signal came after) the folder is complete.
    let mut child = spawn(
        p,
        &["sweep", "sweep.toml", "--out", "out", "--resume", "-t", "1"],
        &[],
    );
    child.reach("points", 120);
    child.signal("TERM");
    let (status, stderr, _) = child.finish(PATIENCE);
    // On a loaded machine the signal can land after the process has ended: then it
    // finished normally, which the checks below accept as the complete outcome.
    assert!(matches!(status.code(), Some(143) | Some(0)), "{stderr}");
    no_panic(&stderr);
    assert_eq!(temporaries(&out), Vec::<String>::new());
    let finished = out.join("manifest.json").exists();
    assert!(
        status.code() == Some(143) || finished,
        "exit 0 only once finished"
    );
    assert_ne!(
        finished,
        out.join(".sweep-state.json").exists(),
        "{:?}",
        names(&out)
    );
    eprintln!("sweep: SIGTERM while finishing left it finished: {finished}");

    // What a sweep killed while writing its final files would leave: the next --resume removes it.
    fs::write(
        out.join(".results.csv.AbC123.partial"),
        "point,replicate\n0,",
    )
    .unwrap();
    fs::write(out.join(".sweep-state.json.tmp"), "{\"points").unwrap();
    let (status, stderr) = run(
        p,
        &["sweep", "sweep.toml", "--out", "out", "--resume", "-t", "2"],
        &[],
    );
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("resumed") || stderr.contains("already complete"),
        "{stderr}"
    );
    assert_eq!(
        names(&out)
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect::<Vec<_>>(),
        Vec::<String>::new(),
        "no hidden file is left"
    );
    assert_same_results(&p.join("whole"), &out);
}

/// The calibration's final files, uninterrupted, in `p/whole`.
fn whole_calibration(p: &Path) -> PathBuf {
    let (status, stderr) = run(
        p,
        &[
            "calibrate",
            "cal.toml",
            "--out",
            "whole",
            "-t",
            "2",
            "--quiet",
        ],
        &[],
    );
    assert!(status.success(), "{stderr}");
    let whole = p.join("whole");
    assert_eq!(results(&whole).len(), 6);
    assert_eq!(temporaries(&whole), Vec::<String>::new());
    whole
}

#[test]
fn a_calibration_stopped_by_the_test_hook_resumes_to_the_same_bytes() {
    let dir = setup();
    let p = dir.path();
    let whole = whole_calibration(p);
    let out = p.join("out");
    for k in ["1", "3"] {
        let mut args = vec!["calibrate", "cal.toml", "--out", "out", "-t", "1"];
        if k != "1" {
            args.push("--resume");
        }
        let (status, stderr) = run(p, &args, &[("CCGSIM_TEST_STOP_AFTER_GENERATIONS", k)]);
        assert_eq!(status.code(), Some(130), "{stderr}");
        assert!(
            stderr.contains(&format!("after {k} finished generation"))
                && stderr.contains("--resume"),
            "{stderr}"
        );
        assert_eq!(names(&out), [".calibration.journal"]);
    }
    // Without --resume (or --force) the folder is refused.
    let (status, stderr) = run(p, &["calibrate", "cal.toml", "--out", "out"], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    let (status, stderr) = run(
        p,
        &[
            "calibrate",
            "cal.toml",
            "--out",
            "out",
            "--resume",
            "-t",
            "2",
        ],
        &[],
    );
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("generation 2 (resumed)"), "{stderr}");
    assert!(!stderr.contains("generation 3 (resumed)"), "{stderr}");
    assert_eq!(temporaries(&out), Vec::<String>::new());
    assert!(!out.join(".calibration.journal").exists());
    assert_same_results(&whole, &out);
    // --resume on the finished folder does nothing.
    let (status, stderr) = run(
        p,
        &["calibrate", "cal.toml", "--out", "out", "--resume"],
        &[],
    );
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("already complete"), "{stderr}");
    assert_same_results(&whole, &out);
}

#[test]
fn a_calibration_stopped_by_signals_or_killed_resumes_to_the_same_bytes() {
    let dir = setup();
    let p = dir.path();
    let whole = whole_calibration(p);
    let out = p.join("out");
    for (i, signal) in ["TERM", "HUP", "INT", "KILL"].into_iter().enumerate() {
        let mut args = vec!["calibrate", "cal.toml", "--out", "out", "-t", "1"];
        if i > 0 {
            args.push("--resume");
        }
        let mut child = spawn(p, &args, &[]);
        // Each run finishes one more generation, then is stopped during the next.
        child.reach("generation", i as u64 + 1);
        child.signal(signal);
        let (status, stderr, took) = child.finish(PATIENCE);
        no_panic(&stderr);
        if signal == "KILL" {
            assert_eq!(status.signal(), Some(9));
        } else {
            assert_eq!(status.code(), Some(128 + signal_number(signal)), "{stderr}");
            assert!(took < PROMPT, "took {took:?} to stop");
            assert!(
                stderr.contains(&format!("calibration stopped by SIG{signal}"))
                    && stderr.contains("--resume"),
                "{stderr}"
            );
            assert_eq!(temporaries(&out), Vec::<String>::new());
        }
        assert!(out.join(".calibration.journal").exists());
    }
    // SIGTERM once the last generation is done, during the predictive check or the final files:
    // either the journal stays, or (the signal came after) the folder is complete.
    let mut child = spawn(
        p,
        &[
            "calibrate",
            "cal.toml",
            "--out",
            "out",
            "--resume",
            "-t",
            "1",
        ],
        &[],
    );
    child.reach("generation", 5);
    child.signal("TERM");
    let (status, stderr, _) = child.finish(PATIENCE);
    // On a loaded machine the signal can land after the process has ended: then it
    // finished normally, which the checks below accept as the complete outcome.
    assert!(matches!(status.code(), Some(143) | Some(0)), "{stderr}");
    no_panic(&stderr);
    assert_eq!(temporaries(&out), Vec::<String>::new());
    let finished = !out.join(".calibration.journal").exists();
    assert!(
        status.code() == Some(143) || finished,
        "exit 0 only once finished"
    );
    if finished {
        assert_eq!(results(&out).len(), 6);
    } else {
        assert!(stderr.contains("after 5 finished generations"), "{stderr}");
    }
    eprintln!("calibration: SIGTERM while finishing left it finished: {finished}");

    // What a calibration killed while writing would leave: the next --resume removes it.
    fs::write(out.join(".posterior.csv.AbC123.partial"), "generation,").unwrap();
    fs::write(out.join(".calibration.journal.tmp"), "0123").unwrap();
    let (status, stderr) = run(
        p,
        &[
            "calibrate",
            "cal.toml",
            "--out",
            "out",
            "--resume",
            "-t",
            "2",
        ],
        &[],
    );
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("(resumed)") || stderr.contains("already complete"),
        "{stderr}"
    );
    assert_eq!(
        names(&out)
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect::<Vec<_>>(),
        Vec::<String>::new(),
        "no hidden file is left"
    );
    assert_same_results(&whole, &out);
}

#[test]
fn a_damaged_or_foreign_journal_is_refused_and_force_starts_again() {
    let dir = setup();
    let p = dir.path();
    let whole = whole_calibration(p);
    let out = p.join("out");
    let journal = out.join(".calibration.journal");
    let stop = [("CCGSIM_TEST_STOP_AFTER_GENERATIONS", "2")];
    let (status, stderr) = run(p, &["calibrate", "cal.toml", "--out", "out"], &stop);
    assert_eq!(status.code(), Some(130), "{stderr}");
    let good = fs::read_to_string(&journal).unwrap();
    assert_eq!(good.lines().count(), 3, "a header and two generations");
    let resume = ["calibrate", "cal.toml", "--out", "out", "--resume"];

    // One changed digit in the second generation's record.
    let lines: Vec<&str> = good.lines().collect();
    let at =
        lines[0].len() + 1 + lines[1].len() + 1 + lines[2].find("\"candidates\":").unwrap() + 13;
    let mut bytes = good.clone().into_bytes();
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    // A line cut short (as a copy might leave it), a record in the wrong place, an empty journal.
    let cut = &good[..good.len() - 10];
    let swapped = format!("{}\n{}\n{}\n", lines[0], lines[2], lines[1]);
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("changed", bytes, "line 3: the record fails its checksum"),
        (
            "cut",
            cut.as_bytes().to_vec(),
            "line 3: the line is cut short",
        ),
        (
            "swapped",
            swapped.into_bytes(),
            "line 2: a record out of place",
        ),
        ("empty", Vec::new(), "line 1: the journal is empty"),
    ];
    for (what, bytes, message) in cases {
        fs::write(&journal, bytes).unwrap();
        let (status, stderr) = run(p, &resume, &[]);
        assert_eq!(status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains(message), "{what}: {stderr}");
        assert!(stderr.contains(".calibration.journal"), "{what}: {stderr}");
        assert!(stderr.contains("--force"), "{what}: {stderr}");
        no_panic(&stderr);
    }

    // A journal of another calibration (the same file with another seed).
    fs::write(&journal, &good).unwrap();
    fs::write(
        p.join("cal.toml"),
        CALIBRATION.replace("seed = 3", "seed = 4"),
    )
    .unwrap();
    let (status, stderr) = run(p, &resume, &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("was written for a different calibration") && stderr.contains("--force"),
        "{stderr}"
    );
    fs::write(p.join("cal.toml"), CALIBRATION).unwrap();
    let (status, stderr) = run(p, &resume, &[]);
    assert!(status.success(), "the journal is good again: {stderr}");
    assert_same_results(&whole, &out);

    // --force starts again and ends with the same bytes.
    fs::write(&journal, "damaged").unwrap();
    let (status, stderr) = run(
        p,
        &["calibrate", "cal.toml", "--out", "out", "--force"],
        &[],
    );
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains("(resumed)"), "{stderr}");
    assert!(!journal.exists());
    assert_same_results(&whole, &out);
}

#[test]
fn sensitivity_stops_on_sigterm_and_writes_nothing() {
    let dir = setup();
    let p = dir.path();
    let params: String = (1..=3)
        .map(|i| format!("[[parameters]]\npath = \"x{i}\"\nrange = [-3.14, 3.14]\n\n"))
        .collect();
    fs::write(
        p.join("ishigami.toml"),
        format!(
            "model = \"ishigami\"\n[design]\nkind = \"sobol\"\nn = 4096\n\n{params}[[outputs]]\nmetric = \"y\"\n"
        ),
    )
    .unwrap();
    let (status, stderr) = run(
        p,
        &["sweep", "ishigami.toml", "--out", "sobol", "--quiet"],
        &[],
    );
    assert!(status.success(), "{stderr}");
    let before = names(&p.join("sobol"));
    // Far more resamples than can finish in the second before the signal.
    let child = spawn(
        p,
        &[
            "sensitivity",
            "sobol",
            "--bootstrap",
            "100000000",
            "-t",
            "1",
        ],
        &[],
    );
    std::thread::sleep(Duration::from_secs(1));
    child.signal("TERM");
    let (status, stderr, took) = child.finish(PATIENCE);
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(took < PROMPT, "took {took:?} to stop");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    no_panic(&stderr);
    assert_eq!(
        names(&p.join("sobol")),
        before,
        "no sensitivity.csv, no temporary file"
    );
}

#[test]
fn several_runs_stopped_keep_the_finished_ones() {
    let dir = setup();
    let p = dir.path();
    fs::write(
        p.join("small.toml"),
        "name = \"small\"\nmonths = 6\nreplicates = 2\n[population]\nccgs = 3\n",
    )
    .unwrap();
    let mut child = spawn(
        p,
        &["run", "small.toml", "big.toml", "--out", "multi", "-t", "1"],
        &[],
    );
    child.reach("finishing", 0);
    // The second run's first replicate.
    child.reach("replicate", 1);
    child.signal("TERM");
    let (status, stderr, took) = child.finish(PATIENCE);
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(took < PROMPT, "took {took:?} to stop");
    assert!(
        stderr.contains("stopped by SIGTERM before every run finished; finished and kept:")
            && stderr.contains("small")
            && stderr.contains("not written: 1 scenario"),
        "{stderr}"
    );
    no_panic(&stderr);
    assert_eq!(names(&p.join("multi/small")).len(), 4);
    assert_whole_or_nothing(&p.join("multi/small"));
    assert_eq!(names(&p.join("multi/big")), Vec::<String>::new());
}

#[test]
fn calibrate_resume_starts_afresh_where_there_is_nothing_to_resume_and_refuses_other_folders() {
    let dir = setup();
    let p = dir.path();
    let stop = [("CCGSIM_TEST_STOP_AFTER_GENERATIONS", "1")];
    let resume = |out: &str| {
        run(
            p,
            &["calibrate", "cal.toml", "--out", out, "--resume", "-t", "1"],
            &stop,
        )
    };
    // A missing folder, and one with only what a run killed before its first generation left.
    fs::create_dir(p.join("killed")).unwrap();
    fs::write(p.join("killed/.calibration.journal.tmp"), "01").unwrap();
    fs::write(p.join("killed/.posterior.csv.AbC123.partial"), "g").unwrap();
    for out in ["missing", "killed"] {
        let (status, stderr) = resume(out);
        assert_eq!(status.code(), Some(130), "{out}: {stderr}");
        assert!(!stderr.contains("(resumed)"), "{out}: {stderr}");
        assert_eq!(names(&p.join(out)), [".calibration.journal"], "{out}");
    }
    // A folder of something else, and a sweep's folder.
    fs::create_dir(p.join("other")).unwrap();
    fs::write(p.join("other/notes.txt"), "mine").unwrap();
    let (status, stderr) = resume("other");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not a calibration folder"), "{stderr}");
    assert_eq!(names(&p.join("other")), ["notes.txt"]);
    fs::create_dir(p.join("sweep")).unwrap();
    fs::write(p.join("sweep/manifest.json"), "{\"sweep\": \"s\"}").unwrap();
    let (status, stderr) = resume("sweep");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not the manifest of a calibration folder"),
        "{stderr}"
    );
    // --resume and --force together are refused.
    let (status, stderr) = run(
        p,
        &["calibrate", "cal.toml", "--out", "x", "--resume", "--force"],
        &[],
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(!p.join("x").exists());
}

/// An optimisation of the small base: enough generations to be stopped part-way.
const OPTIMISATION: &str = r#"name = "opt"
scenario = "base.toml"
seed = 5
replicates = 2

[search]
population = 16
generations = 60

[[variables]]
path = "policy.training.rate"
range = [0.0, 0.5]

[[variables]]
path = "policy.sanctions.rate"
range = [0.0, 0.5]

[[objectives]]
metric = "engaged_share"
sense = "maximise"

[[objectives]]
metric = "mean_quality"
sense = "maximise"
"#;

#[test]
fn an_optimisation_stopped_by_a_signal_resumes_to_the_same_bytes() {
    let dir = setup();
    let p = dir.path();
    fs::write(p.join("opt.toml"), OPTIMISATION).unwrap();
    let (status, stderr) = run(
        p,
        &[
            "optimise", "opt.toml", "--out", "whole", "-t", "2", "--quiet",
        ],
        &[],
    );
    assert!(status.success(), "{stderr}");
    let out = p.join("out");
    for (i, signal) in ["INT", "TERM"].into_iter().enumerate() {
        let mut args = vec!["optimise", "opt.toml", "--out", "out", "-t", "1", "--quiet"];
        if i > 0 {
            args.push("--resume");
        }
        let mut child = spawn(p, &args, &[]);
        child.reach("saved", 2 * i as u64 + 2);
        child.signal(signal);
        let (status, stderr, took) = child.finish(PATIENCE);
        no_panic(&stderr);
        if status.success() {
            // The signal came after the last generation: the folder is complete.
            break;
        }
        assert_eq!(status.code(), Some(128 + signal_number(signal)), "{stderr}");
        assert!(took < PROMPT, "took {took:?} to stop");
        assert!(stderr.contains("--resume"), "{stderr}");
        assert_eq!(temporaries(&out), Vec::<String>::new());
        assert!(out.join(".optimise-state.json").exists());
        assert!(!out.join("pareto.csv").exists());
    }
    if !out.join("pareto.csv").exists() {
        let (status, stderr) = run(
            p,
            &[
                "optimise", "opt.toml", "--out", "out", "-t", "2", "--quiet", "--resume",
            ],
            &[],
        );
        assert!(status.success(), "{stderr}");
    }
    for f in [
        "pareto.csv",
        "evaluations.csv",
        "generations.csv",
        "manifest.json",
    ] {
        assert_eq!(
            fs::read(p.join("whole").join(f)).unwrap(),
            fs::read(out.join(f)).unwrap(),
            "{f}"
        );
    }
}
