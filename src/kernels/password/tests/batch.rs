//! bcrypt in SIMD lanes: the same answers as one at a time, on the published vectors.

use super::*;
use crate::executor::TaskCtl;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[test]
fn verify_many_agrees_with_the_vectors_across_costs_and_prefixes() {
    let d = json("bcrypt/bcrypt_vectors.json");
    let mut pairs: Vec<(Vec<u8>, String)> = Vec::new();
    for v in d["openwall_vectors"].as_array().unwrap() {
        if v["matches_openbsd_2b_algorithm"].as_bool() == Some(true) {
            pairs.push((unhex(s(v, "password_hex")), s(v, "hash").to_owned()));
        }
    }
    for v in d["jbcrypt_vectors"].as_array().unwrap() {
        // Costs 4–12 mixed ($2a$): the crate groups them by cost.
        pairs.push((unhex(s(v, "password_hex")), s(v, "hash").to_owned()));
    }
    assert!(pairs.len() >= 30);
    let mut passwords: Vec<Vec<u8>> = pairs.iter().map(|(p, _)| p.clone()).collect();
    let hashes: Vec<&str> = pairs.iter().map(|(_, h)| h.as_str()).collect();
    let refs: Vec<&[u8]> = passwords.iter().map(|p| p.as_slice()).collect();
    let got = bcrypt_verify_many(&refs, &hashes);
    assert!(got.iter().all(|r| *r == Ok(true)), "{got:?}");
    // Every other password fails (a changed byte within the 72 bcrypt reads).
    for p in &mut passwords {
        match p.first_mut() {
            Some(b) => *b ^= 1,
            None => p.push(b'x'),
        }
    }
    let refs: Vec<&[u8]> = passwords.iter().map(|p| p.as_slice()).collect();
    let got = bcrypt_verify_many(&refs, &hashes);
    assert!(got.iter().all(|r| *r == Ok(false)), "{got:?}");
}

#[test]
fn hash_many_matches_the_scalar_hash_and_the_72_byte_rule() {
    let long = [b'x'; 100];
    let mut passwords: Vec<&[u8]> = vec![b"", b"a", b"secret", &long, "pässwörd".as_bytes()];
    passwords.extend([b"p1" as &[u8], b"p2", b"p3", b"p4", b"p5", b"p6"]);
    let hashes = bcrypt_hash_many(&passwords, 4).unwrap();
    assert_eq!(hashes.len(), passwords.len());
    for (pw, h) in passwords.iter().zip(&hashes) {
        assert!(h.starts_with("$2b$04$") && h.len() == 60, "{h}");
        assert_eq!(check_bcrypt_hash(h), Ok(4));
        assert_eq!(bcrypt_verify(pw, h, &t()), Ok(true), "{h}");
        assert_eq!(bcrypt_verify(b"wrong", h, &t()), Ok(false), "{h}");
    }
    let mut salts: Vec<&str> = hashes.iter().map(|h| &h[7..29]).collect();
    salts.sort_unstable();
    salts.dedup();
    assert_eq!(salts.len(), hashes.len(), "one random salt each");
    let h = &hashes[3];
    assert_eq!(bcrypt_verify(&long[..72], h, &t()), Ok(true));
    assert_eq!(bcrypt_verify(&long[..71], h, &t()), Ok(false));
}

#[test]
fn a_batch_skips_cancelled_members_and_answers_the_rest() {
    let hash_of = |pw: &[u8]| bcrypt_hash(pw, 4, &t()).unwrap();
    let args: Vec<<BcryptVerify as Kernel>::Args> = [b"a" as &[u8], b"b", b"c", b"d"]
        .iter()
        .enumerate()
        .map(|(i, pw)| {
            // The third is checked against another password's hash.
            let h = if i == 2 { hash_of(b"zz") } else { hash_of(pw) };
            prep::<BcryptVerify>(&[
                ("password", Field::Bytes(pw.to_vec())),
                ("hash", string(&h)),
            ])
            .unwrap()
        })
        .collect();
    let ctls: Vec<Arc<TaskCtl>> = (0..4).map(|_| Arc::new(TaskCtl::new())).collect();
    let pool = Arc::new(AtomicBool::new(false));
    for c in &ctls {
        assert!(c.start());
    }
    assert!(ctls[1].cancel().is_some());
    let tokens: Vec<CancelToken<'_>> = ctls.iter().map(|c| CancelToken::new(c, &pool)).collect();
    let items: Vec<_> = args.iter().map(|a| (a, Data::Null)).collect();
    let out = BcryptVerify::run_batch(&items, &tokens);
    assert_eq!(
        out,
        [
            Ok(Output::Bool(true)),
            Err(RunError::Cancelled),
            Ok(Output::Bool(false)),
            Ok(Output::Bool(true)),
        ]
    );
    // Hashing: each result is a hash of its own password.
    let hargs: Vec<<BcryptHash as Kernel>::Args> = [b"x" as &[u8], b"y", b"z"]
        .iter()
        .map(|pw| {
            prep::<BcryptHash>(&[("password", Field::Bytes(pw.to_vec())), ("cost", num(4.0))])
                .unwrap()
        })
        .collect();
    let items: Vec<_> = hargs.iter().map(|a| (a, Data::Null)).collect();
    let out = BcryptHash::run_batch(&items, &tokens[..3]);
    assert_eq!(out[1], Err(RunError::Cancelled));
    for (i, pw) in [(0, b"x"), (2, b"z")] {
        let Ok(Output::Str(h)) = &out[i] else {
            panic!("{:?}", out[i])
        };
        assert_eq!(bcrypt_verify(pw, h, &t()), Ok(true));
    }
}

#[test]
fn the_batch_key_is_the_cost_once_the_backend_is_known() {
    let args =
        |cost: f64| prep::<BcryptHash>(&[("password", string("pw")), ("cost", num(cost))]).unwrap();
    // The first ask starts the backend probe in the background; wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let key = loop {
        if let Some(k) = BcryptHash::batch(&args(10.0)) {
            break k;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "backend probe never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let lanes = ::bcrypt_rust::detected_backend().lanes();
    assert_eq!((key.max, key.min), (lanes, lanes - lanes / 4));
    assert!(key.min >= 3 && key.min < key.max);
    assert_eq!(
        bcrypt_backend(),
        Some((::bcrypt_rust::detected_backend().name(), lanes))
    );
    assert_ne!(
        BcryptHash::batch(&args(11.0)).unwrap().key,
        key.key,
        "costs never mix"
    );
    let h = bcrypt_hash(b"pw", 10, &t()).unwrap();
    let v = prep::<BcryptVerify>(&[("password", string("pw")), ("hash", string(&h))]).unwrap();
    assert_eq!(
        BcryptVerify::batch(&v),
        Some(key),
        "a stored hash's cost is its key"
    );
}
