//! The thread pool, free of any napi type: a bounded priority queue, named worker threads,
//! per-task cancellation, run-time deadlines and metrics.
//!
//! # Ownership
//! - [`Executor`] is the thin handle the binding owns (on the JS thread). Dropping it destroys
//!   the pool without joining: threads finish their current task and exit on their own.
//! - `Shared` (`shared.rs`) is the `Arc`-shared inner: the queue and lifecycle under one mutex,
//!   the outgoing event queue under another, the metrics in atomics.
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
mod shared;
mod sync;
mod task;
mod worker;

pub use metrics::{Histogram, Metrics, Outcome, Snapshot, Summary, ThreadSnapshot, WorkerMetrics};
pub use task::{CancelToken, Cancelled, DetachedToken, TaskCtl, TaskState};

use shared::{Lifecycle, Shared};
use std::sync::Arc;
use std::time::{Duration, Instant};
use sync::atomic::Ordering;

/// The work a task carries. `run` (or `run_batch`) is called at most once per job, on a worker
/// thread.
pub trait Job: Send + 'static {
    type Output: Send + 'static;
    fn run(&mut self, token: &CancelToken<'_>) -> Self::Output;
    /// Whether an output is a failure, for the per-thread `errors` count.
    fn failed(_output: &Self::Output) -> bool {
        false
    }
    /// Jobs that can run together: a worker that takes this job may take the tasks queued right
    /// behind it whose jobs return an equal key, and run them all with [`Job::run_batch`]. `None`
    /// (the default): always run alone.
    fn batch(&self) -> Option<BatchKey> {
        None
    }
    /// Runs jobs whose `batch` keys are equal, each with its own token; one output per job, in
    /// order. A job whose token is cancelled may be skipped (its output is discarded).
    fn run_batch(jobs: &mut [&mut Self], tokens: &[CancelToken<'_>]) -> Vec<Self::Output>
    where
        Self: Sized,
    {
        jobs.iter_mut().zip(tokens).map(|(j, t)| j.run(t)).collect()
    }
}

/// How a job batches (see [`Job::batch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchKey {
    /// Jobs batch only with equal keys.
    pub key: u64,
    /// At most this many jobs in one batch (the SIMD lane count).
    pub max: usize,
    /// Fewer than this many together run alone instead: a batch costs as much as a full one,
    /// so a small one is slower than running its jobs one by one.
    pub min: usize,
    /// How long a job that found too few to batch with may wait for more (a burst the JS
    /// thread is still submitting) before it runs alone. Keep it a small share of the job's
    /// own run time; zero for never.
    pub linger: Duration,
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
    /// Whether workers run queued jobs with equal [`BatchKey`]s together.
    pub batching: bool,
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
            .field("batching", &self.batching)
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
            batching: true,
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

/// Handle to a running pool. See the module docs.
pub struct Executor<J: Job> {
    shared: sync::Arc<Shared<J>>,
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
        let shared = sync::Arc::new(Shared::new(config, wake));
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
        sync::atomic::fence(Ordering::SeqCst);
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

impl<J: Job> Drop for Executor<J> {
    /// Destroys the pool without joining: a running kernel may take a while to notice.
    fn drop(&mut self) {
        drop(self.destroy());
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
// Outside a loom model loom's primitives panic, so these run in the normal build only.
#[cfg(all(test, not(loom)))]
mod batch_tests;
#[cfg(all(test, not(loom)))]
mod tests;
