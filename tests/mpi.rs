//! End-to-end tests under MPI (`cargo test --features mpi --test mpi`): sweeps, calibrations and
//! ensembles on two ranks give the files of one process byte for byte; a sweep killed under
//! MPI resumes without it; bad input, a rank that cannot read its input and a rank that stops
//! answering end the job with a message from rank 0.
//!
//! They need Open MPI's `mpirun`. Outside CI they are skipped, with a message, when it is
//! missing; with `CI` set a missing `mpirun` fails them.

#![cfg(feature = "mpi")]

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ccgsim")
}

/// `mpirun -n <ranks>` on this machine, or `None` (skip) where there is none outside CI.
fn mpirun(ranks: usize) -> Option<Command> {
    let found = Command::new("mpirun")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "mpirun is missing; CI installs it (Debian: openmpi-bin, libopenmpi-dev)"
        );
        eprintln!("skipped: mpirun not found (install openmpi-bin to run the MPI tests)");
        return None;
    }
    let mut c = Command::new("mpirun");
    // More ranks than cores is allowed here; these machines may run the tests as root.
    c.args(["--oversubscribe", "-n", &ranks.to_string()])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .stdin(Stdio::null());
    Some(c)
}

fn alone() -> Command {
    let mut c = Command::new(bin());
    c.stdin(Stdio::null());
    c
}

fn ok(what: &str, out: Output) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The files of a folder, by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn assert_same_folder(a: &Path, b: &Path, only: Option<&[&str]>) {
    let (fa, fb) = (files(a), files(b));
    let keep = |v: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
        v.into_iter()
            .filter(|(n, _)| only.is_none_or(|o| o.contains(&n.as_str())))
            .collect()
    };
    let (fa, fb) = (keep(fa), keep(fb));
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&fa),
        names(&fb),
        "{} and {}",
        a.display(),
        b.display()
    );
    assert!(!fa.is_empty());
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(
            x == y,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn a_sweep_on_two_ranks_writes_the_bytes_of_one_process() {
    let Some(mut mpi) = mpirun(2) else { return };
    let dir = tempfile::tempdir().unwrap();
    let sweep = root().join("sweeps/grid.toml");
    ok(
        "sweep alone",
        alone()
            .args(["sweep", "-q", "-t", "2", "-o"])
            .arg(dir.path().join("alone"))
            .arg(&sweep)
            .output()
            .unwrap(),
    );
    let out = ok(
        "sweep on two ranks",
        mpi.arg(bin())
            .args(["sweep", "-t", "1", "-o"])
            .arg(dir.path().join("mpi"))
            .arg(&sweep)
            .output()
            .unwrap(),
    );
    assert_same_folder(&dir.path().join("alone"), &dir.path().join("mpi"), None);
    // One summary line, from rank 0.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("grid_training_sanctions:").count(),
        1,
        "{stderr}"
    );
    // Both ranks took units, and they add up to the sweep's.
    let units = stderr
        .split("on 2 ranks (units ")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .unwrap_or_else(|| panic!("no units in {stderr}"));
    let each: Vec<u64> = units.split(" + ").map(|u| u.parse().unwrap()).collect();
    assert!(each.len() == 2 && each.iter().all(|&u| u > 0), "{stderr}");
    assert!(stderr.contains(") x 1 thread"), "{stderr}");
}

