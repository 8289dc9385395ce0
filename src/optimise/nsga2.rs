//! Real-coded NSGA-II for minimisation (Deb, Pratap, Agarwal and Meyarivan 2002).
//!
//! One generation of the algorithm, as in section III of the paper:
//!
//! 1. From the parents P (ranked by non-domination and crowding), make |P| children Q by binary
//!    tournament selection on the crowded-comparison operator, simulated binary crossover (SBX;
//!    Deb and Agrawal 1995) and polynomial mutation (Deb and Goyal 1996) ([`offspring`]).
//! 2. Evaluate Q (the caller's job, so batches can be evaluated in parallel).
//! 3. Sort P + Q into fronts by fast non-dominated sorting and keep the best |P|, whole fronts
//!    first, the last front that does not fit truncated by crowding distance ([`select`]).
//!
//! Constraints are handled by Deb's (2000) constrained domination: each individual carries one
//! non-negative total violation, 0 when feasible. A feasible solution beats an infeasible one,
//! two infeasible solutions compare by violation alone, and two feasible ones by Pareto dominance
//! ([`dominates`]).
//!
//! Variation follows Deb's reference C implementation (NSGA-II v1.1.6, "nsga2-gnu"): the bounded
//! SBX, whose spread factor accounts for the distance of each parent to its bound, applied to each
//! variable with probability 1/2 and with the children swapped with probability 1/2; and the
//! bounded ("highly disruptive") polynomial mutation. Children are clamped to the bounds.
//!
//! Everything is deterministic given the random number generator: ties in every sort are broken
//! by index, and floating-point values are ordered by `total_cmp`. Objective values must not be
//! NaN (a NaN compares as neither better nor worse, so such an individual is never dominated).

use std::cmp::Ordering;

use rand::RngExt;
use rand::seq::SliceRandom;

/// One evaluated solution: decision variables `x`, objective values `f` (all minimised), and the
/// total constraint violation (>= 0; 0 means feasible), as in Deb (2000).
#[derive(Debug, Clone, PartialEq)]
pub struct Individual {
    /// Decision variables, one per bound.
    pub x: Vec<f64>,
    /// Objective values, all to be minimised.
    pub f: Vec<f64>,
    /// Total constraint violation, >= 0; 0 for a feasible solution.
    pub violation: f64,
}

impl Individual {
    /// Whether the solution satisfies every constraint (violation 0).
    pub fn feasible(&self) -> bool {
        self.violation <= 0.0
    }
}

/// The operators' parameters, with the defaults of Deb et al. (2002, section V): crossover
/// probability 0.9, SBX distribution index eta_c = 15 (the paper uses 20; 15 is the common
/// default of later implementations), mutation probability 1/n per variable and polynomial
/// mutation distribution index eta_m = 20.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Population size N (the number of parents and of children in each generation).
    pub population: usize,
    /// Probability that a pair of parents is recombined by SBX (otherwise copied).
    pub crossover_probability: f64,
    /// SBX distribution index eta_c: larger values make children closer to their parents.
    pub crossover_eta: f64,
    /// Probability that each variable is mutated; `None` means 1/n for n variables.
    pub mutation_probability: Option<f64>,
    /// Polynomial mutation distribution index eta_m: larger values make smaller mutations.
    pub mutation_eta: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            population: 100,
            crossover_probability: 0.9,
            crossover_eta: 15.0,
            mutation_probability: None,
            mutation_eta: 20.0,
        }
    }
}

/// Pareto dominance of objective vectors for minimisation: `a` is no worse than `b` in every
/// objective and strictly better in at least one.
fn pareto_dominates(a: &[f64], b: &[f64]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    let mut strictly = false;
    for (x, y) in a.iter().zip(b) {
        if x > y {
            return false;
        }
        if x < y {
            strictly = true;
        }
    }
    strictly
}

/// Constrained domination (Deb 2000, definition 1; Deb et al. 2002, section VI): `a` dominates
/// `b` if `a` is feasible and `b` is not; or both are infeasible and `a` has the smaller
/// violation; or both are feasible and `a` Pareto-dominates `b` (no worse in every objective,
/// strictly better in at least one).
pub fn dominates(a: &Individual, b: &Individual) -> bool {
    match (a.feasible(), b.feasible()) {
        (true, false) => true,
        (false, true) => false,
        (false, false) => a.violation < b.violation,
        (true, true) => pareto_dominates(&a.f, &b.f),
    }
}

