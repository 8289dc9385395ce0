//! Resource limits, checked before any work starts: the memory a run, sweep, calibration or
//! sensitivity analysis will need is estimated from its inputs and compared with what the machine
//! (or `--max-memory`) allows, and the worker-thread count is bounded. A refusal comes at once,
//! with the estimate broken down, instead of an abort for want of memory hours later. Sizes are
//! counted in `u128`, which no input can overflow.
//!
//! The estimates are upper bounds of the large allocations (docs/RELIABILITY.md lists them); the
//! constant per-practice cost is checked against the engine's real allocation in a test.

use std::fmt;
use std::path::Path;

use crate::experiment::batch_replicates;
use crate::metrics::{METRICS, Tally};
use crate::population::{Ccg, Population};
use crate::scenario::{PopulationSpec, Scenario};
use crate::stats::Welford;

/// Heap bytes of the engine's workspace per practice of the largest CCG (state columns, the
/// month's random draws, locality means and action masks: about 106 measured, rounded up).
pub const WORKSPACE_BYTES_PER_PRACTICE: u128 = 120;

/// The process itself: code, allocator arenas, thread stacks in use, buffers of the output files.
pub const BASE_BYTES: u128 = 64 << 20;

/// Worker threads allowed per available core without `--force-threads`.
pub const THREADS_PER_CORE: usize = 8;

/// A rough rate for the time estimate: practice-months per second per thread, well below what a
/// quiet machine reaches (docs/PERFORMANCE.md), so that the estimate errs long.
pub const PRACTICE_MONTHS_PER_SECOND_PER_THREAD: f64 = 25e6;

/// An estimate of what a computation needs: memory by part, and work.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Footprint {
    /// (what, bytes), largest first once [`Footprint::finish`] has run.
    pub parts: Vec<(&'static str, u128)>,
    /// Practice-months simulated (practices x months x replicates, over every point).
    pub practice_months: u128,
}

impl Footprint {
    pub fn bytes(&self) -> u128 {
        self.parts.iter().map(|p| p.1).sum::<u128>() + BASE_BYTES
    }

    fn add(&mut self, what: &'static str, bytes: u128) {
        if bytes > 0 {
            self.parts.push((what, bytes));
        }
    }

    fn finish(mut self) -> Footprint {
        self.parts.sort_by_key(|p| std::cmp::Reverse(p.1));
        self
    }

    /// Rough wall time on `threads` threads, in seconds.
    pub fn seconds(&self, threads: usize) -> f64 {
        self.practice_months as f64
            / (PRACTICE_MONTHS_PER_SECOND_PER_THREAD * threads.max(1) as f64)
    }

    /// One line: "about 1.2 GiB of memory (per-CCG accumulators 1.0 GiB, ...) and roughly 3 s
    /// on 2 threads".
    pub fn describe(&self, threads: usize) -> String {
        let parts: Vec<String> = self
            .parts
            .iter()
            .take(3)
            .map(|(what, b)| format!("{what} {}", bytes(*b)))
            .collect();
        let seconds = self.seconds(threads);
        format!(
            "about {} of memory{} and {} on {}",
            bytes(self.bytes()),
            if parts.is_empty() {
                String::new()
            } else {
                format!(" ({})", parts.join(", "))
            },
            if seconds < 1.0 {
                "under a second".to_string()
            } else {
                format!("roughly {}", duration(seconds))
            },
            crate::words::count(threads, "thread")
        )
    }
}

/// A byte count for people: `812 MiB`, `83.2 GiB`.
pub fn bytes(b: u128) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut x = b as f64;
    let mut unit = 0;
    while x >= 1024.0 && unit < UNITS.len() - 1 {
        x /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{b} bytes"),
        _ if x < 10.0 => format!("{x:.1} {}", UNITS[unit]),
        _ => format!("{x:.0} {}", UNITS[unit]),
    }
}

/// A duration for people: `40 s`, `12 min`, `3.5 h`, `417 days`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "forever".into();
    }
    match seconds {
        s if s < 1.0 => "under a second".into(),
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s if s < 172_800.0 => format!("{:.1} h", s / 3600.0),
        s if s < 3.2e9 => format!("{:.0} days", s / 86_400.0),
        s => format!("{:.1e} years", s / 3.156e7),
    }
}

