//! Computed fields (display names, variant lists and counts, variant prices, category paths) and
//! the wire form of a value (`to_wire`). Reads the store, never changes it.

use super::defs::{
    model_def, Ty, ACTION, ATTRIBUTE, ATTR_VALUE, CATEGORY, LOCATION, PRICELIST, PRODUCT, PTAL,
    PTAV, PUBLIC_CATEGORY, TEMPLATE,
};
use super::store::{Db, FieldRef, Rec};
use crate::order;
use crate::value::{fmt_dt, Ctx, Val};
use serde_json::{json, Value as Json};

impl Db {
    /// A computed field's value.
    pub fn computed(&self, model: &str, id: i64, rec: &Rec, name: &str, ctx: &Ctx) -> Val {
        match (model, name) {
            (_, "id") => Val::Int(id),
            (m, f) if crate::images::is_image_field(m, f) => self.image_value(m, id, rec, f),
            (TEMPLATE, "product_template_image_ids") => {
                Val::Ids(self.product_images_of("product_tmpl_id", id))
            }
            (PRODUCT, "product_variant_image_ids") => {
                Val::Ids(self.product_images_of("product_variant_id", id))
            }
            (_, "display_name") => Val::Str(self.display_name(model, id, ctx)),
            (TEMPLATE, "product_variant_ids") => Val::Ids(self.variant_ids(id, ctx)),
            (TEMPLATE, "product_variant_count") => Val::Int(self.variant_ids(id, ctx).len() as i64),
            (TEMPLATE, "barcode") => self.single_variant_field(id, "barcode", ctx),
            (PRODUCT, "name") => self.tmpl_field(rec, "name", ctx),
            (PRODUCT, "is_favorite") => self.tmpl_field(rec, "is_favorite", ctx),
            (PRODUCT, "price_extra") => Val::Float(self.price_extra(rec)),
            (PRODUCT, "lst_price") => Val::Float(self.lst_price(rec)),
            (CATEGORY, "complete_name") => Val::Str(self.category_path(id, " / ", true)),
            (CATEGORY, "parent_path") => Val::Str(self.category_path(id, "/", false) + "/"),
            (PTAV, "name" | "html_color") => {
                let value =
                    model_def(PTAV).and_then(|d| rec.get(d, "product_attribute_value_id").m2o_id());
                match (
                    value.and_then(|v| self.rec(ATTR_VALUE, v)),
                    model_def(ATTR_VALUE),
                ) {
                    (Some(value), Some(def)) => value.get(def, name).clone(),
                    _ => Val::False,
                }
            }
            (PUBLIC_CATEGORY, "parent_path") => {
                Val::Str(self.tree_path(PUBLIC_CATEGORY, id, "/", false) + "/")
            }
            (TEMPLATE, "website_url") => {
                let name = rec
                    .get(model_def(TEMPLATE).expect("template"), "name")
                    .text(&ctx.lang)
                    .unwrap_or_default();
                Val::Str(format!("/shop/{}", slug(&name, id)))
            }
            (PRODUCT, "qty_available") => Val::Float(self.stock(id).0),
            (PRODUCT, "free_qty") => Val::Float(self.stock(id).1),
            (TEMPLATE, "qty_available" | "free_qty") => {
                let all = self.variant_ids(id, ctx).into_iter().map(|v| self.stock(v));
                let (on_hand, free) = all.fold((0.0, 0.0), |a, s| (a.0 + s.0, a.1 + s.1));
                Val::Float(if name == "free_qty" { free } else { on_hand })
            }
            (_, "qty_available" | "free_qty") => Val::Float(0.0),
            (ACTION, "webhook_sample_payload") => {
                crate::webhooks::sample_payload(self, id).map_or(Val::False, Val::Str)
            }
            _ => Val::False,
        }
    }

