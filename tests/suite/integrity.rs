//! Integrity of everything ccgsim reads back: run, compare, sweep, shard and calibration folders
//! carry the size, rows and SHA-256 of their files in a sealed manifest, and every reader
//! (`compare`, `report`, `merge`, `sensitivity`, `sweep --resume`) refuses a damaged or edited
//! file with exit code 2, a message naming the file, and nothing written. Folders without
//! checksums (an earlier ccgsim) are refused unless `--accept-unverified`, and then still checked
//! row by row.
//!
//! Each kind of damage is applied to a fresh copy of a good folder, in loops over files and
//! damages; the folders are small (a tiny scenario, a Sobol' sweep of the Ishigami function, a
//! small calibration of a toy model), so every case runs the real binary.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

fn ccgsim() -> Command {
    Command::cargo_bin("ccgsim").expect("the ccgsim binary is built for integration tests")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Run ccgsim with `args` and require success.
fn ok(args: &[&dyn AsRef<std::ffi::OsStr>]) {
    let out = ccgsim().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ccgsim {:?} failed: {}",
        args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copy the files of folder `from` (not recursively) into a new folder `to`.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Ways of damaging a file.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Damage {
    /// The last 7 bytes are gone (the file ends mid-line).
    Truncate,
    /// A data row is gone (the second, or the only one).
    DeleteRow,
    /// One digit in the middle of the file is another digit: still a well-formed file.
    FlipByte,
    /// The first numeric field of the first data row is "abc".
    TextValue,
}

const DAMAGES: [Damage; 4] = [
    Damage::Truncate,
    Damage::DeleteRow,
    Damage::FlipByte,
    Damage::TextValue,
];

impl Damage {
    /// What the refusal of a verified folder says.
    fn message(self) -> &'static str {
        match self {
            Damage::Truncate => "is cut short",
            Damage::DeleteRow => "where the manifest records",
            Damage::FlipByte | Damage::TextValue => "the file was edited or damaged",
        }
    }

    fn apply(self, path: &Path) {
        let mut bytes = fs::read(path).unwrap();
        match self {
            Damage::Truncate => bytes.truncate(bytes.len() - 7),
            Damage::DeleteRow => {
                let text = String::from_utf8(bytes).unwrap();
                let mut lines: Vec<&str> = text.lines().collect();
                assert!(lines.len() >= 2, "{} has no data row", path.display());
                lines.remove(if lines.len() > 2 { 2 } else { 1 });
                bytes = lines
                    .iter()
                    .flat_map(|l| format!("{l}\n").into_bytes())
                    .collect();
            }
            Damage::FlipByte => {
                let at = (bytes.len() / 2..bytes.len())
                    .chain(0..bytes.len() / 2)
                    .find(|&i| bytes[i].is_ascii_digit())
                    .expect("a digit to flip");
                bytes[at] = b'0' + (bytes[at] - b'0' + 1) % 10;
            }
            Damage::TextValue => {
                let text = String::from_utf8(bytes).unwrap();
                let mut lines: Vec<String> = text.lines().map(String::from).collect();
                let mut cells: Vec<String> = lines[1].split(',').map(String::from).collect();
                let i = cells
                    .iter()
                    .position(|c| c.parse::<f64>().is_ok())
                    .expect("a number to replace");
                cells[i] = "abc".into();
                lines[1] = cells.join(",");
                bytes = lines
                    .iter()
                    .flat_map(|l| format!("{l}\n").into_bytes())
                    .collect();
            }
        }
        fs::write(path, bytes).unwrap();
    }
}

/// Set the cell of `column` in data row `row` (0-based) of the CSV file `path` to `value`.
fn set_cell(path: &Path, row: usize, column: &str, value: &str) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let i = lines[0]
        .split(',')
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("{} has no column {column}", path.display()));
    let mut cells: Vec<String> = lines[row + 1].split(',').map(String::from).collect();
    cells[i] = value.to_string();
    lines[row + 1] = cells.join(",");
    fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Apply a line edit to the CSV file `path`.
fn edit_lines(path: &Path, edit: impl FnOnce(&mut Vec<String>)) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    edit(&mut lines);
    fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Edit a whole-number field of a manifest: `"key": N` becomes `"key": N + 1`.
fn bump(manifest: &Path, key: &str) {
    let text = fs::read_to_string(manifest).unwrap();
    let pat = format!("\"{key}\": ");
    let at = text
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {text}"))
        + pat.len();
    let end = at + text[at..].find(|c: char| !c.is_ascii_digit()).unwrap();
    let n: u64 = text[at..end].parse().unwrap();
    fs::write(
        manifest,
        format!("{}{}{}", &text[..at], n + 1, &text[end..]),
    )
    .unwrap();
}

