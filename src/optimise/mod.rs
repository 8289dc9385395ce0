//! Multi-objective optimisation: the algorithmic core, free of the model.
//!
//! - [`nsga2`]: the real-coded non-dominated sorting genetic algorithm NSGA-II (Deb, Pratap,
//!   Agarwal and Meyarivan 2002, "A fast and elitist multiobjective genetic algorithm: NSGA-II",
//!   IEEE Transactions on Evolutionary Computation 6(2), 182-197), for minimisation, with Deb's
//!   (2000) constrained domination, simulated binary crossover and polynomial mutation as in Deb's
//!   reference implementation. Its steps ([`nsga2::initial`], [`nsga2::offspring`],
//!   [`nsga2::select`]) take and return plain vectors, so a caller can evaluate each batch itself
//!   (in parallel, say); [`nsga2::minimise`] strings them together for a cheap objective function.
//!   [`nsga2::Archive`] keeps every non-dominated point evaluated, for a final choice of the
//!   population's size by [`hypervolume::greedy_subset`]: in three objectives NSGA-II's crowding
//!   distance spreads its own population unevenly (on DTLZ2, about 93% of the hypervolume of an
//!   evenly spread set of the same size, however long it runs), and the archive's greedy subset
//!   closes the gap (over 99% after 100 generations).
//! - [`hypervolume`]: the exact hypervolume (S-metric; Zitzler and Thiele 1998) of a set of points
//!   against a reference point, the measure of quality used to compare fronts, and the greedy
//!   choice of a subset of given size by hypervolume contribution.
//! - [`problems`]: standard test problems with known Pareto fronts (ZDT1, ZDT2 and DTLZ2), to
//!   check the optimiser.
//!
//! Everything is deterministic given the random number generator: no hash-map iteration, stable
//! sorts with explicit tie-breaks, and floating-point comparisons by `total_cmp`.

pub mod hypervolume;
pub mod nsga2;
pub mod problems;
pub mod run;
