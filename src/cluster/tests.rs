//! The scheduling of a job, with threads standing in for ranks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::threads::{ThreadTransport, job};
use super::{ClusterError, Coordinator, Job, Serve, Transport, finish, serve};

/// Squares the number in a task; `slow` sleeps first; `fail_on` fails that task.
struct Square {
    slow: Duration,
    fail_on: Option<u64>,
}

impl Job for Square {
    type Output = Vec<u8>;

    fn encode(&self, output: &Vec<u8>) -> Vec<u8> {
        output.clone()
    }

    fn decode(&self, bytes: &[u8]) -> Vec<u8> {
        bytes.to_vec()
    }

    fn evaluate(&self, task: &[u8], _cancel: &AtomicBool) -> anyhow::Result<Vec<u8>> {
        std::thread::sleep(self.slow);
        let x = u64::from_le_bytes(task.try_into().unwrap());
        if self.fail_on == Some(x) {
            return Err(crate::cli::UsageError::new(format!("no square for {x}")).into());
        }
        Ok((x * x).to_le_bytes().to_vec())
    }
}

fn pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
}

const TIMEOUT: Duration = Duration::from_secs(20);

/// Run workers `1..` of a job of `jobs.len()` ranks in threads, and `root` on rank 0; returns
/// rank 0's answer and each worker's exit code.
fn with_job<T: Send>(
    jobs: Vec<Square>,
    setups: Vec<Result<String, (u8, String)>>,
    root: impl FnOnce(&ThreadTransport, &rayon::ThreadPool, &Square) -> T + Send,
) -> (T, Vec<u8>) {
    let mut transports = job(jobs.len()).into_iter();
    let rank0 = transports.next().unwrap();
    std::thread::scope(|s| {
        let workers: Vec<_> = transports
            .zip(jobs.iter().skip(1))
            .zip(setups.into_iter().skip(1))
            .map(|((t, j), setup)| {
                s.spawn(move || {
                    let p = pool();
                    let ok = setup.is_ok();
                    serve(&t, TIMEOUT, setup, ok.then_some((&p, j as &dyn Serve)))
                })
            })
            .collect();
        let p = pool();
        let answer = root(&rank0, &p, &jobs[0]);
        let codes = workers.into_iter().map(|w| w.join().unwrap()).collect();
        (answer, codes)
    })
}

fn tasks(n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|x| x.to_le_bytes().to_vec()).collect()
}

fn fast(ranks: usize) -> Vec<Square> {
    (0..ranks)
        .map(|_| Square {
            slow: Duration::from_millis(1),
            fail_on: None,
        })
        .collect()
}

fn ready(ranks: usize) -> Vec<Result<String, (u8, String)>> {
    vec![Ok("inputs".to_string()); ranks]
}

#[test]
fn results_arrive_in_task_order_and_every_rank_works() {
    let ((seen, units), codes) = with_job(fast(3), ready(3), |t, p, j| {
        let mut c = Coordinator::start(t, TIMEOUT, Ok("inputs".into())).unwrap();
        c.pool = Some(p);
        let mut seen = Vec::new();
        let cancel = AtomicBool::new(false);
        c.map(j, &tasks(60), &cancel, |i, bytes| {
            seen.push((i, u64::from_le_bytes(bytes.try_into().unwrap())));
            Ok(())
        })
        .unwrap();
        // A second batch on the same job, as a calibration's generations are.
        c.map(j, &tasks(7), &cancel, |_, _| Ok(())).unwrap();
        let units = c.units.clone();
        finish(Some(c), Ok(())).unwrap();
        (seen, units)
    });
    assert_eq!(codes, vec![0, 0]);
    let expected: Vec<(usize, u64)> = (0..60).map(|i| (i as usize, i * i)).collect();
    assert_eq!(seen, expected);
    assert_eq!(units.iter().sum::<u64>(), 67);
    assert!(units.iter().all(|&u| u > 0), "{units:?}");
}

#[test]
fn a_slow_rank_takes_fewer_units() {
    let mut jobs = fast(3);
    jobs[1].slow = Duration::from_millis(100);
    let (units, _) = with_job(jobs, ready(3), |t, p, j| {
        let mut c = Coordinator::start(t, TIMEOUT, Ok("inputs".into())).unwrap();
        c.pool = Some(p);
        c.map(j, &tasks(200), &AtomicBool::new(false), |_, _| Ok(()))
            .unwrap();
        let units = c.units.clone();
        finish(Some(c), Ok(())).unwrap();
        units
    });
    assert!(units[1] * 4 < units[2], "{units:?}");
}