/// Fast non-dominated sorting (Deb et al. 2002, section III-A), O(M N^2), under constrained
/// domination: the fronts F1, F2, ... in order, F1 the individuals no one dominates, F2 those
/// dominated only by members of F1, and so on. Each front lists indices into `pop` in increasing
/// order; together the fronts hold every index once.
pub fn non_dominated_sort(pop: &[Individual]) -> Vec<Vec<usize>> {
    let n = pop.len();
    // S_p: the individuals p dominates; n_p: how many dominate p.
    let mut dominated: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut count = vec![0usize; n];
    for p in 0..n {
        for q in (p + 1)..n {
            if dominates(&pop[p], &pop[q]) {
                dominated[p].push(q);
                count[q] += 1;
            } else if dominates(&pop[q], &pop[p]) {
                dominated[q].push(p);
                count[p] += 1;
            }
        }
    }
    let mut fronts = Vec::new();
    let mut current: Vec<usize> = (0..n).filter(|&p| count[p] == 0).collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &p in &current {
            for &q in &dominated[p] {
                count[q] -= 1;
                if count[q] == 0 {
                    next.push(q);
                }
            }
        }
        next.sort_unstable();
        fronts.push(current);
        current = next;
    }
    fronts
}

/// The indices of the non-dominated individuals of `pop` (the first front under constrained
/// domination), in increasing order.
pub fn pareto_indices(pop: &[Individual]) -> Vec<usize> {
    (0..pop.len())
        .filter(|&i| !pop.iter().any(|other| dominates(other, &pop[i])))
        .collect()
}

/// Crowding distance of the members of one front (Deb et al. 2002, section III-B): for each
/// objective, sort the front by it; the two extremes get an infinite distance and every other
/// member adds the normalised gap between its neighbours, (f_m(next) - f_m(previous)) / (f_m^max -
/// f_m^min) (an objective with no range adds nothing). The result is aligned with `front`.
/// Ties in an objective are ordered by index, so the result is deterministic.
pub fn crowding_distance(pop: &[Individual], front: &[usize]) -> Vec<f64> {
    let l = front.len();
    let mut distance = vec![0.0; l];
    if l == 0 {
        return distance;
    }
    let objectives = pop[front[0]].f.len();
    let mut order: Vec<usize> = (0..l).collect();
    for m in 0..objectives {
        order.sort_by(|&a, &b| {
            pop[front[a]].f[m]
                .total_cmp(&pop[front[b]].f[m])
                .then(front[a].cmp(&front[b]))
        });
        let lo = pop[front[order[0]]].f[m];
        let hi = pop[front[order[l - 1]]].f[m];
        distance[order[0]] = f64::INFINITY;
        distance[order[l - 1]] = f64::INFINITY;
        let range = hi - lo;
        if range > 0.0 {
            for k in 1..l.saturating_sub(1) {
                let gap = pop[front[order[k + 1]]].f[m] - pop[front[order[k - 1]]].f[m];
                distance[order[k]] += gap / range;
            }
        }
    }
    distance
}

/// Non-domination rank (0 for the first front) and crowding distance of every individual.
fn rank_and_crowding(pop: &[Individual]) -> (Vec<usize>, Vec<f64>) {
    let mut rank = vec![0; pop.len()];
    let mut crowding = vec![0.0; pop.len()];
    for (r, front) in non_dominated_sort(pop).iter().enumerate() {
        for (&i, d) in front.iter().zip(crowding_distance(pop, front)) {
            rank[i] = r;
            crowding[i] = d;
        }
    }
    (rank, crowding)
}

/// The crowded-comparison operator (Deb et al. 2002, section III-B): lower rank first, then
/// larger crowding distance, then (for determinism) lower index.
fn crowded_better(i: usize, j: usize, rank: &[usize], crowding: &[f64]) -> usize {
    let order = rank[i]
        .cmp(&rank[j])
        .then(crowding[j].total_cmp(&crowding[i]))
        .then(i.cmp(&j));
    if order == Ordering::Greater { j } else { i }
}

/// `n` points drawn uniformly in the box `bounds` (one `(lower, upper)` pair per variable): the
/// initial population.
pub fn initial(bounds: &[(f64, f64)], n: usize, rng: &mut impl rand::Rng) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| {
            bounds
                .iter()
                .map(|&(lo, hi)| lo + (hi - lo) * rng.random::<f64>())
                .collect()
        })
        .collect()
}

