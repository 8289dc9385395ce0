//! End-to-end tests of `ccgsim report` on real small runs, sweeps and calibrations: the page's
//! content, its charts as files, determinism, files with extra columns, the errors a user can fix
//! (exit 2, folder named) and `--force`; and the page in headless Chromium (not blank, nothing
//! fetched, no console message).
//!
//! Every folder is made in a temporary directory from `tests/data/tiny.toml` or small variants of
//! it, so the file runs in seconds. Chromium is optional locally (the test says it skipped) but
//! required when `CI` is set.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn ccgsim() -> Command {
    Command::cargo_bin("ccgsim").expect("the ccgsim binary is built for integration tests")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn tempdir() -> TempDir {
    tempfile::tempdir().expect("create a temporary folder")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `tests/data/tiny.toml` with `edits` applied (pairs of text to replace), written into `dir`.
fn scenario(dir: &Path, file: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = read(&repo("tests/data/tiny.toml"));
    for (from, to) in edits {
        assert!(text.contains(from), "tiny.toml has no {from:?}");
        text = text.replace(from, to);
    }
    let path = dir.join(file);
    fs::write(&path, text).unwrap();
    path
}

/// Run `scenario` into `out`.
fn run(scenario: &Path, out: &Path) {
    ccgsim()
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .assert()
        .success();
}

/// The tiny run and a variant with more sanctions, both in `dir`.
fn two_runs(dir: &Path) -> (PathBuf, PathBuf) {
    let (a, b) = (dir.join("tiny"), dir.join("sanctions"));
    run(&repo("tests/data/tiny.toml"), &a);
    let s = scenario(
        dir,
        "sanctions.toml",
        &[
            ("name = \"tiny\"", "name = \"tiny_sanctions\""),
            ("sanctions = { rate = 0.5", "sanctions = { rate = 0.9"),
        ],
    );
    run(&s, &b);
    (a, b)
}

const EFFECTS_HEADER: &str = "scenario,reference,tick,month,metric,difference,ci_low,ci_high,unpaired_ci_low,unpaired_ci_high,n,paired";

/// A compare folder with effects of `tiny_sanctions` against `tiny` over four months: every
/// headline metric paired, `mean_trust` unpaired (NA paired interval), and a count metric.
fn compare_folder(dir: &Path) -> PathBuf {
    let out = dir.join("compare");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("manifest.json"), "{}\n").unwrap();
    let mut text = format!("{EFFECTS_HEADER}\n");
    let months = ["2014-10", "2014-11", "2014-12", "2015-01"];
    for (tick, month) in months.iter().enumerate() {
        for (k, metric) in ccgsim::metrics::HEADLINE
            .iter()
            .chain(&["actions_sanctions"])
            .enumerate()
        {
            let d = 0.01 * (k as f64 - 4.0) * tick as f64;
            let line = if *metric == "mean_trust" {
                format!(
                    "tiny_sanctions,tiny,{tick},{month},{metric},{d},NA,NA,{},{},3,false\n",
                    d - 0.1,
                    d + 0.1
                )
            } else {
                format!(
                    "tiny_sanctions,tiny,{tick},{month},{metric},{d},{},{},{},{},3,true\n",
                    d - 0.02,
                    d + 0.02,
                    d - 0.05,
                    d + 0.05
                )
            };
            text.push_str(&line);
        }
    }
    fs::write(out.join("effects.csv"), text).unwrap();
    out
}

fn report(args: &[&Path]) -> assert_cmd::assert::Assert {
    ccgsim().arg("report").args(args).assert()
}

/// Remove the checksums from the manifest of a folder whose files are edited here, as if an
/// earlier ccgsim had written it.
fn strip_checksums(dir: &Path) {
    let path = dir.join("manifest.json");
    let mut json: serde_json::Value = serde_json::from_str(&read(&path)).unwrap();
    let map = json.as_object_mut().unwrap();
    map.remove("checksums");
    map.remove("manifest_sha256");
    fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
}

/// `ccgsim report --accept-unverified ARGS`, for folders made or edited by hand here, which carry
/// no checksums (tests/suite/integrity.rs tests the checksums).
fn report_unverified(args: &[&Path]) -> assert_cmd::assert::Assert {
    ccgsim()
        .arg("report")
        .arg("--accept-unverified")
        .args(args)
        .assert()
}

