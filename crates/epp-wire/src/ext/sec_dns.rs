//! secDNS-1.1 (RFC 5910): `<secDNS:create>`, `<secDNS:update>` in commands, `<secDNS:infData>`
//! in responses.
//!
//! Checks beyond the XSD's types, all done here so that a value that exists is valid:
//! * `digest` is hex (`xs:hexBinary`: an even number of hex digits, at least one pair) and is
//!   stored upper-cased;
//! * `pubKey` is base64 (`xs:base64Binary`, at least one octet): white space is removed, the
//!   alphabet, padding and length are checked;
//! * `keyTag`/`flags` are `unsignedShort`, `alg`/`digestType`/`protocol` `unsignedByte`; values
//!   out of those ranges are 2004, non-numbers 2005. Whether alg 123 or digest type 255 is
//!   acceptable is policy (`registry-core`), not syntax;
//! * `maxSigLife` is 1..=2147483647 (`maxSigLifeType`, an `xs:int` >= 1);
//! * RFC 5910 section 4: a command uses one interface. `<secDNS:create>` cannot mix by schema;
//!   an `<secDNS:update>` whose `<rem>` and `<add>` use different interfaces is refused here as
//!   `InvalidValue` on `secDNS:update` (2005). `<rem><all>` mixes with either;
//! * `maxSigLife` inside `<secDNS:add>` is valid XSD but meaningless (RFC 5910 changes it with
//!   `<secDNS:chg>`); the model has no place for it, so it is refused as `InvalidValue` (2005)
//!   rather than silently dropped;
//! * a `<secDNS:update>` must carry at least one of rem/add/chg (RFC 5910 section 5.2.5);
//!   one with none of them (or only an empty `<chg/>`) is `MissingElement` (`secDNS:add`).
//!
//! Encoding: an `<secDNS:infData>` needs at least one `dsData` or `keyData` (`dsOrKeyType`);
//! one without (a lone `maxSigLife`, say) cannot be valid, so the response encoder leaves the
//! element out (see [`info_writable`]) rather than write an invalid frame.

use epp_proto::ext::sec_dns::{
    DsData, DsOrKeyData, KeyData, SecDnsCreate, SecDnsInfoData, SecDnsRem, SecDnsUpdate,
    MAX_SIG_LIFE_MAX,
};
use epp_proto::ns::SEC_DNS;

use crate::command::values::{boolean, invalid, leaf, only_attrs, out_of_range, unsigned_text, WS};
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{no_text, Children};
use crate::xml::XmlWriter;

/// Most `dsData`/`keyData` elements we take in one list: generous (a KSK roll with several
/// algorithms needs a handful), and a bound on work per command.
pub const MAX_RECORDS: usize = 16;

/// Longest digest we take, in hex digits (SHA-384 is 96; GOST 64).
pub const MAX_DIGEST_HEX: usize = 256;

/// Longest public key we take, in base64 characters (RSA-4096 is ~700).
pub const MAX_PUB_KEY_B64: usize = 4096;

pub(crate) fn decode_create(el: &Element) -> Result<SecDnsCreate, DecodeError> {
    let (max_sig_life, data) = decode_ds_or_key(el, true)?;
    Ok(SecDnsCreate { max_sig_life, data })
}

pub(crate) fn decode_info(el: &Element) -> Result<SecDnsInfoData, DecodeError> {
    let (max_sig_life, data) = decode_ds_or_key(el, true)?;
    Ok(SecDnsInfoData { max_sig_life, data })
}