/// A `--max-memory` value: bytes, or a number with a unit (`512MiB`, `4G`, `1.5 GiB`; K/M/G/T
/// with or without `i`/`iB`/`B` are all powers of 1024).
pub fn parse_size(text: &str) -> Result<u128, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a size; write e.g. 4GiB, 512M or 1000000000"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "ki" | "kb" | "kib" => 10,
        "m" | "mi" | "mb" | "mib" => 20,
        "g" | "gi" | "gb" | "gib" => 30,
        "t" | "ti" | "tb" | "tib" => 40,
        other => {
            return Err(format!(
                "unknown unit \"{other}\" in \"{text}\"; use K, M, G or T"
            ));
        }
    };
    let b = value * (1u128 << shift) as f64;
    if !b.is_finite() || b < 1.0 {
        return Err(format!("\"{text}\" is not a positive size"));
    }
    Ok(b as u128)
}

/// How much memory a computation may use, and where the figure comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Ceiling {
    pub bytes: u128,
    pub source: String,
}

impl Ceiling {
    /// `--max-memory` if given; otherwise the least of the memory the system reports available,
    /// the control group's limit less its use, and the address-space limit (`ulimit -v`) less
    /// the process's size. `None` when none is known.
    pub fn find(max_memory: Option<u128>) -> Option<Ceiling> {
        if let Some(b) = max_memory {
            return Some(Ceiling {
                bytes: b,
                source: "allowed by --max-memory".into(),
            });
        }
        let mut found: Vec<Ceiling> = Vec::new();
        if let Some(b) = meminfo_available() {
            found.push(Ceiling {
                bytes: b,
                source: "available on this machine".into(),
            });
        }
        if let Some(b) = cgroup_room() {
            found.push(Ceiling {
                bytes: b,
                source: "left under this control group's memory limit".into(),
            });
        }
        if let Some(b) = address_space_room() {
            found.push(Ceiling {
                bytes: b,
                source: "left under the address-space limit (ulimit -v)".into(),
            });
        }
        found.into_iter().min_by_key(|c| c.bytes)
    }
}

fn read_number(path: &str, key: &str) -> Option<u128> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

fn meminfo_available() -> Option<u128> {
    read_number("/proc/meminfo", "MemAvailable:").map(|kib| kib * 1024)
}

fn cgroup_room() -> Option<u128> {
    let read = |p: &str| -> Option<u128> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    // cgroup v2, then v1 (whose "no limit" is a huge number).
    let (limit, used) = match read("/sys/fs/cgroup/memory.max") {
        Some(l) => (l, read("/sys/fs/cgroup/memory.current")?),
        None => (
            read("/sys/fs/cgroup/memory/memory.limit_in_bytes")?,
            read("/sys/fs/cgroup/memory/memory.usage_in_bytes")?,
        ),
    };
    (limit < 1 << 60).then(|| limit.saturating_sub(used))
}

fn address_space_room() -> Option<u128> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    let soft = line.split_whitespace().nth(3)?;
    let limit: u128 = soft.parse().ok()?; // "unlimited" does not parse
    let size = read_number("/proc/self/status", "VmSize:")? * 1024;
    Some(limit.saturating_sub(size))
}

/// The computation needs more memory than it may have: what, its estimate, the ceiling and what
/// to do, in one message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TooBig(pub String);

/// Refuse `footprint` if it exceeds the ceiling (`--max-memory`, else what is available).
pub fn enforce(
    what: impl Into<String>,
    footprint: &Footprint,
    threads: usize,
    max_memory: Option<u128>,
    advice: &'static str,
) -> Result<(), TooBig> {
    match Ceiling::find(max_memory) {
        Some(ceiling) if footprint.bytes() > ceiling.bytes => Err(TooBig(format!(
            "{} needs {}, more than the {} {}; {advice}",
            what.into(),
            footprint.describe(threads),
            bytes(ceiling.bytes),
            ceiling.source
        ))),
        _ => Ok(()),
    }
}

/// What to suggest when a run is refused.
pub const RUN_ADVICE: &str = "use fewer CCGs, practices or threads, pass --no-by-ccg (the per-CCG accumulators grow with CCGs x months), or give --max-memory if more can be used";
pub const SWEEP_ADVICE: &str =
    "use a smaller base population or fewer threads, or give --max-memory if more can be used";

