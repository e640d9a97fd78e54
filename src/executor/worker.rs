//! The worker loop and the deadline watcher.

use super::metrics::WorkerMetrics;
use super::shared::{Lifecycle, Shared, State};
use super::sync::atomic::Ordering::{AcqRel, Relaxed, SeqCst};
use super::sync::{self, Arc, MutexGuard};
use super::task::CancelToken;
use super::{Event, Job, Panic, Task};
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
            d.slots.resize(index + 1, None);
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
    /// Run it; `grow`: more tasks wait and no idle thread is left to take them.
    Run(Task<J>, bool),
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

fn next_task<J: Job>(shared: &Shared<J>) -> Next<J> {
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
            shared.progress.pending.store(st.queue.len(), Relaxed);
            // More work than this worker: bring in a parked one, or start one.
            let grow = !st.queue.is_empty() && !st.wake_one(shared) && shared.can_grow();
            if task.ctl.start() {
                // Running first: `submit` may briefly over-count, never under-count.
                shared.progress.running.fetch_add(1, Relaxed);
                shared.progress.left.fetch_add(1, Relaxed);
                return Next::Run(task, grow);
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
    let retired = loop {
        let mut task = match next_task(shared) {
            Next::Run(t, grow) => {
                if grow {
                    // A failure was reported as `Event::Fault`; this thread goes on.
                    let _ = self::grow(shared);
                }
                t
            }
            Next::Skip(t) => {
                shared.push_event(Event::Finished {
                    tag: t.tag,
                    job: t.job,
                    result: None,
                });
                continue;
            }
            Next::Exit => break false,
            Next::Retire => break true,
        };
        let start = Instant::now();
        shared.metrics.task_started(metrics, start);
        metrics
            .wait_time
            .record(start.saturating_duration_since(task.enqueued));
        if let Some(limit) = task.timeout {
            arm_deadline(shared, index, start + limit, task.tag, &task.ctl);
        }
        let token = CancelToken::new(&task.ctl, &shared.abort);
        let result = catch_unwind(AssertUnwindSafe(|| task.job.run(&token))).map_err(|p| {
            metrics.panics.fetch_add(1, Relaxed);
            Panic(panic_message(&*p))
        });
        if result.as_ref().map_or(true, J::failed) {
            metrics.errors.fetch_add(1, Relaxed);
        }
        let end = Instant::now();
        let elapsed = end.saturating_duration_since(start);
        if task.timeout.is_some() {
            shared.deadlines.lock().slots[index] = None;
        }
        task.ctl.finish();
        shared.metrics.task_ended(metrics, end);
        metrics.run_time.record(elapsed);
        metrics.tasks.fetch_add(1, Relaxed);
        metrics
            .busy_ns
            .fetch_add(elapsed.as_nanos() as u64, Relaxed);
        shared.progress.running.fetch_sub(1, Relaxed);
        shared.push_event(Event::Finished {
            tag: task.tag,
            job: task.job,
            result: Some(result),
        });
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
    shared.deadlines.lock().slots[index] = Some((at, tag, std::sync::Arc::clone(ctl)));
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
            if let Some((at, tag, ctl)) = slot {
                if *at <= now {
                    if ctl.expire() {
                        shared.push_event(Event::Expired {
                            tag: *tag,
                            ctl: std::sync::Arc::clone(ctl),
                        });
                    }
                    *slot = None;
                } else {
                    next = Some(next.map_or(*at, |n| n.min(*at)));
                }
            }
        }
        match next {
            Some(at) => {
                shared.deadline_cv.wait_until(&mut d, at);
            }
            None => shared.deadline_cv.wait(&mut d),
        }
    }
}