pub(crate) fn decode_update(el: &Element) -> Result<SecDnsUpdate, DecodeError> {
    only_attrs(el, &["urgent"])?;
    no_text(el)?;
    let urgent = match el.attr("urgent") {
        Some(v) => boolean(el, v)?,
        None => false,
    };
    let mut c = Children::new(el);
    let rem = match c.optional(SEC_DNS, "rem") {
        Some(rem) => Some(decode_rem(rem)?),
        None => None,
    };
    let add = match c.optional(SEC_DNS, "add") {
        Some(add) => Some(decode_ds_or_key(add, false)?.1),
        None => None,
    };
    let chg_max_sig_life = match c.optional(SEC_DNS, "chg") {
        Some(chg) => {
            no_text(chg)?;
            only_attrs(chg, &[])?;
            let mut cc = Children::new(chg);
            let v = cc
                .optional(SEC_DNS, "maxSigLife")
                .map(max_sig_life)
                .transpose()?;
            cc.finish()?;
            v
        }
        None => None,
    };
    c.finish()?;
    if rem.is_none() && add.is_none() && chg_max_sig_life.is_none() {
        return Err(DecodeError::MissingElement {
            parent: el.label(),
            element: "secDNS:add".into(),
        });
    }
    if let (Some(SecDnsRem::Data(r)), Some(a)) = (&rem, &add) {
        if std::mem::discriminant(r) != std::mem::discriminant(a) {
            return Err(invalid(
                el,
                "dsData and keyData interfaces mixed in one command (RFC 5910 section 4)",
            ));
        }
    }
    Ok(SecDnsUpdate {
        urgent,
        rem,
        add,
        chg_max_sig_life,
    })
}

fn decode_rem(el: &Element) -> Result<SecDnsRem, DecodeError> {
    no_text(el)?;
    only_attrs(el, &[])?;
    let mut c = Children::new(el);
    let out = if let Some(all) = c.optional(SEC_DNS, "all") {
        // `<secDNS:all>false</secDNS:all>` removes nothing: RFC 5910 gives it no meaning.
        if !boolean(all, &leaf(all)?.text)? {
            return Err(invalid(
                all,
                "only <secDNS:all>true</secDNS:all> has a meaning",
            ));
        }
        SecDnsRem::All
    } else {
        SecDnsRem::Data(decode_list(el, &mut c)?)
    };
    c.finish()?;
    Ok(out)
}

/// `dsOrKeyType`: `maxSigLife?` then `dsData+` or `keyData+`.
fn decode_ds_or_key(
    el: &Element,
    allow_max_sig_life: bool,
) -> Result<(Option<u32>, DsOrKeyData), DecodeError> {
    no_text(el)?;
    only_attrs(el, &[])?;
    let mut c = Children::new(el);
    let msl = match c.optional(SEC_DNS, "maxSigLife") {
        Some(m) if !allow_max_sig_life => {
            return Err(invalid(
                m,
                "maxSigLife is changed with <secDNS:chg>, not in <secDNS:add>",
            ))
        }
        Some(m) => Some(max_sig_life(m)?),
        None => None,
    };
    let data = decode_list(el, &mut c)?;
    c.finish()?;
    Ok((msl, data))
}

/// One or more `dsData`, or one or more `keyData`.
fn decode_list(parent: &Element, c: &mut Children<'_>) -> Result<DsOrKeyData, DecodeError> {
    let ds = c.many(SEC_DNS, "dsData", MAX_RECORDS)?;
    if !ds.is_empty() {
        return Ok(DsOrKeyData::Ds(
            ds.into_iter().map(decode_ds).collect::<Result<_, _>>()?,
        ));
    }
    let keys = c.many(SEC_DNS, "keyData", MAX_RECORDS)?;
    if !keys.is_empty() {
        return Ok(DsOrKeyData::Key(
            keys.into_iter().map(decode_key).collect::<Result<_, _>>()?,
        ));
    }
    // Neither: name what is there instead, or what is missing.
    match c.next_any() {
        Some(other) => Err(DecodeError::UnexpectedElement {
            parent: parent.label(),
            element: other.label(),
        }),
        None => Err(DecodeError::MissingElement {
            parent: parent.label(),
            element: "secDNS:dsData".into(),
        }),
    }
}

