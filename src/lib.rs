//! ccgsim: an agent-based model of English Clinical Commissioning Groups (CCGs) and the buy-in of
//! their member GP practices.
//!
//! The crate is a one-way pipeline, and the modules follow it:
//!
//! ```text
//! scenario file --parse/validate--> Scenario --build--> Population --> engine (one CCG, one
//! replicate, one RNG stream) --> experiment (ensembles in parallel; sweeps, sensitivity and
//! calibration in `sweep`) --> output (CSV, manifest)
//! ```
//!
//! The model itself is documented equation by equation in `docs/ODD.md`.

pub mod bench;
pub mod calendar;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod compare;
pub mod engine;
pub mod evidence;
pub mod experiment;
pub mod integrity;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod optimise;
pub mod output;
pub mod population;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod signals;
pub mod simd;
pub mod stats;
pub mod sweep;
pub mod words;
