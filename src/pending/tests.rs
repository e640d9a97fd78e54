//! Every branch of the pending-task rules, without napi: the promise is a plain number here.

use super::*;
use crate::executor::Panic;

const K: KernelId = KernelId::Sha256;

fn ctl() -> Arc<TaskCtl> {
    Arc::new(TaskCtl::new())
}

/// A control block in `state`, moved there the way the pool moves it.
fn ctl_in(state: TaskState) -> Arc<TaskCtl> {
    let c = ctl();
    match state {
        TaskState::Queued => {}
        TaskState::Running => assert!(c.start()),
        TaskState::Done => assert!(c.start() && c.finish()),
        TaskState::Cancelled => assert!(c.cancel().is_some()),
        TaskState::TimedOut => assert!(c.start() && c.expire()),
    }
    c
}

fn value(n: f64) -> Ended {
    Some(Ok(JobOutput::One(Ok(Output::Number(n)))))
}

fn kernel_error() -> KernelError {
    KernelError::invalid_value("bad hash")
}

fn cancelled() -> Ended {
    Some(Ok(JobOutput::One(Err(RunError::Cancelled))))
}

fn chunk(nums: &[f64]) -> Ended {
    Some(Ok(JobOutput::Many(Ok(Outputs::Numbers(nums.to_vec())))))
}

fn settled(s: Option<Settle<u32>>) -> (u32, Settlement, u64) {
    let s = s.expect("a settlement");
    (s.promise, s.settlement, s.count)
}

fn retry(left: u32) -> Option<Retry> {
    Some(Retry {
        left,
        priority: 3.0,
        timeout: Some(Duration::from_millis(5)),
    })
}

#[test]
fn a_task_settles_with_its_value_and_frees_its_slot() {
    let mut p = Pending::default();
    let slot = p.insert_one(7, K, ctl_in(TaskState::Done), None);
    assert_eq!((p.len(), p.kernel(slot)), (1, Some(K)));
    let (s, cancel) = p.finished(tag(slot, 0), value(1.0));
    assert_eq!(settled(s), (7, Settlement::Value(Output::Number(1.0)), 1));
    assert!(cancel.is_empty());
    assert!(p.is_empty());
    // A late event for the freed slot finds nothing.
    assert_eq!(p.finished(tag(slot, 0), value(2.0)).0, None);
}

#[test]
fn failures_map_to_one_settlement_each() {
    let cases: Vec<(Arc<TaskCtl>, Ended, Settlement)> = vec![
        (
            ctl_in(TaskState::Done),
            Some(Ok(JobOutput::One(Err(RunError::Failed(kernel_error()))))),
            Settlement::Error(kernel_error()),
        ),
        (
            ctl_in(TaskState::Done),
            Some(Err(Panic("boom".into()))),
            Settlement::Panicked("boom".into()),
        ),
        // Stopped on its token: a timeout iff its deadline expired it…
        (
            ctl_in(TaskState::TimedOut),
            cancelled(),
            Settlement::TimedOut,
        ),
        // …else the pool is shutting down (an abort settles before the kernel stops).
        (
            ctl_in(TaskState::Cancelled),
            cancelled(),
            Settlement::Closed,
        ),
        // Never ran, its promise still pending: handed back by a shutdown.
        (ctl_in(TaskState::Cancelled), None, Settlement::Closed),
    ];
    for (c, result, want) in cases {
        let mut p = Pending::default();
        let slot = p.insert_one(1, K, c, None);
        assert_eq!(settled(p.finished(tag(slot, 0), result).0).1, want);
        assert!(p.is_empty());
    }
}

#[test]
fn an_abort_settles_once_and_cancels_the_task() {
    let mut p = Pending::default();
    let c = ctl();
    let slot = p.insert_one(5, K, Arc::clone(&c), None);
    let h = p.handle(slot);
    let (s, cancel) = p.abort(h).expect("pending");
    assert_eq!((s.promise, s.settlement), (5, Settlement::Aborted));
    assert!(Arc::ptr_eq(&cancel[0], &c));
    assert!(p.abort(h).is_none(), "already settled");
    assert_eq!(p.len(), 1, "the slot stays until the job is back");
    // The skipped job comes back; nothing more to settle.
    assert_eq!(p.finished(tag(slot, 0), None).0, None);
    assert!(p.is_empty());
    for bad in [-1.0, f64::NAN] {
        assert!(p.abort(bad).is_none());
    }
}

