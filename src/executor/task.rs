//! The per-task control block and the cancellation token kernels poll.
//!
//! A [`TaskCtl`] is shared (through an `Arc`) by the submitter on the JS thread, the worker that
//! runs the task and the pool's deadline watcher. Its state only moves forward:
//!
//! ```text
//! Queued ──► Running ──► Done
//!   │           ├──────► Cancelled   (abort while running, or destroy)
//!   │           └──────► TimedOut    (deadline watcher)
//!   └──────────────────► Cancelled   (abort while queued: the worker skips it)
//! ```
//!
//! Every transition is a compare-and-swap, so exactly one party wins a race between, say, an abort
//! and the deadline watcher, and that party alone reports the outcome. Those races are
//! model-checked with loom (`loom_tests` below, `npm run test:loom`); the atomics come through
//! [`sync`](super::sync) so that loom can swap in its own.
//!
//! # Memory ordering
//! The state is a flag, not a publication of other data: results travel through the pool's
//! event queue (a mutex). CAS uses `AcqRel` to keep transitions totally ordered per task; kernels
//! poll with `Relaxed` loads because a late observation only delays the stop by one poll.

use super::sync::atomic::{AtomicU8, Ordering};
// The pool-wide abort flag is `Shared`'s (std atomics, not model-checked), so it is always std's.
use std::sync::atomic::AtomicBool;

/// Where a task is in its life. See the module docs for the allowed transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TaskState {
    Queued = 0,
    Running = 1,
    Done = 2,
    Cancelled = 3,
    TimedOut = 4,
}

impl TaskState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Queued,
            1 => Self::Running,
            2 => Self::Done,
            3 => Self::Cancelled,
            _ => Self::TimedOut,
        }
    }
}

/// Shared control block of one task.
#[derive(Debug)]
pub struct TaskCtl {
    state: AtomicU8,
}

impl Default for TaskCtl {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskCtl {
    #[cfg(not(all(loom, test)))]
    pub const fn new() -> Self {
        Self {
            state: AtomicU8::new(TaskState::Queued as u8),
        }
    }

    /// loom's atomics cannot be built in a `const fn`.
    #[cfg(all(loom, test))]
    pub fn new() -> Self {
        Self {
            state: AtomicU8::new(TaskState::Queued as u8),
        }
    }

    pub fn state(&self) -> TaskState {
        TaskState::from_u8(self.state.load(Ordering::Acquire))
    }

    fn transition(&self, from: TaskState, to: TaskState) -> bool {
        self.state
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Queued → Running; false if the task was cancelled while it waited.
    pub(crate) fn start(&self) -> bool {
        self.transition(TaskState::Queued, TaskState::Running)
    }

    /// Running → Done; false if an abort or the deadline got there first.
    pub(crate) fn finish(&self) -> bool {
        self.transition(TaskState::Running, TaskState::Done)
    }

    /// Running → TimedOut; false if the task already finished or was cancelled.
    pub(crate) fn expire(&self) -> bool {
        self.transition(TaskState::Running, TaskState::TimedOut)
    }

    /// Queued or Running → Cancelled. Returns the state the task was cancelled from, or `None`
    /// if it had already reached a final state.
    pub(crate) fn cancel(&self) -> Option<TaskState> {
        [TaskState::Queued, TaskState::Running]
            .into_iter()
            .find(|&from| self.transition(from, TaskState::Cancelled))
    }

    fn stopped(&self) -> bool {
        matches!(
            TaskState::from_u8(self.state.load(Ordering::Relaxed)),
            TaskState::Cancelled | TaskState::TimedOut
        )
    }
}

/// What a kernel polls in its long loops. Cheap: two relaxed loads.
#[derive(Clone, Copy)]
pub struct CancelToken<'a> {
    task: &'a TaskCtl,
    pool: &'a AtomicBool,
}

/// Returned by a kernel that noticed its token and stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl<'a> CancelToken<'a> {
    pub(crate) fn new(task: &'a TaskCtl, pool: &'a AtomicBool) -> Self {
        Self { task, pool }
    }

