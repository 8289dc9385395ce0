//! End-to-end tests of the `ccgsim` binary: help, `check`, `run` and its results folder,
//! reproducibility across thread counts, refusal to overwrite results, a golden snapshot of a tiny
//! run, and the error messages and exit codes for bad input.
//!
//! Every run writes into a temporary folder (never the repository's `results/`) and uses small
//! scenarios and few replicates, so the whole file runs in a few seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The four files of a results folder.
const RESULT_FILES: [&str; 4] = [
    "by_ccg.csv",
    "manifest.json",
    "replicates.csv",
    "timeseries.csv",
];

const TIMESERIES_HEADER: &str = "scenario,tick,month,metric,mean,sd,ci_low,ci_high,n";
const BY_CCG_HEADER: &str =
    "scenario,ccg,practices,patients,commissioning,tick,month,metric,mean,sd,ci_low,ci_high,n";
const REPLICATES_HEADER: &str = "scenario,replicate,tick,metric,value";

fn ccgsim() -> Command {
    Command::cargo_bin("ccgsim").expect("the ccgsim binary is built for integration tests")
}

/// A path inside the repository.
fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn tempdir() -> TempDir {
    tempfile::tempdir().expect("create a temporary folder")
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.join(name).display()))
}

/// The names of the entries of `dir`, sorted (hidden ones included).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The bytes of every file in `dir`, by name.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    entries(dir)
        .into_iter()
        .map(|name| {
            let bytes = fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

fn assert_no_partials(dir: &Path) {
    let partial: Vec<String> = entries(dir)
        .into_iter()
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(
        partial.is_empty(),
        "temporary files left in {}: {partial:?}",
        dir.display()
    );
}

/// A failed run must not leave anything behind in its output folder.
fn assert_no_output(out: &Path) {
    if out.exists() {
        assert_eq!(
            entries(out),
            Vec::<String>::new(),
            "a failed run left files in {}",
            out.display()
        );
    }
}

/// Run `scenario` into `out` quietly with extra `args`; the run must succeed silently.
fn run_ok(scenario: &Path, out: &Path, args: &[&str]) {
    ccgsim()
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(args)
        .assert()
        .success()
        .stderr("");
}

/// Parse a CSV file into its header and rows.
fn parse_csv(text: &str) -> (String, Vec<Vec<String>>) {
    let header = text.lines().next().unwrap_or_default().to_string();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// The month `ticks` months after `start` (both `YYYY-MM`), computed here independently of the
/// crate's calendar.
fn month_after(start: &str, ticks: i32) -> String {
    let (y, m) = start.split_once('-').unwrap();
    let index = y.parse::<i32>().unwrap() * 12 + m.parse::<i32>().unwrap() - 1 + ticks;
    format!(
        "{:04}-{:02}",
        index.div_euclid(12),
        index.rem_euclid(12) + 1
    )
}

fn number(field: &str) -> f64 {
    field
        .parse()
        .unwrap_or_else(|_| panic!("expected a number, got {field:?}"))
}

/// Assert that two files are byte-identical, naming the first line that differs if not.
fn assert_same_file(a: &Path, b: &Path) {
    let (x, y) = (fs::read(a).unwrap(), fs::read(b).unwrap());
    if x != y {
        let (x, y) = (String::from_utf8_lossy(&x), String::from_utf8_lossy(&y));
        let first = x
            .lines()
            .zip(y.lines())
            .enumerate()
            .find(|(_, (l, r))| l != r);
        panic!(
            "{} and {} differ ({} vs {} lines); first difference: {first:?}",
            a.display(),
            b.display(),
            x.lines().count(),
            y.lines().count()
        );
    }
}

/// Write `text` as `name` into `dir`, returning its path.
/// The files a manifest lists, sorted.
fn manifest_files(manifest: &serde_json::Value) -> Vec<&str> {
    let mut files: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    files.sort();
    files
}

fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

// ---------------------------------------------------------------------------------------------
// 1. Help

#[test]
fn top_level_help_lists_the_commands() {
    ccgsim().arg("--help").assert().success().stdout(
        predicate::str::contains("Usage: ccgsim <COMMAND>")
            .and(predicate::str::contains("run"))
            .and(predicate::str::contains("check"))
            .and(predicate::str::contains("metrics"))
            .and(predicate::str::contains("--version")),
    );
}

#[test]
fn run_help_lists_every_flag() {
    let assert = ccgsim().args(["run", "--help"]).assert().success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(out.contains("<SCENARIO>"), "{out}");
    for flag in [
        "-r, --replicates <REPLICATES>",
        "-s, --seed <SEED>",
        "-t, --threads <THREADS>",
        "-o, --out <OUT>",
        "--force",
        "-q, --quiet",
    ] {
        assert!(
            out.contains(flag),
            "`run --help` does not mention {flag}:\n{out}"
        );
    }
}

#[test]
fn check_help_describes_its_arguments() {
    ccgsim()
        .args(["check", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Usage: ccgsim check [OPTIONS] <FILES>...").and(
                predicate::str::contains("Validate scenario, sweep or calibration files"),
            ),
        );
}

#[test]
fn version_is_the_crate_version() {
    ccgsim()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("ccgsim {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn no_command_is_a_usage_error() {
    ccgsim()
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage: ccgsim <COMMAND>"));
}

// ---------------------------------------------------------------------------------------------
// 2. `check` accepts every bundled scenario (and every fixture of this file)

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn check_accepts_every_bundled_scenario() {
    let files = toml_files(&repo("scenarios"));
    assert!(
        files.iter().any(|f| f.ends_with("baseline.toml")),
        "no scenarios found: {files:?}"
    );
    for file in &files {
        ccgsim()
            .arg("check")
            .arg(file)
            .assert()
            .success()
            .stdout(predicate::str::starts_with(format!(
                "{}: ok (",
                file.display()
            )))
            .stderr("");
    }
}

#[test]
fn check_accepts_several_files_at_once() {
    let files = toml_files(&repo("tests/data"));
    assert!(files.len() >= 3, "fixtures missing: {files:?}");
    let assert = ccgsim().arg("check").args(&files).assert().success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert_eq!(out.lines().count(), files.len(), "{out}");
    for (line, file) in out.lines().zip(&files) {
        assert!(
            line.starts_with(&format!("{}: ok (", file.display())),
            "{line}"
        );
    }
    assert!(
        out.contains(
            "tiny: 2 CCGs, 20 practices, 3 months from 2014-10, 3 replicates, seed 20240607"
        ),
        "{out}"
    );
}

#[test]
fn check_names_each_bundled_sweep_and_calibration_file_and_how_to_run_it() {
    let sweeps = toml_files(&repo("sweeps"));
    assert!(sweeps.len() >= 5, "sweeps missing: {sweeps:?}");
    for file in &sweeps {
        // The bundled sweeps are named after their design.
        let design = file.file_stem().unwrap().to_string_lossy().into_owned();
        let shown = file.display().to_string();
        ccgsim()
            .arg("check")
            .arg(file)
            .assert()
            .success()
            .stdout(
                predicate::str::starts_with(format!(
                    "{shown}: ok, a sweep file ({design} design, "
                ))
                .and(predicate::str::contains(" parameters, "))
                .and(predicate::str::contains(" points x "))
                .and(predicate::str::contains(format!(
                    "run it with `ccgsim sweep {shown}`"
                ))),
            )
            .stderr("");
    }
    let calibrations = toml_files(&repo("calibration"));
    assert!(!calibrations.is_empty());
    for file in &calibrations {
        let shown = file.display().to_string();
        ccgsim()
            .arg("check")
            .arg(file)
            .assert()
            .success()
            .stdout(
                predicate::str::starts_with(format!("{shown}: ok, a calibration file ("))
                    .and(predicate::str::contains(" targets, "))
                    .and(predicate::str::contains(format!(
                        "run it with `ccgsim calibrate {shown}`"
                    ))),
            )
            .stderr("");
    }
    // One line per file, whatever their kinds.
    let assert = ccgsim()
        .arg("check")
        .args(&sweeps)
        .args(&calibrations)
        .arg(repo("scenarios/baseline.toml"))
        .assert()
        .success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert_eq!(
        out.lines().count(),
        sweeps.len() + calibrations.len() + 1,
        "{out}"
    );
    assert!(
        out.contains("sobol design, 8 parameters, 10240 points x 10 replicates"),
        "{out}"
    );
}

#[test]
fn check_validates_sweep_and_calibration_files_as_such() {
    let tmp = tempdir();
    write_scenario(
        tmp.path(),
        "base.toml",
        &read(&repo("tests/data"), "tiny.toml"),
    );
    let sweep = |design: &str| {
        format!(
            "scenario = \"base.toml\"\n\n[design]\n{design}\n\n[[parameters]]\npath = \"policy.sanctions.rate\"\nrange = [0.0, 0.5]\n\n[[outputs]]\nmetric = \"engaged_share\"\n"
        )
    };
    let good = write_scenario(
        tmp.path(),
        "good.toml",
        &sweep("kind = \"lhs\"\npoints = 1"),
    );
    // The estimate of memory and time depends on the machine, so only its form is checked.
    ccgsim()
        .arg("check")
        .arg(&good)
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with(format!(
                "{}: ok, a sweep file (lhs design, 1 parameter, 1 point x 10 replicates = 10 runs, 1 output; needs about ",
                good.display()
            ))
            .and(predicate::str::contains(" MiB of memory"))
            .and(predicate::str::ends_with(format!(
                "); run it with `ccgsim sweep {}`\n",
                good.display()
            ))),
        );
    // Errors are the sweep loader's: file, line, column and key; exit code 2.
    let bad = write_scenario(tmp.path(), "bad.toml", &sweep("kind = \"shuffle\""));
    ccgsim()
        .arg("check")
        .arg(&bad)
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::starts_with(format!(
                "error: {}:4:1: key `design.kind`: unknown design \"shuffle\"",
                bad.display()
            ))
            .and(predicate::str::contains("panicked").not()),
        );
    let bad_range = sweep("kind = \"lhs\"\npoints = 4").replace("0.5]", "1.5]");
    let bad_range = write_scenario(tmp.path(), "bad_range.toml", &bad_range);
    ccgsim()
        .arg("check")
        .arg(&bad_range)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:9:1: key `parameters[0].range`",
            bad_range.display()
        )));
    // A calibration file whose target is not in its targets CSV.
    fs::write(tmp.path().join("targets.csv"), "id,value,se\nt,0.5,0.1\n").unwrap();
    let cal = write_scenario(
        tmp.path(),
        "cal.toml",
        "scenario = \"base.toml\"\ntargets = \"targets.csv\"\n\n[[parameters]]\npath = \"model.peers.rate\"\nprior = [0.0, 0.5]\n\n[[match]]\ntarget = \"nope\"\nmetric = \"engaged_share\"\n",
    );
    ccgsim()
        .arg("check")
        .arg(&cal)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:9:1: key `match[0].target`: no row with id \"nope\"",
            cal.display()
        )));
    let cal_ok = fs::read_to_string(&cal)
        .unwrap()
        .replace("\"nope\"", "\"t\"");
    let cal_ok = write_scenario(tmp.path(), "cal_ok.toml", &cal_ok);
    ccgsim()
        .arg("check")
        .arg(&cal_ok)
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "{}: ok, a calibration file (1 parameter, 1 target, ",
            cal_ok.display()
        )));
}

