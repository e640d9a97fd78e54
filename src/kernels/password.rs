//! Password hashing and key derivation: bcrypt (the `bcrypt` crate), Argon2 (RustCrypto
//! `argon2`, PHC strings), scrypt and PBKDF2 (RustCrypto `scrypt`, `pbkdf2`).
//!
//! None of these libraries offers a hook inside one hash, so the kernels check their token only
//! before they start; an aborted or timed-out task is rejected at once by the pool and its result
//! is discarded when the kernel returns. Every parameter that sizes memory or work is bounded
//! here (see the `MAX_*` constants) so no input can exhaust memory; the only long-running
//! inputs left are the ones the algorithms define as slow (bcrypt cost 31, many PBKDF2
//! iterations), and those stay cancellable from the caller's side.
//!
//! Salts for new hashes come from the OS CSPRNG (`getrandom`). Verification compares in
//! constant time (the crates' verify functions).

use super::{Input, KernelError, Param};
use crate::executor::CancelToken;
use argon2::password_hash::{Output as HashOutput, ParamsString, PasswordHash, SaltString};
use std::cell::RefCell;

/// bcrypt reads at most this many password bytes; the rest are ignored (like the `bcrypt` and
/// `bcryptjs` npm packages).
pub const BCRYPT_MAX_PASSWORD: usize = 72;
pub const BCRYPT_MIN_COST: u32 = 4;
pub const BCRYPT_MAX_COST: u32 = 31;
pub const BCRYPT_DEFAULT_COST: u32 = 12;

/// Argon2 `memoryCost` bound in KiB (1 GiB), also enforced on stored hashes being verified.
pub const ARGON2_MAX_MEMORY_KIB: u32 = 1 << 20;
/// Argon2 `timeCost` bound (passes over memory).
pub const ARGON2_MAX_TIME: u32 = 1024;
/// Argon2 `parallelism` bound (lanes; computed on one thread here).
pub const ARGON2_MAX_PARALLELISM: u32 = 255;
/// Argon2 salt length bounds in bytes (the PHC string holds at most 48 salt bytes).
pub const ARGON2_MIN_SALT: usize = 8;
pub const ARGON2_MAX_SALT: usize = 48;
/// Random salt length and tag length of `argon2.hash`.
pub const ARGON2_SALT_LEN: usize = 16;
pub const ARGON2_TAG_LEN: usize = 32;

/// scrypt's default memory bound, as in Node (32 MiB).
pub const SCRYPT_DEFAULT_MAXMEM: u64 = 32 << 20;
/// Hard memory bound for scrypt whatever `maxmem` says (1 GiB).
pub const SCRYPT_MAX_MEM: u64 = 1 << 30;
/// Longest derived key `scrypt` and `pbkdf2` produce (1 MiB; Node allows up to 2^31 − 1).
pub const MAX_KEYLEN: u64 = 1 << 20;
/// PBKDF2 iterations bound, as in Node. The total work, iterations × output blocks, is bounded
/// by the same number (Node has no such bound; 2^31 − 1 iterations × 52,429 blocks of a 1 MiB
/// SHA-1 key would keep a thread busy for years).
pub const PBKDF2_MAX_ITERATIONS: u64 = i32::MAX as u64;

// ---------------------------------------------------------------------------------------------
// Field readers

fn bytes<'a>(name: &str, p: Param<'a>) -> Result<&'a [u8], KernelError> {
    match p {
        Param::Str(s) => Ok(s.as_bytes()),
        Param::Bytes(b) => Ok(b),
        p => Err(KernelError::invalid_type(format!(
            "The \"input.{name}\" property must be of type string or an instance of Buffer, \
             TypedArray, DataView or ArrayBuffer. Received {}",
            received(p)
        ))),
    }
}

fn string<'a>(name: &str, p: Param<'a>) -> Result<&'a str, KernelError> {
    match p {
        Param::Str(s) => Ok(s),
        p => Err(KernelError::invalid_type(format!(
            "The \"input.{name}\" property must be of type string. Received {}",
            received(p)
        ))),
    }
}

fn received(p: Param<'_>) -> String {
    match p {
        Param::Missing => "undefined".into(),
        Param::Other("null") => "null".into(),
        p => format!("type {}", p.type_name()),
    }
}

/// An integer field in `min..=max`; `Missing` gives `default` (or a TypeError when required).
fn int(
    name: &str,
    p: Param<'_>,
    default: Option<u64>,
    min: u64,
    max: u64,
) -> Result<u64, KernelError> {
    let n = match (p, default) {
        (Param::Missing, Some(d)) => return Ok(d),
        (Param::Number(n), _) => n,
        (p, _) => {
            return Err(KernelError::invalid_type(format!(
                "The \"input.{name}\" property must be of type number. Received {}",
                received(p)
            )))
        }
    };
    if !n.is_finite() || n.fract() != 0.0 {
        return Err(KernelError::out_of_range(format!(
            "The value of \"input.{name}\" is out of range. It must be an integer. Received {n}"
        )));
    }
    if n < min as f64 || n > max as f64 {
        return Err(KernelError::out_of_range(format!(
            "The value of \"input.{name}\" is out of range. It must be >= {min} && <= {max}. \
             Received {n}"
        )));
    }
    Ok(n as u64)
}

fn failed(e: impl std::fmt::Display) -> KernelError {
    KernelError::operation_failed(format!("password hashing failed: {e}"))
}

// ---------------------------------------------------------------------------------------------
// bcrypt

