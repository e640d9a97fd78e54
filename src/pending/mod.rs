//! The rules of a pool's pending tasks, free of napi: which promise each queued task will
//! settle, and how (a value, an error, a timeout, a retry, the parts of a batch). The binding
//! keeps one [`Pending`] per pool on the JS thread, feeds it what happens (a task submitted,
//! finished, expired, aborted; the pool destroyed) and turns each [`Settle`] it returns into a
//! JS value. Every branch is unit-tested here (`tests.rs`).
//!
//! Tags: the executor's tag of a task is `slot | chunk << 32` (a batch's chunks share a slot);
//! the handle JS gets for `cancel` is `generation * 2^32 + slot` as an exact double, so a late
//! abort cannot reach a later task that reused the slot.

#![forbid(unsafe_code)]

mod lifecycle;
#[cfg(test)]
mod tests;

pub use lifecycle::Lifecycle;

use crate::executor::{Outcome, Panic, TaskCtl, TaskState};
use crate::kernels::{ErrorKind, KernelError, KernelId, Output, RunError};
use std::sync::Arc;
use std::time::Duration;

/// What a job produced on its worker.
#[derive(Debug)]
pub enum JobOutput {
    One(Result<Output, RunError>),
    /// A batch chunk: all outputs in order, or the index and error of the first failure.
    Many(Result<Outputs, (usize, RunError)>),
}

impl JobOutput {
    /// The kernel stopped on its token.
    pub fn cancelled(&self) -> bool {
        matches!(
            self,
            JobOutput::One(Err(RunError::Cancelled))
                | JobOutput::Many(Err((_, RunError::Cancelled)))
        )
    }
}

/// A batch chunk's outputs. Numbers stay unboxed so a batch of numbers travels back to JS as
/// one `Float64Array`.
#[derive(Debug, PartialEq)]
pub enum Outputs {
    Values(Vec<Output>),
    Numbers(Vec<f64>),
}

/// What the executor reports for a task that left the pool: `None` if it never ran.
pub type Ended = Option<Result<JobOutput, Panic>>;

/// How a promise settles.
#[derive(Debug, PartialEq)]
pub enum Settlement {
    Value(Output),
    /// A batch's chunk outputs, in input order; `inputs` in all.
    Batch {
        parts: Vec<Outputs>,
        inputs: usize,
    },
    /// The kernel failed.
    Error(KernelError),
    Panicked(String),
    /// It ran past its timeout.
    TimedOut,
    /// The pool was closed or destroyed first.
    Closed,
    /// Refused: `maxQueue` reached.
    QueueFull,
    /// Aborted from JS (the binding rejects with the caller's `AbortError`).
    Aborted,
}

impl Settlement {
    /// How the metrics count it.
    pub fn outcome(&self) -> Outcome {
        match self {
            Settlement::Value(_) | Settlement::Batch { .. } => Outcome::Fulfilled,
            Settlement::Error(_) | Settlement::Panicked(_) | Settlement::QueueFull => {
                Outcome::Failed
            }
            Settlement::TimedOut => Outcome::TimedOut,
            Settlement::Closed | Settlement::Aborted => Outcome::Cancelled,
        }
    }

    /// The error a rejection carries (`None` for fulfilment and for an abort, whose error JS
    /// made); `kernel` names the kernel in messages.
    pub fn error(&self, kernel: Option<KernelId>) -> Option<KernelError> {
        let k = kernel.map_or("?", KernelId::name);
        let pool = |code, message: String| KernelError::new(ErrorKind::Generic, code, message);
        Some(match self {
            Settlement::Value(_) | Settlement::Batch { .. } | Settlement::Aborted => return None,
            Settlement::Error(e) => e.clone(),
            Settlement::Panicked(why) => pool(
                "ERR_POOL_KERNEL_PANIC",
                format!("Kernel '{k}' panicked: {why}"),
            ),
            Settlement::TimedOut => pool(
                "ERR_POOL_TIMEOUT",
                format!("Kernel '{k}' ran past its timeout"),
            ),
            Settlement::Closed => pool("ERR_POOL_CLOSED", "The pool is closed".into()),
            Settlement::QueueFull => pool(
                "ERR_POOL_QUEUE_FULL",
                "The pool's queue is full (maxQueue reached)".into(),
            ),
        })
    }
}

/// A promise to settle: `count` tasks for the metrics (a batch counts its inputs).
#[derive(Debug, PartialEq)]
pub struct Settle<P> {
    pub promise: P,
    pub settlement: Settlement,
    pub kernel: KernelId,
    pub count: u64,
}

