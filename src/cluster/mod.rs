//! Spreading a command's work over several processes: the ranks of an MPI job (`mpirun -n K`,
//! or `srun` under Slurm), with the `mpi` feature. See docs/CLUSTER.md.
//!
//! Every rank reads the same input and builds the same model; rank 0 (the coordinator) also owns
//! the output folder. A command's work is a list of **units** (blocks of sweep points, of
//! calibration candidates or of replicates), each described by a few bytes that rank 0 makes
//! ([`Job`] turns them into results on any rank). Rank 0 hands units out on request, at most
//! [`DEPTH`] at a time to each rank (itself included: it computes as well as it coordinates), so
//! fast ranks take more of them; each rank runs a unit on its own threads. Results come back to
//! rank 0, which passes them on in unit order, and the command writes its files exactly as a
//! single process would: a unit's result does not depend on where it ran, and nothing else
//! changes, so the files are the same bytes whatever the number of ranks or threads.
//!
//! No rank waits forever on a dead peer: every rank sends a heartbeat each
//! [`heartbeat`]`(timeout)`, and one that hears nothing from a peer for `timeout` ends the job
//! with a message naming it.
//!
//! The scheduling is written against [`Transport`], so that it is tested with threads standing
//! in for ranks ([`threads`]) in the default build; `mpi` supplies the transport of an MPI job.

pub mod codec;
pub mod jobs;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod threads;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use codec::{Reader, Writer};

/// Units handed to one rank and not yet returned: one running and one waiting, so that a rank
/// never idles while its next unit is on the way.
pub const DEPTH: usize = 2;

/// The default of `--mpi-timeout`: far longer than any one unit takes (units are sized to
/// about a second of work, see [`jobs`]) and than a rank takes to read its input and build its
/// population.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// A worker with no unit in hand waits this many timeouts for rank 0, which may be working
/// alone between two batches of units (writing one scenario's files before the next).
pub const IDLE_TIMEOUTS: u32 = 10;

/// How often a rank tells its peers it is alive: a tenth of the timeout, at most every 2 s.
pub fn heartbeat(timeout: Duration) -> Duration {
    (timeout / 10).clamp(Duration::from_millis(10), Duration::from_secs(2))
}

/// What a message is. Every message carries at least one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Tag {
    /// A worker's setup: ok with its inputs' digest, or its error (worker to rank 0).
    Ready = 1,
    /// A unit: its index and description (rank 0 to a worker).
    Task = 2,
    /// A unit's result: its index and bytes (worker to rank 0).
    Result = 3,
    /// A unit that failed: its index, exit code and message (worker to rank 0).
    Failed = 4,
    /// Nothing but "alive" (either way).
    Heartbeat = 5,
    /// The end of the job, with the exit code (rank 0 to a worker).
    Stop = 6,
    /// A worker's answer to [`Tag::Stop`]: it is leaving (worker to rank 0).
    Bye = 7,
}

impl Tag {
    pub fn from_i32(t: i32) -> Option<Tag> {
        Some(match t {
            1 => Tag::Ready,
            2 => Tag::Task,
            3 => Tag::Result,
            4 => Tag::Failed,
            5 => Tag::Heartbeat,
            6 => Tag::Stop,
            7 => Tag::Bye,
            _ => return None,
        })
    }
}

/// Point-to-point messages between the ranks of one job. Only the thread that made the
/// transport calls it (MPI is initialised for one communicating thread).
pub trait Transport {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// The name of this rank's machine, for messages.
    fn host(&self) -> String;
    /// Send `bytes` (never empty) to rank `to`.
    fn send(&self, to: usize, tag: Tag, bytes: &[u8]);
    /// A message that has arrived, if any, without waiting: (from, tag, bytes).
    fn poll(&self) -> Option<(usize, Tag, Vec<u8>)>;
    /// End the whole job at once with `code` (for a peer that no longer answers).
    fn abort(&self, code: i32) -> !;
}

/// Turns a unit's description into its result, on whichever rank it lands. A result computed on
/// rank 0 is used as it is; one from another rank travels as the bytes of [`Job::encode`].
pub trait Job: Sync {
    type Output: Send;
    /// The result of the unit `task`. When `cancel` is set it may give up with an error.
    fn evaluate(&self, task: &[u8], cancel: &AtomicBool) -> anyhow::Result<Self::Output>;
    fn encode(&self, output: &Self::Output) -> Vec<u8>;
    fn decode(&self, bytes: &[u8]) -> Self::Output;
}

