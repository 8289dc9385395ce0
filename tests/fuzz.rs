//! A fuzz target over the input parsers and `check`, on the stable toolchain: proptest generates
//! arbitrary and mutated scenario, sweep and calibration files (and calibration targets CSVs),
//! starting from the bundled ones, and every one must be either accepted or refused as bad input
//! (exit code 2) with a message that names no internal type: never a panic, never another code.
//!
//! It runs for `CCGSIM_FUZZ_SECONDS` seconds (default 10) or `CCGSIM_FUZZ_CASES` cases, whichever
//! ends first; `.ci/run` gives it longer. The generator is seeded (`CCGSIM_FUZZ_SEED`, default 1),
//! so a failure is reproduced by running again with the same seed; the failing input is printed.
//! With `CCGSIM_FUZZ_SHOW` set, every refusal's message is printed too.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use toml::{Table, Value};

/// The bundled inputs the mutations start from, by folder (so relative paths still resolve).
const SEEDS: [(&str, &str); 11] = [
    ("scenarios", "baseline.toml"),
    ("scenarios", "sanctions_from_2015.toml"),
    ("scenarios", "escalation.toml"),
    ("scenarios", "england_2015.toml"),
    ("scenarios", "england_2013_2016.toml"),
    ("tests/data", "generated.toml"),
    ("tests/data", "tiny.toml"),
    ("sweeps", "sobol.toml"),
    ("sweeps", "zip.toml"),
    ("sweeps", "grid.toml"),
    ("calibration", "survey_2015.toml"),
];

/// Words that name Rust types or crate internals, which a message to a user must not contain.
const INTERNAL: [&str; 12] = [
    "struct ", "enum ", " u32", " u64", " i64", " f64", " usize", "Vec<", "Option<", "ccgsim::",
    "serde", "panicked",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A value of any TOML type, including the awkward ones.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::Integer),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(1e308),
            Just(-1.0),
            Just(0.5),
            any::<f64>()
        ]
        .prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
        prop_oneof![
            Just(String::new()),
            Just("\0".to_string()),
            Just("../../etc".to_string()),
            Just("2015-04".to_string()),
            Just("all".to_string()),
            Just("delegated".to_string()),
            "\\PC{0,12}",
        ]
        .prop_map(Value::String),
        Just(Value::Integer(0)),
        Just(Value::Integer(10_000_000)),
        Just(Value::Integer(i64::MAX)),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..3)
                .prop_map(|kv| Value::Table(kv.into_iter().collect())),
        ]
    })
}

/// One edit of a parsed document.
#[derive(Debug, Clone)]
enum Edit {
    /// Replace the `n`th leaf (in document order, wrapping) with a value.
    Replace(usize, Value),
    /// Delete the `n`th key.
    Delete(usize),
    /// Add a key with a value to the `n`th table.
    Add(usize, String, Value),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any_value()).prop_map(|(n, v)| Edit::Replace(n, v)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), "[a-z_]{1,10}", any_value()).prop_map(|(n, k, v)| Edit::Add(n, k, v)),
    ]
}

/// Every (table, key) position of `t`, depth first, for the edits to pick from.
fn positions(t: &Table, path: Vec<String>, out: &mut Vec<(Vec<String>, bool)>) {
    out.push((path.clone(), false));
    for (k, v) in t {
        let mut p = path.clone();
        p.push(k.clone());
        match v {
            Value::Table(inner) => positions(inner, p, out),
            _ => out.push((p, true)),
        }
    }
}

fn table_at<'a>(t: &'a mut Table, path: &[String]) -> Option<&'a mut Table> {
    let mut t = t;
    for k in path {
        t = t.get_mut(k)?.as_table_mut()?;
    }
    Some(t)
}

fn apply(doc: &mut Table, e: &Edit) {
    let mut all = Vec::new();
    positions(doc, Vec::new(), &mut all);
    let keys: Vec<&Vec<String>> = all
        .iter()
        .filter(|p| !p.0.is_empty())
        .map(|p| &p.0)
        .collect();
    let tables: Vec<&Vec<String>> = all.iter().filter(|p| !p.1).map(|p| &p.0).collect();
    match e {
        Edit::Replace(n, _) | Edit::Delete(n) if !keys.is_empty() => {
            let path = keys[n % keys.len()].clone();
            let (last, parent) = path.split_last().unwrap();
            if let Some(t) = table_at(doc, parent) {
                match e {
                    Edit::Replace(_, v) => {
                        t.insert(last.clone(), v.clone());
                    }
                    _ => {
                        t.remove(last);
                    }
                }
            }
        }
        Edit::Add(n, k, v) => {
            let path = tables[n % tables.len()].clone();
            if let Some(t) = table_at(doc, &path) {
                t.insert(k.clone(), v.clone());
            }
        }
        _ => {}
    }
}