// ---------------------------------------------------------------------------------------------
// 2b. `metrics` lists every metric

#[test]
fn metrics_lists_every_metric_with_its_label_unit_and_meaning() {
    use ccgsim::metrics::METRICS;
    let assert = ccgsim().args(["metrics", "--csv"]).assert().success();
    let text = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["metric", "label", "unit", "description"]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), METRICS.len(), "{text}");
    for (row, m) in rows.iter().zip(METRICS) {
        assert_eq!(&row[0], m.name);
        assert_eq!(&row[1], m.label);
        assert_eq!(&row[2], m.unit.describe());
        assert_eq!(&row[3], m.description);
        assert!(
            !m.label.is_empty() && !m.description.is_empty(),
            "{}",
            m.name
        );
    }

    let assert = ccgsim().arg("metrics").assert().success().stderr("");
    let table = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let mut lines = table.lines();
    let head = lines.next().unwrap();
    for column in ["metric", "label", "unit", "meaning"] {
        assert!(head.contains(column), "{head}");
    }
    for (line, m) in lines.zip(METRICS) {
        let name = line.split_whitespace().next().unwrap();
        assert_eq!(name, m.name, "{line}");
        for part in [m.label, m.unit.describe(), m.description] {
            assert!(line.contains(part), "{line} lacks {part}");
        }
    }
}

