//! Exact hypervolume for minimisation (the S-metric of Zitzler and Thiele 1998): the Lebesgue
//! measure of the region dominated by a set of points and bounded above by a reference point r,
//! that is, of the union over the points p of the boxes [p_1, r_1] x ... x [p_d, r_d].
//!
//! Only points that strictly dominate r (p_i < r_i in every objective) contribute; dominated
//! points and duplicates add nothing, so the measure depends only on the set's non-dominated part.
//!
//! - d = 2: sort by the first objective and sweep, summing horizontal strips; O(n log n).
//! - d = 3: sweep over the third objective, maintaining the 2-D front of the points seen so far
//!   and its area (each slab between consecutive values of f_3 contributes area times depth);
//!   O(n^2) after the O(n log n) sort, fine up to several thousand points.
//! - d >= 4: hypervolume by slicing objectives (HSO; Zitzler 2001, While, Hingston, Barone and
//!   Huband 2006): sort by the last objective and sum, over the slabs between consecutive values,
//!   the (d - 1)-dimensional hypervolume of the points below the slab times its depth, recursing
//!   down to the 3-D sweep. Exponential in d: meant for small sets (tens to a few hundred points).

/// The hypervolume dominated by `points` (minimisation) and bounded by `reference`. Every point
/// must have as many objectives as the reference point. 0 for an empty set or when no point
/// strictly dominates the reference point.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let d = reference.len();
    assert!(
        points.iter().all(|p| p.len() == d),
        "every point needs {d} objectives, as the reference point has"
    );
    let inside: Vec<&[f64]> = points
        .iter()
        .map(|p| p.as_slice())
        .filter(|p| p.iter().zip(reference).all(|(a, r)| a < r))
        .collect();
    if inside.is_empty() || d == 0 {
        return 0.0;
    }
    slice_down(inside, reference)
}

/// Greedy hypervolume subset selection: the indices of `k` of `points` (all of them if there
/// are no more than `k`), in the order chosen, each step adding the point whose addition increases
/// the hypervolume of those already chosen the most (its contribution; ties to the lower index).
///
/// This is the forward greedy algorithm for the hypervolume subset selection problem (Bader and
/// Zitzler 2011; Guerreiro, Fonseca and Paquete 2016): since the hypervolume is a monotone
/// submodular set function, the chosen set's hypervolume is at least (1 - 1/e) of the best
/// k-subset's (Nemhauser, Wolsey and Fisher 1978), and in practice much closer. Submodularity
/// (a point's contribution can only shrink as the chosen set grows) also makes the lazy
/// evaluation of Minoux (1978) exact: stale contributions are upper bounds, so a point whose
/// fresh contribution still beats every other point's bound is the greedy choice, and only a few
/// contributions are recomputed per step. Each is the difference of two exact hypervolumes of at
/// most `k` points. Points that do not strictly dominate the reference point contribute nothing,
/// so they are chosen last, by index.
pub fn greedy_subset(points: &[Vec<f64>], reference: &[f64], k: usize) -> Vec<usize> {
    let n = points.len();
    let k = k.min(n);
    // bound[i]: point i's contribution to the chosen set as of step stamp[i], an upper bound on
    // its contribution now.
    let mut bound: Vec<f64> = points
        .iter()
        .map(|p| hypervolume(std::slice::from_ref(p), reference))
        .collect();
    let mut stamp = vec![0usize; n];
    let mut taken = vec![false; n];
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    let mut chosen_points: Vec<Vec<f64>> = Vec::with_capacity(k + 1);
    let mut chosen_volume = 0.0;
    while chosen.len() < k {
        let step = chosen.len();
        loop {
            let best = (0..n)
                .filter(|&i| !taken[i])
                .min_by(|&a, &b| bound[b].total_cmp(&bound[a]).then(a.cmp(&b)))
                .expect("fewer chosen than points");
            if stamp[best] == step {
                taken[best] = true;
                chosen.push(best);
                chosen_points.push(points[best].clone());
                chosen_volume = hypervolume(&chosen_points, reference);
                break;
            }
            chosen_points.push(points[best].clone());
            bound[best] = hypervolume(&chosen_points, reference) - chosen_volume;
            chosen_points.pop();
            stamp[best] = step;
        }
    }
    chosen
}

