//! loginSec-1.0 (RFC 8807, `schemas/loginSec-1.0.xsd`): `<loginSec:loginSec>` (user agent,
//! long password, long new password) in a login's `<extension>`, `<loginSec:loginSecData>`
//! (security events) in the login response's.

use epp_proto::ext::login_sec::{
    Event, EventLevel, EventType, LoginSec, LoginSecData, UserAgent, NS,
};
use epp_proto::Password;

use crate::command::values::{container, invalid, language, leaf, only_attrs, token, WS};
use crate::dom::Element;
use crate::error::DecodeError;
use crate::read::{value, Children};
use crate::xml::{self, XmlWriter};

/// Longest user agent part we take (`token`; the schema sets no bound).
const MAX_USER_AGENT_PART: usize = 255;

fn user_agent_part(el: &Element) -> Result<String, DecodeError> {
    let t = token(el)?;
    if t.is_empty() || t.chars().count() > MAX_USER_AGENT_PART {
        return Err(invalid(
            el,
            format!("must be 1-{MAX_USER_AGENT_PART} characters"),
        ));
    }
    Ok(t)
}

pub(crate) fn decode_login_sec(el: &Element) -> Result<LoginSec, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let user_agent = match c.optional(NS, "userAgent") {
        None => None,
        Some(ua) => {
            container(ua, &[])?;
            let mut uc = Children::new(ua);
            let app = uc.optional(NS, "app").map(user_agent_part).transpose()?;
            let tech = uc.optional(NS, "tech").map(user_agent_part).transpose()?;
            let os = uc.optional(NS, "os").map(user_agent_part).transpose()?;
            uc.finish()?;
            if app.is_none() && tech.is_none() && os.is_none() {
                return Err(DecodeError::MissingElement {
                    parent: ua.label(),
                    element: "loginSec:app, loginSec:tech or loginSec:os".into(),
                });
            }
            Some(UserAgent { app, tech, os })
        }
    };
    let pw = c
        .optional(NS, "pw")
        .map(|p| value(leaf(p)?, Password::new_login_sec(&p.text)))
        .transpose()?;
    let new_pw = c
        .optional(NS, "newPW")
        .map(|p| value(leaf(p)?, Password::new_login_sec(&p.text)))
        .transpose()?;
    c.finish()?;
    Ok(LoginSec {
        user_agent,
        pw,
        new_pw,
    })
}

pub(crate) fn encode_login_sec(w: &mut XmlWriter, v: &LoginSec) {
    w.open("loginSec:loginSec", &[("xmlns:loginSec", NS)]);
    if let Some(ua) = &v.user_agent {
        w.open("loginSec:userAgent", &[]);
        // The schema's choice: app [tech] [os] | tech [os] | os.
        if let Some(app) = &ua.app {
            w.leaf("loginSec:app", &[], app);
        }
        if let Some(tech) = &ua.tech {
            w.leaf("loginSec:tech", &[], tech);
        }
        if let Some(os) = &ua.os {
            w.leaf("loginSec:os", &[], os);
        }
        w.close("loginSec:userAgent");
    }
    if let Some(pw) = &v.pw {
        w.leaf("loginSec:pw", &[], pw.expose());
    }
    if let Some(pw) = &v.new_pw {
        w.leaf("loginSec:newPW", &[], pw.expose());
    }
    w.close("loginSec:loginSec");
}

/// False when there is no event: `loginSecData` needs one at least.
pub(crate) fn data_writable(v: &LoginSecData) -> bool {
    !v.events.is_empty()
}

pub(crate) fn encode_data(w: &mut XmlWriter, v: &LoginSecData) {
    w.open("loginSec:loginSecData", &[("xmlns:loginSec", NS)]);
    for e in &v.events {
        let ex_date = e.ex_date.map(|t| xml::datetime(&t).to_string());
        let mut attrs: Vec<(&str, &str)> =
            vec![("type", e.kind.as_str()), ("level", e.level.as_str())];
        if let Some(n) = &e.name {
            attrs.push(("name", n));
        }
        if let Some(d) = &ex_date {
            attrs.push(("exDate", d));
        }
        if let Some(v) = &e.value {
            attrs.push(("value", v));
        }
        if let Some(d) = &e.duration {
            attrs.push(("duration", d));
        }
        w.leaf("loginSec:event", &attrs, &e.text);
    }
    w.close("loginSec:loginSecData");
}

pub(crate) fn decode_data(el: &Element) -> Result<LoginSecData, DecodeError> {
    container(el, &[])?;
    let mut c = Children::new(el);
    let events = c.many(NS, "event", usize::MAX)?;
    if events.is_empty() {
        c.required(NS, "event")?;
    }
    c.finish()?;
    let events = events
        .into_iter()
        .map(decode_event)
        .collect::<Result<_, _>>()?;
    Ok(LoginSecData { events })
}

fn decode_event(el: &Element) -> Result<Event, DecodeError> {
    only_attrs(
        el,
        &[
            "type", "name", "level", "exDate", "value", "duration", "lang",
        ],
    )?;
    if let Some(child) = el.children.first() {
        return Err(DecodeError::UnexpectedElement {
            parent: el.label(),
            element: child.label(),
        });
    }
    let attr = |name: &'static str| el.attr(name).map(|v| v.trim_matches(WS).to_owned());
    let kind_text = attr("type").ok_or(DecodeError::MissingAttribute {
        element: el.label(),
        attribute: "type",
    })?;
    let kind = EventType::from_token(&kind_text)
        .ok_or_else(|| invalid(el, format!("unknown event type {kind_text:?}")))?;
    let level_text = attr("level").ok_or(DecodeError::MissingAttribute {
        element: el.label(),
        attribute: "level",
    })?;
    let level = EventLevel::from_token(&level_text)
        .ok_or_else(|| invalid(el, format!("unknown level {level_text:?}")))?;
    let ex_date = match el.attr("exDate") {
        None => None,
        Some(d) => Some(
            chrono::DateTime::parse_from_rfc3339(d.trim_matches(WS))
                .map_err(|_| invalid(el, format!("exDate {d:?} is not a dateTime")))?
                .with_timezone(&chrono::Utc),
        ),
    };
    if let Some(l) = el.attr("lang") {
        language(el, l)?;
    }
    let text: String = el
        .text
        .chars()
        .map(|c| if WS.contains(&c) { ' ' } else { c })
        .collect();
    Ok(Event {
        kind,
        name: attr("name"),
        level,
        ex_date,
        value: attr("value"),
        duration: attr("duration"),
        text: text.trim_matches(' ').to_owned(),
    })
}