#[test]
fn the_metric_list_in_the_docs_is_the_list_of_metrics() {
    let docs = read(&repo("docs"), "scenarios.md");
    let section = docs
        .split("### Metrics")
        .nth(1)
        .expect("docs/scenarios.md has a Metrics section");
    let listed: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with("| metric |"))
        .skip(2)
        .take_while(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1))
        .collect();
    let names: Vec<&str> = ccgsim::metrics::METRICS.iter().map(|m| m.name).collect();
    assert_eq!(
        listed, names,
        "docs/scenarios.md (Metrics) and METRICS differ"
    );
    assert!(
        section.contains("ccgsim metrics"),
        "the docs point to `ccgsim metrics`"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. A run of the baseline and its results folder

/// Metrics that are shares or 0-1 states: their means must lie in [0, 1].
fn is_unit_metric(name: &str) -> bool {
    name.contains("share")
        || name.starts_with("support_")
        || matches!(
            name,
            "mean_trust"
                | "mean_engagement"
                | "mean_influence"
                | "mean_quality"
                | "top_down_control"
        )
}

#[test]
fn baseline_run_writes_the_four_result_files() {
    let tmp = tempdir();
    let out = tmp.path().join("baseline");
    let scenario = repo("scenarios/baseline.toml");
    run_ok(&scenario, &out, &["--replicates", "4", "--threads", "2"]);

    assert_eq!(entries(&out), RESULT_FILES, "exactly the four result files");
    assert_no_partials(&out);

    // timeseries.csv
    let (header, rows) = parse_csv(&read(&out, "timeseries.csv"));
    assert_eq!(header, TIMESERIES_HEADER);
    let mut ticks: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for row in &rows {
        assert_eq!(row.len(), 9, "{row:?}");
        assert_eq!(row[0], "baseline");
        let (metric, mean) = (&row[3], number(&row[4]));
        let tick: i32 = row[1].parse().unwrap();
        assert_eq!(row[2], month_after("2013-04", tick), "month of tick {tick}");
        ticks.entry(metric.clone()).or_default().push(tick as u32);
        let (sd, lo, hi) = (number(&row[5]), number(&row[6]), number(&row[7]));
        assert!(sd >= 0.0, "{row:?}");
        assert!(
            lo <= mean && mean <= hi,
            "CI does not contain the mean: {row:?}"
        );
        assert_eq!(row[8], "4", "n must be the number of replicates: {row:?}");
        if is_unit_metric(metric) {
            assert!((0.0..=1.0).contains(&mean), "share out of [0, 1]: {row:?}");
        }
    }
    assert!(ticks.len() >= 20, "too few metrics: {:?}", ticks.keys());
    for name in [
        "engaged_share",
        "mean_trust",
        "support_sanctions",
        "mean_quality",
    ] {
        assert!(ticks.contains_key(name), "metric {name} missing");
    }
    let all: Vec<u32> = (0..=22).collect();
    for (metric, t) in &ticks {
        assert_eq!(t, &all, "ticks of {metric}");
    }

    // by_ccg.csv
    let (header, rows) = parse_csv(&read(&out, "by_ccg.csv"));
    assert_eq!(header, BY_CCG_HEADER);
    let ccgs: BTreeSet<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        ccgs,
        BTreeSet::from(["site_a", "site_b", "site_c", "site_d", "site_e", "site_f"])
    );
    assert_eq!(rows.len(), 6 * 23 * ticks.len());
    for row in &rows {
        assert_eq!(row.len(), 13, "{row:?}");
        let tick: i32 = row[5].parse().unwrap();
        assert_eq!(row[6], month_after("2013-04", tick), "{row:?}");
        assert_eq!(
            row[4], "none",
            "no co-commissioning in the baseline: {row:?}"
        );
    }
    let site_f: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r[1] == "site_f")
        .map(|r| r[2].as_str())
        .collect();
    assert_eq!(site_f, BTreeSet::from(["94"]));

    // replicates.csv
    let (header, rows) = parse_csv(&read(&out, "replicates.csv"));
    assert_eq!(header, REPLICATES_HEADER);
    assert_eq!(rows.len(), 4 * 23 * ticks.len());
    let reps: BTreeSet<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(reps, BTreeSet::from(["0", "1", "2", "3"]));

    // manifest.json
    let manifest: serde_json::Value = serde_json::from_str(&read(&out, "manifest.json")).unwrap();
    assert_eq!(manifest["seed"], 2015);
    assert_eq!(manifest["replicates"], 4);
    assert_eq!(manifest["threads"], 2);
    assert!(["portable", "avx2", "avx512"].contains(&manifest["simd"].as_str().unwrap()));
    assert_eq!(manifest["ccgs"], 6);
    assert_eq!(manifest["practices"], 18 + 27 + 36 + 47 + 61 + 94);
    assert_eq!(manifest["ccgsim_version"], env!("CARGO_PKG_VERSION"));
    let sha = manifest["scenario_sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64, "{sha}");
    assert!(
        sha.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{sha}"
    );
    let want: String = Sha256::digest(fs::read(&scenario).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        sha, want,
        "scenario_sha256 is the hash of the scenario file"
    );
    assert_eq!(manifest_files(&manifest), RESULT_FILES);

    let s = &manifest["scenario"];
    assert_eq!(s["name"], "baseline");
    assert_eq!(s["start"], "2013-04");
    assert_eq!(s["months"], 22);
    assert_eq!(s["replicates"], 4, "the --replicates override is recorded");
    assert_eq!(s["seed"], 2015);
    let listed = s["population"]["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 6);
    assert_eq!(listed[0]["id"], "site_a");
    assert_eq!(listed[5]["practices"], 94);
    assert!((s["policy"]["training"]["rate"].as_f64().unwrap() - 0.1).abs() < 1e-6);
    // Defaults the file does not set are resolved too.
    assert!(s["policy"]["underperformance_threshold"].is_number());
    assert!(s["model"]["peers"]["rate"].is_number());
    assert!(s["list_size"]["mu"].is_number());
}

#[test]
fn the_seed_override_is_recorded_in_the_manifest() {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    run_ok(
        &repo("tests/data/tiny.toml"),
        &out,
        &["--seed", "99", "-r", "2"],
    );
    let manifest: serde_json::Value = serde_json::from_str(&read(&out, "manifest.json")).unwrap();
    assert_eq!(manifest["seed"], 99);
    assert_eq!(manifest["scenario"]["seed"], 99);
    assert_eq!(manifest["replicates"], 2);
}

#[test]
fn without_out_a_run_writes_to_results_slash_name_in_the_working_folder() {
    let tmp = tempdir();
    ccgsim()
        .current_dir(tmp.path())
        .arg("run")
        .arg(repo("tests/data/tiny.toml"))
        .arg("--quiet")
        .assert()
        .success();
    assert_eq!(entries(&tmp.path().join("results/tiny")), RESULT_FILES);
}

// ---------------------------------------------------------------------------------------------
// 4. Reproducibility

/// Run `scenario` at 1 and at `threads` threads and compare the CSV files byte for byte.
fn assert_thread_count_does_not_matter(scenario: &Path, args: &[&str], threads: &str) {
    let tmp = tempdir();
    let (one, many) = (tmp.path().join("one"), tmp.path().join("many"));
    run_ok(scenario, &one, &[args, &["--threads", "1"]].concat());
    run_ok(scenario, &many, &[args, &["--threads", threads]].concat());
    for name in ["timeseries.csv", "by_ccg.csv", "replicates.csv"] {
        assert_same_file(&one.join(name), &many.join(name));
    }
}

#[test]
fn chosen_co_commissioning_levels_are_identical_at_any_thread_count() {
    assert_thread_count_does_not_matter(
        &repo("scenarios/england_2013_2017.toml"),
        &["--replicates", "3"],
        "2",
    );
}

#[test]
fn by_ccg_gives_each_ccg_the_level_most_replicates_give_it() {
    // Ten replicates of England drawn per replicate: ties between levels (five replicates each)
    // are common, and go to the lower level.
    let path = repo("scenarios/england_2015.toml");
    let tmp = tempdir();
    let out = tmp.path().join("out");
    run_ok(&path, &out, &["--replicates", "10"]);
    let scenario = ccgsim::scenario::Scenario::load(&path).unwrap();
    let fixed = ccgsim::population::Population::build(&scenario);
    let expected = ccgsim::population::Population::summary(&scenario, &fixed, 10, true);
    let text = read(&out, "by_ccg.csv");
    let mut rows = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let ccg = expected.ccgs.iter().find(|c| c.id == f[1]).unwrap();
        let tick: usize = f[5].parse().unwrap();
        assert_eq!(f[4], ccg.levels[tick].key(), "{line}");
        rows += 1;
    }
    assert!(rows > 0);
}