/// What a task that ran out of time or panicked needs to run again.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Retry {
    /// Attempts left.
    pub left: u32,
    pub priority: f64,
    pub timeout: Option<Duration>,
}

/// What a promise waits for: one task, or the chunks of a batch.
enum Waiting {
    One(Arc<TaskCtl>),
    Batch(Box<Batch>),
}

struct Batch {
    ctls: Vec<Arc<TaskCtl>>,
    /// Chunk outputs, in chunk order.
    parts: Vec<Option<Outputs>>,
    /// Chunks that have not left the pool yet.
    left: usize,
    /// Number of inputs (for the result and the metrics).
    inputs: usize,
}

struct Entry<P> {
    /// `None` once settled; the entry stays until every chunk has left the pool.
    promise: Option<P>,
    /// `None` without retries (the common case).
    retry: Option<Box<Retry>>,
    generation: u32,
    waiting: Waiting,
    kernel: KernelId,
}

impl<P> Entry<P> {
    fn ctls(&self) -> Vec<Arc<TaskCtl>> {
        match &self.waiting {
            Waiting::One(c) => vec![Arc::clone(c)],
            Waiting::Batch(b) => b.ctls.clone(),
        }
    }

    fn ctl(&self, chunk: usize) -> Option<&Arc<TaskCtl>> {
        match &self.waiting {
            Waiting::One(c) => Some(c),
            Waiting::Batch(b) => b.ctls.get(chunk),
        }
    }

    fn count(&self) -> u64 {
        match &self.waiting {
            Waiting::One(_) => 1,
            Waiting::Batch(b) => b.inputs.max(1) as u64,
        }
    }

    /// Whether a retriable failure (a timeout, a panic) runs the task again.
    fn will_retry(&self, closing: bool) -> bool {
        self.promise.is_some() && self.retry.as_ref().is_some_and(|r| r.left > 0) && !closing
    }

    fn settle(&mut self, settlement: Settlement) -> Option<Settle<P>> {
        let count = self.count();
        self.promise.take().map(|promise| Settle {
            promise,
            settlement,
            kernel: self.kernel,
            count,
        })
    }
}

/// Whether a task whose kernel stopped (`cancelled`: on its token) stopped because its deadline
/// passed. The one place that decides what a timeout is.
fn timed_out(cancelled: bool, ctl: Option<&TaskCtl>) -> bool {
    cancelled && ctl.is_some_and(|c| c.state() == TaskState::TimedOut)
}

/// How a task's run ended, as far as its promise is concerned.
#[derive(Debug)]
enum Ending<T> {
    Ran(T),
    Failed(KernelError),
    Panicked(String),
    /// Stopped on its token after its deadline passed.
    TimedOut,
    /// Stopped on its token otherwise (an abort, or the pool shutting down), or never ran.
    Stopped,
}

impl<T> Ending<T> {
    fn of(result: Option<Result<Result<T, RunError>, Panic>>, ctl: Option<&TaskCtl>) -> Self {
        match result {
            Some(Ok(Ok(v))) => Ending::Ran(v),
            Some(Ok(Err(RunError::Failed(e)))) => Ending::Failed(e),
            Some(Err(Panic(why))) => Ending::Panicked(why),
            Some(Ok(Err(RunError::Cancelled))) if timed_out(true, ctl) => Ending::TimedOut,
            _ => Ending::Stopped,
        }
    }

    fn settlement(self, ok: impl FnOnce(T) -> Settlement) -> Settlement {
        match self {
            Ending::Ran(v) => ok(v),
            Ending::Failed(e) => Settlement::Error(e),
            Ending::Panicked(why) => Settlement::Panicked(why),
            Ending::TimedOut => Settlement::TimedOut,
            Ending::Stopped => Settlement::Closed,
        }
    }
}

/// Splits a job's output into the shape [`Ending::of`] reads (a chunk's failure index is not
/// needed: the batch fails as a whole).
fn chunk_result(r: Ended) -> Option<Result<Result<JobOutput, RunError>, Panic>> {
    r.map(|r| {
        r.map(|out| match out {
            JobOutput::One(Err(e)) | JobOutput::Many(Err((_, e))) => Err(e),
            ok => Ok(ok),
        })
    })
}

/// Generations are masked so `generation * 2^32 + slot` stays below 2^53.
const GENERATION_MASK: u32 = (1 << 21) - 1;
const TAG_SLOTS: f64 = 4_294_967_296.0;

/// The executor tag of chunk `chunk` of slot `slot`.
pub fn tag(slot: u32, chunk: usize) -> u64 {
    u64::from(slot) | (chunk as u64) << 32
}

