//! Resource limits: the memory estimate is an upper bound of what the engine really allocates
//! (measured with a counting allocator), and work too big for its ceiling is refused at once, with
//! exit code 2, before anything is written, including under a real address-space limit.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ccgsim::experiment::{EnsembleOptions, run_ensemble};
use ccgsim::limits::{self, Shape};
use ccgsim::population::Population;
use ccgsim::scenario::Scenario;

/// Counts the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Tests here measure the whole process's heap, so they take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The heap's peak above what was in use before, while `f` runs.
fn peak_of(f: impl FnOnce()) -> usize {
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - before
}

fn scenario(text: &str) -> Scenario {
    Scenario::parse(text, Path::new("limits.toml")).expect("valid scenario")
}

fn ensemble_peak(s: &Scenario, threads: usize, by_ccg: bool) -> usize {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    peak_of(|| {
        let population = Population::build(s);
        let options = EnsembleOptions {
            replicates: s.replicates,
            by_ccg,
        };
        pool.install(|| {
            run_ensemble(s, &population, options, &AtomicBool::new(false), |_, _| {
                Ok(())
            })
            .unwrap()
        });
    })
}

#[test]
fn the_workspace_per_practice_is_within_its_bound() {
    let _turn = ONE_AT_A_TIME.lock().unwrap();
    let one = |practices: u32| {
        scenario(&format!(
            "months = 2\nreplicates = 1\n[[ccgs]]\nid = \"x\"\npractices = {practices}\n"
        ))
    };
    let small = ensemble_peak(&one(1_000), 1, false);
    let large = ensemble_peak(&one(201_000), 1, false);
    let per_practice = (large - small) as f64 / 200_000.0;
    assert!(
        per_practice <= limits::WORKSPACE_BYTES_PER_PRACTICE as f64,
        "the engine used {per_practice:.1} bytes per practice, more than the {} the estimate assumes",
        limits::WORKSPACE_BYTES_PER_PRACTICE
    );
    // And the bound is not loose to the point of refusing runs that would fit.
    assert!(
        per_practice >= 0.6 * limits::WORKSPACE_BYTES_PER_PRACTICE as f64,
        "{per_practice:.1} bytes per practice"
    );
}

#[test]
fn the_run_estimate_bounds_the_real_peak() {
    let _turn = ONE_AT_A_TIME.lock().unwrap();
    let cases = [
        // Many small CCGs: the per-CCG accumulators and the batch of replicates dominate.
        "months = 24\nreplicates = 12\n[population]\nccgs = 3000\n",
        // One large CCG: the workspaces dominate.
        "months = 6\nreplicates = 2\n[[ccgs]]\nid = \"big\"\npractices = 150000\n",
        // The England-like default population.
        "months = 36\nreplicates = 20\n",
    ];
    for text in cases {
        let s = scenario(text);
        for (threads, by_ccg) in [(1, true), (2, true), (2, false)] {
            let real = ensemble_peak(&s, threads, by_ccg) as u128;
            let population = Population::build(&s);
            let estimate =
                limits::run(&s, &Shape::of_population(&population), threads, by_ccg).bytes();
            assert!(
                real <= estimate,
                "{text:?} on {threads} threads, by_ccg {by_ccg}: {real} bytes used, {estimate} estimated"
            );
            // Within a small factor, where the run is large enough to matter.
            if real > 64 << 20 {
                assert!(
                    estimate < 4 * real,
                    "{text:?}: {real} used, {estimate} estimated"
                );
            }
        }
    }
}

#[test]
fn a_generated_population_is_bounded_before_it_is_built() {
    let s = scenario(
        "[population]\nccgs = 20\npractices_per_ccg = { mu = 4.0, sigma = 0.5, min = 5, max = 400 }\n",
    );
    let bound = Shape::of_scenario(&s);
    let real = Shape::of_population(&Population::build(&s));
    assert_eq!(bound.ccgs, real.ccgs);
    assert!(bound.largest >= real.largest, "{bound} vs {real}");
    assert!(bound.largest <= 400);
}

fn ccgsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ccgsim"))
}

/// A generated population of 10 million CCGs of about 22,000 practices each (2 x 10^11
/// practices), and one CCG of a billion practices.
const HUGE: [(&str, &str); 2] = [
    (
        "many.toml",
        "name = \"many\"\n[population]\nccgs = 10000000\npractices_per_ccg = { mu = 10, sigma = 0.1, min = 1, max = 1e7 }\n",
    ),
    (
        "billion.toml",
        "name = \"billion\"\nmonths = 12\nreplicates = 10\n[population]\nccgs = 1\npractices_per_ccg = { mu = 20.8, sigma = 0.01, min = 1, max = 1e9 }\n",
    ),
];

#[test]
fn runs_too_big_for_the_machine_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in HUGE {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = dir.path().join(format!("out-{name}"));
        for args in [
            vec!["check".to_string(), path.display().to_string()],
            vec![
                "run".into(),
                path.display().to_string(),
                "--out".into(),
                out.display().to_string(),
            ],
            vec![
                "run".into(),
                path.display().to_string(),
                "--no-by-ccg".into(),
                "--out".into(),
                out.display().to_string(),
            ],
        ] {
            let started = Instant::now();
            let result = ccgsim().args(&args).output().unwrap();
            // A refusal that did the work first would take minutes or abort: this is not a
            // speed target, so the margin is wide.
            assert!(started.elapsed() < Duration::from_secs(10), "{args:?}");
            let stderr = String::from_utf8_lossy(&result.stderr);
            assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains("needs about"), "{args:?}: {stderr}");
            assert!(stderr.contains(name), "{args:?}: names the file: {stderr}");
            assert!(!out.exists(), "{args:?}: nothing is written");
        }
    }
}

#[test]
fn max_memory_lowers_the_ceiling_and_check_reports_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.toml");
    std::fs::write(&path, "name = \"small\"\nmonths = 3\nreplicates = 2\n").unwrap();
    let checked = ccgsim().arg("check").arg(&path).output().unwrap();
    assert!(checked.status.success());
    let line = String::from_utf8_lossy(&checked.stdout);
    assert!(
        line.contains("needs about") && line.contains("MiB of memory"),
        "{line}"
    );

    let out = dir.path().join("out");
    for (args, code) in [
        (vec!["--max-memory", "1M"], 2),
        (vec!["--max-memory", "10 parsecs"], 2),
        (vec!["--max-memory", "0"], 2),
        (vec!["--threads", "100000"], 2),
        (vec!["--threads", "0"], 2),
        (vec!["--max-memory", "4GiB", "--quiet"], 0),
    ] {
        let result = ccgsim()
            .arg("run")
            .arg(&path)
            .arg("--out")
            .arg(&out)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            result.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        assert_eq!(out.exists(), code == 0, "{args:?}");
    }
}

#[test]
fn an_address_space_limit_is_a_ceiling_too() {
    if !cfg!(target_os = "linux") {
        eprintln!("skipped: reads the limit from /proc, which only Linux has");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // About 2 GiB of per-CCG accumulators: far past a 1 GiB address space, nowhere near a
    // machine's memory.
    let path = dir.path().join("wide.toml");
    std::fs::write(
        &path,
        "name = \"wide\"\nmonths = 120\n[population]\nccgs = 100000\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let script = format!(
        "ulimit -v 1048576 && exec '{}' run '{}' --out '{}' --threads 1",
        env!("CARGO_BIN_EXE_ccgsim"),
        path.display(),
        out.display()
    );
    let result = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("address-space limit"), "{stderr}");
    assert!(!out.exists());
}
