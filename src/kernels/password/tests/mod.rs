//! The password kernels against the vendored vectors (`testdata/`), and their input checks:
//! bcrypt and Argon2 here, scrypt and PBKDF2 in `kdf.rs`.

use super::*;
use crate::executor::CancelToken;
use crate::kernels::conformance::*;
use crate::kernels::{Field, Input, Kernel, KernelError, Output, RunError, Value as Data};
use serde_json::Value;

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}"))
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// An object input of kernel `K` with the given fields (the others absent).
fn obj<K: Kernel>(fields: &[(&str, Field)]) -> Input<'static> {
    Input::record(Data::Null, K::INPUT.params(), fields)
}

fn string(s: &str) -> Field {
    Field::Str(s.into())
}

fn num(n: f64) -> Field {
    Field::Number(n)
}

/// The code of a kernel failure (not a cancellation).
fn code<T: std::fmt::Debug>(r: Result<T, RunError>) -> &'static str {
    match r {
        Err(RunError::Failed(e)) => e.code,
        other => panic!("expected a kernel error, got {other:?}"),
    }
}

/// The code of a `prepare` failure.
fn prep<K: Kernel>(fields: &[(&str, Field)]) -> Result<K::Args, KernelError> {
    K::prepare(obj::<K>(fields))
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
                    code(bcrypt_verify(&pw, hash, &t())),
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
            assert_eq!(
                code(bcrypt_verify(b"", h, &t())),
                "ERR_INVALID_ARG_VALUE",
                "{h}"
            );
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
            let parts =
                ::bcrypt_rust::hash_with_salt(&pw, n(v, "cost") as u32, salt).expect("hash");
            assert_eq!(
                parts.format_for_version(::bcrypt_rust::Version::TwoA),
                hash,
                "{v}"
            );
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
    let e = |fs: &[(&str, Field)]| prep::<BcryptHash>(fs).err().unwrap().code;
    assert_eq!(e(&[]), "ERR_INVALID_ARG_TYPE");
    assert_eq!(e(&[("password", num(1.0))]), "ERR_INVALID_ARG_TYPE");
    for bad in [3.0, 32.0, 4.5, f64::NAN] {
        assert_eq!(
            e(&[("password", string("a")), ("cost", num(bad))]),
            "ERR_OUT_OF_RANGE"
        );
    }
    assert_eq!(
        e(&[("password", string("a")), ("cost", string("4"))]),
        "ERR_INVALID_ARG_TYPE"
    );
    let ok = prep::<BcryptHash>(&[("password", string("a")), ("cost", num(31.0))]).unwrap();
    assert_eq!(*ok, (b"a".to_vec(), 31));
    let default = prep::<BcryptHash>(&[("password", string("a"))]).unwrap();
    assert_eq!(default.1, BCRYPT_DEFAULT_COST);
    let v = |h: Field| prep::<BcryptVerify>(&[("password", string("a")), ("hash", h)]);
    assert_eq!(
        v(Field::Missing).err().unwrap().code,
        "ERR_INVALID_ARG_TYPE"
    );
    assert_eq!(
        v(string("$2b$")).err().unwrap().code,
        "ERR_INVALID_ARG_VALUE"
    );
    let h = bcrypt_hash(b"a", 4, &t()).unwrap();
    let args = v(Field::Str(h)).unwrap();
    assert_eq!(
        BcryptVerify::run(&args, Data::Null, &t()),
        Ok(Output::Bool(true))
    );
}

