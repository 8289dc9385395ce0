//! `ccgsim bench`: whole-run throughput and memory of the full model on synthetic populations.
//!
//! A benchmark run is an ordinary ensemble (every mechanism on, a policy that uses all four
//! actions, an escalation ladder and delegated commissioning) on a generated population, without
//! writing result files. It reports practice-updates per second (practices x months x
//! replicates / wall seconds), the peak resident memory of the run and bytes per practice, and
//! in scaling mode the parallel efficiency at each thread count. Each configuration is run
//! `--repeat` times and the median wall time is reported: these machines are shared and noisy.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::experiment::{EnsembleOptions, run_ensemble};
use crate::population::Population;
use crate::scenario::Scenario;

/// `model.survey.answers` of a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchAnswers {
    /// Each practice's answer drawn (the default of runs).
    Sampled,
    /// Each practice's probability of each answer.
    Expected,
}

/// Named population sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// England: 209 CCGs, real size distribution (about 7,800 practices).
    England,
    /// Ten Englands: 2,090 CCGs (about 78,000 practices).
    EnglandX10,
    /// A hundred Englands: 20,900 CCGs (about 780,000 practices).
    EnglandX100,
    /// At least 10 million practices in one population: 270,000 CCGs.
    Huge,
}

impl Preset {
    fn ccgs(self) -> u32 {
        match self {
            Preset::England => 209,
            Preset::EnglandX10 => 2_090,
            Preset::EnglandX100 => 20_900,
            Preset::Huge => 270_000,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Preset::England => "england",
            Preset::EnglandX10 => "england-x10",
            Preset::EnglandX100 => "england-x100",
            Preset::Huge => "huge",
        }
    }
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A named population [default: england unless --ccgs is given].
    #[arg(long, value_enum, conflicts_with_all = ["ccgs", "practices_per_ccg"])]
    pub preset: Option<Preset>,
    /// Number of CCGs of a custom population (sizes from the real distribution unless
    /// --practices-per-ccg is given).
    #[arg(long)]
    pub ccgs: Option<u32>,
    /// Practices in every CCG of a custom population.
    #[arg(long, requires = "ccgs")]
    pub practices_per_ccg: Option<u32>,
    /// Months simulated.
    #[arg(long, default_value_t = 36)]
    pub ticks: u32,
    /// Replicates per run.
    #[arg(long, short = 'r', default_value_t = 10)]
    pub replicates: u32,
    /// Threads (with --scaling, the largest count tried) and memory.
    #[command(flatten)]
    pub resources: crate::cli::Resources,
    /// Run 1, 2, ... up to --threads threads on the same work and report parallel efficiency.
    #[arg(long)]
    pub scaling: bool,
    /// Timed runs per configuration; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: u32,
    /// How the survey's answers are reported (ODD 7.10): drawn, or each practice's
    /// probabilities.
    #[arg(long, value_enum, default_value = "sampled")]
    pub answers: BenchAnswers,
    /// Append one CSV row per configuration to FILE (with a header if FILE is new).
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

/// What a benchmark configuration measured.
#[derive(Debug, Clone)]
pub struct BenchResult {
    pub label: String,
    pub ccgs: usize,
    pub practices: u64,
    pub ticks: u32,
    pub replicates: u32,
    pub threads: usize,
    /// Median wall time over the repeats, in seconds.
    pub wall_seconds: f64,
    pub min_seconds: f64,
    pub max_seconds: f64,
    pub updates_per_second: f64,
    /// Peak resident set of the process during this configuration, if the OS reports it.
    pub peak_rss_bytes: Option<u64>,
    /// Speed-up over one thread divided by the threads (scaling mode only).
    pub parallel_efficiency: Option<f64>,
}

impl BenchResult {
    pub fn bytes_per_practice(&self) -> Option<f64> {
        self.peak_rss_bytes
            .map(|b| b as f64 / self.practices.max(1) as f64)
    }
}

/// The scenario text of a benchmark population: every mechanism on (the defaults), delegation
/// levels in the April 2016 proportions, all four actions plus an escalation ladder.
pub fn bench_scenario(
    ccgs: u32,
    practices_per_ccg: Option<u32>,
    ticks: u32,
    replicates: u32,
) -> String {
    let sizes = match practices_per_ccg {
        Some(k) => format!(
            "practices_per_ccg = {{ mu = {}, sigma = 0.0, min = {k}, max = {k} }}\n",
            (k as f64).ln()
        ),
        None => String::new(),
    };
    // April 2016: 115 delegated, 68 joint, 26 greater involvement of 209.
    let delegated = (ccgs as u64 * 115 / 209) as u32;
    let joint = (ccgs as u64 * 68 / 209) as u32;
    let greater = ccgs - delegated - joint;
    format!(
        "name = \"bench\"\nstart = \"2015-04\"\nmonths = {ticks}\nreplicates = {replicates}\nseed = 1\n\
         [population]\nccgs = {ccgs}\n{sizes}\
         [[population.commissioning]]\nfrom = \"2015-04\"\ndelegated = {delegated}\njoint = {joint}\ngreater_involvement = {greater}\n\
         [policy]\ntraining = {{ rate = 0.10 }}\ndata_review = {{ rate = 0.08 }}\n\
         targets = {{ rate = 0.05, min_level = \"joint\" }}\n\
         sanctions = {{ rate = 0.2, target = \"underperformers\", min_level = \"delegated\" }}\n\
         [policy.escalation]\n"
    )
}

/// Peak resident set size of this process (Linux: VmHWM), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Reset the peak resident set size so the next reading covers only what follows (Linux).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Run one configuration `repeat` times on `threads` threads and measure it.
pub fn bench_one(
    label: &str,
    scenario: &Scenario,
    threads: usize,
    repeat: u32,
) -> anyhow::Result<BenchResult> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("could not start worker threads")?;
    let mut times = Vec::with_capacity(repeat as usize);
    reset_peak_rss();
    let mut practices = 0;
    let mut ccgs = 0;
    for _ in 0..repeat.max(1) {
        let clock = Instant::now();
        // Building the population is part of a run: it is what a user waits for.
        let population = Population::build(scenario);
        practices = population.practices();
        ccgs = population.ccgs.len();
        let options = EnsembleOptions {
            replicates: scenario.replicates,
            by_ccg: false,
        };
        let cancel = crate::signals::cancel_flag();
        let summary =
            pool.install(|| run_ensemble(scenario, &population, options, cancel, |_, _| Ok(())))?;
        std::hint::black_box(&summary);
        times.push(clock.elapsed().as_secs_f64());
    }
    let peak_rss_bytes = peak_rss();
    times.sort_by(f64::total_cmp);
    let wall = times[times.len() / 2];
    let updates = practices as f64 * scenario.months as f64 * scenario.replicates as f64;
    Ok(BenchResult {
        label: label.to_string(),
        ccgs,
        practices,
        ticks: scenario.months,
        replicates: scenario.replicates,
        threads,
        wall_seconds: wall,
        min_seconds: times[0],
        max_seconds: times[times.len() - 1],
        updates_per_second: updates / wall,
        peak_rss_bytes,
        parallel_efficiency: None,
    })
}

