//! Generated zones pass kzonecheck and named-checkzone -i local.

mod common;

use common::*;
use zonegen::harness::{kzonecheck, named_checkzone, require_tools};
use zonegen::master::{write_master_file, write_zone};
use zonegen::zone_contents;

#[test]
fn sample_zone_passes_both_checkers() {
    if !require_tools(
        "sample_zone_passes_both_checkers",
        &["kzonecheck", "named-checkzone"],
    ) {
        return;
    }
    let (domains, hosts) = sample();
    let (zone, _) = zone_contents(&apex(), &domains, &hosts);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tld.zone");
    write_master_file(&zone, 2_024_010_101, &path).expect("write");
    let k = kzonecheck(&path, &zone.apex.origin).expect("run kzonecheck");
    assert!(k.ok, "kzonecheck: {}", k.output);
    let b = named_checkzone(&path, &zone.apex.origin).expect("run named-checkzone");
    assert!(b.ok, "named-checkzone: {}", b.output);
    assert!(b.output.contains("2024010101"), "{}", b.output);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("xn--bcher-kva.tld. 3600 IN NS ns.provider.example."));
    assert!(text.contains("signed.tld. 3600 IN DS 1234 13 2 E2D3C916"));
    assert!(!text.contains("held.tld"), "held domain delegated");
    assert!(
        !text.contains("deleting.tld"),
        "pendingDelete domain delegated"
    );
    assert!(!text.contains("inactive.tld"));
    assert!(!text.contains("ns9.unused.tld"), "orphan glue");
    assert!(text.contains("ns1.example.tld. 3600 IN AAAA 2001:db8::1"));
}

#[test]
fn output_is_deterministic() {
    let (mut domains, hosts) = sample();
    let (zone, _) = zone_contents(&apex(), &domains, &hosts);
    domains.reverse();
    for d in &mut domains {
        d.ns.reverse();
        d.ds.reverse();
    }
    let (zone2, _) = zone_contents(&apex(), &domains, &hosts);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    write_zone(&zone, 1, &mut a).expect("write");
    write_zone(&zone2, 1, &mut b).expect("write");
    assert_eq!(a, b);
}

/// The checker this suite relies on really fails on missing glue.
#[test]
fn kzonecheck_rejects_missing_glue() {
    if !require_tools("kzonecheck_rejects_missing_glue", &["kzonecheck"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tld.zone");
    let (zone, _) = zone_contents(&apex(), &[], &Default::default());
    let mut text = Vec::new();
    write_zone(&zone, 1, &mut text).expect("write");
    text.extend_from_slice(b"bad.tld. 3600 IN NS ns1.bad.tld.\n");
    std::fs::write(&path, text).expect("write");
    let k = kzonecheck(&path, &zone.apex.origin).expect("run kzonecheck");
    assert!(!k.ok, "kzonecheck accepted missing glue: {}", k.output);
}
