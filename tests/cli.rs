//! epp-cli as a registrar engineer uses it, against `eppd demo` over TLS:
//!
//! - every command's text output against a golden file (`fixtures/cli/*.txt`; times,
//!   transaction ids and roids masked), and its `--json` output against the published schema;
//! - `batch` with successes and failures: exit status, the summary, `--on-error stop` and
//!   `continue`, `--json` lines, several sessions, a bad line that stops the batch before
//!   anything is sent;
//! - `shell` through a pseudo-terminal: the prompt, Tab completion of commands and of names
//!   seen, history (kept across runs, without authInfo lines), colour on a terminal and none
//!   with `NO_COLOR`.
//!
//! `UPDATE_GOLDEN=1 cargo test -p e2e-tests --test cli` rewrites the golden files; review the
//! diff before committing it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/bins.rs"]
mod bins;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use bins::{code, text, Demo};

const AUTH: &str = "2fooBAR-cli-Zq8#Kx3Vm9!Tr2Lw4$";
/// A SHA-256 digest (64 hex digits).
const DIGEST: &str = "8F5A5C3B4B5E5D4C3B2A19081726354453627180918A7B6C5D4E3F2A1B0C9D8E";
const DIGEST2: &str = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";

fn cli(demo: &Demo, args: &[&str]) -> Output {
    cli_env(demo, args, &[], None)
}

fn cli_env(demo: &Demo, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(bins::epp_cli());
    cmd.arg("--profile")
        .arg(demo.profile())
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("run epp-cli");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("epp-cli output")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `s` at `i` starts an RFC 3339 UTC timestamp to the second.
fn is_time_at(s: &[u8], i: usize) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:ddZ";
    s.len() >= i + SHAPE.len()
        && SHAPE.iter().enumerate().all(|(k, c)| match c {
            b'd' => s[i + k].is_ascii_digit(),
            c => s[i + k] == *c,
        })
}

/// Masks what changes from run to run: timestamps, transaction ids, roids.
fn normalize(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = if line.starts_with("clTRID ") || line.starts_with("svTRID ") {
            "clTRID <clTRID>  svTRID <svTRID>".to_owned()
        } else if let Some(rest) = line.strip_prefix("roid") {
            let pad = rest.len() - rest.trim_start().len();
            format!("roid{}<roid>", " ".repeat(pad))
        } else {
            let b = line.as_bytes();
            let mut s = String::new();
            let mut i = 0;
            while i < b.len() {
                if is_time_at(b, i) {
                    s.push_str("<time>");
                    i += 20;
                } else {
                    let ch = line[i..].chars().next().expect("a char");
                    s.push(ch);
                    i += ch.len_utf8();
                }
            }
            s
        };
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cli")
}

/// Compares with the golden file (or writes it with UPDATE_GOLDEN=1); returns the mismatch.
fn check_golden(name: &str, got: &str) -> Option<String> {
    let path = golden_dir().join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, got).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    (want != got).then(|| format!("{name}:\n--- want\n{want}--- got\n{got}"))
}

struct Schema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Schema {
    fn load() -> Schema {
        let value: serde_json::Value = serde_json::from_str(epp_cli::json::SCHEMA).unwrap();
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let id = "urn:x-epp-registry:epp-cli:output:1";
        compiler.add_resource(id, value).unwrap();
        let index = compiler.compile(id, &mut schemas).unwrap();
        Schema { schemas, index }
    }

    fn check(&self, what: &str, v: &serde_json::Value) -> Result<(), String> {
        self.schemas
            .validate(v, self.index)
            .map_err(|e| format!("{what}: not valid against the schema: {e:#}\n{v:#}"))
    }
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

#[test]
fn every_command_has_golden_text_and_schema_valid_json() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start(&tmp.path().join("demo"), &[]);
    let raw = tmp.path().join("check.xml");
    std::fs::write(
        &raw,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><check>
<domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>raw.test</domain:name></domain:check>
</check><clTRID>RAW-0001</clTRID></command></epp>"#,
    )
    .unwrap();
    let raw = raw.to_str().unwrap();
    let ds1 = format!("12345:13:2:{DIGEST}");
    // Lower case on the way in, upper case on the way out (the server normalises).
    let ds2 = format!("54321:8:2:{}", DIGEST2.to_ascii_lowercase());

