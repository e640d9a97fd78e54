//! One task's state machine raced by its parties through the real pool: the worker starting,
//! running and finishing it, `Executor::cancel` (a JS abort) and the deadline watcher.

use super::*;

/// An abort racing the worker's start: the task is either skipped (cancelled while queued, the
/// job never runs) or started and then cancelled or finished, never two of these; it leaves the
/// queue's count once (by the worker or by `cancel`), and its one `Finished` says whether it ran.
#[test]
fn loom_cancel_vs_start() {
    model("cancel_vs_start", BOUND, || {
        let mut pool = Pool::new(1);
        let ctl = pool.submit(1, Probe::Poll, None);
        let from = pool.exec.cancel(&ctl);
        pool.wait_finished(&[1]);
        let ran = one_finished(&pool.events, 1);
        match from {
            Some(TaskState::Queued) => assert_eq!(ran, None, "skipped, not run"),
            Some(TaskState::Running) => assert!(ran.is_some()),
            None => assert_eq!(ran, Some(vec![false]), "finished first; no stop seen"),
            Some(s) => panic!("cancelled from {s:?}"),
        }
        let winner = if from.is_some() {
            TaskState::Cancelled
        } else {
            TaskState::Done
        };
        assert_eq!(ctl.state(), winner, "the one winner's outcome is the state");
        if ran == Some(vec![true]) {
            assert_eq!(
                from,
                Some(TaskState::Running),
                "no stop that did not happen"
            );
        }
        check_terminal(&ctl);
        pool.shut_down();
    });
}

/// A timed task (due at once) with an abort racing it: the worker finishing, the watcher
/// expiring and `cancel`, exactly one wins and its outcome is the state; `Expired` is reported
/// only for an expiry and always before the task's one `Finished` (the deadline slot's lock
/// orders them), so a kernel's result never overtakes its timeout.
#[test]
fn loom_finish_vs_expire_vs_cancel() {
    model("finish_vs_expire_vs_cancel", BOUND, || {
        let mut pool = Pool::new(1);
        let ctl = pool.submit(1, Probe::Poll, Some(Duration::ZERO));
        let from = pool.exec.cancel(&ctl);
        pool.wait_finished(&[1]);
        let ran = one_finished(&pool.events, 1);
        let expired = pool.events.iter().filter(|e| is_expired(e, 1)).count();
        let state = ctl.state();
        let winners = usize::from(from.is_some())
            + usize::from(expired == 1)
            + usize::from(state == TaskState::Done);
        assert_eq!(
            winners, 1,
            "one winner: {from:?}, expired {expired}, {state:?}"
        );
        match state {
            TaskState::Done => assert_eq!(ran, Some(vec![false])),
            TaskState::TimedOut => {
                assert_eq!(expired, 1);
                assert!(ran.is_some(), "expiry needs a start");
                let e = position(&pool.events, |e| is_expired(e, 1));
                let f = position(&pool.events, |e| is_finished(e, 1));
                assert!(e < f, "Expired before Finished");
            }
            TaskState::Cancelled => {
                assert_eq!(ran.is_none(), from == Some(TaskState::Queued));
            }
            s => panic!("ended {s:?}"),
        }
        if ran == Some(vec![true]) {
            assert!(matches!(state, TaskState::Cancelled | TaskState::TimedOut));
        }
        check_terminal(&ctl);
        pool.shut_down();
    });
}

/// A kernel that runs until told to stop, with a deadline due at once: the watcher (started
/// by the first timed task) sees the armed slot whenever it looks, expires the task, and the
/// kernel's next poll sees it. A missed `deadline_cv` notification would leave the kernel
/// polling forever (loom fails on the branch limit).
#[test]
fn loom_expiry_stops_a_running_kernel() {
    model("expiry_stops_a_running_kernel", Some(2), || {
        let mut pool = Pool::new(1);
        let ctl = pool.submit(1, Probe::UntilStopped, Some(Duration::ZERO));
        pool.wait_finished(&[1]);
        assert_eq!(one_finished(&pool.events, 1), Some(vec![true]));
        assert_eq!(ctl.state(), TaskState::TimedOut);
        let e = position(&pool.events, |e| is_expired(e, 1));
        let f = position(&pool.events, |e| is_finished(e, 1));
        assert!(e.is_some() && e < f, "Expired before Finished");
        check_terminal(&ctl);
        pool.shut_down();
    });
}

/// A timed task that has started (due at once, so the watcher expires it whenever it looks) while
/// its kernel returns and the model aborts it. The worker's disarm-then-finish, the watcher's expire-and-report under the slot's
/// lock and `cancel`: one wins, `cancel` can only win from Running, and an `Expired` always comes
/// before the `Finished`.
#[test]
fn loom_running_finish_vs_expire_vs_cancel() {
    model("running_finish_vs_expire_vs_cancel", BOUND, || {
        let mut pool = Pool::new(1);
        let started = LoomArc::new(Signal::default());
        let ctl = pool.submit(1, Probe::Started(started.clone()), Some(Duration::ZERO));
        started.wait();
        let from = pool.exec.cancel(&ctl);
        assert!(matches!(from, None | Some(TaskState::Running)), "{from:?}");
        pool.wait_finished(&[1]);
        let polls = one_finished(&pool.events, 1).expect("it ran");
        let expired = pool.events.iter().filter(|e| is_expired(e, 1)).count();
        let state = ctl.state();
        let winners = usize::from(from.is_some())
            + usize::from(expired == 1)
            + usize::from(state == TaskState::Done);
        assert_eq!(
            winners, 1,
            "one winner: {from:?}, expired {expired}, {state:?}"
        );
        match state {
            TaskState::Cancelled => assert!(from.is_some()),
            TaskState::TimedOut => {
                let e = position(&pool.events, |e| is_expired(e, 1));
                let f = position(&pool.events, |e| is_finished(e, 1));
                assert!(e < f, "Expired before Finished");
            }
            TaskState::Done => {}
            s => panic!("ended {s:?}"),
        }
        if state != TaskState::TimedOut {
            assert_eq!(polls, [false], "no stop before the abort");
        }
        check_terminal(&ctl);
        pool.shut_down();
    });
}

