//! Records every simulated database starts with, whatever its catalog: `ir.model` and
//! `ir.model.fields` rows describing the simulated models (so automations can name models and
//! fields by id, as over Odoo's RPC).

use super::defs::{FieldDef, IR_FIELDS, IR_MODEL, MODELS};
use super::store::{Db, Rec};
use crate::value::Val;

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
        ("store", Val::Bool(!fd.computed || fd.name == "id")),
    ]
}