/// The size of a population, known exactly once it is built, bounded from the scenario before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub ccgs: u128,
    /// Practices over all CCGs (expected, for a generated population not yet built).
    pub practices: u128,
    /// Practices of the largest CCG (an upper bound for a generated population not yet built).
    pub largest: u128,
}

impl Shape {
    /// From the scenario alone, without building anything: exact for listed CCGs; for generated
    /// ones the truncation bounds of the size distribution (and six standard deviations above
    /// the log-scale mean where the upper bound is far out).
    pub fn of_scenario(s: &Scenario) -> Shape {
        match &s.population {
            PopulationSpec::Listed(specs) => Shape {
                ccgs: specs.len() as u128,
                practices: specs.iter().map(|c| c.practices as u128).sum(),
                largest: specs.iter().map(|c| c.practices as u128).max().unwrap_or(0),
            },
            PopulationSpec::Generated {
                ccgs,
                practices_per_ccg: d,
                ..
            } => {
                let cap = |x: f64| x.clamp(d.min.max(1.0), d.max.max(1.0));
                let largest = cap((d.mu + 6.0 * d.sigma).exp()).ceil();
                let mean = cap((d.mu + d.sigma * d.sigma / 2.0).exp()).ceil();
                Shape {
                    ccgs: *ccgs as u128,
                    practices: *ccgs as u128 * mean as u128,
                    largest: largest as u128,
                }
            }
        }
    }

    pub fn of_population(p: &Population) -> Shape {
        Shape {
            ccgs: p.ccgs.len() as u128,
            practices: p.practices() as u128,
            largest: p
                .ccgs
                .iter()
                .map(|c| c.practices as u128)
                .max()
                .unwrap_or(0),
        }
    }
}

/// Bytes of the population's structure: each CCG's record and its level at every tick.
fn population_bytes(shape: &Shape, ticks: u128) -> u128 {
    shape.ccgs * (std::mem::size_of::<Ccg>() as u128 + ticks + 24)
}

fn workspace_bytes(shape: &Shape, ticks: u128) -> u128 {
    shape.largest * WORKSPACE_BYTES_PER_PRACTICE + 2 * ticks * std::mem::size_of::<Tally>() as u128
}

/// The footprint of `ccgsim run`: the population, the summaries (with the per-CCG ones unless
/// `by_ccg` is off), a batch of replicates' tallies, one workspace per thread and the rows of
/// `by_ccg.csv` being formatted.
pub fn run(scenario: &Scenario, shape: &Shape, threads: usize, by_ccg: bool) -> Footprint {
    let ticks = scenario.months as u128 + 1;
    let m = METRICS.len() as u128;
    let welford = std::mem::size_of::<Welford>() as u128;
    let tally = std::mem::size_of::<Tally>() as u128;
    let mut f = Footprint {
        practice_months: shape.practices * (ticks - 1) * scenario.replicates as u128,
        ..Footprint::default()
    };
    f.add("population", population_bytes(shape, ticks));
    f.add("summary accumulators", ticks * m * welford);
    if by_ccg {
        f.add("per-CCG accumulators", shape.ccgs * ticks * m * welford);
        // A batch of by_ccg.csv rows: about 120 bytes a row.
        let batch = shape.ccgs.min(crate::output::csv::BY_CCG_BATCH as u128);
        f.add("per-CCG rows being written", batch * ticks * m * 120);
    }
    let chunks = shape
        .ccgs
        .min(shape.practices / crate::experiment::CHUNK_PRACTICES as u128 + 1)
        .max(1);
    let per_replicate = if by_ccg { shape.ccgs + chunks } else { chunks };
    let batch = batch_replicates(
        usize::try_from(chunks).unwrap_or(usize::MAX),
        usize::try_from(shape.ccgs).unwrap_or(usize::MAX),
        ticks as usize,
        by_ccg,
        scenario.replicates,
    ) as u128;
    f.add(
        "replicates in flight",
        batch * per_replicate * ticks * tally,
    );
    if scenario.structure() == crate::scenario::Structure::PerReplicate {
        // Each replicate of the batch draws its own structure (ODD 4.9).
        f.add(
            "structures in flight",
            batch * population_bytes(shape, ticks),
        );
    }
    f.add(
        "workspaces",
        threads as u128 * workspace_bytes(shape, ticks),
    );
    f.finish()
}