/// A [`Job`] as a worker runs it: task bytes in, result bytes out.
pub trait Serve: Sync {
    fn serve(&self, task: &[u8], cancel: &AtomicBool) -> anyhow::Result<Vec<u8>>;
}

impl<J: Job> Serve for J {
    fn serve(&self, task: &[u8], cancel: &AtomicBool) -> anyhow::Result<Vec<u8>> {
        self.evaluate(task, cancel).map(|o| self.encode(&o))
    }
}

/// Something went wrong between the ranks. Exit code 2 for what the user can fix (the input, the
/// rank count), else 1, or the code a failing rank gave.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("rank {rank} (on {host}) {message}")]
    Rank {
        rank: usize,
        host: String,
        message: String,
        code: u8,
    },
    #[error("{0}")]
    Usage(String),
    #[error(
        "rank {rank} (on {host}) has sent nothing for {seconds:.0} s (--mpi-timeout): it has died or hangs; ending the job"
    )]
    Silent {
        rank: usize,
        host: String,
        seconds: f64,
    },
}

impl ClusterError {
    /// The error, with `note` (what was kept, how to go on) after a failing rank's message.
    pub fn noting(e: anyhow::Error, note: &str) -> anyhow::Error {
        match e.downcast::<ClusterError>() {
            Ok(ClusterError::Rank {
                rank,
                host,
                message,
                code,
            }) => ClusterError::Rank {
                rank,
                host,
                message: format!("{message}; {note}"),
                code,
            }
            .into(),
            Ok(other) => other.into(),
            Err(e) => e,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            ClusterError::Rank { code, .. } => *code,
            ClusterError::Usage(_) => 2,
            ClusterError::Silent { .. } => 1,
        }
    }
}

/// A worker rank's way out: the job ended with this exit code, and rank 0 has said why.
#[derive(Debug, thiserror::Error)]
#[error("the job ended (exit code {0}); rank 0 gives the reason")]
pub struct WorkerExit(pub u8);

fn index_and(i: usize, bytes: &[u8]) -> Vec<u8> {
    let mut w = Writer::with_capacity(8 + bytes.len());
    w.u64(i as u64);
    w.bytes(bytes);
    w.finish()
}

/// The coordinator of a job (rank 0): hands out units, gathers results, ends the job.
pub struct Coordinator<'a> {
    t: &'a dyn Transport,
    /// Where rank 0 runs its own units (set once the setup has made it).
    pub pool: Option<&'a rayon::ThreadPool>,
    timeout: Duration,
    heard: Vec<Instant>,
    hosts: Vec<String>,
    beat: Instant,
    /// When this rank last looked at the clock (see [`woke_from_a_stall`]).
    awake: Instant,
    /// Units each rank has computed, over the whole job.
    pub units: Vec<u64>,
    stopped: bool,
}

