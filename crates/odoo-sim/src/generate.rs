//! The generated catalog: a deterministic (seeded `StdRng`) product set of any size, with a
//! category tree, variants through attributes, EAN-13 barcodes, fr_FR translations, archived
//! records and microsecond write dates spread over the 30 days before a fixed anchor.

use crate::models::base::WH_STOCK;
use crate::models::defs::{
    model_def, ATTRIBUTE, ATTR_VALUE, CATEGORY, LANG, PRODUCT, PTAL, PTAV, PUBLIC_CATEGORY, QUANT,
    RIBBON, TEMPLATE, UOM,
};
use crate::models::{Db, Rec};
use crate::value::Val;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ADJECTIVES: &[(&str, &str)] = &[
    ("Large", "grand"),
    ("Small", "petit"),
    ("Red", "rouge"),
    ("Blue", "bleu"),
    ("Green", "vert"),
    ("Black", "noir"),
    ("White", "blanc"),
    ("Wooden", "en bois"),
    ("Steel", "en acier"),
    ("Compact", "compact"),
    ("Ergonomic", "ergonomique"),
    ("Foldable", "pliable"),
    ("Modern", "moderne"),
    ("Classic", "classique"),
    ("Heavy", "lourd"),
    ("Light", "léger"),
    ("Deluxe", "de luxe"),
    ("Outdoor", "d'extérieur"),
    ("Smart", "intelligent"),
    ("Quiet", "silencieux"),
];

const NOUNS: &[(&str, &str)] = &[
    ("Desk", "Bureau"),
    ("Chair", "Chaise"),
    ("Lamp", "Lampe"),
    ("Cabinet", "Armoire"),
    ("Shelf", "Étagère"),
    ("Table", "Table"),
    ("Stool", "Tabouret"),
    ("Sofa", "Canapé"),
    ("Screen", "Écran"),
    ("Drawer", "Tiroir"),
    ("Bin", "Poubelle"),
    ("Box", "Boîte"),
    ("Mirror", "Miroir"),
    ("Clock", "Horloge"),
    ("Rug", "Tapis"),
    ("Kettle", "Bouilloire"),
    ("Speaker", "Enceinte"),
    ("Keyboard", "Clavier"),
    ("Backpack", "Sac à dos"),
    ("Bench", "Banc"),
];

const CATEGORIES: &[(&str, usize)] = &[
    ("All", 0),
    ("Saleable", 1),
    ("Expenses", 1),
    ("Office Furniture", 2),
    ("Lighting", 2),
    ("Storage", 2),
    ("Software", 2),
    ("Services", 2),
    ("Electronics", 2),
    ("Kitchen", 2),
    ("Garden", 2),
    ("Tools", 2),
    ("Outdoor furniture", 4),
    ("Desks", 4),
    ("Chairs", 4),
    ("Audio", 9),
    ("Computers", 9),
    ("Hand Tools", 12),
    ("Power Tools", 12),
    ("Deliveries", 1),
];

/// The website category tree, three levels deep: (English, French, parent index + 1 or 0).
/// Products are put in ids 1..=8 (see `template`).
const PUBLIC_CATEGORIES: &[(&str, &str, i64)] = &[
    ("Furniture", "Mobilier", 0),
    ("Office", "Bureau", 0),
    ("Desks", "Bureaux", 1),
    ("Seating", "Sièges", 1),
    ("Standing desks", "Bureaux debout", 3),
    ("Lighting", "Éclairage", 2),
    ("Desk lamps", "Lampes de bureau", 6),
    ("Storage", "Rangement", 2),
];

/// (English, French) of the product ribbons.
const RIBBONS: &[(&str, &str)] = &[("Sale", "Promo"), ("New!", "Nouveau !")];

/// `html_color` of the Color attribute's values, in their order.
const HTML_COLORS: &[&str] = &["#FF0000", "#0000FF", "#000000", "#FFFFFF"];

/// (English, French) pairs.
type Words = &'static [(&'static str, &'static str)];

