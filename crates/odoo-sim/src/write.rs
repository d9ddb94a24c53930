//! The `object` service's write side: `create`, `write`, `unlink`, with Odoo's side effects on
//! products (a template owns its variants: one variant on create, write_date and `active`
//! propagate to variants, unlink removes them) and its errors (MissingError, ValidationError,
//! bad selection value).

use crate::automation;
use crate::methods::{ids_arg, unknown_method, Call};
use crate::models::defs::{
    model_def, FieldDef, Ty, ACTION, AUTOMATION, CATEGORY, PRICELIST, PRODUCT, PTAL, PTAV, QUANT,
    TEMPLATE, UOM,
};
use crate::models::{Db, Rec};
use crate::value::{parse_dt, Ctx, Val, BASE_LANG};
use crate::wire::{OdooErr, RpcResult};
use chrono::NaiveDateTime;
use serde_json::{json, Map, Value as Json};

/// Runs a writing method.
pub fn dispatch_write(db: &mut Db, call: &Call) -> RpcResult {
    match call.method {
        "create" => create_method(db, call),
        "write" => {
            let ids = ids_arg(call.arg(0, "ids"));
            let vals = call
                .arg(1, "vals")
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default();
            write(db, call.model, &ids, &vals, &call.ctx, call.now, call.uid)?;
            Ok(Some(json!(true)))
        }
        "unlink" => {
            unlink(db, call.model, &ids_arg(call.arg(0, "ids")), call.uid)?;
            Ok(Some(json!(true)))
        }
        "action_apply_inventory" if call.model == QUANT => {
            apply_inventory(db, &ids_arg(call.arg(0, "ids")), call.now, call.uid)?;
            Ok(None)
        }
        other => Err(unknown_method(other, call.model)),
    }
}

/// stock.quant `action_apply_inventory`: the counted quantity becomes the quantity on hand. Only
/// the quant's write_date moves (Odoo also writes a stock.move, not simulated); returns None.
fn apply_inventory(db: &mut Db, ids: &[i64], now: NaiveDateTime, uid: i64) -> Result<(), OdooErr> {
    check_exist(db, QUANT, ids, uid)?;
    if let Some(t) = db.table_mut(QUANT) {
        let def = t.def;
        for id in ids {
            if let Some(rec) = t.recs.get_mut(id) {
                let counted = rec.get(def, "inventory_quantity").clone();
                rec.set(def, "quantity", counted);
                rec.set(def, "inventory_quantity", Val::Float(0.0));
                rec.set(def, "write_date", Val::Dt(now));
            }
        }
    }
    Ok(())
}

fn create_method(db: &mut Db, call: &Call) -> RpcResult {
    let arg = call.arg(0, "vals_list").cloned().unwrap_or(Json::Null);
    match arg {
        Json::Array(items) => {
            let mut ids = Vec::with_capacity(items.len());
            for item in &items {
                let vals = item.as_object().cloned().unwrap_or_default();
                ids.push(create(
                    db, call.model, &vals, &call.ctx, call.now, call.uid,
                )?);
            }
            Ok(Some(json!(ids)))
        }
        Json::Object(vals) => Ok(Some(json!(create(
            db, call.model, &vals, &call.ctx, call.now, call.uid
        )?))),
        _ => Err(OdooErr::type_error(
            "BaseModel.create() missing 1 required positional argument: 'vals_list'",
        )),
    }
}

