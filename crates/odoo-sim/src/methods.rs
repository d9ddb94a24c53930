//! The `object` service's read side: `execute_kw` argument handling and the read-only ORM
//! methods (`search`, `search_read`, `read`, `search_count`, `fields_get`, `name_search`).
//! Writes are in `write.rs`.

use crate::domain::{self, Node, Op, Operand};
use crate::models::defs::{model_def, Ty, PRODUCT, TEMPLATE, TEMPLATE_FIELD_ORDER};
use crate::models::{Db, FieldRef, Src};
use crate::order;
use crate::value::{Ctx, Val};
use crate::wire::{OdooErr, RpcResult};
use chrono::NaiveDateTime;
use serde_json::{json, Map, Value as Json};

/// One `execute_kw` call, authenticated and with its context parsed.
pub struct Call<'a> {
    pub model: &'a str,
    pub method: &'a str,
    pub args: &'a [Json],
    pub kwargs: &'a Map<String, Json>,
    pub ctx: Ctx,
    pub uid: i64,
    /// When the call's transaction started: the write_date it stamps.
    pub now: NaiveDateTime,
}

impl Call<'_> {
    /// Positional argument `pos` or keyword `name`.
    pub fn arg(&self, pos: usize, name: &str) -> Option<&Json> {
        self.kwargs.get(name).or_else(|| self.args.get(pos))
    }

    fn check_kwargs(&self, allowed: &[&str], func: &str) -> Result<(), OdooErr> {
        match self
            .kwargs
            .keys()
            .find(|k| *k != "context" && !allowed.contains(&k.as_str()))
        {
            Some(k) => Err(OdooErr::type_error(format!(
                "{func}() got an unexpected keyword argument '{k}'"
            ))),
            None => Ok(()),
        }
    }
}

pub const READ_METHODS: &[&str] = &[
    "search",
    "search_read",
    "read",
    "search_count",
    "fields_get",
    "name_search",
];
pub const WRITE_METHODS: &[&str] = &["create", "write", "unlink", "action_apply_inventory"];

/// Runs a read-only method.
pub fn dispatch_read(db: &Db, call: &Call) -> RpcResult {
    let out = match call.method {
        "search" => search(db, call)?,
        "search_read" => search_read(db, call)?,
        "read" => read(db, call)?,
        "search_count" => search_count(db, call)?,
        "fields_get" => fields_get(db, call),
        "name_search" => name_search(db, call)?,
        other => return Err(unknown_method(other, call.model)),
    };
    Ok(Some(out))
}

pub fn unknown_method(method: &str, model: &str) -> OdooErr {
    OdooErr::new(
        "builtins.AttributeError",
        format!("The method '{method}' does not exist on the model '{model}'"),
    )
}

fn limit_of(v: Option<&Json>) -> Result<Option<usize>, OdooErr> {
    match v {
        None | Some(Json::Null) | Some(Json::Bool(false)) => Ok(None),
        // Odoo applies `if limit:`: 0 means no limit.
        Some(Json::Number(n)) => Ok(n.as_u64().filter(|n| *n > 0).map(|n| n as usize)),
        Some(other) => {
            let text = other
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| other.to_string());
            Err(OdooErr::new(
                "psycopg2.errors.InvalidTextRepresentation",
                format!("invalid input syntax for type bigint: \"{text}\"\nLINE 1: ... LIMIT '{text}'\n              ^\n"),
            ))
        }
    }
}

fn offset_of(v: Option<&Json>) -> usize {
    v.and_then(Json::as_u64).unwrap_or(0) as usize
}

fn order_of(v: Option<&Json>) -> Option<&str> {
    v.and_then(Json::as_str).filter(|s| !s.trim().is_empty())
}

