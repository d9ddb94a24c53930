//! The in-memory database: one table per model (records by id in a `BTreeMap`), field
//! resolution (own, inherited from the template, or only known from a recorded `fields_get`), and
//! the template -> variants index. Computed values live in `compute.rs`.

use super::defs::{model_def, ModelDef, Ty, MODELS, PRODUCT, TEMPLATE};
use crate::value::{Ctx, Val};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, HashMap};

/// A record: one value per field of its `ModelDef` (computed slots stay `False`).
#[derive(Clone, Debug)]
pub struct Rec {
    pub vals: Vec<Val>,
}

impl Rec {
    pub fn empty(def: &ModelDef) -> Rec {
        Rec {
            vals: vec![Val::False; def.fields.len()],
        }
    }

    pub fn get(&self, def: &ModelDef, name: &str) -> &Val {
        match def.slot(name) {
            Some(i) => &self.vals[i],
            None => &Val::False,
        }
    }

    pub fn set(&mut self, def: &ModelDef, name: &str, v: Val) {
        if let Some(i) = def.slot(name) {
            self.vals[i] = v;
        }
    }
}

/// All records of one model.
#[derive(Debug)]
pub struct Table {
    pub def: &'static ModelDef,
    pub recs: BTreeMap<i64, Rec>,
    pub next_id: i64,
}

impl Table {
    pub fn insert(&mut self, id: i64, rec: Rec) {
        self.next_id = self.next_id.max(id + 1);
        self.recs.insert(id, rec);
    }

    pub fn alloc_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Ids of the records `keep` accepts, ascending. A large table is scanned in two halves at
    /// once, as PostgreSQL plans a parallel sequential scan (two workers per gather by default):
    /// the simulator's own scan (a cache miss per record) must not outlast the modelled cost.
    pub fn scan(&self, keep: impl Fn(i64, &Rec) -> bool + Sync) -> Vec<i64> {
        let half = |range: std::collections::btree_map::Range<'_, i64, Rec>| -> Vec<i64> {
            range
                .filter(|(id, rec)| keep(**id, rec))
                .map(|(id, _)| *id)
                .collect()
        };
        let (Some((&first, _)), Some((&last, _))) =
            (self.recs.first_key_value(), self.recs.last_key_value())
        else {
            return Vec::new();
        };
        if self.recs.len() < PARALLEL_SCAN_MIN {
            return half(self.recs.range(..));
        }
        let middle = first + (last - first) / 2;
        let (mut low, high) = std::thread::scope(|scope| {
            let low = scope.spawn(|| half(self.recs.range(..middle)));
            let high = half(self.recs.range(middle..));
            (low.join().expect("a scan half panicked"), high)
        });
        low.extend(high);
        low
    }
}

/// Tables smaller than this are scanned on one thread: a thread costs more than it saves.
const PARALLEL_SCAN_MIN: usize = 20_000;

/// Where a field's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    /// A field of the model's own definition (stored slot or computed).
    Own(usize),
    /// product.product reading a product.template field through `product_tmpl_id`.
    Template(usize),
    /// Known only from a recorded `fields_get`: reads as the type's empty value.
    Extra,
}

/// A resolved field of a model.
#[derive(Clone, Debug)]
pub struct FieldRef {
    pub name: String,
    pub ty: Ty,
    pub comodel: String,
    pub src: Src,
    pub computed: bool,
}

/// The whole simulated database.
#[derive(Debug, Default)]
pub struct Db {
    pub tables: HashMap<&'static str, Table>,
    /// template id -> its variant ids (archived ones included).
    pub variants_by_tmpl: HashMap<i64, Vec<i64>>,
    /// product id -> its stock.quant ids (see `reindex_quants`).
    pub quants_by_product: HashMap<i64, Vec<i64>>,
    /// Recorded `fields_get` answers (demo18), by model.
    pub fields_get: HashMap<String, Map<String, Json>>,
    /// The Odoo series simulated, for what the database itself shows differently (set by
    /// `Sim::spawn`; anything below 19 is Odoo 18).
    pub series: u8,
    /// Set by `uninstall_website`: website_sale's models and fields do not exist.
    pub website_uninstalled: bool,
    /// (res_model, res_field, res_id) -> ir.attachment id (see `images.rs`).
    pub attachments: HashMap<(String, String, i64), i64>,
}

