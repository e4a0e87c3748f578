//! Output: readable `key: value` lines by default, JSON for scripts. The result code and
//! message always come first.

use epp_proto::{Greeting, Response};
use serde_json::Value;

/// Flattens a JSON value into `key: value` lines; nulls are left out.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Null => {}
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            if !items.is_empty() {
                let joined: Vec<String> = items.iter().map(scalar).collect();
                out.push(format!("{prefix}: {}", joined.join(", ")));
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        other => out.push(format!("{prefix}: {}", scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The readable form of a response.
pub fn response_text(r: &Response) -> String {
    let mut lines = Vec::new();
    for res in &r.results {
        lines.push(format!("{} {}", res.code.code(), res.msg));
        for v in &res.values {
            lines.push(format!("  value: {} = {}", v.name, v.text));
        }
        for v in &res.ext_values {
            lines.push(format!(
                "  reason: {} ({} = {})",
                v.reason, v.value.name, v.value.text
            ));
        }
    }
    let mut rest = Vec::new();
    if let Some(q) = &r.msg_q {
        flatten(
            "msgQ",
            &serde_json::to_value(q).unwrap_or(Value::Null),
            &mut rest,
        );
    }
    if let Some(d) = &r.res_data {
        flatten(
            "",
            &serde_json::to_value(d).unwrap_or(Value::Null),
            &mut rest,
        );
    }
    for e in &r.extensions {
        flatten(
            "",
            &serde_json::to_value(e).unwrap_or(Value::Null),
            &mut rest,
        );
    }
    if let Some(t) = &r.tr_id.cl_trid {
        rest.push(format!("clTRID: {t}"));
    }
    if let Some(t) = &r.tr_id.sv_trid {
        rest.push(format!("svTRID: {t}"));
    }
    lines.extend(rest);
    lines.join("\n")
}

pub fn response_json(r: &Response) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

pub fn greeting_text(g: &Greeting) -> String {
    let mut lines = Vec::new();
    flatten(
        "",
        &serde_json::to_value(g).unwrap_or(Value::Null),
        &mut lines,
    );
    lines.join("\n")
}

pub fn greeting_json(g: &Greeting) -> String {
    serde_json::to_string_pretty(g).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use epp_proto::response::TrId;
    use epp_proto::{CheckItem, ResponseData, ResultCode};

    #[test]
    fn text_starts_with_code_and_flattens_data() {
        let mut r = Response::from_code(ResultCode::Success, TrId::default());
        r.res_data = Some(ResponseData::DomainCheck(vec![
            CheckItem {
                name: "a.test".into(),
                available: true,
                reason: None,
            },
            CheckItem {
                name: "b.test".into(),
                available: false,
                reason: Some("In use".into()),
            },
        ]));
        let t = response_text(&r);
        assert!(t.starts_with("1000 Command completed successfully"), "{t}");
        assert!(t.contains("domainCheck[1].reason: In use"), "{t}");
        let j: Value = serde_json::from_str(&response_json(&r)).unwrap();
        assert_eq!(j["results"][0]["code"], 1000);
    }
}