/// `bcrypt.hash` input: params `password`, `cost`.
pub fn bcrypt_hash_params<'a>(input: &Input<'a>) -> Result<(&'a [u8], u32), KernelError> {
    let password = bytes("password", input.param(0))?;
    let cost = int(
        "cost",
        input.param(1),
        Some(BCRYPT_DEFAULT_COST.into()),
        BCRYPT_MIN_COST.into(),
        BCRYPT_MAX_COST.into(),
    )? as u32;
    Ok((password, cost))
}

/// The first 72 bytes of a password: all bcrypt reads. (bcrypt 0.17's `hash` truncates too,
/// but its `non_truncating_*` variants and some later versions refuse longer passwords, so
/// the rule is kept here, where it is documented and tested.)
fn bcrypt_password(password: &[u8]) -> &[u8] {
    &password[..password.len().min(BCRYPT_MAX_PASSWORD)]
}

/// A new `$2b$` hash of `password` with a random salt.
pub fn bcrypt_hash(
    password: &[u8],
    cost: u32,
    token: &CancelToken<'_>,
) -> Result<String, KernelError> {
    token.check()?;
    bcrypt::hash(bcrypt_password(password), cost).map_err(failed)
}

/// `bcrypt.verify` input: params `password`, `hash` (a well-formed bcrypt string).
pub fn bcrypt_verify_params<'a>(input: &Input<'a>) -> Result<(&'a [u8], &'a str), KernelError> {
    let password = bytes("password", input.param(0))?;
    let hash = string("hash", input.param(1))?;
    check_bcrypt_hash(hash)?;
    Ok((password, hash))
}

/// Accepts exactly `$2a$`, `$2b$` or `$2y$`, a two-digit cost 04–31, `$`, and 53 characters of
/// bcrypt's base64 (22 salt + 31 hash). `$2x$` (crypt_blowfish's bug-compatible mode) is not
/// supported and is refused rather than verified with the wrong algorithm.
pub fn check_bcrypt_hash(hash: &str) -> Result<u32, KernelError> {
    let malformed =
        || KernelError::invalid_value("The \"input.hash\" property is not a valid bcrypt hash");
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
    {
        return Err(malformed());
    }
    Ok(cost)
}

/// Whether `password` matches a bcrypt `hash` (constant-time comparison in the crate).
pub fn bcrypt_verify(
    password: &[u8],
    hash: &str,
    token: &CancelToken<'_>,
) -> Result<bool, KernelError> {
    check_bcrypt_hash(hash)?;
    token.check()?;
    bcrypt::verify(bcrypt_password(password), hash).map_err(|_| {
        KernelError::invalid_value("The \"input.hash\" property is not a valid bcrypt hash")
    })
}

// ---------------------------------------------------------------------------------------------
// Argon2

/// Checked `argon2.hash` input.
#[derive(Debug)]
pub struct Argon2Params<'a> {
    pub password: &'a [u8],
    pub algorithm: argon2::Algorithm,
    pub params: argon2::Params,
    pub salt: Option<&'a [u8]>,
}

/// `argon2.hash` input: params `password`, `type`, `memoryCost`, `timeCost`, `parallelism`,
/// `salt`.
pub fn argon2_hash_params<'a>(input: &Input<'a>) -> Result<Argon2Params<'a>, KernelError> {
    let password = bytes("password", input.param(0))?;
    let algorithm = match input.param(1) {
        Param::Missing => argon2::Algorithm::Argon2id,
        p => match string("type", p)? {
            "argon2d" => argon2::Algorithm::Argon2d,
            "argon2i" => argon2::Algorithm::Argon2i,
            "argon2id" => argon2::Algorithm::Argon2id,
            other => {
                return Err(KernelError::out_of_range(format!(
                    "The value of \"input.type\" is out of range. It must be one of 'argon2d', \
                     'argon2i', 'argon2id'. Received '{other}'"
                )))
            }
        },
    };
    let parallelism = int(
        "parallelism",
        input.param(4),
        Some(1),
        1,
        ARGON2_MAX_PARALLELISM.into(),
    )? as u32;
    let memory = int(
        "memoryCost",
        input.param(2),
        Some(argon2::Params::DEFAULT_M_COST.into()),
        8 * u64::from(parallelism),
        ARGON2_MAX_MEMORY_KIB.into(),
    )? as u32;
    let time = int(
        "timeCost",
        input.param(3),
        Some(argon2::Params::DEFAULT_T_COST.into()),
        1,
        ARGON2_MAX_TIME.into(),
    )? as u32;
    let salt = match input.param(5) {
        Param::Missing => None,
        p => {
            let s = bytes("salt", p)?;
            if !(ARGON2_MIN_SALT..=ARGON2_MAX_SALT).contains(&s.len()) {
                return Err(KernelError::out_of_range(format!(
                    "The length of \"input.salt\" is out of range. It must be >= \
                     {ARGON2_MIN_SALT} && <= {ARGON2_MAX_SALT} bytes. Received {}",
                    s.len()
                )));
            }
            Some(s)
        }
    };
    let params = argon2::Params::new(memory, time, parallelism, Some(ARGON2_TAG_LEN))
        .map_err(|e| KernelError::out_of_range(format!("invalid Argon2 parameters: {e}")))?;
    Ok(Argon2Params {
        password,
        algorithm,
        params,
        salt,
    })
}

/// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$tag`) for `p`, with a random 16-byte salt
/// unless `p.salt` is given.
pub fn argon2_hash(p: &Argon2Params<'_>, token: &CancelToken<'_>) -> Result<String, KernelError> {
    token.check()?;
    let mut random = [0u8; ARGON2_SALT_LEN];
    let salt = match p.salt {
        Some(s) => s,
        None => {
            getrandom::getrandom(&mut random).map_err(failed)?;
            &random
        }
    };
    let hasher = argon2::Argon2::new(p.algorithm, argon2::Version::V0x13, p.params.clone());
    let mut tag = [0u8; ARGON2_TAG_LEN];
    argon2_tag(&hasher, p.params.block_count(), p.password, salt, &mut tag).map_err(failed)?;
    let salt = SaltString::encode_b64(salt).map_err(failed)?;
    let phc = PasswordHash {
        algorithm: p.algorithm.ident(),
        version: Some(argon2::Version::V0x13.into()),
        params: ParamsString::try_from(&p.params).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(HashOutput::new(&tag).map_err(failed)?),
    };
    Ok(phc.to_string())
}

/// Argon2 working memory kept on each pool thread between tasks, up to this many 1 KiB blocks
/// (32 MiB): allocating the default 19 MiB afresh cost ~6 ms of page faults per hash here, a
/// quarter of the hash. Larger memory costs allocate per task and give the memory back.
const ARGON2_KEEP_BLOCKS: usize = 32 * 1024;

thread_local! {
    static ARGON2_MEMORY: RefCell<Vec<argon2::Block>> = const { RefCell::new(Vec::new()) };
}

/// Computes an Argon2 tag into `out`, reusing this thread's working memory. Argon2 writes every
/// block before it reads it, so what a previous task left there does not matter.
fn argon2_tag(
    hasher: &argon2::Argon2<'_>,
    blocks: usize,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    if blocks > ARGON2_KEEP_BLOCKS {
        return hasher.hash_password_into(password, salt, out);
    }
    ARGON2_MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < blocks {
            m.resize(blocks, argon2::Block::default());
        }
        hasher.hash_password_into_with_memory(password, salt, out, &mut m[..blocks])
    })
}

fn bad_phc(why: impl std::fmt::Display) -> KernelError {
    KernelError::invalid_value(format!(
        "The \"input.hash\" property is not a valid Argon2 PHC string: {why}"
    ))
}

/// Parses a stored Argon2 PHC string and checks it against the pool's bounds (so a stored hash
/// cannot make the pool allocate more than [`ARGON2_MAX_MEMORY_KIB`]).
pub fn check_argon2_hash(hash: &str) -> Result<PasswordHash<'_>, KernelError> {
    let parsed = PasswordHash::new(hash).map_err(bad_phc)?;
    argon2::Algorithm::try_from(parsed.algorithm).map_err(bad_phc)?;
    let params = argon2::Params::try_from(&parsed).map_err(bad_phc)?;
    if params.m_cost() > ARGON2_MAX_MEMORY_KIB
        || params.t_cost() > ARGON2_MAX_TIME
        || params.p_cost() > ARGON2_MAX_PARALLELISM
    {
        return Err(bad_phc("its parameters exceed the pool's bounds"));
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(bad_phc("missing salt or hash"));
    }
    Ok(parsed)
}

/// `argon2.verify` input: params `password`, `hash`.
pub fn argon2_verify_params<'a>(input: &Input<'a>) -> Result<(&'a [u8], &'a str), KernelError> {
    let password = bytes("password", input.param(0))?;
    let hash = string("hash", input.param(1))?;
    check_argon2_hash(hash)?;
    Ok((password, hash))
}

/// Whether `password` matches an Argon2 PHC string (constant-time comparison in the crate).
pub fn argon2_verify(
    password: &[u8],
    hash: &str,
    token: &CancelToken<'_>,
) -> Result<bool, KernelError> {
    let mut parsed = check_argon2_hash(hash)?;
    // Like libargon2 (and the reference self-test strings), a PHC string without `v=` is
    // version 0x10; the crate would otherwise assume 0x13.
    parsed.version = parsed.version.or(Some(0x10));
    token.check()?;
    let algorithm = argon2::Algorithm::try_from(parsed.algorithm).map_err(bad_phc)?;
    let version = argon2::Version::try_from(parsed.version.unwrap_or(0x10)).map_err(bad_phc)?;
    // Also takes the tag length from the stored hash.
    let params = argon2::Params::try_from(&parsed).map_err(bad_phc)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(bad_phc("missing salt or hash"));
    };
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).map_err(bad_phc)?;
    let hasher = argon2::Argon2::new(algorithm, version, params.clone());
    let mut tag = vec![0u8; expected.len()];
    argon2_tag(&hasher, params.block_count(), password, salt, &mut tag).map_err(bad_phc)?;
    // `Output`'s equality is constant-time.
    Ok(HashOutput::new(&tag).map_err(failed)? == expected)
}

// ---------------------------------------------------------------------------------------------
// scrypt

/// Checked `scrypt` input.
#[derive(Debug)]
pub struct ScryptParams<'a> {
    pub password: &'a [u8],
    pub salt: &'a [u8],
    pub keylen: usize,
    pub log_n: u8,
    pub r: u32,
    pub p: u32,
}

/// The memory Node/OpenSSL charge for scrypt (`EVP_PBE_scrypt`): `128·r·(N + p + 2)` bytes.
pub fn scrypt_memory(n: u64, r: u64, p: u64) -> u128 {
    128 * u128::from(r) * (u128::from(n) + u128::from(p) + 2)
}

