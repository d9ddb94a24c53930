//! `ORDER BY` as Odoo 18 on PostgreSQL with collation `C`: parsing `"write_date asc, id asc"`,
//! byte-order text, booleans as `COALESCE(x, false)`, NULLs last on ASC and first on DESC, and a
//! many2one sorted by its comodel's `_order`.

use crate::models::{model_def, Db, FieldRef, Ty};
use crate::value::{Ctx, Val};
use crate::wire::OdooErr;
use chrono::NaiveDateTime;
use std::cmp::Ordering;

/// One `field [asc|desc]` term.
#[derive(Clone, Debug)]
pub struct Term {
    pub field: FieldRef,
    pub desc: bool,
}

/// Parses an order string, checking every field exists.
pub fn parse(db: &Db, model: &str, order: &str) -> Result<Vec<Term>, OdooErr> {
    let mut terms = Vec::new();
    for part in order.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = part.split_whitespace();
        let name = words.next().unwrap_or("");
        let desc = words.next().is_some_and(|w| w.eq_ignore_ascii_case("desc"));
        let name = name.trim_matches('"');
        let field = db
            .resolve(model, name)
            .ok_or_else(|| OdooErr::invalid_field(name, model))?;
        terms.push(Term { field, desc });
    }
    Ok(terms)
}

/// A sortable key part.
#[derive(Clone, Debug)]
pub enum Key {
    Null,
    Num(f64),
    Str(String),
    Dt(NaiveDateTime),
    /// A many2one: the target's keys under the comodel's `_order`.
    Seq(Vec<(Key, bool)>),
}

/// The keys of one record under `terms` (depth limits many2one recursion).
pub fn keys(
    db: &Db,
    model: &str,
    id: i64,
    terms: &[Term],
    ctx: &Ctx,
    depth: u8,
) -> Vec<(Key, bool)> {
    let Some(rec) = db.rec(model, id) else {
        return terms.iter().map(|t| (Key::Null, t.desc)).collect();
    };
    terms
        .iter()
        .map(|t| {
            let v = db.value(model, id, rec, &t.field, ctx);
            (key_of(db, &t.field, v, ctx, depth), t.desc)
        })
        .collect()
}

fn key_of(db: &Db, f: &FieldRef, v: Val, ctx: &Ctx, depth: u8) -> Key {
    match (f.ty, v) {
        (Ty::Boolean, Val::Bool(b)) => Key::Num(b as i64 as f64),
        (Ty::Boolean, _) => Key::Num(0.0),
        (_, Val::False) => Key::Null,
        (Ty::Many2one, Val::M2o(id)) if depth < 4 => comodel_key(db, &f.comodel, id, ctx, depth),
        (_, Val::M2o(id)) | (_, Val::Ref(id, _)) | (_, Val::Int(id)) => Key::Num(id as f64),
        (_, Val::Float(x)) => Key::Num(x),
        (_, Val::Bool(b)) => Key::Num(b as i64 as f64),
        (_, Val::Str(s)) => Key::Str(s),
        (_, v @ Val::Tr(_)) => v.text(&ctx.lang).map(Key::Str).unwrap_or(Key::Null),
        (_, Val::Dt(d)) => Key::Dt(d),
        (_, Val::Ids(_)) => Key::Null,
    }
}

fn comodel_key(db: &Db, comodel: &str, id: i64, ctx: &Ctx, depth: u8) -> Key {
    let Some(def) = model_def(comodel) else {
        return Key::Num(id as f64);
    };
    match parse(db, comodel, def.order) {
        Ok(terms) => Key::Seq(keys(db, comodel, id, &terms, ctx, depth + 1)),
        Err(_) => Key::Num(id as f64),
    }
}

