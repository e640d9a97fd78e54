//! Batching (`Job::batch`): which queued tasks run together, and that each keeps its own result,
//! cancellation, deadline and count.

use super::*;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

type Log = Arc<Mutex<Vec<Vec<u32>>>>;

enum Lane {
    /// Batches with lanes of the same key; yields `v`.
    Value { key: u64, v: u32, log: Log },
    /// Batches with key 1; runs until its token is cancelled.
    Spin { v: u32, log: Log },
    /// Batches with key 1; panics, alone or in a batch.
    Panic { v: u32, log: Log },
    /// Never batches: holds its thread until the gate opens.
    Gate(Arc<AtomicBool>),
}

const MAX: usize = 4;
const MIN: usize = 3;
const LINGER_LONG: u64 = 3;
const LINGER_SHORT: u64 = 4;

impl Lane {
    fn v(&self) -> u32 {
        match self {
            Lane::Value { v, .. } | Lane::Spin { v, .. } | Lane::Panic { v, .. } => *v,
            Lane::Gate(_) => u32::MAX,
        }
    }
    fn log(&self) -> Option<&Log> {
        match self {
            Lane::Value { log, .. } | Lane::Spin { log, .. } | Lane::Panic { log, .. } => Some(log),
            Lane::Gate(_) => None,
        }
    }
}

