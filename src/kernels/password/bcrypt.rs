//! `bcrypt.hash` and `bcrypt.verify` (the `bcrypt-rust` crate).
//!
//! One hash cannot use SIMD (each round depends on the last), but independent hashes at one cost
//! can share the vector registers: `bcrypt-rust`'s batch functions run 8 (AVX2), 12 or 16
//! (AVX-512) hashes in lockstep. Both kernels declare a batch key (the cost), so a worker that
//! takes a bcrypt task with more of the same cost queued right behind it runs them together
//! (`executor::Job::batch`); a lone task takes the scalar path.

use super::failed;
use crate::executor::{BatchKey, CancelToken};
use crate::kernels::{Input, InputKind, Kernel, KernelError, Output, Param, RunError, Value};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// bcrypt reads at most this many password bytes; the rest are ignored (like the `bcrypt` and
/// `bcryptjs` npm packages).
pub const BCRYPT_MAX_PASSWORD: usize = 72;
pub const BCRYPT_MIN_COST: u32 = 4;
pub const BCRYPT_MAX_COST: u32 = 31;
pub const BCRYPT_DEFAULT_COST: u32 = 12;

/// `bcrypt.hash`: `{ password, cost = 12 }` → a `$2b$` string.
pub struct BcryptHash;

impl Kernel for BcryptHash {
    const NAME: &'static str = "bcrypt.hash";
    const INPUT: InputKind = InputKind::Object(&[
        Param::bytes("password"),
        Param::int(
            "cost",
            BCRYPT_MIN_COST as u64,
            BCRYPT_MAX_COST as u64,
            Some(BCRYPT_DEFAULT_COST as u64),
        ),
    ]);
    /// The password and the cost.
    type Args = Box<(Vec<u8>, u32)>;

    fn prepare(mut input: Input<'_>) -> Result<Self::Args, KernelError> {
        let password = input.fields.bytes("password")?;
        let cost = input.fields.int("cost")? as u32;
        Ok(Box::new((password, cost)))
    }

    fn run(args: &Self::Args, _: Value<'_>, token: &CancelToken<'_>) -> Result<Output, RunError> {
        let (password, cost) = &**args;
        Ok(Output::Str(bcrypt_hash(password, *cost, token)?))
    }

    fn batch(args: &Self::Args) -> Option<BatchKey> {
        batch_of(args.1)
    }

