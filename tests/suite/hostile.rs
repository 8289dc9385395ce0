//! A corpus of damaged and hostile configuration inputs, one class per kind of fault, many cases
//! each. Every case is refused by `ccgsim check` (and, for scenarios, by `ccgsim run`) with exit
//! code 2, a message that names the file (with line, column and key where there is a line) and
//! says what is wrong in the file's own words, and nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A case: a class, a file name, its bytes, and words the message must contain.
struct Case {
    class: &'static str,
    name: String,
    bytes: Vec<u8>,
    expect: &'static str,
}

fn case(class: &'static str, name: &str, text: &str, expect: &'static str) -> Case {
    Case {
        class,
        name: name.to_string(),
        bytes: text.as_bytes().to_vec(),
        expect,
    }
}

/// Scenario files, by class.
fn scenarios() -> Vec<Case> {
    let mut v = vec![
        // Syntax.
        case("syntax", "unclosed_table", "[policy\n", "1:"),
        case("syntax", "unclosed_string", "name = \"x\n", "1:"),
        case("syntax", "duplicate_key", "months = 3\nmonths = 4\n", "2:"),
        case("syntax", "duplicate_table", "[policy]\n[policy]\n", "2:"),
        case("syntax", "bare_value", "months\n", "1:"),
        case("syntax", "bad_escape", "name = \"\\q\"\n", "1:"),
        case("syntax", "table_and_key", "policy = 1\n[policy]\n", "2:"),
        // Positional tables: a table's fields given as an array.
        case(
            "positional",
            "sanctions",
            "[policy]\nsanctions = [1.0, \"all\", \"none\"]\n",
            "not given by position",
        ),
        case(
            "positional",
            "training",
            "[policy]\ntraining = [0.1]\n",
            "not given by position",
        ),
        case(
            "positional",
            "list_size",
            "list_size = [8.7, 0.6, 500.0, 60000.0]\n",
            "not given by position",
        ),
        case(
            "positional",
            "population",
            "population = [209]\n",
            "not given by position",
        ),
        case(
            "positional",
            "ccg",
            "ccgs = [[\"a\", 10]]\n",
            "not given by position",
        ),
        case(
            "positional",
            "governance",
            "ccg_defaults = [2, 4]\n",
            "not given by position",
        ),
        case(
            "positional",
            "nested_model",
            "[model]\npeers = [0.1, 0.2]\n",
            "not given by position",
        ),
        case(
            "positional",
            "commissioning",
            "[[ccgs]]\nid = \"a\"\npractices = 5\ncommissioning = [[\"2015-04\", \"delegated\"]]\n",
            "not given by position",
        ),
        // Wrong types, in the file's words.
        case(
            "types",
            "months_text",
            "months = \"three\"\n",
            "expected an integer",
        ),
        case(
            "types",
            "rate_text",
            "[policy.training]\nrate = \"high\"\n",
            "expected a number",
        ),
        case("types", "policy_number", "policy = 5\n", "expected a table"),
        case("types", "name_number", "name = 5\n", "expected a string"),
        case("types", "seed_negative", "seed = -1\n", "non-negative"),
        case("types", "months_float", "months = 3.5\n", "integer"),
        case(
            "types",
            "unknown_key",
            "monts = 3\n",
            "unknown field `monts`",
        ),
        case(
            "types",
            "unknown_action",
            "[policy.bribes]\nrate = 0.1\n",
            "unknown field `bribes`",
        ),
        // Numbers that are not finite, or out of range.
        case(
            "numbers",
            "rate_nan",
            "[policy.training]\nrate = nan\n",
            "NaN",
        ),
        case(
            "numbers",
            "rate_inf",
            "[policy.sanctions]\nrate = inf\n",
            "inf",
        ),
        case("numbers", "mu_nan", "[list_size]\nmu = nan\n", "NaN"),
        case("numbers", "sigma_inf", "[list_size]\nsigma = inf\n", "inf"),
        case("numbers", "months_zero", "months = 0\n", "months"),
        case("numbers", "months_huge", "months = 100000\n", "months"),
        case(
            "numbers",
            "replicates_zero",
            "replicates = 0\n",
            "replicates",
        ),
        case(
            "numbers",
            "top_down_nan",
            "[nhs_england]\ntop_down = [{ from = \"2013-04\", value = nan }]\n",
            "nhs_england.top_down[0].value",
        ),
        case(
            "numbers",
            "integer_overflow",
            "months = 99999999999999999999\n",
            "1:",
        ),
        // Names: a run's name becomes a folder.
        case(
            "names",
            "nul",
            "name = \"a\\u0000b\"\n",
            "control character",
        ),
        case("names", "slash", "name = \"a/b\"\n", "'/'"),
        case("names", "backslash", "name = \"a\\\\b\"\n", "'\\'"),
        case("names", "dot", "name = \".hidden\"\n", "start with '.'"),
        case("names", "dotdot", "name = \"..\"\n", "start with '.'"),
        case("names", "dash", "name = \"-rf\"\n", "start with '.' or '-'"),
        case("names", "empty", "name = \"\"\n", "must not be empty"),
        case("names", "blank", "name = \"   \"\n", "blank"),
        case(
            "names",
            "newline",
            "name = \"a\\nb\"\n",
            "control character",
        ),
        case("names", "colon", "name = \"a:b\"\n", "':'"),
        case("names", "star", "name = \"a*\"\n", "'*'"),
        case("names", "trailing_dot", "name = \"run.\"\n", "end with '.'"),
        // Lists.
        case(
            "lists",
            "duplicate_ccg",
            "[[ccgs]]\nid = \"a\"\npractices = 5\n[[ccgs]]\nid = \"b\"\npractices = 5\n[[ccgs]]\nid = \"a\"\npractices = 5\n",
            "duplicate CCG id \"a\"",
        ),
        case("lists", "empty_ccgs", "ccgs = []\n", "at least one CCG"),
        case(
            "lists",
            "empty_id",
            "[[ccgs]]\nid = \"\"\npractices = 5\n",
            "must not be empty",
        ),
        case(
            "lists",
            "both_population_kinds",
            "[[ccgs]]\nid = \"a\"\npractices = 5\n[population]\nccgs = 3\n",
            "not both",
        ),
        // Sizes: runs no machine could hold.
        case(
            "sizes",
            "ten_million_ccgs",
            "[population]\nccgs = 10000000\npractices_per_ccg = { mu = 10, sigma = 0.1, min = 1, max = 1e7 }\n",
            "needs about",
        ),
        case(
            "sizes",
            "billion_practice_ccg",
            "[population]\nccgs = 1\npractices_per_ccg = { mu = 20.8, sigma = 0.01, min = 1, max = 1e9 }\n",
            "needs about",
        ),
        case(
            "sizes",
            "many_long_months",
            "months = 1200\nreplicates = 10000000\n[population]\nccgs = 1000000\n",
            "needs about",
        ),
    ];
    // A name longer than a folder name may be.
    v.push(case(
        "names",
        "too_long",
        &format!("name = \"{}\"\n", "x".repeat(300)),
        "at most 200",
    ));
    // Bytes that are not UTF-8, at a known line.
    v.push(Case {
        class: "syntax",
        name: "not_utf8".into(),
        bytes: b"months = 3\nname = \"\xff\xfe\"\n".to_vec(),
        expect: "2:9: the file is not UTF-8 text",
    });
    v.push(Case {
        class: "syntax",
        name: "nul_bytes".into(),
        bytes: b"months = 3\0\0\n".to_vec(),
        expect: "1:",
    });
    v
}