#[test]
fn a_failing_unit_ends_the_job_with_its_rank_and_code() {
    let mut jobs = fast(2);
    jobs[1].fail_on = Some(5);
    // Rank 0 is slow, so that unit 5 lands on rank 1.
    jobs[0].slow = Duration::from_millis(200);
    let (err, codes) = with_job(jobs, ready(2), |t, p, j| {
        let mut c = Coordinator::start(t, TIMEOUT, Ok("inputs".into())).unwrap();
        c.pool = Some(p);
        let r = c.map(j, &tasks(8), &AtomicBool::new(false), |_, _| Ok(()));
        finish(Some(c), r).unwrap_err()
    });
    let e = err.downcast_ref::<ClusterError>().expect("a cluster error");
    assert_eq!(e.exit_code(), 2);
    let message = e.to_string();
    assert!(
        message.contains("rank 1 (on thread 1) failed on work unit 5: no square for 5"),
        "{message}"
    );
    assert_eq!(codes, vec![2]);
}

#[test]
fn a_rank_that_cannot_start_is_named_and_every_rank_exits_alike() {
    let mut setups = ready(3);
    setups[2] = Err((2, "could not read 'sweep.toml': No such file".into()));
    let (err, codes) = with_job(fast(3), setups, |t, _, _| {
        Coordinator::start(t, TIMEOUT, Ok("inputs".into()))
            .err()
            .unwrap()
    });
    let message = format!("{err:#}");
    assert!(
        message.contains("rank 2 (on thread 2) could not start: could not read 'sweep.toml'"),
        "{message}"
    );
    assert_eq!(crate::cli::exit_code(&err), 2);
    assert_eq!(codes, vec![2, 2]);
}

#[test]
fn ranks_that_read_different_inputs_are_refused() {
    let mut setups = ready(2);
    setups[1] = Ok("other".into());
    let (err, codes) = with_job(fast(2), setups, |t, _, _| {
        Coordinator::start(t, TIMEOUT, Ok("inputs".into()))
            .err()
            .unwrap()
    });
    assert!(
        format!("{err:#}").contains("read different inputs"),
        "{err:#}"
    );
    assert_eq!(codes, vec![2]);
}

#[test]
fn rank_0_failing_to_start_stops_the_workers_with_its_code() {
    let (err, codes) = with_job(fast(3), ready(3), |t, _, _| {
        Coordinator::start(t, TIMEOUT, Err((2, "bad sweep".into())))
            .err()
            .unwrap()
    });
    assert_eq!(err.to_string(), "bad sweep");
    assert_eq!(codes, vec![2, 2]);
}

#[test]
fn more_ranks_than_units_is_refused() {
    let (err, codes) = with_job(fast(3), ready(3), |t, _, _| {
        let mut c = Coordinator::start(t, TIMEOUT, Ok("inputs".into())).unwrap();
        c.require_units(2, "work unit").unwrap_err()
    });
    assert!(
        err.to_string().contains("3 ranks but only 2 work units"),
        "{err}"
    );
    assert_eq!(crate::cli::exit_code(&err), 2);
    assert_eq!(codes, vec![2, 2]);
}

#[test]
fn a_silent_rank_ends_the_job_after_the_timeout() {
    let mut transports = job(2).into_iter();
    let rank0 = transports.next().unwrap();
    let rank1 = transports.next().unwrap();
    // Rank 1 reports ready and then is never heard from again.
    let mut w = super::codec::Writer::default();
    w.u8(0);
    w.string("thread 1");
    w.string("inputs");
    rank1.send(0, super::Tag::Ready, &w.finish());
    let p = pool();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut c =
            Coordinator::start(&rank0, Duration::from_millis(300), Ok("inputs".into())).unwrap();
        c.pool = Some(&p);
        let job = Square {
            slow: Duration::from_millis(1),
            fail_on: None,
        };
        let _ = c.map(&job, &tasks(10), &AtomicBool::new(false), |_, _| Ok(()));
    }));
    let panic = outcome.expect_err("the job is aborted");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("rank 0 aborted the job with code 1"),
        "{message}"
    );
    drop(rank1);
}

