//! The pool's shared inner: the inbox and the queue, the flags of the wake-up protocol, the
//! lifecycle, the event queue and the deadline slots, with the helpers that both the handle
//! ([`Executor`](super::Executor), the submitters' side) and the workers (`worker.rs`) use.

use super::metrics::Metrics;
use super::queue::PriorityQueue;
use super::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use super::sync::thread::JoinHandle;
use super::sync::{Condvar, Mutex, Once};
use super::{Config, Event, Job, Task, TaskCtl};
use crossbeam_utils::CachePadded;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Lifecycle {
    Running = 0,
    /// No new tasks; queued ones still run.
    Closing = 1,
    /// No new tasks; queue emptied, running ones asked to stop.
    Destroying = 2,
}

/// What only workers touch, under the queue lock.
pub(super) struct State<J> {
    pub(super) queue: PriorityQueue<Task<J>>,
    /// An empty buffer swapped with the inbox, so neither side reallocates.
    pub(super) spare: Vec<Task<J>>,
    /// Parked workers, and how many of them were already sent a wake-up.
    pub(super) sleepers: usize,
    pub(super) wakeups: usize,
}

/// A running task's deadline: when, its tag, its control block.
pub(super) type Deadline = (Instant, u64, Arc<TaskCtl>);

pub(super) struct Deadlines {
    /// Per thread index, the deadlines of the task (or batch of tasks) it runs.
    pub(super) slots: Vec<Vec<Deadline>>,
    pub(super) stop: bool,
}

/// The pool's shared inner.
///
/// Submitters only push to `inbox` (a short critical section nobody else holds for long);
/// workers move the inbox into the priority queue under `state`, which submitters never take
/// except to wake a parked worker. This keeps the JS thread off the lock the workers contend on.
/// The field groups that the two sides write are each [`CachePadded`] (128 bytes on x86_64 and
/// aarch64: two lines, for adjacent-line prefetch), so neither side invalidates the other's lines
/// on every task.
///
/// # Memory ordering
/// `nonempty` and `parked` form a Dekker pair: a submitter that makes the inbox non-empty
/// publishes `nonempty`, fences (`SeqCst`), then reads `parked`; a worker about to park
/// publishes `parked`, fences, then re-reads `nonempty` under `state` (all `SeqCst`). One of them
/// sees the other, so a task is never left with every worker asleep. The worker's fence is
/// redundant in C11 (`SeqCst` accesses alone forbid the store-buffering outcome), but loom treats
/// `SeqCst` loads and stores as `AcqRel` and models only fences as `SeqCst`, so without it the
/// models report a lost wake-up that cannot happen; it is one fence per park, before a futex
/// wait. The counters `admitted`, `left`, `running`, `searching` are otherwise `Relaxed` hints.
pub(super) struct Shared<J: Job> {
    /// Written by submitters on every task.
    pub(super) submit: CachePadded<SubmitSide<J>>,
    pub(super) signals: CachePadded<Signals>,
    /// Written by workers on every task (kept off the submitters' cache lines).
    pub(super) state: CachePadded<Mutex<State<J>>>,
    pub(super) work: Condvar,
    pub(super) progress: CachePadded<Progress>,
    /// Written only when workers go idle or wake; read by submitters.
    pub(super) idle: CachePadded<Idle>,
    pub(super) lifecycle: AtomicU8,
    /// Threads started and not yet exited (a thread being started counts already).
    pub(super) live_threads: AtomicUsize,
    /// The current `min_threads` / `max_threads` (changed by `resize`).
    pub(super) min_threads: AtomicUsize,
    pub(super) max_threads: AtomicUsize,
    /// Which thread indexes are taken (a new thread takes the lowest free one).
    pub(super) slots: Mutex<Vec<bool>>,
    /// Join handles of the workers and the deadline watcher, joined by `join_exited`.
    pub(super) threads: Mutex<Vec<JoinHandle<()>>>,
    pub(super) events: CachePadded<Mutex<Vec<Event<J>>>>,
    pub(super) wake: Box<dyn Fn() + Send + Sync>,
    /// Set by destroy: every running task's token reports cancelled. Read by kernels' polls.
    /// std's in every build: [`CancelToken::new`](super::CancelToken) takes it (see `sync`). In
    /// an `Arc` so a detached token can own it; that allocation, apart from this struct's hot
    /// fields, is what the padding was for.
    pub(super) abort: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub(super) deadlines: Mutex<Deadlines>,
    pub(super) deadline_cv: Condvar,
    pub(super) watcher_started: Once,
    pub(super) metrics: Metrics,
    pub(super) config: Config,
}

/// What only submitters touch on every task.
pub(super) struct SubmitSide<J> {
    pub(super) inbox: Mutex<Vec<Task<J>>>,
    /// Tasks ever accepted; `admitted - left` is the number waiting.
    pub(super) admitted: AtomicUsize,
}