fn ccgsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ccgsim"))
}

fn assert_refused(out: &Output, file: &Path, expect: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    assert!(
        stderr.contains(&file.display().to_string()),
        "{what}: the message names the file: {stderr}"
    );
    assert!(
        stderr.contains(expect),
        "{what}: expected {expect:?} in: {stderr}"
    );
    for word in ["panicked", "struct ", "enum ", "u32", "f64", "i64", "Vec<"] {
        assert!(
            !stderr.contains(word),
            "{what}: internal word {word:?} in: {stderr}"
        );
    }
}

#[test]
fn hostile_scenarios_are_refused_by_check_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut classes: std::collections::BTreeMap<&str, usize> = Default::default();
    for c in scenarios() {
        let path = dir.path().join(format!("{}.toml", c.name));
        std::fs::write(&path, &c.bytes).unwrap();
        let what = format!("{}/{}", c.class, c.name);
        assert_refused(
            &ccgsim().arg("check").arg(&path).output().unwrap(),
            &path,
            c.expect,
            &format!("check {what}"),
        );
        let out = dir.path().join(format!("out-{}", c.name));
        assert_refused(
            &ccgsim()
                .arg("run")
                .arg(&path)
                .arg("--out")
                .arg(&out)
                .arg("--quiet")
                .output()
                .unwrap(),
            &path,
            c.expect,
            &format!("run {what}"),
        );
        assert!(!out.exists(), "run {what}: nothing is written");
        *classes.entry(c.class).or_default() += 1;
    }
    eprintln!("scenario cases by class: {classes:?}");
    assert!(classes.values().all(|&n| n >= 3));
}

