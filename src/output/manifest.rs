//! `manifest.json`: what was run, from what, with which parameters, by which version, and when;
//! followed by the size, rows and SHA-256 of the run's other files and the manifest's own seal
//! ([`crate::integrity`]), which `compare` and `report` verify before reading the folder.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::PendingFile;
use crate::scenario::Scenario;

/// The record of one run.
#[derive(Debug, Serialize)]
pub struct Manifest<'a> {
    pub ccgsim_version: &'static str,
    pub scenario_path: String,
    /// SHA-256 of the scenario file's bytes.
    pub scenario_sha256: String,
    pub seed: u64,
    pub replicates: u32,
    pub threads: usize,
    /// The instruction-set level of the monthly loops (results do not depend on it).
    pub simd: &'static str,
    pub ccgs: usize,
    /// Practices and patients over all CCGs; replicate means (the sums of `by_ccg.csv`'s
    /// columns) when the structure is drawn per replicate.
    pub practices: u64,
    pub patients: u64,
    /// [`crate::population::Population::run_fingerprint`]: runs with the same one and the same
    /// seed can be paired replicate by replicate.
    pub population_sha256: String,
    /// `"per_replicate"` (a generated structure drawn afresh for each replicate) or `"fixed"`
    /// (one structure for every replicate: listed CCGs, or `structure = "fixed"`).
    pub structure: &'static str,
    /// Start of the run, UTC, RFC 3339.
    pub started_at: String,
    pub wall_time_seconds: f64,
    pub files: Vec<String>,
    /// The scenario with every default resolved.
    pub scenario: &'a Scenario,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `time` as an RFC 3339 UTC timestamp with seconds.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Write the manifest into a pending file, with the size, rows and SHA-256 of each of `files`
/// (the run's other files, still pending) and its own seal ([`crate::integrity`]).
pub fn write_manifest(
    dir: &Path,
    manifest: &Manifest<'_>,
    files: &[PendingFile],
) -> anyhow::Result<PendingFile> {
    let files: Vec<&PendingFile> = files.iter().collect();
    crate::integrity::write_manifest(dir, manifest, &files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_000_000)),
            "2026-11-18T11:06:40Z"
        );
    }

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
