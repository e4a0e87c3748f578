//! The README's quick start, as a user types it: `eppd demo`, then the epp-cli commands it
//! prints (here on an ephemeral port and a temporary directory), epp-cli's exit statuses for
//! each kind of failure, `--json`, a restart that reuses everything, and the metrics endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/bins.rs"]
mod bins;

use std::io::{Read, Write};
use std::net::TcpStream;

use bins::{code, run_cli, text, Demo};

fn cli(demo: &Demo, args: &[&str]) -> std::process::Output {
    let profile = demo.profile();
    let mut all = vec!["--profile", profile.as_str()];
    all.extend_from_slice(args);
    run_cli(&all)
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

/// Whether the text output has a `key  value` row (keys are padded to the block's width).
fn has_row(text: &str, key: &str, value: &str) -> bool {
    text.lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == [key, value])
}

fn scrape(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to metrics");
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn quick_start_as_the_readme_says() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("eppd-demo");
    let demo = Demo::start(&dir, &[]);

    // demo.json has every documented field, with the port actually bound.
    for f in [
        "address", "ca", "cert", "key", "cl_id", "password", "profile", "database",
    ] {
        assert!(
            demo.info[f].is_string(),
            "demo.json lacks {f}: {}",
            demo.info
        );
    }
    // The demo writes the zone file from the start (apex only until a delegation exists).
    let zone_file = std::path::PathBuf::from(demo.field("zone_file"));
    let zone = std::fs::read_to_string(&zone_file).expect("demo zone file");
    assert!(zone.contains("IN SOA"), "{zone}");
    let address = demo.field("address");
    assert!(address.starts_with("127.0.0.1:") && !address.ends_with(":0"));
    assert_eq!(demo.field("cl_id"), "demo");
    assert_eq!(demo.field("password").len(), 16);
    // The banner shows the exact command to try.
    let profile = dir.join("epp-cli.toml");
    let expected = format!(
        "cargo run --release -p epp-cli -- --profile {} domain check example.test",
        profile.display()
    );
    assert!(demo.banner.contains(&expected), "{}", demo.banner);

    // The README's commands.
    let out = cli(&demo, &["domain", "check", "example.test"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // A table: name, avail, reason.
    assert!(
        has_row(&String::from_utf8_lossy(&out.stdout), "example.test", "yes"),
        "{}",
        text(&out)
    );

    let create = [
        "domain",
        "create",
        "example.test",
        "--registrant",
        "demo-contact",
    ];
    let out = cli(&demo, &create);
    assert_eq!(code(&out), 0, "{}", text(&out));

    let out = cli(&demo, &["domain", "info", "example.test"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(has_row(&shown, "registrant", "demo-contact"), "{shown}");
    assert!(has_row(&shown, "clID", "demo"), "{shown}");

    let out = cli(&demo, &["--json", "poll", "req"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(json(&out)["result"][0]["code"], 1300);

    // A delegation reaches the demo's zone file (rewritten every two seconds).
    let out = cli(&demo, &["host", "create", "ns1.example.net"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = cli(
        &demo,
        &[
            "domain",
            "update",
            "example.test",
            "--add-ns",
            "ns1.example.net",
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Polls the file (another process, on the wall clock) for at most 10 s.
    let mut delegated = false;
    for _ in 0..100 {
        let zone = std::fs::read_to_string(&zone_file).unwrap_or_default();
        if zone.contains("example.test. 3600 IN NS ns1.example.net.") {
            delegated = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        delegated,
        "{}",
        std::fs::read_to_string(&zone_file).unwrap_or_default()
    );

    // 1: the server refused the command (and --json still describes it).
    let mut again = vec!["--json"];
    again.extend_from_slice(&create);
    let out = cli(&demo, &again);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(json(&out)["result"][0]["code"], 2302);

    // 3: login refused (wrong password).
    let bad_pw = tmp.path().join("wrong-password");
    std::fs::write(&bad_pw, "Wrong-Passw0rd\n").expect("write");
    let out = cli(
        &demo,
        &[
            "--password-file",
            bad_pw.to_str().unwrap(),
            "domain",
            "check",
            "a.test",
        ],
    );
    assert_eq!(code(&out), 3, "{}", text(&out));

    // 4: nothing listens there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").to_string()
    };
    let out = cli(&demo, &["--server", &closed, "domain", "check", "a.test"]);
    assert_eq!(code(&out), 4, "{}", text(&out));

    // 5: the server certificate does not chain to the CA given.
    let other_ca = tmp.path().join("other-ca.crt");
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    std::fs::write(&other_ca, params.self_signed(&key).expect("ca").pem()).expect("write");
    let out = cli(
        &demo,
        &[
            "--ca",
            other_ca.to_str().unwrap(),
            "domain",
            "check",
            "a.test",
        ],
    );
    assert_eq!(code(&out), 5, "{}", text(&out));

    // 6: a local file is missing.
    let missing = tmp.path().join("no-such-cert.pem");
    let out = cli(
        &demo,
        &[
            "--cert",
            missing.to_str().unwrap(),
            "domain",
            "check",
            "a.test",
        ],
    );
    assert_eq!(code(&out), 6, "{}", text(&out));

    // Running it again reuses the CA, the certificates, the password and the database.
    let ca_before = std::fs::read(dir.join("ca.crt")).expect("ca");
    let cert_before = std::fs::read(dir.join("demo.crt")).expect("cert");
    let password = demo.field("password");
    demo.stop();
    let demo = Demo::start(&dir, &["--metrics", "127.0.0.1:0"]);
    assert_eq!(std::fs::read(dir.join("ca.crt")).expect("ca"), ca_before);
    assert_eq!(
        std::fs::read(dir.join("demo.crt")).expect("cert"),
        cert_before
    );
    assert_eq!(demo.field("password"), password);
    let out = cli(&demo, &["--json", "domain", "info", "example.test"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(json(&out)["result"][0]["code"], 1000);

    // The metrics listener counts what happened.
    let metrics = scrape(&demo.field("metrics"));
    assert!(metrics.starts_with("HTTP/1.0 200 OK"), "{metrics}");
    assert!(
        metrics.contains(r#"eppd_commands_total{command="domain:info",code="1000"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("eppd_command_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(metrics.contains("eppd_sessions_open 0"), "{metrics}");
    let out = cli(
        &demo,
        &[
            "--password-file",
            bad_pw.to_str().unwrap(),
            "domain",
            "check",
            "a.test",
        ],
    );
    assert_eq!(code(&out), 3, "{}", text(&out));
    let metrics = scrape(&demo.field("metrics"));
    assert!(
        metrics.contains(r#"eppd_login_failures_total{reason="bad_password"} 1"#),
        "{metrics}"
    );
    demo.stop();
}

/// Runs `eppd ARGS…` to its end (bounded): it must exit by itself.
fn eppd_exits(args: &[&str]) -> std::process::Output {
    let mut child = std::process::Command::new(bins::eppd())
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn eppd");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "eppd {args:?} did not exit: a second server on the same SQLite file kept running"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Issue 19: a second `eppd demo` (or `eppd serve`) on the same SQLite file refuses to start,
/// saying why; once the first is gone (even by SIGKILL), the file can be served again.
#[test]
fn a_second_server_on_the_same_sqlite_file_is_refused() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("eppd-demo");
    let first = Demo::start(&dir, &[]);
    let data = dir.display().to_string();
    let out = eppd_exits(&["demo", "--data", &data, "--listen", "127.0.0.1:0"]);
    assert_ne!(code(&out), 0, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another eppd (pid ")
            && err.contains("is already serving the SQLite database"),
        "{err}"
    );
    assert!(err.contains("registry.db"), "{err}");
    // `eppd serve` with the demo's own configuration: the same refusal.
    let config = dir.join("eppd.toml").display().to_string();
    let out = eppd_exits(&["serve", "--config", &config]);
    assert_ne!(code(&out), 0, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already serving"),
        "{}",
        text(&out)
    );
    // The first one still serves.
    let out = cli(&first, &["domain", "check", "example.test"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    first.stop();
    let again = Demo::start(&dir, &[]);
    let out = cli(&again, &["domain", "check", "example.test"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    again.stop();
}
