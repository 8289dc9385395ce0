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
    #[error("'{}' {message}", path.display())]
    Refused { path: PathBuf, message: String },
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

/// The largest configuration input read (scenario, sweep, calibration and targets files): a
/// file past it is refused from its size, without reading it, and a stream that never ends (a
/// device or a pipe) is read no further than this. Result files read back are checked by their
/// checksums instead.
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

/// Read a configuration input as UTF-8 text, refusing folders, files larger than
/// [`MAX_INPUT_BYTES`] and text that is not UTF-8 (naming the line of the first bad byte).
pub fn read_input(path: &Path) -> Result<String, InputError> {
    use std::io::Read as _;
    let refused = |message: String| InputError::Refused {
        path: path.to_path_buf(),
        message,
    };
    let read_error = |source| InputError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if meta.is_dir() {
        return Err(refused("is a folder, not a file".into()));
    }
    if meta.is_file() && meta.len() > MAX_INPUT_BYTES {
        return Err(refused(format!(
            "is {} bytes; configuration files larger than {} MiB are refused",
            meta.len(),
            MAX_INPUT_BYTES >> 20
        )));
    }
    let mut bytes = Vec::with_capacity(if meta.is_file() {
        meta.len() as usize
    } else {
        0
    });
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(refused(format!(
            "goes on past {} MiB (is it a device or a pipe?); configuration files larger than that are refused",
            MAX_INPUT_BYTES >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = bytes[..good].iter().filter(|&&b| b == b'\n').count() + 1;
        let column = good
            - bytes[..good]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
            + 1;
        InputError::Syntax {
            path: path.to_path_buf(),
            location: Location { line, column },
            message: "the file is not UTF-8 text".into(),
        }
    })
}

/// A [`read_input`] error in one line, to be quoted in another file's error.
pub fn describe_read_error(e: &InputError) -> String {
    match e {
        InputError::Read { path, source } => {
            format!("could not read '{}': {source}", path.display())
        }
        other => other.to_string(),
    }
}

/// Parse TOML `text` (from `path`) into `T`, mapping syntax and type errors, and unknown keys, to
/// the file's line, column and dotted key.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, InputError> {
    // The document is parsed once on success; only a failure parses it again, to tell a syntax
    // error from a bad value and to name the key (a million-CCG file is parsed in seconds).
    super::strict::from_str(text).map_err(|e| {
        let tree = match DeTable::parse(text) {
            Ok(tree) => tree,
            Err(e) => {
                return InputError::Syntax {
                    path: path.to_path_buf(),
                    location: location_of(text, e.span().map_or(0, |s| s.start)),
                    message: plain_message(e.message()),
                };
            }
        };
        let offset = e.span().map_or(0, |s| s.start);
        InputError::Invalid {
            path: path.to_path_buf(),
            location: Some(location_of(text, offset)),
            key: key_at(tree.get_ref(), offset).unwrap_or_else(|| "(top level)".into()),
            message: plain_message(e.message()),
        }
    })
}

/// A parser's message in the words of the file format: serde names the Rust types it expected
/// (`struct GovernanceFile`, `u32`, `a sequence`), which mean nothing to the person editing the
/// file, so they become TOML's own words (`a table`, `a non-negative integer`, `an array`).
pub fn plain_message(message: &str) -> String {
    let words: Vec<&str> = split_words(message.trim());
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        // `struct Name` / `enum Name` / `untagged enum Name`, Name being a Rust type.
        let type_name = |j: usize| {
            words.get(j) == Some(&" ")
                && words
                    .get(j + 1)
                    .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_uppercase()))
        };
        // Drop an `a `/`an ` before a phrase that brings its own.
        let article = |o: &mut Vec<String>| {
            if o.len() >= 2
                && matches!(o[o.len() - 2].as_str(), "a" | "an")
                && o[o.len() - 1] == " "
            {
                o.truncate(o.len() - 2);
            }
        };
        match w {
            "struct" if type_name(i + 1) => {
                article(&mut out);
                out.push("a table".into());
                i += 3;
            }
            "untagged" if words.get(i + 2) == Some(&"enum") && type_name(i + 3) => {
                out.push("the accepted forms".into());
                i += 5;
            }
            "enum" if type_name(i + 1) => {
                article(&mut out);
                out.push("one of the accepted values".into());
                i += 3;
            }
            "sequence" => {
                // `a sequence` becomes `an array`.
                let n = out.len();
                if n >= 2 && out[n - 2] == "a" && out[n - 1] == " " {
                    out[n - 2] = "an".into();
                }
                out.push("array".into());
                i += 1;
            }
            _ => {
                let plain = match w {
                    "f32" | "f64" => "a number",
                    "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative integer",
                    "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer",
                    "map" => "table",
                    other => other,
                };
                out.push(plain.to_string());
                i += 1;
            }
        }
    }
    out.concat()
}

/// `text` cut into words (runs of letters, digits and `_`) and the single characters between.
fn split_words(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_word(c) {
            while chars.peek().is_some_and(|&(_, d)| is_word(d)) {
                chars.next();
            }
            let end = chars.peek().map_or(text.len(), |&(j, _)| j);
            words.push(&text[i..end]);
        } else {
            words.push(&text[i..i + c.len_utf8()]);
        }
    }
    words
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
