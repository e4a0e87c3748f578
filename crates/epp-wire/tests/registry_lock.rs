//! registryLock-1.0 (this project's extension): decoding of hand-written frames, round trips
//! of commands and responses, refusals, and xmllint validation against
//! `schemas/registryLock-1.0.xsd` (through `schemas/all.xsd`).

use std::path::PathBuf;
use std::process::Command as Proc;

use epp_proto::domain::{DomainAddRem, DomainCommand, DomainUpdate};
use epp_proto::ext::registry_lock::{
    LockOp, LockRequestState, RegistryLockCommand, RegistryLockData, UnlockDuration, NS,
};
use epp_proto::ext::{CommandExtension, ResponseExtension};
use epp_proto::response::{EppResult, TrId};
use epp_proto::{ClTrid, Command, CommandFrame, Frame, HostName, Response, ResultCode, SvTrid};
use epp_wire::{decode, encode};

fn update_frame(ext: RegistryLockCommand) -> Frame {
    Frame::Command(CommandFrame {
        command: Command::Domain(DomainCommand::Update(DomainUpdate {
            name: HostName::new("example.test").expect("name"),
            add: DomainAddRem::default(),
            rem: DomainAddRem::default(),
            chg: None,
        })),
        extensions: vec![CommandExtension::RegistryLock(ext)],
        cl_trid: Some(ClTrid::new("ABC-12345").expect("clTRID")),
    })
}

fn response_frame(state: LockRequestState, op: LockOp) -> Frame {
    Frame::Response(Response {
        results: vec![EppResult::new(ResultCode::SuccessActionPending)],
        msg_q: None,
        res_data: None,
        extensions: vec![ResponseExtension::RegistryLock(RegistryLockData {
            id: 42,
            name: HostName::new("example.test").expect("name"),
            op,
            state,
        })],
        tr_id: TrId {
            cl_trid: Some(ClTrid::new("ABC-12345").expect("clTRID")),
            sv_trid: Some(SvTrid::new("54321-XYZ").expect("svTRID")),
        },
    })
}

fn all_frames() -> Vec<(String, Frame)> {
    let mut v = vec![
        ("lock".to_owned(), update_frame(RegistryLockCommand::Lock)),
        (
            "unlock".to_owned(),
            update_frame(RegistryLockCommand::Unlock { duration: None }),
        ),
    ];
    for secs in [1, 90, 3600, 88_200, 30 * 86_400] {
        v.push((
            format!("unlock-{secs}"),
            update_frame(RegistryLockCommand::Unlock {
                duration: UnlockDuration::from_secs(secs),
            }),
        ));
    }
    for st in LockRequestState::ALL {
        for op in [LockOp::Lock, LockOp::Unlock] {
            v.push((
                format!("resp-{}-{}", st.as_str(), op.as_str()),
                response_frame(st, op),
            ));
        }
    }
    v
}

const LOCK_XML: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
  <command>
    <update>
      <domain:update xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">
        <domain:name>example.test</domain:name>
      </domain:update>
    </update>
    <extension>
      <rl:unlock xmlns:rl="urn:x-epp-registry:params:xml:ns:registryLock-1.0" duration="P1DT2H"/>
    </extension>
    <clTRID>ABC-12345</clTRID>
  </command>
</epp>"#;

#[test]
fn hand_written_unlock_decodes() {
    let Frame::Command(c) = decode(LOCK_XML.as_bytes()).expect("decodes") else {
        panic!("not a command")
    };
    assert_eq!(
        c.extensions,
        vec![CommandExtension::RegistryLock(
            RegistryLockCommand::Unlock {
                duration: UnlockDuration::from_secs(26 * 3600)
            }
        )]
    );
    assert_eq!(c.extensions[0].namespace(), NS);
}

#[test]
fn round_trips() {
    for (name, f) in all_frames() {
        let xml = encode(&f);
        let back = decode(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e:?}\n{xml}"));
        assert_eq!(back, f, "{name}: {xml}");
    }
}

#[test]
fn refusals() {
    for (what, bad) in [
        ("years", r#"<rl:unlock xmlns:rl="NS" duration="P1Y"/>"#),
        ("too long", r#"<rl:unlock xmlns:rl="NS" duration="P31D"/>"#),
        ("zero", r#"<rl:unlock xmlns:rl="NS" duration="PT0S"/>"#),
        ("garbage", r#"<rl:unlock xmlns:rl="NS" duration="soon"/>"#),
        ("attribute", r#"<rl:lock xmlns:rl="NS" duration="PT1H"/>"#),
        ("child", r#"<rl:lock xmlns:rl="NS"><rl:x/></rl:lock>"#),
        ("text", r#"<rl:lock xmlns:rl="NS">now</rl:lock>"#),
        ("unknown element", r#"<rl:freeze xmlns:rl="NS"/>"#),
    ] {
        let xml = LOCK_XML.replace(
            r#"<rl:unlock xmlns:rl="urn:x-epp-registry:params:xml:ns:registryLock-1.0" duration="P1DT2H"/>"#,
            &bad.replace("\"NS\"", &format!("\"{NS}\"")),
        );
        assert!(decode(xml.as_bytes()).is_err(), "{what} accepted:\n{xml}");
    }
}

#[test]
fn frames_validate_against_the_schema() {
    let ok = Proc::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "xmllint missing under CI=true"
        );
        println!("SKIPPED: xmllint is not installed");
        return;
    }
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/all.xsd");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("rl-xmllint-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut docs: Vec<(String, String)> = all_frames()
        .into_iter()
        .map(|(n, f)| (n, encode(&f)))
        .collect();
    docs.push(("hand-written".into(), LOCK_XML.into()));
    let mut paths = Vec::new();
    for (name, xml) in &docs {
        let p = dir.join(format!("{name}.xml"));
        std::fs::write(&p, xml).expect("write");
        paths.push(p);
    }
    let out = Proc::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .args(&paths)
        .output()
        .expect("run xmllint");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // And the schema refuses what the decoder refuses.
    let bad = LOCK_XML.replace("P1DT2H", "P1Y");
    let p = std::env::temp_dir().join(format!("rl-bad-{}-{nanos}.xml", std::process::id()));
    std::fs::write(&p, bad).expect("write");
    let out = Proc::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&p)
        .output()
        .expect("run xmllint");
    let _ = std::fs::remove_file(&p);
    assert!(!out.status.success(), "P1Y validated");
}
