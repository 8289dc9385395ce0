//! Integrity of the folders ccgsim reads back: every manifest records, for each file of its folder,
//! its size, its number of rows and its SHA-256, and vouches for itself with the SHA-256 of its own
//! bytes (`manifest_sha256`, computed with that field empty). A reader verifies the manifest and
//! the files it will read before it uses anything, so a file cut short, a row deleted, a flipped
//! byte or an edited count is refused (exit code 2) instead of being read as if it were whole.
//!
//! Files are measured by streaming them in blocks; nothing here holds a whole file in memory.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::output::PendingFile;

/// The manifest field that holds the digest of the manifest itself.
pub const MANIFEST_SEAL: &str = "manifest_sha256";
/// The manifest field that holds the [`FileRecord`]s of the folder's other files.
pub const CHECKSUMS: &str = "checksums";

/// What a manifest records of one file of its folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub name: String,
    pub bytes: u64,
    /// Lines after the header for a CSV file; lines for any other file.
    pub rows: u64,
    pub sha256: String,
}

/// A damaged, edited or unverifiable file. Exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// A file that does not match what its manifest (or state file) records.
    #[error("'{}' {problem}", .path.display())]
    File { path: PathBuf, problem: String },
    /// A folder whose manifest carries no checksums.
    #[error(
        "'{}' was written by an earlier ccgsim without checksums, so its files cannot be \
         verified; pass --accept-unverified to read it anyway",
        .0.display()
    )]
    Unverified(PathBuf),
}

