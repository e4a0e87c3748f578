//! loginSec-1.0 (RFC 8807): the RFC's example login and response decode to the types, both
//! round-trip, and the refusals name what is wrong.

use epp_proto::ext::login_sec::{EventLevel, EventType, LoginSec, SENTINEL};
use epp_proto::ext::{CommandExtension, ResponseExtension};
use epp_proto::{Command, Frame};
use epp_wire::{decode, encode, DecodeError};

/// RFC 8807 section 4.1's login example (a long password and a long new password).
const RFC_LOGIN: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
  <command>
    <login>
      <clID>ClientX</clID>
      <pw>[LOGIN-SECURITY]</pw>
      <newPW>[LOGIN-SECURITY]</newPW>
      <options>
        <version>1.0</version>
        <lang>en</lang>
      </options>
      <svcs>
        <objURI>urn:ietf:params:xml:ns:obj1</objURI>
        <svcExtension>
          <extURI>urn:ietf:params:xml:ns:epp:loginSec-1.0</extURI>
        </svcExtension>
      </svcs>
    </login>
    <extension>
      <loginSec:loginSec
        xmlns:loginSec="urn:ietf:params:xml:ns:epp:loginSec-1.0">
        <loginSec:userAgent>
          <loginSec:app>EPP SDK 1.0.0</loginSec:app>
          <loginSec:tech>Vendor Java 11.0.6</loginSec:tech>
          <loginSec:os>x86_64 Mac OS X 10.21</loginSec:os>
        </loginSec:userAgent>
        <loginSec:pw>this is a long password </loginSec:pw>
        <loginSec:newPW>new password that is still long </loginSec:newPW>
      </loginSec:loginSec>
    </extension>
    <clTRID>ABC-12345</clTRID>
  </command>
</epp>"#;

/// RFC 8807 section 4.1's response with events.
const RFC_RESPONSE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
  <response>
    <result code="1000">
      <msg>Command completed successfully</msg>
    </result>
    <extension>
      <loginSec:loginSecData
        xmlns:loginSec="urn:ietf:params:xml:ns:epp:loginSec-1.0">
        <loginSec:event
          type="password"
          level="warning"
          exDate="2020-04-01T22:00:00.0Z"
          lang="en">
          Password expiration soon
        </loginSec:event>
        <loginSec:event
          type="certificate"
          level="warning"
          exDate="2020-04-02T22:00:00.0Z"/>
        <loginSec:event
          type="cipher"
          level="warning"
          value="TLS_RSA_WITH_AES_128_CBC_SHA">
          Non-PFS Cipher negotiated
        </loginSec:event>
        <loginSec:event
          type="stat"
          name="failedLogins"
          level="warning"
          value="100"
          duration="P1D">
          Excessive invalid daily logins
        </loginSec:event>
      </loginSec:loginSecData>
    </extension>
    <trID>
      <clTRID>ABC-12345</clTRID>
      <svTRID>54322-XYZ</svTRID>
    </trID>
  </response>
</epp>"#;

fn login_ext(f: &Frame) -> (&epp_proto::session::Login, &LoginSec) {
    let Frame::Command(c) = f else {
        panic!("not a command: {f:?}")
    };
    let Command::Login(l) = &c.command else {
        panic!("not a login")
    };
    let [CommandExtension::LoginSec(e)] = c.extensions.as_slice() else {
        panic!("no loginSec: {:?}", c.extensions)
    };
    (l, e)
}

#[test]
fn rfc_8807_login_decodes_and_round_trips() {
    let f = decode(RFC_LOGIN.as_bytes()).expect("decode");
    let (l, e) = login_ext(&f);
    assert_eq!(l.pw.expose(), SENTINEL);
    // xs:token: the trailing space is collapsed away.
    assert_eq!(e.pw.as_ref().unwrap().expose(), "this is a long password");
    assert_eq!(
        e.new_pw.as_ref().unwrap().expose(),
        "new password that is still long"
    );
    let ua = e.user_agent.as_ref().unwrap();
    assert_eq!(ua.app.as_deref(), Some("EPP SDK 1.0.0"));
    assert_eq!(ua.os.as_deref(), Some("x86_64 Mac OS X 10.21"));
    let again = decode(encode(&f).as_bytes()).expect("re-decode");
    assert_eq!(again, f);
}

#[test]
fn rfc_8807_response_decodes_and_round_trips() {
    let f = decode(RFC_RESPONSE.as_bytes()).expect("decode");
    let Frame::Response(r) = &f else {
        panic!("not a response")
    };
    let [ResponseExtension::LoginSec(d)] = r.extensions.as_slice() else {
        panic!("no loginSecData: {:?}", r.extensions)
    };
    let kinds: Vec<_> = d.events.iter().map(|e| (e.kind, e.level)).collect();
    assert_eq!(
        kinds,
        [
            (EventType::Password, EventLevel::Warning),
            (EventType::Certificate, EventLevel::Warning),
            (EventType::Cipher, EventLevel::Warning),
            (EventType::Stat, EventLevel::Warning),
        ]
    );
    assert_eq!(d.events[0].text, "Password expiration soon");
    assert_eq!(d.events[3].name.as_deref(), Some("failedLogins"));
    assert_eq!(d.events[3].value.as_deref(), Some("100"));
    assert_eq!(d.events[3].duration.as_deref(), Some("P1D"));
    let again = decode(encode(&f).as_bytes()).expect("re-decode");
    assert_eq!(again, f);
}

#[test]
fn long_pw_without_login_sec_is_2001_naming_it() {
    let xml = RFC_LOGIN.replace(
        "<pw>[LOGIN-SECURITY]</pw>",
        "<pw>a-password-of-24-chars!</pw>",
    );
    let e = decode(xml.as_bytes()).expect_err("too long").error;
    assert!(
        matches!(e, DecodeError::PasswordNeedsLoginSec { .. }),
        "{e:?}"
    );
    assert_eq!(e.result_code().code(), 2001);
    assert!(e.to_string().contains("loginSec"), "{e}");
    // Too short stays a value error.
    let short = RFC_LOGIN.replace("<pw>[LOGIN-SECURITY]</pw>", "<pw>abc</pw>");
    assert_eq!(
        decode(short.as_bytes())
            .expect_err("too short")
            .error
            .result_code()
            .code(),
        2005
    );
}

#[test]
fn refuses_an_empty_user_agent_and_unknown_children() {
    let empty = RFC_LOGIN.replace(
        r#"<loginSec:app>EPP SDK 1.0.0</loginSec:app>
          <loginSec:tech>Vendor Java 11.0.6</loginSec:tech>
          <loginSec:os>x86_64 Mac OS X 10.21</loginSec:os>"#,
        "",
    );
    assert_eq!(
        decode(empty.as_bytes())
            .expect_err("empty")
            .error
            .result_code()
            .code(),
        2001
    );
    let unknown = RFC_LOGIN.replace(
        "<loginSec:pw>",
        "<loginSec:foo>x</loginSec:foo><loginSec:pw>",
    );
    assert_eq!(
        decode(unknown.as_bytes())
            .expect_err("unknown")
            .error
            .result_code()
            .code(),
        2001
    );
}