/// Every number of the model's parameters and of the policy, set to NaN, to infinity and to
/// minus infinity in turn: each is refused, at its own key.
#[test]
fn non_finite_values_are_refused_at_every_numeric_key() {
    let defaults = ccgsim::scenario::Scenario::default();
    let mut leaves = Vec::new();
    for (section, value) in [
        ("model", toml::Value::try_from(&defaults.model).unwrap()),
        ("policy", toml::Value::try_from(&defaults.policy).unwrap()),
    ] {
        collect_floats(&value, section.to_string(), &mut leaves);
    }
    assert!(
        leaves.len() > 40,
        "only {} numeric keys found",
        leaves.len()
    );
    let mut refused = 0;
    for path in &leaves {
        for bad in ["nan", "inf", "-inf"] {
            let (table, key) = path.rsplit_once('.').unwrap();
            let text = format!("[{table}]\n{key} = {bad}\n");
            let err = ccgsim::scenario::Scenario::parse(&text, Path::new("nonfinite.toml"))
                .err()
                .unwrap_or_else(|| panic!("{path} = {bad} was accepted"));
            let message = err.to_string();
            assert!(
                message.contains("nonfinite.toml:2:"),
                "{path} = {bad}: {message}"
            );
            assert!(
                message.contains(path.as_str()),
                "{path} = {bad}: names the key: {message}"
            );
            refused += 1;
        }
    }
    eprintln!(
        "{refused} non-finite values refused over {} keys",
        leaves.len()
    );
}

