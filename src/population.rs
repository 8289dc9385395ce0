//! The initial world: CCGs with their sizes, governance and co-commissioning timeline, built from
//! a [`Scenario`]. A listed population, and a generated one with `structure = "fixed"`, is built
//! once per run (the same for every replicate); a generated one with `structure =
//! "per_replicate"` (the default) is drawn afresh for each replicate ([`Population::for_replicate`]).
//! Practice states are drawn per replicate by the engine.

use rand::RngExt;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, StandardNormal};

use crate::calendar::Month;
use crate::model::CommissioningLevel;
use crate::rng::{Purpose, derive_seed, stream};
use crate::scenario::{Governance, LevelCounts, LogNormal, PopulationSpec, Scenario, Structure};
use crate::stats::normal_quantile;

/// A CCG and its membership.
#[derive(Debug, Clone, PartialEq)]
pub struct Ccg {
    pub id: String,
    /// Position in the population; part of the seed of this CCG's RNG streams.
    pub index: u32,
    /// Member practices.
    pub practices: u32,
    /// Registered patients over all member practices.
    pub patients: u64,
    /// Localities (peer groups).
    pub localities: u32,
    pub governance: Governance,
    /// Co-commissioning level at each tick, 0..=months.
    pub levels: Vec<CommissioningLevel>,
}

/// Every CCG of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    pub ccgs: Vec<Ccg>,
}