/// `ccgsim bench`.
pub fn bench_command(args: BenchArgs) -> anyhow::Result<()> {
    let (label, ccgs) = match (args.preset, args.ccgs) {
        (Some(p), _) => (p.name().to_string(), p.ccgs()),
        (None, Some(m)) => (
            match args.practices_per_ccg {
                Some(k) => format!("{m}x{k}"),
                None => format!("{m}-ccgs"),
            },
            m,
        ),
        (None, None) => (Preset::England.name().to_string(), Preset::England.ccgs()),
    };
    if ccgs == 0 || args.ticks == 0 || args.replicates == 0 || args.repeat == 0 {
        return Err(crate::cli::UsageError::new(
            "--ccgs, --ticks, --replicates and --repeat must be at least 1",
        )
        .into());
    }
    if args.practices_per_ccg == Some(0) {
        return Err(crate::cli::UsageError::new("--practices-per-ccg must be at least 1").into());
    }
    let max_threads = args.resources.threads()?;
    let mut text = bench_scenario(ccgs, args.practices_per_ccg, args.ticks, args.replicates);
    if args.answers == BenchAnswers::Expected {
        text.push_str("[model.survey]\nanswers = \"expected\"\n");
    }
    let scenario = Scenario::parse(&text, Path::new("bench.toml"))?;
    let shape = crate::limits::Shape::of_scenario(&scenario);
    args.resources.enforce(
        "the benchmark",
        &crate::limits::run(&scenario, &shape, max_threads, false),
        max_threads,
        "use fewer CCGs, practices or threads, or give --max-memory if more can be used",
    )?;

    let thread_counts: Vec<usize> = if args.scaling {
        (1..=max_threads).collect()
    } else {
        vec![max_threads]
    };
    let mut results: Vec<BenchResult> = Vec::new();
    print_header();
    for &threads in &thread_counts {
        let mut r = bench_one(&label, &scenario, threads, args.repeat)?;
        if args.scaling {
            let t1 = results.first().map_or(r.wall_seconds, |b| b.wall_seconds);
            r.parallel_efficiency = Some(t1 / (r.wall_seconds * threads as f64));
        }
        print_row(&r);
        results.push(r);
    }
    if let Some(path) = &args.csv {
        append_csv(path, &results)?;
    }
    Ok(())
}

