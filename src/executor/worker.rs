//! The worker loop and the deadline watcher.

use super::metrics::WorkerMetrics;
use super::shared::{Lifecycle, Shared, State};
use super::sync::atomic::Ordering::{AcqRel, Relaxed, SeqCst};
use super::sync::{self, Arc, MutexGuard};
use super::task::CancelToken;
use super::{BatchKey, Event, Job, Panic, Task};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// How long an idle worker spins for new work before parking. Catching the next submission
/// without a futex round trip is what keeps one-at-a-time round trips short; only one worker
/// spins at a time so the JS thread keeps a core. In a loom model the spin is one poll and one
/// pause (a yield): loom has no clock, and the protocol relies on no more than one look (the
/// worker checks again under the lock before it parks).
const SPIN: Duration = if sync::MODEL {
    Duration::ZERO
} else {
    Duration::from_micros(50)
};
/// Polls of the spin between two reads of the clock, and pauses between two polls.
const SPIN_POLLS: usize = if sync::MODEL { 1 } else { 8 };
const SPIN_PAUSES: usize = if sync::MODEL { 1 } else { 16 };

/// Panics on pool threads become task errors carrying the message, so the default hook's
/// stderr report is noise there; panics on any other thread are reported as before. The hook
/// is this library's own (each cdylib has its own std), so other addons are unaffected.
pub(super) fn quiet_pool_thread_panics(prefix: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let prefix = format!("{prefix}-");
    ONCE.call_once(move || {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_pool_thread = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with(&prefix));
            if !on_pool_thread {
                default(info);
            }
        }));
    });
}

/// Starts one more worker if `max_threads` allows (the thread count is reserved first, so
/// concurrent callers never overshoot). `Ok(false)`: at the maximum, or destroyed. A failure to
/// start is also reported as an [`Event::Fault`] when the pool has other threads to go on with.
pub(super) fn grow<J: Job>(shared: &Arc<Shared<J>>) -> std::io::Result<bool> {
    let reserved = shared.live_threads.fetch_update(SeqCst, SeqCst, |n| {
        (n < shared.max_threads.load(SeqCst) && shared.lifecycle() != Lifecycle::Destroying)
            .then_some(n + 1)
    });
    if reserved.is_err() {
        return Ok(false);
    }
    let index = {
        let mut slots = shared.slots.lock();
        let i = slots.iter().position(|used| !used).unwrap_or(slots.len());
        if i == slots.len() {
            slots.push(true);
        } else {
            slots[i] = true;
        }
        i
    };
    {
        let mut d = shared.deadlines.lock();
        if d.slots.len() <= index {
            d.slots.resize_with(index + 1, Vec::new);
        }
    }
    let mut b = sync::thread::Builder::new().name(format!("{}-{index}", shared.config.thread_name));
    if let Some(size) = shared.config.stack_size {
        b = b.stack_size(size);
    }
    // Attached here rather than in the thread, so `stats()` counts the slot alive as soon as
    // `threads` does.
    let metrics = shared.metrics.attach(index);
    let s = Arc::clone(shared);
    let m = std::sync::Arc::clone(&metrics);
    match b.spawn(move || run_worker(&s, index, &m)) {
        Ok(h) => {
            let mut threads = shared.threads.lock();
            // Join retired threads' handles as we go, so they do not pile up.
            let mut i = 0;
            while i < threads.len() {
                if threads[i].is_finished() {
                    let _ = threads.swap_remove(i).join();
                } else {
                    i += 1;
                }
            }
            threads.push(h);
            Ok(true)
        }
        Err(e) => {
            shared.metrics.detach(&metrics);
            shared.slots.lock()[index] = false;
            let remaining = shared.live_threads.fetch_sub(1, SeqCst) - 1;
            if remaining > 0 {
                shared.push_event(Event::Fault(format!("could not start a pool thread: {e}")));
            }
            Err(e)
        }
    }
}

