//! End-to-end tests of `ccgsim sweep`, `sensitivity`, `merge` and `calibrate`: every design's point
//! count, byte identity across thread counts, after an interruption and resume, and across shards
//! merged; the analytic Sobol' indices of the Ishigami and G functions; recovery of a known
//! parameter by ABC-SMC; and the errors (file:line:col, key, exit code 2) for bad input.
//!
//! Sweeps on the CCG model use a tiny base scenario (two small CCGs, a few months) so that the
//! whole file runs in seconds; the test functions are cheap, so their checks use the full
//! N = 2^13 base samples.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn ccgsim() -> Command {
    Command::cargo_bin("ccgsim").expect("the ccgsim binary is built for integration tests")
}

const BASE: &str = r#"name = "tiny_base"
start = "2014-10"
months = 4
replicates = 2
seed = 7

[[ccgs]]
id = "small"
practices = 8
practices_per_locality = 4

[[ccgs]]
id = "medium"
practices = 12
practices_per_locality = 6

[policy]
training = { rate = 0.2 }
data_review = { rate = 0.2 }
targets = { rate = 0.1 }
sanctions = { rate = 0.2, target = "underperformers" }
"#;

/// A folder holding `base.toml` and the sweep file `sweep.toml` with `text`.
fn setup(text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    fs::write(dir.path().join("base.toml"), BASE).unwrap();
    let sweep = dir.path().join("sweep.toml");
    fs::write(&sweep, text).unwrap();
    (dir, sweep)
}

fn sweep_ok(sweep: &Path, out: &Path, args: &[&str]) {
    ccgsim()
        .arg("sweep")
        .arg(sweep)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(args)
        .assert()
        .success()
        .stderr("");
}

const FILES: [&str; 4] = ["points.csv", "results.csv", "summary.csv", "manifest.json"];

