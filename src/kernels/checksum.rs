//! Non-cryptographic hashes and checksums: xxHash (XXH32, XXH64, XXH3-64, XXH3-128) from
//! `xxhash-rust`, CRC-32 (ISO-HDLC, as zlib) from `crc32fast` and CRC-32C (Castagnoli) from
//! `crc32c`. Inputs longer than one block are fed in blocks with a cancellation check between
//! blocks (these run at several GB/s, so a block is well under a millisecond).

use super::hash::{for_blocks, BLOCK};
use super::Value;
use super::{data_bytes, Field, Input, InputKind, Kernel, KernelError, Output, Param, RunError};
use crate::executor::{CancelToken, Cancelled};
use xxhash_rust::{xxh3, xxh32, xxh64};

/// Declares a checksum kernel over a data input. `$seed`: the widest seed it takes (xxHash),
/// read from the `seed` param; the seed travels as the kernel's arguments.
macro_rules! checksum_kernel {
    ($(#[$doc:meta])* $ty:ident, $name:literal, seed: $max:expr, |$data:ident, $s:ident, $t:ident| $body:expr) => {
        $(#[$doc])*
        pub struct $ty;

        impl Kernel for $ty {
            const NAME: &'static str = $name;
            const INPUT: InputKind = InputKind::Data(&[Param::raw("seed")]);
            type Args = u64;

            fn prepare(mut input: Input<'_>) -> Result<u64, KernelError> {
                data_bytes($name, input.value)?;
                seed($name, $max, input.fields.raw("seed"))
            }

            fn run(&$s: &u64, data: Value<'_>, $t: &CancelToken<'_>) -> Result<Output, RunError> {
                let $data = data_bytes($name, data)?;
                Ok($body)
            }
        }
    };
    ($(#[$doc:meta])* $ty:ident, $name:literal, |$data:ident, $t:ident| $body:expr) => {
        $(#[$doc])*
        pub struct $ty;

        impl Kernel for $ty {
            const NAME: &'static str = $name;
            const INPUT: InputKind = InputKind::Data(&[]);
            type Args = ();

            fn prepare(input: Input<'_>) -> Result<(), KernelError> {
                data_bytes($name, input.value).map(drop)
            }

            fn run(_: &(), data: Value<'_>, $t: &CancelToken<'_>) -> Result<Output, RunError> {
                let $data = data_bytes($name, data)?;
                Ok($body)
            }
        }
    };
}

checksum_kernel!(
    /// XXH32: a `number`.
    Xxh32, "xxh32", seed: u32::MAX as u64,
    |data, s, t| Output::Number(xxh32(data, s as u32, t)?.into())
);
checksum_kernel!(
    /// XXH64: a `bigint`.
    Xxh64, "xxh64", seed: u64::MAX,
    |data, s, t| Output::BigUint(xxh64(data, s, t)?.into())
);
checksum_kernel!(
    /// XXH3-64: a `bigint`.
    Xxh3, "xxh3", seed: u64::MAX,
    |data, s, t| Output::BigUint(xxh3_64(data, s, t)?.into())
);
checksum_kernel!(
    /// XXH3-128: a `bigint`.
    Xxh128, "xxh128", seed: u64::MAX,
    |data, s, t| Output::BigUint(xxh3_128(data, s, t)?)
);
checksum_kernel!(
    /// CRC-32: a `number`.
    Crc32, "crc32", |data, t| Output::Number(crc32(data, t)?.into())
);
checksum_kernel!(
    /// CRC-32C: a `number`.
    Crc32c, "crc32c", |data, t| Output::Number(crc32c(data, t)?.into())
);

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Reads the `seed` param of an xxHash kernel: missing means 0; a number must be a
/// non-negative safe integer and a bigint must be non-negative, both at most the hash's seed
/// width (u32 for xxh32, u64 otherwise).
pub fn seed(kernel: &str, max: u64, p: Field) -> Result<u64, KernelError> {
    let out_of_range = |limit: String, received: String| {
        KernelError::out_of_range(format!(
            "The value of \"input.seed\" is out of range. It must be {limit} for {kernel}. \
             Received {received}"
        ))
    };
    match p {
        Field::Missing => Ok(0),
        Field::Number(n) => {
            if n.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&n) && n as u64 <= max {
                Ok(n as u64)
            } else {
                let top = max.min(MAX_SAFE_INTEGER as u64);
                Err(out_of_range(
                    format!("an integer >= 0 and <= {top}"),
                    format!("{n}"),
                ))
            }
        }
        Field::BigInt(b) => match b.magnitude {
            Some(m) if m == 0 || (!b.negative && m <= max as u128) => Ok(m as u64),
            m => {
                let received = match (m, b.negative) {
                    (Some(m), true) => format!("-{m}n"),
                    (Some(m), false) => format!("{m}n"),
                    (None, true) => "a negative bigint wider than 128 bits".into(),
                    (None, false) => "a bigint wider than 128 bits".into(),
                };
                Err(out_of_range(format!(">= 0n and <= {max}n"), received))
            }
        },
        other => Err(KernelError::invalid_type(format!(
            "The \"input.seed\" property must be of type number or bigint. Received type {}",
            other.type_name()
        ))),
    }
}

pub fn xxh32(data: &[u8], seed: u32, token: &CancelToken<'_>) -> Result<u32, Cancelled> {
    if data.len() <= BLOCK {
        return Ok(xxh32::xxh32(data, seed));
    }
    let mut h = xxh32::Xxh32::new(seed);
    for_blocks(data, token, |b| h.update(b))?;
    Ok(h.digest())
}

pub fn xxh64(data: &[u8], seed: u64, token: &CancelToken<'_>) -> Result<u64, Cancelled> {
    if data.len() <= BLOCK {
        return Ok(xxh64::xxh64(data, seed));
    }
    let mut h = xxh64::Xxh64::new(seed);
    for_blocks(data, token, |b| h.update(b))?;
    Ok(h.digest())
}

/// XXH3, 64-bit output (`XXH3_64bits_withSeed`).
pub fn xxh3_64(data: &[u8], seed: u64, token: &CancelToken<'_>) -> Result<u64, Cancelled> {
    if data.len() <= BLOCK {
        return Ok(xxh3::xxh3_64_with_seed(data, seed));
    }
    let mut h = xxh3::Xxh3::with_seed(seed);
    for_blocks(data, token, |b| h.update(b))?;
    Ok(h.digest())
}

/// XXH3, 128-bit output (`XXH3_128bits_withSeed`).
pub fn xxh3_128(data: &[u8], seed: u64, token: &CancelToken<'_>) -> Result<u128, Cancelled> {
    if data.len() <= BLOCK {
        return Ok(xxh3::xxh3_128_with_seed(data, seed));
    }
    let mut h = xxh3::Xxh3::with_seed(seed);
    for_blocks(data, token, |b| h.update(b))?;
    Ok(h.digest128())
}

/// CRC-32/ISO-HDLC, the zlib/gzip/PNG CRC.
pub fn crc32(data: &[u8], token: &CancelToken<'_>) -> Result<u32, Cancelled> {
    let mut h = crc32fast::Hasher::new();
    for_blocks(data, token, |b| h.update(b))?;
    Ok(h.finalize())
}

/// CRC-32C (Castagnoli, CRC-32/ISCSI).
pub fn crc32c(data: &[u8], token: &CancelToken<'_>) -> Result<u32, Cancelled> {
    let mut crc = 0;
    for_blocks(data, token, |b| crc = crc32c::crc32c_append(crc, b))?;
    Ok(crc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::TaskCtl;
    use crate::kernels::conformance::*;
    use crate::kernels::BigInt;
    use crate::kernels::KernelId;
    use serde_json::Value;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    fn int(v: &Value) -> u128 {
        let s = v.as_str().expect("hex string");
        u128::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex")
    }

    fn num(v: &Value) -> u64 {
        v.as_u64().expect("u64")
    }

    /// Hashes `data` whole and again as a 3-block input through the streaming path (the same
    /// bytes repeated would give a different hash, so the long form is compared with itself fed
    /// one-shot by the crate).
    #[test]
    fn xxhash_sanity_vectors() {
        let t = CancelToken::never();
        let v = json("xxhash/xxhash_sanity_vectors.json");
        let buf = unhex(v["input"]["buffer_hex"].as_str().unwrap());
        assert_eq!(buf.len(), 2367);
        let tests = &v["tests"];
        let mut n = 0;
        for c in tests["XXH32"].as_array().unwrap() {
            let data = &buf[..num(&c["len"]) as usize];
            let got = xxh32(data, num(&c["seed"]) as u32, &t).unwrap();
            assert_eq!(got as u128, int(&c["hash"]), "XXH32 {c}");
            n += 1;
        }
        for c in tests["XXH64"].as_array().unwrap() {
            let data = &buf[..num(&c["len"]) as usize];
            let got = xxh64(data, num(&c["seed"]), &t).unwrap();
            assert_eq!(got as u128, int(&c["hash"]), "XXH64 {c}");
            n += 1;
        }
        for c in tests["XXH3_64bits_withSeed"].as_array().unwrap() {
            let data = &buf[..num(&c["len"]) as usize];
            let got = xxh3_64(data, num(&c["seed"]), &t).unwrap();
            assert_eq!(got as u128, int(&c["hash"]), "XXH3_64 {c}");
            n += 1;
        }
        for c in tests["XXH3_128bits_withSeed"].as_array().unwrap() {
            let data = &buf[..num(&c["len"]) as usize];
            let got = xxh3_128(data, num(&c["seed"]), &t).unwrap();
            let want = int(&c["high64"]) << 64 | int(&c["low64"]);
            assert_eq!(got, want, "XXH3_128 {c}");
            n += 1;
        }
        assert_eq!(n, 8 + 9 + 28 + 26);
    }

    #[test]
    fn streaming_matches_one_shot() {
        let t = CancelToken::never();
        let data: Vec<u8> = (0..3 * BLOCK + 17).map(|i| (i * 31 % 251) as u8).collect();
        assert_eq!(xxh32(&data, 7, &t).unwrap(), xxh32::xxh32(&data, 7));
        assert_eq!(xxh64(&data, 7, &t).unwrap(), xxh64::xxh64(&data, 7));
        assert_eq!(
            xxh3_64(&data, 7, &t).unwrap(),
            xxh3::xxh3_64_with_seed(&data, 7)
        );
        assert_eq!(
            xxh3_128(&data, 7, &t).unwrap(),
            xxh3::xxh3_128_with_seed(&data, 7)
        );
        assert_eq!(crc32(&data, &t).unwrap(), crc32fast::hash(&data));
        assert_eq!(crc32c(&data, &t).unwrap(), crc32c::crc32c(&data));
        let (task, pool) = (Arc::new(TaskCtl::new()), Arc::new(AtomicBool::new(true)));
        let stopped = CancelToken::new(&task, &pool);
        assert_eq!(xxh3_128(&data, 0, &stopped), Err(Cancelled));
        assert_eq!(crc32(&data, &stopped), Err(Cancelled));
    }

    #[test]
    fn crc_vectors() {
        let t = CancelToken::never();
        let v = json("crc32/crc32_vectors.json");
        let cat = &v["reveng_catalogue"];
        let check_input = cat["check_input_ascii"].as_str().unwrap().as_bytes();
        let model = |name: &str| {
            cat["models"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == name)
                .unwrap_or_else(|| panic!("no model {name}"))
                .clone()
        };
        let iso = model("CRC-32/ISO-HDLC");
        assert_eq!(crc32(check_input, &t).unwrap() as u128, int(&iso["check"]));
        let iscsi = model("CRC-32/ISCSI");
        assert_eq!(
            crc32c(check_input, &t).unwrap() as u128,
            int(&iscsi["check"])
        );
        let rfc = v["rfc3720_crc32c"]["vectors"].as_array().unwrap();
        assert_eq!(rfc.len(), 5);
        for c in rfc {
            let data = unhex(c["data_hex"].as_str().unwrap());
            let got = crc32c(&data, &t).unwrap();
            assert_eq!(got as u128, int(&c["crc32c"]), "{c}");
            assert_eq!(
                got.to_le_bytes().to_vec(),
                unhex(c["crc_wire_bytes_hex"].as_str().unwrap())
            );
        }
        let golden = v["go_hash_crc32_golden"]["vectors"].as_array().unwrap();
        assert_eq!(golden.len(), 31);
        for c in golden {
            let data = c["input"].as_str().unwrap().as_bytes();
            assert_eq!(
                crc32(data, &t).unwrap() as u128,
                int(&c["crc32_iso_hdlc"]),
                "{c}"
            );
            assert_eq!(
                crc32c(data, &t).unwrap() as u128,
                int(&c["crc32c_iscsi"]),
                "{c}"
            );
        }
    }

    #[test]
    fn seed_validation() {
        let seed = |k: KernelId, f: Field| {
            let max = if k == KernelId::Xxh32 {
                u32::MAX as u64
            } else {
                u64::MAX
            };
            seed(k.name(), max, f)
        };
        let big = |negative, magnitude| {
            Field::BigInt(BigInt {
                negative,
                magnitude,
            })
        };
        assert_eq!(seed(KernelId::Xxh64, Field::Missing), Ok(0));
        assert_eq!(seed(KernelId::Xxh64, Field::Number(42.0)), Ok(42));
        assert_eq!(
            seed(KernelId::Xxh64, big(false, Some(u64::MAX as u128))),
            Ok(u64::MAX)
        );
        assert_eq!(
            seed(KernelId::Xxh32, big(false, Some(u32::MAX as u128))),
            Ok(u32::MAX as u64)
        );
        assert_eq!(seed(KernelId::Xxh3, big(false, Some(0))), Ok(0));
        let range = |k, p| seed(k, p).unwrap_err().code;
        for n in [f64::NAN, -1.0, 1.5, 2f64.powi(53), f64::INFINITY] {
            assert_eq!(
                range(KernelId::Xxh64, Field::Number(n)),
                "ERR_OUT_OF_RANGE",
                "{n}"
            );
        }
        assert_eq!(
            range(KernelId::Xxh32, Field::Number(2f64.powi(32))),
            "ERR_OUT_OF_RANGE"
        );
        assert_eq!(
            range(KernelId::Xxh32, big(false, Some(1 << 32))),
            "ERR_OUT_OF_RANGE"
        );
        assert_eq!(
            range(KernelId::Xxh128, big(false, Some(1 << 64))),
            "ERR_OUT_OF_RANGE"
        );
        assert_eq!(
            range(KernelId::Xxh128, big(true, Some(1))),
            "ERR_OUT_OF_RANGE"
        );
        assert_eq!(
            range(KernelId::Xxh128, big(false, None)),
            "ERR_OUT_OF_RANGE"
        );
        assert_eq!(
            range(KernelId::Xxh64, Field::Str("1".into())),
            "ERR_INVALID_ARG_TYPE"
        );
        assert_eq!(
            range(KernelId::Xxh64, Field::Other("null")),
            "ERR_INVALID_ARG_TYPE"
        );
    }
}
