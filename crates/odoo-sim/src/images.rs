//! Images as Odoo keeps them: `image.mixin` fields (`image_1920` …) and `product.image` records
//! whose bytes live in `ir.attachment` rows named by `res_model`, `res_field` and `res_id`, with
//! the SHA-1 `checksum`, `file_size` and `mimetype` Odoo computes. A read of an image field is a
//! look-up of its attachment (base64, `false` when none); a write replaces or removes it.
//!
//! Odoo also keeps `image_1024` … `image_128` as attachments of their own, resized; the images
//! generated here are at most 600 px wide, so (as Odoo's `image_process` does for an image that
//! needs no resizing) they read as `image_1920`'s bytes and have no rows of their own.

use crate::models::defs::{model_def, ATTACHMENT, PRODUCT, PRODUCT_IMAGE, TEMPLATE};
use crate::models::{Db, Rec};
use crate::value::Val;
use base64::Engine as _;
use chrono::NaiveDateTime;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value as Json};
use sha1::{Digest, Sha1};

/// The image fields a write may set, and the attachment field each is kept under.
const WRITABLE: &[(&str, &str, &str)] = &[
    (TEMPLATE, "image_1920", "image_1920"),
    (PRODUCT, "image_variant_1920", "image_variant_1920"),
    (PRODUCT, "image_1920", "image_variant_1920"),
    (PRODUCT_IMAGE, "image_1920", "image_1920"),
];

/// Whether `model.field` is an image field read through its attachment.
pub fn is_image_field(model: &str, field: &str) -> bool {
    matches!(
        (model, field),
        (
            TEMPLATE | PRODUCT,
            "image_1920" | "image_1024" | "image_512" | "image_256" | "image_128"
        ) | (PRODUCT, "image_variant_1920")
            | (PRODUCT_IMAGE, "image_1920" | "image_128")
    )
}

impl Db {
    /// The attachment holding `res_model.res_field` of record `res_id`, if any.
    pub fn attachment_of(&self, res_model: &str, res_field: &str, res_id: i64) -> Option<i64> {
        self.attachments
            .get(&(res_model.to_string(), res_field.to_string(), res_id))
            .copied()
    }

    /// Rebuilds the (res_model, res_field, res_id) -> attachment index from ir.attachment.
    pub fn reindex_attachments(&mut self) {
        let mut index = std::collections::HashMap::new();
        if let Some(t) = self.table(ATTACHMENT) {
            for (id, r) in &t.recs {
                let text = |f: &str| r.get(t.def, f).text("en_US");
                if let (Some(model), Some(field), Val::Int(res_id)) =
                    (text("res_model"), text("res_field"), r.get(t.def, "res_id"))
                {
                    index.insert((model, field, *res_id), *id);
                }
            }
        }
        self.attachments = index;
    }

    /// Ids of the attachments of records `ids` of `model` (every image field).
    pub fn attachments_of_records(&self, model: &str, ids: &[i64]) -> Vec<i64> {
        self.attachments
            .iter()
            .filter(|((m, _, id), _)| m == model && ids.contains(id))
            .map(|(_, a)| *a)
            .collect()
    }

    /// Ids of the product.image records of a template (`product_tmpl_id`) or a variant
    /// (`product_variant_id`), in `sequence, id` order.
    pub fn product_images_of(&self, field: &str, owner: i64) -> Vec<i64> {
        let Some(t) = self.table(PRODUCT_IMAGE) else {
            return Vec::new();
        };
        let mut ids: Vec<(i64, i64)> = t
            .recs
            .iter()
            .filter(|(_, r)| r.get(t.def, field).m2o_id() == Some(owner))
            .map(|(id, r)| {
                let seq = match r.get(t.def, "sequence") {
                    Val::Int(s) => *s,
                    _ => 0,
                };
                (seq, *id)
            })
            .collect();
        ids.sort_unstable();
        ids.into_iter().map(|(_, id)| id).collect()
    }

