//! Commands and hello (RFC 5730 section 2), decoded and encoded.
//!
//! Decoding is staged (STYLE.md habit 6): the clTRID, the last child of `<command>`, is read
//! first, so that when the command body fails to decode, the [`FrameDecodeError`] still carries
//! a valid clTRID for the 2001/2005 answer to echo. Then the command element is dispatched:
//! an EPP element that is not a command is [`DecodeError::UnknownCommand`] (2000); an object
//! element in a namespace this codec does not implement is
//! [`DecodeError::UnimplementedObject`] (2102); an extension element in an unknown namespace is
//! [`DecodeError::UnimplementedExtension`] (2103). Everything else follows the XSDs' sequences
//! through [`crate::read::Children`], and each error names the element at fault.
//!
//! Bounds the schemas leave open are ours and documented where they are defined
//! ([`common::MAX_CHECK`] names per check, [`common::MAX_ADDRS`], [`common::MAX_CONTACTS`],
//! [`MAX_OBJ_URIS`], [`crate::ext::sec_dns::MAX_RECORDS`]).
//!
//! Encoding writes every object element with its prefix declared on itself, as the RFC
//! examples do (`<domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">`).

pub(crate) mod common;
mod contact;
mod domain;
mod host;
pub(crate) mod values;

use epp_proto::common::{ClTrid, ClientId, MsgId, Password, TransferOp};
use epp_proto::ns::{CONTACT, DOMAIN, EPP, HOST};
use epp_proto::session::{Login, Poll};
use epp_proto::{Command, CommandFrame, Frame};

use crate::dom::Element;
use crate::error::{DecodeError, FrameDecodeError};
use crate::read::{attr, no_text, value, Children};
use crate::xml::XmlWriter;
use values::{container, invalid, language, leaf_with, token, WS};

/// Most `<objURI>`s, and most `<extURI>`s, in one login.
pub const MAX_OBJ_URIS: usize = 32;

/// Longest URI we take in a login.
pub const MAX_URI_LEN: usize = 255;

/// Most extension elements in one command's `<extension>`.
pub const MAX_EXTENSIONS: usize = 8;

pub(crate) fn decode_hello(el: &Element) -> Result<Frame, DecodeError> {
    leaf_with(el, &[])?;
    no_text(el)?;
    Ok(Frame::Hello)
}

pub(crate) fn decode_command(el: &Element) -> Result<Frame, FrameDecodeError> {
    // Stage 1: the clTRID. If it is present but invalid, that is the error (with no clTRID to
    // echo); the body is not looked at.
    let cl_trid = match el.children.last() {
        Some(last) if last.is(EPP, "clTRID") => Some(cl_trid(last)?),
        _ => None,
    };
    // Stage 2: the body; any failure keeps the clTRID.
    decode_body(el, cl_trid.clone())
        .map(Frame::Command)
        .map_err(|error| FrameDecodeError { error, cl_trid })
}

fn cl_trid(el: &Element) -> Result<ClTrid, DecodeError> {
    let el = leaf_with(el, &[])?;
    value(el, ClTrid::new(&el.text))
}

fn decode_body(el: &Element, cl_trid: Option<ClTrid>) -> Result<CommandFrame, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let Some(cmd) = c.next_any() else {
        return Err(DecodeError::MissingElement {
            parent: el.label(),
            element: "check".into(),
        });
    };
    if cmd.ns != EPP {
        return Err(DecodeError::UnknownCommand(cmd.label()));
    }
    let command = match cmd.name.as_ref() {
        "login" => Command::Login(login(cmd)?),
        "logout" => {
            leaf_with(cmd, &[])?;
            no_text(cmd)?;
            Command::Logout
        }
        "poll" => Command::Poll(poll(cmd)?),
        name @ ("check" | "create" | "delete" | "info" | "renew" | "update") => {
            container(cmd, &[])?;
            object(name, cmd, None)?
        }
        "transfer" => {
            container(cmd, &["op"])?;
            let op = attr(cmd, "op")?.trim_matches(WS);
            let op = TransferOp::from_token(op).ok_or_else(|| {
                invalid(
                    cmd,
                    format!("op must be request, query, approve, reject or cancel, got {op:?}"),
                )
            })?;
            object("transfer", cmd, Some(op))?
        }
        _ => return Err(DecodeError::UnknownCommand(cmd.label())),
    };
    let extensions = match c.optional(EPP, "extension") {
        Some(ext) => extensions(ext)?,
        None => Vec::new(),
    };
    if cl_trid.is_some() {
        c.required(EPP, "clTRID")?;
    }
    c.finish()?;
    Ok(CommandFrame {
        command,
        extensions,
        cl_trid,
    })
}

