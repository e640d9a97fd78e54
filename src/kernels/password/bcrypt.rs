//! `bcrypt.hash` and `bcrypt.verify` (the `bcrypt-rust` crate, single-hash scalar path).

use super::failed;
use crate::executor::CancelToken;
use crate::kernels::{Input, InputKind, Kernel, KernelError, Output, Param, RunError, Value};

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
}

/// `bcrypt.verify`: `{ password, hash }` → whether they match.
pub struct BcryptVerify;

impl Kernel for BcryptVerify {
    const NAME: &'static str = "bcrypt.verify";
    const INPUT: InputKind = InputKind::Object(&[Param::bytes("password"), Param::str("hash")]);
    /// The password and the stored hash, checked well-formed.
    type Args = Box<(Vec<u8>, String)>;

    fn prepare(mut input: Input<'_>) -> Result<Self::Args, KernelError> {
        let password = input.fields.bytes("password")?;
        let hash = input.fields.str("hash")?;
        check_bcrypt_hash(&hash)?;
        Ok(Box::new((password, hash)))
    }

    fn run(args: &Self::Args, _: Value<'_>, token: &CancelToken<'_>) -> Result<Output, RunError> {
        let (password, hash) = &**args;
        token.check()?;
        Ok(Output::Bool(verify_checked(password, hash)?))
    }
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