/// Flags workers read often and submitters write rarely (all changed under the inbox lock).
pub(super) struct Signals {
    /// The inbox holds tasks. Set only by the push that makes it non-empty, so a burst of
    /// submissions writes it once per refill, not once per task.
    pub(super) nonempty: AtomicBool,
    /// The inbox holds a task that may outrank something in the queue; workers then merge
    /// before their next pop. See `Executor::submit`.
    pub(super) urgent: AtomicBool,
    /// The queue may hold priorities other than 0.
    pub(super) mixed: AtomicBool,
}

pub(super) struct Progress {
    /// Physical queue length, mirrored outside the lock for the spinning worker.
    pub(super) pending: AtomicUsize,
    /// Tasks that stopped waiting: started, or cancelled while queued.
    pub(super) left: AtomicUsize,
    pub(super) running: AtomicUsize,
}

pub(super) struct Idle {
    /// Workers spinning for new work (at most one).
    pub(super) searching: AtomicUsize,
    /// `sleepers - wakeups`: parked workers nobody has woken yet.
    pub(super) parked: AtomicUsize,
}

impl<J: Job> Shared<J> {
    /// A pool with no thread started yet (`Executor::new` starts them).
    pub(super) fn new(config: Config, wake: impl Fn() + Send + Sync + 'static) -> Self {
        Self {
            submit: CachePadded::new(SubmitSide {
                inbox: Mutex::new(Vec::new()),
                admitted: AtomicUsize::new(0),
            }),
            signals: CachePadded::new(Signals {
                nonempty: AtomicBool::new(false),
                urgent: AtomicBool::new(false),
                mixed: AtomicBool::new(false),
            }),
            state: CachePadded::new(Mutex::new(State {
                queue: PriorityQueue::default(),
                spare: Vec::new(),
                sleepers: 0,
                wakeups: 0,
            })),
            work: Condvar::new(),
            progress: CachePadded::new(Progress {
                pending: AtomicUsize::new(0),
                left: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
            }),
            idle: CachePadded::new(Idle {
                searching: AtomicUsize::new(0),
                parked: AtomicUsize::new(0),
            }),
            lifecycle: AtomicU8::new(Lifecycle::Running as u8),
            live_threads: AtomicUsize::new(0),
            min_threads: AtomicUsize::new(config.min_threads),
            max_threads: AtomicUsize::new(config.max_threads),
            slots: Mutex::new(Vec::new()),
            threads: Mutex::new(Vec::new()),
            events: CachePadded::new(Mutex::new(Vec::new())),
            wake: Box::new(wake),
            abort: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
            deadlines: Mutex::new(Deadlines {
                slots: Vec::new(),
                stop: false,
            }),
            deadline_cv: Condvar::new(),
            watcher_started: Once::new(),
            metrics: Metrics::new(),
            config,
        }
    }

    /// Tasks accepted and not yet started or cancelled.
    pub(super) fn waiting(&self) -> usize {
        // `left` is read second: it may include tasks admitted after the first read, so clamp.
        let admitted = self.submit.admitted.load(Ordering::Relaxed);
        admitted.saturating_sub(self.progress.left.load(Ordering::Relaxed))
    }

    pub(super) fn lifecycle(&self) -> Lifecycle {
        match self.lifecycle.load(Ordering::SeqCst) {
            0 => Lifecycle::Running,
            1 => Lifecycle::Closing,
            _ => Lifecycle::Destroying,
        }
    }

    /// Whether one more thread may start: below `max_threads` and not destroyed.
    pub(super) fn can_grow(&self) -> bool {
        self.live_threads.load(Ordering::SeqCst) < self.max_threads.load(Ordering::Relaxed)
            && self.lifecycle() != Lifecycle::Destroying
    }

    /// After close/destroy: when no thread is alive (all retired, or `min_threads` is 0) none
    /// will report its exit, so report it here. Extra `Exited` events are harmless.
    pub(super) fn exited_if_none_alive(&self) {
        if self.live_threads.load(Ordering::SeqCst) == 0 {
            self.stop_watcher();
            self.push_event(Event::Exited { remaining: 0 });
        }
    }

    pub(super) fn stop_watcher(&self) {
        self.deadlines.lock().stop = true;
        self.deadline_cv.notify_all();
    }

    pub(super) fn push_event(&self, e: Event<J>) {
        let was_empty = {
            let mut ev = self.events.lock();
            let was_empty = ev.is_empty();
            ev.push(e);
            was_empty
        };
        if was_empty {
            (self.wake)();
        }
    }
}

impl<J> State<J> {
    /// Wakes one parked worker if nobody is already looking for work. A futex wake costs more
    /// than a trivial task, so it is left to a spinning worker whenever there is one. Returns
    /// whether an idle worker (spinning, just woken, or parked and woken now) will look at the
    /// queue; if not, every thread is busy.
    pub(super) fn wake_one<J2: Job>(&mut self, sh: &Shared<J2>) -> bool {
        if sh.idle.searching.load(Ordering::SeqCst) > 0 {
            return true;
        }
        if self.sleepers > self.wakeups {
            self.wakeups += 1;
            sh.idle
                .parked
                .store(self.sleepers - self.wakeups, Ordering::SeqCst);
            sh.work.notify_one();
        }
        self.sleepers > 0
    }
}
