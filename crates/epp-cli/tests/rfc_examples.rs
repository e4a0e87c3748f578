//! Every example response of the RFCs (tests/fixtures/responses/, as the e2e suites use them)
//! rendered both ways: the text form against a golden file beside this test, the JSON form
//! against a golden file and the published schema. The e2e suite `tests/cli.rs` does the same
//! for answers of a real server over TLS; these fixtures reach what a demo server cannot
//! easily produce (transfers, pending actions, key data, disclose, poll messages, errors with
//! values).
//!
//! `UPDATE_GOLDEN=1 cargo test -p epp-cli --test rfc_examples` rewrites the golden files;
//! review the diff before committing it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use epp_cli::json::{self, Show};
use epp_cli::render;
use epp_proto::Frame;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/responses")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/rfc")
}

fn plain(s: &str) -> String {
    anstream::adapter::strip_str(s).to_string()
}

/// Compares with the golden file, or writes it with UPDATE_GOLDEN=1; returns the mismatch.
fn check_golden(path: &Path, got: &str) -> Option<String> {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, got).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    (want != got).then(|| format!("{}:\n--- want\n{want}\n--- got\n{got}", path.display()))
}

fn schema() -> (boon::Schemas, boon::SchemaIndex) {
    let value: serde_json::Value = serde_json::from_str(json::SCHEMA).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("urn:x-epp-registry:epp-cli:output:1", value)
        .unwrap();
    let index = compiler
        .compile("urn:x-epp-registry:epp-cli:output:1", &mut schemas)
        .unwrap();
    (schemas, index)
}

#[test]
fn every_rfc_example_response_matches_its_golden_files_and_the_schema() {
    let (schemas, index) = schema();
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    names.sort();
    assert!(names.len() >= 30, "fixtures missing: {names:?}");
    let mut failures = Vec::new();
    for path in &names {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let xml = std::fs::read(path).unwrap();
        let frame = epp_wire::decode(&xml).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let show = Show { secrets: true };
        let (text, value) = match &frame {
            Frame::Response(r) => (render::response(r, show), json::response(r, show)),
            Frame::Greeting(g) => (render::greeting(g), json::greeting(g)),
            other => panic!("{stem}: not a response: {other:?}"),
        };
        if let Err(e) = schemas.validate(&value, index) {
            failures.push(format!(
                "{stem}: JSON does not match the schema: {e:#}\n{value:#}"
            ));
        }
        let text = plain(&text) + "\n";
        let json_text = serde_json::to_string_pretty(&value).unwrap() + "\n";
        failures.extend(check_golden(
            &golden_dir().join(format!("{stem}.txt")),
            &text,
        ));
        failures.extend(check_golden(
            &golden_dir().join(format!("{stem}.json")),
            &json_text,
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn auth_info_only_with_show_secrets() {
    let xml = std::fs::read(fixtures().join("rfc5731-3.1.2-domain-info-response.xml")).unwrap();
    let Ok(Frame::Response(r)) = epp_wire::decode(&xml) else {
        panic!("not a response")
    };
    let hidden = plain(&render::response(&r, Show::default()));
    let shown = plain(&render::response(&r, Show { secrets: true }));
    assert!(
        !hidden.contains("2fooBAR") && !hidden.contains("authInfo"),
        "{hidden}"
    );
    assert!(shown.contains("authInfo    2fooBAR"), "{shown}");
    let j = json::response(&r, Show::default()).to_string();
    assert!(!j.contains("2fooBAR") && !j.contains("authInfo"), "{j}");
    let j = json::response(&r, Show { secrets: true });
    assert_eq!(j["resData"]["domain:infData"]["authInfo"]["pw"], "2fooBAR");
}

#[test]
fn the_schema_refuses_what_version_1_does_not_allow() {
    let (schemas, index) = schema();
    let ok = serde_json::json!({
        "schemaVersion": 1,
        "result": [{ "code": 1000, "msg": "ok" }],
        "trID": { "svTRID": "ABC-123" }
    });
    assert!(schemas.validate(&ok, index).is_ok());
    for bad in [
        // an unknown key, a renamed key (serde's snake case), another version, a timestamp
        // with nanoseconds, a missing result
        serde_json::json!({ "schemaVersion": 1, "result": [{ "code": 1000, "msg": "ok" }], "trID": {}, "extra": 1 }),
        serde_json::json!({ "schemaVersion": 1, "result": [{ "code": 1000, "msg": "ok" }], "tr_id": {} }),
        serde_json::json!({ "schemaVersion": 2, "result": [{ "code": 1000, "msg": "ok" }], "trID": {} }),
        serde_json::json!({ "schemaVersion": 1, "result": [{ "code": 1000, "msg": "ok" }], "trID": {},
            "resData": { "domain:creData": { "name": "a.test", "crDate": "2025-01-01T00:00:00.123456789Z" } } }),
        serde_json::json!({ "schemaVersion": 1, "trID": {} }),
    ] {
        assert!(schemas.validate(&bad, index).is_err(), "accepted {bad}");
    }
}