/// The core search: ids matching `domain`, ordered, paged.
pub fn search_ids(
    db: &Db,
    model: &str,
    domain: &Json,
    page: (usize, Option<usize>),
    order: Option<&str>,
    ctx: &Ctx,
) -> Result<Vec<i64>, OdooErr> {
    let node = domain::compile(db, model, domain, ctx)?;
    let def = model_def(model)
        .ok_or_else(|| OdooErr::user_error(format!("Object {model} doesn't exist")))?;
    let terms = order::parse(db, model, order.unwrap_or(def.order))?;
    let (offset, limit) = page;
    if order::is_id_asc(&terms) {
        return Ok(scan_by_id(db, model, &node, offset, limit, ctx));
    }
    let matched = matching(db, model, &node, ctx);
    let keep = limit.map_or(usize::MAX, |l| l.saturating_add(offset));
    let sorted = order::sort_page(db, model, matched, &terms, ctx, keep);
    Ok(sorted
        .into_iter()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .collect())
}

/// Keyset-friendly walk in id order that stops as soon as the page is full.
fn scan_by_id(
    db: &Db,
    model: &str,
    node: &Node,
    offset: usize,
    limit: Option<usize>,
    ctx: &Ctx,
) -> Vec<i64> {
    let Some(t) = db.table(model) else {
        return Vec::new();
    };
    if let Some(ids) = id_candidates(db, model, node) {
        let mut ids: Vec<i64> = ids
            .into_iter()
            .filter(|id| t.recs.contains_key(id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        return ids
            .into_iter()
            .filter(|id| domain::eval(db, model, *id, &t.recs[id], node, ctx))
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
            .collect();
    }
    let start = domain::id_lower_bound(node).unwrap_or(i64::MIN);
    t.recs
        .range(start..)
        .filter(|(id, rec)| domain::eval(db, model, **id, rec, node, ctx))
        .map(|(id, _)| *id)
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .collect()
}

/// All matching ids, in id order (using `id in [...]` when the domain has it).
fn matching(db: &Db, model: &str, node: &Node, ctx: &Ctx) -> Vec<i64> {
    let Some(t) = db.table(model) else {
        return Vec::new();
    };
    if let Some(mut ids) = id_candidates(db, model, node) {
        ids.sort_unstable();
        ids.dedup();
        return ids
            .into_iter()
            .filter(|id| {
                t.recs
                    .get(id)
                    .is_some_and(|r| domain::eval(db, model, *id, r, node, ctx))
            })
            .collect();
    }
    t.scan(|id, rec| domain::eval(db, model, id, rec, node, ctx))
}

/// A top-level `id in [...]` / `id = N`, or on product.product `product_tmpl_id in [...]`: the
/// only ids worth looking at, found without a scan (PostgreSQL would use an index).
fn id_candidates(db: &Db, model: &str, node: &Node) -> Option<Vec<i64>> {
    let of_leaf = |n: &Node| match n {
        Node::Leaf(l) if matches!(l.op, Op::In | Op::Eq) => {
            let ids = || match &l.operand {
                Operand::List(items) => Some(items.iter().filter_map(operand_id).collect()),
                single => operand_id(single).map(|i| vec![i]),
            };
            match l.field.name.as_str() {
                "id" => ids(),
                "product_tmpl_id" if model == PRODUCT => Some(variants_of(db, &ids()?)),
                _ => None,
            }
        }
        _ => None,
    };
    match node {
        Node::And(items) => items
            .iter()
            .find_map(|n| of_leaf(n).or_else(|| id_candidates(db, model, n))),
        n => of_leaf(n),
    }
}

/// Every variant of these templates, archived ones included (the leaf still filters them).
fn variants_of(db: &Db, templates: &[i64]) -> Vec<i64> {
    templates
        .iter()
        .filter_map(|t| db.variants_by_tmpl.get(t))
        .flatten()
        .copied()
        .collect()
}

fn operand_id(o: &Operand) -> Option<i64> {
    match o {
        Operand::Num(n) => Some(*n as i64),
        _ => None,
    }
}

fn domain_arg(call: &Call) -> Json {
    call.arg(0, "domain").cloned().unwrap_or_else(|| json!([]))
}

fn search(db: &Db, call: &Call) -> Result<Json, OdooErr> {
    call.check_kwargs(&["domain", "offset", "limit", "order"], "BaseModel.search")?;
    let limit = limit_of(call.arg(2, "limit"))?;
    let page = (offset_of(call.arg(1, "offset")), limit);
    let ids = search_ids(
        db,
        call.model,
        &domain_arg(call),
        page,
        order_of(call.arg(3, "order")),
        &call.ctx,
    )?;
    Ok(json!(ids))
}

fn search_count(db: &Db, call: &Call) -> Result<Json, OdooErr> {
    call.check_kwargs(&["domain", "limit"], "BaseModel.search_count")?;
    let limit = limit_of(call.arg(1, "limit"))?;
    let node = domain::compile(db, call.model, &domain_arg(call), &call.ctx)?;
    let n = matching(db, call.model, &node, &call.ctx).len();
    Ok(json!(limit.map_or(n, |l| n.min(l))))
}

fn search_read(db: &Db, call: &Call) -> Result<Json, OdooErr> {
    call.check_kwargs(
        &["domain", "fields", "offset", "limit", "order", "load"],
        "BaseModel._read_format",
    )?;
    let fields = resolve_fields(db, call.model, call.arg(1, "fields"), call.ctx.series)?;
    let limit = limit_of(call.arg(3, "limit"))?;
    let page = (offset_of(call.arg(2, "offset")), limit);
    let ids = search_ids(
        db,
        call.model,
        &domain_arg(call),
        page,
        order_of(call.arg(4, "order")),
        &call.ctx,
    )?;
    // search_read drops active_test once the search is done.
    let ctx = call.ctx.with_active_test(true);
    // Keyword-only: search_read passes it on to read as **read_kwargs.
    let load = Load::of(call.kwargs.get("load"));
    Ok(Json::Array(read_records(
        db, call.model, &ids, &fields, &ctx, load,
    )))
}

fn read(db: &Db, call: &Call) -> Result<Json, OdooErr> {
    call.check_kwargs(&["fields", "load"], "BaseModel.read")?;
    let ids = ids_arg(call.arg(0, "ids"));
    let fields = resolve_fields(db, call.model, call.arg(1, "fields"), call.ctx.series)?;
    let load = Load::of(call.arg(2, "load"));
    Ok(Json::Array(read_records(
        db, call.model, &ids, &fields, &call.ctx, load,
    )))
}

/// `read`'s `load` argument: `"_classic_read"` (the default) gives a many2one as `[id, name]`,
/// anything else (`null`, `false`, `""`) as a bare id, without computing the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    Classic,
    BareIds,
}

impl Load {
    pub fn of(arg: Option<&Json>) -> Load {
        match arg {
            None => Load::Classic,
            Some(Json::String(s)) if s == "_classic_read" => Load::Classic,
            Some(_) => Load::BareIds,
        }
    }
}

/// `[1, 2]`, `1`, or nothing, as a list of ids.
pub fn ids_arg(v: Option<&Json>) -> Vec<i64> {
    match v {
        Some(Json::Array(items)) => items.iter().filter_map(Json::as_i64).collect(),
        Some(v) => v.as_i64().into_iter().collect(),
        None => Vec::new(),
    }
}

/// The asked fields (`id` first, always), or every defined field when none are asked; an
/// unknown one is worded as Odoo `series` words it.
pub fn resolve_fields(
    db: &Db,
    model: &str,
    fields: Option<&Json>,
    series: u8,
) -> Result<Vec<FieldRef>, OdooErr> {
    let invalid = |name: &str| match series >= 19 {
        true => OdooErr::value_error(format!("Invalid field '{name}' on '{model}'")),
        false => OdooErr::invalid_field(name, model),
    };
    let names: Vec<String> = match fields {
        Some(Json::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_string())
            .collect(),
        _ => model_def(model)
            .map(|d| d.fields.iter().map(|f| f.name.to_string()).collect())
            .unwrap_or_default(),
    };
    let mut out = vec![db
        .resolve(model, "id")
        .ok_or_else(|| OdooErr::invalid_field("id", model))?];
    for name in names.iter().filter(|n| *n != "id") {
        let f = db.resolve(model, name).ok_or_else(|| invalid(name))?;
        if !out.iter().any(|o| o.name == f.name) {
            out.push(f);
        }
    }
    Ok(out)
}

/// Reads records in the order of `ids`, silently dropping missing ones.
pub fn read_records(
    db: &Db,
    model: &str,
    ids: &[i64],
    fields: &[FieldRef],
    ctx: &Ctx,
    load: Load,
) -> Vec<Json> {
    let Some(t) = db.table(model) else {
        return Vec::new();
    };
    let mut seen = std::collections::HashSet::new();
    ids.iter()
        .filter(|id| seen.insert(**id))
        .filter_map(|id| t.recs.get(id).map(|rec| (*id, rec)))
        .map(|(id, rec)| {
            let mut obj = Map::with_capacity(fields.len());
            for f in fields {
                let wire = match (db.value(model, id, rec, f, ctx), load) {
                    (Val::M2o(id) | Val::Ref(id, _), Load::BareIds) => json!(id),
                    (v, _) => db.to_wire(v, f, ctx),
                };
                obj.insert(f.name.clone(), wire);
            }
            Json::Object(obj)
        })
        .collect()
}

fn fields_get(db: &Db, call: &Call) -> Json {
    let mut all = match db.fields_get.get(call.model) {
        Some(recorded) => recorded.clone(),
        None => generated_fields_get(call.model),
    };
    all.retain(|name, _| !db.is_uninstalled_field(call.model, name));
    let wanted: Option<Vec<&str>> = call
        .arg(0, "allfields")
        .and_then(Json::as_array)
        .filter(|a| !a.is_empty())
        .map(|a| a.iter().filter_map(Json::as_str).collect());
    let attrs: Option<Vec<&str>> = call
        .arg(1, "attributes")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).collect());
    let mut names: Vec<&String> = all
        .keys()
        .filter(|k| wanted.as_ref().is_none_or(|w| w.contains(&k.as_str())))
        .collect();
    if call.model == TEMPLATE {
        let pos = |n: &str| {
            TEMPLATE_FIELD_ORDER
                .iter()
                .position(|x| *x == n)
                .unwrap_or(usize::MAX)
        };
        names.sort_by_key(|n| pos(n));
    }
    let mut out = Map::new();
    for name in names {
        out.insert(name.clone(), pick_attrs(&all[name], attrs.as_deref()));
    }
    Json::Object(out)
}