#[test]
fn a_stale_handle_cannot_abort_the_slots_next_task() {
    let mut p = Pending::default();
    let first = p.insert_one(1, K, ctl(), None);
    let stale = p.handle(first);
    p.finished(tag(first, 0), value(0.0));
    let second = p.insert_one(2, K, ctl(), None);
    assert_eq!(first, second, "the slot is reused");
    assert_ne!(p.handle(second), stale);
    assert!(p.abort(stale).is_none());
    assert_eq!(p.abort(p.handle(second)).unwrap().0.promise, 2);
    // Handles stay exact doubles.
    assert!(p.handle(second) < 2f64.powi(53));
}

#[test]
fn panics_and_timeouts_retry_while_attempts_are_left() {
    let mut p = Pending::default();
    let first = ctl_in(TaskState::Done);
    let slot = p.insert_one(1, K, Arc::clone(&first), retry(2));
    let t = tag(slot, 0);
    let panic: Ended = Some(Err(Panic("x".into())));
    assert_eq!(
        p.retry(t, &panic, false),
        Some((3.0, Some(Duration::from_millis(5))))
    );
    p.requeued(t, ctl_in(TaskState::TimedOut));
    // The second attempt timed out: the last retry.
    assert!(p.retry(t, &cancelled(), false).is_some());
    p.requeued(t, ctl_in(TaskState::TimedOut));
    assert_eq!(p.retry(t, &cancelled(), false), None, "no attempts left");
    assert_eq!(
        settled(p.finished(t, cancelled()).0).1,
        Settlement::TimedOut
    );
}

#[test]
fn only_timeouts_and_panics_are_retried() {
    let mut p = Pending::default();
    let slot = p.insert_one(1, K, ctl_in(TaskState::Cancelled), retry(5));
    let t = tag(slot, 0);
    let error: Ended = Some(Ok(JobOutput::One(Err(RunError::Failed(kernel_error())))));
    assert_eq!(
        p.retry(t, &error, false),
        None,
        "deterministic failures are not"
    );
    assert_eq!(p.retry(t, &value(1.0), false), None);
    assert_eq!(p.retry(t, &None, false), None);
    // Stopped, but not by its deadline (the pool is shutting down).
    assert_eq!(p.retry(t, &cancelled(), false), None);
    // A closing pool runs nothing again.
    let panic: Ended = Some(Err(Panic("x".into())));
    assert_eq!(p.retry(t, &panic, true), None);
    // Nor does an aborted task.
    p.abort(p.handle(slot));
    assert_eq!(p.retry(t, &panic, false), None);
    // A zero budget is no budget.
    let mut q = Pending::default();
    let s = q.insert_one(1, K, ctl(), retry(0));
    assert_eq!(q.retry(tag(s, 0), &panic, false), None);
}

#[test]
fn expiry_settles_unless_the_task_will_retry_or_is_gone() {
    let mut p = Pending::default();
    let c = ctl_in(TaskState::TimedOut);
    let slot = p.insert_one(4, K, Arc::clone(&c), None);
    let (s, cancel) = p.expired(tag(slot, 0), &c, false).expect("settles");
    assert_eq!((s.promise, s.settlement), (4, Settlement::TimedOut));
    assert!(Arc::ptr_eq(&cancel[0], &c));
    assert!(p.expired(tag(slot, 0), &c, false).is_none(), "once");
    // The kernel then stops: nothing more to settle.
    assert_eq!(p.finished(tag(slot, 0), cancelled()).0, None);

    // With retries left, the expiry waits for the kernel to stop (then `retry` runs it again).
    let c = ctl_in(TaskState::TimedOut);
    let slot = p.insert_one(5, K, Arc::clone(&c), retry(1));
    assert!(p.expired(tag(slot, 0), &c, false).is_none());
    // …but a closing pool settles it now.
    let (s, _) = p.expired(tag(slot, 0), &c, true).unwrap();
    assert_eq!(s.settlement, Settlement::TimedOut);
    p.finished(tag(slot, 0), cancelled());

    // An expiry overtaken by its Finished, or for an earlier attempt, is ignored.
    let c = ctl_in(TaskState::TimedOut);
    let slot = p.insert_one(6, K, Arc::clone(&c), None);
    p.finished(tag(slot, 0), value(1.0));
    assert!(p.expired(tag(slot, 0), &c, false).is_none());
    let reused = p.insert_one(7, K, ctl(), None);
    assert_eq!(reused, slot);
    assert!(p.expired(tag(slot, 0), &c, false).is_none(), "another task");
    let old = ctl_in(TaskState::TimedOut);
    let slot = p.insert_one(8, K, Arc::clone(&old), retry(1));
    p.requeued(tag(slot, 0), ctl());
    assert!(
        p.expired(tag(slot, 0), &old, false).is_none(),
        "an earlier attempt"
    );
}