impl IntegrityError {
    pub fn file(path: impl Into<PathBuf>, problem: impl Into<String>) -> IntegrityError {
        IntegrityError::File {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` with thousands separators (1,234,567).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Size, line count and SHA-256 of a stream of bytes, fed block by block.
#[derive(Clone, Default)]
pub struct Measure {
    pub bytes: u64,
    pub lines: u64,
    /// The last byte fed.
    pub last: Option<u8>,
    hasher: Sha256,
}

impl Measure {
    pub fn update(&mut self, block: &[u8]) {
        self.bytes += block.len() as u64;
        self.lines += block.iter().filter(|&&b| b == b'\n').count() as u64;
        self.last = block.last().copied().or(self.last);
        self.hasher.update(block);
    }

    /// The hex SHA-256 of what was fed so far (the tally can go on being fed).
    pub fn sha256(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }

    /// Feed up to `limit` bytes (all of them if `None`) of `reader`.
    pub fn read_from(&mut self, reader: &mut impl Read, limit: Option<u64>) -> std::io::Result<()> {
        let mut buf = vec![0u8; 1 << 16];
        let mut left = limit.unwrap_or(u64::MAX);
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = reader.read(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            self.update(&buf[..n]);
            left -= n as u64;
        }
        Ok(())
    }

    fn record(&self, name: &str) -> FileRecord {
        FileRecord {
            name: name.to_string(),
            bytes: self.bytes,
            rows: rows_of(name, self.lines),
            sha256: self.sha256(),
        }
    }
}

fn rows_of(name: &str, lines: u64) -> u64 {
    if name.ends_with(".csv") {
        lines.saturating_sub(1)
    } else {
        lines
    }
}

/// Measure the file at `path`, recorded under `name`.
pub fn record(path: &Path, name: &str) -> std::io::Result<FileRecord> {
    let mut tally = Measure::default();
    tally.read_from(&mut File::open(path)?, None)?;
    Ok(tally.record(name))
}

/// Measure a file that is still being written under its temporary name.
pub fn record_pending(file: &PendingFile) -> anyhow::Result<FileRecord> {
    let name = file
        .dest()
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    record(file.temp_path(), &name).map_err(|e| {
        anyhow::Error::new(e).context(format!("could not read '{}'", file.dest().display()))
    })
}

/// Check the file `dir/record.name` against `record`.
pub fn verify(dir: &Path, record: &FileRecord, by: &str) -> Result<(), IntegrityError> {
    let path = dir.join(&record.name);
    let fail = |problem: String| Err(IntegrityError::file(&path, problem));
    let mut f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fail(format!("is missing, though {by} records it"));
        }
        Err(e) => return fail(format!("could not be read: {e}")),
    };
    let mut tally = Measure::default();
    if let Err(e) = tally.read_from(&mut f, None) {
        return fail(format!("could not be read: {e}"));
    }
    // Every file ccgsim writes ends with a newline: one that stops short of the recorded size in
    // the middle of a line was cut short.
    if tally.bytes < record.bytes && tally.last != Some(b'\n') {
        return fail(format!(
            "is cut short: {} bytes, {by} records {}",
            thousands(tally.bytes),
            thousands(record.bytes)
        ));
    }
    let rows = rows_of(&record.name, tally.lines);
    if rows != record.rows {
        let noun = if rows == 1 { "row" } else { "rows" };
        return fail(format!(
            "has {} {noun} where {by} records {}",
            thousands(rows),
            thousands(record.rows)
        ));
    }
    if tally.bytes != record.bytes {
        return fail(format!(
            "is {} bytes where {by} records {}: the file was edited or damaged",
            thousands(tally.bytes),
            thousands(record.bytes)
        ));
    }
    if tally.sha256() != record.sha256 {
        return fail(format!(
            "does not match its checksum in {by}: the file was edited or damaged"
        ));
    }
    Ok(())
}

/// Where the value of the top-level string field `key` of a JSON text starts and ends (pretty
/// or compact layout). Inside a JSON string every `"` is escaped, so the pattern can only match a
/// key.
fn field_span(text: &str, key: &str) -> Option<(usize, usize)> {
    let found = [format!("\"{key}\": \""), format!("\"{key}\":\"")]
        .iter()
        .find_map(|p| text.find(p.as_str()).map(|i| i + p.len()))?;
    let end = found + text[found..].find('"')?;
    Some((found, end))
}

/// Fill the empty field `key` of the JSON text `text` with the SHA-256 of `text` itself.
pub fn seal(text: String, key: &str) -> String {
    let digest = hex(&Sha256::digest(text.as_bytes()));
    match field_span(&text, key) {
        Some((start, end)) if start == end => {
            format!("{}{digest}{}", &text[..start], &text[end..])
        }
        _ => text,
    }
}

/// Check the seal `key` of the JSON text `text`: `Ok(false)` if it has none, `Ok(true)` if it
/// matches, an explanation if not.
pub fn check_seal(text: &str, key: &str) -> Result<bool, String> {
    let Some((start, end)) = field_span(text, key) else {
        return Ok(false);
    };
    let recorded = &text[start..end];
    let blank = format!("{}{}", &text[..start], &text[end..]);
    if field_span(&blank[start..], key).is_some() {
        return Err(format!("has more than one `{key}`"));
    }
    if hex(&Sha256::digest(blank.as_bytes())) == recorded {
        Ok(true)
    } else {
        Err(format!(
            "does not match its own checksum (`{key}`): it was edited or damaged"
        ))
    }
}

/// A manifest's fields followed by the records of its folder's files and its seal.
#[derive(Serialize)]
struct Sealed<'a, T: Serialize> {
    #[serde(flatten)]
    body: &'a T,
    checksums: Vec<FileRecord>,
    manifest_sha256: &'a str,
}

/// Write `body` as the pretty-printed `manifest.json` of `dir`, followed by the records of `files`
/// (measured under their temporary names) and the manifest's own seal; returns it pending.
pub fn write_manifest<T: Serialize>(
    dir: &Path,
    body: &T,
    files: &[&PendingFile],
) -> anyhow::Result<PendingFile> {
    let records = files
        .iter()
        .map(|f| record_pending(f))
        .collect::<anyhow::Result<_>>()?;
    write_manifest_records(dir, body, records)
}

/// [`write_manifest`] with the records given.
pub fn write_manifest_records<T: Serialize>(
    dir: &Path,
    body: &T,
    records: Vec<FileRecord>,
) -> anyhow::Result<PendingFile> {
    let sealed = Sealed {
        body,
        checksums: records,
        manifest_sha256: "",
    };
    let mut text = serde_json::to_string_pretty(&sealed)?;
    text.push('\n');
    let text = seal(text, MANIFEST_SEAL);
    let file = PendingFile::new(dir, "manifest.json")?;
    {
        let mut w = file.writer()?;
        std::io::Write::write_all(&mut w, text.as_bytes())
            .and_then(|()| std::io::Write::flush(&mut w))
            .map_err(|e| {
                anyhow::Error::new(e)
                    .context(format!("could not write '{}'", file.dest().display()))
            })?;
    }
    Ok(file)
}

/// A JSON error as a user reads it: line and column, and no Rust type names ("expected struct
/// Foo" becomes "expected an object").
pub fn json_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("struct ") {
        out.push_str(&rest[..i]);
        rest = rest[i + "struct ".len()..]
            .trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
        out.push_str("an object");
    }
    out.push_str(rest);
    // serde_json appends " at line L column C"; give the position first instead.
    let out = match out.rfind(" at line ") {
        Some(i) => out[..i].to_string(),
        None => out,
    };
    format!("{}:{}: {out}", e.line(), e.column())
}

/// A manifest read and checked: its text and parsed JSON, and its file records (`None` for a
/// folder accepted unverified).
#[derive(Debug)]
pub struct Manifest {
    pub path: PathBuf,
    pub text: String,
    pub json: serde_json::Value,
    pub records: Option<Vec<FileRecord>>,
}

/// Read `dir/manifest.json` and verify it and the files `required` (which must be recorded) and
/// `optional` (checked where present or recorded) before anything is read from them. A folder
/// whose manifest has no checksums is refused unless `accept_unverified`.
pub fn verify_folder(
    dir: &Path,
    required: &[&str],
    optional: &[&str],
    accept_unverified: bool,
) -> Result<Manifest, IntegrityError> {
    let path = dir.join("manifest.json");
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| IntegrityError::file(&path, "is not text (damaged?)"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if accept_unverified {
                return Ok(Manifest {
                    path,
                    text: String::new(),
                    json: serde_json::Value::Null,
                    records: None,
                });
            }
            return Err(IntegrityError::file(
                &path,
                "is missing, so the folder's files cannot be verified; pass --accept-unverified \
                 to read them anyway",
            ));
        }
        Err(e) => {
            return Err(IntegrityError::file(
                &path,
                format!("could not be read: {e}"),
            ));
        }
    };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        IntegrityError::file(&path, format!("is not valid JSON: {}", json_problem(&e)))
    })?;
    let sealed = check_seal(&text, MANIFEST_SEAL).map_err(|p| IntegrityError::file(&path, p))?;
    let has_records = json.get(CHECKSUMS).is_some();
    if !sealed && !has_records {
        if accept_unverified {
            return Ok(Manifest {
                path,
                text,
                json,
                records: None,
            });
        }
        return Err(IntegrityError::Unverified(dir.to_path_buf()));
    }
    if !sealed {
        return Err(IntegrityError::file(
            &path,
            format!("has `{CHECKSUMS}` but no `{MANIFEST_SEAL}`: it was edited"),
        ));
    }
    let records: Vec<FileRecord> = json
        .get(CHECKSUMS)
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|_| {
            IntegrityError::file(
                &path,
                format!(
                    "`{CHECKSUMS}` is malformed (each entry has name, bytes, rows and sha256): it \
                     was edited"
                ),
            )
        })?
        .ok_or_else(|| {
            IntegrityError::file(
                &path,
                format!("has a seal but no `{CHECKSUMS}`: it was edited"),
            )
        })?;
    let by = "the manifest";
    for name in required {
        let rec = records.iter().find(|r| r.name == *name).ok_or_else(|| {
            IntegrityError::file(&path, format!("records no checksum for {name}"))
        })?;
        verify(dir, rec, by)?;
    }
    for name in optional {
        match records.iter().find(|r| r.name == *name) {
            Some(rec) => verify(dir, rec, by)?,
            None if dir.join(name).exists() => {
                return Err(IntegrityError::file(
                    dir.join(name),
                    "is not recorded in the folder's manifest, so it is not from the command \
                     that wrote the folder (left from an earlier run, or added by hand?); remove \
                     it, or rerun into an empty folder",
                ));
            }
            None => {}
        }
    }
    Ok(Manifest {
        path,
        text,
        json,
        records: Some(records),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_vouches_for_every_byte() {
        let text = "{\n  \"seed\": 5,\n  \"manifest_sha256\": \"\"\n}\n".to_string();
        let sealed = seal(text.clone(), MANIFEST_SEAL);
        assert_ne!(sealed, text);
        assert_eq!(check_seal(&sealed, MANIFEST_SEAL), Ok(true));
        let edited = sealed.replace("\"seed\": 5", "\"seed\": 6");
        assert!(check_seal(&edited, MANIFEST_SEAL).is_err());
        assert_eq!(check_seal("{\"seed\": 5}", MANIFEST_SEAL), Ok(false));
        // The key's text inside a string value is escaped, so it is never taken for the field.
        let tricky = "{\n  \"description\": \"\\\"manifest_sha256\\\": \\\"\\\"\",\n  \"manifest_sha256\": \"\"\n}\n";
        let sealed = seal(tricky.to_string(), MANIFEST_SEAL);
        assert!(
            sealed.contains("\\\"manifest_sha256\\\": \\\"\\\""),
            "{sealed}"
        );
        assert_eq!(check_seal(&sealed, MANIFEST_SEAL), Ok(true));
        let v: serde_json::Value = serde_json::from_str(&sealed).unwrap();
        assert_eq!(v["manifest_sha256"].as_str().unwrap().len(), 64);
        let compact = seal("{\"a\":1,\"state_sha256\":\"\"}".into(), "state_sha256");
        assert_eq!(check_seal(&compact, "state_sha256"), Ok(true));
    }

    #[test]
    fn records_count_rows_after_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        std::fs::write(&path, "h\n1\n2\n").unwrap();
        let r = record(&path, "a.csv").unwrap();
        assert_eq!((r.bytes, r.rows), (6, 2));
        verify(dir.path(), &r, "the manifest").unwrap();
        let cases = [
            ("h\n1\n2", "is cut short: 5 bytes, the manifest records 6"),
            ("h\n1\n", "has 1 row where the manifest records 2"),
            ("h\n1\nxx\n", "is 7 bytes where the manifest records 6"),
            ("h\n1\n3\n", "does not match its checksum in the manifest"),
        ];
        for (text, want) in cases {
            std::fs::write(&path, text).unwrap();
            let e = verify(dir.path(), &r, "the manifest").unwrap_err();
            assert!(e.to_string().contains(want), "{text:?}: {e}");
        }
        std::fs::remove_file(&path).unwrap();
        let e = verify(dir.path(), &r, "the manifest").unwrap_err();
        assert!(e.to_string().contains("is missing"), "{e}");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn json_problems_name_no_rust_types() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            a: u32,
        }
        let e = serde_json::from_str::<Vec<Inner>>("[\n 5]").unwrap_err();
        let p = json_problem(&e);
        assert!(p.starts_with("2:2: "), "{p}");
        assert!(
            p.contains("expected an object") && !p.contains("Inner"),
            "{p}"
        );
    }
}
