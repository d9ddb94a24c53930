//! Odoo domains: parsing the prefix notation (`&`, `|`, `!`, implicit top-level `&`), validating
//! leaves with Odoo's error texts, pushing `!` into the leaves, resolving `child_of`/`parent_of`
//! and relational name matches to id lists, and evaluating a record with Odoo's NULL semantics.

use crate::like::Pattern;
use crate::models::defs::{PRODUCT, TEMPLATE};
use crate::models::{model_def, Db, FieldRef, Rec, Ty};
use crate::value::{parse_dt, Ctx, Val};
use crate::wire::{py_leaf, OdooErr};
use chrono::{NaiveDateTime, Timelike};
use serde_json::{json, Value as Json};
use std::cmp::Ordering;

/// A compiled domain: no `!` left, every leaf bound to a field.
#[derive(Clone, Debug)]
pub enum Node {
    True,
    False,
    And(Vec<Node>),
    Or(Vec<Node>),
    Leaf(Leaf),
}

#[derive(Clone, Debug)]
pub struct Leaf {
    pub field: FieldRef,
    pub op: Op,
    pub operand: Operand,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Like,
    NotLike,
    ILike,
    NotILike,
    EqLike,
    NotEqLike,
    EqILike,
    NotEqILike,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "=" => Op::Eq,
            "!=" | "<>" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "in" => Op::In,
            "not in" => Op::NotIn,
            "like" => Op::Like,
            "not like" => Op::NotLike,
            "ilike" => Op::ILike,
            "not ilike" => Op::NotILike,
            "=like" => Op::EqLike,
            "not =like" => Op::NotEqLike,
            "=ilike" => Op::EqILike,
            "not =ilike" => Op::NotEqILike,
            _ => return None,
        })
    }

    /// The operator `!` turns this one into.
    pub fn negate(self) -> Op {
        use Op::*;
        match self {
            Eq => Ne,
            Ne => Eq,
            Lt => Ge,
            Ge => Lt,
            Gt => Le,
            Le => Gt,
            In => NotIn,
            NotIn => In,
            Like => NotLike,
            NotLike => Like,
            ILike => NotILike,
            NotILike => ILike,
            EqLike => NotEqLike,
            NotEqLike => EqLike,
            EqILike => NotEqILike,
            NotEqILike => EqILike,
        }
    }

    /// Negative operators evaluate as NOT(positive): that is how they match NULL.
    fn positive(self) -> Option<Op> {
        use Op::*;
        match self {
            Ne => Some(Eq),
            NotIn => Some(In),
            NotLike => Some(Like),
            NotILike => Some(ILike),
            NotEqLike => Some(EqLike),
            NotEqILike => Some(EqILike),
            _ => None,
        }
    }

    fn is_like(self) -> bool {
        use Op::*;
        matches!(
            self,
            Like | NotLike | ILike | NotILike | EqLike | NotEqLike | EqILike | NotEqILike
        )
    }
}

/// A leaf's right-hand side, typed for the field. `List` is built with `Operand::list`.
#[derive(Clone, Debug)]
pub enum Operand {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Dt(NaiveDateTime),
    /// A whole second `[start, start + 1 s)`: Odoo 19's datetime operand, microseconds dropped.
    Second(NaiveDateTime),
    List(Vec<Operand>),
    Pat(Pattern),
}

impl Operand {
    /// A list operand, numbers first in ascending order (the rest after them, in their order):
    /// the order `list_contains` searches. Every list operand is built here.
    pub fn list(mut items: Vec<Operand>) -> Operand {
        items.sort_by(|a, b| match (a, b) {
            (Operand::Num(a), Operand::Num(b)) => a.total_cmp(b),
            (Operand::Num(_), _) => Ordering::Less,
            (_, Operand::Num(_)) => Ordering::Greater,
            _ => Ordering::Equal,
        });
        Operand::List(items)
    }
}

const OPERATORS: &[&str] = &[
    "=",
    "!=",
    "<>",
    "<=",
    "<",
    ">",
    ">=",
    "=?",
    "=like",
    "=ilike",
    "like",
    "not like",
    "ilike",
    "not ilike",
    "in",
    "not in",
    "child_of",
    "parent_of",
    "not =like",
    "not =ilike",
];

/// Parses and compiles `domain` for `model`, adding `active = True` when `active_test` applies.
pub fn compile(db: &Db, model: &str, domain: &Json, ctx: &Ctx) -> Result<Node, OdooErr> {
    let Json::Array(items) = domain else {
        if ctx.series >= 19 {
            return Err(OdooErr::type_error(format!(
                "Domain() invalid argument type for domain: {}",
                crate::wire::py_repr(domain)
            )));
        }
        return Err(OdooErr::new(
            "builtins.AssertionError",
            "Domains to normalize must have a 'domain' form: a list or tuple of domain components",
        ));
    };
    let mut tree = parse_prefix(db, model, items, ctx)?;
    // ir.attachment's `_search`: field attachments (images) only when the domain names
    // `res_field` (or `id`).
    if model == crate::models::defs::ATTACHMENT
        && !mentions(items, "res_field")
        && !mentions(items, "id")
    {
        if let Some(res_field) = db.resolve(model, "res_field") {
            let leaf = Node::Leaf(Leaf {
                field: res_field,
                op: Op::Eq,
                operand: Operand::Null,
            });
            tree = both(tree, leaf);
        }
    }
    let names_active = mentions(items, "active");
    let has_active = db.table(model).is_some_and(|t| t.def.has_active());
    match ctx.active_test && has_active && !names_active {
        true => {
            let active = db
                .resolve(model, "active")
                .ok_or_else(|| OdooErr::invalid_field("active", model))?;
            let leaf = Node::Leaf(Leaf {
                field: active,
                op: Op::Eq,
                operand: Operand::Bool(true),
            });
            Ok(both(tree, leaf))
        }
        false => Ok(tree),
    }
}