impl Population {
    /// A hex SHA-256 of the population's structure: each CCG's id, size, patients and
    /// localities, in index order. Two runs with the same fingerprint and seed simulate the same
    /// CCG on the same random stream in each replicate, so they can be compared replicate by
    /// replicate (`ccgsim compare`). Governance and commissioning levels are not part of it:
    /// they are what comparisons vary.
    pub fn fingerprint(&self) -> String {
        let mut text = String::new();
        for c in &self.ccgs {
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\n",
                c.index, c.id, c.practices, c.patients, c.localities
            ));
        }
        use sha2::{Digest, Sha256};
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The fingerprint a run's manifest records (`population_sha256`): the structure's own
    /// [`Population::fingerprint`] when it is fixed; when it is drawn per replicate, a hash of
    /// the inputs that generate it (number of CCGs, size and list-size distributions, practices
    /// per locality), so that two runs with the same fingerprint and seed again simulate the same
    /// CCGs on the same streams, replicate by replicate.
    pub fn run_fingerprint(scenario: &Scenario, fixed: &Population) -> String {
        let PopulationSpec::Generated {
            ccgs,
            practices_per_ccg,
            governance,
            structure: Structure::PerReplicate,
            ..
        } = &scenario.population
        else {
            return fixed.fingerprint();
        };
        let text = format!(
            "per_replicate\t{ccgs}\t{practices_per_ccg:?}\t{:?}\t{}\n",
            scenario.list_size, governance.practices_per_locality
        );
        use sha2::{Digest, Sha256};
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Build the population `scenario` describes; structural draws use the scenario seed. This is
    /// the structure of every replicate when it is fixed; when it is drawn per replicate it only
    /// sizes the run (memory and time estimates) and each replicate uses
    /// [`Population::for_replicate`].
    pub fn build(scenario: &Scenario) -> Population {
        Population::build_from(scenario, scenario.seed)
    }

    /// The structure replicate `r` simulates: `fixed` (the result of [`Population::build`]) when
    /// the structure is fixed, otherwise a structure drawn from streams under the seed
    /// `derive_seed(seed, Structure, 2, r)`.
    pub fn for_replicate<'a>(
        scenario: &Scenario,
        fixed: &'a Population,
        r: u32,
    ) -> std::borrow::Cow<'a, Population> {
        match scenario.structure() {
            Structure::Fixed => std::borrow::Cow::Borrowed(fixed),
            Structure::PerReplicate => std::borrow::Cow::Owned(Population::build_from(
                scenario,
                derive_seed(scenario.seed, Purpose::Structure, 2, r as u64),
            )),
        }
    }

    /// What `by_ccg.csv` and the manifest describe: the structure itself when it is fixed; when
    /// it is drawn per replicate, CCG by CCG (by index) the replicate-mean practices, patients
    /// and localities, rounded, and at each tick the co-commissioning level most replicates
    /// hold (ties to the lower level). Without `levels` (no `by_ccg.csv` to write) the levels
    /// are `fixed`'s and the tally of levels, a count per CCG and tick, is not kept.
    pub fn summary(
        scenario: &Scenario,
        fixed: &Population,
        replicates: u32,
        levels: bool,
    ) -> Population {
        if scenario.structure() == Structure::Fixed || replicates == 0 {
            return fixed.clone();
        }
        let n = fixed.ccgs.len();
        let ticks = if levels {
            scenario.months as usize + 1
        } else {
            0
        };
        let mut sums = vec![(0u64, 0u64, 0u64); n];
        let mut counts = vec![[0u32; 4]; n * ticks];
        for r in 0..replicates {
            let p = Population::for_replicate(scenario, fixed, r);
            for (i, c) in p.ccgs.iter().enumerate() {
                sums[i].0 += c.practices as u64;
                sums[i].1 += c.patients;
                sums[i].2 += c.localities as u64;
                for (t, l) in c.levels.iter().take(ticks).enumerate() {
                    counts[i * ticks + t][level_index(*l)] += 1;
                }
            }
        }
        let mean = |x: u64| (x as f64 / replicates as f64).round() as u64;
        let ccgs = fixed
            .ccgs
            .iter()
            .enumerate()
            .map(|(i, c)| Ccg {
                practices: mean(sums[i].0) as u32,
                patients: mean(sums[i].1),
                localities: mean(sums[i].2) as u32,
                levels: if levels {
                    (0..ticks)
                        .map(|t| {
                            let k = &counts[i * ticks + t];
                            let best = (0..4).fold(0, |b, j| if k[j] > k[b] { j } else { b });
                            LEVELS[best]
                        })
                        .collect()
                } else {
                    c.levels.clone()
                },
                ..c.clone()
            })
            .collect();
        Population { ccgs }
    }

    fn build_from(scenario: &Scenario, seed: u64) -> Population {
        let months = scenario.months;
        let ticks: Vec<Month> = (0..=months).map(|t| scenario.month_of(t)).collect();
        let ccgs = match &scenario.population {
            PopulationSpec::Listed(specs) => specs
                .iter()
                .enumerate()
                .map(|(i, spec)| {
                    let levels = ticks
                        .iter()
                        .map(|&m| {
                            spec.commissioning
                                .iter()
                                .rev()
                                .find(|c| c.from <= m)
                                .map_or(CommissioningLevel::None, |c| c.level)
                        })
                        .collect();
                    make_ccg(
                        scenario,
                        seed,
                        i as u32,
                        spec.id.clone(),
                        spec.practices,
                        spec.localities,
                        spec.governance.clone(),
                        levels,
                    )
                })
                .collect(),
            PopulationSpec::Generated {
                ccgs,
                practices_per_ccg,
                commissioning,
                governance,
                ..
            } => {
                let n = *ccgs as usize;
                let mut rng = stream(seed, Purpose::Structure, 0, 0);
                // Stratified draw of CCG sizes: one value from each of n equal-probability strata,
                // in random order, so the population matches the distribution closely.
                let mut strata: Vec<usize> = (0..n).collect();
                strata.shuffle(&mut rng);
                // Readiness order for co-commissioning: the first `delegated` CCGs in this order
                // are delegated, the next `joint` joint, and so on.
                let mut readiness: Vec<usize> = (0..n).collect();
                readiness.shuffle(&mut rng);
                let mut rank = vec![0usize; n];
                for (r, &c) in readiness.iter().enumerate() {
                    rank[c] = r;
                }
                (0..n)
                    .map(|i| {
                        let u = (strata[i] as f64 + rng.random::<f64>()) / n as f64;
                        let size = lognormal_quantile(practices_per_ccg, u).round() as u32;
                        let levels = ticks
                            .iter()
                            .map(|&m| level_by_rank(commissioning, m, rank[i]))
                            .collect();
                        make_ccg(
                            scenario,
                            seed,
                            i as u32,
                            format!("CCG{:03}", i + 1),
                            size.max(1),
                            None,
                            governance.clone(),
                            levels,
                        )
                    })
                    .collect()
            }
        };
        Population { ccgs }
    }

    pub fn practices(&self) -> u64 {
        self.ccgs.iter().map(|c| c.practices as u64).sum()
    }

    pub fn patients(&self) -> u64 {
        self.ccgs.iter().map(|c| c.patients).sum()
    }
}

/// One CCG merging into another (ODD 7.17, eq. M4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merger {
    /// The month (tick) from which the merged CCG exists.
    pub tick: u32,
    /// The CCG that carries on (its id and streams), and the one it takes in: indices into the
    /// group's CCGs in [`MergerPlan::groups`] order.
    pub survivor: usize,
    pub absorbed: usize,
}

/// Which CCGs of a population merge, and when (ODD 7.17, eq. M4). At each round of
/// `[model.mergers] ccg_rounds` in the run, while more CCGs remain than the round allows, the
/// CCG with the fewest patients (the first such) merges with the smaller of its neighbours in
/// the population's order (the one before it on a tie); the merged CCG carries on as the
/// larger of the two (the first on a tie). The order stands in for geography: neighbours in a
/// listed population are neighbours in its list. Every group of CCGs that merge is a run of
/// consecutive indices, simulated together; without mergers every CCG is a group of one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergerPlan {
    /// The groups, consecutive ranges of CCG indices covering the population in order.
    pub groups: Vec<std::ops::Range<usize>>,
    /// Each group's mergers in the order they happen, with indices relative to its start.
    pub mergers: Vec<Vec<Merger>>,
}

