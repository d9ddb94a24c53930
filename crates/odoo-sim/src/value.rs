//! Field values as the simulator stores them (`Val`), datetimes at microsecond precision, and the
//! per-call context (`Ctx`). Knows nothing about models or the wire.

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use std::collections::BTreeMap;

/// The language every translatable field always has.
pub const BASE_LANG: &str = "en_US";

/// A stored value. `False` is Odoo's NULL/empty.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    False,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A translatable text: lang code -> value; `en_US` is the fallback.
    Tr(Box<BTreeMap<String, String>>),
    Dt(NaiveDateTime),
    /// Many2one to a simulated model (display name computed on read).
    M2o(i64),
    /// Many2one to a model the simulator does not hold: id and recorded display name.
    Ref(i64, String),
    Ids(Vec<i64>),
}

impl Val {
    pub fn is_null(&self) -> bool {
        matches!(self, Val::False)
    }

    /// A translatable value with only its base language.
    pub fn tr(en: impl Into<String>) -> Val {
        let mut map = BTreeMap::new();
        map.insert(BASE_LANG.to_string(), en.into());
        Val::Tr(Box::new(map))
    }

    /// Resolves a translation for `lang` (falling back to en_US); other values are returned as is.
    pub fn in_lang(&self, lang: &str) -> Val {
        match self {
            Val::Tr(map) => match map.get(lang).or_else(|| map.get(BASE_LANG)) {
                Some(s) => Val::Str(s.clone()),
                None => Val::False,
            },
            other => other.clone(),
        }
    }

    /// The text of a char/translated value in `lang`, if any.
    pub fn text(&self, lang: &str) -> Option<String> {
        match self.in_lang(lang) {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The id of a many2one value.
    pub fn m2o_id(&self) -> Option<i64> {
        match self {
            Val::M2o(id) | Val::Ref(id, _) => Some(*id),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn ids(&self) -> &[i64] {
        match self {
            Val::Ids(ids) => ids,
            _ => &[],
        }
    }
}

/// Per-call context: the two keys the simulator honours.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub lang: String,
    pub active_test: bool,
    /// The Odoo series whose domain rules apply: 19 compares datetimes by whole seconds, accepts
    /// `==` and words domain errors differently.
    pub series: u8,
}

impl Default for Ctx {
    fn default() -> Self {
        Ctx {
            lang: BASE_LANG.to_string(),
            active_test: true,
            series: 18,
        }
    }
}

impl Ctx {
    pub fn with_active_test(&self, active_test: bool) -> Ctx {
        Ctx {
            active_test,
            ..self.clone()
        }
    }
}

/// Parses `YYYY-MM-DD HH:MM:SS[.ffffff]`, `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DD`.
pub fn parse_dt(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// The wire form: second precision, no zone.
pub fn fmt_dt(dt: &NaiveDateTime) -> String {
    dt.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The full stored form with microseconds.
pub fn fmt_dt_micros(dt: &NaiveDateTime) -> String {
    dt.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// Now in UTC, truncated to microseconds like a PostgreSQL `timestamp(6)`.
pub fn now_micros() -> NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    let micros = now.nanosecond() / 1000 * 1000;
    now.with_nanosecond(micros).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_parse_in_all_three_forms_and_print_at_second_precision() {
        let dt = parse_dt("2026-11-24 13:20:23.199928").unwrap();
        assert_eq!(fmt_dt(&dt), "2026-11-24 13:20:23");
        assert_eq!(fmt_dt_micros(&dt), "2026-11-24 13:20:23.199928");
        assert!(parse_dt("2026-11-24").is_some());
        assert!(parse_dt("2026-11-24T01:02:03").is_some());
        assert!(parse_dt("not-a-date").is_none());
    }

    #[test]
    fn translations_fall_back_to_english() {
        let mut v = Val::tr("Desk");
        if let Val::Tr(map) = &mut v {
            map.insert("fr_FR".into(), "Bureau".into());
        }
        assert_eq!(v.text("fr_FR").unwrap(), "Bureau");
        assert_eq!(v.text("de_DE").unwrap(), "Desk");
    }
}
