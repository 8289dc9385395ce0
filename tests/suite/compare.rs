//! End-to-end tests of `ccgsim run A.toml B.toml` and `ccgsim compare`: the effects are the
//! per-replicate differences of the runs' replicates.csv, the paired interval is narrower than
//! the unpaired one on bundled scenarios, runs that cannot be paired are compared unpaired with
//! the reason given, and bad input exits 2 naming the folder.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn ccgsim() -> Command {
    Command::cargo_bin("ccgsim").expect("the ccgsim binary is built for integration tests")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `replicates.csv` as (replicate, tick, metric) -> value (`None` for NA).
fn replicates(dir: &Path) -> BTreeMap<(u32, u32, String), Option<f64>> {
    let mut reader = csv::Reader::from_path(dir.join("replicates.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                (
                    r[1].parse().unwrap(),
                    r[2].parse().unwrap(),
                    r[3].to_string(),
                ),
                r[4].parse().ok(),
            )
        })
        .collect()
}

/// `effects.csv` as rows of header name -> field.
fn effects(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join("effects.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

fn num(row: &BTreeMap<String, String>, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {} is not a number", row[key]))
}

/// Run the training-only and sanctions-only scenarios (20 replicates) under `out`, with one seed.
fn run_pair(out: &Path) -> (PathBuf, PathBuf) {
    ccgsim()
        .args(["run", "--quiet", "--replicates", "20", "--out"])
        .arg(out)
        .arg(repo("scenarios/training_only.toml"))
        .arg(repo("scenarios/sanctions_only.toml"))
        .assert()
        .success();
    (out.join("training_only"), out.join("sanctions_only"))
}

#[test]
fn effects_are_the_per_replicate_differences_and_pairing_narrows_the_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let (training, sanctions) = run_pair(tmp.path());
    let out = tmp.path().join("cmp");
    ccgsim()
        .arg("compare")
        .args([&training, &sanctions])
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "sanctions_only against training_only at 2016-04 (paired by replicate: same seed (2015), 20 replicates",
        ))
        .stdout(predicate::str::contains("Trust in the CCG"));
    let rows = effects(&out);
    assert_eq!(
        rows.len(),
        37 * ccgsim::metrics::METRICS.len(),
        "one row per tick and metric"
    );
    let (a, b) = (replicates(&training), replicates(&sanctions));
    let mut narrower = 0;
    let mut compared = 0;
    for row in &rows {
        assert_eq!(row["scenario"], "sanctions_only");
        assert_eq!(row["reference"], "training_only");
        assert_eq!(row["paired"], "true");
        let (tick, metric): (u32, &str) = (row["tick"].parse().unwrap(), &row["metric"]);
        let month = format!("{}-{:02}", 2013 + (3 + tick) / 12, (3 + tick) % 12 + 1);
        assert_eq!(row["month"], month);
        let diffs: Vec<f64> = (0..20)
            .filter_map(|r| {
                let key = (r, tick, metric.to_string());
                Some(b[&key]? - a[&key]?)
            })
            .collect();
        assert_eq!(row["n"], diffs.len().to_string());
        if diffs.is_empty() {
            assert_eq!(row["difference"], "NA");
            continue;
        }
        let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
        let got = num(row, "difference");
        assert!(
            (got - mean).abs() <= 1e-9 * mean.abs().max(1.0),
            "{metric} at tick {tick}: {got} against {mean}"
        );
        if tick == 0 {
            // Same seed, same population: the runs start from the same states and answers.
            assert_eq!(got, 0.0, "{metric} differs at tick 0");
        }
        let paired = num(row, "ci_high") - num(row, "ci_low");
        let unpaired = num(row, "unpaired_ci_high") - num(row, "unpaired_ci_low");
        if tick > 0
            && unpaired > 0.0
            && !metric.starts_with("actions")
            && !metric.starts_with("cost")
        {
            compared += 1;
            narrower += (paired < unpaired) as usize;
        }
    }
    // Survey shares and states of every month after the first: pairing helps nearly always.
    assert!(
        narrower as f64 >= 0.9 * compared as f64,
        "paired interval narrower in only {narrower} of {compared} cases"
    );
    let trust = rows
        .iter()
        .find(|r| r["tick"] == "36" && r["metric"] == "mean_trust")
        .unwrap();
    assert!(
        num(trust, "ci_high") - num(trust, "ci_low")
            < num(trust, "unpaired_ci_high") - num(trust, "unpaired_ci_low")
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["others"][0]["paired"], true);
}