enum Next<J> {
    /// Run it; `grow`: more tasks wait and no idle thread is left to take them; its batch key
    /// if it batches (batching on).
    Run(Task<J>, bool, Option<BatchKey>),
    /// Cancelled while it waited: report it without running it.
    Skip(Task<J>),
    /// The pool is shutting down.
    Exit,
    /// This thread is surplus (idle past `idle_timeout` above `min_threads`, or above
    /// `max_threads` after a resize); it is already counted out of `live_threads`.
    Retire,
}

/// Takes this thread out of `live_threads` if more than `keep` are alive.
fn retire_above(shared: &Shared<impl Job>, keep: usize) -> bool {
    shared
        .live_threads
        .fetch_update(SeqCst, SeqCst, |n| (n > keep).then(|| n - 1))
        .is_ok()
}

/// The next task to run. With batching on, a batchable task brings the tasks queued right
/// behind it that batch with it into `batch` (already started), and any of those cancelled
/// while they waited into `skipped`.
fn next_task<J: Job>(
    shared: &Shared<J>,
    batch: &mut Vec<Task<J>>,
    skipped: &mut Vec<Task<J>>,
) -> Next<J> {
    let mut st = shared.state.lock();
    let mut spun = false;
    loop {
        let lifecycle = shared.lifecycle();
        if lifecycle == Lifecycle::Destroying {
            return Next::Exit;
        }
        // Between tasks only, so shrinking never interrupts one.
        let max = shared.max_threads.load(Relaxed);
        if shared.live_threads.load(Relaxed) > max && retire_above(shared, max) {
            return Next::Retire;
        }
        let inbox_ready = shared.signals.nonempty.load(SeqCst);
        if inbox_ready && (st.queue.is_empty() || shared.signals.urgent.load(Relaxed)) {
            take_inbox(shared, &mut st);
        }
        if let Some(task) = st.queue.pop() {
            let started = task.ctl.start();
            // Asked once per task: `linger` gets the same key through `Next::Run`.
            let key = (started && shared.config.batching)
                .then(|| task.job.batch())
                .flatten()
                .filter(|k| k.max >= 2);
            if let Some(key) = key {
                gather(shared, &mut st, key, batch, skipped);
            }
            shared.progress.pending.store(st.queue.len(), Relaxed);
            // More work than this worker: bring in a parked one, or start one.
            let grow = !st.queue.is_empty() && !st.wake_one(shared) && shared.can_grow();
            if started {
                // Running first: `submit` may briefly over-count, never under-count.
                let n = 1 + batch.len();
                shared.progress.running.fetch_add(n, Relaxed);
                shared.progress.left.fetch_add(n, Relaxed);
                return Next::Run(task, grow, key);
            }
            return Next::Skip(task);
        }
        if lifecycle == Lifecycle::Closing {
            // Submissions stopped before Closing was set, and the inbox was just emptied.
            return Next::Exit;
        }
        if !spun && shared.idle.searching.load(SeqCst) == 0 {
            spun = true;
            shared.idle.searching.fetch_add(1, SeqCst);
            MutexGuard::unlocked(&mut st, || spin_for_work(shared));
            shared.idle.searching.fetch_sub(1, SeqCst);
            continue;
        }
        st.sleepers += 1;
        shared.idle.parked.store(st.sleepers - st.wakeups, SeqCst);
        let mut timed_out = false;
        // Re-check after publishing `parked` (see the memory-ordering note on `Shared`).
        sync::atomic::fence(SeqCst);
        if !shared.signals.nonempty.load(SeqCst) && shared.lifecycle() == lifecycle {
            let min = shared.min_threads.load(Relaxed);
            match shared.config.idle_timeout {
                Some(idle) if shared.live_threads.load(Relaxed) > min => {
                    timed_out = shared.work.wait_for(&mut st, idle).timed_out();
                }
                _ => shared.work.wait(&mut st),
            }
        }
        st.sleepers -= 1;
        if !timed_out {
            st.wakeups = st.wakeups.saturating_sub(1);
        }
        if timed_out
            && st.queue.is_empty()
            && !shared.signals.nonempty.load(SeqCst)
            && shared.lifecycle() == Lifecycle::Running
            && retire_above(shared, shared.min_threads.load(Relaxed))
        {
            // Under the queue lock, after re-checking the inbox: a submitter that saw this
            // thread parked either woke it (so it did not time out) or finds it gone from
            // `parked` and `live_threads` and starts a thread itself.
            shared
                .idle
                .parked
                .store(st.sleepers.saturating_sub(st.wakeups), SeqCst);
            return Next::Retire;
        }
        shared
            .idle
            .parked
            .store(st.sleepers.saturating_sub(st.wakeups), SeqCst);
        spun = false;
    }
}