fn svg_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Static checks that a page fetches nothing: no scripts, links, images, imports or URLs other
/// than the SVG namespace and in-document references.
fn assert_self_contained(html: &str) {
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    ));
    for banned in [
        "<script",
        "<link",
        "<img",
        "<iframe",
        "@import",
        "src=",
        "href=",
        "@font-face",
    ] {
        assert!(!html.contains(banned), "the page holds {banned}");
    }
    let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
    for (i, _) in html.match_indices("url(") {
        assert!(
            html[i..].starts_with("url(#"),
            "a url() that is not in-document"
        );
    }
}

#[test]
fn a_report_of_runs_and_a_comparison_holds_every_section_and_its_charts() {
    let dir = tempdir();
    let (a, b) = two_runs(dir.path());
    let cmp = compare_folder(dir.path());
    report_unverified(&[&a, &b, &cmp]).success();
    let page_path = a.join("report.html");
    let html = read(&page_path);
    assert_self_contained(&html);
    for want in [
        "Scenarios",
        "Two small CCGs, three months, every action in use",
        "20240607",
        "0.9 (underperformers, from delegated)",
        "Headline results at the final month",
        "tiny at 2015-01: mean (95% CI)",
        "tiny_sanctions at 2015-01: mean (95% CI)",
        "Trust in the CCG, state (0-1)",
        "Trust in the CCG under each scenario, 2014-10 to 2015-01",
        "Spread across CCGs",
        "How each scenario differs from tiny at 2015-01",
        "Difference in trust in the CCG from the reference, 2014-10 to 2015-01",
        "unpaired",
    ] {
        assert!(html.contains(want), "the page lacks {want:?}");
    }
    // No survey figure at 2015-01.
    assert!(!html.contains("Survey, "));
    let charts = svg_files(&a.join("report_files"));
    for metric in ccgsim::metrics::HEADLINE {
        assert!(
            charts.contains(&format!("trajectory_{metric}.svg")),
            "{charts:?}"
        );
        assert!(
            charts.contains(&format!("effect_{metric}.svg")),
            "{charts:?}"
        );
    }
    for name in [
        "ccg_engaged_share.svg",
        "ccg_mean_trust.svg",
        "effects_compare.svg",
    ] {
        assert!(charts.contains(&name.to_string()), "{charts:?}");
    }
    // Each chart file is the chart on the page, and names both runs in its legend.
    let trust = read(&a.join("report_files/trajectory_mean_trust.svg"));
    assert!(html.contains(trust.trim_end()));
    let doc = roxmltree::Document::parse(&trust).expect("well-formed SVG");
    let series: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("series"))
        .filter_map(|n| n.attribute("data-name"))
        .collect();
    assert_eq!(series, ["tiny", "tiny_sanctions"]);
    let lines = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("line"));
    for line in lines {
        assert_eq!(line.attribute("points").unwrap().split(' ').count(), 4);
    }

    // Same folders, same bytes; and an existing report is kept without --force.
    let before = fs::read(&page_path).unwrap();
    report(&[&a, &b, &cmp]).code(2).stderr(
        predicate::str::contains("already exists").and(predicate::str::contains("--force")),
    );
    ccgsim()
        .arg("report")
        .args([&a, &b, &cmp])
        .arg("--force")
        .arg("--accept-unverified")
        .assert()
        .success();
    assert_eq!(before, fs::read(&page_path).unwrap());
    assert_eq!(charts, svg_files(&a.join("report_files")));
    let leftovers: Vec<String> = svg_files(&a)
        .into_iter()
        .chain(svg_files(&a.join("report_files")))
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Insert a `month` column after `tick` in a run's CSV file, computed from the start month.
fn add_month_column(path: &Path, start: (i32, u32)) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let tick = headers.iter().position(|h| h == "tick").unwrap();
    let mut w = csv::Writer::from_path(path.with_extension("new")).unwrap();
    let mut h = headers.clone();
    h.insert(tick + 1, "month".into());
    w.write_record(&h).unwrap();
    for row in r.records() {
        let row = row.unwrap();
        let t: i32 = row[tick].parse().unwrap();
        let index = start.0 * 12 + start.1 as i32 - 1 + t;
        let month = format!("{:04}-{:02}", index / 12, index % 12 + 1);
        let mut fields: Vec<String> = row.iter().map(String::from).collect();
        fields.insert(tick + 1, month);
        w.write_record(&fields).unwrap();
    }
    w.flush().unwrap();
    fs::rename(path.with_extension("new"), path).unwrap();
}

