//! Which vector instructions the monthly loops use, chosen once per process.
//!
//! The loops are written once and compiled three times: for any x86-64 (or other) processor, for
//! AVX2 and for AVX-512. Every version uses only integer operations and IEEE additions,
//! multiplications, divisions and comparisons in the same order (Rust never fuses them), so all
//! three give the same bits; the environment variable `CCGSIM_SIMD` (`portable`, `avx2` or
//! `avx512`) caps the level, to check that they do.

use std::sync::OnceLock;

/// An instruction-set level of the monthly loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Simd {
    Portable,
    Avx2,
    Avx512,
}

/// The environment variable that caps the level.
pub const VARIABLE: &str = "CCGSIM_SIMD";

impl Simd {
    /// The level the loops use: the best this processor supports, capped by `CCGSIM_SIMD` when
    /// it names a level.
    pub fn get() -> Simd {
        static LEVEL: OnceLock<Simd> = OnceLock::new();
        *LEVEL.get_or_init(|| match Simd::requested() {
            Ok(Some(cap)) => cap.min(Simd::supported()),
            _ => Simd::supported(),
        })
    }

    /// The level `CCGSIM_SIMD` asks for, if it is set; an error naming the variable if its
    /// value is not a level.
    pub fn requested() -> Result<Option<Simd>, String> {
        match std::env::var(VARIABLE) {
            Err(std::env::VarError::NotPresent) => Ok(None),
            Ok(v) => match v.as_str() {
                "portable" => Ok(Some(Simd::Portable)),
                "avx2" => Ok(Some(Simd::Avx2)),
                "avx512" => Ok(Some(Simd::Avx512)),
                _ => Err(format!(
                    "{VARIABLE}={v}: expected one of portable, avx2, avx512"
                )),
            },
            Err(e) => Err(format!("{VARIABLE}: {e}")),
        }
    }

    /// The best level this processor supports.
    pub fn supported() -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl") {
                return Simd::Avx512;
            }
            if has!("avx2") {
                return Simd::Avx2;
            }
        }
        Simd::Portable
    }

    pub fn name(self) -> &'static str {
        match self {
            Simd::Portable => "portable",
            Simd::Avx2 => "avx2",
            Simd::Avx512 => "avx512",
        }
    }
}
