//! The journal of a calibration in progress, `.calibration.journal` in its output folder, from
//! which `ccgsim calibrate --resume` continues after an interruption (a signal, or the process
//! being killed).
//!
//! One line per record: the SHA-256 of the record's JSON, a space, the JSON. The first record
//! names the calibration (the SHA-256 of its file, base and targets); each later one is a finished
//! generation, with every number stored as the bits of its `f64` so that it comes back exactly,
//! or the note that a generation could not be filled (which ends the run). After each record the
//! whole journal is written to a temporary file, made durable and renamed over the old one, so the
//! journal on disk is always a whole one: a line that fails its checksum is damage, not a torn
//! write, and the folder is refused.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::abc::{Generation, Particle, Start};
use super::calibrate::Calibration;
use super::error::SweepError;
use crate::output::manifest::sha256_hex;
use crate::output::{OutputExists, remove_temp_files};

/// The journal's name in the output folder.
pub const JOURNAL: &str = ".calibration.journal";
/// Its temporary name while it is rewritten.
pub const JOURNAL_TMP: &str = ".calibration.journal.tmp";
/// The layout of the records; a journal of another layout is refused. 2: a base scenario that
/// does not choose reports expected answers (ODD 7.10), so generations drawn with sampled ones
/// are not resumed.
const FORMAT: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Record {
    Calibration {
        format: u32,
        calibration_sha256: String,
    },
    Generation {
        index: usize,
        /// `f64::to_bits` of the tolerance (infinite for generation 0).
        epsilon: u64,
        candidates: usize,
        particles: Vec<ParticleBits>,
    },
    Exhausted {
        index: usize,
    },
}

/// A particle with each number as its `f64` bits.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParticleBits {
    theta: Vec<u64>,
    weight: u64,
    distance: u64,
    outputs: Vec<u64>,
}

fn bits(xs: &[f64]) -> Vec<u64> {
    xs.iter().map(|x| x.to_bits()).collect()
}

fn floats(xs: &[u64]) -> Vec<f64> {
    xs.iter().map(|&x| f64::from_bits(x)).collect()
}

/// What the output folder of a calibration holds.
pub enum Folder {
    /// Nothing of ours: start afresh.
    Fresh(Journal),
    /// An interrupted calibration: continue from its finished generations.
    Resume(Journal, Start),
    /// A finished calibration of the same file; nothing to do.
    Complete,
}

/// The journal of one calibration folder.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    text: String,
}

fn folder_error(path: &Path, message: impl Into<String>) -> SweepError {
    SweepError::Folder {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The files a calibration folder may hold.
fn ours(name: &str) -> bool {
    super::calibrate::FINISHED_FILES.contains(&name)
        || name == JOURNAL
        || name == JOURNAL_TMP
        || crate::output::is_temp_file(name)
        || name == "report.html"
}

/// Decide what to do with the output folder `dir` of calibration `c`, cleaning up the temporary
/// files of an interrupted run. Without `resume` or `force`, a non-empty folder is refused; with
/// `force`, the journal and temporary files of an earlier run are deleted (its results stay until
/// the new ones replace them); with `resume`, the journal is checked and continued.
pub fn open_folder(
    c: &Calibration,
    dir: &Path,
    resume: bool,
    force: bool,
) -> anyhow::Result<Folder> {
    let entries: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    if !entries.is_empty() && !resume && !force {
        return Err(OutputExists(dir.to_path_buf()).into());
    }
    crate::output::create_output_dir(dir)?;
    remove_temp_files(dir)?;
    remove_if_present(&dir.join(JOURNAL_TMP))?;
    if force {
        remove_if_present(&dir.join(JOURNAL))?;
        return Ok(Folder::Fresh(Journal::create(dir, c)?));
    }
    let path = dir.join(JOURNAL);
    if path.exists() {
        let (journal, start) = Journal::open(dir, c)?;
        return Ok(Folder::Resume(journal, start));
    }
    let manifest = dir.join("manifest.json");
    if manifest.exists() {
        let text = crate::scenario::error::read_input(&manifest)?;
        let recorded = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("calibration_sha256")?.as_str().map(str::to_string))
            .ok_or_else(|| {
                folder_error(
                    &manifest,
                    "not the manifest of a calibration folder; choose another --out",
                )
            })?;
        if recorded != c.sha256 {
            return Err(folder_error(
                dir,
                format!(
                    "holds a calibration of a different file (recorded {recorded}, '{}' now {}); choose another --out, or pass --force to start again",
                    c.path.display(),
                    c.sha256
                ),
            )
            .into());
        }
        return Ok(Folder::Complete);
    }
    if let Some(other) = entries.iter().find(|n| !ours(n)) {
        return Err(folder_error(
            dir,
            format!(
                "is not a calibration folder (it holds '{other}' and no journal or manifest); choose another --out"
            ),
        )
        .into());
    }
    Ok(Folder::Fresh(Journal::create(dir, c)?))
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(anyhow::Error::new(e).context(format!("could not remove '{}'", path.display())))
        }
        _ => Ok(()),
    }
}

fn line(record: &Record) -> anyhow::Result<String> {
    let json = serde_json::to_string(record).context("could not encode a journal record")?;
    Ok(format!("{} {json}\n", sha256_hex(json.as_bytes())))
}

