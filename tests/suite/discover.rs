//! End-to-end tests of `ccgsim discover` (scenario discovery with PRIM): on a sweep of the
//! built-in `box` model, whose outcome of interest occurs in a known box, PRIM finds it; a
//! listed, non-numeric parameter is restricted by value; the same input gives the same bytes; bad
//! input exits 2 with a message that names what is wrong.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn ccgsim() -> Command {
    Command::cargo_bin("ccgsim").expect("the ccgsim binary is built for integration tests")
}

const BOX_SWEEP: &str = r#"name = "box"
model = "box"
seed = 11
replicates = 1

[design]
kind = "lhs"
points = 1000

[[parameters]]
path = "x1"
range = [0.0, 1.0]

[[parameters]]
path = "x2"
range = [0.0, 1.0]

[[parameters]]
path = "x3"
range = [0.0, 1.0]

[[parameters]]
path = "x4"
range = [0.0, 1.0]

[[outputs]]
metric = "y"
"#;

/// Run the sweep `text` into a new folder; returns the folder and the sweep's results folder.
fn swept(text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    let file = dir.path().join("sweep.toml");
    fs::write(&file, text).unwrap();
    let out = dir.path().join("sweep");
    ccgsim()
        .arg("sweep")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .assert()
        .success();
    (dir, out)
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn prim_finds_the_known_box() {
    let (_dir, sweep) = swept(BOX_SWEEP);
    let out = sweep.join("found");
    let assert = ccgsim()
        .args(["discover"])
        .arg(&sweep)
        .args(["--output", "y", "--above", "0.5", "--out"])
        .arg(&out)
        .assert()
        .success();
    let printed = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(
        printed.contains("x1 from") && printed.contains("x2 at least"),
        "{printed}"
    );
    assert!(
        !printed.contains("x3") && !printed.contains("x4"),
        "{printed}"
    );
    // trajectory.csv: box,phase,coverage,density,mass,points,cases,restricted,chosen
    let trajectory = csv_rows(&out.join("trajectory.csv"));
    let chosen: Vec<&Vec<String>> = trajectory.iter().filter(|r| r[8] == "true").collect();
    assert_eq!(chosen.len(), 1);
    let (coverage, density): (f64, f64) =
        (chosen[0][2].parse().unwrap(), chosen[0][3].parse().unwrap());
    assert!(
        coverage > 0.9 && density > 0.9,
        "coverage {coverage}, density {density}"
    );
    assert_eq!(chosen[0][7], "2");
    // boxes.csv: box,parameter,restricted,lower,upper,values,quasi_p
    let k = &chosen[0][0];
    let rows = csv_rows(&out.join("boxes.csv"));
    let limits: Vec<&Vec<String>> = rows.iter().filter(|r| &r[0] == k).collect();
    let limit = |name: &str, col: usize| -> f64 {
        limits.iter().find(|r| r[1] == name).unwrap()[col]
            .parse()
            .unwrap()
    };
    // The true box: 0.2 <= x1 <= 0.6, x2 >= 0.5.
    assert!(
        (limit("x1", 3) - 0.2).abs() < 0.03,
        "x1 lower {}",
        limit("x1", 3)
    );
    assert!(
        (limit("x1", 4) - 0.6).abs() < 0.03,
        "x1 upper {}",
        limit("x1", 4)
    );
    assert!(
        (limit("x2", 3) - 0.5).abs() < 0.03,
        "x2 lower {}",
        limit("x2", 3)
    );
    for r in &limits {
        let restricted = r[1] == "x1" || r[1] == "x2";
        assert_eq!(r[2], restricted.to_string(), "{r:?}");
        if restricted {
            assert!(r[6].parse::<f64>().unwrap() < 1e-6, "{r:?}");
        } else {
            assert_eq!(r[6], "");
        }
    }
    // The report draws the coverage-density trade-off and lists the chosen box.
    let report = sweep.join("report.html");
    ccgsim()
        .arg("report")
        .arg(&out)
        .arg("--out")
        .arg(&report)
        .assert()
        .success();
    let html = fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("Scenario discovery") && html.contains("x1"),
        "{html}"
    );
    // The same analysis again gives the same bytes.
    let again = sweep.join("again");
    ccgsim()
        .args(["discover"])
        .arg(&sweep)
        .args(["--output", "y", "--above", "0.5", "--quiet", "--out"])
        .arg(&again)
        .assert()
        .success();
    for f in ["trajectory.csv", "boxes.csv"] {
        assert_eq!(
            fs::read(out.join(f)).unwrap(),
            fs::read(again.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn a_parameter_with_listed_values_is_restricted() {
    // The box model with x2 taking one of three listed values: only x2 = 0.75 (and x1 in the
    // box's range) gives y = 1. (Listed values that are all numbers are treated as numbers; the
    // peeling of values that are not is tested in the library.)
    let text = BOX_SWEEP.replace(
        "path = \"x2\"\nrange = [0.0, 1.0]",
        "path = \"x2\"\nvalues = [0.25, 0.75, 0.3]",
    );
    let (_dir, sweep) = swept(&text);
    let out = sweep.join("found");
    ccgsim()
        .args(["discover"])
        .arg(&sweep)
        .args(["--output", "y", "--above", "0.5", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let trajectory = csv_rows(&out.join("trajectory.csv"));
    let chosen = trajectory.iter().find(|r| r[8] == "true").unwrap();
    let (coverage, density): (f64, f64) = (chosen[2].parse().unwrap(), chosen[3].parse().unwrap());
    assert!(
        coverage > 0.9 && density > 0.9,
        "coverage {coverage}, density {density}"
    );
}

#[test]
fn bad_requests_exit_2_with_a_message() {
    let (_dir, sweep) = swept(BOX_SWEEP);
    let run = |args: &[&str]| ccgsim().arg("discover").arg(&sweep).args(args).assert();
    run(&["--output", "z", "--above", "0.5"])
        .code(2)
        .stderr(predicate::str::contains(
            "has no output `z`; its outputs are y",
        ));
    run(&["--output", "y", "--above", "2"]).code(2).stderr(
        predicate::str::contains("no point of the sweep's 1000 points")
            .and(predicate::str::contains("above 2")),
    );
    run(&["--output", "y", "--below", "5"])
        .code(2)
        .stderr(predicate::str::contains("every point"));
    run(&["--output", "y"])
        .code(2)
        .stderr(predicate::str::contains("--below"));
    run(&["--output", "y", "--below", "0.5", "--above", "0.5"]).code(2);
    run(&["--output", "y", "--above", "0.5", "--peel-alpha", "0.7"])
        .code(2)
        .stderr(predicate::str::contains("--peel-alpha"));
    run(&["--output", "y", "--above", "0.5", "--box", "999"])
        .code(2)
        .stderr(predicate::str::contains("--box 999"));
    // A finished analysis is not overwritten without --force.
    run(&["--output", "y", "--above", "0.5", "--quiet"]).success();
    run(&["--output", "y", "--above", "0.5", "--quiet"])
        .code(2)
        .stderr(predicate::str::contains("--force"));
    run(&["--output", "y", "--above", "0.5", "--quiet", "--force"]).success();
    // Not a sweep folder.
    let empty = tempfile::tempdir().unwrap();
    ccgsim()
        .arg("discover")
        .arg(empty.path())
        .args(["--output", "y", "--above", "0.5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("manifest"));
}