fn mentions(items: &[Json], field: &str) -> bool {
    items.iter().any(|it| match it {
        Json::Array(leaf) => leaf.first().and_then(Json::as_str) == Some(field),
        _ => false,
    })
}

enum Raw {
    Op(char),
    Node(Node),
}

fn parse_prefix(db: &Db, model: &str, items: &[Json], ctx: &Ctx) -> Result<Node, OdooErr> {
    let mut raws = Vec::with_capacity(items.len());
    for item in items {
        raws.push(match item.as_str() {
            Some(op @ ("&" | "|" | "!")) => Raw::Op(op.chars().next().unwrap_or('&')),
            _ => Raw::Node(compile_leaf(db, model, item, ctx)?),
        });
    }
    let mut stack: Vec<Node> = Vec::new();
    for raw in raws.into_iter().rev() {
        let node = match raw {
            Raw::Node(n) => n,
            Raw::Op('!') => negate(pop(&mut stack)?),
            Raw::Op(c) => {
                let (a, b) = (pop(&mut stack)?, pop(&mut stack)?);
                match c {
                    '&' => both(a, b),
                    _ => either(a, b),
                }
            }
        };
        stack.push(node);
    }
    stack.reverse();
    if stack.iter().any(|node| matches!(node, Node::False)) {
        return Ok(Node::False);
    }
    stack.retain(|node| !matches!(node, Node::True));
    Ok(match stack.len() {
        0 => Node::True,
        1 => stack.pop().unwrap_or(Node::True),
        // Kept flat: `id_lower_bound` reads the top-level terms.
        _ => Node::And(stack),
    })
}

/// `a & b`, with constant operands folded away, as PostgreSQL's planner would: a quiet
/// incremental probe ORs leaves that match nothing, and each would otherwise cost a scan.
fn both(a: Node, b: Node) -> Node {
    match (a, b) {
        (Node::False, _) | (_, Node::False) => Node::False,
        (Node::True, other) | (other, Node::True) => other,
        (a, b) => Node::And(vec![a, b]),
    }
}

/// `a | b`, with constant operands folded away (see `both`).
fn either(a: Node, b: Node) -> Node {
    match (a, b) {
        (Node::True, _) | (_, Node::True) => Node::True,
        (Node::False, other) | (other, Node::False) => other,
        (a, b) => Node::Or(vec![a, b]),
    }
}

/// `field in ids`; nothing when `ids` is empty (Odoo compiles `in []` to FALSE).
fn in_ids(field: FieldRef, ids: Vec<i64>) -> Node {
    if ids.is_empty() {
        return Node::False;
    }
    let ids = ids.into_iter().map(|id| Operand::Num(id as f64)).collect();
    Node::Leaf(Leaf {
        field,
        op: Op::In,
        operand: Operand::list(ids),
    })
}

fn pop(stack: &mut Vec<Node>) -> Result<Node, OdooErr> {
    stack
        .pop()
        .ok_or_else(|| OdooErr::value_error("Invalid domain: an operator lacks its operands"))
}

/// `!` pushed down to the leaves.
pub fn negate(node: Node) -> Node {
    match node {
        Node::True => Node::False,
        Node::False => Node::True,
        Node::And(v) => Node::Or(v.into_iter().map(negate).collect()),
        Node::Or(v) => Node::And(v.into_iter().map(negate).collect()),
        Node::Leaf(mut l) => {
            l.op = l.op.negate();
            Node::Leaf(l)
        }
    }
}

fn compile_leaf(db: &Db, model: &str, item: &Json, ctx: &Ctx) -> Result<Node, OdooErr> {
    if ctx.series < 19 {
        return compile_leaf_18(db, model, item, ctx);
    }
    let malformed = || {
        OdooErr::value_error(format!(
            "Domain() invalid item in domain: {}",
            crate::wire::py_repr(item)
        ))
    };
    let Json::Array(parts) = item else {
        return Err(malformed());
    };
    if parts.len() != 3 {
        return Err(malformed());
    }
    // Odoo 19 reads `==` as `=`.
    let mut parts = parts.clone();
    if parts[1] == "==" {
        parts[1] = json!("=");
    }
    let op_text = parts[1].as_str().map(str::to_lowercase).unwrap_or_default();
    if !OPERATORS.contains(&op_text.as_str()) {
        return Err(OdooErr::value_error(format!(
            "Invalid operator in condition {}",
            py_leaf(&parts)
        )));
    }
    if let Some(fname) = parts[0].as_str() {
        let head = fname.split('.').next().unwrap_or(fname);
        if db.resolve(model, head).is_none() {
            return Err(OdooErr::value_error(format!(
                "Invalid field {model}.{head} in condition {}",
                py_leaf(&parts)
            )));
        }
    }
    compile_leaf_18(db, model, &Json::Array(parts), ctx)
}

