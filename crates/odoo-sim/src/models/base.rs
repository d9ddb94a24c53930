//! Records every simulated database starts with, whatever its catalog: `ir.model` and
//! `ir.model.fields` rows describing the simulated models (so automations can name models and
//! fields by id, as over Odoo's RPC), the stock locations of a one-warehouse company (ids as in
//! Odoo 18: `WH/Stock` is 8), the public pricelist, and the stock index.

use super::defs::{
    FieldDef, CURRENCY, IR_FIELDS, IR_MODEL, LOCATION, MODELS, PRICELIST, QUANT, WEBSITE_MODELS,
    WEBSITE_TEMPLATE_FIELDS,
};
use super::store::{Db, Rec};
use crate::value::Val;

/// `WH/Stock`, the internal location of the only warehouse.
pub const WH_STOCK: i64 = 8;

/// (id, name, parent, usage) of the simulated stock locations.
const LOCATIONS: &[(i64, &str, i64, &str)] = &[
    (1, "Physical Locations", 0, "view"),
    (2, "Partners", 0, "view"),
    (3, "Virtual Locations", 0, "view"),
    (4, "Vendors", 2, "supplier"),
    (5, "Customers", 2, "customer"),
    (7, "WH", 1, "view"),
    (WH_STOCK, "Stock", 7, "internal"),
    (14, "Inventory adjustment", 3, "inventory"),
];

/// Where `ir.model` ids start (Odoo's product models sit in the hundreds too).
const FIRST_MODEL_ID: i64 = 381;
/// Where `ir.model.fields` ids start.
const FIRST_FIELD_ID: i64 = 3001;

impl Db {
    /// Fills `ir.model` and `ir.model.fields` from the model definitions.
    pub fn seed_base(&mut self) {
        let mut field_id = FIRST_FIELD_ID;
        for (i, def) in MODELS.iter().enumerate() {
            let model_id = FIRST_MODEL_ID + i as i64;
            self.put_base(
                IR_MODEL,
                model_id,
                &[
                    ("model", Val::Str(def.name.into())),
                    ("name", Val::Str(def.description.into())),
                ],
            );
            for fd in def.fields {
                self.put_base(IR_FIELDS, field_id, &field_row(def.name, model_id, fd));
                field_id += 1;
            }
        }
        for (id, name, parent, usage) in LOCATIONS {
            let complete = match LOCATIONS.iter().find(|l| l.0 == *parent) {
                Some(p) => format!("{}/{name}", p.1),
                None => name.to_string(),
            };
            let parent = match parent {
                0 => Val::False,
                p => Val::M2o(*p),
            };
            self.put_base(
                LOCATION,
                *id,
                &[
                    ("name", Val::Str(name.to_string())),
                    ("complete_name", Val::Str(complete)),
                    ("usage", Val::Str(usage.to_string())),
                    ("location_id", parent),
                    ("active", Val::Bool(true)),
                ],
            );
        }
        self.put_base(
            PRICELIST,
            1,
            &[
                ("name", Val::Str("Public Pricelist".into())),
                ("currency_id", Val::Ref(1, "USD".into())),
                ("active", Val::Bool(true)),
            ],
        );
        // Odoo's base data has every ISO currency; the company's (USD, id 1) and one more.
        for (id, name, symbol, active) in [(1, "USD", "$", true), (125, "EUR", "€", false)] {
            self.put_base(
                CURRENCY,
                id,
                &[
                    ("name", Val::Str(name.into())),
                    ("symbol", Val::Str(symbol.into())),
                    ("active", Val::Bool(active)),
                ],
            );
        }
    }