fn split(tag: u64) -> (usize, usize) {
    (tag as u32 as usize, (tag >> 32) as usize)
}

/// A pool's pending promises, by slot. `P` is the promise handle (a napi deferred in the
/// binding).
pub struct Pending<P> {
    slots: slab::Slab<Entry<P>>,
    generation: u32,
}

impl<P> Default for Pending<P> {
    fn default() -> Self {
        Self {
            slots: slab::Slab::new(),
            generation: 0,
        }
    }
}

impl<P> Pending<P> {
    /// Slots in use: tasks somewhere in the pool.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn insert(
        &mut self,
        promise: P,
        kernel: KernelId,
        waiting: Waiting,
        retry: Option<Retry>,
    ) -> u32 {
        let generation = self.generation;
        self.generation = (generation + 1) & GENERATION_MASK;
        let slot = self.slots.insert(Entry {
            promise: Some(promise),
            retry: retry.filter(|r| r.left > 0).map(Box::new),
            generation,
            waiting,
            kernel,
        });
        // Tags carry the slot in 32 bits.
        assert!(slot <= u32::MAX as usize, "more than 2^32 pending tasks");
        slot as u32
    }

    /// A task about to be submitted; returns its slot (its executor tag is `tag(slot, 0)`).
    pub fn insert_one(
        &mut self,
        promise: P,
        kernel: KernelId,
        ctl: Arc<TaskCtl>,
        retry: Option<Retry>,
    ) -> u32 {
        self.insert(promise, kernel, Waiting::One(ctl), retry)
    }

    /// A batch of `inputs` in chunks (one control block each) under one promise; chunk `i` is
    /// tagged `tag(slot, i)`.
    pub fn insert_batch(
        &mut self,
        promise: P,
        kernel: KernelId,
        ctls: Vec<Arc<TaskCtl>>,
        inputs: usize,
        retry: Option<Retry>,
    ) -> u32 {
        let chunks = ctls.len();
        let batch = Batch {
            ctls,
            parts: (0..chunks).map(|_| None).collect(),
            left: chunks,
            inputs,
        };
        self.insert(promise, kernel, Waiting::Batch(Box::new(batch)), retry)
    }

    /// The handle JS keeps to abort the task of `slot`.
    pub fn handle(&self, slot: u32) -> f64 {
        let generation = self.slots.get(slot as usize).map_or(0, |e| e.generation);
        f64::from(generation) * TAG_SLOTS + f64::from(slot)
    }

    pub fn kernel(&self, slot: u32) -> Option<KernelId> {
        self.slots.get(slot as usize).map(|e| e.kernel)
    }

    /// The executor refused a single task (queue full, pool closed): settle it and free its
    /// slot.
    pub fn refuse_one(&mut self, slot: u32, settlement: Settlement) -> Option<Settle<P>> {
        self.slots
            .try_remove(slot as usize)
            .and_then(|mut e| e.settle(settlement))
    }

    /// The executor refused a chunk of a batch: the batch fails now; its other chunks are to be
    /// cancelled (returned). The refused chunks still go through [`finished`](Self::finished)
    /// (with `None`), so the slot is freed when the last chunk is back.
    pub fn refuse_batch(
        &mut self,
        slot: u32,
        settlement: Settlement,
    ) -> (Option<Settle<P>>, Vec<Arc<TaskCtl>>) {
        match self.slots.get_mut(slot as usize) {
            Some(e) => (e.settle(settlement), e.ctls()),
            None => (None, Vec::new()),
        }
    }

    /// JS aborted the task with `handle`: if it is still pending, settle it as aborted and
    /// return the control blocks to cancel.
    pub fn abort(&mut self, handle: f64) -> Option<(Settle<P>, Vec<Arc<TaskCtl>>)> {
        // NaN too.
        if handle.is_nan() || handle < 0.0 {
            return None;
        }
        let (slot, generation) = ((handle % TAG_SLOTS) as usize, (handle / TAG_SLOTS) as u32);
        let e = self
            .slots
            .get_mut(slot)
            .filter(|e| e.generation == generation)?;
        let settle = e.settle(Settlement::Aborted)?;
        Some((settle, e.ctls()))
    }

    /// Before [`finished`](Self::finished): whether the task that ended as `result` runs again
    /// (it timed out or panicked, its promise is pending, retries are left and the pool is not
    /// `closing`). If so, one attempt is used; the caller queues the job again with the
    /// returned priority and timeout, then calls [`requeued`](Self::requeued) — or, if the
    /// queue refused it, `finished` as usual.
    pub fn retry(
        &mut self,
        tag: u64,
        result: &Ended,
        closing: bool,
    ) -> Option<(f64, Option<Duration>)> {
        let (slot, chunk) = split(tag);
        let e = self.slots.get_mut(slot)?;
        let retriable = match result {
            Some(Err(_)) => true,
            Some(Ok(out)) => timed_out(out.cancelled(), e.ctl(chunk).map(|c| &**c)),
            None => false,
        };
        if !retriable || !e.will_retry(closing) {
            return None;
        }
        let r = e.retry.as_mut()?;
        r.left -= 1;
        Some((r.priority, r.timeout))
    }

    /// The job of `tag` is queued again with control block `ctl`.
    pub fn requeued(&mut self, tag: u64, ctl: Arc<TaskCtl>) {
        let (slot, chunk) = split(tag);
        match self.slots.get_mut(slot).map(|e| &mut e.waiting) {
            Some(Waiting::One(c)) => *c = ctl,
            Some(Waiting::Batch(b)) => {
                if let Some(c) = b.ctls.get_mut(chunk) {
                    *c = ctl;
                }
            }
            None => {}
        }
    }

    /// The task of `tag` left the pool (ran, failed, was skipped or handed back). Returns the
    /// promise to settle, if any, and the control blocks to cancel (the rest of a failed batch).
    pub fn finished(&mut self, tag: u64, result: Ended) -> (Option<Settle<P>>, Vec<Arc<TaskCtl>>) {
        let (slot, chunk) = split(tag);
        let Some(e) = self.slots.get_mut(slot) else {
            return (None, Vec::new());
        };
        let ctl = e.ctl(chunk).cloned();
        if let Waiting::One(_) = e.waiting {
            let ending = Ending::of(
                result.map(|r| {
                    r.map(|out| match out {
                        JobOutput::One(r) => r,
                        // A single task's job yields one output.
                        JobOutput::Many(_) => unreachable!("a single task ran as a batch"),
                    })
                }),
                ctl.as_deref(),
            );
            let mut e = self.slots.remove(slot);
            let settle = e.settle(ending.settlement(Settlement::Value));
            return (settle, Vec::new());
        }
        let ending = Ending::of(chunk_result(result), ctl.as_deref());
        let Waiting::Batch(b) = &mut e.waiting else {
            unreachable!("checked above")
        };
        b.left -= 1;
        let last = b.left == 0;
        let (mut settle, mut cancel) = (None, Vec::new());
        if e.promise.is_some() {
            match ending {
                Ending::Ran(JobOutput::Many(Ok(outs))) => b.parts[chunk] = Some(outs),
                Ending::Ran(_) => unreachable!("a batch chunk ran as a single task"),
                failed => {
                    settle = e.settle(failed.settlement(|_| Settlement::Closed));
                    cancel = e.ctls();
                }
            }
        }
        if last {
            let mut e = self.slots.remove(slot);
            if let Waiting::Batch(b) = &mut e.waiting {
                let parts = std::mem::take(&mut b.parts).into_iter().flatten().collect();
                let inputs = b.inputs;
                settle = settle.or_else(|| e.settle(Settlement::Batch { parts, inputs }));
            }
        }
        (settle, cancel)
    }

    /// The deadline of the task with control block `ctl` (tag `tag`) passed while it ran. Unless
    /// it will run again, its promise rejects now and its work is cancelled (returned).
    pub fn expired(
        &mut self,
        tag: u64,
        ctl: &Arc<TaskCtl>,
        closing: bool,
    ) -> Option<(Settle<P>, Vec<Arc<TaskCtl>>)> {
        let (slot, _) = split(tag);
        let e = self.slots.get_mut(slot)?;
        // Its `Finished` may have overtaken this event and freed (or reused) the slot.
        let same_task = match &e.waiting {
            Waiting::One(c) => Arc::ptr_eq(c, ctl),
            Waiting::Batch(b) => b.ctls.iter().any(|c| Arc::ptr_eq(c, ctl)),
        };
        if !same_task || e.will_retry(closing) {
            // A retry runs once the kernel stops (see `retry`).
            return None;
        }
        let settle = e.settle(Settlement::TimedOut)?;
        Some((settle, e.ctls()))
    }

    /// The pool is destroyed: every pending promise rejects as closed. Entries stay until their
    /// jobs come back through [`finished`](Self::finished).
    pub fn close_all(&mut self) -> Vec<Settle<P>> {
        self.slots
            .iter_mut()
            .filter_map(|(_, e)| e.settle(Settlement::Closed))
            .collect()
    }
}
