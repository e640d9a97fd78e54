//! `argon2.hash` and `argon2.verify` (the `argon2-rust` crate, PHC strings).
//!
//! Every hash runs on the calling pool thread: the crate's `parallel` feature is off and every
//! `Params` is built with `threads(1)`, so a `p=4` hash computes its four lanes one after the
//! other instead of starting helper threads behind the pool's back.

use super::failed;
use crate::executor::CancelToken;
use crate::kernels::{
    check_range, Input, InputKind, Kernel, KernelError, Output, Param, RunError, Value,
};
use ::argon2_rust::params::{Memory, TagLen};
use ::argon2_rust::{Algorithm, Argon2, Hasher, Params, Version};
use std::cell::RefCell;

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
/// `argon2.hash` defaults (OWASP's, and @node-rs/argon2's): 19 MiB, 2 passes.
const ARGON2_DEFAULT_MEMORY_KIB: u32 = 19_456;
const ARGON2_DEFAULT_TIME: u32 = 2;

/// `argon2.hash`: `{ password, type = 'argon2id', memoryCost, timeCost, parallelism, salt? }`.
pub struct Argon2Hash;

/// Checked `argon2.hash` input.
#[derive(Debug)]
pub struct Argon2HashArgs {
    pub password: Vec<u8>,
    /// Version 0x13, one thread, a [`ARGON2_TAG_LEN`]-byte tag.
    pub argon2: Argon2,
    /// A given salt; `None`: a random one.
    pub salt: Option<Vec<u8>>,
}

/// Argon2 parameters that run on the calling thread only.
fn params(
    memory_kib: u32,
    time: u32,
    lanes: u32,
    tag_len: usize,
) -> Result<Params, ::argon2_rust::Error> {
    Params::builder()
        .memory(Memory::kib(memory_kib.into()))
        .passes(time)
        .lanes(lanes)
        .threads(1)
        .tag_len(TagLen::bytes(tag_len as u64))
        .build()
}

impl Kernel for Argon2Hash {
    const NAME: &'static str = "argon2.hash";
    const INPUT: InputKind = InputKind::Object(&[
        Param::bytes("password"),
        Param::opt_str("type"),
        // The lower bound is 8 × parallelism, checked in `prepare`.
        Param::int(
            "memoryCost",
            8,
            ARGON2_MAX_MEMORY_KIB as u64,
            Some(ARGON2_DEFAULT_MEMORY_KIB as u64),
        ),
        Param::int(
            "timeCost",
            1,
            ARGON2_MAX_TIME as u64,
            Some(ARGON2_DEFAULT_TIME as u64),
        ),
        Param::int("parallelism", 1, ARGON2_MAX_PARALLELISM as u64, Some(1)),
        Param::opt_bytes("salt"),
    ]);
    type Args = Box<Argon2HashArgs>;

    fn prepare(mut input: Input<'_>) -> Result<Self::Args, KernelError> {
        let f = &mut input.fields;
        let password = f.bytes("password")?;
        let algorithm = match f.opt_str("type")?.as_deref() {
            None | Some("argon2id") => Algorithm::Argon2id,
            Some("argon2d") => Algorithm::Argon2d,
            Some("argon2i") => Algorithm::Argon2i,
            Some(other) => {
                return Err(KernelError::out_of_range(format!(
                    "The value of \"input.type\" is out of range. It must be one of 'argon2d', \
                     'argon2i', 'argon2id'. Received '{other}'"
                )))
            }
        };
        let parallelism = f.int("parallelism")? as u32;
        let memory = f.int("memoryCost")? as u32;
        check_range(
            "memoryCost",
            memory.into(),
            8 * u64::from(parallelism),
            ARGON2_MAX_MEMORY_KIB.into(),
        )?;
        let time = f.int("timeCost")? as u32;
        let salt = f.opt_bytes("salt")?;
        if let Some(s) = &salt {
            if !(ARGON2_MIN_SALT..=ARGON2_MAX_SALT).contains(&s.len()) {
                return Err(KernelError::out_of_range(format!(
                    "The length of \"input.salt\" is out of range. It must be >= \
                     {ARGON2_MIN_SALT} && <= {ARGON2_MAX_SALT} bytes. Received {}",
                    s.len()
                )));
            }
        }
        let params = params(memory, time, parallelism, ARGON2_TAG_LEN)
            .map_err(|e| KernelError::out_of_range(format!("invalid Argon2 parameters: {e}")))?;
        Ok(Box::new(Argon2HashArgs {
            password,
            argon2: Argon2::new(algorithm, Version::V0x13, params),
            salt,
        }))
    }

