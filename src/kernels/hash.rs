//! Content hashes (digests and HMAC), built on RustCrypto and the `blake3` crate. Large inputs
//! are fed in blocks with a cancellation check between blocks.

use super::Value;
use super::{data_bytes, Field, Input, InputKind, Kernel, KernelError, Output, Param, RunError};
use crate::executor::{CancelToken, Cancelled};
use hmac::{Hmac as HmacOf, Mac};
use sha2::Digest;

/// Declares a digest kernel: its input is binary, a string or `{ data }`; its output a Buffer.
macro_rules! digest_kernel {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $f:expr) => {
        $(#[$doc])*
        pub struct $ty;

        impl Kernel for $ty {
            const NAME: &'static str = $name;
            const INPUT: InputKind = InputKind::Data(&[]);
            type Args = ();

            fn prepare(input: Input<'_>) -> Result<(), KernelError> {
                data_bytes($name, input.value).map(drop)
            }

            fn run(_: &(), data: Value<'_>, token: &CancelToken<'_>) -> Result<Output, RunError> {
                let f: fn(&[u8], &CancelToken<'_>) -> Result<Vec<u8>, Cancelled> = $f;
                Ok(Output::Bytes(f(data_bytes($name, data)?, token)?))
            }
        }
    };
}

digest_kernel!(Md5, "md5", digest::<md5::Md5>);
digest_kernel!(Sha1, "sha1", digest::<sha1::Sha1>);
digest_kernel!(Sha224, "sha224", digest::<sha2::Sha224>);
digest_kernel!(Sha256, "sha256", digest::<sha2::Sha256>);
digest_kernel!(Sha384, "sha384", digest::<sha2::Sha384>);
digest_kernel!(Sha512, "sha512", digest::<sha2::Sha512>);
digest_kernel!(Sha3_256, "sha3-256", digest::<sha3::Sha3_256>);
digest_kernel!(Sha3_512, "sha3-512", digest::<sha3::Sha3_512>);
digest_kernel!(Blake2b512, "blake2b512", digest::<blake2::Blake2b512>);
digest_kernel!(
    /// BLAKE3 with the default 32-byte output.
    Blake3,
    "blake3",
    blake3
);

/// `hmac`: `{ algorithm, key, data }`.
pub struct Hmac;

impl Kernel for Hmac {
    const NAME: &'static str = "hmac";
    const INPUT: InputKind = InputKind::Data(&[Param::str("algorithm"), Param::raw("key")]);
    type Args = Box<(HmacAlgorithm, Vec<u8>)>;

    fn prepare(mut input: Input<'_>) -> Result<Self::Args, KernelError> {
        let name = input.fields.str("algorithm")?;
        let algorithm = HmacAlgorithm::from_name(&name).ok_or_else(|| {
            KernelError::out_of_range(format!(
                "The value of \"input.algorithm\" is out of range. It must be one of \
                 'sha1', 'sha256', 'sha384', 'sha512'. Received '{name}'"
            ))
        })?;
        let key = match input.fields.raw("key") {
            Field::Str(s) => s.into_bytes(),
            Field::Bytes(b) => b,
            f => {
                return Err(KernelError::invalid_type(format!(
                    "The \"input.key\" property must be a string, Buffer, TypedArray, DataView or \
                     ArrayBuffer. Received {}",
                    f.received()
                )))
            }
        };
        data_bytes(Self::NAME, input.value)?;
        Ok(Box::new((algorithm, key)))
    }

    fn run(
        args: &Self::Args,
        data: Value<'_>,
        token: &CancelToken<'_>,
    ) -> Result<Output, RunError> {
        let (algorithm, key) = &**args;
        let data = data_bytes(Self::NAME, data)?;
        Ok(Output::Bytes(hmac(*algorithm, key, data, token)?))
    }
}

/// Bytes hashed between two cancellation checks: ~0.5 ms of SHA-256 here (MD5/BLAKE3 are
/// faster, SHA3-512 ~2× slower: all well under the 10 ms budget).
pub const BLOCK: usize = 256 * 1024;

/// Calls `f` on `data` block by block, polling `token` before each block.
pub fn for_blocks(
    data: &[u8],
    token: &CancelToken<'_>,
    mut f: impl FnMut(&[u8]),
) -> Result<(), Cancelled> {
    for block in data.chunks(BLOCK) {
        token.check()?;
        f(block);
    }
    Ok(())
}

/// Feeds `data` to `hasher` block by block, polling `token` between blocks.
pub fn update_blocks<D: Digest>(
    hasher: &mut D,
    data: &[u8],
    token: &CancelToken<'_>,
) -> Result<(), Cancelled> {
    for_blocks(data, token, |b| hasher.update(b))
}

/// The digest of `data` under any RustCrypto hash.
pub fn digest<D: Digest>(data: &[u8], token: &CancelToken<'_>) -> Result<Vec<u8>, Cancelled> {
    let mut h = D::new();
    update_blocks(&mut h, data, token)?;
    Ok(h.finalize().to_vec())
}

/// BLAKE3 with the default 32-byte output.
pub fn blake3(data: &[u8], token: &CancelToken<'_>) -> Result<Vec<u8>, Cancelled> {
    let mut h = blake3::Hasher::new();
    for_blocks(data, token, |b| {
        h.update(b);
    })?;
    Ok(h.finalize().as_bytes().to_vec())
}

/// The hashes `hmac` accepts as `algorithm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HmacAlgorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HmacAlgorithm {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }
}