/// The one object element of `<check>`, `<create>`, …, dispatched on its namespace.
fn object(name: &str, cmd: &Element, op: Option<TransferOp>) -> Result<Command, DecodeError> {
    let mut c = Children::new(cmd);
    let Some(obj) = c.next_any() else {
        return Err(DecodeError::MissingElement {
            parent: cmd.label(),
            element: format!("an object's <{name}>"),
        });
    };
    let out = match obj.ns.as_ref() {
        DOMAIN => Command::Domain(domain::decode(name, obj, op)?),
        HOST if op.is_some() => return Err(DecodeError::UnknownCommand("host:transfer".into())),
        HOST => Command::Host(host::decode(name, obj)?),
        CONTACT => Command::Contact(contact::decode(name, obj, op)?),
        // `##other`: neither the EPP namespace nor no namespace.
        EPP | "" => {
            return Err(DecodeError::UnexpectedElement {
                parent: cmd.label(),
                element: obj.label(),
            })
        }
        ns => return Err(DecodeError::UnimplementedObject(ns.to_owned())),
    };
    c.finish()?;
    Ok(out)
}

fn extensions(el: &Element) -> Result<Vec<epp_proto::ext::CommandExtension>, DecodeError> {
    container(el, &[])?;
    if el.children.is_empty() {
        return Err(DecodeError::MissingElement {
            parent: el.label(),
            element: "any extension element".into(),
        });
    }
    if el.children.len() > MAX_EXTENSIONS {
        return Err(DecodeError::LimitExceeded("too many extension elements"));
    }
    let mut out: Vec<epp_proto::ext::CommandExtension> = Vec::with_capacity(el.children.len());
    for child in &el.children {
        if child.ns == EPP || child.ns.is_empty() {
            return Err(DecodeError::UnexpectedElement {
                parent: el.label(),
                element: child.label(),
            });
        }
        let ext = crate::ext::decode_command_extension(child)?;
        if out
            .iter()
            .any(|e| std::mem::discriminant(e) == std::mem::discriminant(&ext))
        {
            return Err(DecodeError::UnexpectedElement {
                parent: el.label(),
                element: child.label(),
            });
        }
        out.push(ext);
    }
    Ok(out)
}

fn login(el: &Element) -> Result<Login, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let id = leaf_with(c.required(EPP, "clID")?, &[])?;
    let cl_id = value(id, ClientId::new(&id.text))?;
    let pw = password(leaf_with(c.required(EPP, "pw")?, &[])?, "pw")?;
    let new_pw = match c.optional(EPP, "newPW") {
        Some(n) => Some(password(leaf_with(n, &[])?, "newPW")?),
        None => None,
    };
    let options = container(c.required(EPP, "options")?, &[])?;
    let mut oc = Children::new(options);
    let version_el = oc.required(EPP, "version")?;
    let version = token(version_el)?;
    if !is_version(&version) {
        return Err(invalid(
            version_el,
            format!("{version:?} is not a version ([1-9]+.[0-9]+)"),
        ));
    }
    let lang_el = oc.required(EPP, "lang")?;
    let lang = language(lang_el, &token(lang_el)?)?;
    oc.finish()?;
    let svcs = container(c.required(EPP, "svcs")?, &[])?;
    let mut sc = Children::new(svcs);
    let objs = sc.many(EPP, "objURI", MAX_OBJ_URIS)?;
    if objs.is_empty() {
        sc.required(EPP, "objURI")?;
    }
    let obj_uris = objs.into_iter().map(uri).collect::<Result<_, _>>()?;
    let ext_uris = match sc.optional(EPP, "svcExtension") {
        Some(se) => {
            container(se, &[])?;
            let mut ec = Children::new(se);
            let exts = ec.many(EPP, "extURI", MAX_OBJ_URIS)?;
            if exts.is_empty() {
                ec.required(EPP, "extURI")?;
            }
            ec.finish()?;
            exts.into_iter().map(uri).collect::<Result<_, _>>()?
        }
        None => Vec::new(),
    };
    sc.finish()?;
    c.finish()?;
    Ok(Login {
        cl_id,
        pw,
        new_pw,
        version,
        lang,
        obj_uris,
        ext_uris,
    })
}