/// Make the folder look as if an earlier ccgsim wrote it: no checksums in its manifest.
fn strip_checksums(dir: &Path) {
    let path = dir.join("manifest.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let map = json.as_object_mut().unwrap();
    assert!(
        map.remove("checksums").is_some(),
        "{} had checksums",
        path.display()
    );
    assert!(map.remove("manifest_sha256").is_some());
    fs::write(&path, serde_json::to_string_pretty(&json).unwrap() + "\n").unwrap();
}

/// Run `cmd` and require exit code 2, a message containing each of `says`, no panic and no
/// `not_written` afterwards. Returns the message.
fn refused(mut cmd: Command, says: &[&str], not_written: &Path, case: &str) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{case}: exit code; stderr: {stderr}"
    );
    for s in says {
        assert!(
            stderr.contains(s),
            "{case}: the message should contain {s:?}: {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{case}: {stderr}");
    assert!(
        !not_written.exists(),
        "{case}: {} was written",
        not_written.display()
    );
    stderr
}

/// The number of cases each test checked, printed so that `--nocapture` shows them.
fn cases(test: &str, n: usize) {
    eprintln!("{test}: {n} cases");
}

/// An edit of a file.
type Edit = Box<dyn Fn(&Path)>;

/// A folder, the files the report reads from it, a count in its manifest, and a (file, column)
/// of numbers that the report reads.
type Kind<'a> = (&'a Path, &'a [&'a str], &'a str, (&'a str, &'a str));

/// A folder, a file of it, an edit of that file and what the refusal says.
type RowCase<'a> = (&'a Path, &'a str, fn(&Path), &'a str);

// ---- Fixtures ----

const TINY_B: &str = "tiny_b";

/// Two paired runs of the tiny scenario (the second with another training rate) under `root`.
fn runs(root: &Path) -> (PathBuf, PathBuf) {
    let text = fs::read_to_string(repo("tests/data/tiny.toml")).unwrap();
    let b = text
        .replace("name = \"tiny\"", &format!("name = \"{TINY_B}\""))
        .replace("training = { rate = 0.3 }", "training = { rate = 0.1 }");
    assert_ne!(text, b);
    let b_path = root.join("tiny_b.toml");
    fs::write(&b_path, b).unwrap();
    let out = root.join("runs");
    ok(&[
        &"run",
        &repo("tests/data/tiny.toml"),
        &b_path,
        &"-o",
        &out,
        &"-q",
    ]);
    (out.join("tiny"), out.join(TINY_B))
}

const SWEEP: &str = r#"name = "ish"
model = "ishigami"
seed = 3
replicates = 2

[design]
kind = "sobol"
n = 16

[[parameters]]
path = "x1"
range = [-3, 3]

[[parameters]]
path = "x2"
range = [-3, 3]

[[outputs]]
metric = "y"
"#;

/// The sweep file under `root`.
fn sweep_file(root: &Path) -> PathBuf {
    let path = root.join("ish.toml");
    fs::write(&path, SWEEP).unwrap();
    path
}

/// A whole Sobol' sweep folder.
fn sweep(root: &Path, name: &str) -> PathBuf {
    let out = root.join(name);
    ok(&[&"sweep", &sweep_file(root), &"-o", &out, &"-q"]);
    out
}

/// Both shards of the sweep.
fn shards(root: &Path) -> [PathBuf; 2] {
    let file = sweep_file(root);
    [1, 2].map(|k| {
        let out = root.join(format!("shard{k}"));
        ok(&[
            &"sweep",
            &file,
            &"-o",
            &out,
            &"--shard",
            &format!("{k}/2"),
            &"-q",
        ]);
        out
    })
}

/// A small calibration folder of the toy model.
fn calibration(root: &Path) -> PathBuf {
    fs::write(
        root.join("targets.csv"),
        "id,value,se,source\nobserved_mean,1.3,0.1,synthetic\n",
    )
    .unwrap();
    let file = root.join("toy.toml");
    fs::write(
        &file,
        "model = \"normal_mean\"\ntargets = \"targets.csv\"\nseed = 5\nreplicates = 1\n\n\
         [abc]\nparticles = 40\ngenerations = 2\n\n[[parameters]]\npath = \"mu\"\nprior = [-5, 5]\n\n\
         [[match]]\ntarget = \"observed_mean\"\nmetric = \"y\"\n",
    )
    .unwrap();
    let out = root.join("calibration");
    ok(&[&"calibrate", &file, &"-o", &out, &"-q"]);
    out
}

// ---- Writers ----