    fn run(args: &Self::Args, _: Value<'_>, token: &CancelToken<'_>) -> Result<Output, RunError> {
        Ok(Output::Str(argon2_hash(args, token)?))
    }
}

/// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$tag`) for `p`, with a random 16-byte salt
/// unless `p.salt` is given.
pub fn argon2_hash(p: &Argon2HashArgs, token: &CancelToken<'_>) -> Result<String, RunError> {
    token.check()?;
    let mut random = [0u8; ARGON2_SALT_LEN];
    let salt = match &p.salt {
        Some(s) => s.as_slice(),
        None => {
            getrandom::getrandom(&mut random).map_err(failed)?;
            &random
        }
    };
    let mut tag = [0u8; ARGON2_TAG_LEN];
    argon2_tag(p.argon2, &p.password, salt, &[], &mut tag).map_err(failed)?;
    let a = &p.argon2;
    let phc =
        ::argon2_rust::encode_string_alloc(a.algorithm(), a.version(), a.params(), salt, &tag);
    Ok(phc.map_err(failed)?)
}

/// Argon2 working memory kept on each pool thread between tasks, up to this many 1 KiB blocks
/// (32 MiB): allocating the default 19 MiB afresh cost ~6 ms of page faults per hash here, a
/// quarter of the hash. Larger memory costs allocate per task and give the memory back.
const ARGON2_KEEP_BLOCKS: u32 = 32 * 1024;

thread_local! {
    /// This thread's hasher; it keeps the largest arena it was used with (≤ 32 MiB). `Hasher`
    /// is `!Sync`, so one per thread; creating it allocates nothing.
    static ARGON2_HASHER: RefCell<Hasher> = RefCell::new(
        Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT).hasher(),
    );
}

/// Computes the Argon2 tag of `argon2` into `out` (`out.len()` is its tag length), reusing
/// this thread's working memory up to [`ARGON2_KEEP_BLOCKS`]. The crate wipes the memory after
/// each hash.
fn argon2_tag(
    argon2: Argon2,
    password: &[u8],
    salt: &[u8],
    ad: &[u8],
    out: &mut [u8],
) -> Result<(), ::argon2_rust::Error> {
    if argon2.params().memory_blocks() > ARGON2_KEEP_BLOCKS {
        return argon2.hash_into_with_ad(password, salt, &[], ad, out);
    }
    ARGON2_HASHER.with(|h| {
        let mut h = h.borrow_mut();
        h.set_argon2(argon2);
        h.hash_into_with_ad(password, salt, &[], ad, out)
    })
}

/// Blocks of working memory this thread's hasher holds (for the reuse bound's test).
#[cfg(test)]
pub(super) fn reserved_blocks() -> usize {
    ARGON2_HASHER.with(|h| h.borrow().reserved_blocks())
}

fn bad_phc(why: impl std::fmt::Display) -> KernelError {
    KernelError::invalid_value(format!(
        "The \"input.hash\" property is not a valid Argon2 PHC string: {why}"
    ))
}

/// The longest PHC string accepted, checked before anything is decoded: the prefix, the
/// parameters with `keyid` and `data` at their maximum, a 48-byte salt and a 64-byte tag fit
/// in about 260 characters.
const ARGON2_MAX_PHC_LEN: usize = 512;
/// Stored tag length bounds (those of the PHC string format, and of argon2 0.5 before).
const ARGON2_MIN_STORED_TAG: usize = 10;
const ARGON2_MAX_STORED_TAG: usize = 64;
/// `keyid` and `data` bounds of the PHC format for Argon2, in bytes.
const ARGON2_MAX_KEYID: usize = 8;
const ARGON2_MAX_DATA: usize = 32;

/// A stored Argon2 PHC string, parsed once (in `prepare`) into what verification needs.
#[derive(Debug)]
pub struct StoredArgon2 {
    /// The stored algorithm, version and parameters, one thread, the stored tag's length.
    pub argon2: Argon2,
    pub salt: Vec<u8>,
    pub tag: Vec<u8>,
    /// The `data=` parameter (hashed in as associated data, as libargon2 and argon2 0.5 do).
    pub ad: Vec<u8>,
}