impl<'a> Coordinator<'a> {
    /// Wait for every worker's [`Tag::Ready`] and check it against rank 0's own setup: `setup`
    /// is rank 0's result (with the digest of its inputs) and its exit code if it failed. On any
    /// failure the job is stopped and the error returned.
    pub fn start(
        t: &'a dyn Transport,
        timeout: Duration,
        setup: Result<String, (u8, String)>,
    ) -> Result<Coordinator<'a>, anyhow::Error> {
        let size = t.size();
        let mut c = Coordinator {
            t,
            pool: None,
            timeout,
            heard: vec![Instant::now(); size],
            hosts: vec![String::new(); size],
            beat: Instant::now(),
            awake: Instant::now(),
            units: vec![0; size],
            stopped: false,
        };
        c.hosts[0] = t.host();
        let mut ready: Vec<Option<Result<String, (u8, String)>>> = vec![None; size];
        while ready[1..].iter().any(Option::is_none) {
            match t.poll() {
                Some((from, Tag::Ready, bytes)) => {
                    c.heard[from] = Instant::now();
                    let mut r = Reader::new(&bytes);
                    let code = r.u8();
                    c.hosts[from] = r.string();
                    let text = r.string();
                    ready[from] = Some(if code == 0 {
                        Ok(text)
                    } else {
                        Err((code, text))
                    });
                }
                Some((from, _, _)) => c.heard[from] = Instant::now(),
                None => {
                    if let Err(e) = c.tick() {
                        // A worker that never started: nothing can be said to it.
                        eprintln!("error: {e:#}");
                        t.abort(e.exit_code() as i32);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        let failure = match &setup {
            Err((code, _)) => Some(*code),
            Ok(digest) => ready[1..].iter().find_map(|r| match r {
                Some(Err((code, _))) => Some(*code),
                Some(Ok(d)) if d != digest => Some(2),
                _ => None,
            }),
        };
        let Some(code) = failure else {
            return Ok(c);
        };
        c.stop(code);
        match setup {
            // Rank 0's own error is the command's; the caller has it.
            Err((_, message)) => Err(anyhow::anyhow!(message)),
            Ok(digest) => {
                let (rank, r) = ready
                    .iter()
                    .enumerate()
                    .skip(1)
                    .find(|(_, r)| !matches!(r, Some(Ok(d)) if *d == digest))
                    .expect("a failing rank");
                let message = match r {
                    Some(Err((_, m))) => format!("could not start: {m}"),
                    Some(Ok(d)) => format!(
                        "read different inputs from rank 0 (checksum {d}, rank 0 has {digest}): \
                         every rank must see the same files"
                    ),
                    None => unreachable!(),
                };
                Err(ClusterError::Rank {
                    rank,
                    host: c.hosts[rank].clone(),
                    message,
                    code,
                }
                .into())
            }
        }
    }

    pub fn size(&self) -> usize {
        self.t.size()
    }

    /// Refuse a job of fewer units than ranks: some rank would have nothing to do.
    pub fn require_units(&mut self, units: usize, what: &str) -> anyhow::Result<()> {
        if units < self.size() {
            let e = ClusterError::Usage(format!(
                "{} ranks but only {}: run with at most {} ranks (mpirun -n {})",
                self.size(),
                crate::words::count(units, what),
                units,
                units
            ));
            self.stop(2);
            return Err(e.into());
        }
        Ok(())
    }

    /// Send heartbeats when due and check that every worker was heard from recently.
    fn tick(&mut self) -> Result<(), ClusterError> {
        if woke_from_a_stall(&mut self.awake, self.timeout) {
            self.heard.fill(Instant::now());
        }
        if self.beat.elapsed() >= heartbeat(self.timeout) {
            for r in 1..self.t.size() {
                self.t.send(r, Tag::Heartbeat, &[0]);
            }
            self.beat = Instant::now();
        }
        for r in 1..self.t.size() {
            let silent = self.heard[r].elapsed();
            if silent > self.timeout {
                return Err(ClusterError::Silent {
                    rank: r,
                    host: if self.hosts[r].is_empty() {
                        "an unknown host".into()
                    } else {
                        self.hosts[r].clone()
                    },
                    seconds: silent.as_secs_f64(),
                });
            }
        }
        Ok(())
    }

    /// Evaluate `tasks` on every rank; `consume(i, result)` sees the results in task order.
    /// Results wait in memory only while an earlier one is outstanding, at most a window of
    /// `8 * ranks` units ahead. Stops with [`crate::experiment::Interrupted`] when `cancel` is set.
    pub fn map<J: Job>(
        &mut self,
        job: &J,
        tasks: &[Vec<u8>],
        cancel: &AtomicBool,
        mut consume: impl FnMut(usize, J::Output) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        assert!(!self.stopped, "no work is mapped after the job has ended");
        let size = self.t.size();
        let n = tasks.len();
        let window = (8 * size).max(16);
        let abandon = AtomicBool::new(false);
        let pool = self
            .pool
            .expect("the coordinator's thread pool is set before work is mapped");
        let (to_local, local_tasks) = mpsc::channel::<usize>();
        let (local_done, from_local) = mpsc::channel::<(usize, anyhow::Result<J::Output>)>();
        let result = std::thread::scope(|s| {
            let abandon = &abandon;
            s.spawn(move || {
                for i in local_tasks {
                    if abandon.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = pool.install(|| job.evaluate(&tasks[i], cancel));
                    if local_done.send((i, r)).is_err() {
                        break;
                    }
                }
            });
            let result = (|| -> anyhow::Result<()> {
                let mut outstanding: Vec<VecDeque<usize>> = vec![VecDeque::new(); size];
                let mut done: BTreeMap<usize, J::Output> = BTreeMap::new();
                let (mut next_task, mut next_out) = (0usize, 0usize);
                while next_out < n {
                    if cancel.load(Ordering::Relaxed) {
                        return Err(crate::experiment::Interrupted.into());
                    }
                    // Hand out units: rank 0's own queue first, then the workers'.
                    for (r, queue) in outstanding.iter_mut().enumerate() {
                        while queue.len() < DEPTH && next_task < n && next_task < next_out + window
                        {
                            if r == 0 {
                                to_local
                                    .send(next_task)
                                    .expect("the local worker is running");
                            } else {
                                self.t
                                    .send(r, Tag::Task, &index_and(next_task, &tasks[next_task]));
                            }
                            queue.push_back(next_task);
                            next_task += 1;
                        }
                    }
                    let mut busy = false;
                    while let Some((from, tag, bytes)) = self.t.poll() {
                        busy = true;
                        self.heard[from] = Instant::now();
                        match tag {
                            Tag::Result => {
                                let mut r = Reader::new(&bytes);
                                let i = r.u64() as usize;
                                outstanding[from].retain(|&u| u != i);
                                self.units[from] += 1;
                                done.insert(i, job.decode(r.rest()));
                            }
                            Tag::Failed => {
                                let mut r = Reader::new(&bytes);
                                let i = r.u64();
                                let code = r.u8();
                                let message = r.string();
                                if code >= 128 && cancel.load(Ordering::Relaxed) {
                                    return Err(crate::experiment::Interrupted.into());
                                }
                                return Err(ClusterError::Rank {
                                    rank: from,
                                    host: self.hosts[from].clone(),
                                    message: format!("failed on work unit {i}: {message}"),
                                    code,
                                }
                                .into());
                            }
                            _ => {}
                        }
                    }
                    let wait = if busy {
                        Duration::ZERO
                    } else {
                        Duration::from_millis(1)
                    };
                    match from_local.recv_timeout(wait) {
                        Ok((i, r)) => {
                            outstanding[0].retain(|&u| u != i);
                            self.units[0] += 1;
                            done.insert(i, r?);
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => {
                            anyhow::bail!("rank 0's worker thread ended early")
                        }
                    }
                    while let Some(r) = done.remove(&next_out) {
                        consume(next_out, r)?;
                        next_out += 1;
                    }
                    self.tick()?;
                }
                Ok(())
            })();
            abandon.store(true, Ordering::Relaxed);
            drop(to_local);
            result
        });
        if let Err(e) = &result {
            if let Some(ClusterError::Silent { .. }) = e.downcast_ref::<ClusterError>() {
                // The silent rank cannot be told to stop: end the job here.
                eprintln!("error: {e:#}");
                self.t.abort(1);
            }
        }
        result
    }

    /// The last unit is in: let the workers go (exit code 0) while rank 0 writes the files alone,
    /// so that they need not wait on it. A later error is still rank 0's exit code.
    pub fn release(&mut self) {
        self.stop(0);
    }

    /// End the job: tell every worker the exit code and wait (at most the timeout) for each to
    /// say it is leaving, discarding results still in flight.
    pub fn stop(&mut self, code: u8) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let size = self.t.size();
        for r in 1..size {
            self.t.send(r, Tag::Stop, &[code]);
        }
        let mut left = vec![false; size];
        left[0] = true;
        let since = Instant::now();
        while !left.iter().all(|&l| l) {
            match self.t.poll() {
                Some((from, Tag::Bye, _)) => left[from] = true,
                Some(_) => {}
                None => {
                    if since.elapsed() > self.timeout {
                        let rank = left.iter().position(|&l| !l).expect("a rank still there");
                        eprintln!(
                            "error: rank {rank} (on {}) did not answer the end of the job within {:.0} s (--mpi-timeout)",
                            self.hosts[rank],
                            self.timeout.as_secs_f64()
                        );
                        self.t.abort(code.max(1) as i32);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
}

impl Drop for Coordinator<'_> {
    /// A coordinator dropped without [`Coordinator::stop`] (an error on rank 0) still ends the job.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.stop(1);
        }
    }
}

/// A worker rank's whole life: report `setup` (the inputs' digest, or the exit code and
/// message of the error), then run the units rank 0 sends with `job` on `pool` until it says
/// stop; returns the job's exit code. Ends the job if rank 0 is silent for `timeout`.
pub fn serve(
    t: &dyn Transport,
    timeout: Duration,
    setup: Result<String, (u8, String)>,
    work: Option<(&rayon::ThreadPool, &dyn Serve)>,
) -> u8 {
    let mut w = Writer::default();
    match &setup {
        Ok(digest) => {
            w.u8(0);
            w.string(&t.host());
            w.string(digest);
        }
        Err((code, message)) => {
            w.u8((*code).max(1));
            w.string(&t.host());
            w.string(message);
        }
    }
    t.send(0, Tag::Ready, &w.finish());
    let abandon = AtomicBool::new(false);
    let (to_compute, tasks) = mpsc::channel::<(usize, Vec<u8>)>();
    let (computed, results) = mpsc::channel::<(usize, anyhow::Result<Vec<u8>>)>();
    let cancel = crate::signals::cancel_flag();
    let code = std::thread::scope(|s| {
        let abandon = &abandon;
        if let Some((pool, job)) = work {
            s.spawn(move || {
                // A signal or the end of the job abandons what is queued; a unit cut short
                // reports an error that rank 0 will not use.
                let stop = AbandonOrCancel { abandon, cancel };
                for (i, task) in tasks {
                    if stop.set() {
                        break;
                    }
                    let r = pool.install(|| job.serve(&task, stop.flag()));
                    let r = match r {
                        Ok(_) if stop.set() => Err(crate::experiment::Interrupted.into()),
                        r => r,
                    };
                    if computed.send((i, r)).is_err() {
                        break;
                    }
                }
            });
        } else {
            drop(tasks);
            drop(computed);
        }
        let mut heard = Instant::now();
        let mut beat = Instant::now();
        let mut awake = Instant::now();
        // Units received and not yet answered.
        let mut in_hand = 0usize;
        let code = 'serve: loop {
            while let Some((_, tag, bytes)) = t.poll() {
                heard = Instant::now();
                match tag {
                    Tag::Task => {
                        let mut r = Reader::new(&bytes);
                        let i = r.u64() as usize;
                        let task = r.rest().to_vec();
                        in_hand += 1;
                        if to_compute.send((i, task)).is_err() {
                            failed(t, i, 1, "this rank has no model to run (its setup failed)");
                        }
                    }
                    Tag::Stop => break 'serve bytes[0],
                    _ => {}
                }
            }
            let result = results.recv_timeout(Duration::from_millis(1));
            if result.is_ok() {
                in_hand -= 1;
            }
            match result {
                Ok((i, Ok(bytes))) => t.send(0, Tag::Result, &index_and(i, &bytes)),
                Ok((i, Err(e))) => {
                    if e.is::<crate::experiment::Interrupted>() {
                        let message = format!("was stopped{}", crate::signals::by());
                        failed(t, i, crate::signals::exit_code(), &message);
                    } else {
                        failed(t, i, crate::cli::exit_code(&e), &format!("{e:#}"));
                    }
                }
                Err(_) => {}
            }
            if beat.elapsed() >= heartbeat(timeout) {
                t.send(0, Tag::Heartbeat, &[0]);
                beat = Instant::now();
            }
            if woke_from_a_stall(&mut awake, timeout) {
                heard = Instant::now();
            }
            // With no unit in hand, rank 0 may be busy alone (writing files between a run's
            // scenarios): wait longer before calling it dead, but not forever.
            let limit = if in_hand > 0 {
                timeout
            } else {
                IDLE_TIMEOUTS * timeout
            };
            if heard.elapsed() > limit {
                eprintln!(
                    "error: rank {} (on {}): rank 0 has sent nothing for {:.0} s (--mpi-timeout): it has died or hangs; ending the job",
                    t.rank(),
                    t.host(),
                    heard.elapsed().as_secs_f64()
                );
                t.abort(1);
            }
        };
        abandon.store(true, Ordering::Relaxed);
        drop(to_compute);
        code
    });
    t.send(0, Tag::Bye, &[0]);
    code
}

/// Whether this rank itself was stopped (SIGSTOP, a suspended job, a machine under swap) since
/// it last looked: then its peers' silence is its own, and they are given a fresh timeout.
/// The loops look every millisecond or so.
fn woke_from_a_stall(awake: &mut Instant, timeout: Duration) -> bool {
    let gap = awake.elapsed();
    *awake = Instant::now();
    gap > 2 * heartbeat(timeout)
}

fn failed(t: &dyn Transport, i: usize, code: u8, message: &str) {
    let mut w = Writer::default();
    w.u64(i as u64);
    w.u8(code.max(1));
    w.string(message);
    t.send(0, Tag::Failed, &w.finish());
}

/// The worker's stop condition: the end of the job or a signal.
struct AbandonOrCancel<'a> {
    abandon: &'a AtomicBool,
    cancel: &'a AtomicBool,
}

impl AbandonOrCancel<'_> {
    fn set(&self) -> bool {
        self.abandon.load(Ordering::Relaxed) || self.cancel.load(Ordering::Relaxed)
    }

    /// The flag the unit polls: a signal. (The end of the job waits for the unit in hand; units
    /// are short.)
    fn flag(&self) -> &AtomicBool {
        self.cancel
    }
}

/// The exit code and message of a setup error, for [`Coordinator::start`] and [`serve`].
pub fn setup_failure(e: &anyhow::Error) -> (u8, String) {
    (crate::cli::exit_code(e), format!("{e:#}"))
}

/// This process as a rank of an MPI job: made by [`launched`] when a launcher started it and
/// ccgsim was built with the `mpi` feature. MPI is finalised when it is dropped.
pub struct Launch {
    #[cfg(feature = "mpi")]
    mpi: mpi::Mpi,
    pub timeout: Duration,
}

/// The job this process is a rank of, if any: `None` without the `mpi` feature or when no
/// launcher started it, and then the command runs alone as always. `timeout` is
/// `--mpi-timeout` in seconds.
pub fn launched(timeout: Option<f64>) -> anyhow::Result<Option<Launch>> {
    let timeout = match timeout {
        None => DEFAULT_TIMEOUT,
        Some(s) if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s),
        Some(s) => {
            return Err(crate::cli::UsageError(format!(
                "--mpi-timeout must be a positive number of seconds, got {s}"
            ))
            .into());
        }
    };
    #[cfg(feature = "mpi")]
    if mpi::launched() {
        return Ok(Some(Launch {
            mpi: mpi::Mpi::init()?,
            timeout,
        }));
    }
    let _ = timeout;
    Ok(None)
}

impl Launch {
    pub fn transport(&self) -> &dyn Transport {
        #[cfg(feature = "mpi")]
        return &self.mpi;
        #[cfg(not(feature = "mpi"))]
        unreachable!("a launch exists only with the mpi feature")
    }