/// SBX spread factor beta_q for the bounded variant (Deb's reference code, `realcross`): with
/// beta = 1 + 2 d / (y2 - y1), d the distance of the parent on that side to its bound, and
/// alpha = 2 - beta^-(eta + 1), beta_q = (u alpha)^(1 / (eta + 1)) if u <= 1 / alpha, else
/// (1 / (2 - u alpha))^(1 / (eta + 1)). This keeps the child's distribution within the bound.
fn sbx_beta_q(u: f64, beta: f64, eta: f64) -> f64 {
    let alpha = 2.0 - beta.powf(-(eta + 1.0));
    if u <= 1.0 / alpha {
        (u * alpha).powf(1.0 / (eta + 1.0))
    } else {
        (1.0 / (2.0 - u * alpha)).powf(1.0 / (eta + 1.0))
    }
}

/// Simulated binary crossover (Deb and Agrawal 1995) of two parents into two children, bounded
/// variant of Deb's reference code: with probability `settings.crossover_probability` each
/// variable is recombined with probability 1/2 (if the parents differ in it by more than 1e-14),
/// and the two children's values are swapped with probability 1/2; otherwise the children are
/// copies of the parents.
fn sbx(
    p1: &[f64],
    p2: &[f64],
    bounds: &[(f64, f64)],
    settings: &Settings,
    rng: &mut impl rand::Rng,
) -> (Vec<f64>, Vec<f64>) {
    const EPS: f64 = 1.0e-14;
    let mut c1 = p1.to_vec();
    let mut c2 = p2.to_vec();
    if rng.random::<f64>() > settings.crossover_probability {
        return (c1, c2);
    }
    let eta = settings.crossover_eta;
    for (i, &(yl, yu)) in bounds.iter().enumerate() {
        if rng.random::<f64>() > 0.5 || (p1[i] - p2[i]).abs() <= EPS {
            continue;
        }
        let (y1, y2) = if p1[i] < p2[i] {
            (p1[i], p2[i])
        } else {
            (p2[i], p1[i])
        };
        let u = rng.random::<f64>();
        let beta_q = sbx_beta_q(u, 1.0 + 2.0 * (y1 - yl) / (y2 - y1), eta);
        let lower = (0.5 * ((y1 + y2) - beta_q * (y2 - y1))).clamp(yl, yu);
        let beta_q = sbx_beta_q(u, 1.0 + 2.0 * (yu - y2) / (y2 - y1), eta);
        let upper = (0.5 * ((y1 + y2) + beta_q * (y2 - y1))).clamp(yl, yu);
        if rng.random::<f64>() <= 0.5 {
            c1[i] = upper;
            c2[i] = lower;
        } else {
            c1[i] = lower;
            c2[i] = upper;
        }
    }
    (c1, c2)
}

/// Polynomial mutation (Deb and Goyal 1996), bounded variant of Deb's reference code
/// (`real_mutate_ind`): each variable y in [yl, yu] is mutated with probability `probability`;
/// with delta1 = (y - yl) / (yu - yl), delta2 = (yu - y) / (yu - yl) and u uniform, the
/// perturbation is delta_q = (2u + (1 - 2u)(1 - delta1)^(eta + 1))^(1 / (eta + 1)) - 1 if
/// u <= 1/2, else 1 - (2(1 - u) + 2(u - 1/2)(1 - delta2)^(eta + 1))^(1 / (eta + 1)), and
/// y becomes y + delta_q (yu - yl), clamped to the bounds.
fn polynomial_mutation(
    x: &mut [f64],
    bounds: &[(f64, f64)],
    probability: f64,
    eta: f64,
    rng: &mut impl rand::Rng,
) {
    let power = 1.0 / (eta + 1.0);
    for (y, &(yl, yu)) in x.iter_mut().zip(bounds) {
        if rng.random::<f64>() > probability {
            continue;
        }
        let width = yu - yl;
        if width <= 0.0 {
            continue;
        }
        let delta1 = (*y - yl) / width;
        let delta2 = (yu - *y) / width;
        let u = rng.random::<f64>();
        let delta_q = if u <= 0.5 {
            let value = 2.0 * u + (1.0 - 2.0 * u) * (1.0 - delta1).powf(eta + 1.0);
            value.powf(power) - 1.0
        } else {
            let value = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * (1.0 - delta2).powf(eta + 1.0);
            1.0 - value.powf(power)
        };
        *y = (*y + delta_q * width).clamp(yl, yu);
    }
}

