//! The body Odoo 18 POSTs: `_action`, `_id`, `_model`, `id` and the action's fields read with
//! `load=None` (many2one as a bare id, datetimes with microseconds), keys sorted, serialized the
//! way Python's `json.dumps` does (`", "` and `": "` separators, non-ASCII escaped).

use super::Hook;
use crate::models::defs::Ty;
use crate::models::{Db, FieldRef};
use crate::value::{fmt_dt_micros, Ctx, Val};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The payload of `hook` for record `id` of `model` as it is in `db`, with `overrides` (an
/// intermediate state) replacing fields the action sends; `None` if the record does not exist.
pub fn payload(
    db: &Db,
    hook: &Hook,
    model: &str,
    id: i64,
    ctx: &Ctx,
    overrides: &[(&str, Json)],
) -> Option<BTreeMap<String, Json>> {
    let rec = db.rec(model, id)?;
    let mut out = BTreeMap::new();
    out.insert(
        "_action".to_string(),
        json!(format!("{}(#{})", hook.action_name, hook.action_id)),
    );
    out.insert("_id".to_string(), json!(id));
    out.insert("_model".to_string(), json!(model));
    out.insert("id".to_string(), json!(id));
    for name in &hook.fields {
        let Some(f) = db.resolve(model, name) else {
            continue;
        };
        let v = db.value(model, id, rec, &f, ctx);
        out.insert(name.clone(), load_none(db, v, &f, ctx));
    }
    for (name, v) in overrides {
        if let Some(slot) = out.get_mut(*name) {
            *slot = v.clone();
        }
    }
    Some(out)
}

/// A value as `read(load=None)` gives it.
fn load_none(db: &Db, v: Val, f: &FieldRef, ctx: &Ctx) -> Json {
    match v {
        Val::Dt(dt) => json!(fmt_dt_micros(&dt)),
        Val::M2o(id) | Val::Ref(id, _) => json!(id),
        Val::Int(i) if matches!(f.ty, Ty::Float | Ty::Monetary) => json!(i as f64),
        Val::Ids(ids) => json!(db.sorted_x2many(&f.comodel, ids, ctx)),
        other => db.to_wire(other, f, ctx),
    }
}

/// `json.dumps(value)` as Python writes it.
pub fn py_json(v: &Json) -> String {
    let mut out = String::new();
    write_py(v, &mut out, None, 0);
    out
}

/// `json.dumps(value, indent=4)` (Odoo's sample payload preview).
pub fn py_json_indent(v: &Json) -> String {
    let mut out = String::new();
    write_py(v, &mut out, Some(4), 0);
    out
}

fn write_py(v: &Json, out: &mut String, indent: Option<usize>, depth: usize) {
    let (open_sep, item_sep, close_sep) = match indent {
        None => (String::new(), ", ".to_string(), String::new()),
        Some(n) => (
            format!("\n{}", " ".repeat(n * (depth + 1))),
            format!(",\n{}", " ".repeat(n * (depth + 1))),
            format!("\n{}", " ".repeat(n * depth)),
        ),
    };
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::String(s) => py_str(s, out),
        Json::Array(items) if items.is_empty() => out.push_str("[]"),
        Json::Array(items) => {
            out.push('[');
            out.push_str(&open_sep);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&item_sep);
                }
                write_py(item, out, indent, depth + 1);
            }
            out.push_str(&close_sep);
            out.push(']');
        }
        Json::Object(map) if map.is_empty() => out.push_str("{}"),
        Json::Object(map) => {
            out.push('{');
            out.push_str(&open_sep);
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(&item_sep);
                }
                py_str(k, out);
                out.push_str(": ");
                write_py(item, out, indent, depth + 1);
            }
            out.push_str(&close_sep);
            out.push('}');
        }
    }
}

/// A JSON string with Python's `ensure_ascii` escaping.
fn py_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (' '..='~').contains(&c) => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_json_uses_spaced_separators_and_escapes_non_ascii() {
        let v = json!({"_action": "Send Webhook Notification(#497)", "list_price": 59.0,
            "name": "Lampe de bureau à LED", "ids": [1, 2], "write_date": "2026-11-24 13:27:27.959605"});
        assert_eq!(
            py_json(&v),
            r#"{"_action": "Send Webhook Notification(#497)", "list_price": 59.0, "name": "Lampe de bureau \u00e0 LED", "ids": [1, 2], "write_date": "2026-11-24 13:27:27.959605"}"#
        );
        assert_eq!(
            py_json_indent(&json!({"a": 1, "b": false})),
            "{\n    \"a\": 1,\n    \"b\": false\n}"
        );
    }
}
