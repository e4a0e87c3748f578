//! Registrar storage on both backends (`sqlite::name` and `postgres::name`; the PostgreSQL
//! variants run when `EPP_TEST_PG_URL` is set).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use epp_proto::ClientId;
use registry_core::clock::Clock;
use registry_core::registrar::{CertFingerprint, PasswordHash, Registrar, RegistrarStatus};
use registry_store::registrars::RegistrarStoreError;

both!(bug_insert_registrar_twice_is_exists);

fn registrar(cl_id: &str, name: &str) -> Registrar {
    Registrar::new(
        ClientId::new(cl_id).unwrap(),
        name,
        RegistrarStatus::Active,
        PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo").unwrap(),
        vec![format!("{:064x}", 0xab).parse::<CertFingerprint>().unwrap()],
        vec!["192.0.2.0/24".parse().unwrap()],
        4,
    )
    .unwrap()
}

/// Bug: a second insert of the same clID returned `Sqlx` (a `?` inside the backend match
/// returned before the unique violation was mapped), so callers could not tell "exists" from a
/// database failure.
async fn bug_insert_registrar_twice_is_exists(env: &Env) {
    let now = env.clock.now();
    env.db
        .insert_registrar(&registrar("reg-dup", "First"), now)
        .await
        .unwrap();
    let err = env
        .db
        .insert_registrar(&registrar("reg-dup", "Second"), now)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RegistrarStoreError::Exists(c) if c == "reg-dup"),
        "{err:?}"
    );
    // The failed insert changed nothing.
    let stored = env
        .db
        .registrar(&ClientId::new("reg-dup").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "First");
}