    /// Variants of a template in product.product order; archived ones only when
    /// `active_test` is off.
    pub fn variant_ids(&self, tmpl: i64, ctx: &Ctx) -> Vec<i64> {
        let Some(ids) = self.variants_by_tmpl.get(&tmpl) else {
            return Vec::new();
        };
        let Some(t) = self.table(PRODUCT) else {
            return Vec::new();
        };
        let ids: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| {
                let active = t.recs.get(id).map(|r| r.get(t.def, "active"));
                !ctx.active_test || active == Some(&Val::Bool(true))
            })
            .collect();
        order::sort_default(self, PRODUCT, ids, ctx)
    }

    /// Odoo's `_compute_barcode` / `_compute_default_code`: `field` of the template's only
    /// variant as `ctx` sees them; with none visible, of its only variant archived or not; else
    /// `False`. `search_read` drops `active_test` before reading, so there only active variants
    /// count first, even when the search itself saw archived records.
    pub fn single_variant_field(&self, tmpl: i64, field: &str, ctx: &Ctx) -> Val {
        let mut variants = self.variant_ids(tmpl, ctx);
        if variants.is_empty() && ctx.active_test {
            variants = self.variant_ids(tmpl, &ctx.with_active_test(false));
        }
        let (Some(pdef), [only]) = (model_def(PRODUCT), variants.as_slice()) else {
            return Val::False;
        };
        self.rec(PRODUCT, *only)
            .map_or(Val::False, |variant| variant.get(pdef, field).clone())
    }

    fn tmpl_of(&self, variant: &Rec) -> Option<(i64, &Rec)> {
        let pdef = model_def(PRODUCT)?;
        let tid = variant.get(pdef, "product_tmpl_id").m2o_id()?;
        Some((tid, self.rec(TEMPLATE, tid)?))
    }

    fn tmpl_field(&self, variant: &Rec, name: &str, ctx: &Ctx) -> Val {
        let Some((_, tmpl)) = self.tmpl_of(variant) else {
            return Val::False;
        };
        let Some(tdef) = model_def(TEMPLATE) else {
            return Val::False;
        };
        tmpl.get(tdef, name).in_lang(&ctx.lang)
    }

    fn price_extra(&self, variant: &Rec) -> f64 {
        let (Some(pdef), Some(t)) = (model_def(PRODUCT), self.table(PTAV)) else {
            return 0.0;
        };
        let ptavs = variant.get(pdef, "product_template_attribute_value_ids");
        let extras = ptavs
            .ids()
            .iter()
            .filter_map(|id| t.recs.get(id))
            .filter_map(|r| r.get(t.def, "price_extra").as_f64())
            .sum::<f64>();
        round_product_price(extras)
    }

    fn lst_price(&self, variant: &Rec) -> f64 {
        let list_price = self.tmpl_of(variant).and_then(|(_, tmpl)| {
            let tdef = model_def(TEMPLATE)?;
            tmpl.get(tdef, "list_price").as_f64()
        });
        round_product_price(list_price.unwrap_or(0.0) + self.price_extra(variant))
    }

    /// Ancestors then self, joined: names (`complete_name`) or ids (`parent_path`).
    fn category_path(&self, id: i64, sep: &str, names: bool) -> String {
        self.tree_path(CATEGORY, id, sep, names)
    }

    /// `category_path` of any model with a `parent_id` to itself.
    fn tree_path(&self, model: &str, id: i64, sep: &str, names: bool) -> String {
        let mut parts = Vec::new();
        let mut cur = Some(id);
        while let Some(cid) = cur {
            let Some(rec) = self.rec(model, cid) else {
                break;
            };
            let Some(def) = model_def(model) else {
                break;
            };
            let part = match names {
                true => rec.get(def, "name").text("en_US").unwrap_or_default(),
                false => cid.to_string(),
            };
            parts.push(part);
            cur = rec.get(def, "parent_id").m2o_id();
            if parts.len() > 64 {
                break;
            }
        }
        parts.reverse();
        parts.join(sep)
    }

    /// Odoo's `display_name` of a record in `ctx.lang` ("" if it does not exist).
    pub fn display_name(&self, model: &str, id: i64, ctx: &Ctx) -> String {
        let Some(t) = self.table(model) else {
            return String::new();
        };
        let Some(rec) = t.recs.get(&id) else {
            return String::new();
        };
        let text = |name: &str| rec.get(t.def, name).text(&ctx.lang).unwrap_or_default();
        match model {
            TEMPLATE => with_code(rec.get(t.def, "default_code"), text("name")),
            PRODUCT => self.variant_display_name(rec, ctx),
            LOCATION => text("complete_name"),
            PRICELIST => match rec.get(t.def, "currency_id") {
                Val::Ref(_, cur) if !cur.is_empty() => format!("{} ({cur})", text("name")),
                _ => text("name"),
            },
            CATEGORY => self.category_path(id, " / ", true),
            ATTR_VALUE => {
                let attr = rec.get(t.def, "attribute_id").m2o_id().unwrap_or(0);
                format!(
                    "{}: {}",
                    self.display_name(ATTRIBUTE, attr, ctx),
                    text("name")
                )
            }
            PTAV => {
                let attr = rec.get(t.def, "attribute_id").m2o_id().unwrap_or(0);
                let name = self.computed(PTAV, id, rec, "name", ctx);
                format!(
                    "{}: {}",
                    self.display_name(ATTRIBUTE, attr, ctx),
                    name.text(&ctx.lang).unwrap_or_default()
                )
            }
            PTAL => {
                let attr = rec.get(t.def, "attribute_id").m2o_id().unwrap_or(0);
                self.display_name(ATTRIBUTE, attr, ctx)
            }
            _ => text("name"),
        }
    }

    fn variant_display_name(&self, rec: &Rec, ctx: &Ctx) -> String {
        let name = self
            .tmpl_field(rec, "name", ctx)
            .text("en_US")
            .unwrap_or_default();
        let Some(pdef) = model_def(PRODUCT) else {
            return name;
        };
        let values =
            self.variant_value_names(rec.get(pdef, "product_template_attribute_value_ids"), ctx);
        let base = with_code(rec.get(pdef, "default_code"), name);
        match values.is_empty() {
            true => base,
            false => format!("{base} ({})", values.join(", ")),
        }
    }

    /// Names of a variant's attribute values, in ptav order, leaving out `no_variant` attributes
    /// and lines with a single value.
    fn variant_value_names(&self, ptavs: &Val, ctx: &Ctx) -> Vec<String> {
        let (Some(t), Some(lines), Some(attrs)) =
            (self.table(PTAV), self.table(PTAL), self.table(ATTRIBUTE))
        else {
            return Vec::new();
        };
        let sorted = order::sort_default(self, PTAV, ptavs.ids().to_vec(), ctx);
        sorted
            .iter()
            .filter_map(|id| t.recs.get(id).map(|r| (*id, r)))
            .filter(|(_, r)| {
                let attr = r
                    .get(t.def, "attribute_id")
                    .m2o_id()
                    .and_then(|a| attrs.recs.get(&a));
                let no_variant = attr.map(|a| a.get(attrs.def, "create_variant"))
                    == Some(&Val::Str("no_variant".into()));
                let line = r
                    .get(t.def, "attribute_line_id")
                    .m2o_id()
                    .and_then(|l| lines.recs.get(&l));
                let single = line.map(|l| l.get(lines.def, "value_ids").ids().len() < 2);
                !no_variant && single != Some(true)
            })
            .filter_map(|(id, r)| self.computed(PTAV, id, r, "name", ctx).text(&ctx.lang))
            .collect()
    }

    /// The JSON-RPC form of a value read from field `f`.
    pub fn to_wire(&self, v: Val, f: &FieldRef, ctx: &Ctx) -> Json {
        match v {
            Val::False => Json::Bool(false),
            Val::Bool(b) => Json::Bool(b),
            Val::Int(i) if matches!(f.ty, Ty::Float | Ty::Monetary) => json!(i as f64),
            Val::Int(i) => json!(i),
            Val::Float(x) => json!(x),
            Val::Str(s) => Json::String(s),
            Val::Tr(_) => Json::String(v.text(&ctx.lang).unwrap_or_default()),
            Val::Dt(dt) => Json::String(fmt_dt(&dt)),
            Val::M2o(id) => json!([id, self.display_name(&f.comodel, id, ctx)]),
            Val::Ref(id, name) => json!([id, name]),
            Val::Ids(ids) => json!(self.sorted_x2many(&f.comodel, ids, ctx)),
        }
    }

    /// x2many lists come in the comodel's `_order`.
    pub fn sorted_x2many(&self, comodel: &str, ids: Vec<i64>, ctx: &Ctx) -> Vec<i64> {
        match self.table(comodel) {
            Some(_) => order::sort_default(self, comodel, ids, ctx),
            None => ids,
        }
    }
}