#[test]
fn generated_population_is_identical_at_any_thread_count() {
    assert_thread_count_does_not_matter(&repo("tests/data/generated.toml"), &[], "2");
}

#[test]
fn generated_structure_is_drawn_per_replicate_unless_fixed() {
    let tmp = tempdir();
    let text = std::fs::read_to_string(repo("tests/data/generated.toml")).unwrap();
    let fixed = tmp.path().join("generated_fixed.toml");
    std::fs::write(
        &fixed,
        text.replace("[population]\n", "[population]\nstructure = \"fixed\"\n"),
    )
    .unwrap();
    // A fixed generated structure is also the same at any thread count.
    assert_thread_count_does_not_matter(&fixed, &[], "2");
    let (per_out, fixed_out) = (tmp.path().join("per"), tmp.path().join("fixed"));
    run_ok(&repo("tests/data/generated.toml"), &per_out, &[]);
    run_ok(&fixed, &fixed_out, &[]);
    let manifest = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&read(dir, "manifest.json")).unwrap()
    };
    let (per, fix) = (manifest(&per_out), manifest(&fixed_out));
    assert_eq!(per["structure"], "per_replicate");
    assert_eq!(fix["structure"], "fixed");
    assert_ne!(per["population_sha256"], fix["population_sha256"]);
    assert_ne!(
        read(&per_out, "timeseries.csv"),
        read(&fixed_out, "timeseries.csv")
    );
}

