//! The README's RDAP line: `eppd demo` starts RDAP next to EPP and writes its base URL as
//! `rdap` in demo.json; a domain created with epp-cli is then visible there over HTTPS with
//! the demo's CA, as `curl --cacert eppd-demo/ca.crt …/domain/example.test` shows it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/bins.rs"]
mod bins;

use bins::{code, run_cli, text, Demo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_rdap_for_what_epp_created() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("eppd-demo");
    let demo = Demo::start(&dir, &[]);
    let rdap = demo.field("rdap");
    assert!(
        rdap.starts_with("https://127.0.0.1:") && rdap.ends_with('/'),
        "{rdap}"
    );
    assert!(
        demo.banner.contains(&format!("{rdap}domain/example.test")),
        "{}",
        demo.banner
    );

    let profile = demo.profile();
    let out = run_cli(&[
        "--profile",
        profile.as_str(),
        "domain",
        "create",
        "example.test",
        "--registrant",
        "demo-contact",
        "--auth-info",
        "2fooBAR-demo-Zq8#Kx3Vm9!Tr2Lw4$",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));

    let ca: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("ca.crt"))
        .expect("ca")
        .collect::<Result<_, _>>()
        .expect("ca pem");
    let tls = rdapd::client::tls_config(&ca).expect("tls");
    let hostport = rdap
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    let addr: std::net::SocketAddr = hostport.parse().expect("address");
    // The server certificate names 127.0.0.1 (and localhost): verified as curl would.
    let mut c = rdapd::client::Client::connect(addr, Some((tls, "127.0.0.1")))
        .await
        .expect("connect");
    let a = c.get("/domain/example.test").await.expect("answer");
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.headers["content-type"], "application/rdap+json");
    let v = a.json();
    assert_eq!(v["ldhName"], "example.test");
    assert_eq!(v["entities"][0]["roles"][0], "registrar");
    assert!(
        !a.body.windows(12).any(|w| w == b"2fooBAR-demo")
            && !a.body.windows(7).any(|w| w == b"sha256$"),
        "authInfo leaked"
    );
    assert_eq!(
        c.get("/domain/nothing.test").await.expect("404").status,
        404
    );
    demo.stop();
}