const ATTRIBUTES: &[(&str, &str, Words)] = &[
    (
        "Color",
        "Couleur",
        &[
            ("Red", "Rouge"),
            ("Blue", "Bleu"),
            ("Black", "Noir"),
            ("White", "Blanc"),
        ],
    ),
    (
        "Size",
        "Taille",
        &[("S", "S"), ("M", "M"), ("L", "L"), ("XL", "XL")],
    ),
];

/// When the generated history ends; every date lies in the 30 days before.
pub fn anchor() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

fn tr(en: &str, fr: &str) -> Val {
    let mut v = Val::tr(en);
    if let Val::Tr(map) = &mut v {
        map.insert("fr_FR".into(), fr.into());
    }
    v
}

fn put(db: &mut Db, model: &str, id: i64, fields: Vec<(&str, Val)>) {
    let Some(def) = model_def(model) else {
        return;
    };
    let mut rec = Rec::empty(def);
    for (name, v) in fields {
        rec.set(def, name, v);
    }
    if let Some(t) = db.table_mut(model) {
        t.insert(id, rec);
    }
}

/// Builds the catalog for `products` templates from `seed`.
pub fn generate(products: usize, seed: u64) -> Db {
    let mut db = Db::new();
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed),
        db: &mut db,
        next_product: 1,
        next_ptal: 1,
        next_ptav: 1,
        barcode: 0,
    };
    g.base_data();
    for i in 1..=products as i64 {
        g.template(i);
    }
    quants(&mut db, seed);
    website(&mut db, seed, products as i64);
    crate::images::generate_images(
        &mut db,
        seed,
        products as i64,
        anchor() - Duration::days(31),
    );
    db
}

/// Website fields (website, ribbon, SEO texts) of the templates, from their own random stream
/// (so the catalog itself is the same as without them).
fn website(db: &mut Db, seed: u64, templates: i64) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x3eb5_17e5);
    let Some(def) = model_def(TEMPLATE) else {
        return;
    };
    let Some(table) = db.table_mut(TEMPLATE) else {
        return;
    };
    for id in 1..=templates {
        let Some(rec) = table.recs.get_mut(&id) else {
            continue;
        };
        let name = rec.get(def, "name").text("en_US").unwrap_or_default();
        if rng.gen_bool(0.2) {
            let site = rng.gen_range(1..=2);
            rec.set(def, "website_id", Val::Ref(site, format!("Website {site}")));
        }
        if rng.gen_bool(0.15) {
            rec.set(
                def,
                "website_ribbon_id",
                Val::M2o(rng.gen_range(1..=RIBBONS.len() as i64)),
            );
        }
        if rng.gen_bool(0.3) {
            rec.set(def, "website_meta_title", Val::tr(format!("Buy {name}")));
            rec.set(
                def,
                "website_meta_description",
                Val::tr(format!("{name}, delivered in 48 hours.")),
            );
        }
    }
}

/// Stock in `WH/Stock` for ~60 % of the storable variants, from its own random stream (so the
/// catalog itself is the same as without stock).
fn quants(db: &mut Db, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5707_c0de);
    let (Some(pdef), Some(tdef)) = (model_def(PRODUCT), model_def(TEMPLATE)) else {
        return;
    };
    let storable: Vec<i64> = db
        .table(PRODUCT)
        .map(|t| {
            t.recs
                .iter()
                .filter(|(_, r)| {
                    let tmpl = r.get(pdef, "product_tmpl_id").m2o_id().unwrap_or(0);
                    db.rec(TEMPLATE, tmpl)
                        .is_some_and(|tr| tr.get(tdef, "is_storable") == &Val::Bool(true))
                })
                .map(|(id, _)| *id)
                .collect()
        })
        .unwrap_or_default();
    let mut next = 1;
    for product in storable {
        if !rng.gen_bool(0.6) {
            continue;
        }
        let quantity = rng.gen_range(1..500) as f64;
        let reserved = match rng.gen_bool(0.2) {
            true => rng.gen_range(0..=quantity as i64) as f64,
            false => 0.0,
        };
        let written = anchor() - Duration::microseconds(rng.gen_range(0..30 * 86_400_000_000i64));
        let fields = vec![
            ("product_id", Val::M2o(product)),
            ("location_id", Val::M2o(WH_STOCK)),
            ("quantity", Val::Float(quantity)),
            ("reserved_quantity", Val::Float(reserved)),
            ("inventory_quantity", Val::Float(0.0)),
            ("write_date", Val::Dt(written)),
            ("create_date", Val::Dt(written)),
        ];
        put(db, QUANT, next, fields);
        next += 1;
    }
    db.reindex_quants();
}

