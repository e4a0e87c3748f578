//! Interoperability with a client we did not write: Perl's Net::EPP (CentralNic; Debian
//! libnet-epp-perl) logs in to an `eppd demo` with the demo registrar's certificate and runs
//! check, create, info, update and delete (`tests/interop/net_epp.pl`). Without Net::EPP the
//! test is skipped locally and fails when `CI=true` (`.ci/run` installs it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/bins.rs"]
mod bins;

use std::process::Command;

use bins::Demo;

fn net_epp_available() -> bool {
    Command::new("perl")
        .args([
            "-MNet::EPP::Client",
            "-MNet::EPP::Frame",
            "-MJSON::PP",
            "-e",
            "1",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn net_epp_client_runs_domain_commands() {
    if !net_epp_available() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but Perl's Net::EPP is missing (apt-get install libnet-epp-perl)"
        );
        eprintln!(
            "Perl Net::EPP not installed (libnet-epp-perl): skipping the interoperability test"
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start(&tmp.path().join("demo"), &[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/net_epp.pl");
    let out = Command::new("perl")
        .arg(script)
        .arg(demo.dir.join("demo.json"))
        .output()
        .expect("run perl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "Net::EPP run failed:\n{report}");
    for step in [
        "login: 1000",
        "check: 1000",
        "create: 1000",
        "info: 1000",
        "update: 1000",
        "delete: 1000",
        "logout: 1500",
    ] {
        assert!(stdout.contains(step), "missing {step:?}:\n{report}");
    }
    demo.stop();
}

fn epptools_available() -> bool {
    Command::new("python3")
        .args(["-c", "import epptools"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// loginSec (RFC 8807) with a client we did not write: Python's epptools selects it by itself
/// when the greeting offers it, sets a 24-character password through `<loginSec:newPW>` and
/// logs in with it through `<loginSec:pw>`; the failed-login statistic reaches it
/// (`tests/interop/epptools_login_sec.py`). Without epptools (PyPI) the test is skipped
/// locally and fails when `CI=true` (`.ci/run` installs it).
#[test]
fn epptools_logs_in_with_login_sec_and_a_24_character_password() {
    if !epptools_available() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but Python's epptools is missing (pip install epptools)"
        );
        eprintln!("Python epptools not installed (pip install epptools): skipping");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start(&tmp.path().join("demo"), &[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/epptools_login_sec.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(demo.dir.join("demo.json"))
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "epptools run failed:\n{report}");
    for step in [
        "wrong password: 2200",
        "greeting offers loginSec: True",
        "login with newPW of 24 characters: 1000",
        "failedLogins: 1",
        "logout: 1500",
        "login with a 24-character password: 1000",
        "check: 1000",
    ] {
        assert!(stdout.contains(step), "missing {step:?}:\n{report}");
    }
}