fn collect_floats(v: &toml::Value, path: String, out: &mut Vec<String>) {
    match v {
        toml::Value::Float(_) => out.push(path),
        toml::Value::Table(t) => {
            for (k, v) in t {
                collect_floats(v, format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Sweep and calibration files, and calibration targets, each next to a copy of the base.
#[test]
fn hostile_sweeps_calibrations_and_targets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo("scenarios/baseline.toml"),
        dir.path().join("base.toml"),
    )
    .unwrap();
    let sweep = |body: &str| {
        format!(
            "scenario = \"base.toml\"\nreplicates = 2\n{body}\n[[outputs]]\nmetric = \"engaged_share\"\n"
        )
    };
    let lhs = "[design]\nkind = \"lhs\"\npoints = 4\n";
    let param = "[[parameters]]\npath = \"policy.training.rate\"\nrange = [0.0, 0.5]\n";
    let sweeps = [
        ("design", "no_design", sweep(param), "design"),
        (
            "design",
            "unknown_design",
            sweep(&format!("[design]\nkind = \"shuffle\"\n{param}")),
            "unknown design",
        ),
        (
            "design",
            "sobol_not_power",
            sweep(&format!("[design]\nkind = \"sobol\"\nn = 3\n{param}")),
            "power of two",
        ),
        (
            "design",
            "positional_design",
            sweep(&format!("design = [\"lhs\", 4]\n{param}")),
            "not given by position",
        ),
        (
            "parameters",
            "nan_range",
            sweep(&format!(
                "{lhs}[[parameters]]\npath = \"policy.training.rate\"\nrange = [nan, 0.5]\n"
            )),
            "parameters[0]",
        ),
        (
            "parameters",
            "inf_range",
            sweep(&format!(
                "{lhs}[[parameters]]\npath = \"policy.training.rate\"\nrange = [0.0, inf]\n"
            )),
            "parameters[0]",
        ),
        (
            "parameters",
            "bad_path",
            sweep(&format!(
                "{lhs}[[parameters]]\npath = \"policy..rate\"\nrange = [0.0, 0.5]\n"
            )),
            "parameters[0]",
        ),
        (
            "parameters",
            "unknown_path",
            sweep(&format!(
                "{lhs}[[parameters]]\npath = \"policy.bribes.rate\"\nrange = [0.0, 0.5]\n"
            )),
            "parameters[0]",
        ),
        (
            "parameters",
            "positional_parameter",
            sweep(&format!(
                "parameters = [[\"policy.training.rate\", [0.0, 0.5]]]\n{lhs}"
            )),
            "not given by position",
        ),
        (
            "names",
            "sweep_name_nul",
            format!("name = \"a\\u0000\"\n{}", sweep(&format!("{lhs}{param}"))),
            "control character",
        ),
        (
            "names",
            "sweep_name_slash",
            format!("name = \"a/b\"\n{}", sweep(&format!("{lhs}{param}"))),
            "'/'",
        ),
        (
            "names",
            "sweep_name_dot",
            format!("name = \".x\"\n{}", sweep(&format!("{lhs}{param}"))),
            "start with '.'",
        ),
        (
            "base",
            "missing_base",
            sweep(&format!("{lhs}{param}")).replace("base.toml", "nowhere.toml"),
            "could not read",
        ),
        (
            "base",
            "base_is_folder",
            sweep(&format!("{lhs}{param}")).replace("base.toml", "."),
            "folder",
        ),
    ];
    let targets_header = "id,value,se\n";
    let calibration = |targets: &str| {
        format!(
            "scenario = \"base.toml\"\ntargets = \"{targets}\"\nreplicates = 2\n[abc]\nparticles = 10\ngenerations = 1\n[[parameters]]\npath = \"model.peers.rate\"\nprior = [0.0, 0.5]\n[[match]]\ntarget = \"t\"\nmetric = \"engaged_share\"\n"
        )
    };
    let target_files = [
        (
            "targets",
            "duplicate_id",
            format!("{targets_header}t,0.5,0.1\nu,0.4,0.1\nt,0.6,0.1\n"),
            "duplicate id \"t\" (first on line 2)",
        ),
        (
            "targets",
            "nan_value",
            format!("{targets_header}t,NaN,0.1\n"),
            "line 2: `value` must be a finite number",
        ),
        (
            "targets",
            "inf_se",
            format!("{targets_header}t,0.5,inf\n"),
            "line 2: `se` must be a finite number",
        ),
        (
            "targets",
            "text_value",
            format!("{targets_header}t,half,0.1\n"),
            "line 2: `value`",
        ),
        (
            "targets",
            "zero_se",
            format!("{targets_header}t,0.5,0\n"),
            "`se` must be positive",
        ),
        (
            "targets",
            "short_row",
            format!("{targets_header}t,0.5\n"),
            "line 2: has 2 fields where the header has 3",
        ),
        (
            "targets",
            "no_value_column",
            "id,se\nt,0.1\n".to_string(),
            "needs a `value` column",
        ),
        (
            "targets",
            "twice_named_column",
            "id,value,value,se\nt,0.5,0.5,0.1\n".to_string(),
            "named twice",
        ),
        (
            "targets",
            "empty_id",
            format!("{targets_header},0.5,0.1\nt,0.5,0.1\n"),
            "`id` is empty",
        ),
        (
            "targets",
            "not_utf8",
            "id,value,se\nt,0.5,0.1\n\u{0}".to_string() + "\u{fffd}",
            "line",
        ),
    ];
    let mut n = 0;
    for (class, name, text, expect) in sweeps {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, &text).unwrap();
        let what = format!("{class}/{name}");
        assert_refused(
            &ccgsim().arg("check").arg(&path).output().unwrap(),
            &path,
            expect,
            &format!("check {what}"),
        );
        let out = dir.path().join(format!("out-{name}"));
        assert_refused(
            &ccgsim()
                .arg("sweep")
                .arg(&path)
                .arg("--out")
                .arg(&out)
                .arg("--quiet")
                .output()
                .unwrap(),
            &path,
            expect,
            &format!("sweep {what}"),
        );
        assert!(!out.exists(), "sweep {what}: nothing is written");
        n += 1;
    }
    for (class, name, csv, expect) in target_files {
        let csv_name = format!("{name}.csv");
        std::fs::write(dir.path().join(&csv_name), csv).unwrap();
        let path = dir.path().join(format!("cal_{name}.toml"));
        std::fs::write(&path, calibration(&csv_name)).unwrap();
        let what = format!("{class}/{name}");
        assert_refused(
            &ccgsim().arg("check").arg(&path).output().unwrap(),
            &path,
            expect,
            &format!("check {what}"),
        );
        let out = dir.path().join(format!("out-{name}"));
        assert_refused(
            &ccgsim()
                .arg("calibrate")
                .arg(&path)
                .arg("--out")
                .arg(&out)
                .arg("--quiet")
                .output()
                .unwrap(),
            &path,
            expect,
            &format!("calibrate {what}"),
        );
        assert!(!out.exists(), "calibrate {what}: nothing is written");
        n += 1;
    }
    eprintln!("{n} sweep, calibration and targets cases refused");
}

/// Inputs that are not files of a sane size: a folder, a file past 64 MiB (refused from its
/// size, without reading it), a device that never ends, a missing file.
#[test]
fn inputs_that_are_not_small_files_are_refused_without_reading_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(65 << 20).unwrap(); // sparse: no disk used
    let mut cases: Vec<(PathBuf, &str)> = vec![
        (dir.path().to_path_buf(), "is a folder"),
        (big.clone(), "larger than 64 MiB are refused"),
        (dir.path().join("missing.toml"), "could not read"),
    ];
    if Path::new("/dev/zero").exists() {
        cases.push((PathBuf::from("/dev/zero"), "goes on past 64 MiB"));
    }
    for command in ["check", "run", "sweep", "calibrate"] {
        for (path, expect) in &cases {
            let out = ccgsim().arg(command).arg(path).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{command} {}: {stderr}",
                path.display()
            );
            assert!(
                stderr.contains(expect),
                "{command} {}: {stderr}",
                path.display()
            );
        }
    }
}

