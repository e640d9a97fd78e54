//! Password hashing and key derivation: bcrypt (`bcrypt.rs`), Argon2 (`argon2.rs`, PHC
//! strings), scrypt and PBKDF2 (`kdf.rs`).
//!
//! None of these libraries offers a hook inside one hash, so the kernels check their token only
//! before they start; an aborted or timed-out task is rejected at once by the pool and its result
//! is discarded when the kernel returns. Every parameter that sizes memory or work is bounded
//! (see the `MAX_*` constants and the kernels' declared params) so no input can exhaust memory;
//! the only long-running inputs left are the ones the algorithms define as slow (bcrypt cost 31,
//! many PBKDF2 iterations), and those stay cancellable from the caller's side.
//!
//! Salts for new hashes come from the OS CSPRNG (`getrandom`). Verification compares in
//! constant time.

mod argon2;
mod bcrypt;
mod kdf;
#[cfg(test)]
mod tests;

pub use self::argon2::{
    argon2_hash, argon2_verify, Argon2Hash, Argon2HashArgs, Argon2Verify, StoredArgon2,
    ARGON2_MAX_MEMORY_KIB, ARGON2_MAX_PARALLELISM, ARGON2_MAX_SALT, ARGON2_MAX_TIME,
    ARGON2_MIN_SALT, ARGON2_SALT_LEN, ARGON2_TAG_LEN,
};
pub use self::bcrypt::{
    bcrypt_backend, bcrypt_hash, bcrypt_hash_many, bcrypt_verify, bcrypt_verify_many,
    check_bcrypt_hash, BcryptHash, BcryptVerify, BCRYPT_DEFAULT_COST, BCRYPT_MAX_COST,
    BCRYPT_MAX_PASSWORD, BCRYPT_MIN_COST,
};
pub use self::kdf::{
    pbkdf2, scrypt, scrypt_memory, Pbkdf2, Pbkdf2Digest, Pbkdf2Params, Scrypt, ScryptParams,
    MAX_KEYLEN, PBKDF2_MAX_ITERATIONS, SCRYPT_DEFAULT_MAXMEM, SCRYPT_MAX_MEM,
};

use super::KernelError;

fn failed(e: impl std::fmt::Display) -> KernelError {
    KernelError::operation_failed(format!("password hashing failed: {e}"))
}