impl MergerPlan {
    pub fn new(scenario: &Scenario, population: &Population) -> MergerPlan {
        let n = population.ccgs.len();
        let m = &scenario.model.mergers;
        // (range, patients, survivor) of each CCG as it stands, in order.
        let mut active: Vec<(std::ops::Range<usize>, u64, usize)> = population
            .ccgs
            .iter()
            .enumerate()
            .map(|(i, c)| (i..i + 1, c.patients, i))
            .collect();
        let mut events: Vec<(u32, usize, usize)> = Vec::new();
        if m.enabled {
            for round in &m.ccg_rounds {
                let tick = round.from.months_since(scenario.start);
                if tick < 1 || tick > scenario.months as i32 {
                    continue;
                }
                while active.len() > (round.ccgs as usize).max(1) {
                    let k = (0..active.len())
                        .min_by_key(|&k| (active[k].1, k))
                        .expect("more than one CCG");
                    let partner = match (k.checked_sub(1), (k + 1 < active.len()).then_some(k + 1))
                    {
                        (Some(a), Some(b)) if active[b].1 < active[a].1 => b,
                        (Some(a), _) => a,
                        (None, Some(b)) => b,
                        (None, None) => unreachable!("more than one CCG"),
                    };
                    let (a, b) = (k.min(partner), k.max(partner));
                    let (first, second) = (active[a].clone(), active.remove(b));
                    let survivor = if second.1 > first.1 {
                        second.2
                    } else {
                        first.2
                    };
                    let absorbed = if survivor == first.2 {
                        second.2
                    } else {
                        first.2
                    };
                    events.push((tick as u32, survivor, absorbed));
                    active[a] = (first.0.start..second.0.end, first.1 + second.1, survivor);
                }
            }
        }
        let groups: Vec<std::ops::Range<usize>> = active.into_iter().map(|(r, _, _)| r).collect();
        debug_assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), n);
        let mergers = groups
            .iter()
            .map(|g| {
                events
                    .iter()
                    .filter(|(_, s, _)| g.contains(s))
                    .map(|&(tick, s, a)| Merger {
                        tick,
                        survivor: s - g.start,
                        absorbed: a - g.start,
                    })
                    .collect()
            })
            .collect();
        MergerPlan { groups, mergers }
    }
}

/// The levels in increasing order of involvement.
const LEVELS: [CommissioningLevel; 4] = [
    CommissioningLevel::None,
    CommissioningLevel::GreaterInvolvement,
    CommissioningLevel::Joint,
    CommissioningLevel::Delegated,
];

fn level_index(l: CommissioningLevel) -> usize {
    LEVELS.iter().position(|&x| x == l).unwrap_or(0)
}

#[allow(clippy::too_many_arguments)]
fn make_ccg(
    scenario: &Scenario,
    seed: u64,
    index: u32,
    id: String,
    practices: u32,
    localities: Option<u32>,
    governance: Governance,
    levels: Vec<CommissioningLevel>,
) -> Ccg {
    // List sizes come from the CCG's own structure stream, so a CCG's patients do not depend on
    // the other CCGs.
    let mut rng = stream(seed, Purpose::Structure, 1, index as u64);
    let ls = &scenario.list_size;
    let patients = (0..practices)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            (ls.mu + ls.sigma * z).exp().clamp(ls.min, ls.max).round() as u64
        })
        .sum();
    let localities = localities
        .unwrap_or_else(|| practices.div_ceil(governance.practices_per_locality))
        .clamp(1, practices.max(1));
    Ccg {
        id,
        index,
        practices,
        patients,
        localities,
        governance,
        levels,
    }
}

fn lognormal_quantile(d: &LogNormal, u: f64) -> f64 {
    (d.mu + d.sigma * normal_quantile(u))
        .exp()
        .clamp(d.min, d.max)
}