/// `scrypt` input: params `password`, `salt`, `keylen`, `N`, `r`, `p`, `maxmem`. As in Node,
/// 0 (or absent) for N, r, p, maxmem means the default (16384, 8, 1, 32 MiB).
pub fn scrypt_params<'a>(input: &Input<'a>) -> Result<ScryptParams<'a>, KernelError> {
    let password = bytes("password", input.param(0))?;
    let salt = bytes("salt", input.param(1))?;
    let keylen = int("keylen", input.param(2), None, 0, MAX_KEYLEN)? as usize;
    let u32max = u64::from(u32::MAX);
    let or = |v: u64, d: u64| if v == 0 { d } else { v };
    let n = or(int("N", input.param(3), Some(0), 0, u32max)?, 16384);
    let r = or(int("r", input.param(4), Some(0), 0, u32max)?, 8);
    let p = or(int("p", input.param(5), Some(0), 0, u32max)?, 1);
    let maxmem = or(
        int("maxmem", input.param(6), Some(0), 0, (1u64 << 53) - 1)?,
        SCRYPT_DEFAULT_MAXMEM,
    );
    let invalid = |why: &str| KernelError::scrypt_params(format!("Invalid scrypt params: {why}"));
    if n < 2 || !n.is_power_of_two() {
        return Err(invalid("N must be a power of 2 greater than 1"));
    }
    // OpenSSL: p·r ≤ 2^30 − 1, N < 2^(16·r).
    if r * p >= 1 << 30 {
        return Err(invalid("p * r must be < 2^30"));
    }
    let log_n = n.trailing_zeros() as u8;
    if r < 4 && u64::from(log_n) >= 16 * r {
        return Err(invalid("N must be < 2^(16 * r)"));
    }
    let mem = scrypt_memory(n, r, p);
    if mem > u128::from(maxmem) {
        return Err(invalid(
            "memory limit exceeded (128 * r * (N + p + 2) > maxmem)",
        ));
    }
    if mem > u128::from(SCRYPT_MAX_MEM) {
        return Err(invalid(
            "memory limit exceeded (the pool caps scrypt at 1 GiB)",
        ));
    }
    Ok(ScryptParams {
        password,
        salt,
        keylen,
        log_n,
        r: r as u32,
        p: p as u32,
    })
}

/// The scrypt key for `s`, equal to Node's `crypto.scrypt`.
pub fn scrypt(s: &ScryptParams<'_>, token: &CancelToken<'_>) -> Result<Vec<u8>, KernelError> {
    token.check()?;
    let mut out = vec![0u8; s.keylen];
    if out.is_empty() {
        return Ok(out);
    }
    // The `len` of `Params` only matters for PHC strings; the output length is `out.len()`.
    let params = scrypt::Params::new(s.log_n, s.r, s.p, 32)
        .map_err(|_| KernelError::scrypt_params("Invalid scrypt params"))?;
    scrypt::scrypt(s.password, s.salt, &params, &mut out).map_err(failed)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// PBKDF2

/// The digests `pbkdf2` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pbkdf2Digest {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

/// Checked `pbkdf2` input.
#[derive(Debug)]
pub struct Pbkdf2Params<'a> {
    pub password: &'a [u8],
    pub salt: &'a [u8],
    pub iterations: u32,
    pub keylen: usize,
    pub digest: Pbkdf2Digest,
}

/// `pbkdf2` input: params `password`, `salt`, `iterations`, `keylen`, `digest`.
pub fn pbkdf2_params<'a>(input: &Input<'a>) -> Result<Pbkdf2Params<'a>, KernelError> {
    let password = bytes("password", input.param(0))?;
    let salt = bytes("salt", input.param(1))?;
    let iterations = int("iterations", input.param(2), None, 1, PBKDF2_MAX_ITERATIONS)? as u32;
    let keylen = int("keylen", input.param(3), None, 0, MAX_KEYLEN)? as usize;
    let digest = match input.param(4) {
        Param::Missing => Pbkdf2Digest::Sha256,
        p => match string("digest", p)? {
            "sha1" => Pbkdf2Digest::Sha1,
            "sha256" => Pbkdf2Digest::Sha256,
            "sha384" => Pbkdf2Digest::Sha384,
            "sha512" => Pbkdf2Digest::Sha512,
            other => {
                return Err(KernelError::invalid_digest(format!(
                    "Invalid digest: {other}"
                )))
            }
        },
    };
    let block = match digest {
        Pbkdf2Digest::Sha1 => 20,
        Pbkdf2Digest::Sha256 => 32,
        Pbkdf2Digest::Sha384 => 48,
        Pbkdf2Digest::Sha512 => 64,
    };
    let work = u64::from(iterations) * (keylen as u64).div_ceil(block);
    if work > PBKDF2_MAX_ITERATIONS {
        return Err(KernelError::out_of_range(format!(
            "The value of \"input.iterations\" is out of range. iterations × ceil(keylen / \
             {block}) must be <= {PBKDF2_MAX_ITERATIONS}. Received {work}"
        )));
    }
    Ok(Pbkdf2Params {
        password,
        salt,
        iterations,
        keylen,
        digest,
    })
}

