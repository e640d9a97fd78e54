//! Normal builds: the primitives themselves, re-exported.

pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
pub(crate) use std::sync::{atomic, Arc, Once};

pub(crate) mod thread {
    pub(crate) use std::thread::{Builder, JoinHandle};
}

pub(crate) mod hint {
    pub(crate) use std::hint::spin_loop;
}