    // (golden name, arguments, exit status). Run in order: later steps need earlier ones.
    let steps: Vec<(&str, Vec<&str>, i32)> = vec![
        ("hello", vec!["hello"], 0),
        (
            "domain-check",
            vec!["domain", "check", "golden.test", "other.test"],
            0,
        ),
        (
            "contact-check",
            vec!["contact", "check", "demo-contact", "c-golden"],
            0,
        ),
        (
            "contact-create",
            vec![
                "contact",
                "create",
                "c-golden",
                "--name",
                "Gold En",
                "--org",
                "Golden Ltd",
                "--street",
                "1 Main Street",
                "--city",
                "Springfield",
                "--sp",
                "IL",
                "--pc",
                "62701",
                "--cc",
                "US",
                "--voice",
                "+1.2175550100",
                "--email",
                "gold@example.test",
                "--auth-info",
                AUTH,
            ],
            0,
        ),
        ("contact-info", vec!["contact", "info", "c-golden"], 0),
        (
            "domain-create",
            vec![
                "domain",
                "create",
                "golden.test",
                "--registrant",
                "demo-contact",
                "--admin",
                "c-golden",
                "--tech",
                "c-golden",
                "--billing",
                "demo-contact",
                "--period",
                "2y",
                "--auth-info",
                AUTH,
            ],
            0,
        ),
        (
            "domain-create-exists",
            vec![
                "domain",
                "create",
                "golden.test",
                "--registrant",
                "demo-contact",
                "--auth-info",
                AUTH,
            ],
            1,
        ),
        (
            "host-create",
            vec![
                "host",
                "create",
                "ns1.golden.test",
                "--addr",
                "192.0.2.53",
                "--addr",
                "2001:db8::53",
            ],
            0,
        ),
        (
            "host-create-external",
            vec!["host", "create", "ns.example.net"],
            0,
        ),
        (
            "host-check",
            vec!["host", "check", "ns1.golden.test", "ns2.golden.test"],
            0,
        ),
        (
            "domain-update",
            vec![
                "domain",
                "update",
                "golden.test",
                "--add-ns",
                "ns1.golden.test",
                "--add-ns",
                "ns.example.net",
                "--add-ds",
                &ds1,
                "--add-ds",
                &ds2,
                "--add-status",
                "clientTransferProhibited",
                "--add-status",
                "clientDeleteProhibited",
            ],
            0,
        ),
        ("domain-info", vec!["domain", "info", "golden.test"], 0),
        (
            "domain-info-secrets",
            vec!["--show-secrets", "domain", "info", "golden.test"],
            0,
        ),
        (
            "domain-info-missing",
            vec!["domain", "info", "missing.test"],
            1,
        ),
        ("host-info", vec!["host", "info", "ns1.golden.test"], 0),
        (
            "host-update",
            vec![
                "host",
                "update",
                "ns1.golden.test",
                "--add-addr",
                "192.0.2.54",
                "--rem-addr",
                "2001:db8::53",
            ],
            0,
        ),
        (
            "domain-delete-prohibited",
            vec!["domain", "delete", "golden.test"],
            1,
        ),
        (
            "domain-transfer-query",
            vec!["domain", "transfer", "query", "golden.test"],
            1,
        ),
        ("domain-lock", vec!["domain", "lock", "golden.test"], 1),
        ("poll-req", vec!["poll", "req"], 0),
        ("raw", vec!["raw", raw], 0),
        (
            "contact-delete-linked",
            vec!["contact", "delete", "c-golden"],
            1,
        ),
        (
            "host-delete-linked",
            vec!["host", "delete", "ns.example.net"],
            1,
        ),
    ];
    let mut failures = Vec::new();
    for (name, args, want) in &steps {
        let out = cli(&demo, args);
        if code(&out) != *want {
            failures.push(format!(
                "{name}: exit {} (want {want})\n{}",
                code(&out),
                text(&out)
            ));
            continue;
        }
        let shown = stdout(&out);
        assert!(
            !shown.contains('\x1b'),
            "{name}: colour on a pipe: {shown:?}"
        );
        failures.extend(check_golden(name, &normalize(&shown)));
    }
    // Renew needs the current expiry date, which depends on today.
    let info = json(&cli(&demo, &["--json", "domain", "info", "golden.test"]));
    let ex_date = info["resData"]["domain:infData"]["exDate"]
        .as_str()
        .expect("exDate")[..10]
        .to_owned();
    let out = cli(
        &demo,
        &[
            "domain",
            "renew",
            "golden.test",
            "--cur-exp-date",
            &ex_date,
            "--period",
            "1y",
        ],
    );
    if code(&out) == 0 {
        failures.extend(check_golden("domain-renew", &normalize(&stdout(&out))));
    } else {
        failures.push(format!("domain-renew: {}", text(&out)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // The same commands with --json: valid against the schema, in the RFC's names, exit
    // statuses unchanged. Mutating commands work on objects of their own.
    let schema = Schema::load();
    let json_steps: Vec<(Vec<&str>, i32)> = vec![
        (vec!["hello"], 0),
        (vec!["domain", "check", "golden.test", "json.test"], 0),
        (vec!["contact", "check", "demo-contact"], 0),
        (
            vec![
                "contact",
                "create",
                "c-json",
                "--name",
                "J Son",
                "--city",
                "Paris",
                "--cc",
                "FR",
                "--email",
                "j@example.test",
                "--auth-info",
                AUTH,
            ],
            0,
        ),
        (vec!["contact", "info", "c-golden"], 0),
        (vec!["--show-secrets", "contact", "info", "c-golden"], 0),
        (
            vec![
                "domain",
                "create",
                "json.test",
                "--registrant",
                "c-json",
                "--auth-info",
                AUTH,
            ],
            0,
        ),
        (
            vec![
                "domain",
                "create",
                "json.test",
                "--registrant",
                "c-json",
                "--auth-info",
                AUTH,
            ],
            1,
        ),
        (
            vec!["host", "create", "ns1.json.test", "--addr", "192.0.2.80"],
            0,
        ),
        (vec!["host", "check", "ns1.json.test"], 0),
        (
            vec!["domain", "update", "json.test", "--add-ns", "ns1.json.test"],
            0,
        ),
        (vec!["domain", "info", "golden.test"], 0),
        (vec!["--show-secrets", "domain", "info", "golden.test"], 0),
        (vec!["domain", "info", "missing.test"], 1),
        (vec!["host", "info", "ns1.golden.test"], 0),
        (vec!["domain", "transfer", "query", "golden.test"], 1),
        (vec!["domain", "lock", "golden.test"], 1),
        (vec!["poll", "req"], 0),
        (vec!["raw", raw], 0),
        (vec!["domain", "delete", "golden.test"], 1),
    ];
    let mut failures = Vec::new();
    for (args, want) in &json_steps {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = cli(&demo, &all);
        if code(&out) != *want {
            failures.push(format!(
                "{args:?}: exit {} (want {want})\n{}",
                code(&out),
                text(&out)
            ));
            continue;
        }
        failures.extend(schema.check(&format!("{args:?}"), &json(&out)).err());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // What a script reads, by the RFC's names.
    let v = json(&cli(&demo, &["--json", "domain", "info", "golden.test"]));
    let d = &v["resData"]["domain:infData"];
    assert_eq!(d["name"], "golden.test");
    assert_eq!(d["registrant"], "demo-contact");
    assert_eq!(
        d["ns"]["hostObj"],
        serde_json::json!(["ns.example.net", "ns1.golden.test"])
    );
    assert!(d.get("authInfo").is_none(), "{v}");
    let ds = &v["extension"]["secDNS:infData"]["dsData"];
    assert_eq!(ds[0]["keyTag"], 12345, "{v}");
    assert_eq!(ds[0]["digestType"], 2, "{v}");
    let v = json(&cli(
        &demo,
        &["--json", "--show-secrets", "domain", "info", "golden.test"],
    ));
    // Not even with --show-secrets: the server never returns an authInfo (RFC 9154 4.2).
    assert!(
        v["resData"]["domain:infData"].get("authInfo").is_none(),
        "{v}"
    );

    // A failure without an answer is a JSON error object too (and the exit status says which).
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").to_string()
    };
    let out = cli(
        &demo,
        &["--json", "--server", &closed, "domain", "check", "a.test"],
    );
    assert_eq!(code(&out), 4, "{}", text(&out));
    let v = json(&out);
    schema.check("connection error", &v).unwrap();
    assert_eq!(v["error"]["kind"], "connection");

    // --xml shows the frames; the login password only with --show-secrets.
    let password = demo.field("password");
    let out = cli(&demo, &["--xml", "domain", "check", "x.test"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let xml = stdout(&out);
    assert!(
        xml.contains("<pw>***</pw>") && !xml.contains(&password),
        "{xml}"
    );
    assert!(
        xml.contains("<domain:name avail=\"1\">x.test</domain:name>"),
        "{xml}"
    );
    let out = cli(
        &demo,
        &["--xml", "--show-secrets", "domain", "check", "x.test"],
    );
    assert!(stdout(&out).contains(&format!("<pw>{password}</pw>")));

    // `epp-cli schema` prints the schema the checks above used.
    let out = cli(&demo, &["schema"]);
    assert_eq!(stdout(&out).trim_end(), epp_cli::json::SCHEMA.trim_end());
    demo.stop();
}

/// The summary table's rows as (code, count).
fn summary_rows(text: &str) -> Vec<(String, u64)> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.first() == Some(&"code") && cells.get(1) == Some(&"count") {
            in_table = true;
            continue;
        }
        if in_table {
            match (cells.first(), cells.get(1).and_then(|n| n.parse().ok())) {
                (Some(c), Some(n)) => rows.push(((*c).to_owned(), n)),
                _ => break,
            }
        }
    }
    rows
}

fn available(demo: &Demo, name: &str) -> bool {
    let v = json(&cli(demo, &["--json", "domain", "check", name]));
    v["resData"]["domain:chkData"]["cd"][0]["avail"]
        .as_bool()
        .expect("avail")
}

#[test]
fn batch_counts_successes_and_failures_and_stops_or_goes_on() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start(&tmp.path().join("demo"), &[]);
    let write = |name: &str, body: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let create =
        |d: &str| format!("domain create {d} --registrant demo-contact --auth-info {AUTH}");

    // --on-error stop (the default): the failure on line 3 is the last line sent.
    let stop = write(
        "stop.txt",
        &format!(
            "# moving name servers\nhost create ns1.batch.net\nhost create ns1.batch.net\n{}\ndomain check b1.test\n",
            create("b1.test")
        ),
    );
    let out = cli(&demo, &["batch", &stop]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let shown = stdout(&out);
    assert!(
        shown.contains("line 3: host create ns1.batch.net\n2302 "),
        "{shown}"
    );
    assert_eq!(
        summary_rows(&shown),
        [("1000".into(), 1), ("2302".into(), 1), ("-".into(), 2)],
        "{shown}"
    );
    assert!(
        shown.contains("4 lines: 1 succeeded, 1 failed, 2 not sent"),
        "{shown}"
    );
    assert!(
        available(&demo, "b1.test"),
        "a line after the failure was sent"
    );

    // --on-error continue: every line is sent; failures are printed, successes are not.
    let go_on = write(
        "continue.txt",
        &format!(
            "host create ns2.batch.net\nhost create ns1.batch.net\n{}\ndomain info nothere.test\n{}\n",
            create("b2.test"),
            create("b3.test"),
        ),
    );
    let out = cli(&demo, &["batch", "--on-error", "continue", &go_on]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let shown = stdout(&out);
    assert_eq!(
        summary_rows(&shown),
        [("1000".into(), 3), ("2302".into(), 1), ("2303".into(), 1)],
        "{shown}"
    );
    assert!(
        shown.contains("line 4: domain info nothere.test\n2303 "),
        "{shown}"
    );
    assert!(
        !shown.contains("line 1:"),
        "a success printed without --verbose: {shown}"
    );
    assert!(!available(&demo, "b2.test") && !available(&demo, "b3.test"));
    let out = cli(
        &demo,
        &["batch", "--verbose", "--on-error", "continue", &go_on],
    );
    assert!(stdout(&out).contains("line 1: host create ns2.batch.net\n2302 "));

    // --json: one schema-valid object per line, then the summary; several sessions.
    let schema = Schema::load();
    let mut lines = String::from("# 40 name servers over 3 sessions\n");
    for i in 0..40 {
        lines.push_str(&format!("host create ns{i}.many.example\n"));
    }
    lines.push_str("domain check many.test\n");
    let many = write("many.txt", &lines);
    let out = cli(&demo, &["--json", "batch", "--sessions", "3", &many]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let mut seen_lines = Vec::new();
    let mut summary = None;
    for l in stdout(&out).lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
        schema.check(l, &v).unwrap();
        if let Some(s) = v.get("summary") {
            summary = Some(s.clone());
        } else {
            assert_eq!(
                v["response"]["result"][0]["code"].as_u64().unwrap() / 1000,
                1,
                "{v}"
            );
            seen_lines.push(v["line"].as_u64().unwrap());
        }
    }
    seen_lines.sort_unstable();
    assert_eq!(seen_lines, (2..=42).collect::<Vec<u64>>());
    let s = summary.expect("a summary line");
    assert_eq!(s["lines"], 41);
    assert_eq!(s["succeeded"], 41);
    assert_eq!(s["failed"], 0);
    assert_eq!(s["sessions"], 3);
    assert_eq!(
        s["result"],
        serde_json::json!([{ "code": 1000, "msg": "Command completed successfully", "count": 41 }])
    );

    // --json with failures (and --on-error continue): the failed lines' objects say why.
    let out = cli(
        &demo,
        &["--json", "batch", "--on-error", "continue", &go_on],
    );
    assert_eq!(code(&out), 1, "{}", text(&out));
    let objects: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for v in &objects {
        schema.check("batch line", v).unwrap();
    }
    let s = &objects.last().unwrap()["summary"];
    assert_eq!(
        (s["succeeded"].as_u64(), s["failed"].as_u64()),
        (Some(0), Some(5)),
        "{s}"
    );

    // A bad line anywhere: the batch is refused whole, from standard input too.
    let bad = format!(
        "{}\ndomain chek c1.test\nhost create ns.bad.net --addr 300.1.1.1\n",
        create("c1.test")
    );
    let out = cli_env(&demo, &["batch", "-"], &[], Some(&bad));
    assert_eq!(code(&out), 2, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2: ") && err.contains("line 3: "),
        "{err}"
    );
    assert!(err.contains("nothing was sent"), "{err}");
    assert!(
        available(&demo, "c1.test"),
        "line 1 of a refused batch was sent"
    );

    // The same input, fixed, from standard input.
    let good = format!("{}\ndomain info c1.test\n", create("c1.test"));
    let out = cli_env(&demo, &["batch", "-"], &[], Some(&good));
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(summary_rows(&stdout(&out)), [("1000".into(), 2)]);
    demo.stop();
}

fn shell(demo: &Demo, history: &Path, no_color: bool) -> rexpect::session::PtySession {
    let mut cmd = Command::new(bins::epp_cli());
    cmd.arg("--profile")
        .arg(demo.profile())
        .arg("shell")
        .env("EPP_CLI_HISTORY", history)
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn epp-cli shell")
}

/// What the shell printed for the command just entered: everything up to its last line (the
/// transaction ids), then the next prompt. (The prompt alone is no marker: the line editor
/// redraws it while a long line is typed.)
fn read_answer(s: &mut rexpect::session::PtySession, prompt: &str) -> String {
    let text = s.exp_string("svTRID").expect("an answer");
    s.exp_string(prompt).expect("the next prompt");
    text
}

#[test]
fn shell_edits_completes_remembers_and_colours_only_a_terminal() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let demo = Demo::start(&tmp.path().join("demo"), &[]);
    let history = tmp.path().join("history");
    let prompt = format!("demo@{}> ", demo.field("address"));

    let mut s = shell(&demo, &history, false);
    s.exp_string(&prompt).expect("first prompt");
    s.send_line("domain check shell.test").unwrap();
    let answer = read_answer(&mut s, &prompt);
    assert!(answer.contains("shell.test"), "{answer:?}");
    // Colour on a terminal: the result code in bold green.
    assert!(
        answer.contains("\x1b[32m"),
        "no colour on a terminal: {answer:?}"
    );
    s.send_line(&format!(
        "domain create shell.test --registrant demo-contact --auth-info {AUTH}"
    ))
    .unwrap();
    let answer = read_answer(&mut s, &prompt);
    assert!(answer.contains("1000"), "{answer:?}");

    // Tab completes the command and the name the session has seen.
    s.send("dom\t").unwrap();
    s.send("in\t").unwrap();
    s.send("sh\t").unwrap();
    s.send("\r").unwrap();
    s.flush().unwrap();
    let answer = read_answer(&mut s, &prompt);
    assert!(answer.contains("domain info shell.test"), "{answer:?}");
    assert!(answer.contains("registrant"), "{answer:?}");
    assert!(answer.contains("demo-contact"), "{answer:?}");

    // Up arrow recalls the last line.
    s.send("\x1b[A").unwrap();
    s.send("\r").unwrap();
    s.flush().unwrap();
    let answer = read_answer(&mut s, &prompt);
    assert!(answer.contains("registrant"), "{answer:?}");

    // A bad line is explained and the shell goes on.
    s.send_line("domain chek x.test").unwrap();
    let answer = s.exp_string("unrecognized subcommand").expect("the error");
    s.exp_string(&prompt).expect("a prompt after the error");
    assert!(answer.contains("chek"), "{answer:?}");
    s.send_line("quit").unwrap();
    s.exp_eof().expect("the shell ends on quit");

    // History is kept across runs, without the line that carried an authInfo.
    let kept = std::fs::read_to_string(&history).expect("history file");
    assert!(kept.contains("domain check shell.test"), "{kept}");
    assert!(kept.contains("domain info shell.test"), "{kept}");
    assert!(!kept.contains(AUTH), "authInfo in the history: {kept}");

    // NO_COLOR: the same terminal, no colour; the history from the last run is there (the
    // bad line last, as a shell keeps it for mending).
    let mut s = shell(&demo, &history, true);
    s.exp_string(&prompt).expect("first prompt");
    s.send("\x1b[A").unwrap();
    s.send("\x1b[A").unwrap();
    s.send("\r").unwrap();
    s.flush().unwrap();
    let answer = read_answer(&mut s, &prompt);
    assert!(answer.contains("registrant"), "{answer:?}");
    assert!(
        !answer.contains("\x1b[32m") && !answer.contains("\x1b[1m"),
        "colour despite NO_COLOR: {answer:?}"
    );
    s.send_control('d').unwrap();
    s.exp_eof().expect("the shell ends on end of input");
    demo.stop();
}