impl Job for Lane {
    type Output = Result<u32, Cancelled>;
    fn failed(out: &Self::Output) -> bool {
        out.is_err()
    }
    fn batch(&self) -> Option<BatchKey> {
        let key = match self {
            Lane::Value { key, .. } => *key,
            Lane::Spin { .. } | Lane::Panic { .. } => 1,
            Lane::Gate(_) => return None,
        };
        Some(BatchKey {
            key,
            max: MAX,
            min: MIN,
            linger: match key {
                // Far longer than any test waits: only arrivals or a cancel end it.
                LINGER_LONG => Duration::from_secs(60),
                LINGER_SHORT => Duration::from_millis(20),
                _ => Duration::ZERO,
            },
        })
    }
    fn run(&mut self, token: &CancelToken<'_>) -> Self::Output {
        match self {
            Lane::Value { v, .. } => Ok(*v),
            Lane::Spin { .. } => loop {
                token.check()?;
                std::thread::sleep(Duration::from_micros(100));
            },
            Lane::Panic { .. } => panic!("lane panics on purpose"),
            Lane::Gate(open) => {
                while !open.load(Ordering::Acquire) {
                    token.check()?;
                    std::thread::sleep(Duration::from_micros(200));
                }
                Ok(0)
            }
        }
    }
    fn run_batch(jobs: &mut [&mut Self], tokens: &[CancelToken<'_>]) -> Vec<Self::Output> {
        let log = jobs[0].log().expect("only lanes batch");
        log.lock()
            .unwrap()
            .push(jobs.iter().map(|j| j.v()).collect());
        if jobs.iter().any(|j| matches!(j, Lane::Panic { .. })) {
            panic!("batch panics on purpose");
        }
        // Spinning lanes run until each is cancelled; the others are done at once.
        let spinning =
            |j: &Lane, t: &CancelToken<'_>| matches!(j, Lane::Spin { .. }) && !t.is_cancelled();
        while jobs.iter().zip(tokens).any(|(j, t)| spinning(j, t)) {
            std::thread::sleep(Duration::from_micros(100));
        }
        jobs.iter()
            .zip(tokens)
            .map(|(j, t)| match j {
                Lane::Spin { .. } => Err(t.check().unwrap_err()),
                j => Ok(j.v()),
            })
            .collect()
    }
}

type Result1 = Option<std::result::Result<std::result::Result<u32, Cancelled>, Panic>>;

fn pool(batching: bool) -> Executor<Lane> {
    let cfg = Config {
        batching,
        ..Config::fixed(1)
    };
    Executor::new(cfg, || {}).unwrap()
}

/// Holds the pool's one thread until the returned gate opens, so tasks queue up behind it.
fn hold(exec: &Executor<Lane>) -> Arc<AtomicBool> {
    let gate = Arc::new(AtomicBool::new(false));
    assert!(exec
        .submit(Task::new(999, Lane::Gate(Arc::clone(&gate)), 0.0, None))
        .is_ok());
    while exec.running() == 0 {
        std::thread::yield_now();
    }
    gate
}

/// Finished results by tag, and expired tags, once `n` tasks finished.
fn collect(exec: &Executor<Lane>, n: usize) -> (Vec<(u64, Result1)>, Vec<u64>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut done, mut expired, mut buf) = (Vec::new(), Vec::new(), Vec::new());
    while done.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} finished",
            done.len()
        );
        exec.take_events(&mut buf);
        for e in buf.drain(..) {
            match e {
                Event::Finished { tag, result, .. } => done.push((tag, result)),
                Event::Expired { tag, .. } => expired.push(tag),
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    (done, expired)
}

fn value(key: u64, v: u32, log: &Log) -> Lane {
    Lane::Value {
        key,
        v,
        log: Arc::clone(log),
    }
}

fn result_of(done: &[(u64, Result1)], tag: u64) -> &Result1 {
    &done.iter().find(|(t, _)| *t == tag).unwrap().1
}

#[test]
fn queued_tasks_run_in_lane_sized_batches_in_order() {
    let exec = pool(true);
    let log = Log::default();
    let gate = hold(&exec);
    for v in 0..10 {
        assert!(exec
            .submit(Task::new(v.into(), value(7, v, &log), 0.0, None))
            .is_ok());
    }
    gate.store(true, Ordering::Release);
    let (done, _) = collect(&exec, 11);
    // 4 + 4, then the last 2 are below the minimum of 3 and run alone.
    assert_eq!(*log.lock().unwrap(), [vec![0, 1, 2, 3], vec![4, 5, 6, 7]]);
    let order: Vec<u64> = done.iter().map(|(t, _)| *t).filter(|&t| t != 999).collect();
    assert_eq!(
        order,
        (0..10).collect::<Vec<u64>>(),
        "FIFO as one at a time"
    );
    for v in 0..10u32 {
        assert!(matches!(result_of(&done, v.into()), Some(Ok(Ok(x))) if *x == v));
    }
    let s = exec.metrics().snapshot();
    assert_eq!(s.batched, 8);
    assert_eq!(s.threads[0].tasks, 11, "every task counts as one run");
    assert_eq!((exec.queued(), exec.running()), (0, 0));
}

#[test]
fn only_the_run_at_the_head_batches_and_priority_order_holds() {
    let exec = pool(true);
    let log = Log::default();
    let gate = hold(&exec);
    // Pop order: 10 (prio 5), 11, 12, 13 (key 2, prio 1), 0, 1 (key 1), 20 (key 2), 2, 3, 4.
    let queued: [(u32, u64, f64); 10] = [
        (0, 1, 0.0),
        (1, 1, 0.0),
        (20, 2, 0.0),
        (2, 1, 0.0),
        (3, 1, 0.0),
        (4, 1, 0.0),
        (10, 2, 5.0),
        (11, 2, 1.0),
        (12, 2, 1.0),
        (13, 2, 1.0),
    ];
    for (v, key, prio) in queued {
        assert!(exec
            .submit(Task::new(v.into(), value(key, v, &log), prio, None))
            .is_ok());
    }
    gate.store(true, Ordering::Release);
    let (done, _) = collect(&exec, 11);
    // Across priority levels, key 2 runs at the head; key 1's 0, 1 (two) run alone: 20 is next.
    assert_eq!(*log.lock().unwrap(), [vec![10, 11, 12, 13], vec![2, 3, 4]]);
    let order: Vec<u64> = done.iter().map(|(t, _)| *t).filter(|&t| t != 999).collect();
    assert_eq!(order, [10, 11, 12, 13, 0, 1, 20, 2, 3, 4]);
}

#[test]
fn members_keep_their_own_cancellation_and_deadline() {
    let exec = pool(true);
    let log = Log::default();
    let gate = hold(&exec);
    let spin = |v| Lane::Spin {
        v,
        log: Arc::clone(&log),
    };
    let cancelled_queued = Task::new(1, value(1, 1, &log), 0.0, None);
    let q_ctl = Arc::clone(&cancelled_queued.ctl);
    let aborted = Task::new(3, spin(3), 0.0, None);
    let a_ctl = Arc::clone(&aborted.ctl);
    let tasks = [
        Task::new(0, value(1, 0, &log), 0.0, None),
        cancelled_queued,
        Task::new(2, spin(2), 0.0, Some(Duration::from_millis(30))),
        aborted,
        Task::new(4, value(1, 4, &log), 0.0, None),
    ];
    for t in tasks {
        assert!(exec.submit(t).is_ok());
    }
    assert_eq!(exec.cancel(&q_ctl), Some(TaskState::Queued));
    gate.store(true, Ordering::Release);
    while a_ctl.state() != TaskState::Running {
        std::thread::yield_now();
    }
    assert_eq!(exec.cancel(&a_ctl), Some(TaskState::Running));
    let (done, expired) = collect(&exec, 6);
    // The cancelled task was taken from the queue with the batch but not run in it.
    assert_eq!(*log.lock().unwrap(), [vec![0, 2, 3]]);
    assert!(result_of(&done, 1).is_none());
    assert!(matches!(result_of(&done, 0), Some(Ok(Ok(0)))));
    assert!(matches!(result_of(&done, 2), Some(Ok(Err(Cancelled)))));
    assert!(matches!(result_of(&done, 3), Some(Ok(Err(Cancelled)))));
    assert_eq!(expired, [2], "only the member with a timeout expired");
    assert!(
        matches!(result_of(&done, 4), Some(Ok(Ok(4)))),
        "ran alone after the batch"
    );
    assert_eq!(exec.metrics().snapshot().batched, 3);
}

#[test]
fn a_panic_in_a_batch_fails_only_the_member_that_panics() {
    let exec = pool(true);
    let log = Log::default();
    let gate = hold(&exec);
    for v in 0..4u32 {
        let job = if v == 2 {
            Lane::Panic {
                v,
                log: Arc::clone(&log),
            }
        } else {
            value(1, v, &log)
        };
        assert!(exec.submit(Task::new(v.into(), job, 0.0, None)).is_ok());
    }
    gate.store(true, Ordering::Release);
    let (done, _) = collect(&exec, 5);
    assert_eq!(log.lock().unwrap().len(), 1, "one batch, then each alone");
    for v in [0u32, 1, 3] {
        assert!(matches!(result_of(&done, v.into()), Some(Ok(Ok(x))) if *x == v));
    }
    assert!(matches!(result_of(&done, 2), Some(Err(Panic(m))) if m.contains("lane panics")));
    let t = &exec.metrics().snapshot().threads[0];
    assert_eq!((t.tasks, t.errors), (5, 1));
    // The thread serves on.
    assert!(exec
        .submit(Task::new(9, value(1, 9, &log), 0.0, None))
        .is_ok());
    assert!(matches!(collect(&exec, 1).0[0].1, Some(Ok(Ok(9)))));
}

#[test]
fn batching_off_runs_every_task_alone() {
    let exec = pool(false);
    let log = Log::default();
    let gate = hold(&exec);
    for v in 0..8 {
        assert!(exec
            .submit(Task::new(v.into(), value(1, v, &log), 0.0, None))
            .is_ok());
    }
    gate.store(true, Ordering::Release);
    let (done, _) = collect(&exec, 9);
    assert!(log.lock().unwrap().is_empty());
    assert_eq!(done.len(), 9);
    assert_eq!(exec.metrics().snapshot().batched, 0);
}

#[test]
fn a_lone_task_lingers_for_a_burst_to_fill_its_batch() {
    let exec = pool(true);
    let log = Log::default();
    assert!(exec
        .submit(Task::new(0, value(LINGER_LONG, 0, &log), 0.0, None))
        .is_ok());
    while exec.running() == 0 {
        std::thread::yield_now();
    }
    // Taken with nothing behind it: it waits (60 s at most) for the rest of the burst.
    for v in 1..4 {
        assert!(exec
            .submit(Task::new(v.into(), value(LINGER_LONG, v, &log), 0.0, None))
            .is_ok());
    }
    let (done, _) = collect(&exec, 4);
    // It joined a batch with the first arrivals that reached the minimum (without lingering
    // it would have run alone, in no batch).
    let first = log.lock().unwrap()[0].clone();
    assert!(first[0] == 0 && first.len() >= MIN, "{first:?}");
    assert!(done
        .iter()
        .all(|(t, r)| matches!(r, Some(Ok(Ok(v))) if u64::from(*v) == *t)));
}

#[test]
fn lingering_ends_at_its_limit_or_when_the_task_is_cancelled() {
    let exec = pool(true);
    let log = Log::default();
    // Too few arrive within the linger: both run alone.
    for v in 0..2 {
        assert!(exec
            .submit(Task::new(v.into(), value(LINGER_SHORT, v, &log), 0.0, None))
            .is_ok());
    }
    let (done, _) = collect(&exec, 2);
    assert!(log.lock().unwrap().is_empty());
    assert!(done.iter().all(|(_, r)| matches!(r, Some(Ok(Ok(_))))));
    // A 60 s linger ends as soon as the task is cancelled (`collect` gives up after 10 s).
    let t = Task::new(9, value(LINGER_LONG, 9, &log), 0.0, None);
    let ctl = Arc::clone(&t.ctl);
    assert!(exec.submit(t).is_ok());
    while ctl.state() != TaskState::Running {
        std::thread::yield_now();
    }
    assert_eq!(exec.cancel(&ctl), Some(TaskState::Running));
    assert_eq!(collect(&exec, 1).0[0].0, 9);
    assert_eq!(exec.metrics().snapshot().batched, 0);
}