impl Db {
    pub fn new() -> Db {
        let tables = MODELS
            .iter()
            .map(|def| {
                let table = Table {
                    def,
                    recs: BTreeMap::new(),
                    next_id: 1,
                };
                (def.name, table)
            })
            .collect();
        let mut db = Db {
            tables,
            ..Db::default()
        };
        db.seed_base();
        db
    }

    pub fn table(&self, model: &str) -> Option<&Table> {
        self.tables.get(model)
    }

    pub fn table_mut(&mut self, model: &str) -> Option<&mut Table> {
        self.tables.get_mut(model)
    }

    pub fn rec(&self, model: &str, id: i64) -> Option<&Rec> {
        self.tables.get(model)?.recs.get(&id)
    }

    /// Resolves a field name on a model, as Odoo's `_fields` would.
    pub fn resolve(&self, model: &str, name: &str) -> Option<FieldRef> {
        if self.is_uninstalled_field(model, name) {
            return None;
        }
        let def = model_def(model)?;
        if let Some((i, fd)) = def.field(name) {
            return Some(field_ref(fd, Src::Own(i)));
        }
        if model == PRODUCT {
            if let Some((i, fd)) = model_def(TEMPLATE)?.field(name) {
                return Some(field_ref(fd, Src::Template(i)));
            }
        }
        let attrs = self.fields_get.get(model)?.get(name)?;
        Some(FieldRef {
            name: name.to_string(),
            ty: Ty::parse(attrs["type"].as_str().unwrap_or("")),
            comodel: attrs["relation"].as_str().unwrap_or("").to_string(),
            src: Src::Extra,
            computed: true,
        })
    }

    /// Adds a variant to the template index.
    pub fn index_variant(&mut self, tmpl: i64, variant: i64) {
        self.variants_by_tmpl.entry(tmpl).or_default().push(variant);
    }

    pub fn unindex_variant(&mut self, tmpl: i64, variant: i64) {
        if let Some(v) = self.variants_by_tmpl.get_mut(&tmpl) {
            v.retain(|&x| x != variant);
        }
    }

    /// Active language codes (res.lang records with active = true).
    pub fn active_langs(&self) -> Vec<String> {
        let Some(t) = self.table(super::defs::LANG) else {
            return Vec::new();
        };
        t.recs
            .values()
            .filter(|r| r.get(t.def, "active") == &Val::Bool(true))
            .filter_map(|r| r.get(t.def, "code").text("en_US"))
            .collect()
    }

    /// The value of a field on a record, translations resolved in `ctx.lang`.
    pub fn value(&self, model: &str, id: i64, rec: &Rec, f: &FieldRef, ctx: &Ctx) -> Val {
        match f.src {
            Src::Own(i) if !f.computed => rec.vals[i].in_lang(&ctx.lang),
            Src::Own(_) => self.computed(model, id, rec, &f.name, ctx),
            Src::Template(i) => self.template_value(rec, i, ctx),
            Src::Extra => empty_value(f.ty),
        }
    }

    fn template_value(&self, variant: &Rec, slot: usize, ctx: &Ctx) -> Val {
        let Some(pdef) = model_def(PRODUCT) else {
            return Val::False;
        };
        let Some(tid) = variant.get(pdef, "product_tmpl_id").m2o_id() else {
            return Val::False;
        };
        let Some(tmpl) = self.rec(TEMPLATE, tid) else {
            return Val::False;
        };
        let Some(tdef) = model_def(TEMPLATE) else {
            return Val::False;
        };
        let f = field_ref(&tdef.fields[slot], Src::Own(slot));
        self.value(TEMPLATE, tid, tmpl, &f, ctx)
    }
}

fn field_ref(fd: &super::defs::FieldDef, src: Src) -> FieldRef {
    FieldRef {
        name: fd.name.to_string(),
        ty: fd.ty,
        comodel: fd.comodel.to_string(),
        src,
        computed: fd.computed,
    }
}

/// What Odoo reads for a field that holds nothing.
pub fn empty_value(ty: Ty) -> Val {
    match ty {
        Ty::One2many | Ty::Many2many => Val::Ids(Vec::new()),
        Ty::Integer => Val::Int(0),
        Ty::Float | Ty::Monetary => Val::Float(0.0),
        Ty::Boolean => Val::Bool(false),
        _ => Val::False,
    }
}