/// HMAC of `data` under `key`.
pub fn hmac(
    algorithm: HmacAlgorithm,
    key: &[u8],
    data: &[u8],
    token: &CancelToken<'_>,
) -> Result<Vec<u8>, Cancelled> {
    match algorithm {
        HmacAlgorithm::Sha1 => mac::<HmacOf<sha1::Sha1>>(key, data, token),
        HmacAlgorithm::Sha256 => mac::<HmacOf<sha2::Sha256>>(key, data, token),
        HmacAlgorithm::Sha384 => mac::<HmacOf<sha2::Sha384>>(key, data, token),
        HmacAlgorithm::Sha512 => mac::<HmacOf<sha2::Sha512>>(key, data, token),
    }
}

fn mac<M: Mac + hmac::digest::KeyInit>(
    key: &[u8],
    data: &[u8],
    token: &CancelToken<'_>,
) -> Result<Vec<u8>, Cancelled> {
    // HMAC accepts keys of any length (long ones are hashed first).
    let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for_blocks(data, token, |b| m.update(b))?;
    Ok(m.finalize().into_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conformance::*;
    use std::sync::atomic::AtomicBool;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// `(message, digest)` pairs of a NIST-style `.rsp`/`.txt` file (`Len` in bits, `Msg`, `MD`;
    /// LF or CRLF; `Len = 0` carries a placeholder `Msg = 00`).
    fn rsp_cases(rel: &str) -> Vec<(Vec<u8>, String)> {
        let text = read(rel);
        let mut cases = Vec::new();
        let mut len_bits: Option<usize> = None;
        let mut msg: Option<Vec<u8>> = None;
        for line in text.lines() {
            let line = line.trim_end_matches('\r').trim();
            if let Some(v) = line.strip_prefix("Len = ") {
                len_bits = Some(v.parse().expect("Len"));
            } else if let Some(v) = line.strip_prefix("Msg = ") {
                msg = Some(unhex(v));
            } else if let Some(v) = line.strip_prefix("MD = ") {
                let bits = len_bits.take().expect("Len before MD");
                assert_eq!(bits % 8, 0, "{rel}: byte-oriented vectors only");
                let mut m = msg.take().expect("Msg before MD");
                m.truncate(bits / 8);
                assert_eq!(m.len(), bits / 8, "{rel}: Msg shorter than Len");
                cases.push((m, v.to_ascii_lowercase()));
            }
        }
        assert!(!cases.is_empty(), "{rel}: no cases");
        cases
    }

    fn check_rsp(rel: &str, f: fn(&[u8], &CancelToken<'_>) -> Result<Vec<u8>, Cancelled>) -> usize {
        let t = CancelToken::never();
        let cases = rsp_cases(rel);
        for (i, (msg, md)) in cases.iter().enumerate() {
            assert_eq!(&hex(&f(msg, &t).unwrap()), md, "{rel} case {i}");
        }
        cases.len()
    }

    #[test]
    fn sha256_known_answers() {
        let t = CancelToken::never();
        let sha256 = digest::<sha2::Sha256>;
        assert_eq!(
            hex(&sha256(b"", &t).unwrap()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(b"abc", &t).unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Crosses several block boundaries.
        let big = vec![b'a'; 1_000_000];
        assert_eq!(
            hex(&sha256(&big, &t).unwrap()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn nist_shavs() {
        let d = "nist-shavs/SHAVS";
        let mut n = 0;
        n += check_rsp(&format!("{d}/SHA1ShortMsg.rsp"), digest::<sha1::Sha1>);
        n += check_rsp(&format!("{d}/SHA1LongMsg.rsp"), digest::<sha1::Sha1>);
        n += check_rsp(&format!("{d}/SHA224ShortMsg.rsp"), digest::<sha2::Sha224>);
        n += check_rsp(&format!("{d}/SHA256ShortMsg.rsp"), digest::<sha2::Sha256>);
        n += check_rsp(&format!("{d}/SHA256LongMsg.rsp"), digest::<sha2::Sha256>);
        n += check_rsp(&format!("{d}/SHA384ShortMsg.rsp"), digest::<sha2::Sha384>);
        n += check_rsp(&format!("{d}/SHA512ShortMsg.rsp"), digest::<sha2::Sha512>);
        n += check_rsp(&format!("{d}/SHA512LongMsg.rsp"), digest::<sha2::Sha512>);
        assert_eq!(n, 709);
    }

    #[test]
    fn md5_rfc1321() {
        let n = check_rsp("pyca-vectors/hashes/MD5/rfc-1321.txt", digest::<md5::Md5>);
        assert_eq!(n, 7);
    }

    #[test]
    fn sha3_and_blake2b_known_answers() {
        let t = CancelToken::never();
        // FIPS 202 / RFC 7693 examples for "abc".
        assert_eq!(
            hex(&digest::<sha3::Sha3_256>(b"abc", &t).unwrap()),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        assert_eq!(
            hex(&digest::<sha3::Sha3_512>(b"abc", &t).unwrap()),
            "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e\
             10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0"
        );
        assert_eq!(
            hex(&digest::<blake2::Blake2b512>(b"abc", &t).unwrap()),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1\
             7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"
        );
    }

    #[test]
    fn blake3_official_vectors() {
        let t = CancelToken::never();
        let v = json("BLAKE3/test_vectors.json");
        let cases = v["cases"].as_array().expect("cases");
        assert_eq!(cases.len(), 35);
        for c in cases {
            let len = c["input_len"].as_u64().unwrap() as usize;
            let input: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let want = &c["hash"].as_str().unwrap()[..64];
            assert_eq!(hex(&blake3(&input, &t).unwrap()), want, "len {len}");
        }
    }

    #[test]
    fn wycheproof_hmac() {
        let t = CancelToken::never();
        for (file, alg) in [
            ("hmac_sha1_test.json", HmacAlgorithm::Sha1),
            ("hmac_sha256_test.json", HmacAlgorithm::Sha256),
            ("hmac_sha512_test.json", HmacAlgorithm::Sha512),
        ] {
            let v = json(&format!("wycheproof/testvectors_v1/{file}"));
            let mut n = 0;
            for g in v["testGroups"].as_array().unwrap() {
                let tag_bytes = g["tagSize"].as_u64().unwrap() as usize / 8;
                for c in g["tests"].as_array().unwrap() {
                    let key = unhex(c["key"].as_str().unwrap());
                    let msg = unhex(c["msg"].as_str().unwrap());
                    let tag = unhex(c["tag"].as_str().unwrap());
                    let mac = hmac(alg, &key, &msg, &t).unwrap();
                    let matches = mac.len() >= tag_bytes
                        && tag.len() == tag_bytes
                        && mac[..tag_bytes] == tag[..];
                    let id = &c["tcId"];
                    match c["result"].as_str().unwrap() {
                        "valid" => assert!(matches, "{file} tcId {id}"),
                        "invalid" => assert!(!matches, "{file} tcId {id} should mismatch"),
                        r => panic!("{file} tcId {id}: unexpected result {r}"),
                    }
                    n += 1;
                }
            }
            assert_eq!(n, v["numberOfTests"].as_u64().unwrap(), "{file}");
        }
    }

    #[test]
    fn hmac_reads_its_fields_by_name() {
        let t = CancelToken::never();
        let rec = |alg: Field, key: Field| {
            Input::record(
                Value::Str("x"),
                Hmac::INPUT.params(),
                &[("algorithm", alg), ("key", key)],
            )
        };
        let args = Hmac::prepare(rec(Field::Str("sha384".into()), Field::Str("k".into()))).unwrap();
        assert_eq!(*args, (HmacAlgorithm::Sha384, b"k".to_vec()));
        assert_eq!(
            Hmac::run(&args, Value::Str("x"), &t),
            Ok(Output::Bytes(
                hmac(HmacAlgorithm::Sha384, b"k", b"x", &t).unwrap()
            ))
        );
        for (alg, key, code) in [
            (
                Field::Str("md5".into()),
                Field::Str("k".into()),
                "ERR_OUT_OF_RANGE",
            ),
            (
                Field::Missing,
                Field::Str("k".into()),
                "ERR_INVALID_ARG_TYPE",
            ),
            (
                Field::Str("sha1".into()),
                Field::Number(1.0),
                "ERR_INVALID_ARG_TYPE",
            ),
        ] {
            assert_eq!(Hmac::prepare(rec(alg, key)).err().unwrap().code, code);
        }
        let plain = Input::record(Value::Bytes(b"x"), Hmac::INPUT.params(), &[]);
        assert_eq!(
            Hmac::prepare(plain).err().unwrap().code,
            "ERR_INVALID_ARG_TYPE"
        );
    }

    #[test]
    fn digest_kernels_hash_strings_and_records_alike() {
        let t = CancelToken::never();
        let out = Sha256::run(&(), Value::Str("abc"), &t).unwrap();
        assert_eq!(Sha256::run(&(), Value::Bytes(b"abc"), &t), Ok(out));
        assert_eq!(
            Sha256::prepare(Input::plain(Sha256::INPUT, Value::Number(1.0)))
                .unwrap_err()
                .code,
            "ERR_INVALID_ARG_TYPE"
        );
        assert!(Sha256::prepare(Input::plain(Sha256::INPUT, Value::Str(""))).is_ok());
    }

    #[test]
    fn polls_between_blocks() {
        let data = vec![0u8; 3 * BLOCK];
        let mut calls = 0;
        assert!(for_blocks(&data, &CancelToken::never(), |_| calls += 1).is_ok());
        assert_eq!(calls, 3);
        let task = std::sync::Arc::new(crate::executor::TaskCtl::new());
        let pool = std::sync::Arc::new(AtomicBool::new(true));
        let stopped = CancelToken::new(&task, &pool);
        assert_eq!(digest::<sha2::Sha512>(&data, &stopped), Err(Cancelled));
        assert_eq!(
            hmac(HmacAlgorithm::Sha1, b"k", &data, &stopped),
            Err(Cancelled)
        );
    }
}
