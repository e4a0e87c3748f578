//! How long the history chain takes: sequencing and verifying N rows (issue 13 asks for
//! `history verify` of 1,000,000 rows in under 10 s).
//!
//! ```text
//! cargo run --release -p registry-store --example chain_bench -- [ROWS] [postgres://…admin URL]
//! ```
//!
//! Without a URL it uses a temporary SQLite file. Rows are the size of a domain update's
//! history row (about 1.6 KB of JSON before and after), inserted in bulk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use chrono::Utc;
use registry_store::{chain, Db};

fn doc(i: usize) -> String {
    format!(
        r#"{{"name":"bench{i}.test","cl_id":"registrarA","cr_id":"registrarA","cr_date":"2025-01-01T00:00:00Z","up_id":"registrarA","up_date":"2025-01-02T00:00:00Z","ex_date":"2026-01-01T00:00:00Z","tr_date":null,"registrant":"contact-{i}","contacts":[{{"type":"admin","id":"contact-{i}"}},{{"type":"tech","id":"contact-{i}"}}],"ns":["ns1.example.net","ns2.example.net"],"statuses":[{{"s":"clientTransferProhibited"}}],"auth_pw":"***","ds":[{{"key_tag":12345,"alg":13,"digest_type":2,"digest":"E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766"}}],"max_sig_life":null,"grace":[{{"kind":"addPeriod","until":"2025-01-06T00:00:00Z"}}],"rgp":null,"transfer":null}}"#
    )
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let admin = args.next();
    let dir = tempfile::tempdir().unwrap();
    let (db, cleanup) = match &admin {
        None => {
            let url = format!("sqlite:{}", dir.path().join("chain.db").display());
            (Db::connect(&url, 4).await.unwrap(), None)
        }
        Some(admin) => {
            let name = format!("chain_bench_{}", std::process::id());
            let pool = sqlx::PgPool::connect(admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&pool)
                .await
                .unwrap();
            let (base, _) = admin.rsplit_once('/').unwrap();
            let db = Db::connect(&format!("{base}/{name}"), 4).await.unwrap();
            (db, Some((pool, name)))
        }
    };
    println!("backend {}, {rows} rows", db.backend());

    let t = Instant::now();
    const BATCH: usize = 500;
    let mut done = 0;
    while done < rows {
        let n = BATCH.min(rows - done);
        let mut q = String::from(
            "INSERT INTO object_history (object_type, object_key, roid, op, cl_id, source_ip, \
             cert_fingerprint, cl_trid, sv_trid, at, before_state, after_state) VALUES ",
        );
        for i in done..done + n {
            if i > done {
                q.push(',');
            }
            let d = doc(i).replace('\'', "''");
            q.push_str(&format!(
                "('domain', 'bench{i}.test', 'D{i}-EPP', 'domain:update', 'registrarA', '192.0.2.1', \
                 '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'CL-{i}', 'SV-{i}', $1, '{d}', '{d}')"
            ));
        }
        let at = Utc::now();
        match &db {
            Db::Sqlite(p) => sqlx::query(&q).bind(at).execute(p).await.map(drop),
            Db::Postgres(p) => sqlx::query(&q).bind(at).execute(p).await.map(drop),
        }
        .unwrap();
        done += n;
    }
    println!("insert: {:.2} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let old = Utc::now() - chrono::Duration::days(1);
    loop {
        let r = chain::sequence(&db, 20_000, old).await.unwrap();
        if r.chained == 0 {
            break;
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!("sequence: {s:.2} s ({:.0} rows/s)", rows as f64 / s);

    let t = Instant::now();
    let r = chain::verify(&db, None).await.unwrap();
    let v = t.elapsed().as_secs_f64();
    assert_eq!(r.problem, None);
    assert_eq!(r.rows as usize, rows);
    println!("verify: {v:.2} s ({:.0} rows/s)", rows as f64 / v);

    db.close().await;
    if let Some((pool, name)) = cleanup {
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&pool)
            .await
            .unwrap();
    }
}