/// `<pw>` / `<newPW>` (`epp:pwType`, 6-16 characters).
fn password(el: &Element, local: &'static str) -> Result<Password, DecodeError> {
    let p = value(el, Password::new(&el.text));
    if p.is_err() && Password::new_login_sec(&el.text).is_ok() {
        return Err(DecodeError::PasswordNeedsLoginSec {
            element: el.label(),
            local,
        });
    }
    p
}

fn is_version(v: &str) -> bool {
    let Some((major, minor)) = v.split_once('.') else {
        return false;
    };
    !major.is_empty()
        && major.bytes().all(|b| (b'1'..=b'9').contains(&b))
        && !minor.is_empty()
        && minor.bytes().all(|b| b.is_ascii_digit())
}

/// An `xs:anyURI` as a token: non-empty, no white space inside, bounded.
fn uri(el: &Element) -> Result<String, DecodeError> {
    let u = token(el)?;
    if u.is_empty() || u.contains(' ') || u.chars().count() > MAX_URI_LEN {
        return Err(invalid(
            el,
            format!("not a URI of 1-{MAX_URI_LEN} characters without spaces"),
        ));
    }
    Ok(u)
}

fn poll(el: &Element) -> Result<Poll, DecodeError> {
    leaf_with(el, &["op", "msgID"])?;
    no_text(el)?;
    match attr(el, "op")?.trim_matches(WS) {
        "req" => match el.attr("msgID") {
            Some(_) => Err(invalid(el, "msgID belongs to op=\"ack\"")),
            None => Ok(Poll::Request),
        },
        "ack" => Ok(Poll::Acknowledge(value(
            el,
            MsgId::new(attr(el, "msgID")?),
        )?)),
        other => Err(invalid(el, format!("op must be req or ack, got {other:?}"))),
    }
}

pub(crate) fn encode_command(w: &mut XmlWriter, c: &CommandFrame) {
    w.open("command", &[]);
    match &c.command {
        Command::Login(l) => encode_login(w, l),
        Command::Logout => {
            w.empty("logout", &[]);
        }
        Command::Poll(Poll::Request) => {
            w.empty("poll", &[("op", "req")]);
        }
        Command::Poll(Poll::Acknowledge(id)) => {
            w.empty("poll", &[("op", "ack"), ("msgID", id.as_str())]);
        }
        Command::Domain(d) => {
            let op = match d {
                epp_proto::domain::DomainCommand::Transfer(t) => Some(t.op),
                _ => None,
            };
            wrap(w, domain::cmd_name(d), op, |w| domain::encode(w, d));
        }
        Command::Host(h) => wrap(w, host::cmd_name(h), None, |w| host::encode(w, h)),
        Command::Contact(ct) => {
            let op = match ct {
                epp_proto::contact::ContactCommand::Transfer { op, .. } => Some(*op),
                _ => None,
            };
            wrap(w, contact::cmd_name(ct), op, |w| contact::encode(w, ct));
        }
    }
    if !c.extensions.is_empty() {
        w.open("extension", &[]);
        for e in &c.extensions {
            crate::ext::encode_command_extension(w, e);
        }
        w.close("extension");
    }
    if let Some(t) = &c.cl_trid {
        w.leaf("clTRID", &[], t.as_str());
    }
    w.close("command");
}

fn wrap(w: &mut XmlWriter, name: &str, op: Option<TransferOp>, body: impl FnOnce(&mut XmlWriter)) {
    match op {
        Some(op) => w.open(name, &[("op", op.as_str())]),
        None => w.open(name, &[]),
    };
    body(w);
    w.close(name);
}

fn encode_login(w: &mut XmlWriter, l: &Login) {
    w.open("login", &[]);
    w.leaf("clID", &[], l.cl_id.as_str());
    w.leaf("pw", &[], l.pw.expose());
    if let Some(n) = &l.new_pw {
        w.leaf("newPW", &[], n.expose());
    }
    w.open("options", &[])
        .leaf("version", &[], &l.version)
        .leaf("lang", &[], &l.lang)
        .close("options");
    w.open("svcs", &[]);
    for u in &l.obj_uris {
        w.leaf("objURI", &[], u);
    }
    if !l.ext_uris.is_empty() {
        w.open("svcExtension", &[]);
        for u in &l.ext_uris {
            w.leaf("extURI", &[], u);
        }
        w.close("svcExtension");
    }
    w.close("svcs");
    w.close("login");
}