impl StoredArgon2 {
    /// Parses a PHC string and checks it against the pool's bounds (so a stored hash cannot
    /// make the pool allocate more than [`ARGON2_MAX_MEMORY_KIB`]). A string without `v=` is
    /// version 0x10, like libargon2 (and the reference self-test strings).
    pub fn parse(hash: &str) -> Result<Self, KernelError> {
        if hash.len() > ARGON2_MAX_PHC_LEN {
            return Err(bad_phc("too long"));
        }
        check_phc_params(hash)?;
        let d = ::argon2_rust::decode_phc(hash).map_err(bad_phc)?;
        let p = &d.params;
        if p.memory_kib() > ARGON2_MAX_MEMORY_KIB
            || p.passes() > ARGON2_MAX_TIME
            || p.lanes() > ARGON2_MAX_PARALLELISM
        {
            return Err(bad_phc("its parameters exceed the pool's bounds"));
        }
        if !(ARGON2_MIN_SALT..=ARGON2_MAX_SALT).contains(&d.salt.len())
            || !(ARGON2_MIN_STORED_TAG..=ARGON2_MAX_STORED_TAG).contains(&d.hash.len())
            || d.ad.len() > ARGON2_MAX_DATA
        {
            return Err(bad_phc("salt, hash or data of a length out of range"));
        }
        // Decoded parameters run one thread per lane; these run on the calling thread.
        let one_thread =
            params(p.memory_kib(), p.passes(), p.lanes(), d.hash.len()).map_err(bad_phc)?;
        Ok(Self {
            argon2: Argon2::new(d.algorithm, d.version, one_thread),
            salt: d.salt,
            tag: d.hash,
            ad: d.ad,
        })
    }

    /// Whether `password` gives this tag (constant-time comparison).
    pub fn verify(&self, password: &[u8], token: &CancelToken<'_>) -> Result<bool, RunError> {
        token.check()?;
        let mut tag = vec![0u8; self.tag.len()];
        argon2_tag(self.argon2, password, &self.salt, &self.ad, &mut tag).map_err(bad_phc)?;
        Ok(::argon2_rust::constant_time_eq(&tag, &self.tag))
    }
}

/// The parameter list of a PHC string must name only Argon2's parameters (`m`, `t`, `p`,
/// `keyid`, `data`), each at most once, with `keyid` valid base64 of at most 8 bytes: the
/// crate's decoder ignores unknown and repeated keys and `keyid`, which earlier versions of the
/// pool (argon2 0.5) refused.
fn check_phc_params(hash: &str) -> Result<(), KernelError> {
    // `$argon2id$v=19$m=…,t=…,p=…$salt$tag`: the field after the optional `v=`.
    let mut fields = hash.split('$').skip(2);
    let list = match fields.next() {
        Some(v) if v.starts_with("v=") => fields.next(),
        other => other,
    };
    let Some(list) = list else {
        return Err(bad_phc("no parameters"));
    };
    let mut seen = [false; 5];
    for pair in list.split(',') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(i) = ["m", "t", "p", "keyid", "data"]
            .iter()
            .position(|&k| k == key)
        else {
            return Err(bad_phc(format!("unknown parameter '{key}'")));
        };
        if std::mem::replace(&mut seen[i], true) {
            return Err(bad_phc(format!("parameter '{key}' given twice")));
        }
        if key == "keyid" {
            let ok = ::argon2_rust::decode_base64(value.as_bytes())
                .is_ok_and(|id| !id.is_empty() && id.len() <= ARGON2_MAX_KEYID);
            if !ok {
                return Err(bad_phc("invalid keyid"));
            }
        }
    }
    Ok(())
}

/// `argon2.verify`: `{ password, hash }` → whether they match.
pub struct Argon2Verify;

impl Kernel for Argon2Verify {
    const NAME: &'static str = "argon2.verify";
    const INPUT: InputKind = InputKind::Object(&[Param::bytes("password"), Param::str("hash")]);
    type Args = Box<(Vec<u8>, StoredArgon2)>;

    fn prepare(mut input: Input<'_>) -> Result<Self::Args, KernelError> {
        let password = input.fields.bytes("password")?;
        let stored = StoredArgon2::parse(&input.fields.str("hash")?)?;
        Ok(Box::new((password, stored)))
    }

    fn run(args: &Self::Args, _: Value<'_>, token: &CancelToken<'_>) -> Result<Output, RunError> {
        let (password, stored) = &**args;
        Ok(Output::Bool(stored.verify(password, token)?))
    }
}

/// Whether `password` matches an Argon2 PHC string.
pub fn argon2_verify(
    password: &[u8],
    hash: &str,
    token: &CancelToken<'_>,
) -> Result<bool, RunError> {
    StoredArgon2::parse(hash)?.verify(password, token)
}