#[test]
fn a_batch_settles_once_with_its_parts_in_order() {
    let mut p = Pending::default();
    let slot = p.insert_batch(9, K, vec![ctl(), ctl(), ctl()], 5, None);
    // Chunks finish out of order.
    assert_eq!(p.finished(tag(slot, 2), chunk(&[5.0])).0, None);
    assert_eq!(p.finished(tag(slot, 0), chunk(&[1.0, 2.0])).0, None);
    let (s, cancel) = p.finished(tag(slot, 1), chunk(&[3.0, 4.0]));
    let (promise, settlement, count) = settled(s);
    assert_eq!((promise, count), (9, 5));
    assert_eq!(
        settlement,
        Settlement::Batch {
            parts: vec![
                Outputs::Numbers(vec![1.0, 2.0]),
                Outputs::Numbers(vec![3.0, 4.0]),
                Outputs::Numbers(vec![5.0]),
            ],
            inputs: 5,
        }
    );
    assert!(cancel.is_empty());
    assert!(p.is_empty());
}

#[test]
fn a_failed_chunk_fails_the_batch_and_cancels_the_rest() {
    let mut p = Pending::default();
    let ctls = vec![ctl(), ctl(), ctl_in(TaskState::TimedOut)];
    let slot = p.insert_batch(3, K, ctls.clone(), 3, None);
    let failed: Ended = Some(Ok(JobOutput::Many(Err((
        0,
        RunError::Failed(kernel_error()),
    )))));
    let (s, cancel) = p.finished(tag(slot, 1), failed);
    assert_eq!(settled(s), (3, Settlement::Error(kernel_error()), 3));
    assert_eq!(cancel.len(), 3);
    assert!(cancel.iter().zip(&ctls).all(|(a, b)| Arc::ptr_eq(a, b)));
    // The other chunks come back (cancelled, or done anyway): nothing more to settle.
    let (s, cancel) = p.finished(tag(slot, 0), chunk(&[1.0]));
    assert!(s.is_none() && cancel.is_empty());
    assert_eq!(p.len(), 1);
    let (s, cancel) = p.finished(tag(slot, 2), None);
    assert!(s.is_none() && cancel.is_empty());
    assert!(p.is_empty());

    // A chunk stopped by its deadline fails the batch as a timeout; a panic as a panic.
    for (c, result, want) in [
        (
            ctl_in(TaskState::TimedOut),
            Some(Ok(JobOutput::Many(Err((0, RunError::Cancelled))))),
            Settlement::TimedOut,
        ),
        (
            ctl(),
            Some(Err(Panic("p".into()))),
            Settlement::Panicked("p".into()),
        ),
        (ctl_in(TaskState::Cancelled), None, Settlement::Closed),
    ] {
        let slot = p.insert_batch(1, K, vec![c, ctl()], 4, None);
        assert_eq!(settled(p.finished(tag(slot, 0), result).0).1, want);
        p.finished(tag(slot, 1), chunk(&[1.0]));
        assert!(p.is_empty());
    }
}

#[test]
fn a_batch_chunk_retries_alone() {
    let mut p = Pending::default();
    let slot = p.insert_batch(1, K, vec![ctl(), ctl_in(TaskState::TimedOut)], 2, retry(1));
    let stopped: Ended = Some(Ok(JobOutput::Many(Err((0, RunError::Cancelled)))));
    assert!(p.retry(tag(slot, 1), &stopped, false).is_some());
    let again = ctl();
    p.requeued(tag(slot, 1), Arc::clone(&again));
    assert_eq!(p.finished(tag(slot, 0), chunk(&[1.0])).0, None);
    let (s, _) = p.finished(tag(slot, 1), chunk(&[2.0]));
    let Settlement::Batch { parts, .. } = settled(s).1 else {
        panic!()
    };
    assert_eq!(parts.len(), 2);
}