#[test]
fn a_calibration_on_two_ranks_writes_the_bytes_of_one_process() {
    let Some(mut mpi) = mpirun(2) else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cal.toml");
    fs::write(
        &file,
        format!(
            r#"scenario = "{}"
targets = "{}"
seed = 11
replicates = 2

[abc]
particles = 48
generations = 3
predictive_replicates = 16

[[parameters]]
path = "model.acceptability.initial_support.targets"
prior = [0.08, 0.45]

[[parameters]]
path = "model.acceptability.initial_support.sanctions"
prior = [0.03, 0.30]

[[match]]
target = "support_targets"
metric = "support_targets"

[[match]]
target = "support_sanctions"
metric = "support_sanctions"
"#,
            root().join("scenarios/baseline.toml").display(),
            root().join("calibration/survey_2015_targets.csv").display()
        ),
    )
    .unwrap();
    ok(
        "calibration alone",
        alone()
            .args(["calibrate", "-q", "-t", "2", "-o"])
            .arg(dir.path().join("alone"))
            .arg(&file)
            .output()
            .unwrap(),
    );
    ok(
        "calibration on two ranks",
        mpi.arg(bin())
            .args(["calibrate", "-q", "-t", "1", "-o"])
            .arg(dir.path().join("mpi"))
            .arg(&file)
            .output()
            .unwrap(),
    );
    assert_same_folder(&dir.path().join("alone"), &dir.path().join("mpi"), None);
}

#[test]
fn an_ensemble_on_two_ranks_writes_the_bytes_of_one_process() {
    let Some(mut mpi) = mpirun(2) else { return };
    let dir = tempfile::tempdir().unwrap();
    let scenario = root().join("scenarios/england_2015.toml");
    let args = ["run", "-q", "-r", "6", "--seed", "5", "-o"];
    ok(
        "ensemble alone",
        alone()
            .args(args)
            .arg(dir.path().join("alone"))
            .args(["-t", "2"])
            .arg(&scenario)
            .output()
            .unwrap(),
    );
    ok(
        "ensemble on two ranks",
        mpi.arg(bin())
            .args(args)
            .arg(dir.path().join("mpi"))
            .args(["-t", "1"])
            .arg(&scenario)
            .output()
            .unwrap(),
    );
    // The manifest records the wall time and threads; the results are the same bytes.
    let results = ["timeseries.csv", "replicates.csv", "by_ccg.csv"];
    assert_same_folder(
        &dir.path().join("alone"),
        &dir.path().join("mpi"),
        Some(&results),
    );
}

/// A sweep big enough to be killed part-way: 600 points of 20 replicates of the baseline.
fn long_sweep(dir: &Path) -> PathBuf {
    let file = dir.join("long.toml");
    fs::write(
        &file,
        format!(
            r#"name = "long"
scenario = "{}"
seed = 9
replicates = 20

[set]
months = 24

[design]
kind = "lhs"
points = 600

[[parameters]]
path = "policy.sanctions.rate"
range = [0.0, 0.5]

[[parameters]]
path = "policy.training.rate"
range = [0.0, 0.3]

[[outputs]]
metric = "engaged_share"

[[outputs]]
metric = "mean_trust"
"#,
            root().join("scenarios/baseline.toml").display()
        ),
    )
    .unwrap();
    file
}

/// The process ids of the ranks of a job started by `mpirun` (pid `launcher`), by rank.
fn ranks_of(launcher: u32) -> Vec<(usize, u32)> {
    let mut ranks = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The parent pid is the second field after the command's closing parenthesis.
        let after = &stat[stat.rfind(')').unwrap_or(0) + 2..];
        let parent: u32 = after
            .split(' ')
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if parent != launcher {
            continue;
        }
        let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        for var in environ.split(|&b| b == 0) {
            if let Some(rank) = var.strip_prefix(b"OMPI_COMM_WORLD_RANK=") {
                if let Ok(r) = String::from_utf8_lossy(rank).parse() {
                    ranks.push((r, pid));
                }
            }
        }
    }
    ranks.sort();
    ranks
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}

type Stderr = std::io::Lines<BufReader<std::process::ChildStderr>>;