#[test]
fn files_with_a_month_column_give_the_same_charts() {
    let dir = tempdir();
    let plain = dir.path().join("plain");
    run(&repo("tests/data/tiny.toml"), &plain);
    let with_month = dir.path().join("with_month");
    fs::create_dir_all(&with_month).unwrap();
    for f in [
        "manifest.json",
        "timeseries.csv",
        "by_ccg.csv",
        "replicates.csv",
    ] {
        fs::copy(plain.join(f), with_month.join(f)).unwrap();
    }
    strip_checksums(&with_month);
    add_month_column(&with_month.join("timeseries.csv"), (2014, 10));
    add_month_column(&with_month.join("by_ccg.csv"), (2014, 10));
    assert!(read(&with_month.join("timeseries.csv")).starts_with("scenario,tick,month,"));
    report(&[&plain]).success();
    report_unverified(&[&with_month]).success();
    let charts = svg_files(&plain.join("report_files"));
    assert_eq!(charts, svg_files(&with_month.join("report_files")));
    for c in charts {
        assert_eq!(
            read(&plain.join("report_files").join(&c)),
            read(&with_month.join("report_files").join(&c)),
            "{c} differs"
        );
    }
}

#[test]
fn a_run_ending_in_a_survey_month_sets_the_survey_beside_the_model() {
    let dir = tempdir();
    let s = scenario(
        dir.path(),
        "survey.toml",
        &[("start = \"2014-10\"", "start = \"2014-11\"")],
    );
    let out = dir.path().join("survey");
    run(&s, &out);
    let page = dir.path().join("elsewhere/page.html");
    ccgsim()
        .arg("report")
        .arg(&out)
        .arg("--out")
        .arg(&page)
        .assert()
        .success();
    let html = read(&page);
    assert!(html.contains("Survey, 2015-02"));
    // Support for sanctions: 13% in the 2015 survey; engagement is a lower bound.
    assert!(
        html.contains("<td class=\"num\">0.130</td>"),
        "no survey figure"
    );
    assert!(html.contains("at least 0.700"));
    assert!(
        dir.path()
            .join("elsewhere/page_files/trajectory_mean_trust.svg")
            .is_file()
    );
}