    /// The base64 of an image field of a record (`False` when it has no image).
    pub fn image_value(&self, model: &str, id: i64, rec: &Rec, field: &str) -> Val {
        let own = |res_field: &str| match self.attachment_of(model, res_field, id) {
            Some(att) => self.attachment_datas(att),
            None => Val::False,
        };
        match (model, field) {
            (PRODUCT, "image_variant_1920") => own("image_variant_1920"),
            (PRODUCT, _) => match own("image_variant_1920") {
                Val::False => {
                    let tmpl =
                        model_def(PRODUCT).and_then(|d| rec.get(d, "product_tmpl_id").m2o_id());
                    match tmpl.and_then(|t| self.rec(TEMPLATE, t).map(|r| (t, r))) {
                        Some((t, r)) => self.image_value(TEMPLATE, t, r, "image_1920"),
                        None => Val::False,
                    }
                }
                found => found,
            },
            _ => own("image_1920"),
        }
    }

    fn attachment_datas(&self, att: i64) -> Val {
        match (self.rec(ATTACHMENT, att), model_def(ATTACHMENT)) {
            (Some(r), Some(def)) => r.get(def, "datas").clone(),
            _ => Val::False,
        }
    }

    /// Stores, replaces or removes the attachment of one image field of a record.
    pub fn set_image(
        &mut self,
        res_model: &'static str,
        res_field: &'static str,
        res_id: i64,
        base64: Option<&str>,
        now: NaiveDateTime,
    ) {
        let existing = self.attachment_of(res_model, res_field, res_id);
        let Some(b64) = base64.filter(|b| !b.is_empty()) else {
            if let (Some(att), Some(t)) = (existing, self.table_mut(ATTACHMENT)) {
                t.recs.remove(&att);
            }
            self.reindex_attachments();
            return;
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap_or_else(|_| b64.as_bytes().to_vec());
        let Some(t) = self.table_mut(ATTACHMENT) else {
            return;
        };
        let def = t.def;
        let id = existing.unwrap_or_else(|| t.alloc_id());
        let mut rec = t.recs.get(&id).cloned().unwrap_or_else(|| Rec::empty(def));
        let checksum = hex(&Sha1::digest(&bytes));
        let text = |s: &str| Val::Str(s.to_string());
        rec.set(def, "name", text(res_field));
        rec.set(def, "res_model", text(res_model));
        rec.set(def, "res_field", text(res_field));
        rec.set(def, "res_id", Val::Int(res_id));
        rec.set(def, "type", text("binary"));
        rec.set(def, "checksum", Val::Str(checksum));
        rec.set(def, "file_size", Val::Int(bytes.len() as i64));
        rec.set(def, "mimetype", text(sniff_mimetype(&bytes)));
        rec.set(def, "datas", Val::Str(b64.trim().to_string()));
        if existing.is_none() {
            rec.set(def, "create_date", Val::Dt(now));
        }
        rec.set(def, "write_date", Val::Dt(now));
        t.insert(id, rec);
        self.attachments
            .insert((res_model.to_string(), res_field.to_string(), res_id), id);
    }

    /// Applies the image fields of a create or write on `ids` of `model` (other fields are the
    /// caller's; the record's write_date is stamped there).
    pub fn write_images(
        &mut self,
        model: &str,
        ids: &[i64],
        vals: &Map<String, Json>,
        now: NaiveDateTime,
    ) {
        for (m, field, res_field) in WRITABLE {
            if *m != model {
                continue;
            }
            let Some(v) = vals.get(*field) else {
                continue;
            };
            let owner: &'static str = m;
            for id in ids {
                self.set_image(owner, res_field, *id, v.as_str(), now);
            }
        }
    }

    /// Removes the attachments of deleted records.
    pub fn unlink_images(&mut self, model: &str, ids: &[i64]) {
        let atts = self.attachments_of_records(model, ids);
        if let Some(t) = self.table_mut(ATTACHMENT) {
            for att in atts {
                t.recs.remove(&att);
            }
        }
        self.reindex_attachments();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Odoo's `guess_mimetype` for what the simulator generates or is sent.
fn sniff_mimetype(bytes: &[u8]) -> &'static str {
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xff, 0xd8, 0xff, ..] => "image/jpeg",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        _ => "application/octet-stream",
    }
}