/// The children of one generation (Deb et al. 2002, section III-C): exactly `parents.len()`
/// decision vectors, to be evaluated by the caller.
///
/// Parents are ranked (non-domination rank and crowding distance among the parents), then
/// chosen by binary tournaments on the crowded-comparison operator (lower rank, then larger
/// crowding distance, then lower index), arranged as in Deb's reference code: two random
/// permutations of the parents, laid end to end, are cut into consecutive pairs, so each parent
/// enters exactly two tournaments. Consecutive winners are recombined by SBX and both children
/// mutated by polynomial mutation; with an odd count, the last winner is paired with the first
/// and only one child kept.
pub fn offspring(
    parents: &[Individual],
    bounds: &[(f64, f64)],
    settings: &Settings,
    rng: &mut impl rand::Rng,
) -> Vec<Vec<f64>> {
    let n = parents.len();
    if n == 0 {
        return Vec::new();
    }
    let (rank, crowding) = rank_and_crowding(parents);
    let mut contestants: Vec<usize> = Vec::with_capacity(2 * n);
    for _ in 0..2 {
        let mut permutation: Vec<usize> = (0..n).collect();
        permutation.shuffle(rng);
        contestants.extend(permutation);
    }
    let winners: Vec<usize> = contestants
        .chunks_exact(2)
        .map(|pair| crowded_better(pair[0], pair[1], &rank, &crowding))
        .collect();
    let mutation_probability = settings
        .mutation_probability
        .unwrap_or(1.0 / bounds.len().max(1) as f64);
    let mut children = Vec::with_capacity(n + 1);
    let mut k = 0;
    while children.len() < n {
        let a = &parents[winners[k % n]].x;
        let b = &parents[winners[(k + 1) % n]].x;
        let (mut c1, mut c2) = sbx(a, b, bounds, settings, rng);
        polynomial_mutation(
            &mut c1,
            bounds,
            mutation_probability,
            settings.mutation_eta,
            rng,
        );
        polynomial_mutation(
            &mut c2,
            bounds,
            mutation_probability,
            settings.mutation_eta,
            rng,
        );
        children.push(c1);
        children.push(c2);
        k += 2;
    }
    children.truncate(n);
    children
}

/// Environmental selection (Deb et al. 2002, section III-C): the best `size` of `combined`
/// (parents and children together). Whole fronts of the constrained non-dominated sort are
/// kept in order while they fit; the first front that does not fit is sorted by crowding
/// distance, descending (its extremes, infinite, first; ties by index in `combined`), and cut.
/// The result lists the kept fronts in order, each in index order, then the cut front's survivors
/// in crowding order.
pub fn select(combined: Vec<Individual>, size: usize) -> Vec<Individual> {
    let fronts = non_dominated_sort(&combined);
    let mut keep: Vec<usize> = Vec::with_capacity(size);
    for front in &fronts {
        if keep.len() >= size {
            break;
        }
        if keep.len() + front.len() <= size {
            keep.extend_from_slice(front);
        } else {
            let distance = crowding_distance(&combined, front);
            let mut order: Vec<usize> = (0..front.len()).collect();
            order.sort_by(|&a, &b| {
                distance[b]
                    .total_cmp(&distance[a])
                    .then(front[a].cmp(&front[b]))
            });
            let room = size - keep.len();
            keep.extend(order[..room].iter().map(|&k| front[k]));
        }
    }
    let mut slots: Vec<Option<Individual>> = combined.into_iter().map(Some).collect();
    keep.into_iter()
        .map(|i| slots[i].take().expect("each index is kept once"))
        .collect()
}

/// An archive of the non-dominated individuals seen so far, under constrained domination: a
/// candidate enters unless a member dominates it or has the same objectives and violation, and
/// evicts the members it dominates. Members keep their order of arrival.
///
/// NSGA-II's population is bounded, so its crowding truncation discards non-dominated points;
/// an unbounded archive keeps them, and a final set of the population's size can then be chosen
/// from it, e.g. by [`crate::optimise::hypervolume::greedy_subset`]. Each insertion costs
/// O(M |archive|).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Archive {
    members: Vec<Individual>,
}

impl Archive {
    /// An empty archive.
    pub fn new() -> Self {
        Archive::default()
    }

    /// Offer `candidate`; whether it was added.
    pub fn insert(&mut self, candidate: Individual) -> bool {
        let rejected = self.members.iter().any(|m| {
            dominates(m, &candidate) || (m.violation == candidate.violation && m.f == candidate.f)
        });
        if rejected {
            return false;
        }
        self.members.retain(|m| !dominates(&candidate, m));
        self.members.push(candidate);
        true
    }

    /// The members, in order of arrival.
    pub fn members(&self) -> &[Individual] {
        &self.members
    }

    /// The members, in order of arrival, by value.
    pub fn into_members(self) -> Vec<Individual> {
        self.members
    }
}

/// A problem as [`minimise`] takes it: decision variables to (objective values, total constraint
/// violation >= 0).
pub type Evaluation<'a> = dyn Fn(&[f64]) -> (Vec<f64>, f64) + 'a;