#[test]
fn every_folder_records_its_files_and_vouches_for_itself() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = runs(root.path());
    let cmp = root.path().join("cmp");
    ok(&[&"compare", &a, &b, &"-o", &cmp, &"-q"]);
    let folders = [
        (
            a.clone(),
            vec!["timeseries.csv", "replicates.csv", "by_ccg.csv"],
        ),
        (cmp, vec!["effects.csv"]),
        (
            sweep(root.path(), "whole"),
            vec!["points.csv", "results.csv", "summary.csv"],
        ),
        (
            calibration(root.path()),
            vec![
                "posterior.csv",
                "generations.csv",
                "targets.csv",
                "ppc.csv",
                "calibrated.toml",
            ],
        ),
    ];
    for (dir, files) in folders {
        let text = fs::read_to_string(dir.join("manifest.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let records = json["checksums"].as_array().expect("checksums");
        let names: Vec<&str> = records
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        for f in &files {
            assert!(names.contains(f), "{}: {f} is not recorded", dir.display());
        }
        for r in records {
            let bytes = fs::read(dir.join(r["name"].as_str().unwrap())).unwrap();
            assert_eq!(r["bytes"].as_u64(), Some(bytes.len() as u64));
            let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            let header = u64::from(r["name"].as_str().unwrap().ends_with(".csv"));
            assert_eq!(r["rows"].as_u64(), Some(lines - header), "{r}");
            assert_eq!(r["sha256"].as_str().unwrap().len(), 64);
        }
        let seal = json["manifest_sha256"].as_str().unwrap();
        assert_eq!(seal.len(), 64);
        assert!(text.ends_with("}\n"));
    }
}

#[test]
fn sweep_manifests_are_the_same_bytes_however_the_sweep_was_run() {
    let root = tempfile::tempdir().unwrap();
    let file = sweep_file(root.path());
    let one = root.path().join("one");
    ok(&[&"sweep", &file, &"-o", &one, &"-q", &"-t", &"1"]);
    let two = root.path().join("two");
    ok(&[&"sweep", &file, &"-o", &two, &"-q", &"-t", &"2"]);
    let resumed = root.path().join("resumed");
    for stop in ["7", "30"] {
        let out = ccgsim()
            .args(["sweep", "-q"])
            .arg(&file)
            .arg("-o")
            .arg(&resumed)
            .arg("--resume")
            .env("CCGSIM_TEST_STOP_AFTER_POINTS", stop)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(130));
    }
    ok(&[&"sweep", &file, &"-o", &resumed, &"-q", &"--resume"]);
    let [s1, s2] = shards(root.path());
    let merged = root.path().join("merged");
    ok(&[&"merge", &s2, &s1, &"-o", &merged]);
    let want = fs::read(one.join("manifest.json")).unwrap();
    for dir in [&two, &resumed, &merged] {
        for f in ["points.csv", "results.csv", "summary.csv", "manifest.json"] {
            assert_eq!(
                fs::read(dir.join(f)).unwrap(),
                fs::read(one.join(f)).unwrap(),
                "{} differs",
                dir.join(f).display()
            );
        }
    }
    assert!(String::from_utf8(want).unwrap().contains("\"checksums\""));
}

// ---- compare ----

#[test]
fn compare_refuses_damaged_or_edited_run_folders() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = runs(root.path());
    let out = root.path().join("cmp");
    let compare = |reference: &Path, other: &Path| {
        let mut c = ccgsim();
        c.arg("compare")
            .arg(reference)
            .arg(other)
            .arg("-o")
            .arg(&out)
            .arg("-q");
        c
    };
    let mut n = 0;
    for (k, damage) in DAMAGES.into_iter().enumerate() {
        // Damage the reference and the other in turn.
        let case = root.path().join(format!("case{k}"));
        copy_dir(if k % 2 == 0 { &a } else { &b }, &case);
        damage.apply(&case.join("replicates.csv"));
        let (r, o) = if k % 2 == 0 { (&case, &b) } else { (&a, &case) };
        refused(
            compare(r, o),
            &[
                &case.join("replicates.csv").display().to_string(),
                damage.message(),
            ],
            &out,
            &format!("replicates.csv {damage:?}"),
        );
        n += 1;
    }
    for key in ["replicates", "seed", "ccgs", "months"] {
        let case = root.path().join(format!("edit-{key}"));
        copy_dir(&b, &case);
        bump(&case.join("manifest.json"), key);
        refused(
            compare(&a, &case),
            &[
                &case.join("manifest.json").display().to_string(),
                "does not match its own checksum",
            ],
            &out,
            &format!("manifest {key} edited"),
        );
        n += 1;
    }
    // A folder from an earlier version: refused, then read with --accept-unverified.
    let old = root.path().join("old");
    copy_dir(&b, &old);
    strip_checksums(&old);
    refused(
        compare(&a, &old),
        &[
            &old.display().to_string(),
            "earlier ccgsim without checksums",
            "--accept-unverified",
        ],
        &out,
        "old folder",
    );
    let mut accept = compare(&a, &old);
    accept.arg("--accept-unverified").assert().success();
    assert!(out.join("effects.csv").exists());
    fs::remove_dir_all(&out).unwrap();
    n += 2;
    // Unverified, but still checked row by row.
    let old_cases: [(&str, Edit, &str); 4] = [
        (
            "text value",
            Box::new(|p| set_cell(p, 3, "value", "abc")),
            "line 5",
        ),
        (
            "deleted row",
            Box::new(|p| edit_lines(p, |l| drop(l.remove(4)))),
            "missing",
        ),
        (
            "duplicate row",
            Box::new(|p| edit_lines(p, |l| l[4] = l[3].clone())),
            "appears twice",
        ),
        (
            "extra column",
            Box::new(|p| edit_lines(p, |l| l[2].push_str(",1"))),
            "line 3",
        ),
    ];
    for (what, edit, says) in old_cases {
        let case = root.path().join(format!("old-{}", what.replace(' ', "-")));
        copy_dir(&old, &case);
        edit(&case.join("replicates.csv"));
        let mut c = compare(&a, &case);
        c.arg("--accept-unverified");
        refused(
            c,
            &["replicates.csv", says],
            &out,
            &format!("unverified {what}"),
        );
        n += 1;
    }
    cases("compare", n);
}