fn level_by_rank(counts: &[LevelCounts], month: Month, rank: usize) -> CommissioningLevel {
    let Some(c) = counts.iter().rev().find(|c| c.from <= month) else {
        return CommissioningLevel::None;
    };
    let (d, j, g) = (
        c.delegated as usize,
        c.joint as usize,
        c.greater_involvement as usize,
    );
    if rank < d {
        CommissioningLevel::Delegated
    } else if rank < d + j {
        CommissioningLevel::Joint
    } else if rank < d + j + g {
        CommissioningLevel::GreaterInvolvement
    } else {
        CommissioningLevel::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn generated_england_matches_the_real_size_distribution() {
        let s = Scenario::parse("", Path::new("england.toml")).unwrap();
        let p = Population::build(&s);
        assert_eq!(p.ccgs.len(), 209);
        let practices = p.practices();
        // 2014-15: 7,779 practices in 209 CCGs.
        assert!((7_500..=8_100).contains(&practices), "{practices}");
        let mut sizes: Vec<u32> = p.ccgs.iter().map(|c| c.practices).collect();
        sizes.sort();
        let median = sizes[104];
        assert!((30..=36).contains(&median), "median {median}");
        let mean_list = p.patients() as f64 / practices as f64;
        assert!(
            (6_800.0..7_800.0).contains(&mean_list),
            "mean list {mean_list}"
        );
    }

    #[test]
    fn commissioning_counts_are_met_and_delegation_is_kept() {
        let text = "months = 40\n[[population.commissioning]]\nfrom = \"2015-04\"\ndelegated = 63\njoint = 86\ngreater_involvement = 55\n[[population.commissioning]]\nfrom = \"2016-04\"\ndelegated = 115\njoint = 68\ngreater_involvement = 26\n";
        let s = Scenario::parse(text, Path::new("e.toml")).unwrap();
        let p = Population::build(&s);
        let count = |tick: usize, level| p.ccgs.iter().filter(|c| c.levels[tick] == level).count();
        assert_eq!(count(0, CommissioningLevel::None), 209);
        assert_eq!(count(24, CommissioningLevel::Delegated), 63);
        assert_eq!(count(24, CommissioningLevel::Joint), 86);
        assert_eq!(count(36, CommissioningLevel::Delegated), 115);
        assert_eq!(count(36, CommissioningLevel::GreaterInvolvement), 26);
        for c in &p.ccgs {
            if c.levels[24] == CommissioningLevel::Delegated {
                assert_eq!(c.levels[36], CommissioningLevel::Delegated);
            }
        }
    }

    #[test]
    fn building_is_deterministic() {
        let s = Scenario::parse("seed = 9\n", Path::new("x.toml")).unwrap();
        assert_eq!(Population::build(&s), Population::build(&s));
    }

    #[test]
    fn per_replicate_structures_differ_and_fixed_ones_do_not() {
        let text = "seed = 3\n[population]\nccgs = 12\n[[population.commissioning]]\nfrom = \"2013-06\"\ndelegated = 4\njoint = 3\n";
        let per = Scenario::parse(text, Path::new("p.toml")).unwrap();
        assert_eq!(per.structure(), Structure::PerReplicate);
        let fixed_text = text.replace("ccgs = 12", "ccgs = 12\nstructure = \"fixed\"");
        let fixed = Scenario::parse(&fixed_text, Path::new("f.toml")).unwrap();
        let p0 = Population::build(&per);
        assert_eq!(p0, Population::build(&fixed), "fixed is the seed's draw");
        let (a, b) = (
            Population::for_replicate(&per, &p0, 0),
            Population::for_replicate(&per, &p0, 1),
        );
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a, Population::for_replicate(&per, &p0, 0), "deterministic");
        for p in [&a, &b] {
            let delegated = p
                .ccgs
                .iter()
                .filter(|c| c.levels[5] == CommissioningLevel::Delegated)
                .count();
            assert_eq!(delegated, 4, "counts hold in every replicate");
        }
        assert_eq!(*Population::for_replicate(&fixed, &p0, 7), p0);
        // The summary: replicate means and modal levels.
        let s = Population::summary(&per, &p0, 5, true);
        let mean0 = (0..5)
            .map(|r| Population::for_replicate(&per, &p0, r).ccgs[0].practices as f64)
            .sum::<f64>()
            / 5.0;
        assert_eq!(s.ccgs[0].practices, mean0.round() as u32);
        assert_eq!(Population::summary(&fixed, &p0, 5, true), p0);
        // The fingerprint names the generating inputs: not the levels (which comparisons vary),
        // but the sizes.
        let other_levels = Scenario::parse(
            &text.replace("delegated = 4", "delegated = 6"),
            Path::new("o.toml"),
        )
        .unwrap();
        assert_eq!(
            Population::run_fingerprint(&per, &p0),
            Population::run_fingerprint(&other_levels, &Population::build(&other_levels))
        );
        assert_eq!(
            Population::for_replicate(&per, &p0, 2).fingerprint(),
            Population::for_replicate(&other_levels, &p0, 2).fingerprint()
        );
        let bigger =
            Scenario::parse(&text.replace("ccgs = 12", "ccgs = 13"), Path::new("b.toml")).unwrap();
        assert_ne!(
            Population::run_fingerprint(&per, &p0),
            Population::run_fingerprint(&bigger, &Population::build(&bigger))
        );
        assert_ne!(
            Population::run_fingerprint(&per, &p0),
            Population::run_fingerprint(&fixed, &p0)
        );
    }
}