fn pick_attrs(field: &Json, attrs: Option<&[&str]>) -> Json {
    let Some(obj) = field.as_object() else {
        return field.clone();
    };
    let mut keys: Vec<&String> = obj
        .keys()
        .filter(|k| attrs.is_none_or(|a| a.contains(&k.as_str())))
        .collect();
    keys.sort();
    Json::Object(
        keys.into_iter()
            .map(|k| (k.clone(), obj[k].clone()))
            .collect(),
    )
}

/// fields_get for a model without a recorded answer, from its definition.
pub fn generated_fields_get(model: &str) -> Map<String, Json> {
    let Some(def) = model_def(model) else {
        return Map::new();
    };
    let mut out = Map::new();
    for f in def.fields {
        let stored = f.stored();
        let readonly = !f.writable() || matches!(f.name, "write_date" | "create_date");
        let mut attrs = Map::new();
        attrs.insert("readonly".into(), json!(readonly));
        if !f.comodel.is_empty() {
            attrs.insert("relation".into(), json!(f.comodel));
        }
        attrs.insert("required".into(), json!(f.required));
        attrs.insert("store".into(), json!(stored));
        attrs.insert("string".into(), json!(f.string));
        if matches!(f.ty, Ty::Char | Ty::Text | Ty::Html) {
            attrs.insert("translate".into(), json!(f.translate));
        }
        attrs.insert("type".into(), json!(f.ty.name()));
        out.insert(f.name.to_string(), Json::Object(attrs));
    }
    out
}

