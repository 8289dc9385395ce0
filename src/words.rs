//! Counts in words for the messages ccgsim prints: `1 replicate`, `2 replicates`, `0 points`. Every
//! noun ccgsim counts in a message (replicates, points, CCGs, practices, generations, shards, ...)
//! takes a plain `s` in the plural, so one helper serves them all.

use std::fmt::Display;

/// `n` followed by `noun`, in the plural unless `n` is one: `count(1, "CCG")` is `1 CCG`,
/// `count(209, "CCG")` is `209 CCGs`.
pub fn count<N>(n: N, noun: &str) -> String
where
    N: Display + PartialEq + From<u8>,
{
    if n == N::from(1) {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1u32, "replicate"), "1 replicate");
        assert_eq!(count(0usize, "point"), "0 points");
        assert_eq!(count(2u64, "shard"), "2 shards");
        assert_eq!(count(209usize, "CCG"), "209 CCGs");
    }
}
