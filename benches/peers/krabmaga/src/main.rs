//! ccgsim's CCG / GP-practice model written for krABMaga, a peer implementation for docking and
//! speed comparison.
//!
//!     ccg-krabmaga SCENARIO.json TALLIES.json
//!
//! reads a resolved scenario (written by `ccg_krabmaga.py`: every parameter with its default,
//! the schedules at every tick, the CCG population), simulates every replicate and writes each
//! replicate's tally at every tick, with the seconds the simulation took. The metrics and the
//! summary are made from the tallies on the Python side, as for the other peers.
//!
//! One replicate is one [`Commissioning`] state with its own seeded generator (PCG-64,
//! `rand_pcg::Pcg64`) and one krABMaga [`Schedule`]: the state's `init` creates the practices
//! and schedules each repeating, and each `Schedule::step` is one month. Replicates run one
//! after another on one thread.

mod model;
mod scenario;
mod tally;

use std::error::Error;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::sync::Arc;
use std::time::Instant;

use krabmaga::engine::schedule::Schedule;
use krabmaga::engine::state::State;
use serde::Serialize;

use model::state::Commissioning;
use scenario::{Params, Scenario};

#[derive(Serialize)]
struct Output<'a> {
    implementation: &'static str,
    scenario: &'a str,
    practices: usize,
    months: u64,
    replicates: u64,
    /// Wall time of building every replicate's state and agents and simulating its months.
    seconds: f64,
    tally: &'static [&'static str],
    /// (replicate, tick 0..=months, tally column)
    tallies: Vec<Vec<&'a [f64]>>,
}

/// The seed of replicate `r` of a run with master seed `seed` (SplitMix64 of the pair).
fn replicate_seed(seed: u64, r: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(r.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One replicate: the schedule's step loop, as `simulate!` runs it without its terminal UI.
fn run_replicate(params: &Arc<Params>, seed: u64) -> Vec<tally::Tally> {
    let mut state = Commissioning::new(Arc::clone(params), seed);
    let mut schedule = Schedule::new();
    state.init(&mut schedule);
    for _ in 0..params.months {
        schedule.step(&mut state);
        if state.end_condition(&mut schedule) {
            break;
        }
    }
    state.tallies
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, scenario_path, out_path] = args.as_slice() else {
        return Err("usage: ccg-krabmaga SCENARIO.json TALLIES.json".into());
    };
    let sc: Scenario = serde_json::from_reader(BufReader::new(File::open(scenario_path)?))?;
    if sc.tally != tally::NAMES {
        return Err("the scenario's tally columns are not this program's".into());
    }
    let (name, replicates, seed) = (sc.name.clone(), sc.replicates, sc.seed);
    let params = Params::new(sc);
    params.check()?;
    let params = Arc::new(params);

    let clock = Instant::now();
    let tallies: Vec<_> = (0..replicates)
        .map(|r| run_replicate(&params, replicate_seed(seed, r)))
        .collect();
    let seconds = clock.elapsed().as_secs_f64();

    let practices = params.practices();
    println!(
        "krabmaga: {name}: {replicates} replicates of {practices} practices, {} months: \
         {seconds:.3} s",
        params.months
    );
    let out = Output {
        implementation: "krabmaga",
        scenario: &name,
        practices,
        months: params.months,
        replicates,
        seconds,
        tally: &tally::NAMES,
        tallies: tallies
            .iter()
            .map(|ticks| ticks.iter().map(|t| t.as_slice()).collect())
            .collect(),
    };
    serde_json::to_writer(BufWriter::new(File::create(out_path)?), &out)?;
    Ok(())
}