fn name_search(db: &Db, call: &Call) -> Result<Json, OdooErr> {
    call.check_kwargs(
        &["name", "args", "domain", "operator", "limit"],
        "BaseModel.name_search",
    )?;
    let name = call
        .arg(0, "name")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    let extra = call
        .kwargs
        .get("domain")
        .or_else(|| call.arg(1, "args"))
        .cloned()
        .unwrap_or(json!([]));
    let extra = if extra.is_null() { json!([]) } else { extra };
    let operator = call
        .arg(2, "operator")
        .and_then(Json::as_str)
        .unwrap_or("ilike")
        .to_string();
    let limit = limit_of(call.arg(3, "limit").or(Some(&json!(100))))?;
    let q = NameQuery {
        name,
        operator,
        extra,
        limit,
    };
    let ids = match call.model {
        PRODUCT => product_name_search(db, &q, &call.ctx)?,
        TEMPLATE => template_name_search(db, &q, &call.ctx)?,
        model => plain_name_search(db, model, &q, &call.ctx)?,
    };
    let pairs: Vec<Json> = ids
        .iter()
        .map(|id| json!([id, db.display_name(call.model, *id, &call.ctx)]))
        .collect();
    Ok(Json::Array(pairs))
}

struct NameQuery {
    name: String,
    operator: String,
    extra: Json,
    limit: Option<usize>,
}