/// The PBKDF2-HMAC key for `p`, equal to Node's `crypto.pbkdf2`.
pub fn pbkdf2(p: &Pbkdf2Params<'_>, token: &CancelToken<'_>) -> Result<Vec<u8>, KernelError> {
    token.check()?;
    let mut out = vec![0u8; p.keylen];
    let (pw, salt, c) = (p.password, p.salt, p.iterations);
    match p.digest {
        Pbkdf2Digest::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(pw, salt, c, &mut out),
        Pbkdf2Digest::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pw, salt, c, &mut out),
        Pbkdf2Digest::Sha384 => pbkdf2::pbkdf2_hmac::<sha2::Sha384>(pw, salt, c, &mut out),
        Pbkdf2Digest::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(pw, salt, c, &mut out),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conformance::*;
    use crate::kernels::{self, Kernel, Output, MAX_FIELDS};
    use serde_json::Value;

    fn s<'a>(v: &'a Value, k: &str) -> &'a str {
        v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}"))
    }

    fn n(v: &Value, k: &str) -> u64 {
        v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
    }

    fn obj(params: &[Param<'static>]) -> Input<'static> {
        let mut ps = [Param::Missing; MAX_FIELDS];
        ps[..params.len()].copy_from_slice(params);
        Input::Object { params: ps }
    }

    fn t() -> CancelToken<'static> {
        CancelToken::never()
    }

    #[test]
    fn bcrypt_openwall_vectors() {
        let d = json("bcrypt/bcrypt_vectors.json");
        let mut verified = 0;
        for v in d["openwall_vectors"].as_array().unwrap() {
            let pw = unhex(s(v, "password_hex"));
            let hash = s(v, "hash");
            match v["matches_openbsd_2b_algorithm"].as_bool() {
                Some(true) => {
                    assert_eq!(bcrypt_verify(&pw, hash, &t()), Ok(true), "{v}");
                    // Any other password does not match.
                    let mut other = pw.clone();
                    other.push(b'!');
                    if pw.len() < BCRYPT_MAX_PASSWORD {
                        assert_eq!(bcrypt_verify(&other, hash, &t()), Ok(false), "{v}");
                    }
                    verified += 1;
                }
                // crypt_blowfish's $2a$ countermeasure: a different algorithm; must not error.
                Some(false) => assert!(bcrypt_verify(&pw, hash, &t()).is_ok(), "{v}"),
                // $2x$ (bug-compatible) is refused as unsupported, never verified wrongly.
                None => {
                    assert_eq!(
                        bcrypt_verify(&pw, hash, &t()).unwrap_err().code,
                        "ERR_INVALID_ARG_VALUE"
                    )
                }
            }
        }
        assert_eq!(verified, 18);
        for c in d["openwall_must_reject"]["cases"].as_array().unwrap() {
            let setting = s(c, "setting");
            // The setting alone, and the setting completed to a full-length hash string.
            let full = format!(
                "{setting}{}",
                "O".repeat(60usize.saturating_sub(setting.len()))
            );
            for h in [setting, full.as_str()] {
                let e = bcrypt_verify(b"", h, &t()).unwrap_err();
                assert_eq!(e.code, "ERR_INVALID_ARG_VALUE", "{h}");
            }
        }
    }

    /// Decodes a 22-character bcrypt-base64 salt into its 16 bytes.
    fn bcrypt_b64_salt(s: &str) -> [u8; 16] {
        const ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut bits = 0u32;
        let mut nbits = 0;
        let mut out = Vec::new();
        for c in s.bytes() {
            let v = ALPHABET
                .iter()
                .position(|&a| a == c)
                .expect("bcrypt base64") as u32;
            bits = (bits << 6) | v;
            nbits += 6;
            if nbits >= 8 {
                nbits -= 8;
                out.push((bits >> nbits) as u8);
                bits &= (1 << nbits) - 1;
            }
        }
        out.try_into().expect("16 bytes")
    }

    #[test]
    fn bcrypt_jbcrypt_vectors() {
        let d = json("bcrypt/bcrypt_vectors.json");
        let vs = d["jbcrypt_vectors"].as_array().unwrap();
        assert_eq!(vs.len(), 20);
        for v in vs {
            let pw = unhex(s(v, "password_hex"));
            let hash = s(v, "hash");
            assert_eq!(bcrypt_verify(&pw, hash, &t()), Ok(true), "{v}");
            // Recompute with the stored salt (costs ≤ 10 only, to stay fast).
            if n(v, "cost") <= 10 {
                let setting = s(v, "salt_setting");
                let salt = bcrypt_b64_salt(&setting[7..29]);
                let parts = bcrypt::hash_with_salt(&pw, n(v, "cost") as u32, salt).expect("hash");
                assert_eq!(parts.format_for_version(bcrypt::Version::TwoA), hash, "{v}");
            }
        }
    }

    #[test]
    fn bcrypt_hash_round_trip_and_72_byte_rule() {
        let h = bcrypt_hash(b"secret", 4, &t()).unwrap();
        assert!(h.starts_with("$2b$04$") && h.len() == 60, "{h}");
        assert_eq!(check_bcrypt_hash(&h), Ok(4));
        assert_eq!(bcrypt_verify(b"secret", &h, &t()), Ok(true));
        assert_eq!(bcrypt_verify(b"secreT", &h, &t()), Ok(false));
        assert_ne!(bcrypt_hash(b"secret", 4, &t()).unwrap(), h, "random salts");
        let long = [b'x'; 100];
        let h = bcrypt_hash(&long, 4, &t()).unwrap();
        assert_eq!(bcrypt_verify(&long[..72], &h, &t()), Ok(true));
        assert_eq!(bcrypt_verify(&long[..71], &h, &t()), Ok(false));
        let mut other = long;
        other[80] = b'y';
        assert_eq!(bcrypt_verify(&other, &h, &t()), Ok(true));
    }

    #[test]
    fn bcrypt_input_checks() {
        let e = |i: Input<'static>| kernels::prepare(Kernel::BcryptHash, &i).unwrap_err();
        assert_eq!(e(obj(&[])).code, "ERR_INVALID_ARG_TYPE");
        assert_eq!(e(obj(&[Param::Number(1.0)])).code, "ERR_INVALID_ARG_TYPE");
        for bad in [3.0, 32.0, 4.5, f64::NAN] {
            assert_eq!(
                e(obj(&[Param::Str("a"), Param::Number(bad)])).code,
                "ERR_OUT_OF_RANGE"
            );
        }
        assert_eq!(
            e(obj(&[Param::Str("a"), Param::Str("4")])).code,
            "ERR_INVALID_ARG_TYPE"
        );
        assert!(kernels::prepare(
            Kernel::BcryptHash,
            &obj(&[Param::Str("a"), Param::Number(31.0)])
        )
        .is_ok());
        let v = |h| kernels::prepare(Kernel::BcryptVerify, &obj(&[Param::Str("a"), h]));
        assert_eq!(v(Param::Missing).unwrap_err().code, "ERR_INVALID_ARG_TYPE");
        assert_eq!(
            v(Param::Str("$2b$")).unwrap_err().code,
            "ERR_INVALID_ARG_VALUE"
        );
        assert_eq!(
            kernels::prepare(Kernel::BcryptHash, &Input::Str("x"))
                .unwrap_err()
                .code,
            "ERR_INVALID_ARG_TYPE"
        );
    }

    fn algorithm(name: &str) -> argon2::Algorithm {
        match name {
            "argon2d" => argon2::Algorithm::Argon2d,
            "argon2i" => argon2::Algorithm::Argon2i,
            "argon2id" => argon2::Algorithm::Argon2id,
            _ => panic!("{name}"),
        }
    }

    #[test]
    fn argon2_reference_hash_tests() {
        let d = json("argon2-phc/test_c_vectors.json");
        let mut count = 0;
        for v in d["hash_tests"].as_array().unwrap() {
            if v["large_ram"].as_bool() == Some(true) {
                continue;
            }
            let version = match n(v, "version") {
                16 => argon2::Version::V0x10,
                19 => argon2::Version::V0x13,
                x => panic!("version {x}"),
            };
            let params = argon2::Params::new(
                n(v, "m_cost_kib") as u32,
                n(v, "t_cost") as u32,
                n(v, "parallelism") as u32,
                Some(n(v, "tag_length") as usize),
            )
            .unwrap();
            let a = argon2::Argon2::new(algorithm(s(v, "type")), version, params);
            let mut tag = vec![0u8; n(v, "tag_length") as usize];
            a.hash_password_into(
                s(v, "password").as_bytes(),
                s(v, "salt").as_bytes(),
                &mut tag,
            )
            .unwrap();
            assert_eq!(tag, unhex(s(v, "tag_hex")), "{v}");
            let pw = s(v, "password").as_bytes();
            assert_eq!(argon2_verify(pw, s(v, "encoded"), &t()), Ok(true), "{v}");
            assert_eq!(argon2_verify(b"passwore", s(v, "encoded"), &t()), Ok(false));
            count += 1;
        }
        assert_eq!(count, 24);
        for v in d["verify_error_tests"].as_array().unwrap() {
            let r = argon2_verify(s(v, "password").as_bytes(), s(v, "encoded"), &t());
            match s(v, "expected_error") {
                "ARGON2_VERIFY_MISMATCH" => assert_eq!(r, Ok(false), "{v}"),
                _ => assert_eq!(r.unwrap_err().code, "ERR_INVALID_ARG_VALUE", "{v}"),
            }
        }
    }

    #[test]
    fn argon2_rfc9106_with_secret_and_ad() {
        let d = json("rfc-vectors/rfc9106_argon2.json");
        let vs = d["vectors"].as_array().unwrap();
        assert_eq!(vs.len(), 3);
        for v in vs {
            let ad = unhex(s(v, "ad_hex"));
            let secret = unhex(s(v, "secret_hex"));
            let params = argon2::ParamsBuilder::new()
                .m_cost(n(v, "m_cost_kib") as u32)
                .t_cost(n(v, "t_cost") as u32)
                .p_cost(n(v, "parallelism") as u32)
                .output_len(n(v, "tag_length") as usize)
                .data(argon2::AssociatedData::new(&ad).unwrap())
                .build()
                .unwrap();
            let a = argon2::Argon2::new_with_secret(
                &secret,
                algorithm(s(v, "type")),
                argon2::Version::V0x13,
                params,
            )
            .unwrap();
            let mut tag = vec![0u8; n(v, "tag_length") as usize];
            a.hash_password_into(
                &unhex(s(v, "password_hex")),
                &unhex(s(v, "salt_hex")),
                &mut tag,
            )
            .unwrap();
            assert_eq!(tag, unhex(s(v, "tag_hex")), "{v}");
        }
    }

    #[test]
    fn argon2_kernel_round_trip_and_bounds() {
        let input = obj(&[
            Param::Str("hunter2"),
            Param::Str("argon2i"),
            Param::Number(64.0),
            Param::Number(1.0),
            Param::Number(2.0),
        ]);
        let Ok(Output::Str(h)) = kernels::run(Kernel::Argon2Hash, &input, &t()) else {
            panic!()
        };
        assert!(h.starts_with("$argon2i$v=19$m=64,t=1,p=2$"), "{h}");
        assert_eq!(argon2_verify(b"hunter2", &h, &t()), Ok(true));
        assert_eq!(argon2_verify(b"hunter3", &h, &t()), Ok(false));
        let Ok(Output::Str(h2)) = kernels::run(Kernel::Argon2Hash, &input, &t()) else {
            panic!()
        };
        assert_ne!(h, h2, "random salts");
        // A given salt gives the reference encoding (the argon2id v19 self-test vectors).
        let d = json("argon2-phc/test_c_vectors.json");
        let mut checked = 0;
        for v in d["hash_tests"].as_array().unwrap() {
            if s(v, "type") != "argon2id" || n(v, "version") != 19 || n(v, "m_cost_kib") > 65536 {
                continue;
            }
            let (pw, salt) = (s(v, "password").to_owned(), s(v, "salt").to_owned());
            let p = Argon2Params {
                password: pw.as_bytes(),
                algorithm: argon2::Algorithm::Argon2id,
                params: argon2::Params::new(
                    n(v, "m_cost_kib") as u32,
                    n(v, "t_cost") as u32,
                    n(v, "parallelism") as u32,
                    Some(32),
                )
                .unwrap(),
                salt: Some(salt.as_bytes()),
            };
            assert_eq!(argon2_hash(&p, &t()).unwrap(), s(v, "encoded"), "{v}");
            checked += 1;
        }
        assert!(checked >= 3, "{checked}");
        let e = |ps: &[Param<'static>]| argon2_hash_params(&obj(ps)).unwrap_err().code;
        assert_eq!(
            e(&[Param::Str("a"), Param::Str("argon2")]),
            "ERR_OUT_OF_RANGE"
        );
        assert_eq!(
            e(&[Param::Str("a"), Param::Number(1.0)]),
            "ERR_INVALID_ARG_TYPE"
        );
        let huge = Param::Number(f64::from(ARGON2_MAX_MEMORY_KIB) + 1.0);
        assert_eq!(
            e(&[Param::Str("a"), Param::Missing, huge]),
            "ERR_OUT_OF_RANGE"
        );
        let tiny = Param::Number(7.0);
        assert_eq!(
            e(&[Param::Str("a"), Param::Missing, tiny]),
            "ERR_OUT_OF_RANGE"
        );
        let big_t = Param::Number(1e9);
        assert_eq!(
            e(&[Param::Str("a"), Param::Missing, Param::Missing, big_t]),
            "ERR_OUT_OF_RANGE"
        );
        let short = Param::Str("1234567");
        assert_eq!(
            e(&[
                Param::Str("a"),
                Param::Missing,
                Param::Missing,
                Param::Missing,
                Param::Missing,
                short
            ]),
            "ERR_OUT_OF_RANGE"
        );
        // Stored hashes beyond the bounds are refused, not computed.
        let greedy = "$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc";
        assert_eq!(
            argon2_verify(b"x", greedy, &t()).unwrap_err().code,
            "ERR_INVALID_ARG_VALUE"
        );
        for bad in [
            "",
            "$argon2id$",
            "$scrypt$ln=1,r=1,p=1$c29tZXNhbHQ$aGFzaA",
            "$2b$04$xx",
        ] {
            assert_eq!(
                argon2_verify(b"x", bad, &t()).unwrap_err().code,
                "ERR_INVALID_ARG_VALUE",
                "{bad}"
            );
        }
    }

    #[test]
    fn scrypt_rfc7914_vectors() {
        let d = json("rfc-vectors/rfc7914_scrypt.json");
        let vs = d["scrypt"]["vectors"].as_array().unwrap();
        assert_eq!(vs.len(), 4);
        let mut count = 0;
        for v in vs {
            if n(v, "N") >= 1 << 20 {
                continue; // 1 GiB: beyond the pool's cap, refused.
            }
            let password = s(v, "password").as_bytes();
            let salt = s(v, "salt").as_bytes();
            let p = ScryptParams {
                password,
                salt,
                keylen: n(v, "dk_len") as usize,
                log_n: n(v, "N").trailing_zeros() as u8,
                r: n(v, "r") as u32,
                p: n(v, "p") as u32,
            };
            assert_eq!(scrypt(&p, &t()).unwrap(), unhex(s(v, "dk_hex")), "{v}");
            count += 1;
        }
        assert_eq!(count, 3);
    }

    #[test]
    fn scrypt_bounds_follow_node() {
        let mk = |n: f64, r: f64, p: f64, maxmem: f64| {
            obj(&[
                Param::Str("pw"),
                Param::Str("salt"),
                Param::Number(16.0),
                Param::Number(n),
                Param::Number(r),
                Param::Number(p),
                Param::Number(maxmem),
            ])
        };
        let need = 128.0 * 8.0 * (1024.0 + 1.0 + 2.0);
        assert!(scrypt_params(&mk(1024.0, 8.0, 1.0, need)).is_ok());
        let code = |i| scrypt_params(&i).unwrap_err().code;
        assert_eq!(
            code(mk(1024.0, 8.0, 1.0, need - 1.0)),
            "ERR_CRYPTO_INVALID_SCRYPT_PARAMS"
        );
        // Defaults: N = 16384 fits 32 MiB, N = 32768 does not; 0 means the default.
        assert!(scrypt_params(&mk(0.0, 0.0, 0.0, 0.0)).is_ok());
        assert_eq!(
            code(mk(32768.0, 8.0, 1.0, 0.0)),
            "ERR_CRYPTO_INVALID_SCRYPT_PARAMS"
        );
        assert_eq!(
            code(mk(1000.0, 8.0, 1.0, 0.0)),
            "ERR_CRYPTO_INVALID_SCRYPT_PARAMS"
        );
        // The hard 1 GiB cap, whatever maxmem says.
        assert_eq!(
            code(mk(f64::from(1u32 << 30), 8.0, 1.0, 2f64.powi(53) - 1.0)),
            "ERR_CRYPTO_INVALID_SCRYPT_PARAMS"
        );
        assert_eq!(code(mk(1.5, 8.0, 1.0, 0.0)), "ERR_OUT_OF_RANGE");
        assert_eq!(code(mk(1024.0, 8.0, -1.0, 0.0)), "ERR_OUT_OF_RANGE");
        let missing_keylen = obj(&[Param::Str("pw"), Param::Str("salt")]);
        assert_eq!(code(missing_keylen), "ERR_INVALID_ARG_TYPE");
        let empty = obj(&[
            Param::Str("pw"),
            Param::Str("s"),
            Param::Number(0.0),
            Param::Number(16.0),
        ]);
        assert_eq!(
            kernels::run(Kernel::Scrypt, &empty, &t()),
            Ok(Output::Bytes(vec![]))
        );
    }

    fn pbkdf2_case(digest: Pbkdf2Digest, pw: &[u8], salt: &[u8], c: u64, dk: &[u8]) {
        let p = Pbkdf2Params {
            password: pw,
            salt,
            iterations: c as u32,
            keylen: dk.len(),
            digest,
        };
        assert_eq!(pbkdf2(&p, &t()).unwrap(), dk);
    }

    #[test]
    fn pbkdf2_rfc6070() {
        let d = json("rfc-vectors/rfc6070_pbkdf2_sha1.json");
        let mut count = 0;
        for v in d["vectors"].as_array().unwrap() {
            if n(v, "iterations") > 100_000 {
                continue;
            }
            let (pw, salt) = (unhex(s(v, "password_hex")), unhex(s(v, "salt_hex")));
            assert_eq!(n(v, "dk_len") as usize * 2, s(v, "dk_hex").len());
            pbkdf2_case(
                Pbkdf2Digest::Sha1,
                &pw,
                &salt,
                n(v, "iterations"),
                &unhex(s(v, "dk_hex")),
            );
            count += 1;
        }
        assert_eq!(count, 5);
    }

    #[test]
    fn pbkdf2_wycheproof() {
        for (file, digest) in [
            ("pbkdf2_hmacsha1_test.json", Pbkdf2Digest::Sha1),
            ("pbkdf2_hmacsha256_test.json", Pbkdf2Digest::Sha256),
            ("pbkdf2_hmacsha384_test.json", Pbkdf2Digest::Sha384),
            ("pbkdf2_hmacsha512_test.json", Pbkdf2Digest::Sha512),
        ] {
            let d = json(&format!("wycheproof/testvectors_v1/{file}"));
            let mut count = 0;
            for g in d["testGroups"].as_array().unwrap() {
                for v in g["tests"].as_array().unwrap() {
                    assert_eq!(s(v, "result"), "valid");
                    if n(v, "iterationCount") > 100_000 {
                        continue;
                    }
                    let dk = unhex(s(v, "dk"));
                    assert_eq!(dk.len() as u64, n(v, "dkLen"));
                    pbkdf2_case(
                        digest,
                        &unhex(s(v, "password")),
                        &unhex(s(v, "salt")),
                        n(v, "iterationCount"),
                        &dk,
                    );
                    count += 1;
                }
            }
            assert!(count >= 50, "{file}: {count}");
        }
    }

    #[test]
    fn pbkdf2_input_checks() {
        let code = |ps: &[Param<'static>]| pbkdf2_params(&obj(ps)).unwrap_err().code;
        let (pw, salt) = (Param::Str("p"), Param::Bytes(b"s"));
        assert_eq!(
            code(&[pw, salt, Param::Number(0.0), Param::Number(1.0)]),
            "ERR_OUT_OF_RANGE"
        );
        assert_eq!(
            code(&[pw, salt, Param::Number(2f64.powi(31)), Param::Number(1.0)]),
            "ERR_OUT_OF_RANGE"
        );
        assert_eq!(
            code(&[
                pw,
                salt,
                Param::Number(1.0),
                Param::Number(1.0),
                Param::Str("md5")
            ]),
            "ERR_CRYPTO_INVALID_DIGEST"
        );
        assert_eq!(code(&[pw, Param::Other("null")]), "ERR_INVALID_ARG_TYPE");
        assert_eq!(
            code(&[
                pw,
                salt,
                Param::Number(1.0),
                Param::Number(f64::from(1u32 << 21))
            ]),
            "ERR_OUT_OF_RANGE"
        );
        // The work bound: iterations × blocks.
        let max = Param::Number(2f64.powi(31) - 1.0);
        let ok = [pw, salt, max, Param::Number(32.0)];
        assert!(pbkdf2_params(&obj(&ok)).is_ok());
        assert_eq!(
            code(&[pw, salt, max, Param::Number(33.0)]),
            "ERR_OUT_OF_RANGE"
        );
    }
}