/// Creates one record (a template brings its variant) and returns its id.
pub fn create(
    db: &mut Db,
    model: &str,
    vals: &Map<String, Json>,
    ctx: &Ctx,
    now: NaiveDateTime,
    uid: i64,
) -> Result<i64, OdooErr> {
    let def = model_def(model)
        .ok_or_else(|| OdooErr::user_error(format!("Object {model} doesn't exist")))?;
    if model == PRODUCT && !vals.contains_key("product_tmpl_id") {
        let tmpl = create(db, TEMPLATE, vals, ctx, now, uid)?;
        return Ok(db
            .variants_by_tmpl
            .get(&tmpl)
            .and_then(|v| v.first().copied())
            .unwrap_or(0));
    }
    let mut rec = Rec::empty(def);
    defaults(db, model, &mut rec);
    let own: Map<String, Json> = vals
        .iter()
        .filter(|(k, _)| def.field(k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    apply(db, model, &mut rec, &own, ctx, uid)?;
    if model == ACTION && ctx.series < 19 {
        automation::name_webhook_action(&mut rec);
    }
    check_required(def, &rec, ctx.series)?;
    rec.set(def, "create_date", Val::Dt(now));
    rec.set(def, "write_date", Val::Dt(now));
    let id = db.table_mut(model).map(|t| t.alloc_id()).unwrap_or(0);
    after_create(db, model, id, &rec);
    if let Some(t) = db.table_mut(model) {
        t.insert(id, rec);
    }
    if model == TEMPLATE {
        create_single_variant(db, id, vals, now);
    }
    db.write_images(model, &[id], vals, now);
    if model == PRODUCT {
        if let Some(tmpl) = owner_of(db, id) {
            recompute_template_code(db, tmpl, ctx);
        }
    }
    if model == AUTOMATION {
        automation::link_actions(db, id, vals, ctx, now, uid)?;
    }
    if model == QUANT {
        db.reindex_quants();
    }
    Ok(id)
}

fn defaults(db: &Db, model: &str, rec: &mut Rec) {
    let Some(def) = model_def(model) else {
        return;
    };
    for f in def.fields.iter().filter(|f| !f.computed) {
        let v = match (f.ty, f.name) {
            (Ty::Boolean, "active" | "sale_ok" | "purchase_ok" | "ptav_active") => Val::Bool(true),
            (Ty::Boolean, _) => Val::Bool(false),
            (Ty::Float | Ty::Monetary, "list_price") => Val::Float(1.0),
            (Ty::Float | Ty::Monetary, _) => Val::Float(0.0),
            (Ty::Integer, "website_sequence") => {
                Val::Int(10000 + db.table(model).map_or(0, |t| t.next_id) * 5)
            }
            (Ty::Integer, "sequence") => Val::Int(10),
            (Ty::Integer, _) => Val::Int(0),
            (Ty::One2many | Ty::Many2many, _) => Val::Ids(Vec::new()),
            (Ty::Selection, "type") => Val::Str("consu".into()),
            (Ty::Selection, "applied_on") => Val::Str("3_global".into()),
            (Ty::Selection, "compute_price") => Val::Str("fixed".into()),
            (Ty::Selection, "base") => Val::Str("list_price".into()),
            (Ty::Many2one, "pricelist_id") if db.rec(PRICELIST, 1).is_some() => Val::M2o(1),
            (Ty::Many2one, "categ_id") if model == TEMPLATE && db.rec(CATEGORY, 1).is_some() => {
                Val::M2o(1)
            }
            (Ty::Many2one, "uom_id") if db.rec(UOM, 1).is_some() => Val::M2o(1),
            (Ty::Many2one, "currency_id") => Val::Ref(1, "USD".into()),
            _ => Val::False,
        };
        rec.set(def, f.name, v);
    }
}

fn check_required(def: &crate::models::ModelDef, rec: &Rec, series: u8) -> Result<(), OdooErr> {
    for f in def.fields.iter().filter(|f| f.required && !f.computed) {
        let empty = match rec.get(def, f.name) {
            Val::False => true,
            v @ Val::Tr(_) => v.text(BASE_LANG).is_none_or(|s| s.is_empty()),
            _ => false,
        };
        if empty {
            return Err(OdooErr::new(
                "odoo.exceptions.ValidationError",
                missing_required(def, f, series),
            ));
        }
    }
    Ok(())
}

/// Odoo's message for an empty required field (reworded in 19).
fn missing_required(
    def: &crate::models::ModelDef,
    f: &crate::models::defs::FieldDef,
    series: u8,
) -> String {
    let (model, description, field, label) = (def.name, def.description, f.name, f.string);
    match series >= 19 {
        true => format!(
            "The operation cannot be completed: Missing required value for the field '{label}' ({field}).\nModel: '{description}' ({model})\n- create/update: a mandatory field is not set\n- delete: another model requires the record being deleted, you can archive it instead\n"
        ),
        false => format!(
            "The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n- Delete: another model requires the record being deleted. If possible, archive it instead.\n\nModel: {description} ({model})\nField: {label} ({field})\n"
        ),
    }
}

fn after_create(db: &mut Db, model: &str, id: i64, rec: &Rec) {
    if model != PRODUCT {
        return;
    }
    if let Some(tmpl) = model_def(PRODUCT).and_then(|d| rec.get(d, "product_tmpl_id").m2o_id()) {
        db.index_variant(tmpl, id);
    }
}

fn create_single_variant(db: &mut Db, tmpl: i64, vals: &Map<String, Json>, now: NaiveDateTime) {
    let Some(def) = model_def(PRODUCT) else {
        return;
    };
    let active = db
        .rec(TEMPLATE, tmpl)
        .and_then(|r| model_def(TEMPLATE).map(|d| r.get(d, "active").clone()))
        .unwrap_or(Val::Bool(true));
    let mut rec = Rec::empty(def);
    rec.set(def, "product_tmpl_id", Val::M2o(tmpl));
    rec.set(def, "active", active);
    rec.set(
        def,
        "product_template_attribute_value_ids",
        Val::Ids(Vec::new()),
    );
    for key in ["default_code", "barcode"] {
        let v = vals
            .get(key)
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty());
        rec.set(def, key, v.map_or(Val::False, |s| Val::Str(s.into())));
    }
    rec.set(def, "create_date", Val::Dt(now));
    rec.set(def, "write_date", Val::Dt(now));
    let Some(t) = db.table_mut(PRODUCT) else {
        return;
    };
    let id = t.alloc_id();
    t.insert(id, rec);
    db.index_variant(tmpl, id);
}

/// Sets `vals` on `rec` (translatable fields in `ctx.lang` only).
fn apply(
    db: &Db,
    model: &str,
    rec: &mut Rec,
    vals: &Map<String, Json>,
    ctx: &Ctx,
    uid: i64,
) -> Result<(), OdooErr> {
    let def = model_def(model)
        .ok_or_else(|| OdooErr::user_error(format!("Object {model} doesn't exist")))?;
    for (name, v) in vals {
        let Some((slot, f)) = def.field(name) else {
            continue;
        };
        if f.computed {
            continue;
        }
        let new = coerce(db, model, f, v, &rec.vals[slot], uid)?;
        rec.vals[slot] = match f.translate {
            true => translate_into(&rec.vals[slot], new, &ctx.lang),
            false => new,
        };
    }
    Ok(())
}

fn translate_into(old: &Val, new: Val, lang: &str) -> Val {
    let Val::Str(text) = new else {
        return Val::False;
    };
    match old {
        Val::Tr(map) => {
            let mut map = map.clone();
            map.insert(lang.to_string(), text);
            map.entry(BASE_LANG.to_string()).or_insert_with(String::new);
            Val::Tr(map)
        }
        _ => {
            let mut v = Val::tr(text.clone());
            if let Val::Tr(map) = &mut v {
                map.insert(lang.to_string(), text);
            }
            v
        }
    }
}

fn coerce(
    db: &Db,
    model: &str,
    f: &FieldDef,
    v: &Json,
    old: &Val,
    uid: i64,
) -> Result<Val, OdooErr> {
    Ok(match (f.ty, v) {
        (_, Json::Null)
        | (
            Ty::Char | Ty::Text | Ty::Html | Ty::Selection | Ty::Many2one | Ty::Datetime | Ty::Date,
            Json::Bool(false),
        ) => Val::False,
        (Ty::Boolean, v) => Val::Bool(truthy(v)),
        (Ty::Integer, v) => Val::Int(v.as_f64().unwrap_or(0.0) as i64),
        (Ty::Float | Ty::Monetary, v) => Val::Float(v.as_f64().unwrap_or(0.0)),
        (Ty::Selection, v) => selection(model, f, v)?,
        (Ty::Many2one, v) => many2one(db, f, v, uid)?,
        (Ty::One2many | Ty::Many2many, v) => Val::Ids(x2many_commands(old.ids(), v)),
        (Ty::Datetime | Ty::Date, Json::String(s)) => parse_dt(s).map_or(Val::False, Val::Dt),
        (_, Json::String(s)) => Val::Str(s.clone()),
        (_, other) => Val::Str(other.to_string()),
    })
}

pub fn truthy(v: &Json) -> bool {
    match v {
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64() != Some(0.0),
        Json::String(s) => !s.is_empty(),
        Json::Null => false,
        _ => true,
    }
}

fn selection(model: &str, f: &FieldDef, v: &Json) -> Result<Val, OdooErr> {
    let s = v.as_str().unwrap_or("").to_string();
    if model == TEMPLATE && f.name == "type" && !["consu", "service", "combo"].contains(&s.as_str())
    {
        return Err(OdooErr::value_error(format!(
            "Wrong value for {model}.{}: {}",
            f.name,
            crate::wire::py_repr(v)
        )));
    }
    Ok(Val::Str(s))
}

fn many2one(db: &Db, f: &FieldDef, v: &Json, uid: i64) -> Result<Val, OdooErr> {
    let id = match v {
        Json::Array(items) => items.first().and_then(Json::as_i64),
        v => v.as_i64(),
    };
    let Some(id) = id.filter(|i| *i != 0) else {
        return Ok(Val::False);
    };
    match db.table(f.comodel) {
        Some(t) if t.recs.contains_key(&id) => Ok(Val::M2o(id)),
        Some(_) => Err(OdooErr::missing(f.comodel, &[id], uid)),
        None => Ok(Val::Ref(id, String::new())),
    }
}

/// Plain id lists and the `(0|1|2|3|4|5|6, ...)` command triples Odoo accepts.
fn x2many_commands(old: &[i64], v: &Json) -> Vec<i64> {
    let Some(items) = v.as_array() else {
        return old.to_vec();
    };
    if items.iter().all(Json::is_i64) {
        return items.iter().filter_map(Json::as_i64).collect();
    }
    let mut ids = old.to_vec();
    for cmd in items.iter().filter_map(Json::as_array) {
        let code = cmd.first().and_then(Json::as_i64).unwrap_or(-1);
        let id = cmd.get(1).and_then(Json::as_i64).unwrap_or(0);
        match code {
            2 | 3 => ids.retain(|x| *x != id),
            4 if !ids.contains(&id) => ids.push(id),
            5 => ids.clear(),
            6 => ids = ids_of(cmd.get(2)),
            _ => {}
        }
    }
    ids
}

fn ids_of(v: Option<&Json>) -> Vec<i64> {
    v.and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_i64).collect())
        .unwrap_or_default()
}