/// The footprint of a sweep or calibration: every point's model (scenario and population) of a
/// chunk of points in memory at once, its units' tallies, and a workspace per thread. `shapes`
/// gives each point's population (the base's when the parameters leave it alone).
pub fn points(
    months: u32,
    shape: &Shape,
    points_in_memory: u128,
    replicates: u32,
    threads: usize,
    practice_months: u128,
) -> Footprint {
    let ticks = months as u128 + 1;
    let tally = std::mem::size_of::<Tally>() as u128;
    let mut f = Footprint {
        practice_months,
        ..Footprint::default()
    };
    f.add(
        "models of the points in flight",
        points_in_memory * (population_bytes(shape, ticks) + 4096),
    );
    f.add(
        "tallies of the points in flight",
        points_in_memory * replicates as u128 * shape.ccgs.max(1) * ticks * tally,
    );
    f.add(
        "workspaces",
        threads as u128 * workspace_bytes(shape, ticks),
    );
    f.finish()
}

/// The footprint of reading result files back (sensitivity): their rows, parsed, a few times over.
pub fn files(paths: &[&Path], threads: usize, bootstrap: usize, points: u128) -> Footprint {
    let mut f = Footprint::default();
    let read: u128 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len() as u128)
        .sum();
    f.add("result files, parsed", 4 * read);
    f.add(
        "bootstrap resamples",
        threads as u128 * (bootstrap as u128 + 1) * 8 + threads as u128 * points * 16,
    );
    f.finish()
}

/// The worker-thread count: `requested`, or every core; more than [`THREADS_PER_CORE`] per
/// available core is refused unless `force`.
pub fn threads(requested: Option<usize>, force: bool) -> Result<usize, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match requested {
        None => Ok(cores),
        Some(0) => Err("--threads must be at least 1".into()),
        Some(t) if t > THREADS_PER_CORE * cores && !force => Err(format!(
            "--threads {t} is more than {THREADS_PER_CORE} per available core ({}); results do not depend on the thread count, so use at most {}, or pass --force-threads",
            crate::words::count(cores, "core"),
            THREADS_PER_CORE * cores
        )),
        Some(t) => Ok(t),
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} CCGs, {} practices, the largest {}",
            self.ccgs, self.practices, self.largest
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_powers_of_1024() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5 g"), Ok(3 << 29));
        for bad in ["", "x", "4 parsecs", "-1G", "0", "nan", "1e400"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn byte_counts_and_durations_read_plainly() {
        assert_eq!(bytes(812), "812 bytes");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
        assert_eq!(bytes(89_354_400_000), "83 GiB");
        assert_eq!(
            bytes(u128::MAX),
            format!("{:.0} EiB", u128::MAX as f64 / 2f64.powi(60))
        );
        assert_eq!(duration(0.2), "under a second");
        assert_eq!(duration(40.0), "40 s");
        assert_eq!(duration(3.6e7), "417 days");
    }

    #[test]
    fn too_many_threads_are_refused_unless_forced() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(threads(Some(0), true).is_err());
        assert_eq!(threads(Some(8 * cores), false), Ok(8 * cores));
        assert!(threads(Some(8 * cores + 1), false).is_err());
        assert_eq!(threads(Some(10_000), true), Ok(10_000));
        assert_eq!(threads(None, false), Ok(cores));
    }

    #[test]
    fn a_huge_generated_ccg_is_bounded_before_it_is_built() {
        let text = "[population]\nccgs = 2\npractices_per_ccg = { mu = 20.7, sigma = 0.1, min = 1, max = 1e12 }\n";
        let s = Scenario::parse(text, Path::new("huge.toml"));
        let Ok(s) = s else {
            // The scenario validator refuses such sizes outright, which is as good.
            return;
        };
        let shape = Shape::of_scenario(&s);
        assert!(shape.largest >= 900_000_000, "{shape}");
        let f = run(&s, &shape, 2, true);
        assert!(f.bytes() > 100 << 30, "{}", f.describe(2));
    }
}