/// Hypervolume of points that all strictly dominate `reference` (same dimension), by the
/// specialised sweeps for d <= 3 and slicing on the last objective above that.
fn slice_down(mut points: Vec<&[f64]>, reference: &[f64]) -> f64 {
    match reference.len() {
        1 => reference[0] - points.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min),
        2 => sweep_2d(points.iter().map(|p| (p[0], p[1])).collect(), reference),
        3 => sweep_3d(&points, reference),
        d => slices(&mut points, reference, d, slice_down),
    }
}

/// HSO's step: with the points sorted by objective d - 1, the (d - 1)-dimensional measure of
/// the first i points times the depth to the (i + 1)-th point's value (or the reference's),
/// summed over i. `lower` computes the (d - 1)-dimensional measure.
fn slices(
    points: &mut [&[f64]],
    reference: &[f64],
    d: usize,
    lower: fn(Vec<&[f64]>, &[f64]) -> f64,
) -> f64 {
    points.sort_by(|a, b| a[d - 1].total_cmp(&b[d - 1]));
    let mut volume = 0.0;
    for i in 0..points.len() {
        let top = points.get(i + 1).map_or(reference[d - 1], |p| p[d - 1]);
        let depth = top - points[i][d - 1];
        if depth > 0.0 {
            let projected: Vec<&[f64]> = points[..=i].iter().map(|p| &p[..d - 1]).collect();
            volume += lower(projected, &reference[..d - 1]) * depth;
        }
    }
    volume
}

/// 2-D area: sorted by f_1 (then f_2), each point that improves on the best f_2 so far adds the
/// strip [f_1, r_1] x [f_2, best f_2).
fn sweep_2d(mut points: Vec<(f64, f64)>, reference: &[f64]) -> f64 {
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut best = reference[1];
    let mut area = 0.0;
    for (x, y) in points {
        if y < best {
            area += (reference[0] - x) * (best - y);
            best = y;
        }
    }
    area
}

/// The area dominated by a 2-D front sorted by f_1 (f_2 decreasing), against `reference`.
fn staircase_area(front: &[(f64, f64)], reference: &[f64]) -> f64 {
    let mut best = reference[1];
    let mut area = 0.0;
    for &(x, y) in front {
        area += (reference[0] - x) * (best - y);
        best = y;
    }
    area
}

/// 3-D volume: the points in increasing f_3; the 2-D front of those seen so far (sorted by f_1,
/// so f_2 decreasing) and its area are updated as each point arrives, and each slab between
/// consecutive values of f_3 (the last up to r_3) adds area times depth.
fn sweep_3d(points: &[&[f64]], reference: &[f64]) -> f64 {
    let mut order: Vec<&[f64]> = points.to_vec();
    order.sort_by(|a, b| a[2].total_cmp(&b[2]));
    let mut front: Vec<(f64, f64)> = Vec::new();
    let mut area = 0.0;
    let mut volume = 0.0;
    for (i, p) in order.iter().enumerate() {
        let (x, y) = (p[0], p[1]);
        // Insert (x, y) unless a point of the front weakly dominates it in 2-D.
        let at = front.partition_point(|q| q.0 <= x);
        let covered = at > 0 && front[at - 1].1 <= y;
        if !covered {
            // Remove the points it dominates: one with equal f_1 (just before `at`, its f_2 is
            // larger, or it would cover (x, y)), then those after it with f_2 >= y, a run, as
            // f_2 decreases along the front.
            let mut start = at;
            while start > 0 && front[start - 1].0 == x {
                start -= 1;
            }
            let mut end = start;
            while end < front.len() && front[end].1 >= y {
                end += 1;
            }
            front.splice(start..end, std::iter::once((x, y)));
            area = staircase_area(&front, reference);
        }
        let top = order.get(i + 1).map_or(reference[2], |q| q[2]);
        let depth = top - p[2];
        if depth > 0.0 {
            volume += area * depth;
        }
    }
    volume
}