struct Gen<'a> {
    rng: StdRng,
    db: &'a mut Db,
    next_product: i64,
    next_ptal: i64,
    next_ptav: i64,
    barcode: u64,
}

impl Gen<'_> {
    fn stamp(&mut self) -> NaiveDateTime {
        let micros = self.rng.gen_range(0..30 * 86_400_000_000i64);
        anchor() - Duration::microseconds(micros)
    }

    fn base_data(&mut self) {
        let t0 = anchor() - Duration::days(31);
        put(
            self.db,
            LANG,
            1,
            vec![
                ("name", Val::Str("English (US)".into())),
                ("code", Val::Str("en_US".into())),
                ("active", Val::Bool(true)),
            ],
        );
        put(
            self.db,
            LANG,
            2,
            vec![
                ("name", Val::Str("French / Français".into())),
                ("code", Val::Str("fr_FR".into())),
                ("active", Val::Bool(true)),
            ],
        );
        for (id, (en, fr)) in [("Units", "Unité(s)"), ("Dozens", "Douzaines"), ("kg", "kg")]
            .iter()
            .enumerate()
        {
            put(
                self.db,
                UOM,
                id as i64 + 1,
                vec![("name", tr(en, fr)), ("active", Val::Bool(true))],
            );
        }
        for (i, (name, parent)) in CATEGORIES.iter().enumerate() {
            let parent = if *parent == 0 {
                Val::False
            } else {
                Val::M2o(*parent as i64)
            };
            let dates = [("write_date", Val::Dt(t0)), ("create_date", Val::Dt(t0))];
            let mut fields = vec![("name", Val::Str((*name).into())), ("parent_id", parent)];
            fields.extend(dates);
            put(self.db, CATEGORY, i as i64 + 1, fields);
        }
        for (i, (en, fr, parent)) in PUBLIC_CATEGORIES.iter().enumerate() {
            let parent = match parent {
                0 => Val::False,
                p => Val::M2o(*p),
            };
            let fields = vec![
                ("name", tr(en, fr)),
                ("parent_id", parent),
                ("sequence", Val::Int(i as i64)),
                ("write_date", Val::Dt(t0)),
            ];
            put(self.db, PUBLIC_CATEGORY, i as i64 + 1, fields);
        }
        for (i, (en, fr)) in RIBBONS.iter().enumerate() {
            let fields = vec![("name", tr(en, fr)), ("write_date", Val::Dt(t0))];
            put(self.db, RIBBON, i as i64 + 1, fields);
        }
        let mut value_id = 1;
        for (a, (en, fr, values)) in ATTRIBUTES.iter().enumerate() {
            let attr = a as i64 + 1;
            let display = if a == 0 { "color" } else { "pills" };
            let fields = vec![
                ("name", tr(en, fr)),
                ("display_type", Val::Str(display.into())),
                ("create_variant", Val::Str("always".into())),
                ("sequence", Val::Int(attr * 10)),
                ("write_date", Val::Dt(t0)),
            ];
            put(self.db, ATTRIBUTE, attr, fields);
            for (s, (ven, vfr)) in values.iter().enumerate() {
                let color = match display {
                    "color" => Val::Str(HTML_COLORS[s % HTML_COLORS.len()].into()),
                    _ => Val::False,
                };
                let fields = vec![
                    ("html_color", color),
                    ("name", tr(ven, vfr)),
                    ("attribute_id", Val::M2o(attr)),
                    ("sequence", Val::Int(s as i64)),
                    ("write_date", Val::Dt(t0)),
                ];
                put(self.db, ATTR_VALUE, value_id, fields);
                value_id += 1;
            }
        }
    }

    fn next_barcode(&mut self) -> Val {
        self.barcode += 1;
        Val::Str(ean13(200_000_000_000 + self.barcode))
    }

    fn maybe_barcode(&mut self) -> Val {
        match self.rng.gen_bool(0.55) {
            true => self.next_barcode(),
            false => Val::False,
        }
    }

    fn template(&mut self, id: i64) {
        let (adj_en, adj_fr) = ADJECTIVES[self.rng.gen_range(0..ADJECTIVES.len())];
        let (noun_en, noun_fr) = NOUNS[self.rng.gen_range(0..NOUNS.len())];
        let name = tr(
            &format!("{adj_en} {noun_en} {id}"),
            &format!("{noun_fr} {adj_fr} {id}"),
        );
        let description = match self.rng.gen_bool(0.35) {
            true => tr(
                &format!(
                    "A {} {} for every day.",
                    adj_en.to_lowercase(),
                    noun_en.to_lowercase()
                ),
                &format!("{noun_fr} {adj_fr} pour tous les jours."),
            ),
            false => Val::False,
        };
        let active = !self.rng.gen_bool(0.05);
        let variants = match self.rng.gen_bool(0.10) {
            true => self.variant_plan(),
            false => Vec::new(),
        };
        let code = format!("GEN-{id:06}");
        let created = self.stamp();
        let written = created
            + Duration::microseconds(
                self.rng
                    .gen_range(0..=(anchor() - created).num_microseconds().unwrap_or(0)),
            );
        let price = (self.rng.gen_range(100..200_000) as f64) / 100.0;
        let service = self.rng.gen_bool(0.15);
        let categ = self.rng.gen_range(4..=CATEGORIES.len() as i64);
        let publics: Vec<i64> = (0..self.rng.gen_range(0..3))
            .map(|_| self.rng.gen_range(1..=8))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let single = variants.is_empty();
        let tmpl_barcode = if single {
            self.maybe_barcode()
        } else {
            Val::False
        };
        let fields = vec![
            ("name", name),
            (
                "default_code",
                if single {
                    Val::Str(code.clone())
                } else {
                    Val::False
                },
            ),
            ("barcode", tmpl_barcode.clone()),
            ("list_price", Val::Float(price)),
            ("standard_price", Val::Float((price * 60.0).round() / 100.0)),
            ("categ_id", Val::M2o(categ)),
            ("description_sale", description),
            ("active", Val::Bool(active)),
            ("sale_ok", Val::Bool(self.rng.gen_bool(0.95))),
            ("purchase_ok", Val::Bool(true)),
            (
                "type",
                Val::Str(if service { "service" } else { "consu" }.into()),
            ),
            ("is_storable", Val::Bool(!service && self.rng.gen_bool(0.6))),
            ("uom_id", Val::M2o(1)),
            ("is_published", Val::Bool(self.rng.gen_bool(0.7))),
            ("public_categ_ids", Val::Ids(publics)),
            ("website_sequence", Val::Int(10000 + id * 5)),
            ("attribute_line_ids", Val::Ids(Vec::new())),
            ("write_date", Val::Dt(written)),
            ("create_date", Val::Dt(created)),
            ("currency_id", Val::Ref(1, "USD".into())),
            ("is_favorite", Val::Bool(false)),
        ];
        put(self.db, TEMPLATE, id, fields);
        let dates = (created, written);
        match single {
            true => self.variant(id, Some(code), tmpl_barcode, Vec::new(), active, dates),
            false => self.variants(id, &code, &variants, active, dates),
        }
    }

    /// One or two attributes and the values used from each (2-4 variants in all).
    fn variant_plan(&mut self) -> Vec<(i64, Vec<i64>)> {
        match self.rng.gen_bool(0.5) {
            true => {
                let attr = self.rng.gen_range(1..=2);
                let n = self.rng.gen_range(2..=4);
                vec![(attr, (0..n).map(|k| (attr - 1) * 4 + 1 + k).collect())]
            }
            false => vec![(1, vec![1, 3]), (2, vec![5, 6])],
        }
    }

    fn variants(
        &mut self,
        tmpl: i64,
        code: &str,
        plan: &[(i64, Vec<i64>)],
        active: bool,
        dates: (NaiveDateTime, NaiveDateTime),
    ) {
        let mut lines = Vec::new();
        let mut per_line: Vec<Vec<i64>> = Vec::new();
        for (attr, values) in plan {
            let line = self.next_ptal;
            self.next_ptal += 1;
            let mut ptavs = Vec::new();
            for v in values {
                let ptav = self.next_ptav;
                self.next_ptav += 1;
                let extra = if self.rng.gen_bool(0.5) {
                    0.0
                } else {
                    self.rng.gen_range(5..50) as f64
                };
                let value = |field: &str| {
                    self.db
                        .rec(ATTR_VALUE, *v)
                        .and_then(|r| model_def(ATTR_VALUE).map(|d| r.get(d, field).clone()))
                        .unwrap_or(Val::False)
                };
                let (name, color) = (value("name"), value("html_color"));
                let fields = vec![
                    ("name", name),
                    ("product_tmpl_id", Val::M2o(tmpl)),
                    ("product_attribute_value_id", Val::M2o(*v)),
                    ("attribute_id", Val::M2o(*attr)),
                    ("attribute_line_id", Val::M2o(line)),
                    ("price_extra", Val::Float(extra)),
                    ("html_color", color),
                    ("ptav_active", Val::Bool(true)),
                    ("write_date", Val::Dt(dates.0)),
                ];
                put(self.db, PTAV, ptav, fields);
                ptavs.push(ptav);
            }
            let fields = vec![
                ("product_tmpl_id", Val::M2o(tmpl)),
                ("attribute_id", Val::M2o(*attr)),
                ("sequence", Val::Int(10)),
                ("value_ids", Val::Ids(values.clone())),
                ("product_template_value_ids", Val::Ids(ptavs.clone())),
                ("active", Val::Bool(true)),
                ("write_date", Val::Dt(dates.0)),
            ];
            put(self.db, PTAL, line, fields);
            lines.push(line);
            per_line.push(ptavs);
        }
        if let Some(t) = self
            .db
            .table_mut(TEMPLATE)
            .and_then(|t| t.recs.get_mut(&tmpl))
        {
            if let Some(def) = model_def(TEMPLATE) {
                t.set(def, "attribute_line_ids", Val::Ids(lines));
            }
        }
        for (k, combo) in cartesian(&per_line).into_iter().enumerate() {
            let barcode = self.maybe_barcode();
            self.variant(
                tmpl,
                Some(format!("{code}-{}", k + 1)),
                barcode,
                combo,
                active,
                dates,
            );
        }
    }

    fn variant(
        &mut self,
        tmpl: i64,
        code: Option<String>,
        barcode: Val,
        ptavs: Vec<i64>,
        active: bool,
        dates: (NaiveDateTime, NaiveDateTime),
    ) {
        let id = self.next_product;
        self.next_product += 1;
        let fields = vec![
            ("product_tmpl_id", Val::M2o(tmpl)),
            ("default_code", code.map_or(Val::False, Val::Str)),
            ("barcode", barcode),
            ("active", Val::Bool(active)),
            ("product_template_attribute_value_ids", Val::Ids(ptavs)),
            ("write_date", Val::Dt(dates.1)),
            ("create_date", Val::Dt(dates.0)),
        ];
        put(self.db, PRODUCT, id, fields);
        self.db.index_variant(tmpl, id);
    }
}

fn cartesian(lists: &[Vec<i64>]) -> Vec<Vec<i64>> {
    lists.iter().fold(vec![Vec::new()], |acc, list| {
        acc.iter()
            .flat_map(|prefix| {
                list.iter()
                    .map(move |v| [prefix.clone(), vec![*v]].concat())
            })
            .collect()
    })
}

/// A valid EAN-13 from a 12-digit number.
pub fn ean13(body: u64) -> String {
    let digits = format!("{:012}", body % 1_000_000_000_000);
    let sum: u32 = digits
        .chars()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d } else { d * 3 })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ean13_check_digits_are_right() {
        assert_eq!(ean13(400638133393), "4006381333931");
        assert_eq!(ean13(230000100000), "2300001000008");
    }

    #[test]
    fn cartesian_product_of_two_lines() {
        assert_eq!(
            cartesian(&[vec![1, 2], vec![3, 4]]),
            vec![vec![1, 3], vec![1, 4], vec![2, 3], vec![2, 4]]
        );
    }
}