// ---- report ----

#[test]
fn report_refuses_damaged_or_edited_folders_of_every_kind() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = runs(root.path());
    let cmp = root.path().join("cmp");
    ok(&[&"compare", &a, &b, &"-o", &cmp, &"-q"]);
    let sweep_dir = sweep(root.path(), "whole");
    let cal = calibration(root.path());
    // (folder, files the report reads, a manifest count, a numeric column read from a file)
    let kinds: [Kind; 4] = [
        (
            &a,
            &["timeseries.csv", "by_ccg.csv"],
            "replicates",
            ("timeseries.csv", "mean"),
        ),
        (
            &cmp,
            &["effects.csv"],
            "months",
            ("effects.csv", "difference"),
        ),
        (
            &sweep_dir,
            &["points.csv", "summary.csv"],
            "replicates",
            ("summary.csv", "mean"),
        ),
        (
            &cal,
            &["posterior.csv", "generations.csv", "targets.csv", "ppc.csv"],
            "seed",
            ("posterior.csv", "weight"),
        ),
    ];
    let report = root.path().join("report.html");
    let run_report = |dir: &Path, extra: &[&str]| {
        let mut c = ccgsim();
        c.arg("report").arg(dir).arg("-o").arg(&report).args(extra);
        c
    };
    let mut n = 0;
    for (k, (dir, files, count, (numeric_file, column))) in kinds.into_iter().enumerate() {
        // The good folder is read.
        run_report(dir, &[]).assert().success();
        fs::remove_file(&report).unwrap();
        fs::remove_dir_all(root.path().join("report_files")).unwrap();
        for file in files {
            for damage in DAMAGES {
                let case = root.path().join(format!("k{k}-{file}-{damage:?}"));
                copy_dir(dir, &case);
                damage.apply(&case.join(file));
                refused(
                    run_report(&case, &[]),
                    &[&case.join(file).display().to_string(), damage.message()],
                    &report,
                    &format!("{}: {file} {damage:?}", dir.display()),
                );
                n += 1;
            }
        }
        let case = root.path().join(format!("k{k}-manifest"));
        copy_dir(dir, &case);
        bump(&case.join("manifest.json"), count);
        refused(
            run_report(&case, &[]),
            &["manifest.json", "does not match its own checksum"],
            &report,
            &format!("{}: manifest {count} edited", dir.display()),
        );
        n += 1;
        let old = root.path().join(format!("k{k}-old"));
        copy_dir(dir, &old);
        strip_checksums(&old);
        refused(
            run_report(&old, &[]),
            &[
                &old.display().to_string(),
                "earlier ccgsim without checksums",
            ],
            &report,
            &format!("{}: old folder", dir.display()),
        );
        run_report(&old, &["--accept-unverified"])
            .assert()
            .success();
        fs::remove_file(&report).unwrap();
        fs::remove_dir_all(root.path().join("report_files")).unwrap();
        n += 2;
        // Unverified folders are still parsed strictly.
        set_cell(&old.join(numeric_file), 0, column, "abc");
        refused(
            run_report(&old, &["--accept-unverified"]),
            &[
                &format!("{}' line 2", old.join(numeric_file).display()),
                "\"abc\"",
            ],
            &report,
            &format!("{}: unverified text value", dir.display()),
        );
        n += 1;
    }
    // Rows deleted or repeated in unverified folders.
    let delete: fn(&Path) = |p| edit_lines(p, |l| drop(l.remove(2)));
    let repeat: fn(&Path) = |p| edit_lines(p, |l| l.insert(2, l[1].clone()));
    let unverified: [RowCase; 7] = [
        (&a, "timeseries.csv", delete, "has no row for tick"),
        (&a, "timeseries.csv", repeat, "appears twice"),
        (&cmp, "effects.csv", repeat, "appears twice"),
        (&sweep_dir, "summary.csv", delete, "has no row for point"),
        (&sweep_dir, "summary.csv", repeat, "appears twice"),
        (
            &cal,
            "ppc.csv",
            |p| edit_lines(p, |l| l.push(l[1].clone())),
            "appears twice",
        ),
        (
            &cal,
            "targets.csv",
            |p| edit_lines(p, |l| l.push(l[1].clone())),
            "appears twice",
        ),
    ];
    for (k, (dir, file, edit, says)) in unverified.into_iter().enumerate() {
        let case = root.path().join(format!("unverified{k}"));
        copy_dir(dir, &case);
        strip_checksums(&case);
        edit(&case.join(file));
        refused(
            run_report(&case, &["--accept-unverified"]),
            &[&case.join(file).display().to_string(), says],
            &report,
            &format!("unverified {file} case {k}"),
        );
        n += 1;
    }
    cases("report", n);
}

