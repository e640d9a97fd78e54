//! `close` and `destroy` racing the worker and an abort.

use super::*;

/// `destroy` racing the worker: a running kernel is stopped (the pool-wide abort), queued tasks
/// are handed back without a `Finished`, started ones get exactly one; every task is counted out
/// of the queue once, and the pool refuses new work and its threads exit.
#[test]
fn loom_destroy_vs_worker() {
    model("destroy_vs_worker", BOUND, || {
        let mut pool = Pool::new(1);
        let a = pool.submit(1, Probe::UntilStopped, None);
        let b = pool.submit(2, Probe::Poll, None);
        let handed: Vec<u64> = pool.exec.destroy().iter().map(|t| t.tag).collect();
        assert!(matches!(
            pool.exec.submit(Task::new(3, Probe::Poll, 0.0, None)),
            Err(SubmitError::Closed(_))
        ));
        pool.wait_exited();
        for (tag, ctl) in [(1, &a), (2, &b)] {
            let f = finished(&pool.events, tag);
            if handed.contains(&tag) {
                assert!(f.is_empty(), "handed back, so no Finished");
                assert_eq!(ctl.state(), TaskState::Cancelled);
            } else {
                assert_eq!(f.len(), 1, "exactly one Finished for task {tag}");
                assert!(
                    f[0].is_some(),
                    "it ran: destroy drains what has not started"
                );
            }
            check_terminal(ctl);
        }
        if !handed.contains(&1) {
            let polls = finished(&pool.events, 1);
            assert_eq!(
                polls,
                [Some(vec![true])],
                "a started kernel polls until the abort"
            );
        }
    });
}

/// `close` racing the worker: what was accepted before it still runs (one `Finished`), what
/// comes after is refused, then the worker exits.
#[test]
fn loom_close_runs_what_was_queued() {
    model("close_runs_what_was_queued", BOUND, || {
        let mut pool = Pool::new(1);
        let ctl = pool.submit(1, Probe::Poll, None);
        pool.exec.close();
        assert!(matches!(
            pool.exec.submit(Task::new(2, Probe::Poll, 0.0, None)),
            Err(SubmitError::Closed(_))
        ));
        pool.wait_exited();
        assert_eq!(one_finished(&pool.events, 1), Some(vec![false]));
        assert_eq!(ctl.state(), TaskState::Done);
    });
}

/// A JS abort (on another thread) and `destroy` cancelling the same queued task while the only
/// worker is busy: exactly one of them cancels it from Queued, so it leaves the queue's count
/// once; `destroy` hands it back either way and no `Finished` is due for it.
#[test]
fn loom_cancel_and_destroy_of_a_queued_task() {
    model("cancel_and_destroy_of_a_queued_task", BOUND, || {
        let mut pool = Pool::new(1);
        let gate = LoomArc::new(Gate::default());
        pool.submit(1, Probe::Gated(gate.clone()), None);
        gate.started.wait();
        let queued = pool.submit(2, Probe::Poll, None);
        let js = loom::thread::spawn({
            let (exec, ctl) = (pool.exec.clone(), Arc::clone(&queued));
            move || exec.cancel(&ctl)
        });
        let handed: Vec<u64> = pool.exec.destroy().iter().map(|t| t.tag).collect();
        let from_js = js.join().unwrap();
        assert!(from_js.is_none() || from_js == Some(TaskState::Queued));
        assert_eq!(handed, [2]);
        gate.go.set();
        pool.wait_exited();
        assert!(finished(&pool.events, 2).is_empty());
        assert_eq!(one_finished(&pool.events, 1), Some(vec![false, true]));
        assert_eq!(queued.state(), TaskState::Cancelled);
        check_terminal(&queued);
    });
}