/// Lists are validated in linear time: 300,000 listed CCGs (the last a duplicate of the first)
/// are checked and the duplicate found. With the quadratic scan this replaced, that took minutes
/// (80,000 took 15 s); there is no timed assertion, but a regression would stall this test.
#[test]
fn a_long_list_of_ccgs_is_checked_in_linear_time() {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("name = \"long\"\nmonths = 2\nreplicates = 1\n");
    for i in 0..300_000 {
        let _ = write!(text, "[[ccgs]]\nid = \"C{i}\"\npractices = 3\n");
    }
    let path = dir.path().join("long.toml");
    std::fs::write(&path, &text).unwrap();
    let out = ccgsim().arg("check").arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.push_str("[[ccgs]]\nid = \"C0\"\npractices = 3\n");
    std::fs::write(&path, &text).unwrap();
    let out = ccgsim().arg("check").arg(&path).output().unwrap();
    assert_refused(
        &out,
        &path,
        "ccgs[300000].id`: duplicate CCG id \"C0\"",
        "long list",
    );
}

/// An output folder that cannot be used (a file in the way, a folder under a file) is bad input:
/// exit code 2, naming the folder, for every command that writes one.
#[test]
fn unusable_output_folders_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a_file");
    std::fs::write(&file, "not a folder").unwrap();
    let scenario = dir.path().join("tiny.toml");
    std::fs::copy(repo("tests/data/tiny.toml"), &scenario).unwrap();
    let (run, other) = (dir.path().join("run"), dir.path().join("other"));
    for (folder, seed) in [(&run, "1"), (&other, "2")] {
        let ok = ccgsim()
            .args(["run", "--quiet", "--seed", seed, "--out"])
            .arg(folder)
            .arg(&scenario)
            .output()
            .unwrap();
        assert!(ok.status.success());
    }
    let mut n = 0;
    for out in [file.clone(), file.join("below")] {
        let o = out.display().to_string();
        let s = scenario.display().to_string();
        let r = run.display().to_string();
        let other = other.display().to_string();
        let commands: Vec<Vec<String>> = vec![
            vec![
                "run".into(),
                s.clone(),
                "--quiet".into(),
                "--out".into(),
                o.clone(),
            ],
            vec![
                "sweep".into(),
                repo("sweeps/grid.toml").display().to_string(),
                "--quiet".into(),
                "--out".into(),
                o.clone(),
            ],
            vec![
                "calibrate".into(),
                repo("calibration/survey_2015.toml").display().to_string(),
                "--quiet".into(),
                "--out".into(),
                o.clone(),
            ],
            vec![
                "compare".into(),
                r.clone(),
                other.clone(),
                "--quiet".into(),
                "--out".into(),
                o.clone(),
            ],
            vec![
                "report".into(),
                r.clone(),
                "--out".into(),
                format!("{o}/report.html"),
            ],
        ];
        for args in commands {
            let result = ccgsim().args(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&result.stderr);
            assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains("a_file"),
                "{args:?}: names the folder: {stderr}"
            );
            n += 1;
        }
    }
    assert_eq!(n, 10);
}
