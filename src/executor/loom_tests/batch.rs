//! A batch being gathered racing an abort of one of its members.

use super::*;

/// The worker gathers two queued lanes into a batch while the model aborts the second: the
/// abort wins while it is queued (it is skipped: `Finished` without a run, no lane) or after it
/// started (it ran in the batch, its token cancelled). Either way every task finishes once, the
/// counters balance, and `batched` counts exactly the lanes that ran together.
#[test]
fn loom_abort_vs_gathering_a_batch() {
    model("abort_vs_gathering_a_batch", BOUND, || {
        let mut pool = Pool::new(1);
        let gate = LoomArc::new(Gate::default());
        let g = pool.submit(1, Probe::Gated(gate.clone()), None);
        gate.started.wait();
        let first = pool.submit(2, Probe::Lane, None);
        let second = pool.submit(3, Probe::Lane, None);
        gate.go.set();
        let from = pool.exec.cancel(&second);
        pool.wait_finished(&[1, 2, 3]);
        assert_eq!(one_finished(&pool.events, 2), Some(vec![false]));
        let snapshot = pool.exec.metrics().snapshot();
        let (batched, ran) = (snapshot.batched, snapshot.threads[0].tasks);
        match (from, one_finished(&pool.events, 3)) {
            (Some(TaskState::Queued), None) => {
                assert_eq!(batched, 0, "the first ran alone");
                assert_eq!(ran, 2, "a skipped task is not a run");
            }
            // Cancelled while the batch ran, or after it finished (then nothing to cancel).
            (Some(TaskState::Running) | None, Some(polls)) => {
                assert_eq!(polls.len(), 1);
                assert_eq!(batched, 2, "both ran in one batch");
                assert_eq!(ran, 3);
            }
            other => panic!(
                "abort returned {:?} and the lane finished {:?}",
                other.0, other.1
            ),
        }
        pool.shut_down();
        for ctl in [&g, &first, &second] {
            check_terminal(ctl);
        }
    });
}
