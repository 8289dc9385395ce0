//! Errors in a TOML input file (a scenario, sweep or calibration file) that a user can fix: each
//! names the file, and where it can, the line, column and dotted key of the problem. The parsing
//! helpers here are shared by every kind of input file.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::model::params::Problem;

/// Where in a scenario file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A TOML input file that cannot be read, parsed or accepted.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("could not read '{}'", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{location}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        location: Location,
        message: String,
    },
    #[error("{}{}: key `{key}`: {message}", path.display(), location.as_ref().map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        location: Option<Location>,
        key: String,
        message: String,
    },
}

/// Errors in scenario files.
pub type ScenarioError = InputError;

/// Read an input file.
pub fn read_input(path: &Path) -> Result<String, InputError> {
    std::fs::read_to_string(path).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Parse TOML `text` (from `path`) into `T`, mapping syntax and type errors, and unknown keys, to
/// the file's line, column and dotted key.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, InputError> {
    let tree = DeTable::parse(text).map_err(|e| InputError::Syntax {
        path: path.to_path_buf(),
        location: location_of(text, e.span().map_or(0, |s| s.start)),
        message: e.message().trim().to_string(),
    })?;
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        InputError::Invalid {
            path: path.to_path_buf(),
            location: Some(location_of(text, offset)),
            key: key_at(tree.get_ref(), offset).unwrap_or_else(|| "(top level)".into()),
            message: e.message().trim().to_string(),
        }
    })
}

/// A validation [`Problem`] in `text` (from `path`), as an error naming its line, column and key.
pub fn located(text: &str, path: &Path, p: Problem) -> InputError {
    let location = DeTable::parse(text)
        .ok()
        .and_then(|tree| span_of_key(tree.get_ref(), &p.key).map(|s| location_of(text, s.start)));
    InputError::Invalid {
        path: path.to_path_buf(),
        location,
        key: p.key,
        message: p.message,
    }
}

/// The 1-based line and column of byte `offset` in `text`.
pub fn location_of(text: &str, offset: usize) -> Location {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Location {
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

/// One step of a dotted key path: a table key or an array index.
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            out.push(Segment::Key(name));
        }
        for idx in rest.split('[') {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Segment::Index(i));
            }
        }
    }
    out
}

/// The byte span of the value at dotted `path` (e.g. `ccgs[2].practices`), or of the deepest
/// enclosing item that exists.
pub fn span_of_key(root: &DeTable<'_>, path: &str) -> Option<Range<usize>> {
    let mut table = root;
    let mut array: Option<&[toml::Spanned<DeValue<'_>>]> = None;
    let mut span = None;
    for seg in segments(path) {
        let value = match (seg, array) {
            (Segment::Key(k), None) => {
                let (key, value) = table.iter().find(|(key, _)| key.get_ref() == k)?;
                // Point at the key itself: that is where the user looks.
                span = Some(key.span());
                value
            }
            (Segment::Index(i), Some(items)) => {
                let item = items.get(i)?;
                span = Some(item.span());
                item
            }
            _ => return span,
        };
        array = None;
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            DeValue::Array(a) => array = Some(a),
            _ => {}
        }
    }
    span
}

/// The dotted key path of the deepest item whose key or value contains byte `offset`.
pub fn key_at(root: &DeTable<'_>, offset: usize) -> Option<String> {
    fn walk(table: &DeTable<'_>, offset: usize, path: &mut String) -> bool {
        for (key, value) in table.iter() {
            let vs = value.span();
            let inside = key.span().contains(&offset) || vs.contains(&offset);
            if !inside && !matches!(value.get_ref(), DeValue::Table(_) | DeValue::Array(_)) {
                continue;
            }
            let mark = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key.get_ref());
            let deeper = match value.get_ref() {
                DeValue::Table(t) => walk(t, offset, path),
                DeValue::Array(a) => {
                    let mut found = false;
                    for (i, item) in a.iter().enumerate() {
                        let m = path.len();
                        path.push_str(&format!("[{i}]"));
                        let hit = match item.get_ref() {
                            DeValue::Table(t) => {
                                walk(t, offset, path) || item.span().contains(&offset)
                            }
                            _ => item.span().contains(&offset),
                        };
                        if hit {
                            found = true;
                            break;
                        }
                        path.truncate(m);
                    }
                    found
                }
                _ => false,
            };
            if deeper || inside {
                return true;
            }
            path.truncate(mark);
        }
        false
    }
    let mut path = String::new();
    walk(root, offset, &mut path).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "seed = 3\n[policy]\ntraining = { rate = 2.0 }\n\n[[ccgs]]\nid = \"a\"\n[[ccgs]]\nid = \"b\"\npractices = -1\n";

    #[test]
    fn finds_spans_of_nested_keys() {
        let root = DeTable::parse(DOC).unwrap();
        let span = span_of_key(root.get_ref(), "policy.training.rate").unwrap();
        assert_eq!(
            location_of(DOC, span.start),
            Location {
                line: 3,
                column: 14
            }
        );
        let span = span_of_key(root.get_ref(), "ccgs[1].practices").unwrap();
        assert_eq!(
            location_of(DOC, span.start),
            Location { line: 9, column: 1 }
        );
    }

    #[test]
    fn finds_keys_at_offsets() {
        let root = DeTable::parse(DOC).unwrap();
        let offset = DOC.find("-1").unwrap();
        assert_eq!(
            key_at(root.get_ref(), offset).as_deref(),
            Some("ccgs[1].practices")
        );
        let offset = DOC.find("2.0").unwrap();
        assert_eq!(
            key_at(root.get_ref(), offset).as_deref(),
            Some("policy.training.rate")
        );
    }
}
