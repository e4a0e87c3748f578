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

/// Whether the outside client can run here: locally a missing one skips the test (with a
/// line saying so), under `CI=true` it fails (`.ci/run` installs it).
fn client_present(available: bool, what: &str, install: &str) -> bool {
    if !available {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but {what} is missing ({install})"
        );
        eprintln!("{what} not installed ({install}): skipping the interoperability test");
    }
    available
}

/// Runs `program script DIR/demo.json` against a fresh `eppd demo` and checks that it
/// succeeded and printed every line of `steps`.
fn run_against_demo(program: &str, script: &str, steps: &[&str]) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start(&tmp.path().join("demo"), &[]);
    let script = format!("{}/interop/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(program)
        .arg(&script)
        .arg(demo.dir.join("demo.json"))
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script} failed:\n{report}");
    for step in steps {
        assert!(stdout.contains(step), "missing {step:?}:\n{report}");
    }
    demo.stop();
}

#[test]
fn net_epp_client_runs_domain_commands() {
    if !client_present(
        net_epp_available(),
        "Perl's Net::EPP",
        "apt-get install libnet-epp-perl",
    ) {
        return;
    }
    run_against_demo(
        "perl",
        "net_epp.pl",
        &[
            "login: 1000",
            "check: 1000",
            "create: 1000",
            "info: 1000",
            "update: 1000",
            "delete: 1000",
            "logout: 1500",
        ],
    );
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
    if !client_present(
        epptools_available(),
        "Python's epptools",
        "pip install epptools",
    ) {
        return;
    }
    run_against_demo(
        "python3",
        "epptools_login_sec.py",
        &[
            "wrong password: 2200",
            "greeting offers loginSec: True",
            "login with newPW of 24 characters: 1000",
            "failedLogins: 1",
            "logout: 1500",
            "login with a 24-character password: 1000",
            "check: 1000",
        ],
    );
}