#[test]
fn many_batches_are_identical_at_any_thread_count() {
    // 700 CCGs: each batch holds about 2048 / 700 = 2 replicates, so 7 replicates take 4 batches.
    assert_thread_count_does_not_matter(&repo("tests/data/generated_many.toml"), &[], "3");
}

#[test]
fn baseline_is_identical_at_any_thread_count() {
    assert_thread_count_does_not_matter(&repo("scenarios/baseline.toml"), &["-r", "3"], "2");
}

#[test]
fn no_by_ccg_skips_only_the_per_ccg_file() {
    let tmp = tempdir();
    let scenario = repo("scenarios/baseline.toml");
    let (all, lean) = (tmp.path().join("all"), tmp.path().join("lean"));
    run_ok(&scenario, &all, &["-r", "3"]);
    run_ok(&scenario, &lean, &["-r", "3", "--no-by-ccg"]);
    assert!(!lean.join("by_ccg.csv").exists());
    assert!(all.join("by_ccg.csv").exists());
    for name in ["timeseries.csv", "replicates.csv"] {
        assert_same_file(&all.join(name), &lean.join(name));
    }
    let manifest: serde_json::Value = serde_json::from_str(&read(&lean, "manifest.json")).unwrap();
    assert_eq!(
        manifest_files(&manifest),
        ["manifest.json", "replicates.csv", "timeseries.csv"]
    );
}