/// Plain HSO down to one dimension, with no specialised sweeps: the reference against which the
/// sweeps are tested.
#[cfg(test)]
fn hso(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    fn recurse(mut points: Vec<&[f64]>, reference: &[f64]) -> f64 {
        match reference.len() {
            1 => reference[0] - points.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min),
            d => slices(&mut points, reference, d, recurse),
        }
    }
    let inside: Vec<&[f64]> = points
        .iter()
        .map(|p| p.as_slice())
        .filter(|p| p.iter().zip(reference).all(|(a, r)| a < r))
        .collect();
    if inside.is_empty() {
        0.0
    } else {
        recurse(inside, reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn two_dimensional_hand_cases() {
        // One point: the box (2 - 1) x (3 - 1).
        assert_eq!(hypervolume(&[vec![1.0, 1.0]], &[2.0, 3.0]), 2.0);
        // A staircase of three points against (4, 4): 3x1 + 2x1 + 1x1 strips = 3 + 2 + 1.
        let stairs = vec![vec![1.0, 3.0], vec![2.0, 2.0], vec![3.0, 1.0]];
        assert_eq!(hypervolume(&stairs, &[4.0, 4.0]), 6.0);
        // Points on or beyond the reference point contribute nothing.
        assert_eq!(
            hypervolume(&[vec![4.0, 1.0], vec![1.0, 5.0]], &[4.0, 4.0]),
            0.0
        );
        assert_eq!(hypervolume(&[], &[4.0, 4.0]), 0.0);
    }

    #[test]
    fn three_dimensional_hand_cases() {
        assert_eq!(hypervolume(&[vec![0.0, 0.0, 0.0]], &[1.0, 2.0, 3.0]), 6.0);
        // Two unit-offset boxes against (2, 2, 2): [0,2]x[1,2]x[1,2] has volume 2 and
        // [1,2]x[0,2]x[0,2] volume 4; they overlap in [1,2]x[1,2]x[1,2], volume 1: 2 + 4 - 1.
        let pts = vec![vec![0.0, 1.0, 1.0], vec![1.0, 0.0, 0.0]];
        assert_eq!(hypervolume(&pts, &[2.0, 2.0, 2.0]), 5.0);
        // The three unit "axis" points (1,0,0), (0,1,0), (0,0,1) against (2,2,2): each box is
        // 1x2x2 = 4; pairwise overlaps 1x1x2 = 2; the triple overlap 1: 12 - 6 + 1 = 7.
        let axes = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0],
        ];
        assert_eq!(hypervolume(&axes, &[2.0, 2.0, 2.0]), 7.0);
    }

    #[test]
    fn four_dimensional_hand_case() {
        // The four unit "axis" points in 4-D against (2,2,2,2), by inclusion-exclusion: singles
        // 2^3 = 8 each, pairs 2^2 = 4, triples 2, the quadruple 1: 32 - 24 + 8 - 1 = 15.
        let axes: Vec<Vec<f64>> = (0..4)
            .map(|i| (0..4).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
            .collect();
        assert_eq!(hypervolume(&axes, &[2.0; 4]), 15.0);
    }

    fn random_points(rng: &mut Xoshiro256PlusPlus, n: usize, d: usize) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| (0..d).map(|_| rng.random::<f64>()).collect())
            .collect()
    }

    #[test]
    fn order_and_dominated_points_do_not_matter() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        for d in 2..=4 {
            let reference = vec![1.1; d];
            let mut pts = random_points(&mut rng, 40, d);
            let base = hypervolume(&pts, &reference);
            assert!(base > 0.0);
            pts.reverse();
            assert!(close(hypervolume(&pts, &reference), base, 1e-12), "d = {d}");
            // Add points each weakly dominated by an existing one, and exact duplicates.
            let extra: Vec<Vec<f64>> = pts
                .iter()
                .take(20)
                .enumerate()
                .map(|(k, p)| {
                    if k % 2 == 0 {
                        p.clone()
                    } else {
                        p.iter().map(|v| v + 0.05).collect()
                    }
                })
                .collect();
            pts.extend(extra);
            pts.swap(0, 50);
            assert!(close(hypervolume(&pts, &reference), base, 1e-12), "d = {d}");
        }
    }

    #[test]
    fn sweeps_agree_with_plain_slicing_on_random_sets() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        for trial in 0..30 {
            for d in 2..=4 {
                let n = 1 + trial % 25;
                let mut pts = random_points(&mut rng, n, d);
                if trial % 3 == 0 {
                    // Coarse values, so ties in every objective are common.
                    for p in &mut pts {
                        for v in p.iter_mut() {
                            *v = (*v * 4.0).floor() / 4.0;
                        }
                    }
                }
                let reference = vec![1.0; d];
                let fast = hypervolume(&pts, &reference);
                let slow = hso(&pts, &reference);
                assert!(
                    close(fast, slow, 1e-12),
                    "d = {d}, n = {n}: {fast} vs {slow}"
                );
            }
        }
    }

    /// The plain greedy algorithm, every contribution recomputed at every step.
    fn plain_greedy(points: &[Vec<f64>], reference: &[f64], k: usize) -> Vec<usize> {
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < k.min(points.len()) {
            let mut set: Vec<Vec<f64>> = chosen.iter().map(|&i| points[i].clone()).collect();
            let base = hypervolume(&set, reference);
            let mut best = (f64::NEG_INFINITY, usize::MAX);
            for i in (0..points.len()).filter(|i| !chosen.contains(i)) {
                set.push(points[i].clone());
                let gain = hypervolume(&set, reference) - base;
                set.pop();
                if gain > best.0 {
                    best = (gain, i);
                }
            }
            chosen.push(best.1);
        }
        chosen
    }

    #[test]
    fn greedy_subset_hand_case_and_agreement_with_plain_greedy() {
        // Against (4, 4): (2, 2) alone covers 4; then (1, 3) and (3, 1) add 1 each, (1, 3)
        // first by index; (3, 3) is dominated and (5, 0) outside: they come last, by index.
        let pts = vec![
            vec![3.0, 3.0],
            vec![1.0, 3.0],
            vec![2.0, 2.0],
            vec![5.0, 0.0],
            vec![3.0, 1.0],
        ];
        assert_eq!(greedy_subset(&pts, &[4.0, 4.0], 10), vec![2, 1, 4, 0, 3]);
        assert_eq!(greedy_subset(&pts, &[4.0, 4.0], 2), vec![2, 1]);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        for d in 2..=3 {
            for n in [5, 30, 60] {
                // Points near a sphere's octant, so many are mutually non-dominated.
                let pts: Vec<Vec<f64>> = random_points(&mut rng, n, d)
                    .into_iter()
                    .map(|p| {
                        let norm = p.iter().map(|v| v * v).sum::<f64>().sqrt();
                        p.iter().map(|v| v / norm).collect()
                    })
                    .collect();
                let reference = vec![1.1; d];
                let lazy = greedy_subset(&pts, &reference, n / 3);
                assert_eq!(
                    lazy,
                    plain_greedy(&pts, &reference, n / 3),
                    "d = {d}, n = {n}"
                );
            }
        }
    }

    #[test]
    fn many_points_on_the_zdt1_front_approach_the_closed_form() {
        // Front f2 = 1 - sqrt(f1) on [0, 1], reference (1.1, 1.1): the area is
        // int_0^1 (1.1 - 1 + sqrt(a)) da + 0.1 * 1.1 = 0.1 + 2/3 + 0.11.
        let exact = 0.1 + 2.0 / 3.0 + 0.11;
        let mut previous_gap = f64::INFINITY;
        for n in [10, 100, 1000, 10000] {
            let pts: Vec<Vec<f64>> = (0..n)
                .map(|i| {
                    let a = i as f64 / (n - 1) as f64;
                    vec![a, 1.0 - a.sqrt()]
                })
                .collect();
            let hv = hypervolume(&pts, &[1.1, 1.1]);
            let gap = exact - hv;
            assert!(gap > 0.0 && gap < previous_gap, "n = {n}: {hv} vs {exact}");
            previous_gap = gap;
        }
        assert!(previous_gap < 1e-3);
    }
}