fn compile_leaf_18(db: &Db, model: &str, item: &Json, ctx: &Ctx) -> Result<Node, OdooErr> {
    let Json::Array(parts) = item else {
        return Err(OdooErr::value_error(format!(
            "Invalid leaf {}",
            crate::wire::py_repr(item)
        )));
    };
    if parts.len() != 3 {
        return Err(OdooErr::value_error(match parts.len() < 3 {
            true => format!(
                "not enough values to unpack (expected 3, got {})",
                parts.len()
            ),
            false => "too many values to unpack (expected 3)".to_string(),
        }));
    }
    if let (Some(a), Some(b)) = (parts[0].as_i64(), parts[2].as_i64()) {
        if parts[1] == "=" && (a, b) == (1, 1) {
            return Ok(Node::True);
        }
        if parts[1] == "=" && (a, b) == (0, 1) {
            return Ok(Node::False);
        }
    }
    let op_text = parts[1].as_str().map(str::to_lowercase).unwrap_or_default();
    let (Some(fname), true) = (parts[0].as_str(), OPERATORS.contains(&op_text.as_str())) else {
        return Err(OdooErr::value_error(format!(
            "Invalid leaf {}",
            py_leaf(parts)
        )));
    };
    if let Some(node) = path_leaf(db, model, fname, &op_text, &parts[2], ctx)? {
        return Ok(node);
    }
    let field = db.resolve(model, fname).ok_or_else(|| {
        OdooErr::value_error(format!(
            "Invalid field {model}.{} in leaf {}",
            fname.split('.').next().unwrap_or(fname),
            py_leaf(parts)
        ))
    })?;
    build_leaf(db, model, field, &op_text, &parts[2], ctx)
}

/// `product_id.product_tmpl_id = 8`: the rest of the path is searched on the comodel (archived
/// records included), and the leaf becomes `product_id in <those ids>`.
fn path_leaf(
    db: &Db,
    model: &str,
    fname: &str,
    op: &str,
    value: &Json,
    ctx: &Ctx,
) -> Result<Option<Node>, OdooErr> {
    let Some((head, rest)) = fname.split_once('.') else {
        return Ok(None);
    };
    let Some(field) = db.resolve(model, head) else {
        return Ok(None);
    };
    let relational = field.ty == Ty::Many2one || field.ty.is_x2many();
    let Some(t) = db.table(&field.comodel).filter(|_| relational) else {
        return Ok(None);
    };
    let sub_ctx = ctx.with_active_test(false);
    let sub = compile_leaf(db, &field.comodel, &json!([rest, op, value]), &sub_ctx)?;
    let ids = t.scan(|id, rec| eval(db, &field.comodel, id, rec, &sub, &sub_ctx));
    if model == TEMPLATE && head == "product_variant_ids" {
        let matched = ids.iter().filter_map(|id| t.recs.get_key_value(id));
        return Ok(Some(owners_of_variants(db, matched, ctx)));
    }
    Ok(Some(in_ids(field, ids)))
}

/// `product_variant_ids.<path>` as `id in <the templates of the matching variants>`, which is
/// what the computed one2many's leaf would match, without computing it for every template.
fn owners_of_variants<'a>(
    db: &Db,
    variants: impl Iterator<Item = (&'a i64, &'a Rec)>,
    ctx: &Ctx,
) -> Node {
    let Some(def) = model_def(PRODUCT) else {
        return Node::False;
    };
    let mut owners: Vec<i64> = variants
        .filter(|(_, rec)| !ctx.active_test || rec.get(def, "active") == &Val::Bool(true))
        .filter_map(|(_, rec)| rec.get(def, "product_tmpl_id").m2o_id())
        .collect();
    owners.sort_unstable();
    owners.dedup();
    match db.resolve(TEMPLATE, "id") {
        Some(field) => in_ids(field, owners),
        None => Node::False,
    }
}

fn build_leaf(
    db: &Db,
    model: &str,
    field: FieldRef,
    op: &str,
    value: &Json,
    ctx: &Ctx,
) -> Result<Node, OdooErr> {
    match op {
        "=?" if is_falsy(value) => return Ok(Node::True),
        "=?" => return build_leaf(db, model, field, "=", value, ctx),
        "child_of" | "parent_of" => return Ok(hierarchy_leaf(db, model, field, op, value)),
        _ => {}
    }
    let op = Op::parse(op).unwrap_or(Op::Eq);
    if op.is_like() && matches!(value, Json::String(s) if s.is_empty())
        || op.is_like() && value == &Json::Bool(false)
    {
        return Ok(match op.positive() {
            Some(_) => Node::False,
            None => Node::True,
        });
    }
    let relational = field.ty == Ty::Many2one || field.ty.is_x2many();
    if relational && has_text(value) && db.table(&field.comodel).is_some() {
        return Ok(name_match_leaf(db, field, op, value, ctx));
    }
    let operand = match ctx.series >= 19 && field.ty == Ty::Datetime {
        true => whole_seconds(operand(&field, op, value).map_err(|_| bad_term(value))?),
        false => operand(&field, op, value)?,
    };
    Ok(Node::Leaf(Leaf { field, op, operand }))
}

