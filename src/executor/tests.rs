use super::*;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::Duration;

/// Jobs for exercising the executor.
enum TestJob {
    Value(u32),
    /// Blocks until the gate opens (or the token is cancelled).
    Gate(Arc<AtomicBool>),
    /// Spins until cancelled; returns how long it ran.
    UntilCancelled,
    Panic,
}

impl Job for TestJob {
    type Output = Result<u32, Cancelled>;
    fn failed(out: &Self::Output) -> bool {
        out.is_err()
    }
    fn run(&mut self, token: &CancelToken<'_>) -> Self::Output {
        match self {
            TestJob::Value(v) => Ok(*v),
            TestJob::Gate(open) => {
                while !open.load(Ordering::Acquire) {
                    token.check()?;
                    std::thread::sleep(Duration::from_micros(200));
                }
                Ok(0)
            }
            TestJob::UntilCancelled => loop {
                token.check()?;
                std::hint::spin_loop();
            },
            TestJob::Panic => panic!("boom on purpose"),
        }
    }
}

fn pool(threads: usize, max_queue: usize) -> (Executor<TestJob>, Arc<AtomicUsize>) {
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = Arc::clone(&wakes);
    let cfg = Config {
        max_queue,
        ..Config::fixed(threads)
    };
    let exec = Executor::new(cfg, move || {
        w.fetch_add(1, Ordering::Relaxed);
    })
    .unwrap();
    (exec, wakes)
}

type Done = Vec<(u64, Option<Result<Result<u32, Cancelled>, Panic>>)>;

/// Events other than `Finished` seen while waiting.
#[derive(Default)]
struct Side {
    expired: Vec<u64>,
    exited: Vec<usize>,
}