#[test]
fn several_scenarios_share_the_first_seed_and_clashing_names_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (training, sanctions) = run_pair(tmp.path());
    for dir in [&training, &sanctions] {
        let manifest: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["seed"], 2015);
        assert_eq!(manifest["replicates"], 20);
    }
    let clash = tmp.path().join("clash");
    ccgsim()
        .args(["run", "--quiet", "--out"])
        .arg(&clash)
        .arg(repo("scenarios/training_only.toml"))
        .arg(repo("scenarios/training_only.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "are both scenario \"training_only\"",
        ));
    assert!(!clash.exists(), "nothing is written when names clash");
}

#[test]
fn runs_with_different_seeds_are_compared_unpaired_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |scenario: &str, seed: &str| {
        let dir = tmp.path().join(scenario);
        ccgsim()
            .args([
                "run",
                "--quiet",
                "--replicates",
                "5",
                "--seed",
                seed,
                "--out",
            ])
            .arg(&dir)
            .arg(repo(&format!("scenarios/{scenario}.toml")))
            .assert()
            .success();
        dir
    };
    let (a, b) = (run("training_only", "1"), run("targets_only", "2"));
    let out = tmp.path().join("cmp");
    ccgsim()
        .arg("compare")
        .args([&a, &b])
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "not paired: seeds differ (1 and 2)",
        ));
    for row in effects(&out) {
        assert_eq!(row["paired"], "false");
        assert_eq!(row["ci_low"], "NA");
        assert_eq!(row["ci_high"], "NA");
        assert_eq!(row["n"], "10");
    }
}

