//! `pool`: a Node.js thread pool in Rust. See ARCHITECTURE.md for the data flow of one `run()`.
//!
//! - [`executor`]: the thread pool (napi-free, no `unsafe`).
//! - [`kernels`]: the built-in kernels (napi-free, no `unsafe`).
//! - [`pending`]: the rules of pending tasks: settlement, retries, batches (napi-free).
//! - `binding`: the only module that touches napi, and the only one with `unsafe`.

pub mod executor;
pub mod kernels;
pub mod pending;

// napi-derive compiles its registration out of test builds, leaving the binding unreferenced.
#[cfg_attr(test, allow(dead_code))]
mod binding;