/// Odoo 19 drops a datetime operand's microseconds and compares by whole seconds.
fn whole_seconds(operand: Operand) -> Operand {
    match operand {
        Operand::Dt(at) => Operand::Second(at.with_nanosecond(0).unwrap_or(at)),
        Operand::List(items) => Operand::list(items.into_iter().map(whole_seconds).collect()),
        other => other,
    }
}

fn bad_term(value: &Json) -> OdooErr {
    let text = scalar_text(value);
    OdooErr::value_error(format!(
        "Invalid term {} in expression date: {}",
        crate::wire::py_repr(&json!(text)),
        crate::wire::py_repr(&json!(text))
    ))
}

fn is_falsy(v: &Json) -> bool {
    matches!(v, Json::Null | Json::Bool(false))
}

fn has_text(v: &Json) -> bool {
    match v {
        Json::String(_) => true,
        Json::Array(items) => items.iter().any(Json::is_string),
        _ => false,
    }
}

/// `categ_id ilike "Office"`: the comodel records whose display name matches, as an id list.
fn name_match_leaf(db: &Db, field: FieldRef, op: Op, value: &Json, ctx: &Ctx) -> Node {
    let positive = op.positive().unwrap_or(op);
    let texts: Vec<String> = match value {
        Json::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        v => v.as_str().map(String::from).into_iter().collect(),
    };
    let ids: Vec<Operand> = db
        .table(&field.comodel)
        .map(|t| t.recs.keys().copied().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|id| {
            let name = db.display_name(&field.comodel, *id, ctx);
            texts.iter().any(|t| text_match(positive, &name, t))
        })
        .map(|id| Operand::Num(id as f64))
        .collect();
    let op = match op.positive() {
        Some(_) => Op::NotIn,
        None => Op::In,
    };
    Node::Leaf(Leaf {
        field,
        op,
        operand: Operand::list(ids),
    })
}

fn text_match(op: Op, name: &str, text: &str) -> bool {
    match op {
        Op::Like => Pattern::new(&format!("%{text}%"), false).matches(name),
        Op::ILike => Pattern::new(&format!("%{text}%"), true).matches(name),
        Op::EqLike => Pattern::new(text, false).matches(name),
        Op::EqILike => Pattern::new(text, true).matches(name),
        _ => name == text,
    }
}

/// `child_of` / `parent_of` through `parent_id`, as an `in` on ids.
fn hierarchy_leaf(db: &Db, model: &str, field: FieldRef, op: &str, value: &Json) -> Node {
    let comodel = match field.name.as_str() {
        "id" => model.to_string(),
        _ => field.comodel.clone(),
    };
    let roots: Vec<i64> = match value {
        Json::Array(items) => items.iter().filter_map(Json::as_i64).collect(),
        v => v.as_i64().into_iter().collect(),
    };
    let ids = match op {
        "child_of" => descendants(db, &comodel, &roots),
        _ => ancestors(db, &comodel, &roots),
    };
    Node::Leaf(Leaf {
        field,
        op: Op::In,
        operand: Operand::list(ids.into_iter().map(|i| Operand::Num(i as f64)).collect()),
    })
}

fn parent_of(db: &Db, model: &str, id: i64) -> Option<i64> {
    let t = db.table(model)?;
    t.recs.get(&id)?.get(t.def, "parent_id").m2o_id()
}

/// Every record (archived included) whose parent chain reaches one of `roots`, roots included.
fn descendants(db: &Db, model: &str, roots: &[i64]) -> Vec<i64> {
    let Some(t) = db.table(model) else {
        return roots.to_vec();
    };
    t.recs
        .keys()
        .copied()
        .filter(|&id| {
            let mut cur = Some(id);
            for _ in 0..64 {
                match cur {
                    Some(c) if roots.contains(&c) => return true,
                    Some(c) => cur = parent_of(db, model, c),
                    None => return false,
                }
            }
            false
        })
        .collect()
}

fn ancestors(db: &Db, model: &str, roots: &[i64]) -> Vec<i64> {
    let mut out = Vec::new();
    for &root in roots {
        let mut cur = Some(root);
        while let Some(c) = cur.filter(|c| !out.contains(c)) {
            out.push(c);
            cur = parent_of(db, model, c);
        }
    }
    out
}

fn operand(field: &FieldRef, op: Op, v: &Json) -> Result<Operand, OdooErr> {
    if op.is_like() {
        let text = scalar_text(v);
        let fold = matches!(op, Op::ILike | Op::NotILike | Op::EqILike | Op::NotEqILike);
        let pattern = match matches!(op, Op::Like | Op::NotLike | Op::ILike | Op::NotILike) {
            true => format!("%{text}%"),
            false => text,
        };
        return Ok(Operand::Pat(Pattern::new(&pattern, fold)));
    }
    scalar(field, v)
}