#[test]
fn sweeps_sensitivity_and_calibrations_are_drawn() {
    let dir = tempdir();
    let base = scenario(dir.path(), "base.toml", &[]);
    let _ = base;
    let sweep = |name: &str, body: &str| {
        let file = dir.path().join(format!("{name}.toml"));
        fs::write(
            &file,
            format!(
                "scenario = \"base.toml\"\nseed = 11\nreplicates = 2\n{body}\n[[outputs]]\nmetric = \"engaged_share\"\n"
            ),
        )
        .unwrap();
        let out = dir.path().join(name);
        ccgsim()
            .arg("sweep")
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .assert()
            .success();
        out
    };
    let rate = "[[parameters]]\npath = \"policy.sanctions.rate\"\nrange = [0.0, 0.5]\n";
    let peers = "[[parameters]]\npath = \"model.peers.rate\"\nvalues = [0.01, 0.2]\n";
    let line = sweep(
        "line",
        &format!("[design]\nkind = \"grid\"\n{rate}levels = 3\n"),
    );
    let grid = sweep(
        "grid",
        &format!("[design]\nkind = \"grid\"\n{rate}levels = 2\n{peers}"),
    );
    let sobol = sweep(
        "sobol",
        &format!(
            "[design]\nkind = \"sobol\"\nn = 4\n{rate}[[parameters]]\npath = \"model.peers.rate\"\nrange = [0.01, 0.2]\n"
        ),
    );
    ccgsim()
        .args(["sensitivity", "--quiet", "--bootstrap", "20"])
        .arg(&sobol)
        .assert()
        .success();
    fs::write(
        dir.path().join("targets.csv"),
        "id,value,se\nsanctions,0.2,0.05\n",
    )
    .unwrap();
    let cal_file = dir.path().join("cal.toml");
    fs::write(
        &cal_file,
        "scenario = \"base.toml\"\ntargets = \"targets.csv\"\nseed = 3\nreplicates = 2\n\n[abc]\nparticles = 20\ngenerations = 2\npredictive_replicates = 10\n\n[[parameters]]\npath = \"model.acceptability.initial_support.sanctions\"\nprior = [0.02, 0.9]\n\n[[match]]\ntarget = \"sanctions\"\nmetric = \"support_sanctions\"\n",
    )
    .unwrap();
    let cal = dir.path().join("cal");
    ccgsim()
        .arg("calibrate")
        .arg(&cal_file)
        .arg("--out")
        .arg(&cal)
        .arg("--quiet")
        .assert()
        .success();
    let page = dir.path().join("all.html");
    ccgsim()
        .arg("report")
        .args([&line, &grid, &sobol, &cal])
        .arg("--out")
        .arg(&page)
        .assert()
        .success();
    let html = read(&page);
    assert_self_contained(&html);
    let charts = svg_files(&dir.path().join("all_files"));
    for want in [
        "sweep_line_engaged_share.svg",
        "sweep_grid_engaged_share.svg",
        "sweep_sobol_engaged_share_policy_sanctions_rate.svg",
        "sweep_sobol_engaged_share_model_peers_rate.svg",
        "sensitivity_sobol_engaged_share.svg",
        "posterior_model_acceptability_initial_support_sanctions.svg",
        "ppc_cal.svg",
    ] {
        assert!(
            charts.contains(&want.to_string()),
            "no {want} in {charts:?}"
        );
    }
    let count = |file: &str, class: &str| {
        let text = read(&dir.path().join("all_files").join(file));
        let doc = roxmltree::Document::parse(&text).unwrap();
        doc.descendants()
            .filter(|n| n.attribute("class") == Some(class))
            .count()
    };
    // One-parameter grid: a line through its 3 points; 2 x 2 grid: 4 cells; sobol N = 4 with
    // 2 parameters: 16 points per scatter; 2 parameters x (ST, S1) bars; 20 posterior bins.
    assert_eq!(count("sweep_line_engaged_share.svg", "marker"), 3);
    assert_eq!(count("sweep_grid_engaged_share.svg", "cell"), 4);
    assert_eq!(
        count("sweep_sobol_engaged_share_model_peers_rate.svg", "marker"),
        16
    );
    assert_eq!(count("sensitivity_sobol_engaged_share.svg", "bar"), 4);
    assert_eq!(
        count(
            "posterior_model_acceptability_initial_support_sanctions.svg",
            "bin"
        ),
        20
    );
    assert_eq!(count("ppc_cal.svg", "marker"), 2);
    assert!(html.contains("Which parameters drive engaged with the CCG"));
}

/// `ccgsim report ARGS` fails with exit 2 and a message holding every one of `want`.
fn refused(args: &[&Path], want: &[&str]) {
    let out = ccgsim().arg("report").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    for w in want {
        assert!(stderr.contains(w), "stderr lacks {w:?}: {stderr}");
    }
}

#[test]
fn folders_that_cannot_be_reported_are_refused_with_exit_2_and_named() {
    let dir = tempdir();
    let (a, _) = two_runs(dir.path());
    let missing = dir.path().join("no_such_folder");
    refused(&[&missing], &["no_such_folder", "is not a folder"]);
    let empty = dir.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    refused(&[&a, &empty], &["empty", "is not a ccgsim results folder"]);

    let broken = dir.path().join("broken");
    fs::create_dir_all(&broken).unwrap();
    for f in ["manifest.json", "timeseries.csv"] {
        fs::copy(a.join(f), broken.join(f)).unwrap();
    }
    refused(&[&broken], &["broken", "run folder", "replicates.csv"]);

    let sweep = dir.path().join("half_sweep");
    fs::create_dir_all(&sweep).unwrap();
    fs::write(sweep.join("points.csv"), "point\n").unwrap();
    refused(&[&sweep], &["half_sweep", "sweep folder", "summary.csv"]);

    let bad_columns = dir.path().join("bad_columns");
    fs::create_dir_all(&bad_columns).unwrap();
    for f in ["manifest.json", "replicates.csv"] {
        fs::copy(a.join(f), bad_columns.join(f)).unwrap();
    }
    fs::write(
        bad_columns.join("timeseries.csv"),
        "scenario,tick,metric,mean\n",
    )
    .unwrap();
    // Its checksum refuses it first; without checksums, the missing column.
    refused(
        &[&bad_columns],
        &[
            "bad_columns",
            "timeseries.csv",
            "where the manifest records",
        ],
    );
    strip_checksums(&bad_columns);
    refused(
        &[&bad_columns, Path::new("--accept-unverified")],
        &["bad_columns", "timeseries.csv", "ci_low"],
    );

    let short = scenario(
        dir.path(),
        "short.toml",
        &[
            ("months = 3", "months = 2"),
            ("name = \"tiny\"", "name = \"short\""),
        ],
    );
    let short_run = dir.path().join("short");
    run(&short, &short_run);
    refused(
        &[&a, &short_run],
        &["different lengths", "tiny", "short", "4 ticks", "3 ticks"],
    );
    // Nothing was written by the refused reports.
    assert!(!a.join("report.html").exists());
    assert!(!a.join("report_files").exists());
}

