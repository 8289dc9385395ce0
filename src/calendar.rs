//! Calendar months. A tick is one month; tick 0 is the scenario's start month.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A calendar month, written `YYYY-MM` in scenario files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Month {
    /// Months since January of year 0; orders and subtracts like a number.
    index: i32,
}

impl Month {
    /// The month `month` (1-12) of `year`.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        (1..=12).contains(&month).then(|| Month {
            index: year * 12 + month as i32 - 1,
        })
    }

    pub fn year(self) -> i32 {
        self.index.div_euclid(12)
    }

    pub fn month(self) -> u32 {
        self.index.rem_euclid(12) as u32 + 1
    }

    /// The month `n` months after this one.
    pub fn plus(self, n: i32) -> Month {
        Month {
            index: self.index + n,
        }
    }

    /// Months from `earlier` to `self` (negative if `self` is earlier).
    pub fn months_since(self, earlier: Month) -> i32 {
        self.index - earlier.index
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl FromStr for Month {
    type Err = String;

    fn from_str(s: &str) -> Result<Month, String> {
        let bad = || format!("expected a month written YYYY-MM, got \"{s}\"");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        Month::new(year, month).ok_or_else(bad)
    }
}

impl TryFrom<String> for Month {
    type Error = String;
    fn try_from(s: String) -> Result<Month, String> {
        s.parse()
    }
}

impl From<Month> for String {
    fn from(m: Month) -> String {
        m.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let m: Month = "2015-04".parse().unwrap();
        assert_eq!((m.year(), m.month()), (2015, 4));
        assert_eq!(m.to_string(), "2015-04");
        assert_eq!(m.plus(9).to_string(), "2016-01");
        assert_eq!(m.plus(9).months_since(m), 9);
    }

    #[test]
    fn rejects_malformed_months() {
        for bad in [
            "2015",
            "2015-13",
            "2015-00",
            "15-04",
            "2015-4",
            "abcd-ef",
            "2015-04-01",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad} should be rejected");
        }
    }
}