#[test]
fn sensitivity_adds_its_record_and_the_report_verifies_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = sweep(root.path(), "whole");
    let before = fs::read_to_string(dir.join("manifest.json")).unwrap();
    ok(&[&"sensitivity", &dir, &"-q", &"--bootstrap", &"20"]);
    let after = fs::read_to_string(dir.join("manifest.json")).unwrap();
    // The manifest is the sweep's, byte for byte, up to its records, which now include
    // sensitivity.csv.
    let head = &before[..before.find("\n  \"checksums\"").unwrap()];
    assert!(after.starts_with(head), "{after}");
    let json: serde_json::Value = serde_json::from_str(&after).unwrap();
    let records = json["checksums"].as_array().unwrap();
    let rec = records
        .iter()
        .find(|r| r["name"] == "sensitivity.csv")
        .expect("a record of sensitivity.csv");
    let bytes = fs::read(dir.join("sensitivity.csv")).unwrap();
    assert_eq!(rec["bytes"].as_u64(), Some(bytes.len() as u64));
    assert_eq!(records.len(), 4);
    // Running it again with --force replaces the record rather than adding one.
    ok(&[
        &"sensitivity",
        &dir,
        &"-q",
        &"--bootstrap",
        &"20",
        &"--force",
    ]);
    assert_eq!(
        fs::read_to_string(dir.join("manifest.json")).unwrap(),
        after
    );
    let report = root.path().join("report.html");
    let run_report = |d: &Path| {
        let mut c = ccgsim();
        c.arg("report").arg(d).arg("-o").arg(&report);
        c
    };
    run_report(&dir).assert().success();
    fs::remove_file(&report).unwrap();
    fs::remove_dir_all(root.path().join("report_files")).unwrap();
    let mut n = 0;
    for damage in DAMAGES {
        let case = root.path().join(format!("{damage:?}"));
        copy_dir(&dir, &case);
        damage.apply(&case.join("sensitivity.csv"));
        refused(
            run_report(&case),
            &[
                &case.join("sensitivity.csv").display().to_string(),
                damage.message(),
            ],
            &report,
            &format!("sensitivity.csv {damage:?}"),
        );
        n += 1;
    }
    // A sensitivity.csv that the manifest does not record (put there by hand) is refused.
    let plain = sweep(root.path(), "plain");
    fs::copy(dir.join("sensitivity.csv"), plain.join("sensitivity.csv")).unwrap();
    refused(
        run_report(&plain),
        &[
            &plain.join("sensitivity.csv").display().to_string(),
            "not recorded",
        ],
        &report,
        "unrecorded sensitivity.csv",
    );
    // ... and so is one that the manifest records but that is gone.
    let gone = root.path().join("gone");
    copy_dir(&dir, &gone);
    fs::remove_file(gone.join("sensitivity.csv")).unwrap();
    refused(
        run_report(&gone),
        &[
            &gone.join("sensitivity.csv").display().to_string(),
            "is missing",
        ],
        &report,
        "missing sensitivity.csv",
    );
    n += 2;
    cases("sensitivity.csv in report", n);
}

// ---- merge ----