/// Collects Finished events until `n` arrived (panics after 10 s).
fn finished(exec: &Executor<TestJob>, n: usize, side: &mut Side) -> Done {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {n} tasks, got {}",
            out.len()
        );
        exec.take_events(&mut buf);
        for e in buf.drain(..) {
            match e {
                Event::Finished { tag, result, .. } => out.push((tag, result)),
                Event::Expired { tag, .. } => side.expired.push(tag),
                Event::Exited { remaining } => side.exited.push(remaining),
                Event::Fault(m) => panic!("fault: {m}"),
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    out
}

fn task(tag: u64, job: TestJob, priority: f64) -> Task<TestJob> {
    Task::new(tag, job, priority, None)
}

fn ok(r: &Option<Result<Result<u32, Cancelled>, Panic>>) -> Option<u32> {
    match r {
        Some(Ok(Ok(v))) => Some(*v),
        _ => None,
    }
}

#[test]
fn runs_tasks_and_wakes_once_per_burst() {
    let (exec, wakes) = pool(2, usize::MAX);
    for i in 0..1000 {
        assert!(exec
            .submit(task(i, TestJob::Value(i as u32 * 2), 0.0))
            .is_ok());
    }
    let done = finished(&exec, 1000, &mut Side::default());
    let mut tags: Vec<_> = done.iter().map(|(t, r)| (*t, ok(r).unwrap())).collect();
    tags.sort();
    assert!(tags.iter().all(|&(t, v)| v as u64 == t * 2));
    assert!(wakes.load(Ordering::Relaxed) >= 1);
    assert_eq!(
        exec.metrics()
            .snapshot()
            .threads
            .iter()
            .map(|t| t.tasks)
            .sum::<u64>(),
        1000
    );
}

#[test]
fn priority_order_and_fifo_within_priority() {
    let (exec, _) = pool(1, usize::MAX);
    let gate = Arc::new(AtomicBool::new(false));
    assert!(exec
        .submit(task(0, TestJob::Gate(Arc::clone(&gate)), 0.0))
        .is_ok());
    while exec.running() == 0 {
        std::thread::yield_now();
    }
    let prios = [
        (1, 0.0),
        (2, 10.0),
        (3, 0.0),
        (4, -3.0),
        (5, 10.0),
        (6, 2.5),
    ];
    for (tag, p) in prios {
        assert!(exec
            .submit(task(tag, TestJob::Value(tag as u32), p))
            .is_ok());
    }
    assert_eq!(exec.queued(), 6);
    gate.store(true, Ordering::Release);
    let done = finished(&exec, 7, &mut Side::default());
    let order: Vec<u64> = done.iter().map(|(t, _)| *t).collect();
    assert_eq!(order, [0, 2, 5, 6, 1, 3, 4]);
}

#[test]
fn bounded_queue_rejects_past_the_limit() {
    let (exec, _) = pool(1, 2);
    let gate = Arc::new(AtomicBool::new(false));
    assert!(exec
        .submit(task(0, TestJob::Gate(Arc::clone(&gate)), 0.0))
        .is_ok());
    while exec.running() == 0 {
        std::thread::yield_now();
    }
    assert!(exec.submit(task(1, TestJob::Value(1), 0.0)).is_ok());
    assert!(exec.submit(task(2, TestJob::Value(2), 0.0)).is_ok());
    match exec.submit(task(3, TestJob::Value(3), 0.0)) {
        Err(SubmitError::QueueFull(t)) => assert_eq!(t.tag, 3),
        _ => panic!("expected QueueFull"),
    }
    gate.store(true, Ordering::Release);
    finished(&exec, 3, &mut Side::default());
    assert!(
        exec.submit(task(4, TestJob::Value(4), 0.0)).is_ok(),
        "room again after draining"
    );
    finished(&exec, 1, &mut Side::default());
}

#[test]
fn zero_max_queue_runs_on_idle_threads_but_lets_nothing_wait() {
    let (exec, _) = pool(1, 0);
    let gate = Arc::new(AtomicBool::new(false));
    // An idle thread takes it: it never waits.
    assert!(exec
        .submit(task(0, TestJob::Gate(Arc::clone(&gate)), 0.0))
        .is_ok());
    while exec.running() == 0 {
        std::thread::yield_now();
    }
    // Now it would have to wait.
    assert!(matches!(
        exec.submit(task(1, TestJob::Value(0), 0.0)),
        Err(SubmitError::QueueFull(_))
    ));
    gate.store(true, Ordering::Release);
    finished(&exec, 1, &mut Side::default());
}

#[test]
fn cancel_queued_skips_it_and_frees_its_place() {
    let (exec, _) = pool(1, 1);
    let gate = Arc::new(AtomicBool::new(false));
    assert!(exec
        .submit(task(0, TestJob::Gate(Arc::clone(&gate)), 0.0))
        .is_ok());
    while exec.running() == 0 {
        std::thread::yield_now();
    }
    let t = task(1, TestJob::Value(1), 0.0);
    let ctl = Arc::clone(&t.ctl);
    assert!(exec.submit(t).is_ok());
    assert_eq!(exec.cancel(&ctl), Some(TaskState::Queued));
    assert_eq!(exec.queued(), 0);
    assert!(
        exec.submit(task(2, TestJob::Value(2), 0.0)).is_ok(),
        "cancelled task left room"
    );
    gate.store(true, Ordering::Release);
    let done = finished(&exec, 3, &mut Side::default());
    let skipped = done.iter().find(|(t, _)| *t == 1).unwrap();
    assert!(skipped.1.is_none(), "cancelled task must not run");
    assert_eq!(ok(&done.iter().find(|(t, _)| *t == 2).unwrap().1), Some(2));
    assert_eq!(exec.cancel(&ctl), None, "second cancel is a no-op");
}

#[test]
fn cancel_running_stops_kernel_and_thread_survives() {
    let (exec, _) = pool(1, usize::MAX);
    let t = task(1, TestJob::UntilCancelled, 0.0);
    let ctl = Arc::clone(&t.ctl);
    assert!(exec.submit(t).is_ok());
    while ctl.state() != TaskState::Running {
        std::thread::yield_now();
    }
    assert_eq!(exec.cancel(&ctl), Some(TaskState::Running));
    let done = finished(&exec, 1, &mut Side::default());
    assert!(matches!(done[0].1, Some(Ok(Err(Cancelled)))));
    assert!(exec.submit(task(2, TestJob::Value(7), 0.0)).is_ok());
    assert_eq!(ok(&finished(&exec, 1, &mut Side::default())[0].1), Some(7));
}

#[test]
fn deadline_expires_running_task_not_queued_one() {
    let (exec, _) = pool(1, usize::MAX);
    let gate = Arc::new(AtomicBool::new(false));
    assert!(exec
        .submit(task(0, TestJob::Gate(Arc::clone(&gate)), 0.0))
        .is_ok());
    // Queued behind the gate for longer than its timeout: the clock must not start yet.
    let t = Task::new(1, TestJob::Value(5), 0.0, Some(Duration::from_millis(20)));
    assert!(exec.submit(t).is_ok());
    std::thread::sleep(Duration::from_millis(60));
    gate.store(true, Ordering::Release);
    let mut side = Side::default();
    let done = finished(&exec, 2, &mut side);
    assert_eq!(ok(&done[1].1), Some(5));
    assert!(side.expired.is_empty());

    let t = Task::new(
        2,
        TestJob::UntilCancelled,
        0.0,
        Some(Duration::from_millis(30)),
    );
    let ctl = Arc::clone(&t.ctl);
    let started = Instant::now();
    assert!(exec.submit(t).is_ok());
    let done = finished(&exec, 1, &mut side);
    let took = started.elapsed();
    assert_eq!(side.expired, [2]);
    assert!(matches!(done[0].1, Some(Ok(Err(Cancelled)))));
    assert_eq!(ctl.state(), TaskState::TimedOut);
    assert!(took >= Duration::from_millis(30), "expired early: {took:?}");
}

#[test]
fn panic_fails_one_task_and_keeps_threads() {
    let (exec, _) = pool(2, usize::MAX);
    for i in 0..4 {
        assert!(exec.submit(task(i, TestJob::Panic, 0.0)).is_ok());
    }
    let done = finished(&exec, 4, &mut Side::default());
    for (_, r) in &done {
        match r {
            Some(Err(Panic(msg))) => assert!(msg.contains("boom on purpose")),
            _ => panic!("expected a caught panic"),
        }
    }
    assert_eq!(exec.live_threads(), 2);
    for i in 0..10 {
        assert!(exec
            .submit(task(10 + i, TestJob::Value(i as u32), 0.0))
            .is_ok());
    }
    assert_eq!(finished(&exec, 10, &mut Side::default()).len(), 10);
}

fn wait_exit(exec: &Executor<TestJob>, side: Side) -> Vec<usize> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut remaining = side.exited;
    let mut buf = Vec::new();
    while exec.live_threads() > 0 {
        assert!(Instant::now() < deadline, "threads did not exit");
        std::thread::sleep(Duration::from_millis(1));
    }
    exec.take_events(&mut buf);
    for e in buf {
        if let Event::Exited { remaining: r } = e {
            remaining.push(r);
        }
    }
    remaining
}

