//! Criterion benchmarks of the engine: the monthly step of one CCG at several sizes (so the growth
//! of cost with size is visible), one replicate of England 2015, and a small ensemble.
//! Whole-run throughput and memory at larger scales: `ccgsim bench`.

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use ccgsim::bench::bench_scenario;
use ccgsim::engine::{Environment, Workspace, empty_tallies, simulate_ccg};
use ccgsim::experiment::{EnsembleOptions, run_ensemble};
use ccgsim::population::Population;
use ccgsim::scenario::Scenario;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const MONTHS: u32 = 12;

/// One CCG of `practices` practices for 12 months: throughput in practice-months.
fn ccg_months(c: &mut Criterion) {
    let mut group = c.benchmark_group("ccg_12_months");
    for practices in [10u32, 33, 100, 1_000, 10_000] {
        let text = bench_scenario(1, Some(practices), MONTHS, 1);
        let scenario = Scenario::parse(&text, Path::new("bench.toml")).unwrap();
        let population = Population::build(&scenario);
        let env = Environment::new(&scenario);
        let mut ws = Workspace::default();
        let mut out = empty_tallies(&scenario);
        group.throughput(Throughput::Elements(practices as u64 * MONTHS as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(practices),
            &practices,
            |b, _| {
                let mut replicate = 0;
                b.iter(|| {
                    out.iter_mut().for_each(|t| t.fill(0.0));
                    simulate_ccg(
                        &scenario,
                        &env,
                        &population.ccgs[0],
                        replicate,
                        &mut ws,
                        &mut out,
                    );
                    replicate += 1;
                    black_box(&out);
                })
            },
        );
    }
    group.finish();
}

fn england_scenario(replicates: u32) -> (Scenario, Population) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/england_2015.toml");
    let mut scenario = Scenario::load(Path::new(path)).unwrap();
    scenario.replicates = replicates;
    let population = Population::build(&scenario);
    (scenario, population)
}

/// One replicate of England 2015 (209 CCGs, about 7,800 practices, 36 months), single-threaded.
fn england_replicate(c: &mut Criterion) {
    let (scenario, population) = england_scenario(1);
    let env = Environment::new(&scenario);
    let mut group = c.benchmark_group("england_2015");
    group.throughput(Throughput::Elements(
        population.practices() * scenario.months as u64,
    ));
    group.bench_function("one_replicate", |b| {
        let mut ws = Workspace::default();
        let mut out = empty_tallies(&scenario);
        b.iter(|| {
            for ccg in &population.ccgs {
                out.iter_mut().for_each(|t| t.fill(0.0));
                simulate_ccg(&scenario, &env, ccg, 0, &mut ws, &mut out);
            }
            black_box(&out);
        })
    });
    group.finish();
}

/// An ensemble of 10 England replicates on the global pool (all cores), with per-CCG summaries.
fn england_ensemble(c: &mut Criterion) {
    let (scenario, population) = england_scenario(10);
    let mut group = c.benchmark_group("england_2015");
    group.sample_size(10);
    group.throughput(Throughput::Elements(
        population.practices() * scenario.months as u64 * 10,
    ));
    group.bench_function("ensemble_10_replicates", |b| {
        b.iter(|| {
            let options = EnsembleOptions {
                replicates: 10,
                by_ccg: true,
            };
            let s = run_ensemble(
                &scenario,
                &population,
                options,
                &AtomicBool::new(false),
                |_, _| Ok(()),
            );
            black_box(s.unwrap());
        })
    });
    group.finish();
}

criterion_group!(benches, ccg_months, england_replicate, england_ensemble);
criterion_main!(benches);
