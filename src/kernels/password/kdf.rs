//! `scrypt` and `pbkdf2` (RustCrypto), equal to Node's `crypto.scrypt` and `crypto.pbkdf2`.

use super::failed;
use crate::executor::CancelToken;
use crate::kernels::{Input, InputKind, Kernel, KernelError, Output, Param, RunError, Value};

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

const U32_MAX: u64 = u32::MAX as u64;

/// `scrypt`: `{ password, salt, keylen, N, r, p, maxmem }`. As in Node, 0 (or absent) for N,
/// r, p, maxmem means the default (16384, 8, 1, 32 MiB).
pub struct Scrypt;

/// Checked `scrypt` input.
#[derive(Debug)]
pub struct ScryptParams {
    pub password: Vec<u8>,
    pub salt: Vec<u8>,
    pub keylen: usize,
    pub log_n: u8,
    pub r: u32,
    pub p: u32,
}

/// The memory Node/OpenSSL charge for scrypt (`EVP_PBE_scrypt`): `128·r·(N + p + 2)` bytes.
pub fn scrypt_memory(n: u64, r: u64, p: u64) -> u128 {
    128 * u128::from(r) * (u128::from(n) + u128::from(p) + 2)
}

impl Kernel for Scrypt {
    const NAME: &'static str = "scrypt";
    const INPUT: InputKind = InputKind::Object(&[
        Param::bytes("password"),
        Param::bytes("salt"),
        Param::int("keylen", 0, MAX_KEYLEN, None),
        Param::int("N", 0, U32_MAX, Some(0)),
        Param::int("r", 0, U32_MAX, Some(0)),
        Param::int("p", 0, U32_MAX, Some(0)),
        Param::int("maxmem", 0, (1 << 53) - 1, Some(0)),
    ]);
    type Args = Box<ScryptParams>;

    fn prepare(mut input: Input<'_>) -> Result<Self::Args, KernelError> {
        let f = &mut input.fields;
        let password = f.bytes("password")?;
        let salt = f.bytes("salt")?;
        let keylen = f.int("keylen")? as usize;
        let or = |v: u64, d: u64| if v == 0 { d } else { v };
        let n = or(f.int("N")?, 16384);
        let r = or(f.int("r")?, 8);
        let p = or(f.int("p")?, 1);
        let maxmem = or(f.int("maxmem")?, SCRYPT_DEFAULT_MAXMEM);
        let invalid =
            |why: &str| KernelError::scrypt_params(format!("Invalid scrypt params: {why}"));
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
        Ok(Box::new(ScryptParams {
            password,
            salt,
            keylen,
            log_n,
            r: r as u32,
            p: p as u32,
        }))
    }

    fn run(args: &Self::Args, _: Value<'_>, token: &CancelToken<'_>) -> Result<Output, RunError> {
        Ok(Output::Bytes(scrypt(args, token)?))
    }
}

/// The scrypt key for `s`, equal to Node's `crypto.scrypt`.
pub fn scrypt(s: &ScryptParams, token: &CancelToken<'_>) -> Result<Vec<u8>, RunError> {
    token.check()?;
    let mut out = vec![0u8; s.keylen];
    if out.is_empty() {
        return Ok(out);
    }
    // The `len` of `Params` only matters for PHC strings; the output length is `out.len()`.
    let params = ::scrypt::Params::new(s.log_n, s.r, s.p, 32)
        .map_err(|_| KernelError::scrypt_params("Invalid scrypt params"))?;
    ::scrypt::scrypt(&s.password, &s.salt, &params, &mut out).map_err(failed)?;
    Ok(out)
}

/// The digests `pbkdf2` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pbkdf2Digest {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

/// `pbkdf2`: `{ password, salt, iterations, keylen, digest = 'sha256' }`.
pub struct Pbkdf2;

/// Checked `pbkdf2` input.
#[derive(Debug)]
pub struct Pbkdf2Params {
    pub password: Vec<u8>,
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub keylen: usize,
    pub digest: Pbkdf2Digest,
}

impl Kernel for Pbkdf2 {
    const NAME: &'static str = "pbkdf2";
    const INPUT: InputKind = InputKind::Object(&[
        Param::bytes("password"),
        Param::bytes("salt"),
        Param::int("iterations", 1, PBKDF2_MAX_ITERATIONS, None),
        Param::int("keylen", 0, MAX_KEYLEN, None),
        Param::opt_str("digest"),
    ]);
    type Args = Box<Pbkdf2Params>;

    fn prepare(mut input: Input<'_>) -> Result<Self::Args, KernelError> {
        let f = &mut input.fields;
        let password = f.bytes("password")?;
        let salt = f.bytes("salt")?;
        let iterations = f.int("iterations")? as u32;
        let keylen = f.int("keylen")? as usize;
        let digest = match f.opt_str("digest")?.as_deref() {
            None | Some("sha256") => Pbkdf2Digest::Sha256,
            Some("sha1") => Pbkdf2Digest::Sha1,
            Some("sha384") => Pbkdf2Digest::Sha384,
            Some("sha512") => Pbkdf2Digest::Sha512,
            Some(other) => {
                return Err(KernelError::invalid_digest(format!(
                    "Invalid digest: {other}"
                )))
            }
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
        Ok(Box::new(Pbkdf2Params {
            password,
            salt,
            iterations,
            keylen,
            digest,
        }))
    }

    fn run(args: &Self::Args, _: Value<'_>, token: &CancelToken<'_>) -> Result<Output, RunError> {
        Ok(Output::Bytes(pbkdf2(args, token)?))
    }
}

/// The PBKDF2-HMAC key for `p`, equal to Node's `crypto.pbkdf2`.
pub fn pbkdf2(p: &Pbkdf2Params, token: &CancelToken<'_>) -> Result<Vec<u8>, RunError> {
    token.check()?;
    let mut out = vec![0u8; p.keylen];
    let (pw, salt, c) = (&p.password[..], &p.salt[..], p.iterations);
    match p.digest {
        Pbkdf2Digest::Sha1 => ::pbkdf2::pbkdf2_hmac::<sha1::Sha1>(pw, salt, c, &mut out),
        Pbkdf2Digest::Sha256 => ::pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pw, salt, c, &mut out),
        Pbkdf2Digest::Sha384 => ::pbkdf2::pbkdf2_hmac::<sha2::Sha384>(pw, salt, c, &mut out),
        Pbkdf2Digest::Sha512 => ::pbkdf2::pbkdf2_hmac::<sha2::Sha512>(pw, salt, c, &mut out),
    }
    Ok(out)
}
