//! The wake-up protocol: a submitted task reaches a worker whatever the worker is doing.

use super::*;

/// A task submitted while the only worker is starting, spinning or parking is run: the
/// `nonempty`/`parked` pair (and the inbox handoff) never leaves it waiting with the worker
/// asleep, which loom would report as a deadlock. One `Finished`, counters balanced, and the
/// worker exits on `close`.
#[test]
fn loom_submit_reaches_an_idle_worker() {
    model("submit_reaches_an_idle_worker", BOUND, || {
        let mut pool = Pool::new(1);
        let ctl = pool.submit(1, Probe::Poll, None);
        pool.wait_finished(&[1]);
        assert_eq!(one_finished(&pool.events, 1), Some(vec![false]));
        assert_eq!(ctl.state(), TaskState::Done);
        check_terminal(&ctl);
        pool.shut_down();
    });
}

/// Two submissions back to back: the second may land in an inbox the worker has not taken yet
/// (no wake-up of its own) or be a refill after the worker took the first. Both run, once each,
/// in submission order.
#[test]
fn loom_two_submits_one_worker() {
    model("two_submits_one_worker", BOUND, || {
        let mut pool = Pool::new(1);
        pool.submit(1, Probe::Poll, None);
        pool.submit(2, Probe::Poll, None);
        pool.wait_finished(&[1, 2]);
        assert_eq!(one_finished(&pool.events, 1), Some(vec![false]));
        assert_eq!(one_finished(&pool.events, 2), Some(vec![false]));
        let p1 = position(&pool.events, |e| is_finished(e, 1));
        let p2 = position(&pool.events, |e| is_finished(e, 2));
        assert!(p1 < p2, "FIFO at one priority");
        pool.shut_down();
    });
}

/// Two workers, two tasks: whichever workers are parked, spinning or starting, both tasks run
/// (a worker popping with more queued wakes another, or a submitter does).
#[test]
fn loom_two_workers_two_tasks() {
    model("two_workers_two_tasks", Some(2), || {
        let mut pool = Pool::new(2);
        pool.submit(1, Probe::Poll, None);
        pool.submit(2, Probe::Poll, None);
        pool.wait_finished(&[1, 2]);
        assert_eq!(one_finished(&pool.events, 1), Some(vec![false]));
        assert_eq!(one_finished(&pool.events, 2), Some(vec![false]));
        pool.shut_down();
    });
}
