//! `ccgsim merge`: join the folders of a sharded sweep into the folder a single run would have
//! written, byte for byte. Shard K of N holds the points p with p mod N = K - 1, each file in point
//! order, so the merge streams every file once, taking each point's rows from its shard.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::error::SweepError;
use super::runner::{FILES, STATE_FILE, SweepManifest};
use crate::output::{PendingFile, prepare_dir};

/// Merge the complete shard folders `dirs` into `out`; returns the number of points.
pub fn merge(dirs: &[PathBuf], out: &Path, force: bool) -> anyhow::Result<usize> {
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
        let m = SweepManifest::read(dir)?;
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
    prepare_dir(out, force)?;

    let points = first.points;
    let mut pending = Vec::new();
    for name in &FILES[..3] {
        pending.push(merge_file(&shard_dirs, out, name, points)?);
    }
    let manifest = SweepManifest {
        shard: None,
        shard_points: points,
        ..first
    };
    let m = manifest.write(out)?;
    for f in pending {
        f.commit()?;
    }
    m.commit()?;
    Ok(points)
}

/// Merge file `name` of every shard: the header once, then each point's rows from its shard.
fn merge_file(
    dirs: &[PathBuf],
    out: &Path,
    name: &str,
    points: usize,
) -> anyhow::Result<PendingFile> {
    let n = dirs.len();
    let mut readers = Vec::with_capacity(n);
    let mut header = None;
    for dir in dirs {
        let path = dir.join(name);
        let f =
            File::open(&path).with_context(|| format!("could not read '{}'", path.display()))?;
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(BufReader::new(f));
        let mut h = csv::ByteRecord::new();
        r.read_byte_record(&mut h)
            .with_context(|| format!("could not read '{}'", path.display()))?;
        match &header {
            None => header = Some(h),
            Some(first) if *first != h => {
                return Err(SweepError::Folder {
                    path,
                    message: "has other columns than the first shard's".into(),
                }
                .into());
            }
            Some(_) => {}
        }
        readers.push((path, r, None::<csv::ByteRecord>));
    }
    let file = PendingFile::new(out, name)?;
    let mut w = csv::Writer::from_writer(file.writer()?);
    w.write_byte_record(&header.unwrap_or_default())?;
    for p in 0..points {
        let id = p.to_string();
        let (path, reader, peeked) = &mut readers[p % n];
        loop {
            let rec = match peeked.take() {
                Some(r) => r,
                None => {
                    let mut r = csv::ByteRecord::new();
                    if !reader
                        .read_byte_record(&mut r)
                        .with_context(|| format!("could not read '{}'", path.display()))?
                    {
                        break;
                    }
                    r
                }
            };
            if rec.get(0) == Some(id.as_bytes()) {
                w.write_byte_record(&rec)?;
            } else {
                *peeked = Some(rec);
                break;
            }
        }
    }
    for (path, reader, peeked) in &mut readers {
        let mut r = csv::ByteRecord::new();
        if peeked.is_some() || reader.read_byte_record(&mut r)? {
            return Err(SweepError::Folder {
                path: path.clone(),
                message: "has rows for points that do not belong to its shard".into(),
            }
            .into());
        }
    }
    w.flush()
        .with_context(|| format!("could not write '{}'", file.dest().display()))?;
    drop(w);
    Ok(file)
}