fn max_sig_life(el: &Element) -> Result<u32, DecodeError> {
    let v: u64 = unsigned_text(el, "int")?;
    if !(1..=u64::from(MAX_SIG_LIFE_MAX)).contains(&v) {
        return Err(out_of_range(
            el,
            format!("maxSigLife must be 1-{MAX_SIG_LIFE_MAX}"),
        ));
    }
    u32::try_from(v).map_err(|_| out_of_range(el, "maxSigLife too large"))
}

fn decode_ds(el: &Element) -> Result<DsData, DecodeError> {
    no_text(el)?;
    only_attrs(el, &[])?;
    let mut c = Children::new(el);
    let key_tag = unsigned_text(c.required(SEC_DNS, "keyTag")?, "unsignedShort")?;
    let alg = unsigned_text(c.required(SEC_DNS, "alg")?, "unsignedByte")?;
    let digest_type = unsigned_text(c.required(SEC_DNS, "digestType")?, "unsignedByte")?;
    let digest = hex(c.required(SEC_DNS, "digest")?)?;
    let key_data = c.optional(SEC_DNS, "keyData").map(decode_key).transpose()?;
    c.finish()?;
    Ok(DsData {
        key_tag,
        alg,
        digest_type,
        digest,
        key_data,
    })
}

fn decode_key(el: &Element) -> Result<KeyData, DecodeError> {
    no_text(el)?;
    only_attrs(el, &[])?;
    let mut c = Children::new(el);
    let flags = unsigned_text(c.required(SEC_DNS, "flags")?, "unsignedShort")?;
    let protocol = unsigned_text(c.required(SEC_DNS, "protocol")?, "unsignedByte")?;
    let alg = unsigned_text(c.required(SEC_DNS, "alg")?, "unsignedByte")?;
    let pub_key = base64(c.required(SEC_DNS, "pubKey")?)?;
    c.finish()?;
    Ok(KeyData {
        flags,
        protocol,
        alg,
        pub_key,
    })
}

/// `xs:hexBinary` with at least one octet, upper-cased.
pub(crate) fn hex(el: &Element) -> Result<String, DecodeError> {
    let t = leaf(el)?.text.trim_matches(WS);
    if t.is_empty() {
        return Err(invalid(el, "digest must not be empty"));
    }
    if t.len() > MAX_DIGEST_HEX {
        return Err(invalid(
            el,
            format!("digest longer than {MAX_DIGEST_HEX} hex digits"),
        ));
    }
    if !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(el, "digest must be hexadecimal"));
    }
    if !multiple_of(t.len(), 2) {
        return Err(invalid(el, "digest must have an even number of hex digits"));
    }
    Ok(t.to_ascii_uppercase())
}

/// `xs:base64Binary` with at least one octet; white space removed.
pub(crate) fn base64(el: &Element) -> Result<String, DecodeError> {
    let t: String = leaf(el)?.text.chars().filter(|c| !WS.contains(c)).collect();
    if t.is_empty() {
        return Err(invalid(el, "pubKey must not be empty"));
    }
    if t.len() > MAX_PUB_KEY_B64 {
        return Err(invalid(
            el,
            format!("pubKey longer than {MAX_PUB_KEY_B64} characters"),
        ));
    }
    if !is_base64(&t) {
        return Err(invalid(el, "pubKey is not base64"));
    }
    Ok(t)
}

/// `xs:base64Binary` as XSD defines it: alphabet `A-Za-z0-9+/`, length a multiple of 4, at
/// most two `=` at the end, and the character before the padding must leave the unused bits
/// zero (`[AQgw]` before `==`, `[AEIMQUYcgkosw048]` before `=`), as xmllint checks.
pub(crate) fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !multiple_of(b.len(), 4) {
        return false;
    }
    let body = s.trim_end_matches('=');
    let pad = b.len() - body.len();
    let alphabet = body
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/');
    let last = body.as_bytes().last().copied();
    let bits_ok = match pad {
        0 => true,
        1 => last.is_some_and(|c| b"AEIMQUYcgkosw048".contains(&c)),
        2 => last.is_some_and(|c| b"AQgw".contains(&c)),
        _ => false,
    };
    alphabet && bits_ok
}