#[test]
fn bcrypt_refuses_non_canonical_tails() {
    const ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let h = bcrypt_hash(b"pw", 4, &t()).unwrap();
    // Index 28 ends the salt (4 unused bits), index 59 the hash (2 unused bits).
    for (i, spare) in [(28, 16), (59, 4)] {
        for (k, &c) in ALPHABET.iter().enumerate() {
            let mut b = h.clone().into_bytes();
            b[i] = c;
            let other = String::from_utf8(b).unwrap();
            if k % spare == 0 {
                assert_eq!(check_bcrypt_hash(&other), Ok(4), "{other}");
                assert_eq!(
                    bcrypt_verify(b"pw", &other, &t()),
                    Ok(other == h),
                    "{other}"
                );
            } else {
                assert_eq!(
                    code(bcrypt_verify(b"pw", &other, &t())),
                    "ERR_INVALID_ARG_VALUE",
                    "{other}"
                );
            }
        }
    }
    for prefix in ["$2a$", "$2y$"] {
        let other = format!("{prefix}{}", &h[4..]);
        assert_eq!(bcrypt_verify(b"pw", &other, &t()), Ok(true), "{other}");
    }
}

fn algorithm(name: &str) -> ::argon2_rust::Algorithm {
    match name {
        "argon2d" => ::argon2_rust::Algorithm::Argon2d,
        "argon2i" => ::argon2_rust::Algorithm::Argon2i,
        "argon2id" => ::argon2_rust::Algorithm::Argon2id,
        _ => panic!("{name}"),
    }
}

/// Argon2 parameters of a vector (one thread, as the kernels use them).
fn argon2_params(v: &Value, tag_len: u64) -> ::argon2_rust::Params {
    use ::argon2_rust::params::{Memory, TagLen};
    ::argon2_rust::Params::builder()
        .memory(Memory::kib(n(v, "m_cost_kib")))
        .passes(n(v, "t_cost") as u32)
        .lanes(n(v, "parallelism") as u32)
        .threads(1)
        .tag_len(TagLen::bytes(tag_len))
        .build()
        .unwrap()
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
            16 => ::argon2_rust::Version::V0x10,
            19 => ::argon2_rust::Version::V0x13,
            x => panic!("version {x}"),
        };
        let params = argon2_params(v, n(v, "tag_length"));
        let a = ::argon2_rust::Argon2::new(algorithm(s(v, "type")), version, params);
        let mut tag = vec![0u8; n(v, "tag_length") as usize];
        a.hash_into(
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
            _ => assert_eq!(code(r), "ERR_INVALID_ARG_VALUE", "{v}"),
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
        let params = argon2_params(v, n(v, "tag_length"));
        let a = ::argon2_rust::Argon2::new(
            algorithm(s(v, "type")),
            ::argon2_rust::Version::V0x13,
            params,
        );
        let mut tag = vec![0u8; n(v, "tag_length") as usize];
        a.hash_into_with_ad(
            &unhex(s(v, "password_hex")),
            &unhex(s(v, "salt_hex")),
            &secret,
            &ad,
            &mut tag,
        )
        .unwrap();
        assert_eq!(tag, unhex(s(v, "tag_hex")), "{v}");
    }
}