/// One byte-level mutation of a text.
#[derive(Debug, Clone)]
enum Bytes {
    Flip(usize, u8),
    Cut(usize, usize),
    Insert(usize, String),
    Truncate(usize),
    DuplicateLine(usize),
}

fn bytes_edit() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Bytes::Flip(i, b)),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Bytes::Cut(i, n)),
        (
            any::<usize>(),
            prop_oneof![
                Just("[".to_string()),
                Just("]]".to_string()),
                Just("\"".to_string()),
                Just(" = ".to_string()),
                Just("\n[[ccgs]]\n".to_string()),
                Just("nan".to_string()),
                Just("inf".to_string()),
                Just("\u{0}".to_string()),
                Just("{".to_string()),
                Just(",".to_string()),
                "\\PC{0,8}",
            ]
        )
            .prop_map(|(i, s)| Bytes::Insert(i, s)),
        any::<usize>().prop_map(Bytes::Truncate),
        any::<usize>().prop_map(Bytes::DuplicateLine),
    ]
}

fn mutate_bytes(text: &str, m: &Bytes) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    let len = b.len().max(1);
    match m {
        Bytes::Flip(i, x) => {
            if !b.is_empty() {
                b[i % len] ^= x | 1;
            }
        }
        Bytes::Cut(i, n) => {
            let start = i % len;
            let end = (start + n).min(b.len());
            b.drain(start.min(b.len())..end);
        }
        Bytes::Insert(i, s) => {
            let at = (i % len).min(b.len());
            b.splice(at..at, s.bytes());
        }
        Bytes::Truncate(i) => b.truncate(i % len),
        Bytes::DuplicateLine(i) => {
            let lines: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
            let k = i % lines.len();
            let mut out = Vec::new();
            for (j, l) in lines.iter().enumerate() {
                out.extend_from_slice(l);
                out.push(b'\n');
                if j == k {
                    out.extend_from_slice(l);
                    out.push(b'\n');
                }
            }
            b = out;
        }
    }
    b
}

/// A generated case: which seed file, and how it is changed.
#[derive(Debug, Clone)]
enum Case {
    Structured(usize, Vec<Edit>),
    Bytes(usize, Vec<Bytes>),
    /// The calibration's targets CSV mutated, the calibration file as bundled.
    Targets(Vec<Bytes>),
    /// A document made up from nothing.
    Arbitrary(Table),
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        4 => (0..SEEDS.len(), prop::collection::vec(edit(), 1..4))
            .prop_map(|(s, e)| Case::Structured(s, e)),
        3 => (0..SEEDS.len(), prop::collection::vec(bytes_edit(), 1..4))
            .prop_map(|(s, e)| Case::Bytes(s, e)),
        1 => prop::collection::vec(bytes_edit(), 1..4).prop_map(Case::Targets),
        1 => prop::collection::vec(
            (
                prop_oneof![
                    Just("name".to_string()),
                    Just("months".to_string()),
                    Just("policy".to_string()),
                    Just("model".to_string()),
                    Just("population".to_string()),
                    Just("ccgs".to_string()),
                    Just("design".to_string()),
                    Just("parameters".to_string()),
                    Just("outputs".to_string()),
                    Just("scenario".to_string()),
                    Just("targets".to_string()),
                    "[a-z_]{1,10}",
                ],
                any_value()
            ),
            0..6
        )
        .prop_map(|kv| Case::Arbitrary(kv.into_iter().collect())),
    ]
}

/// A copy of the bundled inputs in a temporary folder, laid out as in the repository, so a
/// mutated sweep or calibration finds its base scenario and targets.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for folder in ["scenarios", "sweeps", "calibration", "tests/data"] {
        std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        for entry in std::fs::read_dir(repo().join(folder)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(
                    entry.path(),
                    dir.path().join(folder).join(entry.file_name()),
                )
                .unwrap();
            }
        }
    }
    dir
}