#[test]
fn bad_folders_exit_2_naming_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (training, sanctions) = run_pair(tmp.path());
    let compare = |dirs: &[&Path]| {
        let mut cmd = ccgsim();
        cmd.arg("compare")
            .args(dirs)
            .arg("--out")
            .arg(tmp.path().join("cmp"));
        cmd.assert()
    };
    // Not a run folder at all.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    compare(&[&training, &empty]).code(2).stderr(
        predicate::str::contains("is not a run folder").and(predicate::str::contains("empty")),
    );
    // A missing folder.
    compare(&[&training, &tmp.path().join("nowhere")])
        .code(2)
        .stderr(predicate::str::contains("nowhere"));
    // A run with itself.
    compare(&[&training, &training])
        .code(2)
        .stderr(predicate::str::contains("same folder"));
    // A damaged replicates.csv: a row cut out.
    let damaged = tmp.path().join("damaged");
    fs::create_dir(&damaged).unwrap();
    for f in ["manifest.json", "replicates.csv"] {
        fs::copy(sanctions.join(f), damaged.join(f)).unwrap();
    }
    let text = fs::read_to_string(damaged.join("replicates.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(100);
    fs::write(damaged.join("replicates.csv"), lines.join("\n") + "\n").unwrap();
    // (Refused by its checksum; tests/suite/integrity.rs has the other kinds of damage.)
    compare(&[&training, &damaged]).code(2).stderr(
        predicate::str::contains("replicates.csv")
            .and(predicate::str::contains("rows where the manifest records")),
    );
    // A missing replicates.csv.
    fs::remove_file(damaged.join("replicates.csv")).unwrap();
    compare(&[&training, &damaged])
        .code(2)
        .stderr(predicate::str::contains("replicates.csv' is missing"));
    // Runs of different lengths.
    let short_toml = tmp.path().join("short.toml");
    let text = fs::read_to_string(repo("scenarios/sanctions_only.toml"))
        .unwrap()
        .replace("months = 36", "months = 12")
        .replace("name = \"sanctions_only\"", "name = \"short\"");
    fs::write(&short_toml, text).unwrap();
    let short = tmp.path().join("short");
    ccgsim()
        .args(["run", "--quiet", "--replicates", "20", "--out"])
        .arg(&short)
        .arg(&short_toml)
        .assert()
        .success();
    compare(&[&training, &short])
        .code(2)
        .stderr(predicate::str::contains("different lengths"));
    // An existing effects.csv is kept unless --force.
    compare(&[&training, &sanctions]).success();
    compare(&[&training, &sanctions])
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    ccgsim()
        .arg("compare")
        .args([&training, &sanctions])
        .arg("--out")
        .arg(tmp.path().join("cmp"))
        .args(["--force", "--quiet"])
        .assert()
        .success();
}

#[test]
fn run_with_report_writes_the_comparison_and_one_page_for_several_scenarios() {
    let tmp = tempfile::tempdir().unwrap();
    ccgsim()
        .args(["run", "--quiet", "--report", "--replicates", "5", "--out"])
        .arg(tmp.path())
        .arg(repo("scenarios/baseline_to_2016.toml"))
        .arg(repo("scenarios/sanctions_only.toml"))
        .assert()
        .success();
    let rows = effects(&tmp.path().join("compare_baseline_to_2016"));
    assert!(
        rows.iter()
            .all(|r| r["scenario"] == "sanctions_only" && r["paired"] == "true")
    );
    let page = fs::read_to_string(tmp.path().join("report.html")).unwrap();
    for name in ["baseline_to_2016", "sanctions_only", "Trust in the CCG"] {
        assert!(page.contains(name), "report.html lacks {name}");
    }
    // A second run refuses to replace the results (and so the report) without --force.
    ccgsim()
        .args(["run", "--quiet", "--report", "--replicates", "5", "--out"])
        .arg(tmp.path())
        .arg(repo("scenarios/baseline_to_2016.toml"))
        .arg(repo("scenarios/sanctions_only.toml"))
        .assert()
        .code(2);
}

#[test]
fn generated_runs_drawn_per_replicate_pair_and_a_fixed_one_does_not() {
    // Two policies on one generated England drawn per replicate pair replicate by replicate
    // (their structures are the same draw in each replicate); against the same England held
    // fixed they do not.
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(repo("tests/data/generated.toml")).unwrap();
    let write = |name: &str, text: String| {
        let path = tmp.path().join(format!("{name}.toml"));
        std::fs::write(
            &path,
            text.replace("name = \"generated\"", &format!("name = \"{name}\"")),
        )
        .unwrap();
        path
    };
    let a = write("a", base.clone());
    let b = write(
        "b",
        base.replace("training = { rate = 0.1 }", "training = { rate = 0.4 }"),
    );
    let c = write(
        "c",
        base.replace("[population]\n", "[population]\nstructure = \"fixed\"\n"),
    );
    ccgsim()
        .args(["run", "--quiet", "--out"])
        .arg(tmp.path().join("runs"))
        .args([&a, &b, &c])
        .assert()
        .success();
    let runs = tmp.path().join("runs");
    let compare = |x: &str, y: &str, expect: &str| {
        ccgsim()
            .arg("compare")
            .args([runs.join(x), runs.join(y)])
            .arg("--out")
            .arg(tmp.path().join(format!("cmp_{x}_{y}")))
            .assert()
            .success()
            .stdout(predicate::str::contains(expect));
    };
    compare("a", "b", "paired by replicate");
    compare("a", "c", "not paired: populations differ");
}
