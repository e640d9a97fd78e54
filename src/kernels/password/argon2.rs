//! `argon2.hash` and `argon2.verify` (RustCrypto `argon2`, PHC strings).

use super::failed;
use crate::executor::CancelToken;
use crate::kernels::{
    check_range, Input, InputKind, Kernel, KernelError, Output, Param, RunError, Value,
};
use ::argon2::password_hash::{Output as HashOutput, ParamsString, PasswordHash, SaltString};
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

/// `argon2.hash`: `{ password, type = 'argon2id', memoryCost, timeCost, parallelism, salt? }`.
pub struct Argon2Hash;

/// Checked `argon2.hash` input.
#[derive(Debug)]
pub struct Argon2HashArgs {
    pub password: Vec<u8>,
    pub algorithm: ::argon2::Algorithm,
    pub params: ::argon2::Params,
    /// A given salt; `None`: a random one.
    pub salt: Option<Vec<u8>>,
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
            Some(::argon2::Params::DEFAULT_M_COST as u64),
        ),
        Param::int(
            "timeCost",
            1,
            ARGON2_MAX_TIME as u64,
            Some(::argon2::Params::DEFAULT_T_COST as u64),
        ),
        Param::int("parallelism", 1, ARGON2_MAX_PARALLELISM as u64, Some(1)),
        Param::opt_bytes("salt"),
    ]);
    type Args = Box<Argon2HashArgs>;

    fn prepare(mut input: Input<'_>) -> Result<Self::Args, KernelError> {
        let f = &mut input.fields;
        let password = f.bytes("password")?;
        let algorithm = match f.opt_str("type")?.as_deref() {
            None | Some("argon2id") => ::argon2::Algorithm::Argon2id,
            Some("argon2d") => ::argon2::Algorithm::Argon2d,
            Some("argon2i") => ::argon2::Algorithm::Argon2i,
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
        let params = ::argon2::Params::new(memory, time, parallelism, Some(ARGON2_TAG_LEN))
            .map_err(|e| KernelError::out_of_range(format!("invalid Argon2 parameters: {e}")))?;
        Ok(Box::new(Argon2HashArgs {
            password,
            algorithm,
            params,
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
    let hasher = ::argon2::Argon2::new(p.algorithm, ::argon2::Version::V0x13, p.params.clone());
    let mut tag = [0u8; ARGON2_TAG_LEN];
    argon2_tag(&hasher, p.params.block_count(), &p.password, salt, &mut tag).map_err(failed)?;
    let salt = SaltString::encode_b64(salt).map_err(failed)?;
    let phc = PasswordHash {
        algorithm: p.algorithm.ident(),
        version: Some(::argon2::Version::V0x13.into()),
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
    static ARGON2_MEMORY: RefCell<Vec<::argon2::Block>> = const { RefCell::new(Vec::new()) };
}

/// Computes an Argon2 tag into `out`, reusing this thread's working memory. Argon2 writes every
/// block before it reads it, so what a previous task left there does not matter.
fn argon2_tag(
    hasher: &::argon2::Argon2<'_>,
    blocks: usize,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), ::argon2::Error> {
    if blocks > ARGON2_KEEP_BLOCKS {
        return hasher.hash_password_into(password, salt, out);
    }
    ARGON2_MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < blocks {
            m.resize(blocks, ::argon2::Block::default());
        }
        hasher.hash_password_into_with_memory(password, salt, out, &mut m[..blocks])
    })
}

fn bad_phc(why: impl std::fmt::Display) -> KernelError {
    KernelError::invalid_value(format!(
        "The \"input.hash\" property is not a valid Argon2 PHC string: {why}"
    ))
}

/// A stored Argon2 PHC string, parsed once (in `prepare`) into what verification needs.
#[derive(Debug)]
pub struct StoredArgon2 {
    pub algorithm: ::argon2::Algorithm,
    pub version: ::argon2::Version,
    /// With the stored tag's length as the output length.
    pub params: ::argon2::Params,
    pub salt: Vec<u8>,
    pub tag: Vec<u8>,
}

impl StoredArgon2 {
    /// Parses a PHC string and checks it against the pool's bounds (so a stored hash cannot
    /// make the pool allocate more than [`ARGON2_MAX_MEMORY_KIB`]).
    pub fn parse(hash: &str) -> Result<Self, KernelError> {
        let mut parsed = PasswordHash::new(hash).map_err(bad_phc)?;
        // Like libargon2 (and the reference self-test strings), a PHC string without `v=` is
        // version 0x10; the crate would otherwise assume 0x13.
        parsed.version = parsed.version.or(Some(0x10));
        let algorithm = ::argon2::Algorithm::try_from(parsed.algorithm).map_err(bad_phc)?;
        let version =
            ::argon2::Version::try_from(parsed.version.unwrap_or(0x10)).map_err(bad_phc)?;
        // Also takes the tag length from the stored hash.
        let params = ::argon2::Params::try_from(&parsed).map_err(bad_phc)?;
        if params.m_cost() > ARGON2_MAX_MEMORY_KIB
            || params.t_cost() > ARGON2_MAX_TIME
            || params.p_cost() > ARGON2_MAX_PARALLELISM
        {
            return Err(bad_phc("its parameters exceed the pool's bounds"));
        }
        let (Some(salt), Some(tag)) = (parsed.salt, parsed.hash) else {
            return Err(bad_phc("missing salt or hash"));
        };
        let mut salt_buf = [0u8; 64];
        let salt = salt.decode_b64(&mut salt_buf).map_err(bad_phc)?.to_vec();
        Ok(Self {
            algorithm,
            version,
            params,
            salt,
            tag: tag.as_bytes().to_vec(),
        })
    }

    /// Whether `password` gives this tag (constant-time comparison).
    pub fn verify(&self, password: &[u8], token: &CancelToken<'_>) -> Result<bool, RunError> {
        token.check()?;
        let hasher = ::argon2::Argon2::new(self.algorithm, self.version, self.params.clone());
        let mut tag = vec![0u8; self.tag.len()];
        argon2_tag(
            &hasher,
            self.params.block_count(),
            password,
            &self.salt,
            &mut tag,
        )
        .map_err(bad_phc)?;
        // `Output`'s equality is constant-time.
        Ok(HashOutput::new(&tag).map_err(failed)? == HashOutput::new(&self.tag).map_err(failed)?)
    }
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
