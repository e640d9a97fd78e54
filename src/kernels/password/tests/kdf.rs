//! scrypt and PBKDF2 against the RFC and Wycheproof vectors, and their input checks.

use super::*;

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
        let password = s(v, "password").as_bytes().to_vec();
        let salt = s(v, "salt").as_bytes().to_vec();
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
        prep::<Scrypt>(&[
            ("password", string("pw")),
            ("salt", string("salt")),
            ("keylen", num(16.0)),
            ("N", num(n)),
            ("r", num(r)),
            ("p", num(p)),
            ("maxmem", num(maxmem)),
        ])
    };
    let need = 128.0 * 8.0 * (1024.0 + 1.0 + 2.0);
    assert!(mk(1024.0, 8.0, 1.0, need).is_ok());
    let code = |r: Result<Box<ScryptParams>, KernelError>| r.err().unwrap().code;
    assert_eq!(
        code(mk(1024.0, 8.0, 1.0, need - 1.0)),
        "ERR_CRYPTO_INVALID_SCRYPT_PARAMS"
    );
    // Defaults: N = 16384 fits 32 MiB, N = 32768 does not; 0 means the default.
    let d = mk(0.0, 0.0, 0.0, 0.0).unwrap();
    assert_eq!((d.log_n, d.r, d.p), (14, 8, 1));
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
    let missing_keylen = prep::<Scrypt>(&[("password", string("pw")), ("salt", string("salt"))]);
    assert_eq!(code(missing_keylen), "ERR_INVALID_ARG_TYPE");
    let empty = prep::<Scrypt>(&[
        ("password", string("pw")),
        ("salt", string("s")),
        ("keylen", num(0.0)),
        ("N", num(16.0)),
    ])
    .unwrap();
    assert_eq!(
        Scrypt::run(&empty, Data::Null, &t()),
        Ok(Output::Bytes(vec![]))
    );
}

fn pbkdf2_case(digest: Pbkdf2Digest, pw: &[u8], salt: &[u8], c: u64, dk: &[u8]) {
    let p = Pbkdf2Params {
        password: pw.to_vec(),
        salt: salt.to_vec(),
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
    let code = |fs: &[(&str, Field)]| {
        let mut all = vec![
            ("password", string("p")),
            ("salt", Field::Bytes(b"s".to_vec())),
        ];
        all.extend(fs.iter().cloned());
        prep::<Pbkdf2>(&all).err().unwrap().code
    };
    assert_eq!(
        code(&[("iterations", num(0.0)), ("keylen", num(1.0))]),
        "ERR_OUT_OF_RANGE"
    );
    assert_eq!(
        code(&[("iterations", num(2f64.powi(31))), ("keylen", num(1.0))]),
        "ERR_OUT_OF_RANGE"
    );
    assert_eq!(
        code(&[
            ("iterations", num(1.0)),
            ("keylen", num(1.0)),
            ("digest", string("md5"))
        ]),
        "ERR_CRYPTO_INVALID_DIGEST"
    );
    assert_eq!(
        code(&[("salt", Field::Other("null"))]),
        "ERR_INVALID_ARG_TYPE"
    );
    assert_eq!(
        code(&[
            ("iterations", num(1.0)),
            ("keylen", num(f64::from(1u32 << 21)))
        ]),
        "ERR_OUT_OF_RANGE"
    );
    // The work bound: iterations × blocks.
    let max = num(2f64.powi(31) - 1.0);
    let ok = prep::<Pbkdf2>(&[
        ("password", string("p")),
        ("salt", string("s")),
        ("iterations", max.clone()),
        ("keylen", num(32.0)),
    ]);
    assert_eq!(ok.unwrap().digest, Pbkdf2Digest::Sha256);
    assert_eq!(
        code(&[("iterations", max), ("keylen", num(33.0))]),
        "ERR_OUT_OF_RANGE"
    );
}
