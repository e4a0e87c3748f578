//! Decode cost of hostile frame shapes, as throughput (bytes per second), against a plain
//! domain:create: namespace declarations (the issue 19 bomb), attributes, siblings, depth,
//! declarations spread over elements, long text. Every shape is about 1 MB (under the default
//! frame limit); the target is each within 3 × the plain create's time per MB. Run:
//! `cargo bench -j2 -p epp-wire --bench adversarial`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const MB: usize = 1_000_000;
const EPP: &str =
    r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0">"#;

const CREATE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
  <command>
    <create>
      <domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">
        <domain:name>example.test</domain:name>
        <domain:period unit="y">2</domain:period>
        <domain:ns>
          <domain:hostObj>ns1.example.net</domain:hostObj>
          <domain:hostObj>ns2.example.net</domain:hostObj>
        </domain:ns>
        <domain:registrant>jd1234</domain:registrant>
        <domain:contact type="admin">sh8013</domain:contact>
        <domain:contact type="tech">sh8013</domain:contact>
        <domain:authInfo>
          <domain:pw>2fooBAR</domain:pw>
        </domain:authInfo>
      </domain:create>
    </create>
    <clTRID>ABC-12345</clTRID>
  </command>
</epp>
"#;

/// Repeats `unit` until the document is about 1 MB.
fn fill(head: &str, unit: &dyn Fn(usize) -> String, tail: &str) -> String {
    let mut s = String::from(head);
    let mut i = 0;
    while s.len() + tail.len() < MB {
        s.push_str(&unit(i));
        i += 1;
    }
    s.push_str(tail);
    s
}

fn shapes() -> Vec<(&'static str, String)> {
    let check_head = format!(
        r#"{EPP}<command><check><domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">"#
    );
    let check_tail = "</domain:check></check><clTRID>x</clTRID></command></epp>";
    vec![
        (
            "namespace declarations on one element (the bomb)",
            fill(
                r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0""#,
                &|i| format!(r#" xmlns:p{i}="urn:example:{i}""#),
                "><hello/></epp>",
            ),
        ),
        (
            "attributes on one element",
            fill(
                r#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0""#,
                &|i| format!(r#" a{i}="v""#),
                "><hello/></epp>",
            ),
        ),
        (
            "declarations spread over elements",
            fill(
                &check_head,
                &|i| {
                    format!(
                        r#"<p{i}:name xmlns:p{i}="urn:ietf:params:xml:ns:domain-1.0">a.test</p{i}:name>"#
                    )
                },
                check_tail,
            ),
        ),
        (
            "siblings",
            fill(
                &check_head,
                &|i| format!("<domain:name>n{i}.test</domain:name>"),
                check_tail,
            ),
        ),
        (
            "depth (subtrees at the depth limit)",
            fill(
                &check_head,
                &|_| format!("{}{}", "<domain:x>".repeat(20), "</domain:x>".repeat(20)),
                check_tail,
            ),
        ),
        (
            "long text nodes",
            fill(
                &check_head,
                &|_| format!("<domain:name>{}</domain:name>", "a".repeat(60_000)),
                check_tail,
            ),
        ),
    ]
}

fn adversarial(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode per byte");
    g.throughput(Throughput::Bytes(CREATE.len() as u64));
    g.bench_function("plain domain:create", |b| {
        b.iter(|| epp_wire::decode(black_box(CREATE.as_bytes())))
    });
    for (name, doc) in shapes() {
        g.throughput(Throughput::Bytes(doc.len() as u64));
        g.sample_size(20);
        g.bench_function(name, |b| {
            b.iter(|| epp_wire::decode(black_box(doc.as_bytes())))
        });
    }
    g.finish();
}

criterion_group!(benches, adversarial);
criterion_main!(benches);
