//! `ccgsim merge`: join the folders of a sharded sweep into the folder a single run would have
//! written, byte for byte. Shard K of N holds the points p with p mod N = K - 1, each file in point
//! order, so the merge streams every file once, taking each point's rows from its shard.
//!
//! Each shard is verified against its manifest before anything is read ([`crate::integrity`]), and
//! every row is checked as it is copied: the header the sweep implies, each point's rows complete
//! and in order, numbers where numbers belong. A damaged shard is refused and nothing is written.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::error::SweepError;
use super::runner::{FILES, STATE_FILE, SUMMARY_COLUMNS, SweepManifest};
use crate::output::{PendingFile, prepare_dir};

/// Merge the complete shard folders `dirs` into `out`; returns the number of points. Shards
/// without checksums (written by an earlier ccgsim) are refused unless `accept_unverified`.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    force: bool,
    accept_unverified: bool,
) -> anyhow::Result<usize> {
    let mut manifests = Vec::with_capacity(dirs.len());
    for dir in dirs {
        if dir.join(STATE_FILE).exists() {
            return Err(SweepError::Folder {
                path: dir.clone(),
                message: "this shard has not finished; run it to completion (with --resume) first"
                    .into(),
            }
            .into());
        }
        let m = SweepManifest::read_verified(dir, &FILES[..3], accept_unverified)?;
        let Some(shard) = m.shard else {
            return Err(SweepError::Folder {
                path: dir.clone(),
                message: "holds a whole sweep, not a shard".into(),
            }
            .into());
        };
        manifests.push((dir.clone(), shard, m));
    }
    let (_, first_shard, first) = manifests
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no shard folders given"))?;
    let n = first_shard.count as usize;
    let mut slots: Vec<Option<PathBuf>> = vec![None; n];
    for (dir, shard, m) in &manifests {
        let same = SweepManifest {
            shard: None,
            shard_points: 0,
            ..m.clone()
        } == SweepManifest {
            shard: None,
            shard_points: 0,
            ..first.clone()
        };
        if !same || shard.count as usize != n {
            return Err(SweepError::Folder {
                path: dir.clone(),
                message: format!(
                    "is from another sweep or another split than '{}'",
                    manifests[0].0.display()
                ),
            }
            .into());
        }
        let owned = m.points / n + usize::from((shard.index as usize - 1) < m.points % n);
        if m.shard_points != owned {
            return Err(SweepError::Folder {
                path: dir.join("manifest.json"),
                message: format!(
                    "records {} points in shard {shard}, which holds {owned} of the sweep's {}",
                    m.shard_points, m.points
                ),
            }
            .into());
        }
        let slot = &mut slots[shard.index as usize - 1];
        if let Some(other) = slot {
            return Err(SweepError::Folder {
                path: dir.clone(),
                message: format!("holds shard {shard}, as '{}' does", other.display()),
            }
            .into());
        }
        *slot = Some(dir.clone());
    }
    if let Some(k) = slots.iter().position(Option::is_none) {
        return Err(SweepError::Folder {
            path: out.to_path_buf(),
            message: format!("shard {}/{n} is missing from the folders given", k + 1),
        }
        .into());
    }
    let shard_dirs: Vec<PathBuf> = slots.into_iter().flatten().collect();
    let existed = out.exists();
    prepare_dir(out, force)?;
    let result = write_merged(&shard_dirs, out, first);
    if result.is_err() && !existed {
        // Nothing was renamed into place: leave no empty folder behind either.
        let _ = std::fs::remove_dir(out);
    }
    result
}

fn write_merged(shard_dirs: &[PathBuf], out: &Path, first: SweepManifest) -> anyhow::Result<usize> {
    let points = first.points;
    let params: Vec<String> = first.parameters.iter().map(|p| p.column.clone()).collect();
    let outputs: Vec<String> = first.outputs.iter().map(|o| o.name.clone()).collect();
    let layouts = [
        Layout {
            name: FILES[0],
            header: std::iter::once("point".to_string())
                .chain(params.iter().cloned())
                .collect(),
            rows: Rows::One,
        },
        Layout {
            name: FILES[1],
            header: ["point".to_string(), "replicate".to_string()]
                .into_iter()
                .chain(outputs.iter().cloned())
                .collect(),
            rows: Rows::Replicates(first.replicates as usize),
        },
        Layout {
            name: FILES[2],
            header: std::iter::once("point".to_string())
                .chain(params.iter().cloned())
                .chain(SUMMARY_COLUMNS.iter().map(|s| s.to_string()))
                .collect(),
            rows: Rows::Outputs(outputs.clone(), 1 + params.len()),
        },
    ];
    let mut pending = Vec::new();
    for layout in &layouts {
        pending.push(merge_file(shard_dirs, out, layout, points)?);
    }
    let manifest = SweepManifest {
        shard: None,
        shard_points: points,
        ..first
    };
    let m = manifest.write(out, &pending.iter().collect::<Vec<_>>())?;
    for f in pending {
        f.commit()?;
    }
    m.commit()?;
    Ok(points)
}