impl Journal {
    /// A new journal naming `c`, written at once.
    fn create(dir: &Path, c: &Calibration) -> anyhow::Result<Journal> {
        let mut journal = Journal {
            dir: dir.to_path_buf(),
            text: String::new(),
        };
        journal.append(&Record::Calibration {
            format: FORMAT,
            calibration_sha256: c.sha256.clone(),
        })?;
        Ok(journal)
    }

    /// Read and check the journal in `dir`: every line's checksum, that it was written for `c`,
    /// and that its generations follow one another and have the right shape.
    fn open(dir: &Path, c: &Calibration) -> anyhow::Result<(Journal, Start)> {
        let path = dir.join(JOURNAL);
        let bad = |n: usize, message: &str| {
            folder_error(
                &path,
                format!("line {n}: {message}; pass --force to start the calibration again"),
            )
        };
        let bytes =
            std::fs::read(&path).with_context(|| format!("could not read '{}'", path.display()))?;
        let text = String::from_utf8(bytes).map_err(|_| bad(1, "not a calibration journal"))?;
        let mut start = Start::default();
        let mut lines = 0;
        for (i, l) in text.split_inclusive('\n').enumerate() {
            let n = i + 1;
            lines = n;
            let Some(l) = l.strip_suffix('\n') else {
                return Err(bad(n, "the line is cut short (the journal is damaged)").into());
            };
            let (sum, json) = l
                .split_once(' ')
                .ok_or_else(|| bad(n, "not a journal record"))?;
            if sha256_hex(json.as_bytes()) != sum {
                return Err(
                    bad(n, "the record fails its checksum (the journal is damaged)").into(),
                );
            }
            let record: Record = serde_json::from_str(json)
                .map_err(|_| bad(n, "not a record of this version of ccgsim"))?;
            match record {
                Record::Calibration {
                    format,
                    calibration_sha256,
                } if n == 1 => {
                    if format != FORMAT {
                        return Err(bad(n, "written by another version of ccgsim").into());
                    }
                    if calibration_sha256 != c.sha256 {
                        return Err(folder_error(
                            &path,
                            format!(
                                "was written for a different calibration (recorded {calibration_sha256}, '{}' now {}); pass --force to start again, or choose another --out",
                                c.path.display(),
                                c.sha256
                            ),
                        )
                        .into());
                    }
                }
                _ if n == 1 => return Err(bad(n, "not a calibration journal").into()),
                Record::Generation {
                    index,
                    epsilon,
                    candidates,
                    particles,
                } if index == start.generations.len()
                    && !start.exhausted
                    && index < c.settings.generations
                    && particles.len() == c.settings.particles
                    && particles.iter().all(|p| {
                        p.theta.len() == c.priors.len() && p.outputs.len() == c.targets.len()
                    }) =>
                {
                    start.generations.push(Generation {
                        epsilon: f64::from_bits(epsilon),
                        candidates,
                        particles: particles
                            .into_iter()
                            .map(|p| Particle {
                                theta: floats(&p.theta),
                                weight: f64::from_bits(p.weight),
                                distance: f64::from_bits(p.distance),
                                outputs: floats(&p.outputs),
                            })
                            .collect(),
                    });
                }
                Record::Exhausted { index }
                    if index == start.generations.len() && !start.exhausted =>
                {
                    start.exhausted = true;
                }
                _ => return Err(bad(n, "a record out of place (the journal is damaged)").into()),
            }
        }
        if lines == 0 {
            return Err(bad(1, "the journal is empty").into());
        }
        Ok((
            Journal {
                dir: dir.to_path_buf(),
                text,
            },
            start,
        ))
    }

    /// Record finished generation `g`, durably.
    pub fn generation(&mut self, g: usize, generation: &Generation) -> anyhow::Result<()> {
        self.append(&Record::Generation {
            index: g,
            epsilon: generation.epsilon.to_bits(),
            candidates: generation.candidates,
            particles: generation
                .particles
                .iter()
                .map(|p| ParticleBits {
                    theta: bits(&p.theta),
                    weight: p.weight.to_bits(),
                    distance: p.distance.to_bits(),
                    outputs: bits(&p.outputs),
                })
                .collect(),
        })
    }

    /// Record that generation `g` could not be filled, durably.
    pub fn exhausted(&mut self, g: usize) -> anyhow::Result<()> {
        self.append(&Record::Exhausted { index: g })
    }

    /// Delete the journal of a finished calibration.
    pub fn remove(self) -> anyhow::Result<()> {
        remove_if_present(&self.dir.join(JOURNAL))
    }

    fn append(&mut self, record: &Record) -> anyhow::Result<()> {
        let line = line(record)?;
        let tmp = self.dir.join(JOURNAL_TMP);
        let _guard = crate::signals::TempGuard::new(&tmp);
        let ctx = || format!("could not write '{}'", tmp.display());
        {
            let mut f = File::create(&tmp).with_context(ctx)?;
            f.write_all(self.text.as_bytes()).with_context(ctx)?;
            f.write_all(line.as_bytes()).with_context(ctx)?;
            f.sync_all().with_context(ctx)?;
        }
        std::fs::rename(&tmp, self.dir.join(JOURNAL)).with_context(ctx)?;
        // Make the rename itself durable.
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.text.push_str(&line);
        Ok(())
    }
}