    /// A token that is never cancelled: for tests, benches and direct calls.
    pub fn never() -> CancelToken<'static> {
        #[cfg(not(all(loom, test)))]
        static TASK: TaskCtl = TaskCtl::new();
        #[cfg(not(all(loom, test)))]
        let task = &TASK;
        // A loom atomic cannot live in a static. (The loom test build runs only the loom models,
        // which do not call this.)
        #[cfg(all(loom, test))]
        let task: &'static TaskCtl = Box::leak(Box::new(TaskCtl::new()));
        static POOL: AtomicBool = AtomicBool::new(false);
        CancelToken { task, pool: &POOL }
    }

    /// True once the task was aborted, timed out, or the pool is being destroyed.
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.pool.load(Ordering::Relaxed) || self.task.stopped()
    }

    /// `Err(Cancelled)` once [`is_cancelled`](Self::is_cancelled) is true, for use with `?`.
    #[inline]
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

// Outside a loom model loom's atomics panic, so these run in the normal build only.
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn transitions_are_one_way() {
        let t = TaskCtl::new();
        assert!(t.start());
        assert!(!t.start(), "cannot start twice");
        assert!(t.finish());
        assert_eq!(t.cancel(), None, "a finished task cannot be cancelled");
        assert!(!t.expire());
        assert_eq!(t.state(), TaskState::Done);
    }

    #[test]
    fn cancel_while_queued_prevents_start() {
        let t = TaskCtl::new();
        assert_eq!(t.cancel(), Some(TaskState::Queued));
        assert!(!t.start());
        assert_eq!(t.state(), TaskState::Cancelled);
    }

    #[test]
    fn expire_and_cancel_race_has_one_winner() {
        let t = TaskCtl::new();
        assert!(t.start());
        assert!(t.expire());
        assert_eq!(t.cancel(), None);
        assert!(!t.finish());
        assert_eq!(t.state(), TaskState::TimedOut);
    }

    #[test]
    fn token_sees_task_and_pool_flags() {
        let t = TaskCtl::new();
        let pool = AtomicBool::new(false);
        let tok = CancelToken::new(&t, &pool);
        assert!(t.start());
        assert!(!tok.is_cancelled());
        pool.store(true, Ordering::Relaxed);
        assert!(tok.is_cancelled());
        pool.store(false, Ordering::Relaxed);
        t.cancel();
        assert_eq!(tok.check(), Err(Cancelled));
        assert!(!CancelToken::never().is_cancelled());
    }
}