impl NameQuery {
    fn domain(&self, leaves: Vec<Json>) -> Json {
        let mut items = leaves;
        if let Some(extra) = self.extra.as_array() {
            items.extend(extra.iter().cloned());
        }
        Json::Array(items)
    }
}

fn plain_name_search(db: &Db, model: &str, q: &NameQuery, ctx: &Ctx) -> Result<Vec<i64>, OdooErr> {
    let rec_name = match db.resolve(model, "name") {
        Some(f) if f.src != Src::Extra => "name",
        _ => "display_name",
    };
    let leaves = match q.name.is_empty() {
        true => vec![],
        false => vec![json!([rec_name, q.operator, q.name])],
    };
    search_ids(db, model, &q.domain(leaves), (0, q.limit), None, ctx)
}

/// product.template: name matches, or one of its variants' code/barcode does.
fn template_name_search(db: &Db, q: &NameQuery, ctx: &Ctx) -> Result<Vec<i64>, OdooErr> {
    if q.name.is_empty() {
        return search_ids(db, TEMPLATE, &q.domain(vec![]), (0, q.limit), None, ctx);
    }
    let variant_domain = json!([
        "|",
        ["default_code", q.operator, q.name],
        ["barcode", "=", q.name]
    ]);
    let variants = search_ids(db, PRODUCT, &variant_domain, (0, None), Some("id"), ctx)?;
    let pdef = model_def(PRODUCT);
    let tmpls: Vec<i64> = variants
        .iter()
        .filter_map(|id| db.rec(PRODUCT, *id).zip(pdef))
        .filter_map(|(r, d)| r.get(d, "product_tmpl_id").m2o_id())
        .collect();
    let leaves = vec![
        json!("|"),
        json!(["name", q.operator, q.name]),
        json!(["id", "in", tmpls]),
    ];
    search_ids(db, TEMPLATE, &q.domain(leaves), (0, q.limit), None, ctx)
}

/// product.product: exact code, else exact barcode; else code matches then name matches.
fn product_name_search(db: &Db, q: &NameQuery, ctx: &Ctx) -> Result<Vec<i64>, OdooErr> {
    if q.name.is_empty() {
        return search_ids(db, PRODUCT, &q.domain(vec![]), (0, q.limit), None, ctx);
    }
    let negative = q.operator.starts_with("not") || q.operator == "!=";
    let mut ids = Vec::new();
    if !negative {
        for field in ["default_code", "barcode"] {
            let d = q.domain(vec![json!([field, "=", q.name])]);
            ids = search_ids(db, PRODUCT, &d, (0, q.limit), None, ctx)?;
            if !ids.is_empty() {
                return Ok(ids);
            }
        }
    }
    let d = q.domain(vec![json!(["default_code", q.operator, q.name])]);
    ids.extend(search_ids(db, PRODUCT, &d, (0, q.limit), None, ctx)?);
    if q.limit.is_none_or(|l| ids.len() < l) {
        let rest = q.limit.map(|l| l - ids.len());
        let d = q.domain(vec![
            json!(["name", q.operator, q.name]),
            json!(["id", "not in", ids]),
        ]);
        ids.extend(search_ids(db, PRODUCT, &d, (0, rest), None, ctx)?);
    }
    Ok(ids)
}