    fn run_batch(
        items: &[(&Self::Args, Value<'_>)],
        tokens: &[CancelToken<'_>],
    ) -> Vec<Result<Output, RunError>> {
        let cost = items.first().map_or(BCRYPT_DEFAULT_COST, |(a, _)| a.1);
        in_lanes(tokens, |live| {
            let passwords: Vec<&[u8]> = live.iter().map(|&i| items[i].0 .0.as_slice()).collect();
            match bcrypt_hash_many(&passwords, cost) {
                Ok(hashes) => hashes.into_iter().map(|h| Ok(Output::Str(h))).collect(),
                Err(e) => live.iter().map(|_| Err(e.clone())).collect(),
            }
        })
    }
}

/// `bcrypt.verify`: `{ password, hash }` → whether they match.
pub struct BcryptVerify;

impl Kernel for BcryptVerify {
    const NAME: &'static str = "bcrypt.verify";
    const INPUT: InputKind = InputKind::Object(&[Param::bytes("password"), Param::str("hash")]);
    /// The password, the stored hash (checked well-formed) and its cost.
    type Args = Box<(Vec<u8>, String, u32)>;

    fn prepare(mut input: Input<'_>) -> Result<Self::Args, KernelError> {
        let password = input.fields.bytes("password")?;
        let hash = input.fields.str("hash")?;
        let cost = check_bcrypt_hash(&hash)?;
        Ok(Box::new((password, hash, cost)))
    }

    fn run(args: &Self::Args, _: Value<'_>, token: &CancelToken<'_>) -> Result<Output, RunError> {
        let (password, hash, _) = &**args;
        token.check()?;
        Ok(Output::Bool(verify_checked(password, hash)?))
    }

    fn batch(args: &Self::Args) -> Option<BatchKey> {
        batch_of(args.2)
    }

    fn run_batch(
        items: &[(&Self::Args, Value<'_>)],
        tokens: &[CancelToken<'_>],
    ) -> Vec<Result<Output, RunError>> {
        in_lanes(tokens, |live| {
            let passwords: Vec<&[u8]> = live.iter().map(|&i| items[i].0 .0.as_slice()).collect();
            let hashes: Vec<&str> = live.iter().map(|&i| items[i].0 .1.as_str()).collect();
            bcrypt_verify_many(&passwords, &hashes)
                .into_iter()
                .map(|r| Ok(Output::Bool(r?)))
                .collect()
        })
    }
}

/// Lanes of the SIMD backend, once known; 0 until then (tasks run alone meanwhile).
static LANES: AtomicUsize = AtomicUsize::new(0);

/// The batch key of a bcrypt task at `cost`: hashes batch only at one cost. Up to the backend's
/// lane count run together, and only if at least three quarters of the lanes fill: a batch
/// costs as much as a full one, and one hash in a full AVX2 batch costs ~0.62 of a scalar hash
/// (measured here), so a batch under ~5 of 8 would be slower than one by one, and the tasks
/// held back from other idle threads meanwhile.
fn batch_of(cost: u32) -> Option<BatchKey> {
    let lanes = LANES.load(Relaxed);
    if lanes == 0 {
        probe_backend();
    }
    (lanes > 1).then(|| BatchKey {
        key: u64::from(cost),
        max: lanes,
        min: lanes - lanes / 4,
        linger: linger(cost),
    })
}

/// How long a lone bcrypt task waits for a burst to fill its batch: ~0.1% of one hash (one
/// scalar hash takes ~50 ns × 2^cost here: 51 µs at cost 10, under 1 µs at cost 4), at most
/// 100 µs.
fn linger(cost: u32) -> std::time::Duration {
    std::time::Duration::from_nanos((50u64 << cost.min(31)) / 1000)
        .min(std::time::Duration::from_micros(100))
}

/// The crate picks its backend by timing the candidates once per process (~0.4 s of one core,
/// on the first batch call). That runs on a thread of its own (`bcrypt-probe`: not a `pool-`
/// name, since it belongs to no pool) the first time a worker asks for a bcrypt batch key, so no task waits for it; until it is done bcrypt tasks run alone. If
/// the thread cannot start, or the crate panics (an unknown `BCRYPT_FORCE_BACKEND`, reported
/// on stderr by the default panic hook), batching stays off.
fn probe_backend() {
    static PROBE: std::sync::Once = std::sync::Once::new();
    PROBE.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("bcrypt-probe".into())
            .spawn(|| LANES.store(::bcrypt_rust::detected_backend().lanes(), Relaxed));
    });
}

/// The SIMD backend bcrypt batches run on (`"avx2"`, `"avx512"`, …) and its lanes, once picked.
pub fn bcrypt_backend() -> Option<(&'static str, usize)> {
    let lanes = LANES.load(Relaxed);
    (lanes != 0).then(|| (::bcrypt_rust::detected_backend().name(), lanes))
}

/// Runs `f` on the indexes of the items whose token is not cancelled, and spreads its results
/// back: cancelled items get `Cancelled` without taking a lane.
fn in_lanes(
    tokens: &[CancelToken<'_>],
    f: impl FnOnce(&[usize]) -> Vec<Result<Output, RunError>>,
) -> Vec<Result<Output, RunError>> {
    let live: Vec<usize> = (0..tokens.len())
        .filter(|&i| !tokens[i].is_cancelled())
        .collect();
    let mut results = f(&live).into_iter();
    let mut out: Vec<Result<Output, RunError>> = (0..tokens.len())
        .map(|_| Err(RunError::Cancelled))
        .collect();
    for i in live {
        out[i] = results.next().unwrap_or(Err(RunError::Cancelled));
    }
    out
}

/// The first 72 bytes of a password: all bcrypt reads. (`bcrypt-rust`'s `hash_with_salt`
/// truncates too, but its `non_truncating_*` variants and other libraries refuse longer
/// passwords, so the rule is kept here, where it is documented and tested.)
fn bcrypt_password(password: &[u8]) -> &[u8] {
    &password[..password.len().min(BCRYPT_MAX_PASSWORD)]
}

/// A new `$2b$` hash of `password` with a random salt.
pub fn bcrypt_hash(
    password: &[u8],
    cost: u32,
    token: &CancelToken<'_>,
) -> Result<String, RunError> {
    token.check()?;
    // The salt from pool's one CSPRNG path (as for Argon2), not the crate's own syscall.
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(failed)?;
    let parts =
        ::bcrypt_rust::hash_with_salt(bcrypt_password(password), cost, salt).map_err(failed)?;
    Ok(parts.format_for_version(::bcrypt_rust::Version::TwoB))
}

/// New `$2b$` hashes of several passwords at one cost, in SIMD lanes, each with its own random
/// salt; in order.
pub fn bcrypt_hash_many(passwords: &[&[u8]], cost: u32) -> Result<Vec<String>, RunError> {
    let mut salts = vec![[0u8; 16]; passwords.len()];
    getrandom::getrandom(salts.as_flattened_mut()).map_err(failed)?;
    let truncated: Vec<&[u8]> = passwords.iter().map(|p| bcrypt_password(p)).collect();
    let parts = ::bcrypt_rust::hash_many_with_salts(&truncated, &salts, cost).map_err(failed)?;
    Ok(parts
        .iter()
        .map(|p| p.format_for_version(::bcrypt_rust::Version::TwoB))
        .collect())
}

/// Whether each password matches its hash (checked by [`check_bcrypt_hash`]), in SIMD lanes
/// (grouped by cost); constant-time comparison in the crate.
pub fn bcrypt_verify_many(passwords: &[&[u8]], hashes: &[&str]) -> Vec<Result<bool, KernelError>> {
    let truncated: Vec<&[u8]> = passwords.iter().map(|p| bcrypt_password(p)).collect();
    ::bcrypt_rust::verify_many(&truncated, hashes)
        .into_iter()
        .map(|r| r.map_err(|_| malformed()))
        .collect()
}

/// bcrypt's base64 alphabet.
const BCRYPT_B64: &[u8; 64] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Accepts exactly `$2a$`, `$2b$` or `$2y$`, a two-digit cost 04–31, `$`, and 53 characters of
/// bcrypt's base64 (22 salt + 31 hash) in canonical form. `$2x$` (crypt_blowfish's
/// bug-compatible mode) is not supported and is refused rather than verified with the wrong
/// algorithm (`bcrypt-rust` would compute it as `$2b$`).
pub fn check_bcrypt_hash(hash: &str) -> Result<u32, KernelError> {
    let b = hash.as_bytes();
    if b.len() != 60 || !matches!(&b[..4], b"$2a$" | b"$2b$" | b"$2y$") || b[6] != b'$' {
        return Err(malformed());
    }
    let cost = match (b[4], b[5]) {
        (t @ b'0'..=b'9', u @ b'0'..=b'9') => u32::from(t - b'0') * 10 + u32::from(u - b'0'),
        _ => return Err(malformed()),
    };
    if !(BCRYPT_MIN_COST..=BCRYPT_MAX_COST).contains(&cost)
        || !b[7..]
            .iter()
            .all(|&c| c == b'.' || c == b'/' || c.is_ascii_alphanumeric())
        || !canonical_tail(b[28], 16)
        || !canonical_tail(b[59], 4)
    {
        return Err(malformed());
    }
    Ok(cost)
}

/// Whether the last character of a field leaves its unused low bits zero (`modulus` 16: 4
/// spare bits after the salt's 128, 4: 2 after the hash's 184). Canonical encoders never
/// write such characters, and `bcrypt-rust` would silently ignore those bits where bcrypt 0.17
/// refused the string.
fn canonical_tail(c: u8, modulus: usize) -> bool {
    BCRYPT_B64
        .iter()
        .position(|&a| a == c)
        .is_some_and(|i| i % modulus == 0)
}

fn malformed() -> KernelError {
    KernelError::invalid_value("The \"input.hash\" property is not a valid bcrypt hash")
}

/// Whether `password` matches a bcrypt `hash` (checked or not).
pub fn bcrypt_verify(
    password: &[u8],
    hash: &str,
    token: &CancelToken<'_>,
) -> Result<bool, RunError> {
    check_bcrypt_hash(hash)?;
    token.check()?;
    Ok(verify_checked(password, hash)?)
}

/// [`bcrypt_verify`] of a hash [`check_bcrypt_hash`] accepted (constant-time comparison in the
/// crate).
fn verify_checked(password: &[u8], hash: &str) -> Result<bool, KernelError> {
    ::bcrypt_rust::verify(bcrypt_password(password), hash).map_err(|_| malformed())
}