fn with_code(code: &Val, name: String) -> String {
    match code {
        Val::Str(c) if !c.is_empty() => format!("[{c}] {name}"),
        _ => name,
    }
}

/// Digits of Odoo's default "Product Price" decimal precision.
const PRODUCT_PRICE_DIGITS: i32 = 2;

/// What Odoo's `Float(digits='Product Price')` keeps of a computed price: `float_round` half-up
/// to the precision, nudged by one ulp first so that 2.675 (stored as 2.67499…) gives 2.68, and
/// divided back so that the result is the float nearest the decimal (5.1, not 5.1000000000000005).
/// Odoo's `ir.http._slug` of a record: `slugify(name)-id`, or the bare id when the name slugifies
/// to nothing. Odoo's slugify (without python-slugify): NFKD, non-ASCII dropped, every run of
/// characters other than ASCII letters and digits (`_` included) one `-`, `-` trimmed, lower case.
pub fn slug(name: &str, id: i64) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::new();
    for c in name.nfkd().filter(char::is_ascii) {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    match trimmed.is_empty() {
        true => id.to_string(),
        false => format!("{trimmed}-{id}"),
    }
}

pub fn round_product_price(value: f64) -> f64 {
    if value == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(PRODUCT_PRICE_DIGITS);
    let normalized = value * scale;
    let epsilon = 2f64.powf(normalized.abs().log2() - 52.0);
    let rounded = (normalized.abs() + epsilon + 0.5)
        .floor()
        .copysign(normalized);
    rounded / scale
}

#[cfg(test)]
mod price_tests {
    use super::round_product_price;

    #[test]
    fn prices_round_half_up_to_the_nearest_decimal_float() {
        assert_eq!(round_product_price(0.1 + 0.2), 0.3);
        assert_eq!(round_product_price(5.1 + 0.0), 5.1);
        assert_eq!(round_product_price(2.675), 2.68);
        assert_eq!(round_product_price(-2.675), -2.68);
        assert_eq!(round_product_price(1.004), 1.0);
        assert_eq!(round_product_price(211.7), 211.7);
    }
}