/// Run NSGA-II on a cheap objective function for `generations` generations and return the final
/// population.
///
/// `problem` maps decision variables to (objectives, total constraint violation). The initial
/// population of `settings.population` points is drawn by [`initial`] and evaluated; then each
/// generation makes children by [`offspring`], evaluates them and keeps the best by [`select`].
/// `on_generation` is called with 0 and the initial population, then with each generation's
/// number (1, 2, ...) and its selected population.
pub fn minimise(
    problem: &Evaluation<'_>,
    bounds: &[(f64, f64)],
    settings: &Settings,
    generations: usize,
    rng: &mut impl rand::Rng,
    mut on_generation: impl FnMut(usize, &[Individual]),
) -> Vec<Individual> {
    let evaluate = |x: Vec<f64>| {
        let (f, violation) = problem(&x);
        Individual { x, f, violation }
    };
    let mut population: Vec<Individual> = initial(bounds, settings.population, rng)
        .into_iter()
        .map(evaluate)
        .collect();
    on_generation(0, &population);
    for generation in 1..=generations {
        let children = offspring(&population, bounds, settings, rng);
        population.extend(children.into_iter().map(evaluate));
        population = select(population, settings.population);
        on_generation(generation, &population);
    }
    population
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimise::hypervolume::{greedy_subset, hypervolume};
    use crate::optimise::problems::Problem;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn ind(f: &[f64]) -> Individual {
        Individual {
            x: Vec::new(),
            f: f.to_vec(),
            violation: 0.0,
        }
    }

    fn infeasible(f: &[f64], violation: f64) -> Individual {
        Individual {
            violation,
            ..ind(f)
        }
    }

    #[test]
    fn constrained_domination() {
        // Pareto dominance between feasible solutions.
        assert!(dominates(&ind(&[1.0, 2.0]), &ind(&[1.0, 3.0])));
        assert!(!dominates(&ind(&[1.0, 3.0]), &ind(&[1.0, 2.0])));
        assert!(!dominates(&ind(&[1.0, 2.0]), &ind(&[1.0, 2.0])));
        assert!(!dominates(&ind(&[1.0, 2.0]), &ind(&[2.0, 1.0])));
        // Feasible beats infeasible, whatever the objectives.
        assert!(dominates(&ind(&[9.0, 9.0]), &infeasible(&[0.0, 0.0], 0.1)));
        assert!(!dominates(&infeasible(&[0.0, 0.0], 0.1), &ind(&[9.0, 9.0])));
        // Two infeasible: the smaller violation wins, objectives ignored.
        assert!(dominates(
            &infeasible(&[9.0, 9.0], 0.1),
            &infeasible(&[0.0, 0.0], 0.2)
        ));
        assert!(!dominates(
            &infeasible(&[0.0, 0.0], 0.2),
            &infeasible(&[9.0, 9.0], 0.1)
        ));
        assert!(!dominates(
            &infeasible(&[0.0, 0.0], 0.2),
            &infeasible(&[9.0, 9.0], 0.2)
        ));
    }

    #[test]
    fn non_dominated_sort_hand_example() {
        // a, b, c trade off; d and f are dominated by b only; e by b, d and f.
        let pop: Vec<Individual> = [
            [1.0, 5.0],
            [2.0, 2.0],
            [3.0, 1.0],
            [2.0, 4.0],
            [4.0, 4.0],
            [3.0, 3.0],
        ]
        .iter()
        .map(|f| ind(f))
        .collect();
        assert_eq!(
            non_dominated_sort(&pop),
            vec![vec![0, 1, 2], vec![3, 5], vec![4]]
        );
        assert_eq!(pareto_indices(&pop), vec![0, 1, 2]);
    }

    #[test]
    fn non_dominated_sort_puts_infeasible_last_by_violation() {
        let pop = vec![
            infeasible(&[0.0, 0.0], 0.5),
            ind(&[5.0, 5.0]),
            infeasible(&[0.0, 0.0], 0.1),
            ind(&[1.0, 6.0]),
            infeasible(&[3.0, 3.0], 0.1),
        ];
        assert_eq!(
            non_dominated_sort(&pop),
            vec![vec![1, 3], vec![2, 4], vec![0]]
        );
    }

    #[test]
    fn crowding_distance_hand_example() {
        let pop: Vec<Individual> = [[0.0, 4.0], [1.0, 2.0], [3.0, 1.0], [4.0, 0.0], [9.0, 9.0]]
            .iter()
            .map(|f| ind(f))
            .collect();
        // Ranges 4 and 4. (1, 2): neighbours (0, 4) and (3, 1): 3/4 + 3/4. (3, 1): neighbours
        // (1, 2) and (4, 0): 3/4 + 2/4.
        let d = crowding_distance(&pop, &[0, 1, 2, 3]);
        assert_eq!(d, vec![f64::INFINITY, 1.5, 1.25, f64::INFINITY]);
        assert_eq!(crowding_distance(&pop, &[4]), vec![f64::INFINITY]);
        assert_eq!(crowding_distance(&pop, &[1, 4]), vec![f64::INFINITY; 2]);
        assert!(crowding_distance(&pop, &[]).is_empty());
    }

    #[test]
    fn select_fills_by_fronts_and_truncates_by_crowding() {
        // Front 1: five points on a line; front 2: two points. Keeping 4 drops the middle point
        // of the first front with the smallest crowding distance; (2, 2) is most crowded.
        let pop: Vec<Individual> = [
            [5.0, 5.0],
            [0.0, 4.0],
            [1.0, 3.0],
            [2.0, 2.0],
            [4.0, 0.0],
            [3.0, 1.5],
            [6.0, 6.0],
        ]
        .iter()
        .map(|f| ind(f))
        .collect();
        let kept = select(pop.clone(), 4);
        let fs: Vec<Vec<f64>> = kept.iter().map(|i| i.f.clone()).collect();
        // Distances: (1,3): 2/4 + 2/4 = 1; (2,2): 2/4 + 1.5/4 = 0.875; (3,1.5): 2/4 + 2/4 = 1.
        // Extremes first, then the tie (1, 3) and (3, 1.5) by index.
        assert_eq!(
            fs,
            vec![
                vec![0.0, 4.0],
                vec![4.0, 0.0],
                vec![1.0, 3.0],
                vec![3.0, 1.5]
            ]
        );
        // Keeping 6: the whole first front (index order), then the better of the second.
        let kept = select(pop.clone(), 6);
        assert_eq!(kept.len(), 6);
        assert_eq!(kept[5].f, vec![5.0, 5.0]);
        assert_eq!(select(pop, 0), Vec::new());
    }

    #[test]
    fn offspring_stay_in_bounds_and_number_the_parents() {
        let bounds = vec![(-1.0, 2.0), (0.0, 1.0), (5.0, 5.5)];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        for n in [1, 2, 7, 20] {
            let parents: Vec<Individual> = initial(&bounds, n, &mut rng)
                .into_iter()
                .map(|x| Individual {
                    f: vec![x[0], x[1]],
                    x,
                    violation: 0.0,
                })
                .collect();
            let settings = Settings {
                mutation_probability: Some(0.5),
                ..Settings::default()
            };
            let children = offspring(&parents, &bounds, &settings, &mut rng);
            assert_eq!(children.len(), n);
            for c in &children {
                assert!(
                    c.iter()
                        .zip(&bounds)
                        .all(|(v, (lo, hi))| lo <= v && v <= hi)
                );
            }
        }
        assert!(offspring(&[], &bounds, &Settings::default(), &mut rng).is_empty());
    }

    fn run(problem: Problem, population: usize, generations: usize, seed: u64) -> Vec<Individual> {
        let settings = Settings {
            population,
            ..Settings::default()
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        minimise(
            &|x| (problem.evaluate(x), 0.0),
            &problem.bounds(),
            &settings,
            generations,
            &mut rng,
            |_, _| {},
        )
    }

    fn front_hypervolume(pop: &[Individual], reference: &[f64]) -> f64 {
        let points: Vec<Vec<f64>> = pareto_indices(pop)
            .iter()
            .map(|&i| pop[i].f.clone())
            .collect();
        hypervolume(&points, reference)
    }

    #[test]
    fn same_seed_same_run_bit_for_bit() {
        let a = run(Problem::Zdt1, 20, 15, 42);
        let b = run(Problem::Zdt1, 20, 15, 42);
        let bits = |p: &[Individual]| -> Vec<u64> {
            p.iter()
                .flat_map(|i| i.x.iter().chain(&i.f).map(|v| v.to_bits()))
                .collect()
        };
        assert_eq!(bits(&a), bits(&b));
        let c = run(Problem::Zdt1, 20, 15, 43);
        assert_ne!(bits(&a), bits(&c));
    }

    #[test]
    fn on_generation_sees_every_generation() {
        let mut seen = Vec::new();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let settings = Settings {
            population: 10,
            ..Settings::default()
        };
        let problem = Problem::Zdt2;
        minimise(
            &|x| (problem.evaluate(x), 0.0),
            &problem.bounds(),
            &settings,
            3,
            &mut rng,
            |g, p| seen.push((g, p.len())),
        );
        assert_eq!(seen, vec![(0, 10), (1, 10), (2, 10), (3, 10)]);
    }

    #[test]
    fn archive_keeps_exactly_the_non_dominated() {
        let mut archive = Archive::new();
        assert!(archive.insert(ind(&[2.0, 2.0])));
        assert!(!archive.insert(ind(&[2.0, 2.0])));
        assert!(!archive.insert(ind(&[3.0, 2.0])));
        assert!(archive.insert(ind(&[1.0, 3.0])));
        assert!(!archive.insert(infeasible(&[0.0, 0.0], 1.0)));
        assert!(archive.insert(ind(&[1.0, 1.0])));
        let fs: Vec<Vec<f64>> = archive.members().iter().map(|m| m.f.clone()).collect();
        assert_eq!(fs, vec![vec![1.0, 1.0]]);
    }

    /// NSGA-II by its steps, offering every evaluated individual to an archive; returns the
    /// final population and the archive.
    fn run_with_archive(
        problem: Problem,
        population: usize,
        generations: usize,
        seed: u64,
    ) -> (Vec<Individual>, Archive) {
        let settings = Settings {
            population,
            ..Settings::default()
        };
        let bounds = problem.bounds();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut archive = Archive::new();
        let evaluate = |x: Vec<f64>, archive: &mut Archive| {
            let individual = Individual {
                f: problem.evaluate(&x),
                x,
                violation: 0.0,
            };
            archive.insert(individual.clone());
            individual
        };
        let mut pop: Vec<Individual> = initial(&bounds, population, &mut rng)
            .into_iter()
            .map(|x| evaluate(x, &mut archive))
            .collect();
        for _ in 0..generations {
            let children = offspring(&pop, &bounds, &settings, &mut rng);
            pop.extend(children.into_iter().map(|x| evaluate(x, &mut archive)));
            pop = select(pop, population);
        }
        (pop, archive)
    }

    #[test]
    fn the_steps_on_their_own_make_the_same_run_as_the_driver() {
        let (by_steps, archive) = run_with_archive(Problem::Zdt1, 20, 10, 9);
        assert_eq!(by_steps, run(Problem::Zdt1, 20, 10, 9));
        // The archive holds every non-dominated point of the final population.
        for i in pareto_indices(&by_steps) {
            assert!(!archive.members().iter().any(|m| dominates(m, &by_steps[i])));
            assert!(archive.members().iter().any(|m| m.f == by_steps[i].f));
        }
    }

    /// The hypervolume of `size` archive members chosen greedily by hypervolume contribution.
    fn greedy_archive_hypervolume(archive: &Archive, reference: &[f64], size: usize) -> f64 {
        let points: Vec<Vec<f64>> = archive.members().iter().map(|m| m.f.clone()).collect();
        let chosen: Vec<Vec<f64>> = greedy_subset(&points, reference, size)
            .into_iter()
            .map(|i| points[i].clone())
            .collect();
        hypervolume(&chosen, reference)
    }

    // Budgets, from `measure_hypervolume_ratios` (population 100, seeds 1 to 5): ZDT1 reaches
    // 0.970-0.972 of the true front's hypervolume after 100 generations, 0.985-0.986 after 150,
    // 0.990-0.991 after 200; ZDT2 0.33-0.92 after 100 (some runs still on the f_1 = 0 corner),
    // 0.67-0.97 after 150, 0.982-0.986 after 200, 0.986-0.988 after 250.

    #[test]
    fn zdt1_reaches_98_percent_of_the_true_front_in_200_generations() {
        // 200 generations of 100: 20,100 evaluations.
        let reference = [1.1, 1.1];
        let exact = Problem::Zdt1.true_front_hypervolume(&reference).unwrap();
        let ratio = front_hypervolume(&run(Problem::Zdt1, 100, 200, 1), &reference) / exact;
        assert!(ratio >= 0.98, "ZDT1: {ratio}");
    }

    #[test]
    fn zdt2_reaches_98_percent_of_the_true_front_in_250_generations() {
        // 250 generations of 100: 25,100 evaluations.
        let reference = [1.1, 1.1];
        let exact = Problem::Zdt2.true_front_hypervolume(&reference).unwrap();
        let ratio = front_hypervolume(&run(Problem::Zdt2, 100, 250, 1), &reference) / exact;
        assert!(ratio >= 0.98, "ZDT2: {ratio}");
    }

    // DTLZ2 with 3 objectives against (1.1, 1.1, 1.1), relative to the same number of Das-Dennis
    // points on the front (`measure_hypervolume_ratios`, seeds 1 to 5): plain NSGA-II stalls at
    // 0.91-0.95 (population 91 against the 91-point lattice, 100 to 400 generations; 0.92-0.95
    // for 100 or 105 against 105), its crowding distance spreading points unevenly in three
    // objectives. Choosing the final 91 greedily by hypervolume contribution from an archive of
    // every non-dominated point evaluated gives 0.958-0.977 after 50 generations, 0.992-0.998
    // after 100 and 1.003-1.006 after 200.

    #[test]
    fn dtlz2_archive_reaches_97_percent_of_an_even_front_in_100_generations() {
        // Population 91, the size of the 12-division lattice; 100 generations: 9,191
        // evaluations.
        let problem = Problem::Dtlz2 { objectives: 3 };
        let reference = [1.1; 3];
        let even = problem.reference_front(91);
        assert_eq!(even.len(), 91);
        let target = hypervolume(&even, &reference);
        let (_, archive) = run_with_archive(problem, 91, 100, 1);
        let ratio = greedy_archive_hypervolume(&archive, &reference, 91) / target;
        assert!(ratio >= 0.97, "DTLZ2: {ratio}");
    }

    /// Hypervolume ratios over seeds and generation counts, to choose the tests' budgets:
    /// `cargo test --release --lib measure_hypervolume_ratios -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn measure_hypervolume_ratios() {
        for problem in [Problem::Zdt1, Problem::Zdt2] {
            let reference = [1.1, 1.1];
            let exact = problem.true_front_hypervolume(&reference).unwrap();
            for generations in [100, 150, 200, 250, 300] {
                let ratios: Vec<String> = (1..=5)
                    .map(|seed| {
                        let pop = run(problem, 100, generations, seed);
                        format!("{:.4}", front_hypervolume(&pop, &reference) / exact)
                    })
                    .collect();
                println!(
                    "{} gens {generations}: {}",
                    problem.name(),
                    ratios.join(" ")
                );
            }
        }
        let problem = Problem::Dtlz2 { objectives: 3 };
        let reference = [1.1; 3];
        for population in [91, 100, 105] {
            let target = hypervolume(&problem.reference_front(population), &reference);
            for generations in [100, 200, 400] {
                let ratios: Vec<String> = (1..=5)
                    .map(|seed| {
                        let pop = run(problem, population, generations, seed);
                        format!("{:.4}", front_hypervolume(&pop, &reference) / target)
                    })
                    .collect();
                println!(
                    "{} N {population} (lattice {}) gens {generations}: {}",
                    problem.name(),
                    problem.reference_front(population).len(),
                    ratios.join(" ")
                );
            }
        }
        for population in [91, 100] {
            let target = hypervolume(&problem.reference_front(population), &reference);
            for generations in [50, 100, 200] {
                let ratios: Vec<String> = (1..=5)
                    .map(|seed| {
                        let (_, archive) = run_with_archive(problem, population, generations, seed);
                        let hv = greedy_archive_hypervolume(&archive, &reference, population);
                        format!("{:.4} ({})", hv / target, archive.members().len())
                    })
                    .collect();
                println!(
                    "{} N {population} archive+greedy gens {generations}: {}",
                    problem.name(),
                    ratios.join(" ")
                );
            }
        }
    }

    fn arbitrary_population() -> impl Strategy<Value = Vec<Individual>> {
        // Small integer objectives so ties and duplicates are common; some infeasible.
        prop::collection::vec(
            (
                prop::collection::vec(0u8..5, 3),
                prop_oneof![3 => Just(0u8), 1 => 1u8..3],
            ),
            0..40,
        )
        .prop_map(|rows| {
            rows.into_iter()
                .map(|(f, v)| Individual {
                    x: Vec::new(),
                    f: f.into_iter().map(f64::from).collect(),
                    violation: f64::from(v),
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn pareto_indices_are_exactly_the_non_dominated(pop in arbitrary_population()) {
            let front = pareto_indices(&pop);
            for i in 0..pop.len() {
                let dominated = pop.iter().any(|o| dominates(o, &pop[i]));
                prop_assert_eq!(front.contains(&i), !dominated, "index {}", i);
            }
            prop_assert!(front.windows(2).all(|w| w[0] < w[1]));
            let fronts = non_dominated_sort(&pop);
            prop_assert_eq!(fronts.first().cloned().unwrap_or_default(), front);
            let mut all: Vec<usize> = fronts.concat();
            all.sort_unstable();
            prop_assert_eq!(all, (0..pop.len()).collect::<Vec<_>>());
        }
    }
}