/// Two aborts of a running task (the model thread and another, as two JS-side cancels would be)
/// while its kernel returns: the worker's `finish` and the two `cancel`s, one of the three wins.
#[test]
fn loom_two_cancels_vs_finish() {
    model("two_cancels_vs_finish", BOUND, || {
        let mut pool = Pool::new(1);
        let started = LoomArc::new(Signal::default());
        let ctl = pool.submit(1, Probe::Started(started.clone()), None);
        started.wait();
        let other = loom::thread::spawn({
            let (exec, ctl) = (pool.exec.clone(), Arc::clone(&ctl));
            move || exec.cancel(&ctl)
        });
        let mine = pool.exec.cancel(&ctl);
        let theirs = other.join().unwrap();
        for from in [mine, theirs] {
            assert!(matches!(from, None | Some(TaskState::Running)), "{from:?}");
        }
        pool.wait_finished(&[1]);
        assert_eq!(one_finished(&pool.events, 1), Some(vec![false]));
        let state = ctl.state();
        let winners = usize::from(mine.is_some())
            + usize::from(theirs.is_some())
            + usize::from(state == TaskState::Done);
        assert_eq!(winners, 1, "one winner: {mine:?}, {theirs:?}, {state:?}");
        check_terminal(&ctl);
        pool.shut_down();
    });
}

/// The kernel's token (`Relaxed` loads): it reports no stop before one happened, and the first
/// poll after `cancel` returned (for a running task) sees it.
#[test]
fn loom_token_sees_cancel_after_start() {
    model("token_sees_cancel_after_start", BOUND, || {
        let mut pool = Pool::new(1);
        let gate = LoomArc::new(Gate::default());
        let ctl = pool.submit(1, Probe::Gated(gate.clone()), None);
        gate.started.wait();
        assert_eq!(pool.exec.cancel(&ctl), Some(TaskState::Running));
        gate.go.set();
        pool.wait_finished(&[1]);
        assert_eq!(one_finished(&pool.events, 1), Some(vec![false, true]));
        assert_eq!(ctl.state(), TaskState::Cancelled);
        pool.shut_down();
    });
}

/// The same with the deadline watcher in the race (the task is due at once): the abort and the
/// expiry race while the kernel waits, and its next poll sees whichever won. The token never
/// reports a stop that did not happen: a stop seen before the abort can only be the expiry.
#[test]
fn loom_token_sees_expiry_or_cancel_after_start() {
    model("token_sees_expiry_or_cancel_after_start", Some(2), || {
        let mut pool = Pool::new(1);
        let gate = LoomArc::new(Gate::default());
        let ctl = pool.submit(1, Probe::Gated(gate.clone()), Some(Duration::ZERO));
        gate.started.wait();
        let from = pool.exec.cancel(&ctl);
        gate.go.set();
        pool.wait_finished(&[1]);
        let polls = one_finished(&pool.events, 1).expect("it ran");
        assert!(polls[1], "the poll after the stop sees it");
        let expired = pool.events.iter().any(|e| is_expired(e, 1));
        match from {
            Some(TaskState::Running) => {
                assert_eq!(ctl.state(), TaskState::Cancelled);
                assert!(!expired);
                assert!(!polls[0], "no stop before the abort");
            }
            None => {
                assert_eq!(ctl.state(), TaskState::TimedOut, "the expiry won");
                assert!(expired);
            }
            s => panic!("cancelled from {s:?}"),
        }
        check_terminal(&ctl);
        pool.shut_down();
    });
}

/// The state machine alone, every transition tried at any moment (not only when the pool's
/// protocol allows it): a worker starting then finishing, an expiry and a cancel. One wins.
#[test]
fn loom_transitions_race_freely() {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Won {
        Done,
        TimedOut,
        Cancelled(TaskState),
    }
    model("transitions_race_freely", None, || {
        let ctl = LoomArc::new(TaskCtl::new());
        let expire = loom::thread::spawn({
            let ctl = ctl.clone();
            move || ctl.expire().then_some(Won::TimedOut)
        });
        let cancel = loom::thread::spawn({
            let ctl = ctl.clone();
            move || ctl.cancel().map(Won::Cancelled)
        });
        let started = ctl.start();
        let finished = started && ctl.finish();
        let won: Vec<Won> = [
            finished.then_some(Won::Done),
            expire.join().unwrap(),
            cancel.join().unwrap(),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert_eq!(won.len(), 1, "{won:?}");
        let state = match won[0] {
            Won::Done => TaskState::Done,
            Won::TimedOut => TaskState::TimedOut,
            Won::Cancelled(_) => TaskState::Cancelled,
        };
        assert_eq!(ctl.state(), state);
        // Expiring or finishing needs a start; cancelling from Running too, from Queued not.
        match won[0] {
            Won::Cancelled(TaskState::Queued) => assert!(!started),
            Won::Cancelled(from) => {
                assert_eq!(from, TaskState::Running);
                assert!(started);
            }
            _ => assert!(started),
        }
        check_terminal(&ctl);
    });
}