/// What each point's rows of a file are.
enum Rows {
    /// One row (points.csv).
    One,
    /// One row per replicate, numbered from 0 in the second column; the rest are numbers.
    Replicates(usize),
    /// One row per output, named in the column at the index, followed by mean, sd, ci_low,
    /// ci_high (numbers) and n (a count).
    Outputs(Vec<String>, usize),
}

struct Layout {
    name: &'static str,
    header: Vec<String>,
    rows: Rows,
}

impl Layout {
    fn per_point(&self) -> usize {
        match &self.rows {
            Rows::One => 1,
            Rows::Replicates(r) => *r,
            Rows::Outputs(o, _) => o.len(),
        }
    }

    /// Why row `k` of a point's rows is wrong, if it is.
    fn check(&self, k: usize, rec: &csv::ByteRecord) -> Option<String> {
        let text = |i: usize| String::from_utf8_lossy(rec.get(i).unwrap_or_default()).into_owned();
        let number = |i: usize| {
            let v = text(i);
            let ok = v == "NA" || v.parse::<f64>().is_ok_and(f64::is_finite);
            (!ok).then(|| format!("column `{}`: \"{v}\" is not a number or NA", self.header[i]))
        };
        match &self.rows {
            Rows::One => None,
            Rows::Replicates(_) => {
                if text(1) != k.to_string() {
                    return Some(format!(
                        "column `replicate`: expected {k}, found \"{}\" (a row missing or repeated?)",
                        text(1)
                    ));
                }
                (2..rec.len()).find_map(number)
            }
            Rows::Outputs(names, at) => {
                if text(*at) != names[k] {
                    return Some(format!(
                        "column `metric`: expected \"{}\", found \"{}\" (a row missing or repeated?)",
                        names[k],
                        text(*at)
                    ));
                }
                if let Some(e) = (at + 1..at + 5).find_map(number) {
                    return Some(e);
                }
                let n = text(at + 5);
                (n.parse::<u64>().is_err()).then(|| format!("column `n`: \"{n}\" is not a count"))
            }
        }
    }
}

fn bad_row(path: &Path, line: u64, message: impl std::fmt::Display) -> anyhow::Error {
    SweepError::Folder {
        path: path.to_path_buf(),
        message: format!("line {line}: {message}"),
    }
    .into()
}

/// Merge file `layout.name` of every shard: the header once, then each point's rows from its
/// shard, each checked.
fn merge_file(
    dirs: &[PathBuf],
    out: &Path,
    layout: &Layout,
    points: usize,
) -> anyhow::Result<PendingFile> {
    let n = dirs.len();
    let mut readers = Vec::with_capacity(n);
    let header: csv::ByteRecord = layout.header.iter().map(String::as_str).collect();
    for dir in dirs {
        let path = dir.join(layout.name);
        let f = File::open(&path).map_err(|e| SweepError::Folder {
            path: path.clone(),
            message: format!("could not be read: {e}"),
        })?;
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(BufReader::new(f));
        let mut h = csv::ByteRecord::new();
        let read = r
            .read_byte_record(&mut h)
            .map_err(|e| bad_row(&path, 1, format!("not CSV ({e})")))?;
        if !read || h != header {
            return Err(SweepError::Folder {
                path,
                message: format!(
                    "line 1: has columns \"{}\" where the sweep has \"{}\"",
                    String::from_utf8_lossy(h.as_slice()),
                    layout.header.join(",")
                ),
            }
            .into());
        }
        readers.push((path, r));
    }
    let file = PendingFile::new(out, layout.name)?;
    let mut w = csv::Writer::from_writer(file.writer()?);
    w.write_byte_record(&header)?;
    let per = layout.per_point();
    let mut rec = csv::ByteRecord::new();
    for p in 0..points {
        let id = p.to_string();
        let (path, reader) = &mut readers[p % n];
        for k in 0..per {
            let more = reader.read_byte_record(&mut rec).map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                bad_row(path, line, format!("not a row of the sweep ({e})"))
            })?;
            if !more {
                return Err(SweepError::Folder {
                    path: path.clone(),
                    message: format!(
                        "ends before the rows of point {p} are complete ({} of {per}): rows are missing",
                        k
                    ),
                }
                .into());
            }
            let line = rec.position().map_or(0, |p| p.line());
            if rec.get(0) != Some(id.as_bytes()) {
                return Err(bad_row(
                    path,
                    line,
                    format!(
                        "expected a row of point {p}, found point \"{}\" (rows missing, repeated or out of order?)",
                        String::from_utf8_lossy(rec.get(0).unwrap_or_default())
                    ),
                ));
            }
            if let Some(problem) = layout.check(k, &rec) {
                return Err(bad_row(path, line, problem));
            }
            w.write_byte_record(&rec)?;
        }
    }
    for (path, reader) in &mut readers {
        if reader
            .read_byte_record(&mut rec)
            .map_err(|e| bad_row(path, e.position().map_or(0, |p| p.line()), e))?
        {
            let line = rec.position().map_or(0, |p| p.line());
            return Err(bad_row(
                path,
                line,
                "a row beyond the shard's points (repeated, or from another shard?)",
            ));
        }
    }
    w.flush()
        .with_context(|| format!("could not write '{}'", file.dest().display()))?;
    drop(w);
    Ok(file)
}