#[test]
fn a_cancelled_map_stops_with_interrupted() {
    let (err, codes) = with_job(fast(2), ready(2), |t, p, j| {
        let mut c = Coordinator::start(t, TIMEOUT, Ok("inputs".into())).unwrap();
        c.pool = Some(p);
        let cancel = AtomicBool::new(false);
        let r = c.map(j, &tasks(100), &cancel, |i, _| {
            if i == 3 {
                cancel.store(true, Ordering::Relaxed);
            }
            Ok(())
        });
        finish(Some(c), r).unwrap_err()
    });
    assert!(err.is::<crate::experiment::Interrupted>());
    assert_eq!(codes, vec![130]);
}

/// A sweep whose points are computed by three thread-ranks writes the folder that one process
/// writes, byte for byte; and a sweep stopped part-way on them resumes alone to the same bytes.
#[test]
fn a_sweep_over_ranks_writes_the_same_folder() {
    use crate::sweep::{Sweep, SweepOptions, run_sweep};
    let sweep = Sweep::load(std::path::Path::new("sweeps/grid.toml")).unwrap();
    let unit_points = sweep.unit_points();
    let dir = tempfile::tempdir().unwrap();
    let alone = SweepOptions {
        out: dir.path().join("alone"),
        ..SweepOptions::default()
    };
    let cancel = AtomicBool::new(false);
    pool().install(|| run_sweep(&sweep, &alone, &cancel, |_, _, _| {}).unwrap());
    for (name, stop_after) in [("ranks", None), ("stopped", Some(5))] {
        let options = SweepOptions {
            out: dir.path().join(name),
            stop_after,
            ..SweepOptions::default()
        };
        let mut transports = job(3).into_iter();
        let rank0 = transports.next().unwrap();
        let result = std::thread::scope(|s| {
            for t in transports {
                let (sweep, unit_points) = (&sweep, &unit_points);
                s.spawn(move || {
                    let p = pool();
                    let job = super::jobs::SweepJob::new(sweep, unit_points);
                    serve(&t, TIMEOUT, Ok(sweep.sha256.clone()), Some((&p, &job)))
                });
            }
            let p = pool();
            let mut c = Coordinator::start(&rank0, TIMEOUT, Ok(sweep.sha256.clone())).unwrap();
            c.pool = Some(&p);
            let r = crate::sweep::runner::run_sweep_on(
                &sweep,
                &options,
                &cancel,
                Some(&mut c),
                |_, _, _| {},
            );
            finish(Some(c), r)
        });
        if stop_after.is_some() {
            assert!(result.unwrap_err().is::<crate::sweep::Stopped>());
            let resumed = SweepOptions {
                resume: true,
                stop_after: None,
                ..options.clone()
            };
            pool().install(|| run_sweep(&sweep, &resumed, &cancel, |_, _, _| {}).unwrap());
        } else {
            result.unwrap();
        }
        for file in crate::sweep::runner::FILES {
            let a = std::fs::read(alone.out.join(file)).unwrap();
            let b = std::fs::read(options.out.join(file)).unwrap();
            assert!(a == b, "{name}: {file} differs");
        }
    }
}

#[test]
fn an_idle_worker_waits_longer_for_rank_0_between_batches() {
    // Rank 0 works alone for twice the timeout between two batches: a worker with no unit in
    // hand gives it ten timeouts, so the job goes on.
    let timeout = Duration::from_millis(300);
    let mut transports = job(2).into_iter();
    let rank0 = transports.next().unwrap();
    let rank1 = transports.next().unwrap();
    let square = Square {
        slow: Duration::from_millis(1),
        fail_on: None,
    };
    let codes = std::thread::scope(|s| {
        let square = &square;
        let worker = s.spawn(move || {
            let p = pool();
            serve(
                &rank1,
                timeout,
                Ok("inputs".into()),
                Some((&p, square as &dyn Serve)),
            )
        });
        let p = pool();
        let mut c = Coordinator::start(&rank0, timeout, Ok("inputs".into())).unwrap();
        c.pool = Some(&p);
        let cancel = AtomicBool::new(false);
        c.map(square, &tasks(20), &cancel, |_, _| Ok(())).unwrap();
        std::thread::sleep(2 * timeout);
        let mut n = 0;
        c.map(square, &tasks(20), &cancel, |_, _| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 20);
        c.release();
        vec![worker.join().unwrap()]
    });
    assert_eq!(codes, vec![0]);
}