#[test]
fn merge_refuses_damaged_or_edited_shards() {
    let root = tempfile::tempdir().unwrap();
    let shards = shards(root.path());
    let out = root.path().join("merged");
    let merge = |a: &Path, b: &Path, extra: &[&str]| {
        let mut c = ccgsim();
        c.arg("merge").arg(a).arg(b).arg("-o").arg(&out).args(extra);
        c
    };
    let mut n = 0;
    for (k, file) in ["points.csv", "results.csv", "summary.csv"]
        .iter()
        .enumerate()
    {
        for damage in DAMAGES {
            let which = (k + n) % 2;
            let case = root.path().join(format!("{file}-{damage:?}"));
            copy_dir(&shards[which], &case);
            damage.apply(&case.join(file));
            let other = &shards[1 - which];
            refused(
                merge(&case, other, &[]),
                &[&case.join(file).display().to_string(), damage.message()],
                &out,
                &format!("shard {} {file} {damage:?}", which + 1),
            );
            n += 1;
        }
    }
    for key in ["shard_points", "seed", "replicates", "points"] {
        let case = root.path().join(format!("edit-{key}"));
        copy_dir(&shards[0], &case);
        bump(&case.join("manifest.json"), key);
        refused(
            merge(&case, &shards[1], &[]),
            &[
                &case.join("manifest.json").display().to_string(),
                "does not match its own checksum",
            ],
            &out,
            &format!("manifest {key} edited"),
        );
        n += 1;
    }
    let old = root.path().join("old");
    copy_dir(&shards[0], &old);
    strip_checksums(&old);
    refused(
        merge(&old, &shards[1], &[]),
        &[
            &old.display().to_string(),
            "earlier ccgsim without checksums",
        ],
        &out,
        "old shard",
    );
    merge(&old, &shards[1], &["--accept-unverified"])
        .assert()
        .success();
    let whole = sweep(root.path(), "whole");
    for f in ["points.csv", "results.csv", "summary.csv"] {
        assert_eq!(
            fs::read(out.join(f)).unwrap(),
            fs::read(whole.join(f)).unwrap()
        );
    }
    fs::remove_dir_all(&out).unwrap();
    n += 2;
    let old_cases: Vec<(&str, &str, Edit, &str)> = vec![
        (
            "results.csv",
            "text value",
            Box::new(|p| set_cell(p, 2, "y", "abc")),
            "line 4",
        ),
        (
            "results.csv",
            "NaN value",
            Box::new(|p| set_cell(p, 2, "y", "NaN")),
            "line 4",
        ),
        (
            "results.csv",
            "deleted row",
            Box::new(|p| edit_lines(p, |l| drop(l.remove(3)))),
            "line 4",
        ),
        (
            "results.csv",
            "last row deleted",
            Box::new(|p| edit_lines(p, |l| drop(l.pop()))),
            "rows are missing",
        ),
        (
            "results.csv",
            "duplicate row",
            Box::new(|p| edit_lines(p, |l| l.insert(2, l[1].clone()))),
            "line 3",
        ),
        (
            "results.csv",
            "extra column",
            Box::new(|p| edit_lines(p, |l| l[2].push_str(",1"))),
            "line 3",
        ),
        (
            "summary.csv",
            "text n",
            Box::new(|p| set_cell(p, 0, "n", "two")),
            "column `n`",
        ),
        (
            "summary.csv",
            "text mean",
            Box::new(|p| set_cell(p, 1, "mean", "abc")),
            "line 3",
        ),
        (
            "summary.csv",
            "deleted row",
            Box::new(|p| edit_lines(p, |l| drop(l.remove(2)))),
            "line 3",
        ),
        (
            "points.csv",
            "renamed column",
            Box::new(|p| edit_lines(p, |l| l[0] = "point,x1,x3".into())),
            "line 1",
        ),
        (
            "points.csv",
            "deleted row",
            Box::new(|p| edit_lines(p, |l| drop(l.remove(1)))),
            "line 2",
        ),
        (
            "points.csv",
            "extra row",
            Box::new(|p| edit_lines(p, |l| l.push(l[1].clone()))),
            "beyond the shard's points",
        ),
        (
            "results.csv",
            "file removed",
            Box::new(|p| fs::remove_file(p).unwrap()),
            "could not be read",
        ),
        (
            "summary.csv",
            "emptied",
            Box::new(|p| fs::write(p, "").unwrap()),
            "line 1",
        ),
    ];
    for (file, what, edit, says) in old_cases {
        let case = root
            .path()
            .join(format!("old-{file}-{}", what.replace(' ', "-")));
        copy_dir(&old, &case);
        edit(&case.join(file));
        refused(
            merge(&case, &shards[1], &["--accept-unverified"]),
            &[&case.join(file).display().to_string(), says],
            &out,
            &format!("unverified {file} {what}"),
        );
        n += 1;
    }
    cases("merge", n);
}

// ---- sensitivity ----