#[test]
fn every_instruction_set_gives_the_same_bytes() {
    // The escalation scenario exercises every vector loop: the mix, the ladder, the dense
    // responses, the adjustment and the survey. Levels above what the processor supports fall
    // back to the best it has, so the test is meaningful wherever it runs.
    let tmp = tempdir();
    let scenario = repo("scenarios/escalation.toml");
    let mut outs = Vec::new();
    for level in ["portable", "avx2", "avx512"] {
        let out = tmp.path().join(level);
        ccgsim()
            .env("CCGSIM_SIMD", level)
            .args([
                "run",
                scenario.to_str().unwrap(),
                "-r",
                "3",
                "--quiet",
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        outs.push(out);
    }
    for name in ["timeseries.csv", "by_ccg.csv", "replicates.csv"] {
        assert_same_file(&outs[0].join(name), &outs[1].join(name));
        assert_same_file(&outs[0].join(name), &outs[2].join(name));
    }
}

#[test]
fn an_unknown_instruction_set_is_a_usage_error() {
    let tmp = tempdir();
    ccgsim()
        .env("CCGSIM_SIMD", "sse9")
        .args([
            "run",
            repo("tests/data/tiny.toml").to_str().unwrap(),
            "--out",
        ])
        .arg(tmp.path().join("out"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("CCGSIM_SIMD=sse9"));
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn a_run_is_reproducible_and_the_seed_matters() {
    let tmp = tempdir();
    let scenario = repo("tests/data/generated.toml");
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    run_ok(&scenario, &a, &["--seed", "5"]);
    run_ok(&scenario, &b, &["--seed", "5"]);
    run_ok(&scenario, &c, &["--seed", "6"]);
    assert_same_file(&a.join("timeseries.csv"), &b.join("timeseries.csv"));
    assert_same_file(&a.join("by_ccg.csv"), &b.join("by_ccg.csv"));
    assert_ne!(
        read(&a, "timeseries.csv"),
        read(&c, "timeseries.csv"),
        "a different --seed must give different results"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Existing results are never overwritten silently

#[test]
fn a_second_run_into_the_same_folder_needs_force() {
    let tmp = tempdir();
    let out = tmp.path().join("out");
    let scenario = repo("tests/data/tiny.toml");
    run_ok(&scenario, &out, &[]);
    let first = contents(&out);
    assert_eq!(first.keys().collect::<Vec<_>>(), RESULT_FILES);

    // A different seed, so that an overwrite would show.
    ccgsim()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--seed", "1"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--force")
                .and(predicate::str::contains(out.display().to_string()))
                .and(predicate::str::contains("already exists"))
                .and(predicate::str::contains("panicked").not()),
        );
    assert_eq!(contents(&out), first, "the first run's files were changed");

    run_ok(&scenario, &out, &["--seed", "1", "--force"]);
    assert_eq!(entries(&out), RESULT_FILES);
    assert_no_partials(&out);
    assert_ne!(
        read(&out, "timeseries.csv").as_bytes(),
        first["timeseries.csv"].as_slice(),
        "--force replaces the results"
    );
    let manifest: serde_json::Value = serde_json::from_str(&read(&out, "manifest.json")).unwrap();
    assert_eq!(manifest["seed"], 1);
}

#[test]
fn an_existing_empty_folder_may_be_used_without_force() {
    let tmp = tempdir();
    let out = tmp.path().join("empty");
    fs::create_dir(&out).unwrap();
    run_ok(&repo("tests/data/tiny.toml"), &out, &[]);
    assert_eq!(entries(&out), RESULT_FILES);
}

#[test]
fn the_month_column_is_the_start_plus_the_tick() {
    // tiny.toml starts in 2014-10 and runs 3 months, so its ticks cross into 2015.
    let tmp = tempdir();
    let out = tmp.path().join("tiny");
    run_ok(&repo("tests/data/tiny.toml"), &out, &[]);
    let want = ["2014-10", "2014-11", "2014-12", "2015-01"];

    let (header, rows) = parse_csv(&read(&out, "timeseries.csv"));
    assert_eq!(header, TIMESERIES_HEADER);
    let mut seen = BTreeSet::new();
    for row in &rows {
        let tick: usize = row[1].parse().unwrap();
        assert_eq!(row[2], want[tick], "{row:?}");
        assert_eq!(row[2], month_after("2014-10", tick as i32));
        seen.insert(row[2].clone());
    }
    assert_eq!(seen, want.iter().map(|m| m.to_string()).collect());

    let (header, rows) = parse_csv(&read(&out, "by_ccg.csv"));
    assert_eq!(header, BY_CCG_HEADER);
    for row in &rows {
        let tick: usize = row[5].parse().unwrap();
        assert_eq!(row[6], want[tick], "{row:?}");
    }
    // The medium CCG is delegated from 2014-12: the month and the level agree.
    for row in rows.iter().filter(|r| r[1] == "medium") {
        let delegated = row[6].as_str() >= "2014-12";
        assert_eq!(row[4] == "delegated", delegated, "{row:?}");
    }

    // replicates.csv keeps its columns.
    let (header, _) = parse_csv(&read(&out, "replicates.csv"));
    assert_eq!(header, REPLICATES_HEADER);
}

// ---------------------------------------------------------------------------------------------
// 6. Golden snapshot of a tiny seeded run

#[test]
fn tiny_run_timeseries_matches_the_snapshot() {
    let tmp = tempdir();
    let out = tmp.path().join("tiny");
    let scenario = repo("tests/data/tiny.toml");
    run_ok(&scenario, &out, &["--threads", "2"]);
    let text = read(&out, "timeseries.csv");

    // The fixture is meant to exercise every action; make sure it still does.
    let (_, rows) = parse_csv(&text);
    for action in ["training", "data_review", "targets", "sanctions"] {
        let metric = format!("actions_{action}");
        assert!(
            rows.iter().any(|r| r[3] == metric && number(&r[4]) > 0.0),
            "tiny.toml never uses {action}"
        );
    }

    insta::assert_snapshot!("tiny_timeseries", text);
}

// ---------------------------------------------------------------------------------------------
// 7. Bad input: exit code 2, no panic, and a message naming file, line:column and key

/// Check and run the scenario `text` (written as `file`): both must fail with exit code 2 and
/// a message `FILE:LINE:COL: key `KEY`: ...` containing `message`, and the run must leave no
/// output behind.
fn assert_rejected(file: &str, text: &str, line: u32, column: u32, key: &str, message: &str) {
    let tmp = tempdir();
    let path = write_scenario(tmp.path(), file, text);
    let want = format!("{}:{line}:{column}: key `{key}`: ", path.display());
    let expected = || {
        predicate::str::contains(want.clone())
            .and(predicate::str::contains(message))
            .and(predicate::str::contains("panicked").not())
    };

    ccgsim()
        .arg("check")
        .arg(&path)
        .assert()
        .code(2)
        .stdout("")
        .stderr(expected());

    let out = tmp.path().join("out");
    ccgsim()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(expected());
    assert!(!out.exists(), "a rejected run created {}", out.display());

    // Nor does it write into an existing empty folder.
    fs::create_dir(&out).unwrap();
    ccgsim()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(expected());
    assert_no_output(&out);
}

#[test]
fn unknown_top_level_key() {
    assert_rejected(
        "unknown_top.toml",
        "months = 3\nbogus = 1\n",
        2,
        1,
        "bogus",
        "unknown field `bogus`",
    );
}

#[test]
fn unknown_nested_key() {
    assert_rejected(
        "unknown_nested.toml",
        "months = 3\n[policy.training]\nrte = 0.1\n",
        3,
        1,
        "policy.training.rte",
        "unknown field `rte`",
    );
}

#[test]
fn unknown_key_in_a_ccg_entry() {
    assert_rejected(
        "unknown_ccg_key.toml",
        "[[ccgs]]\nid = \"a\"\npractices = 5\n\n[[ccgs]]\nid = \"b\"\npractices = 5\nbogus = 1\n",
        8,
        1,
        "ccgs[1].bogus",
        "unknown field `bogus`",
    );
}

#[test]
fn wrong_type() {
    assert_rejected(
        "wrong_type.toml",
        "months = \"ten\"\n",
        1,
        10,
        "months",
        "invalid type: string \"ten\"",
    );
}

#[test]
fn policy_rate_out_of_range() {
    assert_rejected(
        "rate_too_high.toml",
        "months = 3\n\n[policy.training]\nrate = 1.5\n",
        4,
        1,
        "policy.training.rate",
        "must be between 0 and 1, got 1.5",
    );
}

#[test]
fn policy_rate_out_of_range_in_an_inline_table() {
    assert_rejected(
        "rate_inline.toml",
        "[policy]\ntraining = { rate = 0.1 }\ntargets = { rate = 2.0 }\n",
        3,
        13,
        "policy.targets.rate",
        "must be between 0 and 1, got 2",
    );
}

#[test]
fn model_parameter_out_of_range() {
    assert_rejected(
        "peers.toml",
        "[model.peers]\nrate = -0.1\n",
        2,
        1,
        "model.peers.rate",
        "must be between 0 and 1",
    );
}

#[test]
fn range_errors_echo_the_value_as_written() {
    for (text, key, got) in [
        (
            "[model.peers]\nrate = -0.1\n",
            "model.peers.rate",
            "got -0.1\n",
        ),
        (
            "[policy]\ntraining = { rate = 1.1 }\n",
            "policy.training.rate",
            "got 1.1\n",
        ),
    ] {
        let tmp = tempdir();
        let path = write_scenario(tmp.path(), "echo.toml", text);
        ccgsim().arg("check").arg(&path).assert().code(2).stderr(
            predicate::str::contains(format!("key `{key}`")).and(predicate::str::contains(got)),
        );
    }
}

#[test]
fn zero_months_is_out_of_range() {
    assert_rejected(
        "months.toml",
        "months = 0\n",
        1,
        1,
        "months",
        "must be an integer between 1 and 1200, got 0",
    );
}

#[test]
fn malformed_month() {
    assert_rejected(
        "start.toml",
        "start = \"2013-13\"\n",
        1,
        9,
        "start",
        "expected a month written YYYY-MM",
    );
}

#[test]
fn duplicate_ccg_id() {
    assert_rejected(
        "dup.toml",
        "[[ccgs]]\nid = \"a\"\npractices = 5\n\n[[ccgs]]\nid = \"a\"\npractices = 6\n",
        6,
        1,
        "ccgs[1].id",
        "duplicate CCG id \"a\"",
    );
}

#[test]
fn listed_and_generated_population_together() {
    assert_rejected(
        "both.toml",
        "[[ccgs]]\nid = \"a\"\npractices = 5\n\n[population]\nccgs = 3\n",
        5,
        2,
        "population",
        "not both",
    );
}

#[test]
fn toml_syntax_error_names_line_and_column() {
    let tmp = tempdir();
    let path = write_scenario(tmp.path(), "syntax.toml", "months = 3\nseed = [1,\n");
    ccgsim().arg("check").arg(&path).assert().code(2).stderr(
        predicate::str::contains(format!("{}:2:", path.display()))
            .and(predicate::str::contains("panicked").not()),
    );
}

#[test]
fn missing_scenario_file() {
    let tmp = tempdir();
    let path = tmp.path().join("nope.toml");
    for cmd in ["check", "run"] {
        ccgsim().arg(cmd).arg(&path).assert().code(2).stderr(
            predicate::str::contains(path.display().to_string())
                .and(predicate::str::contains("panicked").not()),
        );
    }
}

#[test]
fn zero_threads_or_replicates_are_usage_errors() {
    let tmp = tempdir();
    for flag in ["--threads", "--replicates"] {
        let out = tmp.path().join(flag.trim_start_matches('-'));
        ccgsim()
            .args([
                "run",
                repo("tests/data/tiny.toml").to_str().unwrap(),
                flag,
                "0",
                "--out",
            ])
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(flag).and(predicate::str::contains("at least 1")));
        assert_no_output(&out);
    }
}

#[test]
fn malformed_flags_are_usage_errors() {
    ccgsim()
        .args(["run", "scenarios/baseline.toml", "--threads", "two"])
        .assert()
        .code(2);
    ccgsim()
        .args(["run", "scenarios/baseline.toml", "--bogus"])
        .assert()
        .code(2);
}

#[test]
fn an_interrupted_run_exits_130_and_leaves_no_files() {
    use std::time::{Duration, Instant};

    let tmp = tempdir();
    let out = tmp.path().join("out");
    // England-sized and far more replicates than can finish before the signal.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ccgsim"))
        .arg("run")
        .arg(repo("scenarios/england_2015.toml"))
        .args([
            "--replicates",
            "100000",
            "--threads",
            "2",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    // The Ctrl-C handler is installed before replicates.csv is started: wait for its temp file.
    let deadline = Instant::now() + Duration::from_secs(20);
    let started = || {
        out.exists()
            && entries(&out)
                .iter()
                .any(|n| n.starts_with(".replicates.csv.") && n.ends_with(".partial"))
    };
    while !started() {
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("the run did not start writing replicates.csv");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not stop within 20 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_no_output(&out);
}