#[test]
fn refused_submissions() {
    let mut p = Pending::default();
    let slot = p.insert_one(1, K, ctl(), None);
    let s = p.refuse_one(slot, Settlement::QueueFull);
    assert_eq!(settled(s).1, Settlement::QueueFull);
    assert!(p.is_empty(), "a refused task never reaches the executor");

    // A batch whose second chunk was refused: chunk 0 is queued and must be cancelled; the
    // refused chunks are finished by the caller.
    let ctls = vec![ctl(), ctl(), ctl()];
    let slot = p.insert_batch(2, K, ctls, 30, None);
    let (s, cancel) = p.refuse_batch(slot, Settlement::QueueFull);
    assert_eq!(settled(s), (2, Settlement::QueueFull, 30));
    assert_eq!(cancel.len(), 3);
    for c in [1, 2, 0] {
        assert_eq!(p.finished(tag(slot, c), None).0, None);
    }
    assert!(p.is_empty());
}

#[test]
fn destroy_rejects_every_pending_promise() {
    let mut p = Pending::default();
    let a = p.insert_one(1, K, ctl(), None);
    let b = p.insert_batch(2, K, vec![ctl()], 3, None);
    let c = p.insert_one(3, K, ctl(), None);
    p.abort(p.handle(c));
    let mut closed: Vec<(u32, u64)> = p
        .close_all()
        .into_iter()
        .map(|s| {
            assert_eq!(s.settlement, Settlement::Closed);
            (s.promise, s.count)
        })
        .collect();
    closed.sort();
    assert_eq!(
        closed,
        vec![(1, 1), (2, 3)],
        "the aborted one was settled already"
    );
    assert!(p.close_all().is_empty());
    assert_eq!(p.len(), 3, "entries wait for their jobs");
    for t in [tag(a, 0), tag(b, 0), tag(c, 0)] {
        assert_eq!(p.finished(t, None).0, None);
    }
    assert!(p.is_empty());
}

#[test]
fn settlements_count_and_describe_themselves() {
    use Outcome::*;
    let k = Some(KernelId::Fib);
    for (s, outcome, code) in [
        (Settlement::Value(Output::Null), Fulfilled, None),
        (
            Settlement::Batch {
                parts: vec![],
                inputs: 0,
            },
            Fulfilled,
            None,
        ),
        (
            Settlement::Error(kernel_error()),
            Failed,
            Some("ERR_INVALID_ARG_VALUE"),
        ),
        (
            Settlement::Panicked("x".into()),
            Failed,
            Some("ERR_POOL_KERNEL_PANIC"),
        ),
        (Settlement::QueueFull, Failed, Some("ERR_POOL_QUEUE_FULL")),
        (Settlement::TimedOut, TimedOut, Some("ERR_POOL_TIMEOUT")),
        (Settlement::Closed, Cancelled, Some("ERR_POOL_CLOSED")),
        (Settlement::Aborted, Cancelled, None),
    ] {
        assert_eq!(s.outcome(), outcome, "{s:?}");
        assert_eq!(s.error(k).map(|e| e.code), code, "{s:?}");
    }
    assert_eq!(
        Settlement::Panicked("oops".into())
            .error(k)
            .unwrap()
            .message,
        "Kernel 'fib' panicked: oops"
    );
    assert_eq!(
        Settlement::TimedOut.error(k).unwrap().message,
        "Kernel 'fib' ran past its timeout"
    );
}

#[test]
fn generations_wrap_within_exact_doubles() {
    let mut p: Pending<u32> = Pending {
        generation: GENERATION_MASK,
        ..Pending::default()
    };
    let slot = p.insert_one(1, K, ctl(), None);
    let h = p.handle(slot);
    assert_eq!(h, f64::from(GENERATION_MASK) * TAG_SLOTS + f64::from(slot));
    assert!(h < 2f64.powi(53));
    assert_eq!(p.generation, 0);
    assert!(p.abort(h).is_some());
}