/// Chromium's path, or `None` (with a message) when it is absent and `CI` is not set.
fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromium is not installed (apt-get install chromium)"
        );
        eprintln!("SKIPPED: chromium is not installed; the headless-browser test did not run");
    }
    found
}

/// What headless Chromium made of a page.
struct Rendered {
    png: Vec<u8>,
    stderr: String,
    net_log: serde_json::Value,
}

/// Open `page` in headless Chromium with a fresh profile, screenshot it and log its network use.
fn render(chromium: &Path, page: &Path, work: &Path) -> Rendered {
    let profile = work.join("profile");
    let (shot, net) = (work.join("shot.png"), work.join("net.json"));
    let mut child = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=1",
            "--window-size=1000,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", net.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(fs::File::create(work.join("stderr.log")).unwrap())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Rendered {
        png: fs::read(&shot).expect("chromium wrote a screenshot"),
        stderr: read(&work.join("stderr.log")),
        net_log: serde_json::from_str(&read(&net)).expect("the net log is JSON"),
    }
}

/// Distinct colours and the share of non-white pixels of a PNG.
fn colours(png_bytes: &[u8]) -> (usize, f64) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let samples = reader.output_color_type().0.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(samples).collect();
    let distinct: std::collections::BTreeSet<Vec<u8>> = pixels
        .iter()
        .map(|p| p[..samples.min(3)].to_vec())
        .collect();
    let ink = pixels
        .iter()
        .filter(|p| p[..samples.min(3)].iter().any(|&c| c < 245))
        .count();
    (distinct.len(), ink as f64 / pixels.len().max(1) as f64)
}

/// URLs the page itself asked for (not the browser's own background requests).
fn page_requests(net_log: &serde_json::Value) -> Vec<String> {
    let Some(start_job) = net_log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_i64()
    else {
        panic!("the net log names no URL_REQUEST_START_JOB events");
    };
    net_log["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"].as_i64() == Some(start_job))
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .filter_map(|e| e["params"]["url"].as_str().map(String::from))
        .collect()
}

/// Console messages Chromium logged for pages (CSP violations, errors).
fn console_messages(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

#[test]
fn the_report_renders_in_headless_chromium_without_fetching_anything() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tempdir();
    let (a, b) = two_runs(dir.path());
    let cmp = compare_folder(dir.path());
    report_unverified(&[&a, &b, &cmp]).success();
    let work = dir.path().join("browser");
    fs::create_dir_all(&work).unwrap();
    let page = render(&chromium, &a.join("report.html"), &work);
    let (distinct, ink) = colours(&page.png);
    assert!(distinct > 50, "the screenshot has only {distinct} colours");
    assert!(
        ink > 0.05,
        "the screenshot is nearly blank ({:.1}% ink)",
        ink * 100.0
    );
    let fetched: Vec<String> = page_requests(&page.net_log)
        .into_iter()
        .filter(|u| !(u.starts_with("file:") || u.starts_with("data:")))
        .collect();
    assert!(fetched.is_empty(), "the page fetched {fetched:?}");
    let console = console_messages(&page.stderr);
    assert!(console.is_empty(), "console messages: {console:?}");

    // The checks catch a page that fetches and logs: a control without the policy.
    let bad = work.join("bad.html");
    fs::write(
        &bad,
        "<!DOCTYPE html><html><body><p>x</p><img src=\"http://127.0.0.1:9/x.png\">\
         <script>console.error(\"boom\")</script></body></html>",
    )
    .unwrap();
    let control = work.join("control");
    fs::create_dir_all(&control).unwrap();
    let page = render(&chromium, &bad, &control);
    assert!(
        page_requests(&page.net_log)
            .iter()
            .any(|u| u.starts_with("http://127.0.0.1:9/")),
        "the net-log check did not see the control's request"
    );
    assert!(
        console_messages(&page.stderr)
            .iter()
            .any(|l| l.contains("boom")),
        "the console check did not see the control's message"
    );
}