/// Takes the tasks queued right behind a task with batch `key` whose jobs batch with it (see
/// `Job::batch`), up to its lane count, if at least its minimum would run together. Only the head of the queue is
/// looked at, so the order of tasks is what it would be one at a time: these are the tasks the
/// next idle workers would take. Under the queue lock.
fn gather<J: Job>(
    shared: &Shared<J>,
    st: &mut State<J>,
    key: BatchKey,
    batch: &mut Vec<Task<J>>,
    skipped: &mut Vec<Task<J>>,
) {
    // Tasks submitted with the first one may still be in the inbox; merging it now keeps the order.
    if shared.signals.nonempty.load(SeqCst) {
        take_inbox(shared, st);
    }
    let more = st
        .queue
        .iter()
        .take(key.max - 1)
        .take_while(|t| t.job.batch() == Some(key))
        .count();
    if more + 1 < key.min {
        return;
    }
    for _ in 0..more {
        let Some(t) = st.queue.pop() else { break };
        if t.ctl.start() {
            batch.push(t);
        } else {
            skipped.push(t);
        }
    }
}

/// A batchable task that found too few to batch with waits up to its key's `linger` for more:
/// the JS thread submits a burst one task at a time, and the first task of it is taken before
/// the rest arrive. It spins (the wait is microseconds), looking again under the lock each time
/// the inbox fills, and stops early if the task is cancelled.
fn linger<J: Job>(
    shared: &Shared<J>,
    task: &Task<J>,
    key: BatchKey,
    batch: &mut Vec<Task<J>>,
    skipped: &mut Vec<Task<J>>,
) {
    if key.linger.is_zero() {
        return;
    }
    let until = Instant::now() + key.linger;
    loop {
        for _ in 0..SPIN_POLLS {
            if shared.signals.nonempty.load(Relaxed) {
                let mut st = shared.state.lock();
                gather(shared, &mut st, key, batch, skipped);
                shared.progress.pending.store(st.queue.len(), Relaxed);
                if !batch.is_empty() {
                    shared.progress.running.fetch_add(batch.len(), Relaxed);
                    shared.progress.left.fetch_add(batch.len(), Relaxed);
                    return;
                }
            }
            for _ in 0..SPIN_PAUSES {
                sync::hint::spin_loop();
            }
        }
        if Instant::now() >= until || task.ctl.state() != super::TaskState::Running {
            return;
        }
    }
}

/// Moves submitted tasks into the priority queue (under the queue lock).
fn take_inbox<J: Job>(shared: &Shared<J>, st: &mut State<J>) {
    let mut batch = std::mem::take(&mut st.spare);
    {
        let mut inbox = shared.submit.inbox.lock();
        std::mem::swap(&mut *inbox, &mut batch);
        shared.signals.nonempty.store(false, SeqCst);
        shared.signals.urgent.store(false, Relaxed);
        // Decided under the inbox lock, so no submitter can skip `urgent` on a stale value.
        let mixed = st.queue.has_nonzero_priority() || batch.iter().any(|t| t.priority != 0.0);
        if shared.signals.mixed.load(Relaxed) != mixed {
            shared.signals.mixed.store(mixed, Relaxed);
        }
    }
    for t in batch.drain(..) {
        st.queue.push(t.priority, t);
    }
    st.spare = batch;
}

/// Spins up to `SPIN` until work shows up (checked again under the lock). Polls about once a
/// microsecond: reading the submitters' cache line on every pause would steal it from them on
/// every task.
fn spin_for_work<J: Job>(shared: &Shared<J>) {
    let until = Instant::now() + SPIN;
    loop {
        for _ in 0..SPIN_POLLS {
            if shared.progress.pending.load(Relaxed) > 0 || shared.signals.nonempty.load(Relaxed) {
                return;
            }
            for _ in 0..SPIN_PAUSES {
                sync::hint::spin_loop();
            }
        }
        if Instant::now() >= until {
            return;
        }
    }
}

