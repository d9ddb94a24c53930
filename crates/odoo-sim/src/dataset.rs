//! Loading `dataset.json` (the recorded demo18 catalog: records, fr_FR translations, fields_get)
//! into a `Db`, and turning recorded wire values back into stored values.

use crate::models::defs::{FieldDef, Ty, MODELS, PRODUCT};
use crate::models::{Db, Rec};
use crate::value::{parse_dt, Val, BASE_LANG};
use anyhow::Context as _;
use serde_json::{Map, Value as Json};
use std::path::Path;

/// Reads a demo18 `dataset.json`.
pub fn load_demo18(path: &Path) -> anyhow::Result<Db> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading dataset {}", path.display()))?;
    let data: Json = serde_json::from_str(&text)
        .with_context(|| format!("parsing dataset {}", path.display()))?;
    from_json(&data)
}

/// Builds a `Db` from a parsed dataset.
pub fn from_json(data: &Json) -> anyhow::Result<Db> {
    let mut db = Db::new();
    let models = data["models"]
        .as_object()
        .context("dataset has no `models` object")?;
    let fr = &data["translations"]["fr_FR"];
    for def in MODELS.iter() {
        let Some(records) = models.get(def.name).and_then(Json::as_array) else {
            continue;
        };
        for raw in records {
            let id = raw["id"].as_i64().context("record without id")?;
            let tr = fr[def.name].get(id.to_string());
            let rec = record(def.fields, raw, tr, &db);
            if def.name == PRODUCT {
                if let Some(t) = rec.get(def, "product_tmpl_id").m2o_id() {
                    db.index_variant(t, id);
                }
            }
            if let Some(t) = db.table_mut(def.name) {
                t.insert(id, rec);
            }
        }
    }
    if let Some(fg) = data["fields_get"].as_object() {
        for (model, fields) in fg {
            let fields: Map<String, Json> = fields.as_object().cloned().unwrap_or_default();
            db.fields_get.insert(model.clone(), fields);
        }
    }
    Ok(db)
}

fn record(fields: &[FieldDef], raw: &Json, tr: Option<&Json>, db: &Db) -> Rec {
    let mut rec = Rec {
        vals: vec![Val::False; fields.len()],
    };
    for (i, f) in fields.iter().enumerate().filter(|(_, f)| !f.computed) {
        let v = raw.get(f.name).unwrap_or(&Json::Null);
        rec.vals[i] = from_wire(f, v, db);
        if f.translate {
            rec.vals[i] = with_translation(&rec.vals[i], tr.and_then(|t| t.get(f.name)));
        }
    }
    rec
}

fn with_translation(base: &Val, fr: Option<&Json>) -> Val {
    let Val::Str(en) = base else {
        return base.clone();
    };
    let mut v = Val::tr(en.clone());
    if let (Val::Tr(map), Some(Json::String(s))) = (&mut v, fr) {
        map.insert("fr_FR".into(), s.clone());
        map.entry(BASE_LANG.into()).or_insert_with(String::new);
    }
    v
}

/// A recorded JSON-RPC value as a stored value of field `f`.
pub fn from_wire(f: &FieldDef, v: &Json, db: &Db) -> Val {
    match (f.ty, v) {
        (Ty::Boolean, v) => Val::Bool(v.as_bool().unwrap_or(false)),
        (Ty::One2many | Ty::Many2many, Json::Array(a)) => {
            Val::Ids(a.iter().filter_map(Json::as_i64).collect())
        }
        (Ty::One2many | Ty::Many2many, _) => Val::Ids(Vec::new()),
        (_, Json::Null | Json::Bool(false)) => Val::False,
        (Ty::Integer, v) => Val::Int(v.as_i64().unwrap_or(0)),
        (Ty::Float | Ty::Monetary, v) => Val::Float(v.as_f64().unwrap_or(0.0)),
        (Ty::Datetime | Ty::Date, Json::String(s)) => parse_dt(s).map_or(Val::False, Val::Dt),
        (Ty::Many2one, Json::Array(pair)) => many2one(f, pair, db),
        (_, Json::String(s)) => Val::Str(s.clone()),
        (_, other) => Val::Str(other.to_string()),
    }
}

fn many2one(f: &FieldDef, pair: &[Json], db: &Db) -> Val {
    let id = pair.first().and_then(Json::as_i64).unwrap_or(0);
    match db.table(f.comodel) {
        Some(_) => Val::M2o(id),
        None => Val::Ref(
            id,
            pair.get(1).and_then(Json::as_str).unwrap_or("").to_string(),
        ),
    }
}