pub fn check_exist(db: &Db, model: &str, ids: &[i64], uid: i64) -> Result<(), OdooErr> {
    let t = db
        .table(model)
        .ok_or_else(|| OdooErr::user_error(format!("Object {model} doesn't exist")))?;
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !t.recs.contains_key(id))
        .collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(OdooErr::missing(model, &missing, uid)),
    }
}

/// Writes `vals` on `ids`, stamping `now` as write_date (and moving variants with templates).
pub fn write(
    db: &mut Db,
    model: &str,
    ids: &[i64],
    vals: &Map<String, Json>,
    ctx: &Ctx,
    now: NaiveDateTime,
    uid: i64,
) -> Result<(), OdooErr> {
    check_exist(db, model, ids, uid)?;
    check_fields(db, model, vals)?;
    db.write_images(model, ids, vals, now);
    if model == PRODUCT {
        return write_variants(db, ids, vals, ctx, now, uid);
    }
    check_barcode(db, model, ids, vals)?;
    let def = model_def(model)
        .ok_or_else(|| OdooErr::user_error(format!("Object {model} doesn't exist")))?;
    let mut updated = Vec::with_capacity(ids.len());
    for id in ids {
        let mut rec = db
            .rec(model, *id)
            .cloned()
            .unwrap_or_else(|| Rec::empty(def));
        apply(db, model, &mut rec, vals, ctx, uid)?;
        rec.set(def, "write_date", Val::Dt(now));
        updated.push((*id, rec));
    }
    if let Some(t) = db.table_mut(model) {
        for (id, rec) in updated {
            t.recs.insert(id, rec);
        }
    }
    if model == TEMPLATE {
        for id in ids {
            template_side_effects(db, *id, vals, now);
        }
    }
    if model == AUTOMATION {
        for id in ids {
            automation::link_actions(db, *id, vals, ctx, now, uid)?;
        }
    }
    if model == QUANT && vals.contains_key("product_id") {
        db.reindex_quants();
    }
    Ok(())
}