/// A small generated image (PNG or JPEG) of one of a few colours, with `mark` drawn in as a row
/// of pixels so that every generated image is distinct.
pub fn generated_image(width: u32, height: u32, colour: usize, mark: u64, jpeg: bool) -> Vec<u8> {
    let [r, g, b] = COLOURS[colour % COLOURS.len()];
    let mut img = image::RgbImage::from_pixel(width, height, image::Rgb([r, g, b]));
    for bit in 0..width.min(40) {
        let on = (mark >> (bit % 40)) & 1 == 1;
        let px = if on { [255, 255, 255] } else { [0, 0, 0] };
        for y in 0..(height / 8).max(2).min(height) {
            img.put_pixel(bit, y, image::Rgb(px));
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    let format = match jpeg {
        true => image::ImageFormat::Jpeg,
        false => image::ImageFormat::Png,
    };
    img.write_to(&mut out, format)
        .expect("an in-memory image encodes");
    out.into_inner()
}

const COLOURS: [[u8; 3]; 5] = [
    [200, 40, 40],
    [40, 120, 200],
    [40, 160, 80],
    [230, 180, 30],
    [120, 60, 160],
];

/// Images of a generated catalog, from their own random stream (so the catalog itself is the
/// same as without them): ~80 % of templates have one (every 50th a 600×400, else 64×64, PNG or
/// JPEG), ~30 % of the variants of multi-variant templates their own, ~15 % of templates one or
/// two `product.image` extras (website_sale).
pub fn generate_images(db: &mut Db, seed: u64, templates: i64, at: NaiveDateTime) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x1a6e_5eed);
    let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut next_extra = 1;
    for id in 1..=templates {
        if db.rec(TEMPLATE, id).is_none() {
            continue;
        }
        if rng.gen_bool(0.8) {
            let (w, h) = match id % 50 == 0 {
                true => (600, 400),
                false => (64, 64),
            };
            let bytes = generated_image(w, h, rng.gen_range(0..5), id as u64, rng.gen_bool(0.5));
            db.set_image(TEMPLATE, "image_1920", id, Some(&b64(bytes)), at);
        }
        let variants = db.variants_by_tmpl.get(&id).cloned().unwrap_or_default();
        if variants.len() > 1 {
            for v in variants {
                if rng.gen_bool(0.3) {
                    let mark = (1 << 39) | v as u64;
                    let bytes = generated_image(64, 64, rng.gen_range(0..5), mark, false);
                    db.set_image(PRODUCT, "image_variant_1920", v, Some(&b64(bytes)), at);
                }
            }
        }
        if rng.gen_bool(0.15) {
            for n in 0..rng.gen_range(1..=2) {
                let extra = next_extra;
                next_extra += 1;
                let Some(t) = db.table_mut(PRODUCT_IMAGE) else {
                    break;
                };
                let def = t.def;
                let mut rec = Rec::empty(def);
                rec.set(def, "name", Val::Str(format!("View {}", n + 1)));
                rec.set(def, "sequence", Val::Int(10 + n));
                rec.set(def, "product_tmpl_id", Val::M2o(id));
                rec.set(def, "video_url", Val::False);
                rec.set(def, "create_date", Val::Dt(at));
                rec.set(def, "write_date", Val::Dt(at));
                t.insert(extra, rec);
                let mark = (1 << 38) | extra as u64;
                let bytes = generated_image(64, 64, rng.gen_range(0..5), mark, true);
                db.set_image(PRODUCT_IMAGE, "image_1920", extra, Some(&b64(bytes)), at);
            }
        }
    }
}
