//! Loom models of the executor (`npm run test:loom`; built only with `--cfg loom`).
//!
//! Each model drives the real code: [`Executor::new`] starting a real worker thread running
//! `run_worker` / `next_task`, [`Executor::submit`], [`Executor::cancel`], [`Executor::close`],
//! [`Executor::destroy`], [`Executor::take_events`] and [`Executor::join_exited`], and, for a timed
//! task, the real `arm_deadline` starting the real `watch_deadlines` thread. Only the primitives
//! differ from a normal build (loom's, through [`sync`](super::sync)), and the clock-driven parts
//! are made deterministic there: the spin before parking is one poll, timed waits are untimed, and
//! a task with a zero timeout is due on the watcher's first look (see `sync`'s docs).
//!
//! Loom runs each model under every interleaving of the threads' synchronising operations with
//! at most the model's bound of preemptions (forced switches; [`BOUND`] unless said;
//! `LOOM_MAX_PREEMPTIONS` overrides it), with the values a weak load may return in loom's memory
//! model (which treats `SeqCst` loads and stores as `AcqRel`, honours `SeqCst` fences, and does
//! not produce load buffering). It fails on a panic, a deadlock (every thread blocked: a lost
//! wake-up), or a leaked `Arc<Shared>` (a thread that never exited). Unbounded, a model of the
//! whole pool does not finish in minutes (the worker loop has dozens of atomic steps per task),
//! so only the bare state machine is explored exhaustively. The model thread waits for events the
//! way the binding does: on the executor's `wake` hook, never by sleeping or polling a clock.

use super::*;
use loom::sync::{Arc as LoomArc, Condvar, Mutex};
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

/// A flag one thread sets and another waits for (loom's mutex and condvar).
#[derive(Default)]
struct Signal {
    set: Mutex<bool>,
    cv: Condvar,
}

impl Signal {
    fn set(&self) {
        *self.set.lock().unwrap() = true;
        self.cv.notify_one();
    }

    /// Waits until the flag is set, and clears it.
    fn wait(&self) {
        let mut set = self.set.lock().unwrap();
        while !*set {
            set = self.cv.wait(set).unwrap();
        }
        *set = false;
    }
}

/// Holds a running task until the model lets it go.
#[derive(Default)]
struct Gate {
    started: Signal,
    go: Signal,
}

/// The models' jobs. Each returns what its token said at each poll.
enum Probe {
    /// Polls once.
    Poll,
    /// Polls until the token reports a stop (yielding to the other threads between polls).
    UntilStopped,
    /// Polls, tells the model it runs, and returns: the model's next step races its end.
    Started(LoomArc<Signal>),
    /// Polls, tells the model it runs, waits for the model's go, polls again.
    Gated(LoomArc<Gate>),
    /// Polls once; batches with other lanes (2 or 3 together).
    Lane,
}

impl Job for Probe {
    type Output = Vec<bool>;
    fn batch(&self) -> Option<BatchKey> {
        matches!(self, Probe::Lane).then_some(BatchKey {
            key: 1,
            max: 3,
            min: 2,
            linger: Duration::ZERO,
        })
    }
    fn run(&mut self, token: &CancelToken<'_>) -> Vec<bool> {
        match self {
            Probe::Poll | Probe::Lane => vec![token.is_cancelled()],
            Probe::UntilStopped => {
                while !token.is_cancelled() {
                    loom::thread::yield_now();
                }
                vec![true]
            }
            Probe::Started(started) => {
                let polls = vec![token.is_cancelled()];
                started.set();
                polls
            }
            Probe::Gated(gate) => {
                let early = token.is_cancelled();
                gate.started.set();
                gate.go.wait();
                vec![early, token.is_cancelled()]
            }
        }
    }
}

/// A pool under test and every event it has reported so far, in order.
struct Pool {
    exec: LoomArc<Executor<Probe>>,
    woken: LoomArc<Signal>,
    events: Vec<Event<Probe>>,
}

/// A `Finished` as the models look at it: `None` if the job never ran, else its polls.
type Ran = Option<Vec<bool>>;

impl Pool {
    /// A fixed pool of `threads` workers (started here, so they race whatever the model does
    /// next).
    fn new(threads: usize) -> Self {
        let woken = LoomArc::new(Signal::default());
        let w = woken.clone();
        let cfg = Config {
            thread_name: "loom-worker".into(),
            ..Config::fixed(threads)
        };
        let exec = Executor::new(cfg, move || w.set()).expect("loom threads start");
        Self {
            exec: LoomArc::new(exec),
            woken,
            events: Vec::new(),
        }
    }