fn check_fields(db: &Db, model: &str, vals: &Map<String, Json>) -> Result<(), OdooErr> {
    match vals.keys().find(|k| db.resolve(model, k).is_none()) {
        Some(k) => Err(OdooErr::invalid_field(k, model)),
        None => Ok(()),
    }
}

/// A variant write: its own fields move only its write_date; template fields go to the template.
fn write_variants(
    db: &mut Db,
    ids: &[i64],
    vals: &Map<String, Json>,
    ctx: &Ctx,
    now: NaiveDateTime,
    uid: i64,
) -> Result<(), OdooErr> {
    let def = model_def(PRODUCT)
        .ok_or_else(|| OdooErr::user_error("Object product.product doesn't exist"))?;
    // The variant's own stored fields stay here; `name` and the other template fields go to the
    // template; computed ones (lst_price, price_extra, ...) are ignored.
    let tdef = model_def(TEMPLATE)
        .ok_or_else(|| OdooErr::user_error("Object product.template doesn't exist"))?;
    let own_stored = |k: &str| def.field(k).is_some_and(|(_, f)| !f.computed);
    let own: Map<String, Json> = vals
        .iter()
        .filter(|(k, _)| own_stored(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let inherited: Map<String, Json> = vals
        .iter()
        .filter(|(k, _)| !own_stored(k) && tdef.field(k).is_some_and(|(_, f)| !f.computed))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    check_barcode(db, PRODUCT, ids, &own)?;
    let mut updated = Vec::new();
    for id in ids {
        let mut rec = db
            .rec(PRODUCT, *id)
            .cloned()
            .unwrap_or_else(|| Rec::empty(def));
        apply(db, PRODUCT, &mut rec, &own, ctx, uid)?;
        rec.set(def, "write_date", Val::Dt(now));
        updated.push((*id, rec));
    }
    let tmpls: Vec<i64> = updated
        .iter()
        .filter_map(|(_, r)| r.get(def, "product_tmpl_id").m2o_id())
        .collect();
    if let Some(t) = db.table_mut(PRODUCT) {
        for (id, rec) in updated {
            t.recs.insert(id, rec);
        }
    }
    if own.contains_key("default_code") {
        for tmpl in &tmpls {
            recompute_template_code(db, *tmpl, ctx);
        }
    }
    if !inherited.is_empty() {
        write(db, TEMPLATE, &tmpls, &inherited, ctx, now, uid)?;
    }
    Ok(())
}

fn owner_of(db: &Db, variant: i64) -> Option<i64> {
    let def = model_def(PRODUCT)?;
    db.rec(PRODUCT, variant)?
        .get(def, "product_tmpl_id")
        .m2o_id()
}

/// The template's stored `default_code`, recomputed as Odoo does when its variants or their codes
/// change: the only variant's (as the writer's context sees them), else empty. A variant archived
/// later does not trigger it, so an archived template keeps its code (FURN_0002 in the
/// conformance data set).
fn recompute_template_code(db: &mut Db, tmpl: i64, ctx: &Ctx) {
    let code = db.single_variant_field(tmpl, "default_code", ctx);
    if let Some(t) = db.table_mut(TEMPLATE) {
        let def = t.def;
        if let Some(rec) = t.recs.get_mut(&tmpl) {
            rec.set(def, "default_code", code);
        }
    }
}

/// After a template write: every variant's write_date moves; `active`, and the code and barcode
/// of a single-variant template, follow.
fn template_side_effects(db: &mut Db, tmpl: i64, vals: &Map<String, Json>, now: NaiveDateTime) {
    let variants = db.variants_by_tmpl.get(&tmpl).cloned().unwrap_or_default();
    let single = variants.len() == 1;
    let Some(t) = db.table_mut(PRODUCT) else {
        return;
    };
    let def = t.def;
    for vid in &variants {
        let Some(rec) = t.recs.get_mut(vid) else {
            continue;
        };
        rec.set(def, "write_date", Val::Dt(now));
        if let Some(active) = vals.get("active") {
            rec.set(def, "active", Val::Bool(truthy(active)));
        }
        for key in ["default_code", "barcode"].into_iter().filter(|_| single) {
            if let Some(v) = vals.get(key) {
                rec.set(
                    def,
                    key,
                    v.as_str()
                        .filter(|s| !s.is_empty())
                        .map_or(Val::False, |s| Val::Str(s.into())),
                );
            }
        }
    }
}

/// Odoo refuses a barcode another variant already has.
fn check_barcode(
    db: &Db,
    model: &str,
    ids: &[i64],
    vals: &Map<String, Json>,
) -> Result<(), OdooErr> {
    let Some(code) = vals
        .get("barcode")
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Ok(());
    };
    let own: Vec<i64> = match model {
        TEMPLATE => ids
            .iter()
            .flat_map(|t| db.variants_by_tmpl.get(t).cloned().unwrap_or_default())
            .collect(),
        _ => ids.to_vec(),
    };
    let Some(t) = db.table(PRODUCT) else {
        return Ok(());
    };
    let ctx = Ctx::default();
    let taken: Vec<String> = t
        .recs
        .iter()
        .filter(|(id, r)| !own.contains(id) && r.get(t.def, "barcode") == &Val::Str(code.into()))
        .map(|(id, _)| db.display_name(PRODUCT, *id, &ctx))
        .collect();
    match taken.is_empty() {
        true => Ok(()),
        false => Err(OdooErr::new(
            "odoo.exceptions.ValidationError",
            format!(
                "Barcode(s) already assigned:\n\n- Barcode \"{code}\" already assigned to product(s): {}\n\nNote: products that you don't have access to will not be shown above.",
                taken.join(", ")
            ),
        )),
    }
}

/// Deletes records; a template takes its variants, lines and values along, and a variant that
/// was its template's last takes the template.
pub fn unlink(db: &mut Db, model: &str, ids: &[i64], uid: i64) -> Result<(), OdooErr> {
    check_exist(db, model, ids, uid)?;
    let variants: Vec<i64> = match model {
        TEMPLATE => ids
            .iter()
            .flat_map(|t| db.variants_by_tmpl.get(t).cloned().unwrap_or_default())
            .collect(),
        _ => Vec::new(),
    };
    db.unlink_images(model, ids);
    db.unlink_images(PRODUCT, &variants);
    for id in ids {
        match model {
            TEMPLATE => unlink_template(db, *id),
            PRODUCT => unlink_variant(db, *id),
            AUTOMATION => {
                automation::unlink_actions(db, *id);
                db.table_mut(model).map(|t| t.recs.remove(id));
            }
            QUANT => {
                db.table_mut(model).map(|t| t.recs.remove(id));
                db.reindex_quants();
            }
            _ => {
                db.table_mut(model).map(|t| t.recs.remove(id));
            }
        }
    }
    Ok(())
}

fn unlink_template(db: &mut Db, tmpl: i64) {
    for vid in db.variants_by_tmpl.remove(&tmpl).unwrap_or_default() {
        db.table_mut(PRODUCT).map(|t| t.recs.remove(&vid));
    }
    for model in [PTAL, PTAV] {
        if let Some(t) = db.table_mut(model) {
            let def = t.def;
            t.recs
                .retain(|_, r| r.get(def, "product_tmpl_id").m2o_id() != Some(tmpl));
        }
    }
    db.table_mut(TEMPLATE).map(|t| t.recs.remove(&tmpl));
}

fn unlink_variant(db: &mut Db, vid: i64) {
    let tmpl = db
        .rec(PRODUCT, vid)
        .and_then(|r| model_def(PRODUCT).and_then(|d| r.get(d, "product_tmpl_id").m2o_id()));
    db.table_mut(PRODUCT).map(|t| t.recs.remove(&vid));
    let Some(tmpl) = tmpl else {
        return;
    };
    db.unindex_variant(tmpl, vid);
    if db.variants_by_tmpl.get(&tmpl).is_none_or(Vec::is_empty) {
        unlink_template(db, tmpl);
    } else {
        recompute_template_code(db, tmpl, &Ctx::default());
    }
}
