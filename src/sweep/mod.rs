//! Research experiments over many runs: parameter sweeps ([`spec`], [`design`], [`runner`],
//! [`merge`]), global sensitivity analysis ([`sensitivity`]) and calibration to survey data by
//! ABC-SMC ([`abc`], [`calibrate`]). Built-in test models with known answers ([`testfns`]) let the
//! methods be checked. The reference for the files is `docs/experiments.md`.
//!
//! The layer sits between the engine and the output: it varies a scenario at the TOML level,
//! validates each variant like any scenario file, and runs the variants' replicates as indexed
//! units on the rayon pool, each on a random stream derived from the sweep seed and its indices.

pub mod abc;
pub mod calibrate;
pub mod design;
pub mod discover;
pub mod error;
pub mod journal;
pub mod merge;
pub mod runner;
pub mod sensitivity;
pub mod sobol_seq;
pub mod spec;
pub mod testfns;
pub mod tomlpath;

pub use error::SweepError;
pub use runner::{Shard, Stopped, SweepManifest, SweepOptions, SweepReport, run_sweep};
pub use spec::Sweep;