pub(crate) fn encode_create(w: &mut XmlWriter, v: &SecDnsCreate) {
    w.open("secDNS:create", &[("xmlns:secDNS", SEC_DNS)]);
    encode_ds_or_key(w, v.max_sig_life, &v.data);
    w.close("secDNS:create");
}

/// False for an infData that secDNS-1.1.xsd does not allow: no `dsData` and no `keyData`.
pub(crate) fn info_writable(v: &SecDnsInfoData) -> bool {
    !v.data.is_empty()
}

/// Writes nothing for an infData that cannot be valid. The response encoder filters those out
/// before it opens `<extension>`; this is the guard for direct callers of
/// [`crate::ext::encode_response_extension`] (a public function, so it skips, not panics).
pub(crate) fn encode_info(w: &mut XmlWriter, v: &SecDnsInfoData) {
    if !info_writable(v) {
        return;
    }
    w.open("secDNS:infData", &[("xmlns:secDNS", SEC_DNS)]);
    encode_ds_or_key(w, v.max_sig_life, &v.data);
    w.close("secDNS:infData");
}

pub(crate) fn encode_update(w: &mut XmlWriter, v: &SecDnsUpdate) {
    let mut attrs = vec![("xmlns:secDNS", SEC_DNS)];
    if v.urgent {
        attrs.push(("urgent", "true"));
    }
    w.open("secDNS:update", &attrs);
    match &v.rem {
        Some(SecDnsRem::All) => {
            w.open("secDNS:rem", &[])
                .leaf("secDNS:all", &[], "true")
                .close("secDNS:rem");
        }
        Some(SecDnsRem::Data(d)) => {
            w.open("secDNS:rem", &[]);
            encode_list(w, d);
            w.close("secDNS:rem");
        }
        None => {}
    }
    if let Some(add) = &v.add {
        w.open("secDNS:add", &[]);
        encode_list(w, add);
        w.close("secDNS:add");
    }
    if let Some(m) = v.chg_max_sig_life {
        w.open("secDNS:chg", &[])
            .leaf_display("secDNS:maxSigLife", m)
            .close("secDNS:chg");
    }
    w.close("secDNS:update");
}

fn encode_ds_or_key(w: &mut XmlWriter, max_sig_life: Option<u32>, data: &DsOrKeyData) {
    if let Some(m) = max_sig_life {
        w.leaf_display("secDNS:maxSigLife", m);
    }
    encode_list(w, data);
}

fn encode_list(w: &mut XmlWriter, data: &DsOrKeyData) {
    match data {
        DsOrKeyData::Ds(list) => {
            for ds in list {
                w.open("secDNS:dsData", &[]);
                w.leaf_display("secDNS:keyTag", ds.key_tag);
                w.leaf_display("secDNS:alg", ds.alg);
                w.leaf_display("secDNS:digestType", ds.digest_type);
                w.leaf("secDNS:digest", &[], &ds.digest);
                if let Some(k) = &ds.key_data {
                    encode_key(w, k);
                }
                w.close("secDNS:dsData");
            }
        }
        DsOrKeyData::Key(list) => {
            for k in list {
                encode_key(w, k);
            }
        }
    }
}

fn encode_key(w: &mut XmlWriter, k: &KeyData) {
    w.open("secDNS:keyData", &[]);
    w.leaf_display("secDNS:flags", k.flags);
    w.leaf_display("secDNS:protocol", k.protocol);
    w.leaf_display("secDNS:alg", k.alg);
    w.leaf("secDNS:pubKey", &[], &k.pub_key);
    w.close("secDNS:keyData");
}

/// `usize::is_multiple_of` is Rust 1.87; the workspace's rust-version is 1.85.
#[allow(clippy::manual_is_multiple_of)]
fn multiple_of(n: usize, m: usize) -> bool {
    n % m == 0
}