#[test]
fn argon2_kernel_round_trip_and_bounds() {
    let fields = [
        ("password", string("hunter2")),
        ("type", string("argon2i")),
        ("memoryCost", num(64.0)),
        ("timeCost", num(1.0)),
        ("parallelism", num(2.0)),
    ];
    let args = prep::<Argon2Hash>(&fields).unwrap();
    let Ok(Output::Str(h)) = Argon2Hash::run(&args, Data::Null, &t()) else {
        panic!()
    };
    assert!(h.starts_with("$argon2i$v=19$m=64,t=1,p=2$"), "{h}");
    assert_eq!(argon2_verify(b"hunter2", &h, &t()), Ok(true));
    assert_eq!(argon2_verify(b"hunter3", &h, &t()), Ok(false));
    let Ok(Output::Str(h2)) = Argon2Hash::run(&args, Data::Null, &t()) else {
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
        let p = Argon2HashArgs {
            password: pw.as_bytes().to_vec(),
            argon2: ::argon2_rust::Argon2::new(
                ::argon2_rust::Algorithm::Argon2id,
                ::argon2_rust::Version::V0x13,
                argon2_params(v, 32),
            ),
            salt: Some(salt.as_bytes().to_vec()),
        };
        assert_eq!(argon2_hash(&p, &t()).unwrap(), s(v, "encoded"), "{v}");
        checked += 1;
    }
    assert!(checked >= 3, "{checked}");
    let e = |fs: &[(&str, Field)]| {
        let mut all = vec![("password", string("a"))];
        all.extend(fs.iter().cloned());
        prep::<Argon2Hash>(&all).err().unwrap().code
    };
    assert_eq!(e(&[("type", string("argon2"))]), "ERR_OUT_OF_RANGE");
    assert_eq!(e(&[("type", num(1.0))]), "ERR_INVALID_ARG_TYPE");
    let huge = num(f64::from(ARGON2_MAX_MEMORY_KIB) + 1.0);
    assert_eq!(e(&[("memoryCost", huge)]), "ERR_OUT_OF_RANGE");
    assert_eq!(e(&[("memoryCost", num(7.0))]), "ERR_OUT_OF_RANGE");
    // 8 KiB per lane at least.
    assert_eq!(
        e(&[("memoryCost", num(15.0)), ("parallelism", num(2.0))]),
        "ERR_OUT_OF_RANGE"
    );
    assert_eq!(e(&[("timeCost", num(1e9))]), "ERR_OUT_OF_RANGE");
    assert_eq!(e(&[("salt", string("1234567"))]), "ERR_OUT_OF_RANGE");
    // Stored hashes beyond the bounds are refused, not computed.
    let greedy = "$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc";
    assert_eq!(
        code(argon2_verify(b"x", greedy, &t())),
        "ERR_INVALID_ARG_VALUE"
    );
    let v = prep::<Argon2Verify>(&[("password", string("x")), ("hash", string(greedy))]);
    assert_eq!(v.err().unwrap().code, "ERR_INVALID_ARG_VALUE");
    for bad in [
        "",
        "$argon2id$",
        "$scrypt$ln=1,r=1,p=1$c29tZXNhbHQ$aGFzaA",
        "$2b$04$xx",
    ] {
        assert_eq!(
            code(argon2_verify(b"x", bad, &t())),
            "ERR_INVALID_ARG_VALUE",
            "{bad}"
        );
    }
}

fn b64(bytes: &[u8]) -> String {
    ::argon2_rust::encode_base64(bytes).unwrap()
}