#[test]
fn sensitivity_refuses_damaged_sweeps_undefined_values_and_overwriting() {
    let root = tempfile::tempdir().unwrap();
    let good = sweep(root.path(), "whole");
    let sensitivity = |dir: &Path, extra: &[&str]| {
        let mut c = ccgsim();
        c.args(["sensitivity", "-q", "--bootstrap", "20"])
            .arg(dir)
            .args(extra);
        c
    };
    let mut n = 0;
    for damage in DAMAGES {
        let case = root.path().join(format!("{damage:?}"));
        copy_dir(&good, &case);
        damage.apply(&case.join("summary.csv"));
        refused(
            sensitivity(&case, &[]),
            &[
                &case.join("summary.csv").display().to_string(),
                damage.message(),
            ],
            &case.join("sensitivity.csv"),
            &format!("summary.csv {damage:?}"),
        );
        n += 1;
    }
    for key in ["seed", "points", "n"] {
        let case = root.path().join(format!("edit-{key}"));
        copy_dir(&good, &case);
        bump(&case.join("manifest.json"), key);
        refused(
            sensitivity(&case, &[]),
            &["manifest.json", "does not match its own checksum"],
            &case.join("sensitivity.csv"),
            &format!("manifest {key} edited"),
        );
        n += 1;
    }
    // Not overwritten without --force.
    sensitivity(&good, &[]).assert().success();
    let before = fs::read(good.join("sensitivity.csv")).unwrap();
    fs::write(good.join("sensitivity.csv"), "kept\n").unwrap();
    let out = sensitivity(&good, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sensitivity.csv") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(good.join("sensitivity.csv")).unwrap(),
        "kept\n"
    );
    sensitivity(&good, &["--force"]).assert().success();
    assert_eq!(fs::read(good.join("sensitivity.csv")).unwrap(), before);
    fs::remove_file(good.join("sensitivity.csv")).unwrap();
    n += 2;
    let old = root.path().join("old");
    copy_dir(&good, &old);
    strip_checksums(&old);
    refused(
        sensitivity(&old, &[]),
        &[
            &old.display().to_string(),
            "earlier ccgsim without checksums",
        ],
        &old.join("sensitivity.csv"),
        "old folder",
    );
    sensitivity(&old, &["--accept-unverified"])
        .assert()
        .success();
    assert_eq!(fs::read(old.join("sensitivity.csv")).unwrap(), before);
    fs::remove_file(old.join("sensitivity.csv")).unwrap();
    n += 2;
    let old_cases: Vec<(&str, Edit, &str)> = vec![
        (
            "NA mean",
            Box::new(|p| set_cell(p, 4, "mean", "NA")),
            "line 6: column `mean`",
        ),
        (
            "NaN mean",
            Box::new(|p| set_cell(p, 4, "mean", "NaN")),
            "line 6: column `mean`",
        ),
        (
            "inf mean",
            Box::new(|p| set_cell(p, 4, "mean", "inf")),
            "line 6: column `mean`",
        ),
        (
            "-inf mean",
            Box::new(|p| set_cell(p, 4, "mean", "-inf")),
            "line 6: column `mean`",
        ),
        (
            "text mean",
            Box::new(|p| set_cell(p, 4, "mean", "abc")),
            "line 6: column `mean`",
        ),
        (
            "text point",
            Box::new(|p| set_cell(p, 4, "point", "p4")),
            "line 6: column `point`",
        ),
        (
            "unknown output",
            Box::new(|p| set_cell(p, 4, "metric", "z")),
            "line 6: column `metric`",
        ),
        (
            "deleted row",
            Box::new(|p| edit_lines(p, |l| drop(l.remove(5)))),
            "has no row for point 4",
        ),
        (
            "duplicate row",
            Box::new(|p| edit_lines(p, |l| l[5] = l[4].clone())),
            "line 6: point 3, y appears twice",
        ),
        (
            "extra column",
            Box::new(|p| edit_lines(p, |l| l[5].push_str(",1"))),
            "line 6",
        ),
        (
            "file removed",
            Box::new(|p| fs::remove_file(p).unwrap()),
            "could not be read",
        ),
        (
            "emptied",
            Box::new(|p| fs::write(p, "").unwrap()),
            "too small",
        ),
        (
            "header only",
            Box::new(|p| edit_lines(p, |l| l.truncate(1))),
            "too small",
        ),
    ];
    for (what, edit, says) in old_cases {
        let case = root.path().join(format!("old-{}", what.replace(' ', "-")));
        copy_dir(&old, &case);
        edit(&case.join("summary.csv"));
        refused(
            sensitivity(&case, &["--accept-unverified"]),
            &[&case.join("summary.csv").display().to_string(), says],
            &case.join("sensitivity.csv"),
            &format!("unverified {what}"),
        );
        n += 1;
    }
    cases("sensitivity", n);
}

// ---- sweep --resume ----