fn scalar_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn scalar(field: &FieldRef, v: &Json) -> Result<Operand, OdooErr> {
    Ok(match v {
        Json::Null | Json::Bool(false) => Operand::Null,
        Json::Bool(true) => Operand::Bool(true),
        Json::Number(n) => Operand::Num(n.as_f64().unwrap_or(0.0)),
        Json::String(s) if matches!(field.ty, Ty::Datetime | Ty::Date) => {
            Operand::Dt(datetime_operand(field, s)?)
        }
        Json::String(s) => Operand::Str(s.clone()),
        Json::Array(items) => Operand::list(
            items
                .iter()
                .map(|i| scalar(field, i))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(_) => Operand::Str(v.to_string()),
    })
}

fn datetime_operand(field: &FieldRef, s: &str) -> Result<NaiveDateTime, OdooErr> {
    parse_dt(s).ok_or_else(|| {
        let shown = match s.len() == 10 {
            true => format!("{s} 00:00:00"),
            false => s.to_string(),
        };
        OdooErr::new(
            "psycopg2.errors.InvalidDatetimeFormat",
            format!(
                "invalid input syntax for type timestamp: \"{shown}\"\nLINE 1: ... (\"{}\" >= '{s}'...\n             ^\n",
                field.name
            ),
        )
    })
}

/// Does record `id` of `model` satisfy `node`?
pub fn eval(db: &Db, model: &str, id: i64, rec: &Rec, node: &Node, ctx: &Ctx) -> bool {
    match node {
        Node::True => true,
        Node::False => false,
        Node::And(v) => v.iter().all(|n| eval(db, model, id, rec, n, ctx)),
        Node::Or(v) => v.iter().any(|n| eval(db, model, id, rec, n, ctx)),
        Node::Leaf(leaf) => {
            let val = db.value(model, id, rec, &leaf.field, ctx);
            leaf_matches(leaf.field.ty, leaf.op, &val, &leaf.operand)
        }
    }
}

/// One leaf on one value, with Odoo's (PostgreSQL's) NULL rules.
pub fn leaf_matches(ty: Ty, op: Op, v: &Val, o: &Operand) -> bool {
    if let Some(pos) = op.positive() {
        return !leaf_matches(ty, pos, v, o);
    }
    match op {
        Op::Eq => equals(ty, v, o),
        Op::In => match o {
            Operand::List(items) => list_contains(ty, v, items),
            single => equals(ty, v, single),
        },
        Op::Like | Op::ILike | Op::EqLike | Op::EqILike => like(v, o),
        cmp_op => compare(cmp_op, v, o),
    }
}

/// `v in items`: a binary search for an id or integer in a list of numbers only (`Operand::list`
/// sorts them), so that `product_tmpl_id in [2,500 ids]` over a large table stays linear.
fn list_contains(ty: Ty, v: &Val, items: &[Operand]) -> bool {
    let key = match v {
        Val::M2o(id) => Some(*id as f64),
        Val::Int(i) => Some(*i as f64),
        _ => None,
    };
    match (key, items.last()) {
        (Some(key), Some(Operand::Num(_))) => items
            .binary_search_by(|item| match item {
                Operand::Num(n) => n.total_cmp(&key),
                _ => Ordering::Greater,
            })
            .is_ok(),
        _ => items.iter().any(|i| equals(ty, v, i)),
    }
}

fn is_empty(ty: Ty, v: &Val) -> bool {
    match v {
        Val::False => true,
        Val::Str(s) => s.is_empty() && ty.is_text(),
        Val::Bool(b) => !b,
        Val::Int(i) => *i == 0 && ty.is_number(),
        Val::Float(f) => *f == 0.0 && ty.is_number(),
        Val::Ids(ids) => ids.is_empty(),
        _ => false,
    }
}

fn equals(ty: Ty, v: &Val, o: &Operand) -> bool {
    match (v, o) {
        (_, Operand::Null) => is_empty(ty, v),
        (Val::False, _) => false,
        (Val::Bool(b), Operand::Bool(x)) => b == x,
        (Val::Ids(ids), Operand::Num(n)) => ids.iter().any(|i| *i as f64 == *n),
        (Val::Ids(ids), Operand::List(items)) => {
            items.iter().any(|i| equals(ty, &Val::Ids(ids.clone()), i))
        }
        (Val::Str(s), Operand::Str(x)) => s == x,
        (Val::Dt(d), Operand::Dt(x)) => d == x,
        (Val::Dt(d), Operand::Second(x)) => x <= d && *d < next_second(x),
        (v, Operand::Num(n)) => num(v) == Some(*n),
        (v, Operand::Bool(true)) => num(v) == Some(1.0),
        _ => false,
    }
}

fn num(v: &Val) -> Option<f64> {
    match v {
        Val::Int(i) => Some(*i as f64),
        Val::Float(f) => Some(*f),
        Val::M2o(id) | Val::Ref(id, _) => Some(*id as f64),
        Val::Bool(b) => Some(*b as i64 as f64),
        _ => None,
    }
}

fn like(v: &Val, o: &Operand) -> bool {
    let Operand::Pat(p) = o else {
        return false;
    };
    match v {
        Val::Str(s) => p.matches(s),
        Val::Int(_) | Val::Float(_) => num(v).is_some_and(|n| p.matches(&n.to_string())),
        _ => false,
    }
}

fn compare(op: Op, v: &Val, o: &Operand) -> bool {
    use std::cmp::Ordering::*;
    let ord = match (v, o) {
        (Val::Str(s), Operand::Str(x)) => s.as_str().cmp(x.as_str()),
        (Val::Dt(d), Operand::Dt(x)) => d.cmp(x),
        (Val::Dt(d), Operand::Second(x)) => {
            // Odoo 19 rewrites `> X` to `>= X + 1 s` and `<= X` to `< X + 1 s`.
            return match op {
                Op::Lt => d < x,
                Op::Le | Op::Gt => (*d < next_second(x)) == (op == Op::Le),
                Op::Ge => d >= x,
                _ => false,
            };
        }
        (v, Operand::Num(n)) => match num(v).and_then(|a| a.partial_cmp(n)) {
            Some(ord) => ord,
            None => return false,
        },
        _ => return false,
    };
    match op {
        Op::Lt => ord == Less,
        Op::Le => ord != Greater,
        Op::Gt => ord == Greater,
        Op::Ge => ord != Less,
        _ => false,
    }
}

fn next_second(at: &NaiveDateTime) -> NaiveDateTime {
    *at + chrono::Duration::seconds(1)
}

/// `id > X` / `id >= X` among the top-level terms: the first id a keyset scan can start from.
pub fn id_lower_bound(node: &Node) -> Option<i64> {
    let leaf_bound = |n: &Node| match n {
        Node::Leaf(Leaf {
            field,
            op,
            operand: Operand::Num(x),
        }) if field.name == "id" => match op {
            Op::Gt => Some(x.floor() as i64 + 1),
            Op::Ge => Some(x.ceil() as i64),
            _ => None,
        },
        _ => None,
    };
    match node {
        Node::And(items) => items
            .iter()
            .filter_map(|n| leaf_bound(n).or_else(|| id_lower_bound(n)))
            .max(),
        n => leaf_bound(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::search_ids;
    use serde_json::json;

    fn pat(p: &str, fold: bool) -> Operand {
        Operand::Pat(Pattern::new(p, fold))
    }

    #[test]
    fn equals_false_matches_null_and_empty_text_and_zero() {
        assert!(leaf_matches(Ty::Char, Op::Eq, &Val::False, &Operand::Null));
        assert!(leaf_matches(
            Ty::Char,
            Op::Eq,
            &Val::Str(String::new()),
            &Operand::Null
        ));
        assert!(!leaf_matches(
            Ty::Char,
            Op::Eq,
            &Val::Str("x".into()),
            &Operand::Null
        ));
        assert!(leaf_matches(
            Ty::Float,
            Op::Eq,
            &Val::Float(0.0),
            &Operand::Null
        ));
        assert!(leaf_matches(
            Ty::Boolean,
            Op::Eq,
            &Val::Bool(false),
            &Operand::Null
        ));
        assert!(!leaf_matches(
            Ty::Many2one,
            Op::Eq,
            &Val::M2o(3),
            &Operand::Null
        ));
    }

    #[test]
    fn negative_operators_match_null_positive_ones_do_not() {
        let null = Val::False;
        assert!(leaf_matches(
            Ty::Char,
            Op::Ne,
            &null,
            &Operand::Str("x".into())
        ));
        assert!(!leaf_matches(
            Ty::Char,
            Op::Eq,
            &null,
            &Operand::Str("x".into())
        ));
        assert!(leaf_matches(
            Ty::Char,
            Op::NotILike,
            &null,
            &pat("%furn%", true)
        ));
        assert!(!leaf_matches(
            Ty::Char,
            Op::ILike,
            &null,
            &pat("%furn%", true)
        ));
        assert!(leaf_matches(
            Ty::Char,
            Op::NotLike,
            &null,
            &pat("%x%", false)
        ));
        let ids = Operand::list(vec![Operand::Num(8.0), Operand::Num(1.0)]);
        assert!(leaf_matches(Ty::Many2one, Op::NotIn, &null, &ids));
        assert!(!leaf_matches(Ty::Many2one, Op::NotIn, &Val::M2o(8), &ids));
        assert!(leaf_matches(Ty::Many2one, Op::In, &Val::M2o(8), &ids));
        let with_false = Operand::list(vec![Operand::Num(8.0), Operand::Null]);
        assert!(!leaf_matches(Ty::Many2one, Op::NotIn, &null, &with_false));
        assert!(leaf_matches(Ty::Many2one, Op::In, &null, &with_false));
    }

    #[test]
    fn a_long_id_list_finds_every_member_whatever_its_order() {
        let ids: Vec<i64> = (0..3_000).map(|i| (i * 7_919) % 10_007).collect();
        let list = Operand::list(ids.iter().map(|i| Operand::Num(*i as f64)).collect());
        for id in 0..10_007 {
            let member = ids.contains(&id);
            assert_eq!(
                leaf_matches(Ty::Many2one, Op::In, &Val::M2o(id), &list),
                member
            );
            assert_eq!(
                leaf_matches(Ty::Integer, Op::NotIn, &Val::Int(id), &list),
                !member
            );
        }
        assert!(!leaf_matches(Ty::Many2one, Op::In, &Val::False, &list));
        let mixed = Operand::list(vec![Operand::Null, Operand::Num(9.0), Operand::Num(3.0)]);
        assert!(leaf_matches(Ty::Many2one, Op::In, &Val::M2o(3), &mixed));
        assert!(leaf_matches(Ty::Many2one, Op::In, &Val::False, &mixed));
    }

    #[test]
    fn comparisons_never_match_null() {
        for op in [Op::Lt, Op::Le, Op::Gt, Op::Ge] {
            assert!(!leaf_matches(
                Ty::Float,
                op,
                &Val::False,
                &Operand::Num(1.0)
            ));
        }
        assert!(leaf_matches(
            Ty::Float,
            Op::Lt,
            &Val::Float(0.5),
            &Operand::Num(1.0)
        ));
        assert!(leaf_matches(
            Ty::Float,
            Op::Le,
            &Val::Int(1),
            &Operand::Num(1.0)
        ));
        assert!(leaf_matches(
            Ty::Float,
            Op::Gt,
            &Val::Float(2.0),
            &Operand::Num(1.0)
        ));
        assert!(!leaf_matches(
            Ty::Float,
            Op::Ge,
            &Val::Float(0.9),
            &Operand::Num(1.0)
        ));
        assert!(leaf_matches(
            Ty::Char,
            Op::Lt,
            &Val::Str("B".into()),
            &Operand::Str("a".into())
        ));
    }

    #[test]
    fn like_operators_use_sql_patterns() {
        let v = Val::Str("E-COM06".into());
        assert!(leaf_matches(
            Ty::Char,
            Op::EqLike,
            &v,
            &pat("E_COM0%", false)
        ));
        assert!(!leaf_matches(
            Ty::Char,
            Op::EqLike,
            &v,
            &pat("e_com0%", false)
        ));
        assert!(leaf_matches(
            Ty::Char,
            Op::EqILike,
            &v,
            &pat("e_com0%", true)
        ));
        assert!(leaf_matches(Ty::Char, Op::Like, &v, &pat("%COM%", false)));
        assert!(!leaf_matches(Ty::Char, Op::Like, &v, &pat("%com%", false)));
        assert!(leaf_matches(Ty::Char, Op::ILike, &v, &pat("%com%", true)));
    }

    #[test]
    fn not_pushes_into_leaves_as_the_negated_operator() {
        let db = crate::generate::generate(0, 0);
        let ctx = Ctx::default();
        let node = compile(
            &db,
            "product.category",
            &json!(["!", "|", ["id", "<", 3], ["name", "ilike", "tool"]]),
            &ctx,
        )
        .unwrap();
        // product.category has no `active`, so the node is the domain itself.
        let Node::And(leaves) = &node else {
            panic!("! | should become &")
        };
        let ops: Vec<Op> = leaves
            .iter()
            .map(|n| match n {
                Node::Leaf(l) => l.op,
                _ => panic!(),
            })
            .collect();
        assert_eq!(ops, vec![Op::Ge, Op::NotILike]);
    }

    fn ids(db: &Db, model: &str, domain: serde_json::Value) -> Vec<i64> {
        search_ids(db, model, &domain, (0, None), Some("id"), &Ctx::default()).unwrap()
    }

    #[test]
    fn leaves_that_match_nothing_fold_away_without_changing_the_answer() {
        let db = crate::generate::generate(30, 1);
        let ctx = Ctx::default();
        let compiled = |domain: serde_json::Value| compile(&db, TEMPLATE, &domain, &ctx).unwrap();
        let nowhere = json!(["categ_id.name", "=", "no such category"]);
        assert!(matches!(compiled(json!([nowhere])), Node::False));
        let named = json!(["name", "!=", false]);
        let either = json!(["|", nowhere, named]);
        assert!(
            matches!(&compiled(either.clone()), Node::And(terms) if terms.len() == 2),
            "the active test and the one leaf left"
        );
        assert_eq!(
            ids(&db, TEMPLATE, either),
            ids(&db, TEMPLATE, json!([named]))
        );
        assert!(ids(&db, TEMPLATE, json!(["&", nowhere, named])).is_empty());
        assert!(ids(&db, TEMPLATE, json!(["!", nowhere])).len() > 1);
    }

    #[test]
    fn child_of_and_parent_of_walk_the_tree() {
        let db = crate::generate::generate(0, 0);
        assert_eq!(
            ids(&db, "product.category", json!([["id", "child_of", 4]])),
            vec![4, 13, 14, 15]
        );
        assert_eq!(
            ids(&db, "product.category", json!([["id", "parent_of", 14]])),
            vec![1, 2, 4, 14]
        );
        let below = ids(
            &db,
            "product.category",
            json!([["parent_id", "child_of", 12]]),
        );
        assert_eq!(below, vec![18, 19]);
    }

    fn search_all(db: &Db, model: &str, domain: serde_json::Value, ctx: &Ctx) -> Vec<i64> {
        search_ids(db, model, &domain, (0, None), Some("id"), ctx).unwrap()
    }

    fn owner(db: &Db, variant: i64) -> i64 {
        let def = crate::models::model_def(PRODUCT).unwrap();
        let rec = db.rec(PRODUCT, variant).unwrap();
        rec.get(def, "product_tmpl_id").m2o_id().unwrap()
    }

    #[test]
    fn a_variant_path_on_templates_matches_the_templates_of_the_matching_variants() {
        let db = crate::generate::generate(300, 7);
        let all = Ctx::default().with_active_test(false);
        let archived = search_all(&db, PRODUCT, json!([["active", "=", false]]), &all);
        assert!(
            !archived.is_empty(),
            "the generated catalog archives some variants"
        );
        let mut owners: Vec<i64> = archived.iter().map(|v| owner(&db, *v)).collect();
        owners.sort_unstable();
        owners.dedup();
        let path = json!([["product_variant_ids.active", "=", false]]);
        assert_eq!(search_all(&db, TEMPLATE, path.clone(), &all), owners);
        // With active_test, archived variants are not among product_variant_ids.
        assert_eq!(
            search_all(&db, TEMPLATE, path, &Ctx::default()),
            Vec::<i64>::new()
        );
    }

    #[test]
    fn variants_by_template_are_found_through_the_index_as_a_scan_would() {
        let db = crate::generate::generate(300, 7);
        let all = Ctx::default().with_active_test(false);
        let templates = [3, 40, 41, 299, 100_000];
        let domain = json!([["product_tmpl_id", "in", templates], ["id", ">", 0]]);
        let scanned: Vec<i64> = search_all(&db, PRODUCT, json!([["id", ">", 0]]), &all)
            .into_iter()
            .filter(|v| templates.contains(&owner(&db, *v)))
            .collect();
        assert!(scanned.len() >= 4, "{scanned:?}");
        assert_eq!(search_all(&db, PRODUCT, domain, &all), scanned);
    }

    #[test]
    fn prefix_operators_combine_and_top_level_is_an_implicit_and() {
        let db = crate::generate::generate(0, 0);
        let d = json!(["|", ["id", "=", 1], ["id", "=", 3], ["name", "!=", "All"]]);
        assert_eq!(ids(&db, "product.category", d), vec![3]);
        let d = json!(["!", ["parent_id", "=", false]]);
        assert_eq!(ids(&db, "product.category", d).len(), 19);
    }

    #[test]
    fn domain_errors_carry_odoos_texts() {
        let db = crate::generate::generate(0, 0);
        let ctx = Ctx::default();
        let err = |d: serde_json::Value| compile(&db, "product.template", &d, &ctx).unwrap_err();
        assert_eq!(
            err(json!([["name", "==", "Desk"]])).message,
            "Invalid leaf ('name', '==', 'Desk')"
        );
        assert_eq!(
            err(json!([["name", "="]])).message,
            "not enough values to unpack (expected 3, got 2)"
        );
        assert_eq!(err(json!("name = Desk")).name, "builtins.AssertionError");
        let e = err(json!([["nope", "=", 1]]));
        assert_eq!(
            e.message,
            "Invalid field product.template.nope in leaf ('nope', '=', 1)"
        );
        let e = err(json!([["write_date", ">=", "not-a-date"]]));
        assert_eq!(e.name, "psycopg2.errors.InvalidDatetimeFormat");
        assert!(e
            .message
            .starts_with("invalid input syntax for type timestamp: \"not-a-date 00:00:00\""));
    }

    #[test]
    fn odoo_19_compares_datetimes_by_whole_seconds() {
        let earlier = Val::Dt(parse_dt("2026-11-24 14:53:34.203968").unwrap());
        let later = Val::Dt(parse_dt("2026-11-24 14:53:34.238519").unwrap());
        let second = Operand::Second(parse_dt("2026-11-24 14:53:34").unwrap());
        for stored in [&earlier, &later] {
            let matches = |op| leaf_matches(Ty::Datetime, op, stored, &second);
            assert!(!matches(Op::Gt), "> X is >= X + 1 s");
            assert!(matches(Op::Ge));
            assert!(matches(Op::Eq), "= X is within that second");
            assert!(matches(Op::Le), "<= X is < X + 1 s");
            assert!(!matches(Op::Lt));
            assert!(!matches(Op::Ne));
        }
        let next = Val::Dt(parse_dt("2026-11-24 14:53:35").unwrap());
        assert!(leaf_matches(Ty::Datetime, Op::Gt, &next, &second));
        assert!(!leaf_matches(Ty::Datetime, Op::Le, &next, &second));
        let with_micros = Operand::Dt(parse_dt("2026-11-24 14:53:34.203968").unwrap());
        let start = parse_dt("2026-11-24 14:53:34").unwrap();
        assert!(matches!(whole_seconds(with_micros), Operand::Second(at) if at == start));
    }

    #[test]
    fn datetimes_compare_at_full_precision() {
        let stored = Val::Dt(parse_dt("2026-11-24 13:20:23.199928").unwrap());
        let cursor = Operand::Dt(parse_dt("2026-11-24 13:20:23").unwrap());
        assert!(leaf_matches(Ty::Datetime, Op::Gt, &stored, &cursor));
        assert!(leaf_matches(Ty::Datetime, Op::Ge, &stored, &cursor));
        let exact = Operand::Dt(parse_dt("2026-11-24 13:20:23.199928").unwrap());
        assert!(!leaf_matches(Ty::Datetime, Op::Gt, &stored, &exact));
    }
}