/// Every file of the sweep folders `a` and `b` is byte-identical, and nothing else is left there.
fn assert_same_folders(a: &Path, b: &Path) {
    for dir in [a, b] {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut want: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(names, want, "files in {}", dir.display());
    }
    for name in FILES {
        let (x, y) = (
            fs::read(a.join(name)).unwrap(),
            fs::read(b.join(name)).unwrap(),
        );
        assert!(
            x == y,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The header of the CSV file at `path`.
fn header(path: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.headers().unwrap().iter().map(str::to_string).collect()
}

/// The rows of the CSV file at `path` as maps from column name to value.
fn records(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let names = header(path);
    rows(path)
        .into_iter()
        .map(|r| names.iter().cloned().zip(r).collect())
        .collect()
}

/// Every row of `summary.csv` in `dir` carries, after `point`, the `param_<path>` columns of
/// `points.csv` with the same values for its point; then `metric,mean,sd,ci_low,ci_high,n`.
fn assert_summary_carries_the_points(dir: &Path, outputs: usize) {
    let points_header = header(&dir.join("points.csv"));
    let summary_header = header(&dir.join("summary.csv"));
    let k = points_header.len() - 1;
    assert!(k >= 1, "{points_header:?}");
    assert_eq!(
        summary_header[..=k],
        points_header[..],
        "{summary_header:?}"
    );
    assert_eq!(
        summary_header[k + 1..],
        ["metric", "mean", "sd", "ci_low", "ci_high", "n"]
    );
    let points = rows(&dir.join("points.csv"));
    let summary = rows(&dir.join("summary.csv"));
    assert_eq!(summary.len(), points.len() * outputs);
    for (i, row) in summary.iter().enumerate() {
        let point = &points[i / outputs];
        assert_eq!(row[..=k], point[..], "summary row {i} and its point");
    }
}

/// A CCG-model sweep over two parameters with `design` (a `[design]` table body).
fn ccg_sweep(design: &str, params: &str) -> String {
    format!(
        r#"scenario = "base.toml"
seed = 11
replicates = 3

[design]
{design}

{params}

[[outputs]]
metric = "engaged_share"

[[outputs]]
metric = "mean_trust"
window = [2, 4]
"#
    )
}

const RANGES: &str = r#"[[parameters]]
path = "policy.sanctions.rate"
range = [0.0, 0.5]

[[parameters]]
path = "model.peers.rate"
range = [0.01, 0.2]
distribution = "log_uniform"

[[parameters]]
path = "ccg_defaults.governing_body_seats"
range = [1, 4]
"#;

#[test]
fn every_design_has_the_points_it_should() {
    let grid_params = r#"[[parameters]]
path = "policy.sanctions.rate"
range = [0.0, 0.5]
levels = 3

[[parameters]]
path = "ccg_defaults.framing"
values = ["performance_management", "peer_support"]
"#;
    let zip_params = r#"[[parameters]]
path = "policy.sanctions.rate"
values = [0.0, 0.1, 0.2, 0.3]

[[parameters]]
path = "policy.targets.rate"
range = [0.0, 0.3]
levels = 4
"#;
    let cases = [
        ("kind = \"grid\"", grid_params, 3 * 2),
        ("kind = \"zip\"", zip_params, 4),
        ("kind = \"lhs\"\npoints = 7", RANGES, 7),
        ("kind = \"sobol\"\nn = 4", RANGES, 4 * (3 + 2)),
        (
            "kind = \"sobol\"\nn = 4\nsecond_order = true",
            RANGES,
            4 * (2 * 3 + 2),
        ),
        (
            "kind = \"morris\"\ntrajectories = 3\nlevels = 4",
            RANGES,
            3 * (3 + 1),
        ),
    ];
    for (design, params, want) in cases {
        let (dir, sweep) = setup(&ccg_sweep(design, params));
        let out = dir.path().join("out");
        sweep_ok(&sweep, &out, &[]);
        let points = rows(&out.join("points.csv"));
        assert_eq!(points.len(), want, "{design}");
        assert_eq!(rows(&out.join("results.csv")).len(), want * 3, "{design}");
        assert_eq!(rows(&out.join("summary.csv")).len(), want * 2, "{design}");
        assert_summary_carries_the_points(&out, 2);
        // Point ids in order, every value within its declared range.
        for (i, p) in points.iter().enumerate() {
            assert_eq!(p[0], i.to_string());
        }
        let header = fs::read_to_string(out.join("results.csv")).unwrap();
        assert!(header.starts_with("point,replicate,engaged_share,mean_trust_mean_t2_4\n"));
        if params == RANGES {
            for p in &points {
                let rate: f64 = p[1].parse().unwrap();
                let peers: f64 = p[2].parse().unwrap();
                let seats: i64 = p[3]
                    .parse()
                    .expect("integer-valued key written as an integer");
                assert!((0.0..=0.5).contains(&rate) && (0.01..=0.2).contains(&peers));
                assert!((1..=4).contains(&seats));
            }
        }
    }
}

#[test]
fn a_grid_sweep_varies_its_output_and_shares_are_shares() {
    let params = r#"[[parameters]]
path = "model.acceptability.initial_support.sanctions"
values = [0.05, 0.5, 0.95]
"#;
    let text = ccg_sweep("kind = \"grid\"", params).replace(
        "metric = \"mean_trust\"\nwindow = [2, 4]",
        "metric = \"support_sanctions\"",
    );
    let (dir, sweep) = setup(&text);
    let out = dir.path().join("out");
    sweep_ok(&sweep, &out, &[]);
    let summary = records(&out.join("summary.csv"));
    let support: Vec<f64> = summary
        .iter()
        .filter(|r| r["metric"] == "support_sanctions")
        .map(|r| r["mean"].parse().unwrap())
        .collect();
    assert_eq!(support.len(), 3);
    assert!(
        support[0] < support[1] && support[1] < support[2],
        "{support:?}"
    );
    // The parameter's value is in the row, next to the output it gave.
    let values: Vec<&str> = summary
        .iter()
        .filter(|r| r["metric"] == "support_sanctions")
        .map(|r| r["param_model.acceptability.initial_support.sanctions"].as_str())
        .collect();
    assert_eq!(values, ["0.05", "0.5", "0.95"]);
    for r in &summary {
        let mean: f64 = r["mean"].parse().unwrap();
        assert!((0.0..=1.0).contains(&mean));
        let (lo, hi): (f64, f64) = (r["ci_low"].parse().unwrap(), r["ci_high"].parse().unwrap());
        assert!(lo <= mean && mean <= hi);
    }
}

/// Sweeps report expected answers unless the base scenario, `[set]` or a parameter chooses
/// (ODD 7.10): the default is `[set] model.survey.answers = "expected"` to the byte; sampled
/// answers give other shares and the same states.
#[test]
fn a_sweep_reports_expected_answers_unless_told_otherwise() {
    let params = r#"[[parameters]]
path = "policy.sanctions.rate"
values = [0.1, 0.4]
"#;
    let text = ccg_sweep("kind = \"grid\"", params);
    let with_set = |answers: &str| {
        text.replace(
            "[design]",
            &format!("[set]\nmodel.survey.answers = \"{answers}\"\n\n[design]"),
        )
    };
    let results = |text: &str, base: Option<&str>| {
        let (dir, sweep) = setup(text);
        if let Some(base) = base {
            fs::write(dir.path().join("base.toml"), base).unwrap();
        }
        let out = dir.path().join("out");
        sweep_ok(&sweep, &out, &[]);
        let results = fs::read_to_string(out.join("results.csv")).unwrap();
        (results, records(&out.join("results.csv")))
    };
    let (default, default_rows) = results(&text, None);
    let (expected, _) = results(&with_set("expected"), None);
    let (sampled, sampled_rows) = results(&with_set("sampled"), None);
    let in_base = format!("{BASE}\n[model.survey]\nanswers = \"sampled\"\n");
    let (sampled_in_base, _) = results(&text, Some(&in_base));
    assert_eq!(default, expected);
    assert_eq!(sampled, sampled_in_base);
    assert_ne!(default, sampled);
    assert_eq!(default_rows.len(), sampled_rows.len());
    for (d, s) in default_rows.iter().zip(&sampled_rows) {
        // The states are the same; the answers are not.
        assert_eq!(d["mean_trust_mean_t2_4"], s["mean_trust_mean_t2_4"]);
    }
    assert!(
        default_rows
            .iter()
            .zip(&sampled_rows)
            .any(|(d, s)| d["engaged_share"] != s["engaged_share"])
    );
}

#[test]
fn results_do_not_depend_on_threads() {
    let (dir, sweep) = setup(&ccg_sweep("kind = \"lhs\"\npoints = 12", RANGES));
    let (a, b) = (dir.path().join("t1"), dir.path().join("t2"));
    sweep_ok(&sweep, &a, &["--threads", "1"]);
    sweep_ok(&sweep, &b, &["--threads", "2"]);
    assert_same_folders(&a, &b);
}

#[test]
fn an_interrupted_sweep_resumes_to_the_same_bytes() {
    let (dir, sweep) = setup(&ccg_sweep("kind = \"sobol\"\nn = 8", RANGES));
    let whole = dir.path().join("whole");
    sweep_ok(&sweep, &whole, &[]);

    let out = dir.path().join("interrupted");
    // Stop after 7 of the 40 points, as Ctrl-C would: exit 130, progress kept.
    ccgsim()
        .arg("sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .env("CCGSIM_TEST_STOP_AFTER_POINTS", "7")
        .assert()
        .code(130)
        .stderr(predicate::str::contains("--resume"));
    assert!(out.join(".sweep-state.json").exists());
    assert!(!out.join("results.csv").exists());
    // A power cut in the middle of the next chunk leaves a torn row in a journal.
    let mut journal = fs::read(out.join(".results.journal")).unwrap();
    journal.extend_from_slice(b"7,0,0.12");
    fs::write(out.join(".results.journal"), journal).unwrap();
    // Without --resume the folder is refused.
    ccgsim()
        .arg("sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    // A second interruption, then the rest.
    ccgsim()
        .arg("sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .arg("--resume")
        .env("CCGSIM_TEST_STOP_AFTER_POINTS", "23")
        .assert()
        .code(130);
    sweep_ok(&sweep, &out, &["--resume", "--threads", "1"]);
    assert_same_folders(&whole, &out);
    assert_summary_carries_the_points(&out, 2);
    // Resuming a finished folder does nothing.
    sweep_ok(&sweep, &out, &["--resume"]);
    assert_same_folders(&whole, &out);
}

#[test]
fn a_folder_started_by_an_older_ccgsim_is_not_resumed() {
    // Its journals' summary rows have no parameter columns: resuming would mix two layouts.
    let (dir, sweep) = setup(&ccg_sweep("kind = \"lhs\"\npoints = 6", RANGES));
    let out = dir.path().join("old");
    ccgsim()
        .arg("sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .env("CCGSIM_TEST_STOP_AFTER_POINTS", "2")
        .assert()
        .code(130);
    let state_path = out.join(".sweep-state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state_path).unwrap()).unwrap();
    assert_eq!(state["journal_format"], 4);
    state.as_object_mut().unwrap().remove("journal_format");
    fs::write(&state_path, state.to_string()).unwrap();
    let journal = fs::read(out.join(".summary.journal")).unwrap();
    ccgsim()
        .arg("sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .arg("--resume")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("older ccgsim").and(predicate::str::contains("--force")));
    assert_eq!(
        fs::read(out.join(".summary.journal")).unwrap(),
        journal,
        "left alone"
    );
    sweep_ok(&sweep, &out, &["--force"]);
    assert_summary_carries_the_points(&out, 2);
}

#[test]
fn a_killed_sweep_resumes_to_the_same_bytes() {
    // A real interruption: SIGKILL (no chance to clean up) while chunks are being written.
    let text = ccg_sweep("kind = \"lhs\"\npoints = 3000", RANGES)
        .replace("replicates = 3", "replicates = 4\n\n[set]\nmonths = 24")
        .replace("window = [2, 4]", "window = [12, 24]");
    let (dir, sweep) = setup(&text);
    let whole = dir.path().join("whole");
    sweep_ok(&sweep, &whole, &[]);
    let out = dir.path().join("killed");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ccgsim"))
        .arg("sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .spawn()
        .unwrap();
    let journal = out.join(".results.journal");
    let started = std::time::Instant::now();
    while fs::metadata(&journal).map_or(0, |m| m.len()) == 0
        && started.elapsed() < std::time::Duration::from_secs(60)
    {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Killed after its first chunk of 1,024 points (of 3,000), so unfinished.
    assert!(out.join(".sweep-state.json").exists());
    assert!(!out.join("results.csv").exists());
    sweep_ok(&sweep, &out, &["--resume"]);
    assert_same_folders(&whole, &out);
}

#[test]
fn a_resume_folder_from_another_sweep_is_refused_and_left_alone() {
    let (dir, sweep) = setup(&ccg_sweep("kind = \"lhs\"\npoints = 6", RANGES));
    let out = dir.path().join("out");
    ccgsim()
        .arg("sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .env("CCGSIM_TEST_STOP_AFTER_POINTS", "2")
        .assert()
        .code(130);
    let before: Vec<(String, Vec<u8>)> = snapshot(&out);
    fs::write(&sweep, ccg_sweep("kind = \"lhs\"\npoints = 8", RANGES)).unwrap();
    ccgsim()
        .arg("sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .arg("--resume")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("different sweep file"));
    assert_eq!(snapshot(&out), before);
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
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

#[test]
fn shards_merge_into_the_single_run() {
    let (dir, sweep) = setup(&ccg_sweep(
        "kind = \"morris\"\ntrajectories = 4\nlevels = 4\ncandidates = 8",
        RANGES,
    ));
    let whole = dir.path().join("whole");
    sweep_ok(&sweep, &whole, &[]);
    let shards: Vec<PathBuf> = (1..=3)
        .map(|k| {
            let out = dir.path().join(format!("shard{k}"));
            sweep_ok(
                &sweep,
                &out,
                &["--shard", &format!("{k}/3"), "--threads", "1"],
            );
            out
        })
        .collect();
    assert_eq!(rows(&shards[0].join("points.csv")).len(), 6);
    let merged = dir.path().join("merged");
    ccgsim()
        .arg("merge")
        .args([&shards[2], &shards[0], &shards[1]])
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    assert_same_folders(&whole, &merged);
    assert_summary_carries_the_points(&merged, 2);
    for shard in &shards {
        assert_summary_carries_the_points(shard, 2);
    }
    // A missing shard is an error.
    ccgsim()
        .arg("merge")
        .args([&shards[0], &shards[1]])
        .arg("--out")
        .arg(dir.path().join("partial"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shard 3/3 is missing"));
    // Sensitivity needs the whole design.
    ccgsim()
        .arg("sensitivity")
        .arg(&shards[0])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("merge the shards first"));
    ccgsim()
        .arg("sensitivity")
        .arg(&merged)
        .arg("--quiet")
        .assert()
        .success();
    let s = rows(&merged.join("sensitivity.csv"));
    assert_eq!(
        s.len(),
        2 * 3 * 3,
        "two outputs x three parameters x (mu, mu*, sigma)"
    );
}

const PI: &str = "3.141592653589793";

/// Sensitivity rows (metric, parameter, index) -> value.
fn indices(dir: &Path) -> Vec<(String, String, f64, f64, f64)> {
    rows(&dir.join("sensitivity.csv"))
        .into_iter()
        .map(|r| {
            let n = |s: &str| s.parse::<f64>().unwrap();
            (r[1].clone(), r[2].clone(), n(&r[3]), n(&r[4]), n(&r[5]))
        })
        .collect()
}

#[test]
fn ishigami_indices_match_the_analytic_values() {
    let params: String = (1..=3)
        .map(|i| format!("[[parameters]]\npath = \"x{i}\"\nrange = [-{PI}, {PI}]\n\n"))
        .collect();
    let text = format!(
        "model = \"ishigami\"\n[design]\nkind = \"sobol\"\nn = 8192\n\n{params}[[outputs]]\nmetric = \"y\"\n"
    );
    let (dir, sweep) = setup(&text);
    let out = dir.path().join("out");
    sweep_ok(&sweep, &out, &[]);
    assert_eq!(rows(&out.join("points.csv")).len(), 8192 * 5);
    ccgsim()
        .arg("sensitivity")
        .arg(&out)
        .args(["--bootstrap", "200", "--quiet"])
        .assert()
        .success();
    let want = [
        ("x1", "S1", 0.3139),
        ("x2", "S1", 0.4424),
        ("x3", "S1", 0.0),
        ("x1", "ST", 0.5576),
        ("x2", "ST", 0.4424),
        ("x3", "ST", 0.2437),
    ];
    let got = indices(&out);
    assert_eq!(got.len(), 6);
    for (p, index, value) in want {
        let row = got.iter().find(|r| r.0 == p && r.1 == index).unwrap();
        assert!(
            (row.2 - value).abs() < 0.02,
            "{index} of {p}: {} vs analytic {value}",
            row.2
        );
        assert!(row.3 <= row.2 && row.2 <= row.4, "interval of {index} {p}");
    }
}

#[test]
fn the_sensitivity_table_ranks_parameters_by_total_effect() {
    // Listed x3, x1, x2 (ST 0.24, 0.56, 0.44): the table ranks them x1, x2, x3; the CSV keeps
    // the sweep file's order.
    let params: String = [3, 1, 2]
        .iter()
        .map(|i| format!("[[parameters]]\npath = \"x{i}\"\nrange = [-{PI}, {PI}]\n\n"))
        .collect();
    let text = format!(
        "model = \"ishigami\"\n[design]\nkind = \"sobol\"\nn = 1024\n\n{params}[[outputs]]\nmetric = \"y\"\n"
    );
    let (dir, sweep) = setup(&text);
    let out = dir.path().join("out");
    sweep_ok(&sweep, &out, &[]);
    let assert = ccgsim()
        .arg("sensitivity")
        .arg(&out)
        .args(["--bootstrap", "50"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "ranked within each metric by total effect",
        ));
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let printed: Vec<(String, String)> = stdout
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[1].to_string(), f[2].to_string())
        })
        .collect();
    let want = ["x1", "x1", "x2", "x2", "x3", "x3"];
    assert_eq!(
        printed.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
        want,
        "{stdout}"
    );
    assert_eq!(
        printed.iter().map(|p| p.1.as_str()).collect::<Vec<_>>(),
        ["S1", "ST", "S1", "ST", "S1", "ST"]
    );
    let csv_order: Vec<String> = indices(&out).into_iter().map(|r| r.0).collect();
    assert_eq!(csv_order, ["x3", "x3", "x1", "x1", "x2", "x2"]);
}

#[test]
fn g_function_indices_match_the_analytic_values() {
    // a = (0, 1, 4.5, 9, 99, 99, 99, 99): V_i = 1 / (3 (1 + a_i)^2), V = prod(1 + V_i) - 1.
    let a = [0.0, 1.0, 4.5, 9.0, 99.0, 99.0, 99.0, 99.0];
    let vi: Vec<f64> = a
        .iter()
        .map(|a: &f64| 1.0 / (3.0 * (1.0 + a).powi(2)))
        .collect();
    let prod: f64 = vi.iter().map(|v| 1.0 + v).product();
    let v = prod - 1.0;
    let params: String = (1..=8)
        .map(|i| format!("[[parameters]]\npath = \"x{i}\"\nrange = [0, 1]\n\n"))
        .collect();
    let text = format!(
        "model = \"g_function\"\n[design]\nkind = \"sobol\"\nn = 8192\n\n{params}[[outputs]]\nmetric = \"y\"\n"
    );
    let (dir, sweep) = setup(&text);
    let out = dir.path().join("out");
    sweep_ok(&sweep, &out, &[]);
    ccgsim()
        .arg("sensitivity")
        .arg(&out)
        .args(["--bootstrap", "100", "--quiet"])
        .assert()
        .success();
    let got = indices(&out);
    for (i, vi) in vi.iter().enumerate() {
        let p = format!("x{}", i + 1);
        let s1 = vi / v;
        let st = vi * prod / (1.0 + vi) / v;
        for (index, value) in [("S1", s1), ("ST", st)] {
            let row = got.iter().find(|r| r.0 == p && r.1 == index).unwrap();
            assert!(
                (row.2 - value).abs() < 0.02,
                "{index} of {p}: {} vs analytic {value}",
                row.2
            );
        }
    }
}

#[test]
fn calibration_recovers_a_known_mean() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("targets.csv"),
        "id,value,se,source\nobserved_mean,1.3,0.1,synthetic: normal_mean at mu = 1.3\n",
    )
    .unwrap();
    let file = dir.path().join("toy.toml");
    fs::write(
        &file,
        r#"model = "normal_mean"
targets = "targets.csv"
seed = 5
replicates = 1

[abc]
particles = 300
generations = 8

[[parameters]]
path = "mu"
prior = [-5, 5]

[[match]]
target = "observed_mean"
metric = "y"
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    ccgsim()
        .arg("calibrate")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .assert()
        .success();
    let generations = rows(&out.join("generations.csv"));
    let last = generations.last().unwrap();
    let n = |s: &str| s.parse::<f64>().unwrap();
    let (mean, lo, hi) = (n(&last[6]), n(&last[7]), n(&last[8]));
    assert!(lo < 1.3 && 1.3 < hi, "95% interval [{lo}, {hi}]");
    assert!((mean - 1.3).abs() < 0.1, "posterior mean {mean}");
    assert!(
        hi - lo < 1.0,
        "the posterior is much narrower than the prior"
    );
    // Tolerances shrink from generation to generation.
    let eps: Vec<f64> = generations[1..].iter().map(|r| n(&r[1])).collect();
    assert!(eps.windows(2).all(|w| w[1] <= w[0]), "{eps:?}");
    let ppc = rows(&out.join("ppc.csv"));
    assert_eq!(ppc[0][5], "true");
    for f in [
        "posterior.csv",
        "generations.csv",
        "targets.csv",
        "ppc.csv",
        "calibrated.toml",
        "manifest.json",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
}

#[test]
fn calibration_of_the_ccg_model_recovers_a_synthetic_target_and_writes_a_runnable_scenario() {
    // Synthetic target: support for sanctions when initial support is 0.3, from a sweep of one
    // point with many replicates; then calibrate initial support back from it.
    let params = r#"[[parameters]]
path = "model.acceptability.initial_support.sanctions"
values = [0.3]
"#;
    let text = ccg_sweep("kind = \"zip\"", params)
        .replace("replicates = 3", "replicates = 200")
        .replace(
            "metric = \"mean_trust\"\nwindow = [2, 4]",
            "metric = \"support_sanctions\"",
        );
    let (dir, sweep) = setup(&text);
    let out = dir.path().join("synthetic");
    sweep_ok(&sweep, &out, &[]);
    let summary = records(&out.join("summary.csv"));
    let row = summary
        .iter()
        .find(|r| r["metric"] == "support_sanctions")
        .unwrap();
    let (value, sd): (f64, f64) = (row["mean"].parse().unwrap(), row["sd"].parse().unwrap());
    // The calibration averages 4 replicates per candidate.
    let se = sd / 2.0;
    fs::write(
        dir.path().join("targets.csv"),
        format!("id,value,se\nsanctions,{value},{se}\n"),
    )
    .unwrap();
    let file = dir.path().join("cal.toml");
    fs::write(
        &file,
        r#"scenario = "base.toml"
targets = "targets.csv"
seed = 3
replicates = 4

[abc]
particles = 100
generations = 4
predictive_replicates = 50

[[parameters]]
path = "model.acceptability.initial_support.sanctions"
prior = [0.02, 0.9]

[[match]]
target = "sanctions"
metric = "support_sanctions"
"#,
    )
    .unwrap();
    let cal = dir.path().join("cal");
    ccgsim()
        .arg("calibrate")
        .arg(&file)
        .arg("--out")
        .arg(&cal)
        .arg("--quiet")
        .assert()
        .success();
    let last = rows(&cal.join("generations.csv")).pop().unwrap();
    let n = |s: &str| s.parse::<f64>().unwrap();
    let (mean, lo, hi) = (n(&last[6]), n(&last[7]), n(&last[8]));
    assert!(lo < 0.3 && 0.3 < hi, "95% interval [{lo}, {hi}]");
    assert!((mean - 0.3).abs() < 0.1, "posterior mean {mean}");
    // The calibrated scenario runs.
    ccgsim()
        .arg("run")
        .arg(cal.join("calibrated.toml"))
        .arg("--out")
        .arg(dir.path().join("run"))
        .args(["--quiet", "--replicates", "2"])
        .assert()
        .success();
}

/// Expect a sweep (or calibration) to fail with exit code 2, an error starting with `want`, and
/// no output folder written.
fn expect_error(command: &str, text: &str, want: &str) -> Option<String> {
    let (dir, file) = setup(text);
    let out = dir.path().join("out");
    let assert = ccgsim()
        .arg(command)
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let expected = format!("error: {}:{want}", file.display());
    assert!(!out.exists(), "a failed sweep wrote {}", out.display());
    (!stderr.starts_with(&expected)).then(|| format!(" got: {stderr}want: {expected}\n"))
}

#[test]
fn bad_sweep_files_are_reported_with_line_column_and_key() {
    let one = |path: &str, domain: &str| -> String {
        ccg_sweep(
            "kind = \"lhs\"\npoints = 4",
            &format!("[[parameters]]\npath = \"{path}\"\n{domain}\n"),
        )
    };
    // The [[parameters]] entry starts on line 9 of these files, its path on line 10.
    let cases = [
        (
            one("policy.sanctions.rat", "range = [0.0, 0.5]"),
            "10:1: key `parameters[0].path`: `policy.sanctions.rat` unknown field `rat`",
        ),
        (
            one("policy.sanctions.rate", "range = [0.5, 0.5]"),
            "11:1: key `parameters[0].range`: is empty",
        ),
        (
            one("policy.sanctions.rate", "range = [0.0, 1.5]"),
            "11:1: key `parameters[0].range`: `policy.sanctions.rate` must be between 0 and 1, got 1.5",
        ),
        (
            one("model.peers.rate", "values = [0.1, -0.2]"),
            "11:1: key `parameters[0].values`: `model.peers.rate` must be between 0 and 1, got -0.2",
        ),
        (
            one("seed", "range = [1, 5]"),
            "10:1: key `parameters[0].path`: `seed` is set by the sweep itself",
        ),
        (
            ccg_sweep("kind = \"sobol\"\nn = 100", RANGES),
            "7:1: key `design.n`: must be a power of two",
        ),
        (
            ccg_sweep("kind = \"morris\"\ntrajectories = 4\nlevels = 5", RANGES),
            "8:1: key `design.levels`: must be even",
        ),
        (
            ccg_sweep("kind = \"shuffle\"", RANGES),
            "6:1: key `design.kind`: unknown design \"shuffle\"",
        ),
        (
            ccg_sweep("kind = \"lhs\"\npoints = 3", RANGES).replace("engaged_share", "happiness"),
            "24:1: key `outputs[0].metric`: unknown metric \"happiness\"",
        ),
        (
            ccg_sweep("kind = \"lhs\"\npoints = 3", RANGES).replace("[2, 4]", "[2, 40]"),
            "28:1: key `outputs[1].window`: tick 40 is outside",
        ),
        (
            ccg_sweep("kind = \"grid\"", RANGES),
            "10:1: key `parameters[0].range`: a grid design needs `values`, or `levels`",
        ),
        (
            ccg_sweep("kind = \"lhs\"\npoints = 3", RANGES).replace("seed = 11", "seed = \"x\""),
            "2:8: key `seed`",
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(text, want)| expect_error("sweep", text, want))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn bad_calibration_files_are_reported_with_line_column_and_key() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("base.toml"), BASE).unwrap();
    fs::write(dir.path().join("targets.csv"), "id,value,se\nt,0.5,0.1\n").unwrap();
    let file = dir.path().join("cal.toml");
    fs::write(
        &file,
        "scenario = \"base.toml\"\ntargets = \"targets.csv\"\n\n[[parameters]]\npath = \"model.peers.rate\"\nprior = [0.0, 0.5]\n\n[[match]]\ntarget = \"nope\"\nmetric = \"engaged_share\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    ccgsim()
        .arg("calibrate")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cal.toml:9:1: key `match[0].target`: no row with id \"nope\"",
        ));
    assert!(!out.exists());
}

#[test]
fn bad_shards_and_existing_folders_are_refused() {
    let (dir, sweep) = setup(&ccg_sweep("kind = \"lhs\"\npoints = 3", RANGES));
    ccgsim()
        .arg("sweep")
        .arg(&sweep)
        .args(["--shard", "4/3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--shard must be K/N"));
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("notes.txt"), "mine").unwrap();
    ccgsim()
        .arg("sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    ccgsim()
        .arg("sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(&out)
        .arg("--resume")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a sweep folder"));
    assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
}

#[test]
fn the_example_sweeps_and_calibration_are_valid() {
    // Validation only (they take a minute or more to run): each sweep is stopped, by the test
    // hook, before its first point; the calibration file is loaded through the library.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["grid", "zip", "lhs", "sobol", "morris"] {
        let path = root.join(format!("sweeps/{name}.toml"));
        let dir = tempfile::tempdir().unwrap();
        ccgsim()
            .arg("sweep")
            .arg(&path)
            .arg("--out")
            .arg(dir.path().join("out"))
            .arg("--quiet")
            .env("CCGSIM_TEST_STOP_AFTER_POINTS", "0")
            .assert()
            .code(130);
    }
    let c = ccgsim::sweep::calibrate::Calibration::load(&root.join("calibration/survey_2015.toml"))
        .expect("the survey calibration is valid");
    assert_eq!(c.targets.len(), 11);
    assert_eq!(c.parameters.len(), 11);
}
