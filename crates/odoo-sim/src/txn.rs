//! Uncommitted changes: before/after images of the records a call touches, so a write can be
//! computed now (its webhooks read the new values), rolled back at once (other readers keep the
//! old state), and committed later as it was computed (same ids, same write_date), like a
//! PostgreSQL transaction that commits after Odoo's webhook POSTs.
//!
//! Ids handed out by the rolled-back call stay taken, as a sequence's would. A concurrent write
//! to the same records between rollback and commit is overwritten by the commit (Odoo would have
//! serialized the two); the simulator does not model that conflict.

use crate::models::defs::{model_def, PRODUCT, TEMPLATE};
use crate::models::{Db, Rec};
use std::collections::BTreeSet;

/// The state of some records: `None` is "does not exist".
#[derive(Clone, Debug, Default)]
pub struct Images {
    recs: Vec<(&'static str, i64, Option<Rec>)>,
}

/// What a call may touch, taken before it runs.
pub struct Before {
    keys: Vec<(&'static str, i64)>,
    images: Images,
    next_ids: Vec<(&'static str, i64)>,
}

impl Images {
    pub fn capture(db: &Db, keys: &[(&'static str, i64)]) -> Images {
        Images {
            recs: keys
                .iter()
                .map(|(m, id)| (*m, *id, db.rec(m, *id).cloned()))
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Puts these records back as captured, then re-derives the template -> variants index.
    pub fn apply(self, db: &mut Db) {
        let pdef = model_def(PRODUCT);
        let mut templates = BTreeSet::new();
        for (model, id, rec) in self.recs {
            if model == TEMPLATE {
                templates.insert(id);
            }
            if model == PRODUCT {
                let tmpl_of = |r: &Rec| pdef.and_then(|d| r.get(d, "product_tmpl_id").m2o_id());
                templates.extend(db.rec(model, id).and_then(tmpl_of));
                templates.extend(rec.as_ref().and_then(tmpl_of));
            }
            let Some(t) = db.table_mut(model) else {
                continue;
            };
            match rec {
                Some(rec) => {
                    t.recs.insert(id, rec);
                }
                None => {
                    t.recs.remove(&id);
                }
            }
        }
        for tmpl in templates {
            db.reindex_variants(tmpl);
        }
        db.after_images();
    }
}

impl Before {
    /// Captures `keys` (the existing records the call may change) and every table's next id.
    pub fn capture(db: &Db, keys: Vec<(&'static str, i64)>) -> Before {
        let images = Images::capture(db, &keys);
        let next_ids = db.tables.iter().map(|(m, t)| (*m, t.next_id)).collect();
        Before {
            keys,
            images,
            next_ids,
        }
    }

    /// The records created since the capture.
    fn created(&self, db: &Db) -> Vec<(&'static str, i64)> {
        self.next_ids
            .iter()
            .filter_map(|(m, next)| db.table(m).map(|t| (*m, t.recs.range(*next..))))
            .flat_map(|(m, range)| range.map(move |(id, _)| (m, *id)))
            .collect()
    }

    /// Splits what happened since the capture into (undo, redo) images.
    pub fn split(self, db: &Db) -> (Images, Images) {
        let created = self.created(db);
        let mut keys = self.keys;
        keys.extend(created.iter().copied());
        let redo = Images::capture(db, &keys);
        let mut undo = self.images;
        undo.recs
            .extend(created.into_iter().map(|(m, id)| (m, id, None)));
        (undo, redo)
    }
}

impl Db {
    /// Rebuilds one template's entry of the variants index from product.product.
    pub fn reindex_variants(&mut self, tmpl: i64) {
        let Some(t) = self.table(PRODUCT) else {
            return;
        };
        let ids: Vec<i64> = t
            .recs
            .iter()
            .filter(|(_, r)| r.get(t.def, "product_tmpl_id").m2o_id() == Some(tmpl))
            .map(|(id, _)| *id)
            .collect();
        match ids.is_empty() {
            true => self.variants_by_tmpl.remove(&tmpl),
            false => self.variants_by_tmpl.insert(tmpl, ids),
        };
    }

    /// Re-derives the indexes that do not follow one record (stock).
    pub fn after_images(&mut self) {
        self.reindex_quants();
        self.reindex_attachments();
    }
}