#[test]
fn close_runs_queued_work_then_exits() {
    let (exec, _) = pool(2, usize::MAX);
    let gate = Arc::new(AtomicBool::new(false));
    for i in 0..2 {
        assert!(exec
            .submit(task(i, TestJob::Gate(Arc::clone(&gate)), 0.0))
            .is_ok());
    }
    for i in 2..6 {
        assert!(exec.submit(task(i, TestJob::Value(i as u32), 0.0)).is_ok());
    }
    exec.close();
    exec.close(); // idempotent
    assert!(matches!(
        exec.submit(task(9, TestJob::Value(0), 0.0)),
        Err(SubmitError::Closed(_))
    ));
    gate.store(true, Ordering::Release);
    let mut side = Side::default();
    let done = finished(&exec, 6, &mut side);
    assert!(
        done.iter().all(|(_, r)| ok(r).is_some()),
        "close lets every task finish"
    );
    let mut rem = wait_exit(&exec, side);
    rem.sort();
    assert_eq!(rem, [0, 1]);
    exec.join_exited();
    assert!(exec.shared.threads.lock().is_empty(), "every thread joined");
}

#[test]
fn destroy_hands_back_queued_and_stops_running() {
    let (exec, _) = pool(1, usize::MAX);
    let t = task(0, TestJob::UntilCancelled, 0.0);
    let ctl = Arc::clone(&t.ctl);
    assert!(exec.submit(t).is_ok());
    while ctl.state() != TaskState::Running {
        std::thread::yield_now();
    }
    for i in 1..4 {
        assert!(exec.submit(task(i, TestJob::Value(1), 0.0)).is_ok());
    }
    let back = exec.destroy();
    assert_eq!(back.iter().map(|t| t.tag).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(back.iter().all(|t| t.ctl.state() == TaskState::Cancelled));
    assert!(exec.destroy().is_empty(), "idempotent");
    let mut side = Side::default();
    let done = finished(&exec, 1, &mut side);
    assert!(matches!(done[0].1, Some(Ok(Err(Cancelled)))));
    // destroy() reports the exit itself when it sees no thread alive, so `Exited { 0 }` may
    // arrive more than once; what matters is that the last report says none remain.
    let rem = wait_exit(&exec, side);
    assert_eq!(rem.last(), Some(&0));
    assert!(rem.iter().all(|&r| r == 0));
    assert!(matches!(
        exec.submit(task(9, TestJob::Value(0), 0.0)),
        Err(SubmitError::Closed(_))
    ));
}

#[test]
fn threads_are_named() {
    struct Name;
    impl Job for Name {
        type Output = String;
        fn run(&mut self, _: &CancelToken<'_>) -> String {
            std::thread::current().name().unwrap_or("").to_owned()
        }
    }
    let exec: Executor<Name> = Executor::new(Config::fixed(1), || {}).unwrap();
    assert!(exec.submit(Task::new(0, Name, 0.0, None)).is_ok());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = vec![];
    loop {
        exec.take_events(&mut buf);
        if let Some(Event::Finished {
            result: Some(Ok(name)),
            ..
        }) = buf.pop()
        {
            assert_eq!(name, "pool-worker-0");
            break;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Polls until `f` holds (panics after 10 s).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn elastic(min: usize, max: usize, idle_ms: Option<u64>) -> Executor<TestJob> {
    let cfg = Config {
        min_threads: min,
        max_threads: max,
        idle_timeout: idle_ms.map(Duration::from_millis),
        ..Config::default()
    };
    Executor::new(cfg, || {}).unwrap()
}

#[test]
fn grows_while_tasks_wait_and_retires_idle_threads_down_to_min() {
    let exec = elastic(1, 3, Some(30));
    assert_eq!(exec.threads(), 1);
    let gate = Arc::new(AtomicBool::new(false));
    for i in 0..5 {
        assert!(exec
            .submit(task(i, TestJob::Gate(Arc::clone(&gate)), 0.0))
            .is_ok());
    }
    eventually("3 threads", || exec.threads() == 3 && exec.running() == 3);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(exec.threads(), 3, "never above max_threads");
    gate.store(true, Ordering::Release);
    let mut side = Side::default();
    let done = finished(&exec, 5, &mut side);
    assert!(done.iter().all(|(_, r)| ok(r) == Some(0)));
    eventually("retire to min", || exec.threads() == 1);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(exec.threads(), 1, "min_threads stay");
    let snap = exec.metrics().snapshot();
    assert_eq!(snap.threads.len(), 3);
    assert_eq!(snap.threads.iter().filter(|t| t.alive).count(), 1);
    assert_eq!(snap.threads.iter().map(|t| t.tasks).sum::<u64>(), 5);
    // A retired slot is reused by the next thread started.
    let gate = Arc::new(AtomicBool::new(false));
    for i in 0..2 {
        assert!(exec
            .submit(task(i, TestJob::Gate(Arc::clone(&gate)), 0.0))
            .is_ok());
    }
    eventually("2 threads", || exec.threads() == 2);
    assert_eq!(exec.metrics().snapshot().threads.len(), 3);
    gate.store(true, Ordering::Release);
    finished(&exec, 2, &mut side);
}

#[test]
fn without_idle_timeout_grown_threads_stay() {
    let exec = elastic(1, 2, None);
    let gate = Arc::new(AtomicBool::new(false));
    for i in 0..2 {
        assert!(exec
            .submit(task(i, TestJob::Gate(Arc::clone(&gate)), 0.0))
            .is_ok());
    }
    eventually("2 threads", || exec.threads() == 2);
    gate.store(true, Ordering::Release);
    finished(&exec, 2, &mut Side::default());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(exec.threads(), 2);
}

#[test]
fn min_zero_starts_threads_on_demand_and_closes_with_none_alive() {
    let exec = elastic(0, 2, Some(10));
    assert_eq!(exec.threads(), 0);
    let mut side = Side::default();
    for round in 0..3 {
        assert!(exec.submit(task(round, TestJob::Value(7), 0.0)).is_ok());
        let done = finished(&exec, 1, &mut side);
        assert_eq!(ok(&done[0].1), Some(7));
        eventually("all retired", || exec.threads() == 0);
    }
    exec.close();
    let mut buf = Vec::new();
    exec.take_events(&mut buf);
    assert!(
        buf.iter()
            .any(|e| matches!(e, Event::Exited { remaining: 0 })),
        "close reports the exit when no thread is alive to do it"
    );
    exec.join_exited();
    assert!(exec.shared.threads.lock().is_empty());
}

#[test]
fn resize_starts_threads_and_shrinks_only_between_tasks() {
    let (exec, _) = pool(1, usize::MAX);
    exec.resize(3, 3).unwrap();
    assert_eq!(exec.threads(), 3);
    assert_eq!((exec.min_threads(), exec.max_threads()), (3, 3));
    let gate = Arc::new(AtomicBool::new(false));
    for i in 0..3 {
        assert!(exec
            .submit(task(i, TestJob::Gate(Arc::clone(&gate)), 0.0))
            .is_ok());
    }
    eventually("3 running", || exec.running() == 3);
    exec.resize(1, 1).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(exec.running(), 3, "running tasks are not interrupted");
    gate.store(true, Ordering::Release);
    let done = finished(&exec, 3, &mut Side::default());
    assert!(done.iter().all(|(_, r)| ok(r) == Some(0)));
    eventually("shrink to 1", || exec.threads() == 1);
    assert!(exec.submit(task(9, TestJob::Value(1), 0.0)).is_ok());
    assert_eq!(ok(&finished(&exec, 1, &mut Side::default())[0].1), Some(1));
}

#[test]
fn per_thread_metrics_count_errors_and_requeue_ignores_max_queue() {
    let (exec, _) = pool(1, 0);
    let gate = Arc::new(AtomicBool::new(false));
    assert!(exec
        .submit(task(0, TestJob::Gate(Arc::clone(&gate)), 0.0))
        .is_ok());
    eventually("running", || exec.running() == 1);
    assert!(matches!(
        exec.submit(task(1, TestJob::Value(1), 0.0)),
        Err(SubmitError::QueueFull(_))
    ));
    assert!(exec.requeue(task(2, TestJob::Panic, 0.0)).is_ok());
    gate.store(true, Ordering::Release);
    let done = finished(&exec, 2, &mut Side::default());
    assert!(done
        .iter()
        .any(|(t, r)| *t == 2 && matches!(r, Some(Err(_)))));
    let snap = exec.metrics().snapshot();
    assert_eq!(snap.threads.len(), 1);
    let t = &snap.threads[0];
    assert_eq!((t.tasks, t.errors, t.alive), (2, 1, true));
    assert!(t.last_active.is_some_and(|ms| ms > 1.6e12));
    assert!(t.avg_run_ms >= 0.0 && t.busy_ms >= t.avg_run_ms);
    exec.metrics().reset();
    let snap = exec.metrics().snapshot();
    assert_eq!((snap.threads[0].tasks, snap.threads[0].errors), (0, 0));
}