    pub fn is_root(&self) -> bool {
        self.transport().rank() == 0
    }

    /// The start of a command on every rank, once each has done its `setup`: workers report it
    /// and then serve units with `work(setup, digest)` (which calls [`Launch::serve`]) until the
    /// job ends, returning [`WorkerExit`]; rank 0 returns its setup and the job's coordinator, or
    /// the first error of any rank (its own first). `digest` names the inputs, which every
    /// rank must read alike.
    pub fn join<S>(
        &self,
        setup: anyhow::Result<S>,
        digest: impl Fn(&S) -> String,
        work: impl FnOnce(&S, Result<String, (u8, String)>) -> u8,
    ) -> anyhow::Result<(S, Coordinator<'_>)> {
        let status = match &setup {
            Ok(s) => Ok(digest(s)),
            Err(e) => Err(setup_failure(e)),
        };
        if !self.is_root() {
            let code = match &setup {
                Ok(s) => work(s, status),
                Err(_) => serve(self.transport(), self.timeout, status, None),
            };
            return Err(WorkerExit(code).into());
        }
        match Coordinator::start(self.transport(), self.timeout, status) {
            Ok(c) => Ok((setup?, c)),
            Err(e) => Err(setup.err().unwrap_or(e)),
        }
    }

    /// Serve units of `job` on `pool` (a worker's life after its setup).
    pub fn serve(
        &self,
        status: Result<String, (u8, String)>,
        pool: &rayon::ThreadPool,
        job: &dyn Serve,
    ) -> u8 {
        serve(self.transport(), self.timeout, status, Some((pool, job)))
    }
}

/// End the job, if there is one, with the exit code of `result` (rank 0), and pass `result` on.
pub fn finish<T>(c: Option<Coordinator<'_>>, result: anyhow::Result<T>) -> anyhow::Result<T> {
    if let Some(mut c) = c {
        let code = match &result {
            Ok(_) => 0,
            Err(e) => crate::cli::exit_code(e),
        };
        c.stop(code);
    }
    result
}

#[cfg(test)]
mod tests;
