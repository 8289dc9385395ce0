//! The integration tests, in one test binary: each module was a file of its own under tests/,
//! and one binary builds and links once instead of twenty times (docs/PERFORMANCE.md, "The build
//! and test cycle"). `cargo test --test suite MODULE::` runs one module's tests. The fuzz
//! target, the resource limits (which count this process's allocations) and the MPI tests (a
//! feature of their own) stay binaries of their own.

#[allow(dead_code)]
mod common;

mod adaptation;
mod answers;
mod baseline;
mod cli;
mod co_commissioning;
mod compare;
mod discover;
mod expectations;
mod hostile;
mod integrity;
mod leadership;
mod mechanisms;
mod mergers;
mod optimise;
mod policy_changes;
mod properties;
mod report;
mod signals;
mod structure;
mod sweep;