#[test]
fn resume_refuses_damaged_journals_and_state() {
    let root = tempfile::tempdir().unwrap();
    let file = sweep_file(root.path());
    let whole = sweep(root.path(), "whole");
    let stopped = root.path().join("stopped");
    let out = ccgsim()
        .args(["sweep", "-q"])
        .arg(&file)
        .arg("-o")
        .arg(&stopped)
        .env("CCGSIM_TEST_STOP_AFTER_POINTS", "24")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(130));
    let resume = |dir: &Path| {
        let mut c = ccgsim();
        c.args(["sweep", "-q", "--resume"])
            .arg(&file)
            .arg("-o")
            .arg(dir);
        c
    };
    const RESULTS: &str = ".results.journal";
    const SUMMARY: &str = ".summary.journal";
    const STATE: &str = ".sweep-state.json";
    let flip = |p: &Path| Damage::FlipByte.apply(p);
    let cut = |p: &Path| {
        let len = fs::metadata(p).unwrap().len();
        fs::OpenOptions::new()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(len - 5)
            .unwrap();
    };
    let delete_row = |p: &Path| {
        let text = fs::read_to_string(p).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.remove(3);
        fs::write(
            p,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .unwrap();
    };
    let replace = |from: &'static str, to: &'static str| {
        move |p: &Path| {
            let text = fs::read_to_string(p).unwrap();
            assert!(text.contains(from), "{from} in {text}");
            fs::write(p, text.replacen(from, to, 1)).unwrap();
        }
    };
    let cases_: Vec<(&str, Edit, &str)> = vec![
        (
            RESULTS,
            Box::new(flip),
            "does not match its checksum in the state file",
        ),
        (
            SUMMARY,
            Box::new(flip),
            "does not match its checksum in the state file",
        ),
        (RESULTS, Box::new(cut), "is shorter"),
        (SUMMARY, Box::new(cut), "is shorter"),
        (RESULTS, Box::new(delete_row), RESULTS),
        (SUMMARY, Box::new(delete_row), SUMMARY),
        (RESULTS, Box::new(|p| Damage::TextValue.apply(p)), RESULTS),
        (
            STATE,
            Box::new(replace("\"points_done\":24", "\"points_done\":16")),
            "does not match its own checksum",
        ),
        (
            STATE,
            Box::new(replace("\"points_done\":24", "\"points_done\":25")),
            "does not match its own checksum",
        ),
        (
            STATE,
            Box::new(replace("\"results_bytes\":", "\"results_bytes\":1")),
            "does not match its own checksum",
        ),
        (
            STATE,
            Box::new(replace("\"summary_bytes\":", "\"summary_bytes\":1")),
            "does not match its own checksum",
        ),
        (
            STATE,
            Box::new(replace(
                "\"shard\":null",
                "\"shard\":{\"index\":1,\"count\":1}",
            )),
            "does not match its own checksum",
        ),
        (STATE, Box::new(flip), STATE),
        (
            STATE,
            Box::new(replace("\"state_sha256\":\"", "\"state_sha256\":\"0")),
            STATE,
        ),
        (STATE, Box::new(cut), STATE),
        (
            RESULTS,
            Box::new(|p| fs::remove_file(p).unwrap()),
            "is missing",
        ),
        (
            SUMMARY,
            Box::new(|p| fs::remove_file(p).unwrap()),
            "is missing",
        ),
    ];
    let mut n = 0;
    for (k, (name, edit, says)) in cases_.into_iter().enumerate() {
        let case = root.path().join(format!("case{k}"));
        copy_dir(&stopped, &case);
        edit(&case.join(name));
        let msg = refused(
            resume(&case),
            &[&case.display().to_string(), says, "--force"],
            &case.join("results.csv"),
            &format!("{name} case {k}"),
        );
        assert!(
            msg.contains(name),
            "case {k}: the message names {name}: {msg}"
        );
        // Nothing was changed: the same refusal again.
        refused(resume(&case), &[says], &case.join("results.csv"), "again");
        n += 1;
    }
    // Rows past what the state vouches for (a chunk that was not finished) are dropped.
    let torn = root.path().join("torn");
    copy_dir(&stopped, &torn);
    let mut j = fs::read(torn.join(RESULTS)).unwrap();
    j.extend_from_slice(b"99,0,garbage\n");
    fs::write(torn.join(RESULTS), j).unwrap();
    resume(&torn).assert().success();
    // An undamaged resume gives the bytes of the uninterrupted sweep.
    let fine = root.path().join("fine");
    copy_dir(&stopped, &fine);
    resume(&fine).assert().success();
    for dir in [&torn, &fine] {
        for f in ["points.csv", "results.csv", "summary.csv", "manifest.json"] {
            assert_eq!(
                fs::read(dir.join(f)).unwrap(),
                fs::read(whole.join(f)).unwrap(),
                "{f}"
            );
        }
    }
    n += 2;
    // A finished folder that was damaged is not called complete.
    for (k, f) in ["results.csv", "summary.csv", "points.csv"]
        .iter()
        .enumerate()
    {
        let case = root.path().join(format!("complete{k}"));
        copy_dir(&whole, &case);
        DAMAGES[k].apply(&case.join(f));
        let out = resume(&case).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "complete folder, {f}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(f));
        n += 1;
    }
    cases("sweep --resume", n);
}

// ---- helpers ----

#[test]
fn damages_change_the_files_they_are_applied_to() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("a.csv");
    for damage in DAMAGES {
        fs::write(&path, "point,y\n0,0.5\n1,1.5\n2,2.5\n").unwrap();
        damage.apply(&path);
        assert_ne!(
            fs::read_to_string(&path).unwrap(),
            "point,y\n0,0.5\n1,1.5\n2,2.5\n",
            "{damage:?}"
        );
    }
}