fn run_worker<J: Job>(shared: &Arc<Shared<J>>, index: usize, metrics: &WorkerMetrics) {
    if let Some(start) = &shared.config.on_thread_start {
        start();
    }
    let mut batch = Vec::new();
    let mut skipped = Vec::new();
    let retired = loop {
        let (task, key) = match next_task(shared, &mut batch, &mut skipped) {
            Next::Run(t, grow, key) => {
                if grow {
                    // A failure was reported as `Event::Fault`; this thread goes on.
                    let _ = self::grow(shared);
                }
                (t, key)
            }
            Next::Skip(t) => {
                skipped.push(t);
                report_skipped(shared, &mut skipped);
                continue;
            }
            Next::Exit => break false,
            Next::Retire => break true,
        };
        if let (true, Some(key)) = (batch.is_empty(), key) {
            linger(shared, &task, key, &mut batch, &mut skipped);
        }
        report_skipped(shared, &mut skipped);
        if batch.is_empty() {
            run_one(shared, index, metrics, task);
        } else {
            batch.insert(0, task);
            run_together(shared, index, metrics, &mut batch);
        }
    };
    shared.metrics.detach(metrics);
    shared.slots.lock()[index] = false;
    let remaining = if retired {
        shared.live_threads.load(SeqCst)
    } else {
        shared.live_threads.fetch_sub(1, AcqRel) - 1
    };
    if remaining == 0 && shared.lifecycle() != Lifecycle::Running {
        shared.stop_watcher();
    }
    shared.push_event(Event::Exited { remaining });
}

/// Tasks cancelled while they waited leave without running.
fn report_skipped<J: Job>(shared: &Shared<J>, skipped: &mut Vec<Task<J>>) {
    for t in skipped.drain(..) {
        shared.push_event(Event::Finished {
            tag: t.tag,
            job: t.job,
            result: None,
        });
    }
}

/// Runs one task and reports it.
fn run_one<J: Job>(
    shared: &Arc<Shared<J>>,
    index: usize,
    metrics: &WorkerMetrics,
    mut task: Task<J>,
) {
    let start = started(shared, index, metrics, std::slice::from_ref(&task));
    let token = CancelToken::new(&task.ctl, &shared.abort);
    let result = run_caught(&mut task.job, &token, metrics);
    let elapsed = ended(shared, index, metrics, start, std::slice::from_ref(&task));
    report(shared, metrics, task, result, elapsed);
}

/// Runs one job; a panic becomes its error and is counted.
fn run_caught<J: Job>(
    job: &mut J,
    token: &CancelToken<'_>,
    metrics: &WorkerMetrics,
) -> Result<J::Output, Panic> {
    catch_unwind(AssertUnwindSafe(|| job.run(token))).map_err(|p| {
        metrics.panics.fetch_add(1, Relaxed);
        Panic(panic_message(&*p))
    })
}

/// Counts a run task's outcome and run time, and hands it back to the consumer.
fn report<J: Job>(
    shared: &Shared<J>,
    metrics: &WorkerMetrics,
    task: Task<J>,
    result: Result<J::Output, Panic>,
    elapsed: Duration,
) {
    if result.as_ref().map_or(true, J::failed) {
        metrics.errors.fetch_add(1, Relaxed);
    }
    metrics.run_time.record(elapsed);
    shared.push_event(Event::Finished {
        tag: task.tag,
        job: task.job,
        result: Some(result),
    });
}