fn print_header() {
    println!(
        "# monthly loops compiled for: {} (results do not depend on it)",
        crate::simd::Simd::get().name()
    );
    println!(
        "{:<14} {:>8} {:>11} {:>6} {:>5} {:>7} {:>10} {:>14} {:>10} {:>9} {:>7}",
        "population",
        "ccgs",
        "practices",
        "ticks",
        "reps",
        "threads",
        "wall s",
        "updates/s",
        "peak MiB",
        "B/prac",
        "eff"
    );
}

fn print_row(r: &BenchResult) {
    println!(
        "{:<14} {:>8} {:>11} {:>6} {:>5} {:>7} {:>10.3} {:>14.3e} {:>10} {:>9} {:>7}",
        r.label,
        r.ccgs,
        r.practices,
        r.ticks,
        r.replicates,
        r.threads,
        r.wall_seconds,
        r.updates_per_second,
        r.peak_rss_bytes.map_or("NA".into(), |b| format!(
            "{:.1}",
            b as f64 / (1 << 20) as f64
        )),
        r.bytes_per_practice()
            .map_or("NA".into(), |b| format!("{b:.1}")),
        r.parallel_efficiency
            .map_or("".into(), |e| format!("{:.0}%", 100.0 * e)),
    );
}

const CSV_HEADER: &str = "population,ccgs,practices,ticks,replicates,threads,wall_seconds,min_seconds,max_seconds,practice_updates_per_second,peak_rss_bytes,bytes_per_practice,parallel_efficiency";

fn append_csv(path: &Path, results: &[BenchResult]) -> anyhow::Result<()> {
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("could not write '{}'", path.display()))?;
    let mut text = String::new();
    if new {
        text.push_str(CSV_HEADER);
        text.push('\n');
    }
    for r in results {
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            r.label,
            r.ccgs,
            r.practices,
            r.ticks,
            r.replicates,
            r.threads,
            r.wall_seconds,
            r.min_seconds,
            r.max_seconds,
            r.updates_per_second,
            r.peak_rss_bytes.map_or("NA".into(), |b| b.to_string()),
            r.bytes_per_practice()
                .map_or("NA".into(), |b| format!("{b:.2}")),
            r.parallel_efficiency
                .map_or("NA".into(), |e| format!("{e:.4}")),
        ));
    }
    f.write_all(text.as_bytes())
        .with_context(|| format!("could not write '{}'", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_scenarios_are_valid_and_use_every_action() {
        for (ccgs, k) in [(209, None), (20, Some(50)), (3, Some(1))] {
            let s =
                Scenario::parse(&bench_scenario(ccgs, k, 12, 2), Path::new("bench.toml")).unwrap();
            assert!(s.policy.escalation.is_some());
            assert!(s.policy.sanctions.rate > 0.0 && s.policy.targets.rate > 0.0);
            let p = Population::build(&s);
            assert_eq!(p.ccgs.len(), ccgs as usize);
            if let Some(k) = k {
                assert!(p.ccgs.iter().all(|c| c.practices == k));
            }
        }
    }

    #[test]
    fn huge_preset_has_at_least_ten_million_practices() {
        let s = Scenario::parse(
            &bench_scenario(Preset::Huge.ccgs(), None, 1, 1),
            Path::new("b.toml"),
        )
        .unwrap();
        let p = Population::build(&s);
        assert!(p.practices() >= 10_000_000, "{}", p.practices());
    }

    #[test]
    fn a_tiny_bench_measures_something() {
        let s = Scenario::parse(&bench_scenario(4, Some(10), 3, 2), Path::new("b.toml")).unwrap();
        let r = bench_one("tiny", &s, 1, 1).unwrap();
        assert_eq!(r.practices, 40);
        assert!(r.wall_seconds > 0.0 && r.updates_per_second > 0.0);
    }
}
