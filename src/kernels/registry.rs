//! The registry: every kernel the pool can run, one line each. Adding a kernel is a module that
//! implements [`Kernel`](super::Kernel) plus one line here (and its entry in `index.d.ts`).

use super::{checksum, csv, echo, fib, hash, image, json, password};
use super::{Input, InputKind, Kernel, KernelError, Output, RunError, Value};
use crate::executor::{BatchKey, CancelToken};

/// Declares the kernels: `Id => Type` makes `KernelId::Id` (its number is its position, the id
/// JS passes) and `Args::Id`, the arguments of that kernel's `prepare` travelling in a job.
macro_rules! registry {
    ($($id:ident => $kernel:ty,)*) => {
        /// Every kernel, by the registry's order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum KernelId {
            $($id,)*
        }

        /// A kernel's prepared arguments: what a queued task carries besides its data.
        pub enum Args {
            $($id(<$kernel as Kernel>::Args),)*
        }

        impl KernelId {
            /// All kernels, in registry order (public ones first).
            pub const ALL: &'static [KernelId] = &[$(KernelId::$id,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(KernelId::$id => <$kernel as Kernel>::NAME,)*
                }
            }

            pub fn input(self) -> InputKind {
                match self {
                    $(KernelId::$id => <$kernel as Kernel>::INPUT,)*
                }
            }

            /// Runs the kernel's `prepare` (JS thread): checks and converts its input.
            pub fn prepare(self, input: Input<'_>) -> Result<Args, KernelError> {
                match self {
                    $(KernelId::$id => <$kernel as Kernel>::prepare(input).map(Args::$id),)*
                }
            }
        }

        impl Args {
            pub fn kernel(&self) -> KernelId {
                match self {
                    $(Args::$id(_) => KernelId::$id,)*
                }
            }

            /// Runs the kernel (worker thread) on its prepared arguments and data.
            pub fn run(&self, data: Value<'_>, token: &CancelToken<'_>) -> Result<Output, RunError> {
                match self {
                    $(Args::$id(a) => <$kernel as Kernel>::run(a, data, token),)*
                }
            }

            /// The kernel's batch key, made unique across kernels (the kernel's id in the top
            /// 32 bits), so only tasks of one kernel ever batch together.
            pub fn batch(&self) -> Option<BatchKey> {
                let (kernel, b) = match self {
                    $(Args::$id(a) => (KernelId::$id, <$kernel as Kernel>::batch(a)?),)*
                };
                Some(BatchKey { key: (kernel as u64) << 32 | (b.key & u64::from(u32::MAX)), ..b })
            }

            /// Runs items with equal `batch` keys together. `None` if they are not all of one
            /// kernel (the caller then runs them one by one).
            pub fn run_batch(
                items: &[(&Args, Value<'_>)],
                tokens: &[CancelToken<'_>],
            ) -> Option<Vec<Result<Output, RunError>>> {
                match items.first()?.0 {
                    $(Args::$id(_) => {
                        let typed = items
                            .iter()
                            .map(|(a, d)| match a {
                                Args::$id(x) => Some((x, *d)),
                                #[allow(unreachable_patterns)]
                                _ => None,
                            })
                            .collect::<Option<Vec<_>>>()?;
                        Some(<$kernel as Kernel>::run_batch(&typed, tokens))
                    })*
                }
            }
        }
    };
}

registry! {
    Echo => echo::Echo,
    Fib => fib::Fib,
    Md5 => hash::Md5,
    Sha1 => hash::Sha1,
    Sha224 => hash::Sha224,
    Sha256 => hash::Sha256,
    Sha384 => hash::Sha384,
    Sha512 => hash::Sha512,
    Sha3_256 => hash::Sha3_256,
    Sha3_512 => hash::Sha3_512,
    Blake2b512 => hash::Blake2b512,
    Blake3 => hash::Blake3,
    Hmac => hash::Hmac,
    Xxh32 => checksum::Xxh32,
    Xxh64 => checksum::Xxh64,
    Xxh3 => checksum::Xxh3,
    Xxh128 => checksum::Xxh128,
    Crc32 => checksum::Crc32,
    Crc32c => checksum::Crc32c,
    BcryptHash => password::BcryptHash,
    BcryptVerify => password::BcryptVerify,
    Argon2Hash => password::Argon2Hash,
    Argon2Verify => password::Argon2Verify,
    Scrypt => password::Scrypt,
    Pbkdf2 => password::Pbkdf2,
    CsvParse => csv::CsvParse,
    JsonParse => json::JsonParse,
    ImageMetadata => image::Metadata,
    ImageTransform => image::Transform,
    Panic => echo::Panic,
}

impl KernelId {
    pub fn from_name(name: &str) -> Option<KernelId> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Internal kernels (`__` names) are callable but not listed in `WorkerPool.kernels`.
    pub fn is_internal(self) -> bool {
        self.name().starts_with("__")
    }

    /// The kernel with the id JS passes (its registry position).
    pub fn from_id(id: f64) -> Option<KernelId> {
        if id >= 0.0 && id.fract() == 0.0 {
            Self::ALL.get(id as usize).copied()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for (i, &k) in KernelId::ALL.iter().enumerate() {
            assert_eq!(KernelId::from_name(k.name()), Some(k));
            assert_eq!(KernelId::from_id(i as f64), Some(k));
        }
        assert_eq!(KernelId::from_name("nope"), None);
        assert_eq!(KernelId::from_id(KernelId::ALL.len() as f64), None);
        assert_eq!(KernelId::from_id(1.5), None);
        assert!(KernelId::Panic.is_internal());
        assert!(!KernelId::Sha256.is_internal());
    }

    #[test]
    fn params_are_unique_and_never_data() {
        use super::super::Ty;
        for &k in KernelId::ALL {
            let params = k.input().params();
            for (i, p) in params.iter().enumerate() {
                assert_ne!(p.name, "data", "{}", k.name());
                // Object params nest one level (their errors name `input.outer.inner`).
                if let Ty::Object(inner) = p.ty {
                    assert!(inner.iter().all(|q| !matches!(q.ty, Ty::Object(_))));
                }
                assert!(
                    params[..i].iter().all(|q| q.name != p.name),
                    "{}: {} twice",
                    k.name(),
                    p.name
                );
            }
        }
    }

    /// Every public kernel, prepared from a valid input that gives each of its params, and run:
    /// reading every declared param proves the names in `prepare` match the declaration.
    #[test]
    fn every_kernel_prepares_and_runs_by_name() {
        use super::super::Field;
        let t = CancelToken::never();
        let s = |v: &str| Field::Str(v.into());
        let n = Field::Number;
        let bcrypt = password::bcrypt_hash(b"pw", 4, &t).unwrap();
        let png = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/images/alpha.png"
        ))
        .unwrap();
        let params = KernelId::ImageTransform.input().params();
        let resize = params.iter().find(|p| p.name == "resize");
        let Some(super::super::Ty::Object(resize_params)) = resize.map(|p| p.ty) else {
            panic!("resize is an object param")
        };
        let argon =
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$1+eWQnXHB98l6P/zBIxPhZtc3GxOQ4x8dO4ai7kqTDg";
        type Case<'a> = (KernelId, Value<'a>, Vec<(&'a str, Field)>);
        let cases: Vec<Case<'_>> = vec![
            (KernelId::Echo, Value::Number(1.0), vec![]),
            (KernelId::Fib, Value::Number(10.0), vec![]),
            (KernelId::Sha256, Value::Str("abc"), vec![]),
            (
                KernelId::Hmac,
                Value::Str("abc"),
                vec![("algorithm", s("sha256")), ("key", s("k"))],
            ),
            (
                KernelId::Xxh64,
                Value::Bytes(b"abc"),
                vec![("seed", n(5.0))],
            ),
            (KernelId::Crc32, Value::Str("123456789"), vec![]),
            (
                KernelId::BcryptHash,
                Value::Null,
                vec![("password", s("pw")), ("cost", n(4.0))],
            ),
            (
                KernelId::BcryptVerify,
                Value::Null,
                vec![("password", s("pw")), ("hash", Field::Str(bcrypt))],
            ),
            (
                KernelId::Argon2Hash,
                Value::Null,
                vec![
                    ("password", s("pw")),
                    ("type", s("argon2i")),
                    ("memoryCost", n(64.0)),
                    ("timeCost", n(1.0)),
                    ("parallelism", n(1.0)),
                    ("salt", s("somesaltsomesalt")),
                ],
            ),
            (
                KernelId::Argon2Verify,
                Value::Null,
                vec![("password", s("pw")), ("hash", s(argon))],
            ),
            (
                KernelId::Scrypt,
                Value::Null,
                vec![
                    ("password", s("pw")),
                    ("salt", s("salt")),
                    ("keylen", n(8.0)),
                    ("N", n(16.0)),
                    ("r", n(1.0)),
                    ("p", n(1.0)),
                    ("maxmem", n(1e6)),
                ],
            ),
            (
                KernelId::Pbkdf2,
                Value::Null,
                vec![
                    ("password", s("pw")),
                    ("salt", s("salt")),
                    ("iterations", n(2.0)),
                    ("keylen", n(8.0)),
                    ("digest", s("sha1")),
                ],
            ),
            (
                KernelId::CsvParse,
                Value::Str("a;b"),
                vec![
                    ("delimiter", s(";")),
                    ("quote", s("'")),
                    ("dynamicTyping", n(1.0)),
                    ("skipEmptyLines", n(1.0)),
                    ("start", n(0.0)),
                    ("target", n(100.0)),
                ],
            ),
            (
                KernelId::JsonParse,
                Value::Bytes(b"[1]"),
                vec![
                    ("utf16", n(0.0)),
                    ("start", n(0.0)),
                    ("startUnits", n(0.0)),
                    ("kind", n(0.0)),
                    ("target", n(100.0)),
                ],
            ),
            (
                KernelId::ImageMetadata,
                Value::Bytes(&png),
                vec![("limitInputPixels", n(1e6))],
            ),
            (
                KernelId::ImageTransform,
                Value::Bytes(&png),
                vec![
                    ("rotate", n(90.0)),
                    (
                        "resize",
                        Field::object(
                            "resize",
                            resize_params,
                            &[
                                ("width", n(20.0)),
                                ("height", n(20.0)),
                                ("fit", s("contain")),
                                ("position", s("north")),
                                ("kernel", s("mitchell")),
                                ("withoutEnlargement", Field::Bool(true)),
                                ("withoutReduction", Field::Bool(false)),
                                ("background", s("#ff000080")),
                            ],
                        ),
                    ),
                    ("background", s("#fff")),
                    ("format", s("webp")),
                    ("quality", n(50.0)),
                    ("lossless", Field::Bool(false)),
                    ("compressionLevel", n(9.0)),
                    ("limitInputPixels", Field::Bool(true)),
                ],
            ),
        ];
        for (k, value, fields) in cases {
            let input = Input::record(value, k.input().params(), &fields);
            let args = k
                .prepare(input)
                .unwrap_or_else(|e| panic!("{}: {e}", k.name()));
            assert_eq!(args.kernel(), k);
            let out = args
                .run(value, &t)
                .unwrap_or_else(|e| panic!("{}: {e}", k.name()));
            match k {
                KernelId::Fib => assert_eq!(out, Output::Number(55.0)),
                KernelId::Crc32 => assert_eq!(out, Output::Number(3421780262.0)),
                KernelId::Argon2Verify => assert_eq!(out, Output::Bool(false)),
                KernelId::BcryptVerify => assert_eq!(out, Output::Bool(true)),
                KernelId::ImageMetadata | KernelId::ImageTransform => {
                    assert!(matches!(out, Output::Object(_)), "{out:?}")
                }
                KernelId::Xxh64 => assert_eq!(
                    out,
                    Output::BigUint(checksum::xxh64(b"abc", 5, &t).unwrap().into())
                ),
                _ => {}
            }
        }
    }

    /// Every queued task carries one `Args`: keep it small (large arguments are boxed by their
    /// kernel), so a million queued tasks stay cheap.
    #[test]
    fn args_stay_small() {
        assert!(
            std::mem::size_of::<Args>() <= 32,
            "{}",
            std::mem::size_of::<Args>()
        );
    }
}