/// Runs tasks whose jobs batch together as one `Job::run_batch`, and reports each. If the
/// batch panics, each job is run again alone, so only the one that panics fails.
fn run_together<J: Job>(
    shared: &Arc<Shared<J>>,
    index: usize,
    metrics: &WorkerMetrics,
    tasks: &mut Vec<Task<J>>,
) {
    let start = started(shared, index, metrics, tasks);
    let mut jobs = Vec::with_capacity(tasks.len());
    let mut tokens = Vec::with_capacity(tasks.len());
    for Task { ctl, job, .. } in tasks.iter_mut() {
        tokens.push(CancelToken::new(ctl, &shared.abort));
        jobs.push(job);
    }
    let results: Vec<Result<J::Output, Panic>> =
        match catch_unwind(AssertUnwindSafe(|| J::run_batch(&mut jobs, &tokens))) {
            Ok(outs) if outs.len() == jobs.len() => outs.into_iter().map(Ok).collect(),
            _ => jobs
                .iter_mut()
                .zip(&tokens)
                .map(|(job, token)| run_caught(&mut **job, token, metrics))
                .collect(),
        };
    drop((jobs, tokens));
    let elapsed = ended(shared, index, metrics, start, tasks);
    metrics.batched.fetch_add(tasks.len() as u64, Relaxed);
    // Each task's run time is the batch's: that is how long it ran.
    for (task, result) in tasks.drain(..).zip(results) {
        report(shared, metrics, task, result, elapsed);
    }
}

/// Records the start of `tasks` (one, or one batch) and arms their deadlines.
fn started<J: Job>(
    shared: &Arc<Shared<J>>,
    index: usize,
    metrics: &WorkerMetrics,
    tasks: &[Task<J>],
) -> Instant {
    let start = Instant::now();
    shared.metrics.task_started(metrics, start);
    for t in tasks {
        metrics
            .wait_time
            .record(start.saturating_duration_since(t.enqueued));
        if let Some(limit) = t.timeout {
            arm_deadline(shared, index, start + limit, t.tag, &t.ctl);
        }
    }
    start
}

/// Records the end of `tasks` (one, or one batch): each counts as one task run, the thread was
/// busy once. Returns how long they ran.
fn ended<J: Job>(
    shared: &Shared<J>,
    index: usize,
    metrics: &WorkerMetrics,
    start: Instant,
    tasks: &[Task<J>],
) -> Duration {
    let end = Instant::now();
    let elapsed = end.saturating_duration_since(start);
    if tasks.iter().any(|t| t.timeout.is_some()) {
        shared.deadlines.lock().slots[index].clear();
    }
    for t in tasks {
        t.ctl.finish();
    }
    shared.metrics.task_ended(metrics, end);
    metrics.tasks.fetch_add(tasks.len() as u64, Relaxed);
    metrics
        .busy_ns
        .fetch_add(elapsed.as_nanos() as u64, Relaxed);
    shared.progress.running.fetch_sub(tasks.len(), Relaxed);
    elapsed
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "kernel panicked".to_owned()
    }
}

fn arm_deadline<J: Job>(
    shared: &Arc<Shared<J>>,
    index: usize,
    at: Instant,
    tag: u64,
    ctl: &std::sync::Arc<super::TaskCtl>,
) {
    shared.watcher_started.call_once(|| {
        let s = Arc::clone(shared);
        // If the watcher cannot start, deadlines are not enforced; the task still runs.
        let spawned = sync::thread::Builder::new()
            .name("pool-timer".into())
            .spawn(move || watch_deadlines(&s));
        if let Ok(h) = spawned {
            shared.threads.lock().push(h);
        }
    });
    shared.deadlines.lock().slots[index].push((at, tag, std::sync::Arc::clone(ctl)));
    shared.deadline_cv.notify_one();
}

/// Sleeps until the earliest armed deadline; expires tasks still running past theirs.
fn watch_deadlines<J: Job>(shared: &Shared<J>) {
    let mut d = shared.deadlines.lock();
    loop {
        if d.stop {
            return;
        }
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        for slot in d.slots.iter_mut() {
            slot.retain(|(at, tag, ctl)| {
                if *at > now {
                    next = Some(next.map_or(*at, |n| n.min(*at)));
                    return true;
                }
                if ctl.expire() {
                    shared.push_event(Event::Expired {
                        tag: *tag,
                        ctl: std::sync::Arc::clone(ctl),
                    });
                }
                false
            });
        }
        match next {
            Some(at) => {
                shared.deadline_cv.wait_until(&mut d, at);
            }
            None => shared.deadline_cv.wait(&mut d),
        }
    }
}
