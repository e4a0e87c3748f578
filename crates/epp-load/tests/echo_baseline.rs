//! End to end over loopback: the echo baseline with generated certificates (client
//! certificates required), through the library and through the binary's `--json` output.
//! Only structure and counts are checked; no timing assertion.

use std::process::Command;
use std::time::Duration;

use epp_load::echo::{run_echo, EchoFrame, EchoRun, KeyAlg};
use epp_load::schedule::Rate;

fn run(frame: EchoFrame, key_alg: KeyAlg) -> EchoRun {
    EchoRun {
        frame,
        reply_bytes: 0,
        key_alg,
        server_process: false,
        sessions: 4,
        warmup: Duration::from_millis(200),
        duration: Duration::from_millis(800),
        rate: Rate::PerSecond(2000.0),
        count: None,
        request_timeout: Duration::from_secs(10),
        max_time: Duration::from_secs(30),
        quiet: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_baseline_runs_end_to_end() {
    for (frame, alg) in [
        (EchoFrame::Hello, KeyAlg::P256),
        (EchoFrame::Check, KeyAlg::Ed25519),
    ] {
        let report = run_echo(run(frame, alg)).await.expect("echo baseline runs");
        let echo = report.ops.get("echo").expect("an echo operation");
        assert!(echo.answered > 0, "{}", report.to_text());
        assert_eq!(echo.errors, 0, "{}", report.to_text());
        assert_eq!(echo.codes.get("ok"), Some(&echo.answered));
        assert!(echo.throughput > 0.0);
        assert!(echo.latency.max_ms >= echo.latency.p50_ms && echo.latency.p50_ms > 0.0);
        assert_eq!(report.sessions_lost, 0);
        assert!(!report.hit_max_time);
        assert_eq!(report.mode, "open-loop");
        let bytes = report.info["request_bytes"].as_u64().expect("request size");
        assert_eq!(report.info["reply_bytes"].as_u64(), Some(bytes));
        match frame {
            EchoFrame::Hello => assert!(bytes < 200, "hello frame is {bytes} bytes"),
            EchoFrame::Check => assert!(bytes > 200, "check frame is {bytes} bytes"),
        }
    }
}

#[test]
fn binary_prints_a_json_report() {
    let out = Command::new(env!("CARGO_BIN_EXE_epp-load"))
        .args([
            "echo-baseline",
            "--sessions",
            "2",
            "--duration",
            "1",
            "--warmup",
            "0.2",
            "--rate",
            "1000",
        ])
        .args(["--reply-bytes", "700", "--json", "--max-time", "30"])
        // The echo server in a child process of its own, as bench/run measures it.
        .arg("--server-process")
        .output()
        .expect("epp-load runs");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    for key in [
        "tool",
        "scenario",
        "mode",
        "sessions",
        "target_rate",
        "measured_s",
        "total",
        "ops",
        "unsent",
        "info",
    ] {
        assert!(v.get(key).is_some(), "{key} missing from {v}");
    }
    assert_eq!(v["tool"], "epp-load");
    assert_eq!(v["sessions"], 2);
    let total = &v["total"];
    assert!(total["answered"].as_u64().unwrap_or(0) > 0, "{v}");
    assert_eq!(total["errors"], 0);
    for p in ["p50_ms", "p90_ms", "p99_ms", "max_ms"] {
        assert!(
            total["latency"][p].as_f64().unwrap_or(0.0) > 0.0,
            "{p} in {v}"
        );
    }
    assert_eq!(v["info"]["reply_bytes"], 700);
    assert_eq!(v["info"]["server_process"], true);
    // The progress line goes to stderr, never into the JSON.
    assert!(String::from_utf8_lossy(&out.stderr).contains("epp-load echo"));
}

#[test]
fn binary_refuses_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_epp-load"))
        .args(["hello", "--rate", "5", "--duration", "1"])
        .env_remove("EPP_LOAD_PASSWORD")
        .output()
        .expect("epp-load runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--server"));
}