/// Compares two key lists term by term.
pub fn cmp_keys(a: &[(Key, bool)], b: &[(Key, bool)]) -> Ordering {
    for ((ka, desc), (kb, _)) in a.iter().zip(b) {
        let ord = cmp_key(ka, kb, *desc);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

fn cmp_key(a: &Key, b: &Key, desc: bool) -> Ordering {
    let flip = |o: Ordering| if desc { o.reverse() } else { o };
    match (a, b) {
        (Key::Null, Key::Null) => Ordering::Equal,
        // NULLS LAST on ASC, NULLS FIRST on DESC: NULL is the largest value either way.
        (Key::Null, _) => flip(Ordering::Greater),
        (_, Key::Null) => flip(Ordering::Less),
        (Key::Num(x), Key::Num(y)) => flip(x.partial_cmp(y).unwrap_or(Ordering::Equal)),
        (Key::Str(x), Key::Str(y)) => flip(x.as_bytes().cmp(y.as_bytes())),
        (Key::Dt(x), Key::Dt(y)) => flip(x.cmp(y)),
        (Key::Seq(x), Key::Seq(y)) => {
            let x: Vec<_> = x.iter().map(|(k, d)| (k.clone(), *d != desc)).collect();
            let y: Vec<_> = y.iter().map(|(k, d)| (k.clone(), *d != desc)).collect();
            cmp_keys(&x, &y)
        }
        _ => Ordering::Equal,
    }
}

/// Sorts ids by `terms` (stable: ties keep the given order).
pub fn sort(db: &Db, model: &str, ids: Vec<i64>, terms: &[Term], ctx: &Ctx) -> Vec<i64> {
    if terms.is_empty() || is_id_asc(terms) {
        let mut ids = ids;
        if !terms.is_empty() {
            ids.sort_unstable();
        }
        return ids;
    }
    sort_page(db, model, ids, terms, ctx, usize::MAX)
}

type Keyed = (Vec<(Key, bool)>, i64);

/// Sorts ids by `terms` and keeps the first `keep`: a small page of a large table is selected,
/// not fully sorted. Ties keep id order (ids come in ascending order).
pub fn sort_page(
    db: &Db,
    model: &str,
    ids: Vec<i64>,
    terms: &[Term],
    ctx: &Ctx,
    keep: usize,
) -> Vec<i64> {
    if keep == 0 {
        return Vec::new();
    }
    let mut keyed: Vec<Keyed> = ids
        .into_iter()
        .map(|id| (keys(db, model, id, terms, ctx, 0), id))
        .collect();
    let cmp = |a: &Keyed, b: &Keyed| cmp_keys(&a.0, &b.0).then(a.1.cmp(&b.1));
    if keep < keyed.len() {
        keyed.select_nth_unstable_by(keep - 1, cmp);
        keyed.truncate(keep);
    }
    keyed.sort_by(cmp);
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// Sorts ids by the model's default `_order`.
pub fn sort_default(db: &Db, model: &str, ids: Vec<i64>, ctx: &Ctx) -> Vec<i64> {
    if ids.len() < 2 {
        return ids;
    }
    match model_def(model).map(|d| parse(db, model, d.order)) {
        Some(Ok(terms)) => sort(db, model, ids, &terms, ctx),
        _ => ids,
    }
}

/// `id` / `id asc`: the order a `BTreeMap` walk already gives.
pub fn is_id_asc(terms: &[Term]) -> bool {
    matches!(terms, [t] if t.field.name == "id" && !t.desc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::create;
    use serde_json::json;

    fn db_with(names: &[(&str, Option<&str>)]) -> Db {
        let mut db = crate::generate::generate(0, 0);
        let ctx = Ctx::default();
        let now = crate::value::now_micros();
        for (name, code) in names {
            let vals =
                json!({"name": name, "default_code": code.map_or(json!(false), |c| json!(c))});
            create(
                &mut db,
                "product.template",
                vals.as_object().unwrap(),
                &ctx,
                now,
                2,
            )
            .unwrap();
        }
        db
    }

    fn names(db: &Db, order: &str) -> Vec<String> {
        let ctx = Ctx::default();
        let terms = parse(db, "product.template", order).unwrap();
        let ids: Vec<i64> = db
            .table("product.template")
            .unwrap()
            .recs
            .keys()
            .copied()
            .collect();
        sort(db, "product.template", ids, &terms, &ctx)
            .into_iter()
            .map(|id| db.display_name("product.template", id, &ctx))
            .collect()
    }

    #[test]
    fn text_sorts_in_byte_order_like_collation_c() {
        let db = db_with(&[
            ("b", None),
            ("Écran", None),
            ("ab", None),
            ("a b", None),
            ("B", None),
            ("a", None),
        ]);
        assert_eq!(names(&db, "name"), ["B", "a", "a b", "ab", "b", "Écran"]);
        assert_eq!(
            names(&db, "name desc"),
            ["Écran", "b", "ab", "a b", "a", "B"]
        );
    }

    #[test]
    fn nulls_come_last_ascending_and_first_descending() {
        let db = db_with(&[("x", Some("B2")), ("y", None), ("z", Some("A1"))]);
        assert_eq!(names(&db, "default_code, name"), ["[A1] z", "[B2] x", "y"]);
        assert_eq!(
            names(&db, "default_code desc, name"),
            ["y", "[B2] x", "[A1] z"]
        );
    }

    #[test]
    fn a_many2one_sorts_by_the_comodels_order_not_its_id() {
        let mut db = db_with(&[("one", None), ("two", None)]);
        let ctx = Ctx::default();
        let now = crate::value::now_micros();
        // Category 20 "All / Deliveries" sorts before 4 "All / Saleable / Office Furniture".
        crate::write::write(
            &mut db,
            "product.template",
            &[1],
            json!({"categ_id": 4}).as_object().unwrap(),
            &ctx,
            now,
            2,
        )
        .unwrap();
        crate::write::write(
            &mut db,
            "product.template",
            &[2],
            json!({"categ_id": 20}).as_object().unwrap(),
            &ctx,
            now,
            2,
        )
        .unwrap();
        assert_eq!(names(&db, "categ_id"), ["two", "one"]);
        assert_eq!(names(&db, "categ_id desc"), ["one", "two"]);
    }

    #[test]
    fn unknown_order_fields_are_refused() {
        let db = db_with(&[]);
        let e = parse(&db, "product.template", "no_such_field desc").unwrap_err();
        assert_eq!(
            e.message,
            "Invalid field 'no_such_field' on model 'product.template'"
        );
    }
}
