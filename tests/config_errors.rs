//! A bad configuration file stops `eppd` at once with a message that names the file and the
//! mistake: a missing required section or field, an unknown field, a wrong type, an
//! unreadable TLS file. `eppd check` reports the same and exits 78 (EX_CONFIG).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/bins.rs"]
mod bins;

use std::path::Path;
use std::process::{Command, Stdio};

use bins::{code, eppd, text};

/// A configuration that works (TLS files made with rcgen).
fn good(dir: &Path) -> String {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    std::fs::write(dir.join("server.crt"), cert.pem()).expect("write");
    std::fs::write(dir.join("server.key"), key.serialize_pem()).expect("write");
    format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\n\n[tls]\ncert_chain = \"{d}/server.crt\"\nkey = \"{d}/server.key\"\nclient_ca = \"{d}/server.crt\"\n\n[database]\nurl = \"sqlite:{d}/registry.db\"\nmax_connections = 2\n",
        d = dir.display()
    )
}

fn run(sub: &str, dir: &Path, config: &str) -> std::process::Output {
    let path = dir.join("eppd.toml");
    std::fs::write(&path, config).expect("write config");
    Command::new(eppd())
        .args([sub, "--config"])
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .expect("run eppd")
}

fn refused(sub: &str, dir: &Path, config: &str, needles: &[&str]) {
    let out = run(sub, dir, config);
    assert_ne!(code(&out), 0, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("eppd.toml"),
        "message does not name the file: {}",
        text(&out)
    );
    for n in needles {
        assert!(
            err.contains(n),
            "message does not say {n:?}: {}",
            text(&out)
        );
    }
}

#[test]
fn each_kind_of_mistake_is_named() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let ok = good(dir);
    let out = run("check", dir, &ok);
    assert_eq!(code(&out), 0, "{}", text(&out));

    // Missing required: the whole [database] section, then one field.
    let no_db = ok.split("[database]").next().expect("head").to_owned();
    refused("check", dir, &no_db, &["missing field `database`"]);
    refused("serve", dir, &no_db, &["missing field `database`"]);
    refused(
        "check",
        dir,
        &ok.replace("key = ", "# key = "),
        &["missing field `key`"],
    );

    // Unknown field.
    refused(
        "check",
        dir,
        &ok.replace("max_connections = 2", "max_conections = 2"),
        &["unknown field `max_conections`"],
    );
    refused(
        "check",
        dir,
        &format!("{ok}\n[registry]\ntld = [\"test\"]\n"),
        &["unknown field `tld`"],
    );

    // Wrong type.
    refused(
        "check",
        dir,
        &ok.replace("max_connections = 2", "max_connections = \"two\""),
        &["max_connections", "invalid type"],
    );
    refused(
        "check",
        dir,
        &ok.replace("listen = [\"127.0.0.1:0\"]", "listen = [\"localhost:700\"]"),
        &["listen", "invalid socket address"],
    );

    // A TLS file that cannot be read: named, path included.
    let missing = ok.replace("server.key", "missing.key");
    refused("check", dir, &missing, &["missing.key"]);
    let out = run("check", dir, &missing);
    assert_eq!(code(&out), 78, "{}", text(&out));
    refused("serve", dir, &missing, &["missing.key"]);
    // A file that is not PEM.
    std::fs::write(dir.join("garbage.crt"), "not a certificate\n").expect("write");
    refused(
        "check",
        dir,
        &ok.replace(
            &format!("client_ca = \"{}/server.crt\"", dir.display()),
            &format!("client_ca = \"{}/garbage.crt\"", dir.display()),
        ),
        &["garbage.crt"],
    );
}