    fn submit(&self, tag: u64, job: Probe, timeout: Option<Duration>) -> Arc<TaskCtl> {
        let task = Task::new(tag, job, 0.0, timeout);
        let ctl = Arc::clone(&task.ctl);
        assert!(self.exec.submit(task).is_ok(), "a running pool accepts");
        ctl
    }

    /// Takes events until `done` holds for the ones seen so far, waiting on the `wake` hook.
    /// If the pool never reports what `done` needs, every thread ends up blocked and loom fails
    /// the model with a deadlock.
    fn wait_until(&mut self, done: impl Fn(&[Event<Probe>]) -> bool) {
        loop {
            self.exec.take_events(&mut self.events);
            if done(&self.events) {
                return;
            }
            self.woken.wait();
        }
    }

    fn wait_finished(&mut self, tags: &[u64]) {
        self.wait_until(|ev| tags.iter().all(|&t| !finished(ev, t).is_empty()));
    }

    /// Every task reported so far counted out of the queue exactly once, none left running.
    fn check_balanced(&self) {
        let sh = &self.exec.shared;
        let admitted = sh.submit.admitted.load(Relaxed);
        assert_eq!(
            sh.progress.left.load(Relaxed),
            admitted,
            "each task counted out of the queue exactly once"
        );
        assert_eq!(self.exec.queued(), 0);
        assert_eq!(
            self.exec.running(),
            0,
            "running: one up and one down per run"
        );
        assert_eq!(sh.progress.pending.load(Relaxed), 0);
    }

    /// Waits for the last thread's `Exited`, joins every thread, checks the counters.
    fn wait_exited(&mut self) {
        self.wait_until(|ev| {
            ev.iter()
                .any(|e| matches!(e, Event::Exited { remaining: 0 }))
        });
        self.exec.join_exited();
        assert_eq!(self.exec.live_threads(), 0);
        self.check_balanced();
    }

    /// `close`, then [`wait_exited`](Self::wait_exited).
    fn shut_down(mut self) -> Vec<Event<Probe>> {
        self.exec.close();
        self.wait_exited();
        std::mem::take(&mut self.events)
    }
}

/// The `Finished` events of `tag`.
fn finished(events: &[Event<Probe>], tag: u64) -> Vec<Ran> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Finished { tag: t, result, .. } if *t == tag => Some(match result {
                None => None,
                Some(Ok(polls)) => Some(polls.clone()),
                Some(Err(p)) => panic!("a probe panicked: {p:?}"),
            }),
            _ => None,
        })
        .collect()
}

/// The one `Finished` of `tag`.
fn one_finished(events: &[Event<Probe>], tag: u64) -> Ran {
    let f = finished(events, tag);
    assert_eq!(f.len(), 1, "exactly one Finished for task {tag}");
    f.into_iter().next().unwrap()
}

fn position(events: &[Event<Probe>], pred: impl Fn(&Event<Probe>) -> bool) -> Option<usize> {
    events.iter().position(pred)
}

fn is_expired(e: &Event<Probe>, tag: u64) -> bool {
    matches!(e, Event::Expired { tag: t, .. } if *t == tag)
}

fn is_finished(e: &Event<Probe>, tag: u64) -> bool {
    matches!(e, Event::Finished { tag: t, .. } if *t == tag)
}

/// A terminal state stays: no transition leaves it.
fn check_terminal(ctl: &TaskCtl) {
    let state = ctl.state();
    assert!(matches!(
        state,
        TaskState::Done | TaskState::Cancelled | TaskState::TimedOut
    ));
    assert!(!ctl.start());
    assert!(!ctl.finish());
    assert!(!ctl.expire());
    assert_eq!(ctl.cancel(), None);
    assert_eq!(ctl.state(), state);
}

/// The preemption bound of the pool models: 3 keeps each to seconds here (about 2,000 to 65,000
/// interleavings). Three take 2: `expiry_stops_a_running_kernel` and
/// `token_sees_expiry_or_cancel_after_start` (30 and 60 s at 3) and `two_workers_two_tasks`
/// (190,000 interleavings, over a minute, already at 2).
const BOUND: Option<usize> = Some(3);

/// Runs `f` under loom with `bound` preemptions at most (`None`: exhaustive), unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise, and prints how many interleavings it explored
/// (`-- --nocapture` shows it).
fn model(name: &str, bound: Option<usize>, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = bound;
    }
    let runs = Arc::new(StdAtomicUsize::new(0));
    let r = Arc::clone(&runs);
    let start = Instant::now();
    builder.check(move || {
        r.fetch_add(1, Relaxed);
        f();
    });
    println!(
        "{name}: {} interleavings, preemption bound {:?}, {:.1?}",
        runs.load(Relaxed),
        builder.preemption_bound,
        start.elapsed()
    );
}

mod batch;
mod races;
mod shutdown;
mod wakeup;