/// Write the case's file(s) under `root` and return the file to check.
fn materialise(root: &Path, case: &Case) -> PathBuf {
    let read = |(folder, name): (&str, &str)| {
        std::fs::read_to_string(repo().join(folder).join(name)).unwrap()
    };
    // Every case starts from the bundled targets.
    std::fs::copy(
        repo().join("calibration/survey_2015_targets.csv"),
        root.join("calibration/survey_2015_targets.csv"),
    )
    .unwrap();
    match case {
        Case::Structured(s, edits) => {
            let (folder, _) = SEEDS[*s];
            let mut doc: Table = read(SEEDS[*s]).parse().unwrap();
            for e in edits {
                apply(&mut doc, e);
            }
            let path = root.join(folder).join("fuzzed.toml");
            std::fs::write(&path, toml::to_string(&doc).unwrap_or_default()).unwrap();
            path
        }
        Case::Bytes(s, edits) => {
            let (folder, _) = SEEDS[*s];
            let mut text = read(SEEDS[*s]).into_bytes();
            for e in edits {
                text = mutate_bytes(&String::from_utf8_lossy(&text), e);
            }
            let path = root.join(folder).join("fuzzed.toml");
            std::fs::write(&path, text).unwrap();
            path
        }
        Case::Targets(edits) => {
            let mut text = read(("calibration", "survey_2015_targets.csv")).into_bytes();
            for e in edits {
                text = mutate_bytes(&String::from_utf8_lossy(&text), e);
            }
            std::fs::write(root.join("calibration/survey_2015_targets.csv"), text).unwrap();
            root.join("calibration/survey_2015.toml")
        }
        Case::Arbitrary(doc) => {
            let path = root.join("scenarios").join("fuzzed.toml");
            std::fs::write(&path, toml::to_string(doc).unwrap_or_default()).unwrap();
            path
        }
    }
}

/// Check one file in-process, as `ccgsim check` would: accepted (`true`), or refused with exit
/// code 2 and a message that names no internal type (`false`); anything else is a failure.
fn verdict(path: &Path) -> Result<bool, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        ccgsim::check::check_file(path, 2, None)
    }));
    match outcome {
        Err(_) => Err("panicked".into()),
        Ok(Ok(_)) => Ok(true),
        Ok(Err(e)) => {
            let message = format!("{e:#}");
            if std::env::var_os("CCGSIM_FUZZ_SHOW").is_some() {
                eprintln!("refused: {message}");
            }
            let code = ccgsim::cli::exit_code(&e);
            if code != 2 {
                return Err(format!("exit code {code} for: {message}"));
            }
            if let Some(word) = INTERNAL.iter().find(|w| message.contains(*w)) {
                return Err(format!(
                    "the message names an internal type ({word:?}): {message}"
                ));
            }
            Ok(false)
        }
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn no_input_panics_or_exits_other_than_0_or_2() {
    let seconds = env_number("CCGSIM_FUZZ_SECONDS", 10);
    let max_cases = env_number("CCGSIM_FUZZ_CASES", u64::MAX);
    let seed = env_number("CCGSIM_FUZZ_SEED", 1);
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &key),
    );
    let root = workspace();
    let strategy = case();
    // A panic inside check is caught and reported as a failure; keep its default message quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut cases, mut refused, mut slowest) = (0u64, 0u64, Duration::ZERO);
    let mut failures = Vec::new();
    while Instant::now() < deadline && cases < max_cases {
        let case = strategy.new_tree(&mut runner).unwrap().current();
        let path = materialise(root.path(), &case);
        let started = Instant::now();
        let result = verdict(&path);
        slowest = slowest.max(started.elapsed());
        cases += 1;
        match result {
            Ok(accepted) => refused += u64::from(!accepted),
            Err(why) => {
                let text =
                    String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
                failures.push(format!("{why}\n--- case {case:?}\n--- file\n{text}"));
                if failures.len() >= 3 {
                    break;
                }
            }
        }
    }
    let _ = std::panic::take_hook();
    eprintln!(
        "fuzz (seed {seed}): {cases} cases in {seconds} s at most, {refused} refused with exit code 2, slowest {:.2} s",
        slowest.as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(cases >= 20, "only {cases} cases ran");
}