    /// As if `website_sale` were not installed: its models and product fields are gone, so
    /// reading them fails the way Odoo fails for an unknown model or field.
    pub fn uninstall_website(&mut self) {
        self.website_uninstalled = true;
        let extras: Vec<i64> = self
            .table(super::defs::PRODUCT_IMAGE)
            .map(|t| t.recs.keys().copied().collect())
            .unwrap_or_default();
        self.unlink_images(super::defs::PRODUCT_IMAGE, &extras);
        for model in WEBSITE_MODELS {
            self.tables.remove(model);
        }
        for fields in self.fields_get.values_mut() {
            fields.retain(|name, _| !WEBSITE_TEMPLATE_FIELDS.contains(&name.as_str()));
        }
        self.fields_get
            .retain(|model, _| !WEBSITE_MODELS.contains(&model.as_str()));
        if let Some(models) = self.tables.get_mut(IR_MODEL) {
            let def = models.def;
            models.recs.retain(|_, r| {
                !matches!(r.get(def, "model"), Val::Str(m) if WEBSITE_MODELS.contains(&m.as_str()))
            });
        }
        if let Some(fields) = self.tables.get_mut(IR_FIELDS) {
            let def = fields.def;
            fields.recs.retain(|_, r| {
                let website_field = matches!(r.get(def, "name"), Val::Str(n) if WEBSITE_TEMPLATE_FIELDS.contains(&n.as_str()));
                let website_model = matches!(r.get(def, "model"), Val::Str(m) if WEBSITE_MODELS.contains(&m.as_str()));
                !website_field && !website_model
            });
        }
    }

    /// Whether `model.name` is a field `website_sale` adds and it is not installed.
    pub fn is_uninstalled_field(&self, model: &str, name: &str) -> bool {
        self.website_uninstalled
            && matches!(model, "product.template" | "product.product")
            && WEBSITE_TEMPLATE_FIELDS.contains(&name)
    }

    /// Rebuilds the product -> quants index from stock.quant.
    pub fn reindex_quants(&mut self) {
        let mut index: std::collections::HashMap<i64, Vec<i64>> = Default::default();
        if let Some(t) = self.table(QUANT) {
            for (id, r) in &t.recs {
                if let Some(p) = r.get(t.def, "product_id").m2o_id() {
                    index.entry(p).or_default().push(*id);
                }
            }
        }
        self.quants_by_product = index;
    }

    /// (on hand, free to use) of a variant: its quants in internal locations.
    pub fn stock(&self, product: i64) -> (f64, f64) {
        let (Some(quants), Some(locs)) = (self.table(QUANT), self.table(LOCATION)) else {
            return (0.0, 0.0);
        };
        let internal = |loc: Option<i64>| {
            loc.and_then(|l| locs.recs.get(&l))
                .is_some_and(|r| r.get(locs.def, "usage") == &Val::Str("internal".into()))
        };
        let mut on_hand = 0.0;
        let mut reserved = 0.0;
        for q in self.quants_by_product.get(&product).into_iter().flatten() {
            let Some(r) = quants.recs.get(q) else {
                continue;
            };
            if !internal(r.get(quants.def, "location_id").m2o_id()) {
                continue;
            }
            on_hand += r.get(quants.def, "quantity").as_f64().unwrap_or(0.0);
            reserved += r
                .get(quants.def, "reserved_quantity")
                .as_f64()
                .unwrap_or(0.0);
        }
        (on_hand, on_hand - reserved)
    }

    fn put_base(&mut self, model: &str, id: i64, vals: &[(&str, Val)]) {
        let Some(t) = self.table_mut(model) else {
            return;
        };
        let def = t.def;
        let mut rec = Rec::empty(def);
        for (name, v) in vals {
            rec.set(def, name, v.clone());
        }
        t.insert(id, rec);
    }

    /// The `ir.model` id of a model name.
    pub fn model_id(&self, model: &str) -> Option<i64> {
        let t = self.table(IR_MODEL)?;
        t.recs
            .iter()
            .find(|(_, r)| r.get(t.def, "model") == &Val::Str(model.into()))
            .map(|(id, _)| *id)
    }
}

fn field_row(model: &str, model_id: i64, fd: &FieldDef) -> Vec<(&'static str, Val)> {
    let relation = match fd.comodel.is_empty() {
        true => Val::False,
        false => Val::Str(fd.comodel.into()),
    };
    vec![
        ("name", Val::Str(fd.name.into())),
        ("model", Val::Str(model.into())),
        ("model_id", Val::M2o(model_id)),
        ("field_description", Val::Str(fd.string.into())),
        ("ttype", Val::Str(fd.ty.name().into())),
        ("relation", relation),
        ("store", Val::Bool(fd.stored())),
    ]
}