/// Start `mpi` with the progress hook and wait until rank 0 has made `points` points durable;
/// returns the child, the lines of standard error read so far and the rest of them (kept open,
/// so that the job can still write).
fn start_until_progress(
    mut mpi: Command,
    points: usize,
) -> (std::process::Child, Vec<String>, Stderr) {
    let mut child = mpi
        .env("CCGSIM_TEST_PROGRESS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = Vec::new();
    let mut rest = BufReader::new(stderr).lines();
    for line in rest.by_ref() {
        let line = line.unwrap();
        let done = line
            .strip_prefix("progress: points ")
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n >= points);
        lines.push(line);
        if done {
            return (child, lines, rest);
        }
    }
    let status = child.wait();
    panic!("the job ended ({status:?}) before {points} points: {lines:?}");
}

#[test]
fn a_sweep_killed_under_mpi_resumes_on_one_rank_then_alone_to_the_same_bytes() {
    let Some(mut mpi) = mpirun(2) else { return };
    let dir = tempfile::tempdir().unwrap();
    let sweep = long_sweep(dir.path());
    let (reference, killed) = (dir.path().join("alone"), dir.path().join("killed"));
    ok(
        "sweep alone",
        alone()
            .args(["sweep", "-q", "-o"])
            .arg(&reference)
            .arg(&sweep)
            .output()
            .unwrap(),
    );
    mpi.arg(bin())
        .args(["sweep", "-t", "1", "-o"])
        .arg(&killed)
        .arg(&sweep);
    let (mut child, _, rest) = start_until_progress(mpi, 1);
    let ranks = ranks_of(child.id());
    let worker = ranks
        .iter()
        .find(|(r, _)| *r == 1)
        .expect("rank 1 is running")
        .1;
    signal(worker, "-KILL");
    let rest: Vec<String> = rest.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "mpirun ends the job when a rank is killed: {rest:?}"
    );
    assert!(
        killed.join(".sweep-state.json").exists(),
        "the journals are kept"
    );
    assert!(
        !killed.join("results.csv").exists(),
        "the sweep did not finish"
    );
    // Resumed under MPI again, on one rank this time, and stopped at 300 points by the test hook;
    // then finished without MPI.
    let mut one = mpirun(1).unwrap();
    let out = one
        .arg(bin())
        .args(["sweep", "-q", "--resume", "-o"])
        .arg(&killed)
        .arg(&sweep)
        .env("CCGSIM_TEST_STOP_AFTER_POINTS", "300")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(
        "resume without MPI",
        alone()
            .args(["sweep", "-q", "--resume", "-o"])
            .arg(&killed)
            .arg(&sweep)
            .output()
            .unwrap(),
    );
    assert_same_folder(&reference, &killed, None);
}

#[test]
fn several_scenarios_on_two_ranks_write_the_bytes_of_one_process() {
    let Some(mut mpi) = mpirun(2) else { return };
    let dir = tempfile::tempdir().unwrap();
    let scenarios = [
        root().join("scenarios/baseline.toml"),
        root().join("scenarios/sanctions_only.toml"),
    ];
    let args = ["run", "-q", "-r", "12", "-o"];
    ok(
        "two scenarios alone",
        alone()
            .args(args)
            .arg(dir.path().join("alone"))
            .args(&scenarios)
            .output()
            .unwrap(),
    );
    ok(
        "two scenarios on two ranks",
        mpi.arg(bin())
            .args(args)
            .arg(dir.path().join("mpi"))
            .args(["-t", "1"])
            .args(&scenarios)
            .output()
            .unwrap(),
    );
    let results = ["timeseries.csv", "replicates.csv", "by_ccg.csv"];
    for name in ["baseline", "sanctions_only"] {
        assert_same_folder(
            &dir.path().join("alone").join(name),
            &dir.path().join("mpi").join(name),
            Some(&results),
        );
    }
}

