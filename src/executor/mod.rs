//! The thread pool, free of any napi type: a bounded priority queue, named worker threads,
//! per-task cancellation, run-time deadlines and metrics.
//!
//! # Ownership
//! - [`Executor`] is the thin handle the binding owns (on the JS thread). Dropping it destroys
//!   the pool without joining: threads finish their current task and exit on their own.
//! - `Shared` is the `Arc`-shared inner: the queue and lifecycle under one mutex, the outgoing
//!   event queue under another, the metrics in atomics.
//! - Each worker thread owns its [`WorkerMetrics`](metrics::WorkerMetrics) slot and its
//!   deadline slot; the deadline watcher thread is started on the first timed task.
//!
//! # Results
//! Workers do not call back into anything: they append an [`Event`] to the event queue, and call
//! the `wake` hook only when that queue goes from empty to non-empty. One wake-up therefore serves
//! a whole burst of completions; the consumer takes them all with [`Executor::take_events`].
//! Every submitted task yields exactly one [`Event::Finished`] (also when it was cancelled while
//! queued, so the consumer can release what the job holds), unless [`Executor::destroy`] handed
//! it back directly.

#![forbid(unsafe_code)]

mod metrics;
mod queue;
mod sync;
mod task;
mod worker;

pub use metrics::{Histogram, Metrics, Outcome, Snapshot, Summary, ThreadSnapshot, WorkerMetrics};
pub use task::{CancelToken, Cancelled, TaskCtl, TaskState};

use parking_lot::{Condvar, Mutex};
use queue::PriorityQueue;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The work a task carries. `run` is called at most once, on a worker thread.
pub trait Job: Send + 'static {
    type Output: Send + 'static;
    fn run(&mut self, token: &CancelToken<'_>) -> Self::Output;
    /// Whether an output is a failure, for the per-thread `errors` count.
    fn failed(_output: &Self::Output) -> bool {
        false
    }
}

/// A panic caught at the job boundary: the task fails, the thread lives on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic(pub String);

/// What workers tell the consumer.
pub enum Event<J: Job> {
    /// The task left the pool. `result` is `None` when it never ran (cancelled while queued).
    /// The job is handed back so that what it holds is released by the consumer.
    Finished {
        tag: u64,
        job: J,
        result: Option<Result<J::Output, Panic>>,
    },
    /// The task's run-time deadline passed while it ran; its `Finished` follows when the kernel
    /// notices (but may overtake this event). `ctl` identifies the task beyond its tag.
    Expired { tag: u64, ctl: Arc<TaskCtl> },
    /// A worker thread exited (retired, or the pool is shutting down); `remaining` threads are
    /// still alive. Also sent by `close`/`destroy` when no thread was alive to send it.
    Exited { remaining: usize },
    /// A pool-level fault no task owns: an extra thread could not be started.
    Fault(String),
}

/// One unit of queued work.
pub struct Task<J> {
    /// Opaque to the executor; echoed in events.
    pub tag: u64,
    pub ctl: Arc<TaskCtl>,
    pub job: J,
    pub priority: f64,
    /// Run-time limit, counted from the moment a worker starts the task.
    pub timeout: Option<Duration>,
    enqueued: Instant,
}

impl<J> Task<J> {
    pub fn new(tag: u64, job: J, priority: f64, timeout: Option<Duration>) -> Self {
        Self {
            tag,
            ctl: Arc::new(TaskCtl::new()),
            job,
            priority,
            timeout,
            enqueued: Instant::now(),
        }
    }
}

/// Runs first on every new worker thread (e.g. to lower its scheduling priority).
pub type ThreadStart = Arc<dyn Fn() + Send + Sync>;

/// Pool configuration; validated by the caller (`min_threads <= max_threads`, `max_threads >= 1`).
#[derive(Clone)]
pub struct Config {
    /// Threads kept alive; started with the pool.
    pub min_threads: usize,
    /// Threads beyond `min_threads` start while tasks wait, up to this many.
    pub max_threads: usize,
    /// Threads above `min_threads` exit after this long without work; `None`: they stay.
    pub idle_timeout: Option<Duration>,
    /// Tasks allowed to wait for a thread (running ones, and ones an idle thread is about to
    /// take, not counted); `usize::MAX` for no bound.
    pub max_queue: usize,
    pub thread_name: String,
    pub stack_size: Option<usize>,
    /// Called on each worker thread before it takes work.
    pub on_thread_start: Option<ThreadStart>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("min_threads", &self.min_threads)
            .field("max_threads", &self.max_threads)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_queue", &self.max_queue)
            .field("thread_name", &self.thread_name)
            .field("stack_size", &self.stack_size)
            .field("on_thread_start", &self.on_thread_start.is_some())
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_threads: default_threads(),
            max_threads: default_threads(),
            idle_timeout: None,
            max_queue: usize::MAX,
            thread_name: "pool-worker".into(),
            stack_size: None,
            on_thread_start: None,
        }
    }
}

