//! The model in krABMaga's terms: a `State` (the replicate's CCGs) and an `Agent` (the practice).

pub mod ccg;
pub mod practice;
pub mod state;