#[test]
fn a_rank_that_stops_answering_ends_the_job_after_the_timeout() {
    let Some(mut mpi) = mpirun(2) else { return };
    let dir = tempfile::tempdir().unwrap();
    let sweep = long_sweep(dir.path());
    mpi.arg(bin())
        .args(["sweep", "-t", "1", "--mpi-timeout", "3", "-o"])
        .arg(dir.path().join("out"))
        .arg(&sweep);
    let (mut child, mut lines, rest) = start_until_progress(mpi, 1);
    let ranks = ranks_of(child.id());
    let worker = ranks
        .iter()
        .find(|(r, _)| *r == 1)
        .expect("rank 1 is running")
        .1;
    let stopped = Instant::now();
    signal(worker, "-STOP");
    lines.extend(rest.map_while(Result::ok));
    let status = child.wait().unwrap();
    signal(worker, "-KILL");
    let text = lines.join("\n");
    assert!(!status.success());
    assert!(
        text.contains("rank 1 (on ") && text.contains("has sent nothing for"),
        "{text}"
    );
    assert!(
        stopped.elapsed() < Duration::from_secs(60),
        "{:?}",
        stopped.elapsed()
    );
    assert!(dir.path().join("out/.sweep-state.json").exists());
}

fn failing(what: &str, mut c: Command) -> String {
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    assert_eq!(
        stderr.matches("error:").count(),
        1,
        "{what}: one message, from rank 0: {stderr}"
    );
    stderr
}

#[test]
fn bad_input_under_mpi_exits_2_with_one_message_from_rank_0() {
    let Some(mut mpi) = mpirun(2) else { return };
    let dir = tempfile::tempdir().unwrap();
    let sweep = root().join("sweeps/grid.toml");
    mpi.arg(bin())
        .args(["sweep", "-q", "--shard", "1/2", "-o"])
        .arg(dir.path().join("shard"))
        .arg(&sweep);
    let stderr = failing("--shard", mpi);
    assert!(stderr.contains("drop --shard"), "{stderr}");

    // One point of one replicate: one unit for two ranks.
    let one = dir.path().join("one.toml");
    fs::write(
        &one,
        format!(
            "scenario = \"{}\"\nseed = 1\nreplicates = 1\n[design]\nkind = \"grid\"\n\
             [[parameters]]\npath = \"policy.sanctions.rate\"\nvalues = [0.1]\n\
             [[outputs]]\nmetric = \"mean_trust\"\n",
            root().join("scenarios/baseline.toml").display()
        ),
    )
    .unwrap();
    let mut mpi = mpirun(2).unwrap();
    mpi.arg(bin())
        .args(["sweep", "-q", "-o"])
        .arg(dir.path().join("one"))
        .arg(&one);
    let stderr = failing("more ranks than units", mpi);
    assert!(stderr.contains("2 ranks but only 1 work unit"), "{stderr}");

    // Rank 1 is given a file that does not exist (a launch of two programs).
    let mut mpi = mpirun(1).unwrap();
    mpi.arg(bin())
        .args(["sweep", "-q", "-o"])
        .arg(dir.path().join("missing"))
        .arg(&sweep)
        .args([":", "-n", "1", bin(), "sweep", "-q", "-o"])
        .arg(dir.path().join("missing"))
        .arg(dir.path().join("nowhere.toml"));
    let stderr = failing("a rank that cannot read its input", mpi);
    assert!(
        stderr.contains("rank 1 (on ")
            && stderr.contains("could not start")
            && stderr.contains("nowhere.toml"),
        "{stderr}"
    );
    assert!(!dir.path().join("missing").exists(), "nothing was written");

    // A command that does not share its work would run twice over the same files.
    let mut mpi = mpirun(2).unwrap();
    mpi.arg(bin())
        .args(["optimise", "-q", "-o"])
        .arg(dir.path().join("zdt1"))
        .arg(root().join("optimise/zdt1.toml"));
    let stderr = failing("optimise under MPI", mpi);
    assert!(
        stderr.contains("`ccgsim optimise` runs on one machine"),
        "{stderr}"
    );
    assert!(!dir.path().join("zdt1").exists(), "nothing was written");
}