/// What a stored PHC string may contain beyond `m`, `t`, `p`, as argon2 0.5 (the pool's
/// earlier crate) read it: `data=` is hashed in, `keyid=` ignored, any order, no other key.
#[test]
fn argon2_phc_strings_as_before() {
    use ::argon2_rust::{Algorithm, Argon2, Version};
    let (pw, salt, ad) = (b"password", b"somesaltsomesalt", b"associated");
    let a = |m: u64, p: u32, tag: u64| {
        let v = serde_json::json!({ "m_cost_kib": m, "t_cost": 1, "parallelism": p });
        Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params(&v, tag))
    };
    let mut tag = [0u8; 32];
    a(64, 1, 32)
        .hash_into_with_ad(pw, salt, &[], ad, &mut tag)
        .unwrap();
    let (s64, t64, d64) = (b64(salt), b64(&tag), b64(ad));
    for h in [
        format!("$argon2id$v=19$m=64,t=1,p=1,data={d64}${s64}${t64}"),
        format!("$argon2id$v=19$data={d64},p=1,t=1,m=64${s64}${t64}"),
        format!("$argon2id$v=19$m=64,t=1,p=1,keyid=AAECAw,data={d64}${s64}${t64}"),
    ] {
        assert_eq!(argon2_verify(pw, &h, &t()), Ok(true), "{h}");
        assert_eq!(argon2_verify(b"passwore", &h, &t()), Ok(false), "{h}");
    }
    // Without its data the tag does not match.
    let h = format!("$argon2id$v=19$m=64,t=1,p=1${s64}${t64}");
    assert_eq!(argon2_verify(pw, &h, &t()), Ok(false));
    let mut plain = [0u8; 32];
    a(64, 1, 32).hash_into(pw, salt, &mut plain).unwrap();
    let ok = format!("$argon2id$v=19$m=64,t=1,p=1${s64}${}", b64(&plain));
    assert_eq!(argon2_verify(pw, &ok, &t()), Ok(true));
    let bad = |h: &str| code(argon2_verify(pw, h, &t()));
    for params in [
        "m=64,t=1,p=1,x=1",
        "m=64,t=1,p=1,m=64",
        "m=64,t=1,p=1,keyid=",
        "m=64,t=1,p=1,keyid=AAAAAAAAAAAAAAAA",
        "m=64,t=1,p=1,keyid=!!",
        "m=064,t=1,p=1",
        "m=64,t=1",
    ] {
        let h = format!("$argon2id$v=19${params}${s64}${}", b64(&plain));
        assert_eq!(bad(&h), "ERR_INVALID_ARG_VALUE", "{h}");
    }
    // data= longer than 32 bytes, a salt over 48 bytes, tags outside 10–64 bytes, too long.
    let long_ad = format!(
        "$argon2id$v=19$m=64,t=1,p=1,data={}${s64}${t64}",
        b64(&[1; 33])
    );
    let long_salt = format!("$argon2id$v=19$m=64,t=1,p=1${}${t64}", b64(&[1; 49]));
    assert_eq!(bad(&long_ad), "ERR_INVALID_ARG_VALUE");
    assert_eq!(bad(&long_salt), "ERR_INVALID_ARG_VALUE");
    for len in [9, 65] {
        let mut tag = vec![0u8; len];
        a(64, 1, len as u64).hash_into(pw, salt, &mut tag).unwrap();
        let h = format!("$argon2id$v=19$m=64,t=1,p=1${s64}${}", b64(&tag));
        assert_eq!(bad(&h), "ERR_INVALID_ARG_VALUE", "{h}");
    }
    for len in [10, 64] {
        let mut tag = vec![0u8; len];
        a(64, 1, len as u64).hash_into(pw, salt, &mut tag).unwrap();
        let h = format!("$argon2id$v=19$m=64,t=1,p=1${s64}${}", b64(&tag));
        assert_eq!(argon2_verify(pw, &h, &t()), Ok(true), "{h}");
    }
    let huge = format!("{ok}{}", "A".repeat(600));
    assert_eq!(bad(&huge), "ERR_INVALID_ARG_VALUE");
}

/// Each thread keeps the largest arena up to 32 MiB; larger memory costs allocate per task.
#[test]
fn argon2_arena_reuse_is_bounded() {
    std::thread::spawn(|| {
        let hash = |m: f64| {
            let fields = [
                ("password", string("pw")),
                ("memoryCost", num(m)),
                ("timeCost", num(1.0)),
                ("parallelism", num(4.0)),
            ];
            let args = prep::<Argon2Hash>(&fields).unwrap();
            let Ok(Output::Str(h)) = Argon2Hash::run(&args, Data::Null, &t()) else {
                panic!()
            };
            assert_eq!(argon2_verify(b"pw", &h, &t()), Ok(true));
        };
        assert_eq!(super::argon2::reserved_blocks(), 0);
        hash(1024.0);
        assert_eq!(super::argon2::reserved_blocks(), 1024);
        hash(32768.0);
        assert_eq!(super::argon2::reserved_blocks(), 32768);
        hash(32784.0); // 32784 blocks (a multiple of 4 lanes × 4): over the bound, not kept
        assert_eq!(super::argon2::reserved_blocks(), 32768);
        hash(2048.0);
        assert_eq!(super::argon2::reserved_blocks(), 32768);
    })
    .join()
    .unwrap();
}

mod batch;
mod kdf;