/// Loom models of the races on one task (`npm run test:loom`; built only with `--cfg loom`).
///
/// Each model runs the real [`TaskCtl`] and [`CancelToken`] under the protocol its parties follow
/// in the pool: the worker (`next_task` + `run_worker` in worker.rs), the JS thread's abort and
/// `destroy` (`Executor::cancel` / `Executor::destroy` in mod.rs) and the deadline watcher
/// (`arm_deadline` / `watch_deadlines`). Those steps are replayed here, not called (they live in
/// code built on parking_lot and std threads); the counters, the deadline slot and the event
/// queue are modelled with loom's primitives. Loom explores every interleaving, and every value a
/// `Relaxed` load may return, of each model.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::{Arc, Mutex};
    use loom::thread;
    use Ordering::Relaxed;

    /// The outcome a party reports because it won the compare-and-swap that ended the task.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Report {
        /// The worker's `finish`: the kernel's result settles the promise.
        Done,
        /// `cancel`, from the state it was in: JS rejects at once (or `destroy` hands it back).
        Cancelled(TaskState),
        /// The watcher's `expire`: an `Expired` event rejects the promise.
        TimedOut,
    }

    impl Report {
        fn state(self) -> TaskState {
            match self {
                Report::Done => TaskState::Done,
                Report::Cancelled(_) => TaskState::Cancelled,
                Report::TimedOut => TaskState::TimedOut,
            }
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Event {
        /// `Event::Finished`; `ran`: its `result` is `Some` (the job ran).
        Finished {
            ran: bool,
        },
        Expired,
    }

    /// One task and the parts of `Shared` its parties touch.
    struct Pool {
        ctl: TaskCtl,
        /// `Shared::abort`: std's, as in the pool (see the imports above).
        abort: AtomicBool,
        /// `progress.left`: bumped once when the task stops waiting (started, or cancelled while
        /// queued), else `maxQueue` and `queued()` drift.
        left: AtomicUsize,
        /// `progress.running`: up when the task starts, down when its run ends.
        running: AtomicUsize,
        /// The worker's deadline slot (`Deadlines::slots[index]`): armed or not.
        deadline: Mutex<bool>,
        /// The event queue.
        events: Mutex<Vec<Event>>,
    }

    impl Pool {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                ctl: TaskCtl::new(),
                abort: AtomicBool::new(false),
                left: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
                deadline: Mutex::new(false),
                events: Mutex::new(Vec::new()),
            })
        }

        /// A task a worker has already started (and, if `timed`, armed the deadline of).
        fn running(timed: bool) -> Arc<Self> {
            let p = Self::new();
            assert!(p.start());
            if timed {
                p.arm();
            }
            p
        }

        /// `next_task` after popping the task: Queued → Running, counted out of the queue.
        fn start(&self) -> bool {
            if !self.ctl.start() {
                return false;
            }
            self.running.fetch_add(1, Relaxed);
            self.left.fetch_add(1, Relaxed);
            true
        }

        /// `arm_deadline`.
        fn arm(&self) {
            *self.deadline.lock().unwrap() = true;
        }

        /// `run_worker` from the kernel's return: disarm, `finish`, report `Finished`.
        fn finish(&self, timed: bool) -> Option<Report> {
            if timed {
                *self.deadline.lock().unwrap() = false;
            }
            let won = self.ctl.finish();
            self.running.fetch_sub(1, Relaxed);
            self.events
                .lock()
                .unwrap()
                .push(Event::Finished { ran: true });
            won.then_some(Report::Done)
        }

        /// A worker taking the task: `Next::Run` (the kernel polls its token through `kernel`)
        /// or `Next::Skip`.
        fn work(&self, timed: bool, kernel: impl FnOnce(&CancelToken<'_>)) -> Option<Report> {
            if !self.start() {
                self.events
                    .lock()
                    .unwrap()
                    .push(Event::Finished { ran: false });
                return None;
            }
            if timed {
                self.arm();
            }
            kernel(&CancelToken::new(&self.ctl, &self.abort));
            self.finish(timed)
        }

        /// `Executor::cancel` (JS abort), and `destroy` on a task it drained (same steps).
        fn cancel(&self) -> Option<Report> {
            let from = self.ctl.cancel();
            if from == Some(TaskState::Queued) {
                self.left.fetch_add(1, Relaxed);
            }
            from.map(Report::Cancelled)
        }

        /// One pass of `watch_deadlines` once the deadline has passed: expire the task if its
        /// slot is armed, report it while still holding the slot's lock, disarm.
        fn watch(&self) -> Option<Report> {
            let mut slot = self.deadline.lock().unwrap();
            if !*slot {
                return None;
            }
            let won = self.ctl.expire();
            if won {
                self.events.lock().unwrap().push(Event::Expired);
            }
            *slot = false;
            won.then_some(Report::TimedOut)
        }

        /// The invariants once every party is done. `worker`: a worker took the task (else
        /// `destroy` handed it back and no event is due). Returns the one report.
        fn check(&self, reports: &[Option<Report>], worker: bool) -> Report {
            let won: Vec<Report> = reports.iter().flatten().copied().collect();
            assert_eq!(won.len(), 1, "exactly one party reports: {won:?}");
            let report = won[0];
            assert_eq!(
                self.ctl.state(),
                report.state(),
                "the winner's outcome is the state"
            );
            // Terminal: no transition leaves it.
            assert!(!self.ctl.start());
            assert!(!self.ctl.finish());
            assert!(!self.ctl.expire());
            assert_eq!(self.ctl.cancel(), None);
            assert_eq!(self.ctl.state(), report.state());
            assert_eq!(
                self.left.load(Relaxed),
                1,
                "counted out of the queue exactly once"
            );
            assert_eq!(
                self.running.load(Relaxed),
                0,
                "running: one up, one down (or none)"
            );
            let events = self.events.lock().unwrap().clone();
            let finished: Vec<_> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Finished { ran } => Some(*ran),
                    Event::Expired => None,
                })
                .collect();
            if worker {
                let ran = report != Report::Cancelled(TaskState::Queued);
                assert_eq!(
                    finished,
                    [ran],
                    "exactly one Finished; the job ran iff started"
                );
            } else {
                assert!(finished.is_empty());
            }
            let expired = events.iter().filter(|e| **e == Event::Expired).count();
            assert_eq!(expired, usize::from(report == Report::TimedOut));
            if expired == 1 {
                // The binding settles on the first of the two; the result of a kernel that
                // finished after its deadline must not overtake the timeout.
                assert_eq!(
                    events[0],
                    Event::Expired,
                    "Expired before Finished: {events:?}"
                );
            }
            report
        }
    }

    /// Loom's default exploration (no preemption bound): each model is small enough for it.
    fn model(f: impl Fn() + Sync + Send + 'static) {
        loom::model(f);
    }

    /// A worker starting the task races an abort: either the task is skipped (cancelled while
    /// queued) or it runs and the kernel is told to stop, never both, never neither.
    #[test]
    fn loom_start_vs_cancel() {
        model(|| {
            let p = Pool::new();
            let js = thread::spawn({
                let p = p.clone();
                move || p.cancel()
            });
            let mut saw = false;
            let worker = p.work(false, |tok| saw = tok.is_cancelled());
            let cancel = js.join().unwrap();
            let report = p.check(&[worker, cancel], true);
            if saw {
                assert_eq!(report, Report::Cancelled(TaskState::Running));
            }
        });
    }

    /// A timed task: the worker starting and running it, the watcher expiring it once armed,
    /// and an abort, all at once.
    #[test]
    fn loom_start_vs_expire_vs_cancel() {
        model(|| {
            let p = Pool::new();
            let watcher = thread::spawn({
                let p = p.clone();
                move || p.watch()
            });
            let js = thread::spawn({
                let p = p.clone();
                move || p.cancel()
            });
            let mut saw = false;
            let worker = p.work(true, |tok| saw = tok.is_cancelled());
            let reports = [worker, watcher.join().unwrap(), js.join().unwrap()];
            let report = p.check(&reports, true);
            if saw {
                assert!(matches!(
                    report,
                    Report::Cancelled(TaskState::Running) | Report::TimedOut
                ));
            }
        });
    }

    /// A running timed task: its kernel returning (disarm, finish), the deadline passing and an
    /// abort. One of the three reports, and an `Expired` is always queued before the `Finished`
    /// (the deadline slot's lock orders them).
    #[test]
    fn loom_finish_vs_cancel_vs_expire() {
        model(|| {
            let p = Pool::running(true);
            let watcher = thread::spawn({
                let p = p.clone();
                move || p.watch()
            });
            let js = thread::spawn({
                let p = p.clone();
                move || p.cancel()
            });
            let worker = p.finish(true);
            let reports = [worker, watcher.join().unwrap(), js.join().unwrap()];
            p.check(&reports, true);
        });
    }

    /// An abort and `destroy` cancelling the same queued task (one the workers no longer see):
    /// exactly one cancels it from Queued, so it is counted out of the queue once.
    #[test]
    fn loom_two_cancels_of_a_queued_task() {
        model(|| {
            let p = Pool::new();
            let other = thread::spawn({
                let p = p.clone();
                move || p.cancel()
            });
            let mine = p.cancel();
            let reports = [mine, other.join().unwrap()];
            assert_eq!(
                p.check(&reports, false),
                Report::Cancelled(TaskState::Queued)
            );
        });
    }

    /// Two cancels of a running task while its kernel returns: one report in all.
    #[test]
    fn loom_two_cancels_vs_finish() {
        model(|| {
            let p = Pool::running(false);
            let a = thread::spawn({
                let p = p.clone();
                move || p.cancel()
            });
            let b = thread::spawn({
                let p = p.clone();
                move || p.cancel()
            });
            let worker = p.finish(false);
            let reports = [worker, a.join().unwrap(), b.join().unwrap()];
            p.check(&reports, true);
        });
    }

    /// The kernel's token, polled with `Relaxed` loads: it never reports a stop that did not
    /// happen, and a cancel that won while the task ran is seen by the first poll after it (here:
    /// after the abort is known to be done, which is all "the next poll" can mean).
    #[test]
    fn loom_token_sees_cancel_after_start() {
        model(|| {
            let p = Pool::new();
            let js = thread::spawn({
                let p = p.clone();
                move || p.cancel()
            });
            let mut js = Some(js);
            let mut cancel = None;
            let (mut early, mut late) = (false, false);
            let worker = p.work(false, |tok| {
                early = tok.is_cancelled();
                cancel = js.take().unwrap().join().unwrap();
                late = tok.is_cancelled();
                assert_eq!(tok.check().is_err(), late);
            });
            if let Some(js) = js {
                cancel = js.join().unwrap();
            }
            let report = p.check(&[worker, cancel], true);
            let stopped = report == Report::Cancelled(TaskState::Running);
            assert_eq!(
                late, stopped,
                "the poll after the abort sees it, and only it"
            );
            assert!(!early || stopped, "no stop that did not happen");
        });
    }

    /// The same with the deadline watcher in the race too: the token reports a stop exactly when
    /// an abort or the deadline ended the running task.
    #[test]
    fn loom_token_sees_expiry_or_cancel_after_start() {
        model(|| {
            let p = Pool::new();
            let watcher = thread::spawn({
                let p = p.clone();
                move || p.watch()
            });
            let js = thread::spawn({
                let p = p.clone();
                move || p.cancel()
            });
            let mut others = Some((watcher, js));
            let mut reports = [None, None];
            let (mut early, mut late) = (false, false);
            let mut join = |others: &mut Option<(thread::JoinHandle<_>, thread::JoinHandle<_>)>| {
                if let Some((watcher, js)) = others.take() {
                    reports = [watcher.join().unwrap(), js.join().unwrap()];
                }
            };
            let worker = p.work(true, |tok| {
                early = tok.is_cancelled();
                join(&mut others);
                late = tok.is_cancelled();
            });
            join(&mut others);
            let report = p.check(&[worker, reports[0], reports[1]], true);
            let stopped = matches!(
                report,
                Report::Cancelled(TaskState::Running) | Report::TimedOut
            );
            assert_eq!(
                late, stopped,
                "the poll after the stop sees it, and only it"
            );
            assert!(!early || stopped, "no stop that did not happen");
        });
    }

    /// The state machine alone, with every transition tried at any moment (not only when the
    /// protocol above allows it): a worker starting then finishing, an expiry, and a cancel.
    #[test]
    fn loom_transitions_race_freely() {
        model(|| {
            let ctl = Arc::new(TaskCtl::new());
            let expire = thread::spawn({
                let ctl = ctl.clone();
                move || ctl.expire().then_some(Report::TimedOut)
            });
            let cancel = thread::spawn({
                let ctl = ctl.clone();
                move || ctl.cancel().map(Report::Cancelled)
            });
            let started = ctl.start();
            let finished = started && ctl.finish();
            let reports = [
                finished.then_some(Report::Done),
                expire.join().unwrap(),
                cancel.join().unwrap(),
            ];
            let won: Vec<Report> = reports.iter().flatten().copied().collect();
            assert_eq!(won.len(), 1, "{won:?}");
            assert_eq!(ctl.state(), won[0].state());
            // Expiring or finishing needs a start; cancelling from Running too, from Queued not.
            match won[0] {
                Report::Cancelled(TaskState::Queued) => assert!(!started),
                Report::Cancelled(from) => {
                    assert_eq!(from, TaskState::Running);
                    assert!(started);
                }
                _ => assert!(started),
            }
        });
    }
}
