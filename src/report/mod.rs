//! `ccgsim report`: one self-contained HTML page of charts and tables from run, compare, sweep
//! and calibration folders.

pub mod chart;
pub mod svg;
