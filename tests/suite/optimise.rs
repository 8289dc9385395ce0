//! End-to-end tests of `ccgsim optimise`: on the built-in test problems the front found reaches
//! the stated share of the true front's hypervolume; `pareto.csv` holds no dominated row; a
//! search on a small scenario, robust over an uncertainty set, gives the same bytes at any thread
//! count and after an interruption and resume; bad files exit 2 naming the key.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use ccgsim::optimise::hypervolume::hypervolume;
use ccgsim::optimise::problems::Problem;
use predicates::prelude::*;
use tempfile::TempDir;

fn ccgsim() -> Command {
    Command::cargo_bin("ccgsim").expect("the ccgsim binary is built for integration tests")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The rows of `pareto.csv` as (header, rows).
fn pareto(dir: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(dir.join("pareto.csv")).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// The objective columns `names` of every row, as numbers.
fn objectives(dir: &Path, names: &[&str]) -> Vec<Vec<f64>> {
    let (header, rows) = pareto(dir);
    let cols: Vec<usize> = names
        .iter()
        .map(|n| header.iter().position(|h| h == n).unwrap())
        .collect();
    rows.iter()
        .map(|r| cols.iter().map(|&c| r[c].parse().unwrap()).collect())
        .collect()
}

fn run_problem(file: &str) -> (TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    ccgsim()
        .arg("optimise")
        .arg(repo(file))
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .assert()
        .success();
    (tmp, out)
}

/// No row is dominated by another (every objective minimised).
fn assert_non_dominated(points: &[Vec<f64>], minimise: &[bool]) {
    let better = |a: f64, b: f64, min: bool| if min { a <= b } else { a >= b };
    for (i, p) in points.iter().enumerate() {
        for (j, q) in points.iter().enumerate() {
            if i == j {
                continue;
            }
            let all = q
                .iter()
                .zip(p)
                .zip(minimise)
                .all(|((&a, &b), &m)| better(a, b, m));
            let strict = q.iter().zip(p).any(|(a, b)| a != b);
            assert!(
                !(all && strict),
                "row {} dominates row {}: {q:?} over {p:?}",
                j + 1,
                i + 1
            );
        }
    }
}

#[test]
fn zdt1_reaches_98_percent_of_the_true_fronts_hypervolume() {
    // Population 100, 200 generations (20,100 evaluations), reference (1.1, 1.1).
    let (_tmp, out) = run_problem("optimise/zdt1.toml");
    let front = objectives(&out, &["f1", "f2"]);
    assert_eq!(front.len(), 100);
    let hv = hypervolume(&front, &[1.1, 1.1]);
    let truth = Problem::Zdt1.true_front_hypervolume(&[1.1, 1.1]).unwrap();
    assert!(
        hv >= 0.98 * truth,
        "hypervolume {hv} of {truth} ({:.4})",
        hv / truth
    );
    assert_non_dominated(&front, &[true, true]);
}

#[test]
fn zdt2_reaches_98_percent_of_the_true_fronts_hypervolume() {
    // Population 100, 250 generations (25,100 evaluations).
    let (_tmp, out) = run_problem("optimise/zdt2.toml");
    let front = objectives(&out, &["f1", "f2"]);
    let hv = hypervolume(&front, &[1.1, 1.1]);
    let truth = Problem::Zdt2.true_front_hypervolume(&[1.1, 1.1]).unwrap();
    assert!(
        hv >= 0.98 * truth,
        "hypervolume {hv} of {truth} ({:.4})",
        hv / truth
    );
    assert_non_dominated(&front, &[true, true]);
}

#[test]
fn dtlz2_reaches_97_percent_of_an_evenly_spread_set() {
    // Population 91, 100 generations (9,191 evaluations), against the 91-point Das-Dennis set
    // on the true front, reference (1.1, 1.1, 1.1).
    let (_tmp, out) = run_problem("optimise/dtlz2.toml");
    let front = objectives(&out, &["f1", "f2", "f3"]);
    assert_eq!(front.len(), 91);
    let even = Problem::Dtlz2 { objectives: 3 }.reference_front(91);
    assert_eq!(even.len(), 91);
    let r = [1.1, 1.1, 1.1];
    let (hv, target) = (hypervolume(&front, &r), hypervolume(&even, &r));
    assert!(
        hv >= 0.97 * target,
        "hypervolume {hv} of {target} ({:.4})",
        hv / target
    );
    assert_non_dominated(&front, &[true, true, true]);
}

const TINY: &str = r#"name = "tiny_base"
start = "2014-10"
months = 6
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
training = { rate = 0.1 }
data_review = { rate = 0.1 }
targets = { rate = 0.1 }
sanctions = { rate = 0.1, target = "underperformers" }
"#;

const SEARCH: &str = r#"name = "tiny_search"
scenario = "base.toml"
seed = 3
replicates = 2

[search]
population = 12
generations = 6

[[variables]]
path = "policy.training.rate"
range = [0.0, 0.5]

[[variables]]
path = "policy.sanctions.rate"
range = [0.0, 0.5]

[[variables]]
path = "policy.sanctions.target"
values = ["all", "underperformers"]

[[objectives]]
metric = "engaged_share"
sense = "maximise"
robustness = "quantile"
quantile = 0.25

[[objectives]]
metric = "mean_quality"
sense = "maximise"
robustness = "regret"

[[objectives]]
metric = "mean_trust"
sense = "maximise"
window = [4, 6]

[[constraints]]
metric = "cost_training"
at_most = 5000.0

[[constraints]]
objective = "mean_trust_t4_6"
no_worse_than_base_by = 0.05

[[uncertain]]
path = "model.acceptability.asymmetry"
range = [1.5, 2.5]

[uncertainty]
states = 3
"#;

fn setup(search: &str) -> (TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("base.toml"), TINY).unwrap();
    let file = tmp.path().join("search.toml");
    fs::write(&file, search).unwrap();
    (tmp, file)
}

fn optimise(file: &Path, out: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    ccgsim()
        .arg("optimise")
        .arg(file)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(args)
        .assert()
}

const FILES: [&str; 4] = [
    "pareto.csv",
    "evaluations.csv",
    "generations.csv",
    "manifest.json",
];

#[test]
fn a_robust_search_is_the_same_at_any_thread_count_and_after_a_resume() {
    let (tmp, file) = setup(SEARCH);
    let one = tmp.path().join("one");
    let two = tmp.path().join("two");
    optimise(&file, &one, &["--threads", "1"]).success();
    optimise(&file, &two, &["--threads", "2"]).success();
    for f in FILES {
        assert_eq!(
            fs::read(one.join(f)).unwrap(),
            fs::read(two.join(f)).unwrap(),
            "{f}"
        );
    }
    // Stopped after generation 3 (as an interruption would), then resumed.
    let resumed = tmp.path().join("resumed");
    ccgsim()
        .arg("optimise")
        .arg(&file)
        .arg("--out")
        .arg(&resumed)
        .arg("--quiet")
        .env("CCGSIM_TEST_STOP_AFTER_GENERATIONS", "3")
        .assert()
        .failure();
    assert!(resumed.join(".optimise-state.json").exists());
    assert!(!resumed.join("pareto.csv").exists());
    // A search started by an older ccgsim (no `format` in its state file) is refused, untouched.
    let state_path = resumed.join(".optimise-state.json");
    let state = fs::read_to_string(&state_path).unwrap();
    let mut older: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(older["format"], 2);
    older.as_object_mut().unwrap().remove("format");
    fs::write(&state_path, older.to_string()).unwrap();
    optimise(&file, &resumed, &["--resume"])
        .code(2)
        .stderr(predicate::str::contains("older ccgsim").and(predicate::str::contains("--force")));
    fs::write(&state_path, &state).unwrap();
    optimise(&file, &resumed, &["--resume", "--threads", "2"]).success();
    for f in FILES {
        assert_eq!(
            fs::read(one.join(f)).unwrap(),
            fs::read(resumed.join(f)).unwrap(),
            "{f}"
        );
    }
    assert!(!resumed.join(".optimise-state.json").exists());
    // 12 + 6 x 12 candidates; every Pareto row non-dominated and feasible, with its policy file.
    let evaluations = fs::read_to_string(one.join("evaluations.csv")).unwrap();
    assert_eq!(evaluations.lines().count(), 1 + 12 * 7);
    let (header, rows) = pareto(&one);
    assert!(!rows.is_empty());
    let feasible = header.iter().position(|h| h == "feasible").unwrap();
    assert!(rows.iter().all(|r| r[feasible] == "true"));
    let front = objectives(&one, &["engaged_share", "mean_quality", "mean_trust_t4_6"]);
    // The regret is minimised; the other two are maximised.
    assert_non_dominated(&front, &[false, true, false]);
    for k in 1..=rows.len() {
        let policy = one.join(format!("policies/tiny_search_pareto_{k}.toml"));
        ccgsim().arg("check").arg(&policy).assert().success();
    }
    // The report draws the front and the hypervolume, as well-formed SVG.
    let report = tmp.path().join("report/report.html");
    ccgsim()
        .arg("report")
        .arg(&one)
        .arg("--out")
        .arg(&report)
        .assert()
        .success();
    let html = fs::read_to_string(&report).unwrap();
    assert!(html.contains("Optimisation tiny_search"), "{html}");
    let charts: Vec<_> = fs::read_dir(tmp.path().join("report/report_files"))
        .unwrap()
        .collect();
    assert_eq!(charts.len(), 2);
    for c in charts {
        let svg = fs::read_to_string(c.unwrap().path()).unwrap();
        roxmltree::Document::parse(&svg).expect("well-formed SVG");
    }
    // An existing result is not overwritten without --force.
    optimise(&file, &one, &[])
        .code(2)
        .stderr(predicate::str::contains("--force"));
}

#[test]
fn bad_files_exit_2_naming_the_key() {
    for (from, to, key) in [
        (
            "metric = \"mean_quality\"",
            "metric = \"mean_qualty\"",
            "objectives[1].metric",
        ),
        (
            "sense = \"maximise\"\nrobustness = \"regret\"",
            "sense = \"upwards\"\nrobustness = \"regret\"",
            "objectives[1].sense",
        ),
        (
            "quantile = 0.25",
            "quantile = 1.5",
            "objectives[0].quantile",
        ),
        (
            "at_most = 5000.0",
            "at_most = 5000.0\nat_least = 6000.0",
            "constraints[0]",
        ),
        (
            "objective = \"mean_trust_t4_6\"",
            "objective = \"mean_trust\"",
            "constraints[1].objective",
        ),
        ("population = 12", "population = 2", "search.population"),
        ("states = 3", "states = 0", "uncertainty.states"),
        (
            "path = \"policy.training.rate\"",
            "path = \"policy.training.rat\"",
            "variables",
        ),
    ] {
        assert!(SEARCH.contains(from), "{from}");
        let (tmp, file) = setup(&SEARCH.replacen(from, to, 1));
        optimise(&file, &tmp.path().join("out"), &[])
            .code(2)
            .stderr(predicate::str::contains("search.toml:").and(predicate::str::contains(key)));
    }
    // One objective is not a multi-objective search.
    let one = SEARCH.replace(
        "[[objectives]]\nmetric = \"mean_trust\"\nsense = \"maximise\"\nwindow = [4, 6]\n",
        "",
    );
    let one = one.replace(
        "[[objectives]]\nmetric = \"mean_quality\"\nsense = \"maximise\"\nrobustness = \"regret\"\n",
        "",
    );
    let (tmp, file) = setup(&one);
    optimise(&file, &tmp.path().join("out"), &[])
        .code(2)
        .stderr(predicate::str::contains("two or more objectives"));
    // A test problem takes no variables of its own.
    let (tmp, file) =
        setup("problem = \"zdt1\"\n[[variables]]\npath = \"x1\"\nrange = [0.0, 1.0]\n");
    optimise(&file, &tmp.path().join("out"), &[])
        .code(2)
        .stderr(predicate::str::contains("variables"));
    let (tmp, file) = setup("problem = \"zdt9\"\n");
    optimise(&file, &tmp.path().join("out"), &[])
        .code(2)
        .stderr(predicate::str::contains("zdt1, zdt2 and dtlz2"));
}

#[test]
fn constraints_no_candidate_meets_are_reported() {
    let (tmp, file) = setup(&SEARCH.replace("at_most = 5000.0", "at_most = -1.0"));
    optimise(&file, &tmp.path().join("out"), &[])
        .code(2)
        .stderr(predicate::str::contains("no candidate met the constraints"));
    assert!(tmp.path().join("out/pareto.csv").exists());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

    /// Whatever the problem, seed, size and final set, pareto.csv holds no dominated row.
    #[test]
    fn pareto_csv_holds_no_dominated_row(
        problem in proptest::sample::select(vec!["zdt1", "zdt2", "dtlz2"]),
        seed in 0u64..10_000,
        population in 4usize..24,
        generations in 0usize..8,
        archive in proptest::bool::ANY,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("p.toml");
        fs::write(
            &file,
            format!(
                "problem = \"{problem}\"\nseed = {seed}\n[search]\npopulation = {population}\ngenerations = {generations}\nfinal = \"{}\"\n",
                if archive { "archive" } else { "population" }
            ),
        )
        .unwrap();
        let o = ccgsim::optimise::run::Optimisation::load(&file).unwrap();
        let out = tmp.path().join("out");
        let options = ccgsim::optimise::run::OptimiseOptions { quiet: true, ..Default::default() };
        ccgsim::optimise::run::optimise(&o, &out, &options, &std::sync::atomic::AtomicBool::new(false)).unwrap();
        let names: Vec<String> = (1..=o.objectives.len()).map(|k| format!("f{k}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let front = objectives(&out, &names);
        proptest::prop_assert!(!front.is_empty() && front.len() <= population);
        assert_non_dominated(&front, &vec![true; names.len()]);
    }
}