impl Config {
    /// A fixed-size pool of `n` threads.
    pub fn fixed(n: usize) -> Self {
        Self {
            min_threads: n,
            max_threads: n,
            ..Self::default()
        }
    }
}

/// The machine's available parallelism (honours affinity masks and cgroup CPU quotas).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Why a task was not accepted. The task is handed back.
pub enum SubmitError<J> {
    QueueFull(Task<J>),
    Closed(Task<J>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Lifecycle {
    Running = 0,
    /// No new tasks; queued ones still run.
    Closing = 1,
    /// No new tasks; queue emptied, running ones asked to stop.
    Destroying = 2,
}

/// What only workers touch, under the queue lock.
struct State<J> {
    queue: PriorityQueue<Task<J>>,
    /// An empty buffer swapped with the inbox, so neither side reallocates.
    spare: Vec<Task<J>>,
    /// Parked workers, and how many of them were already sent a wake-up.
    sleepers: usize,
    wakeups: usize,
}

/// Keeps a group of fields on its own cache lines (two, for adjacent-line prefetch), so that the
/// submitting thread and the workers do not invalidate each other's lines on every task.
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// How long an idle worker spins for new work before parking. Catching the next submission
/// without a futex round trip is what keeps one-at-a-time round trips short; only one worker
/// spins at a time so the JS thread keeps a core.
const SPIN: Duration = Duration::from_micros(50);

struct Deadlines {
    slots: Vec<Option<(Instant, u64, Arc<TaskCtl>)>>,
    stop: bool,
}

/// The pool's shared inner.
///
/// Submitters only push to `inbox` (a short critical section nobody else holds for long);
/// workers move the inbox into the priority queue under `state`, which submitters never take
/// except to wake a parked worker. This keeps the JS thread off the lock the workers contend on.
///
/// # Memory ordering
/// `nonempty` and `parked` form a Dekker pair: a submitter that makes the inbox non-empty
/// publishes `nonempty`, fences (`SeqCst`), then reads `parked`; a worker about to park
/// publishes `parked` then re-reads `nonempty` (both `SeqCst`) under `state`. One of them sees
/// the other, so a task is never left with every worker asleep. The counters `admitted`, `left`, `running`, `searching` are otherwise
/// `Relaxed` hints.
pub(crate) struct Shared<J: Job> {
    /// Written by submitters on every task.
    submit: Padded<SubmitSide<J>>,
    signals: Padded<Signals>,
    /// Written by workers on every task (kept off the submitters' cache lines).
    state: Padded<Mutex<State<J>>>,
    work: Condvar,
    progress: Padded<Progress>,
    /// Written only when workers go idle or wake; read by submitters.
    idle: Padded<Idle>,
    lifecycle: AtomicU8,
    /// Threads started and not yet exited (a thread being started counts already).
    live_threads: AtomicUsize,
    /// The current `min_threads` / `max_threads` (changed by `resize`).
    min_threads: AtomicUsize,
    max_threads: AtomicUsize,
    /// Which thread indexes are taken (a new thread takes the lowest free one).
    slots: Mutex<Vec<bool>>,
    /// Join handles of the workers and the deadline watcher, joined by `join_exited`.
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    events: Padded<Mutex<Vec<Event<J>>>>,
    wake: Box<dyn Fn() + Send + Sync>,
    /// Set by destroy: every running task's token reports cancelled. Read by kernels' polls.
    abort: Padded<AtomicBool>,
    deadlines: Mutex<Deadlines>,
    deadline_cv: Condvar,
    watcher_started: std::sync::Once,
    metrics: Metrics,
    config: Config,
}

/// What only submitters touch on every task.
struct SubmitSide<J> {
    inbox: Mutex<Vec<Task<J>>>,
    /// Tasks ever accepted; `admitted - left` is the number waiting.
    admitted: AtomicUsize,
}

/// Flags workers read often and submitters write rarely (all changed under the inbox lock).
struct Signals {
    /// The inbox holds tasks. Set only by the push that makes it non-empty, so a burst of
    /// submissions writes it once per refill, not once per task.
    nonempty: AtomicBool,
    /// The inbox holds a task that may outrank something in the queue; workers then merge
    /// before their next pop. See `Executor::submit`.
    urgent: AtomicBool,
    /// The queue may hold priorities other than 0.
    mixed: AtomicBool,
}

struct Progress {
    /// Physical queue length, mirrored outside the lock for the spinning worker.
    pending: AtomicUsize,
    /// Tasks that stopped waiting: started, or cancelled while queued.
    left: AtomicUsize,
    running: AtomicUsize,
}

struct Idle {
    /// Workers spinning for new work (at most one).
    searching: AtomicUsize,
    /// `sleepers - wakeups`: parked workers nobody has woken yet.
    parked: AtomicUsize,
}

/// Handle to a running pool. See the module docs.
pub struct Executor<J: Job> {
    shared: Arc<Shared<J>>,
}

impl<J: Job> Executor<J> {
    /// Starts `config.min_threads` workers. `wake` is called from worker threads whenever the
    /// event queue goes from empty to non-empty; it must be cheap and must not block.
    pub fn new(config: Config, wake: impl Fn() + Send + Sync + 'static) -> std::io::Result<Self> {
        assert!(
            config.max_threads >= 1 && config.min_threads <= config.max_threads,
            "a pool needs 0 <= min_threads <= max_threads and max_threads >= 1"
        );
        worker::quiet_pool_thread_panics(&config.thread_name);
        let shared = Arc::new(Shared {
            submit: Padded(SubmitSide {
                inbox: Mutex::new(Vec::new()),
                admitted: AtomicUsize::new(0),
            }),
            signals: Padded(Signals {
                nonempty: AtomicBool::new(false),
                urgent: AtomicBool::new(false),
                mixed: AtomicBool::new(false),
            }),
            state: Padded(Mutex::new(State {
                queue: PriorityQueue::default(),
                spare: Vec::new(),
                sleepers: 0,
                wakeups: 0,
            })),
            work: Condvar::new(),
            progress: Padded(Progress {
                pending: AtomicUsize::new(0),
                left: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
            }),
            idle: Padded(Idle {
                searching: AtomicUsize::new(0),
                parked: AtomicUsize::new(0),
            }),
            lifecycle: AtomicU8::new(Lifecycle::Running as u8),
            live_threads: AtomicUsize::new(0),
            min_threads: AtomicUsize::new(config.min_threads),
            max_threads: AtomicUsize::new(config.max_threads),
            slots: Mutex::new(Vec::new()),
            threads: Mutex::new(Vec::new()),
            events: Padded(Mutex::new(Vec::new())),
            wake: Box::new(wake),
            abort: Padded(AtomicBool::new(false)),
            deadlines: Mutex::new(Deadlines {
                slots: Vec::new(),
                stop: false,
            }),
            deadline_cv: Condvar::new(),
            watcher_started: std::sync::Once::new(),
            metrics: Metrics::new(),
            config,
        });
        let exec = Self { shared };
        for _ in 0..exec.shared.config.min_threads {
            if let Err(e) = worker::grow(&exec.shared) {
                exec.destroy();
                return Err(e);
            }
        }
        Ok(exec)
    }

    /// Queues a task, or hands it back if the pool is closed or the queue is full.
    pub fn submit(&self, task: Task<J>) -> Result<(), SubmitError<J>> {
        self.push(task, true)
    }

    /// Queues a task again (a retry): like `submit`, but not bounded by `max_queue`, since the
    /// task was admitted once already.
    pub fn requeue(&self, task: Task<J>) -> Result<(), SubmitError<J>> {
        self.push(task, false)
    }

    fn push(&self, task: Task<J>, bounded: bool) -> Result<(), SubmitError<J>> {
        let sh = &*self.shared;
        {
            // Lifecycle changes happen under this lock too, so no task slips in after close.
            let mut inbox = sh.submit.inbox.lock();
            if sh.lifecycle() != Lifecycle::Running {
                return Err(SubmitError::Closed(task));
            }
            if bounded && sh.config.max_queue != usize::MAX {
                // Only tasks beyond the free threads wait; `maxQueue` bounds those. Threads not
                // started yet count as free: a waiting task starts one.
                let free = sh
                    .max_threads
                    .load(Ordering::Relaxed)
                    .saturating_sub(sh.progress.running.load(Ordering::Relaxed));
                let limit = sh.config.max_queue.saturating_add(free);
                if sh.waiting() >= limit {
                    return Err(SubmitError::QueueFull(task));
                }
            }
            sh.submit.admitted.fetch_add(1, Ordering::Relaxed);
            // Workers merge the inbox when their queue runs dry, or at once when this task may
            // outrank a queued one. With every task at priority 0 (the common case) a later
            // merge never breaks FIFO, and the workers leave the submitters' lines alone.
            if task.priority != 0.0 || sh.signals.mixed.load(Ordering::Relaxed) {
                sh.signals.urgent.store(true, Ordering::Relaxed);
            }
            inbox.push(task);
            if inbox.len() == 1 {
                sh.signals.nonempty.store(true, Ordering::SeqCst);
            } else {
                // Not a refill: the push that made the inbox non-empty did the wake check, and
                // no worker has taken the inbox since.
                return Ok(());
            }
        }
        // See the memory-ordering note on `Shared`.
        std::sync::atomic::fence(Ordering::SeqCst);
        if sh.idle.searching.load(Ordering::SeqCst) == 0 {
            let woke = sh.idle.parked.load(Ordering::SeqCst) > 0 && sh.state.lock().wake_one(sh);
            // Every thread is busy (or none is left after idle retirement): start one more if
            // `max_threads` allows. A fixed-size pool pays two loads here.
            if !woke && sh.can_grow() {
                let _ = worker::grow(&self.shared);
            }
        }
        Ok(())
    }

    /// Changes the thread bounds (validated by the caller). Missing threads start at once;
    /// threads above the new maximum exit when they finish their current task.
    pub fn resize(&self, min_threads: usize, max_threads: usize) -> std::io::Result<()> {
        assert!(max_threads >= 1 && min_threads <= max_threads);
        let sh = &*self.shared;
        sh.min_threads.store(min_threads, Ordering::SeqCst);
        sh.max_threads.store(max_threads, Ordering::SeqCst);
        if sh.lifecycle() != Lifecycle::Running {
            return Ok(());
        }
        while sh.live_threads.load(Ordering::SeqCst) < min_threads {
            if !worker::grow(&self.shared)? {
                break;
            }
        }
        // Parked threads re-check: excess ones retire; with a higher maximum, a waiting task
        // may start one.
        let _st = sh.state.lock();
        sh.work.notify_all();
        Ok(())
    }

    /// Cancels a task. A queued task is skipped by the workers (and counted out of the queue at
    /// once); a running one sees its token cancelled. Returns the state it was cancelled from,
    /// or `None` if it had already finished.
    pub fn cancel(&self, ctl: &TaskCtl) -> Option<TaskState> {
        let from = ctl.cancel();
        if from == Some(TaskState::Queued) {
            // The CAS makes this exclusive with the worker's Queued → Running.
            self.shared.progress.left.fetch_add(1, Ordering::Relaxed);
        }
        from
    }

    /// Stops accepting tasks; queued and running ones finish, then the threads exit.
    pub fn close(&self) {
        let sh = &*self.shared;
        {
            let _inbox = sh.submit.inbox.lock();
            let _ = sh.lifecycle.compare_exchange(
                Lifecycle::Running as u8,
                Lifecycle::Closing as u8,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
        {
            let _st = sh.state.lock();
            sh.work.notify_all();
        }
        sh.exited_if_none_alive();
    }

    /// Stops accepting tasks, asks running tasks to stop, and hands back every queued task
    /// (their jobs are not run). Idempotent: later calls return nothing.
    pub fn destroy(&self) -> Vec<Task<J>> {
        let sh = &*self.shared;
        let mut drained = {
            let mut inbox = sh.submit.inbox.lock();
            sh.lifecycle
                .store(Lifecycle::Destroying as u8, Ordering::SeqCst);
            sh.signals.nonempty.store(false, Ordering::SeqCst);
            std::mem::take(&mut *inbox)
        };
        sh.abort.store(true, Ordering::Relaxed);
        {
            let mut st = sh.state.lock();
            let mut queued = st.queue.drain();
            queued.append(&mut drained);
            drained = queued;
            sh.progress.pending.store(0, Ordering::Relaxed);
            sh.work.notify_all();
        }
        let live = drained
            .iter()
            .filter(|t| t.ctl.cancel() == Some(TaskState::Queued))
            .count();
        sh.progress.left.fetch_add(live, Ordering::Relaxed);
        sh.exited_if_none_alive();
        drained
    }

    /// Moves every pending event into `out` (appending).
    pub fn take_events(&self, out: &mut Vec<Event<J>>) {
        let mut ev = self.shared.events.lock();
        if out.is_empty() {
            std::mem::swap(&mut *ev, out);
        } else {
            out.append(&mut ev);
        }
    }

    /// Threads alive now (same as `live_threads`).
    pub fn threads(&self) -> usize {
        self.live_threads()
    }

    pub fn min_threads(&self) -> usize {
        self.shared.min_threads.load(Ordering::Relaxed)
    }

    pub fn max_threads(&self) -> usize {
        self.shared.max_threads.load(Ordering::Relaxed)
    }

    /// Joins every thread once the last worker has reported `Exited` (they are returning by
    /// then, so this waits microseconds): after it, no pool thread exists. Does nothing while
    /// workers are alive, so it never blocks on a running kernel.
    pub fn join_exited(&self) {
        if self.live_threads() > 0 {
            return;
        }
        self.shared.stop_watcher();
        let handles = std::mem::take(&mut *self.shared.threads.lock());
        for h in handles {
            let _ = h.join();
        }
    }

    /// Threads that have not exited yet.
    pub fn live_threads(&self) -> usize {
        self.shared.live_threads.load(Ordering::Acquire)
    }

    /// Tasks waiting (not counting cancelled ones).
    pub fn queued(&self) -> usize {
        self.shared.waiting()
    }

    /// Tasks executing now.
    pub fn running(&self) -> usize {
        self.shared.progress.running.load(Ordering::Relaxed)
    }

    pub fn is_closed(&self) -> bool {
        self.shared.lifecycle() != Lifecycle::Running
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }
}

impl<J> State<J> {
    /// Wakes one parked worker if nobody is already looking for work. A futex wake costs more
    /// than a trivial task, so it is left to a spinning worker whenever there is one. Returns
    /// whether an idle worker (spinning, just woken, or parked and woken now) will look at the
    /// queue; if not, every thread is busy.
    fn wake_one<J2: Job>(&mut self, sh: &Shared<J2>) -> bool {
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

impl<J: Job> Drop for Executor<J> {
    /// Destroys the pool without joining: a running kernel may take a while to notice.
    fn drop(&mut self) {
        drop(self.destroy());
    }
}

impl<J: Job> Shared<J> {
    /// Tasks accepted and not yet started or cancelled.
    fn waiting(&self) -> usize {
        // `left` is read second: it may include tasks admitted after the first read, so clamp.
        let admitted = self.submit.admitted.load(Ordering::Relaxed);
        admitted.saturating_sub(self.progress.left.load(Ordering::Relaxed))
    }

    fn lifecycle(&self) -> Lifecycle {
        match self.lifecycle.load(Ordering::SeqCst) {
            0 => Lifecycle::Running,
            1 => Lifecycle::Closing,
            _ => Lifecycle::Destroying,
        }
    }

    /// Whether one more thread may start: below `max_threads` and not destroyed.
    fn can_grow(&self) -> bool {
        self.live_threads.load(Ordering::SeqCst) < self.max_threads.load(Ordering::Relaxed)
            && self.lifecycle() != Lifecycle::Destroying
    }

    /// After close/destroy: when no thread is alive (all retired, or `min_threads` is 0) none
    /// will report its exit, so report it here. Extra `Exited` events are harmless.
    fn exited_if_none_alive(&self) {
        if self.live_threads.load(Ordering::SeqCst) == 0 {
            self.stop_watcher();
            self.push_event(Event::Exited { remaining: 0 });
        }
    }

    fn stop_watcher(&self) {
        self.deadlines.lock().stop = true;
        self.deadline_cv.notify_all();
    }

    fn push_event(&self, e: Event<J>) {
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

#[cfg(test)]
mod tests;
