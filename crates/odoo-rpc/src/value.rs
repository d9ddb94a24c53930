//! Values exchanged with Odoo: `Record` (one row as Odoo returned it, with typed accessors),
//! `Many2one`, `ServerVersion`, the call `Context`, `SearchOptions`, and Odoo's datetime format.
//! Knows nothing about transports.

use std::ops::Deref;

use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::DecodeError;

/// Odoo's datetime format on the wire (naive, UTC).
const ODOO_DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// With microseconds, as in webhook payloads.
const ODOO_DATETIME_MICROS_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";

/// Parses `"YYYY-MM-DD HH:MM:SS"`, optionally followed by a fraction (`".959605"`).
pub fn parse_odoo_datetime(text: &str) -> Result<NaiveDateTime, chrono::ParseError> {
    NaiveDateTime::parse_from_str(text, ODOO_DATETIME_FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(text, ODOO_DATETIME_MICROS_FORMAT))
}

/// Second precision, as Odoo expects datetimes in domains and values.
pub fn format_odoo_datetime(datetime: NaiveDateTime) -> String {
    datetime.format(ODOO_DATETIME_FORMAT).to_string()
}

/// A many2one value: `[id, "display name"]` on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Many2one {
    pub id: i64,
    pub name: String,
}

/// One row as Odoo returned it (`read`, `search_read`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record(pub Map<String, Value>);

impl Deref for Record {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<Map<String, Value>> for Record {
    fn from(map: Map<String, Value>) -> Self {
        Record(map)
    }
}

impl Record {
    pub fn into_inner(self) -> Map<String, Value> {
        self.0
    }

    pub fn raw(&self, field: &str) -> Option<&Value> {
        self.0.get(field)
    }

    pub fn id(&self) -> Result<i64, DecodeError> {
        self.get_i64("id")
    }

    pub fn get_i64(&self, field: &str) -> Result<i64, DecodeError> {
        self.decode(field, "an integer", Value::as_i64)
    }

    /// Accepts integers too: Odoo sends `70.0`, but a computed field may come as `70`.
    pub fn get_f64(&self, field: &str) -> Result<f64, DecodeError> {
        self.decode(field, "a number", Value::as_f64)
    }

    pub fn get_bool(&self, field: &str) -> Result<bool, DecodeError> {
        self.decode(field, "a boolean", Value::as_bool)
    }

    /// Odoo sends an empty char/text field as `false`: that is `None`.
    pub fn get_str(&self, field: &str) -> Result<Option<String>, DecodeError> {
        self.decode_optional(field, "a string or false", |value| {
            value.as_str().map(str::to_owned)
        })
    }

    /// `[id, "name"]`, or `false` for an empty many2one.
    pub fn get_many2one(&self, field: &str) -> Result<Option<Many2one>, DecodeError> {
        self.decode_optional(field, "[id, \"name\"] or false", many2one_from_value)
    }

    /// The id of a many2one field read either way: `[id, "name"]`, or a bare id as
    /// `SearchOptions::bare_many2one` asks; `None` for `false`.
    pub fn get_many2one_id(&self, field: &str) -> Result<Option<i64>, DecodeError> {
        self.decode_optional(field, "an id, [id, \"name\"] or false", |value| {
            value
                .as_i64()
                .or_else(|| many2one_from_value(value).map(|m| m.id))
        })
    }

    /// An x2many field: a list of ids.
    pub fn get_ids(&self, field: &str) -> Result<Vec<i64>, DecodeError> {
        self.decode(field, "a list of ids", ids_from_value)
    }

    /// `"YYYY-MM-DD HH:MM:SS"` (UTC, optionally with microseconds), or `false` when empty.
    pub fn get_datetime(&self, field: &str) -> Result<Option<NaiveDateTime>, DecodeError> {
        self.decode_optional(
            field,
            "a datetime \"YYYY-MM-DD HH:MM:SS\" or false",
            |value| {
                value
                    .as_str()
                    .and_then(|text| parse_odoo_datetime(text).ok())
            },
        )
    }

    fn decode<T>(
        &self,
        field: &str,
        expected: &str,
        convert: impl FnOnce(&Value) -> Option<T>,
    ) -> Result<T, DecodeError> {
        let value = self.0.get(field);
        value
            .and_then(convert)
            .ok_or_else(|| DecodeError::field(field, self.known_id(), expected, value))
    }

    /// Like `decode`, with Odoo's `false` (and a null) meaning "no value".
    fn decode_optional<T>(
        &self,
        field: &str,
        expected: &str,
        convert: impl FnOnce(&Value) -> Option<T>,
    ) -> Result<Option<T>, DecodeError> {
        match self.0.get(field) {
            Some(Value::Bool(false) | Value::Null) => Ok(None),
            _ => self.decode(field, expected, convert).map(Some),
        }
    }

    fn known_id(&self) -> Option<i64> {
        self.0.get("id").and_then(Value::as_i64)
    }
}

fn many2one_from_value(value: &Value) -> Option<Many2one> {
    match value.as_array()?.as_slice() {
        [id, name] => Some(Many2one {
            id: id.as_i64()?,
            // A related record without a display name comes as `[id, false]`.
            name: match name {
                Value::Bool(false) => String::new(),
                other => other.as_str()?.to_owned(),
            },
        }),
        _ => None,
    }
}

pub(crate) fn ids_from_value(value: &Value) -> Option<Vec<i64>> {
    value.as_array()?.iter().map(Value::as_i64).collect()
}

/// What `common.version` answers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ServerVersion {
    pub server_version: String,
    #[serde(default)]
    pub server_version_info: Vec<Value>,
    #[serde(default)]
    pub protocol_version: Option<i64>,
}

impl ServerVersion {
    /// The major series: 18 for `"18.0"`, 17 for `"saas~17.4"`.
    pub fn major(&self) -> Option<u32> {
        let from_info = self
            .server_version_info
            .first()
            .and_then(Value::as_u64)
            .and_then(|major| u32::try_from(major).ok());
        from_info.or_else(|| {
            let text = self.server_version.trim_start_matches("saas~");
            let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
    }
}

/// The `context` of a call. An empty context is not sent at all, as Odoo's own RPC clients do.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Context {
    pub lang: Option<String>,
    pub active_test: Option<bool>,
    /// Any other key (`tz`, `allowed_company_ids`...).
    pub extra: Map<String, Value>,
}

impl Context {
    pub fn lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    pub fn active_test(mut self, active_test: bool) -> Self {
        self.active_test = Some(active_test);
        self
    }

    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.lang.is_none() && self.active_test.is_none() && self.extra.is_empty()
    }

    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        if let Some(lang) = &self.lang {
            map.insert("lang".to_owned(), Value::from(lang.as_str()));
        }
        if let Some(active_test) = self.active_test {
            map.insert("active_test".to_owned(), Value::from(active_test));
        }
        map.extend(self.extra.clone());
        map
    }

    /// Adds `"context"` to `kwargs` unless the context is empty.
    pub(crate) fn insert_into(&self, kwargs: &mut Map<String, Value>) {
        if !self.is_empty() {
            kwargs.insert("context".to_owned(), Value::Object(self.to_map()));
        }
    }
}

impl serde::Serialize for Context {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

/// Paging, ordering and context of `search` / `search_read`. Absent values are not sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchOptions {
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    /// e.g. `"id"`, `"write_date, id"`.
    pub order: Option<String>,
    pub context: Context,
    /// `search_read` only: many2one fields as bare ids (`load: null`), which spares Odoo
    /// computing each related record's display name. Read them with `Record::get_many2one_id`.
    pub bare_many2one: bool,
}

impl SearchOptions {
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn offset(mut self, offset: u32) -> Self {
        self.offset = Some(offset);
        self
    }

    pub fn order(mut self, order: impl Into<String>) -> Self {
        self.order = Some(order.into());
        self
    }

    pub fn context(mut self, context: Context) -> Self {
        self.context = context;
        self
    }

    pub fn bare_many2one(mut self) -> Self {
        self.bare_many2one = true;
        self
    }

    pub(crate) fn insert_into(&self, kwargs: &mut Map<String, Value>) {
        if let Some(limit) = self.limit {
            kwargs.insert("limit".to_owned(), Value::from(limit));
        }
        if let Some(offset) = self.offset {
            kwargs.insert("offset".to_owned(), Value::from(offset));
        }
        if let Some(order) = &self.order {
            kwargs.insert("order".to_owned(), Value::from(order.as_str()));
        }
        self.context.insert_into(kwargs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use serde_json::json;

    fn record(value: Value) -> Record {
        match value {
            Value::Object(map) => Record(map),
            other => panic!("not an object: {other}"),
        }
    }

    fn product() -> Record {
        record(json!({
            "id": 5, "name": "Office Chair", "barcode": false, "list_price": 70.0,
            "qty": 3, "active": true, "categ_id": [8, "All / Saleable"], "uom_id": false,
            "product_variant_ids": [5, 6], "write_date": "2026-11-24 13:15:37",
            "create_date": false, "bad_price": "abc", "bad_m2o": [8], "bad_ids": [1, "x"]
        }))
    }

    #[test]
    fn scalar_accessors_read_odoo_values() {
        let product = product();
        assert_eq!(product.id(), Ok(5));
        assert_eq!(product.get_f64("list_price"), Ok(70.0));
        assert_eq!(product.get_f64("qty"), Ok(3.0));
        assert_eq!(product.get_i64("qty"), Ok(3));
        assert_eq!(product.get_bool("active"), Ok(true));
        assert_eq!(product.get_str("name"), Ok(Some("Office Chair".to_owned())));
        assert_eq!(product.raw("barcode"), Some(&json!(false)));
        assert_eq!(product.into_inner().len(), 14);
    }

    #[test]
    fn false_is_none_for_optional_values() {
        let product = product();
        assert_eq!(product.get_str("barcode"), Ok(None));
        assert_eq!(product.get_many2one("uom_id"), Ok(None));
        assert_eq!(product.get_datetime("create_date"), Ok(None));
    }

    #[test]
    fn relational_accessors_read_many2one_and_ids() {
        let product = product();
        let category = Many2one {
            id: 8,
            name: "All / Saleable".to_owned(),
        };
        assert_eq!(product.get_many2one("categ_id"), Ok(Some(category)));
        assert_eq!(product.get_ids("product_variant_ids"), Ok(vec![5, 6]));
    }

    #[test]
    fn a_many2one_id_reads_from_either_load() {
        let bare = record(json!({"id": 5, "categ_id": 8, "uom_id": false, "bad": "8"}));
        assert_eq!(bare.get_many2one_id("categ_id"), Ok(Some(8)));
        assert_eq!(bare.get_many2one_id("uom_id"), Ok(None));
        assert_eq!(product().get_many2one_id("categ_id"), Ok(Some(8)));
        let error = bare.get_many2one_id("bad").unwrap_err();
        assert!(
            error.to_string().contains("field 'bad' of record 5"),
            "{error}"
        );
    }

    #[test]
    fn wrong_types_name_the_field_the_record_and_the_value() {
        let product = product();
        let error = product.get_f64("bad_price").unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"field 'bad_price' of record 5: expected a number, got "abc""#
        );
        let error = product.get_many2one("bad_m2o").unwrap_err();
        assert!(error.to_string().contains("field 'bad_m2o' of record 5"));
        assert!(product.get_ids("bad_ids").is_err());
        assert!(product.get_bool("name").is_err());
        assert!(product.get_i64("list_price").is_err());
        let missing = product.get_str("no_such_field").unwrap_err();
        assert!(missing.to_string().contains("field missing"), "{missing}");
    }

    #[test]
    fn datetimes_parse_with_and_without_microseconds() {
        let seconds = NaiveDate::from_ymd_opt(2026, 11, 24)
            .and_then(|date| date.and_hms_opt(13, 27, 27))
            .expect("valid date");
        assert_eq!(parse_odoo_datetime("2026-11-24 13:27:27"), Ok(seconds));
        let micros = parse_odoo_datetime("2026-11-24 13:27:27.959605").expect("micros parse");
        assert_eq!(
            micros,
            seconds + chrono::Duration::microseconds(959_605),
            "microseconds are kept"
        );
        assert_eq!(format_odoo_datetime(micros), "2026-11-24 13:27:27");
        assert!(parse_odoo_datetime("2026-11-24T13:27:27Z").is_err());
        assert!(parse_odoo_datetime("not-a-date").is_err());
        assert_eq!(
            product().get_datetime("write_date"),
            Ok(Some(
                parse_odoo_datetime("2026-11-24 13:15:37").expect("valid")
            ))
        );
    }

    #[test]
    fn context_omits_absent_keys() {
        assert!(Context::default().is_empty());
        let context = Context::default().lang("fr_FR").active_test(false);
        assert_eq!(
            Value::Object(context.to_map()),
            json!({"lang": "fr_FR", "active_test": false})
        );
        let text = serde_json::to_string(&context).expect("serializes");
        assert_eq!(text, r#"{"lang":"fr_FR","active_test":false}"#);
        let mut kwargs = Map::new();
        Context::default().insert_into(&mut kwargs);
        assert!(kwargs.is_empty(), "an empty context is not sent");
    }

    #[test]
    fn search_options_send_only_what_is_set() {
        let mut kwargs = Map::new();
        SearchOptions::default()
            .limit(8)
            .order("id")
            .insert_into(&mut kwargs);
        assert_eq!(Value::Object(kwargs), json!({"limit": 8, "order": "id"}));
    }

    #[test]
    fn server_version_major() {
        let version: ServerVersion = serde_json::from_value(json!({
            "server_version": "18.0", "server_version_info": [18, 0, 0, "final", 0, ""],
            "server_serie": "18.0", "protocol_version": 1
        }))
        .expect("version decodes");
        assert_eq!(version.major(), Some(18));
        assert_eq!(version.protocol_version, Some(1));
        let saas = ServerVersion {
            server_version: "saas~17.4".to_owned(),
            server_version_info: vec![],
            protocol_version: None,
        };
        assert_eq!(saas.major(), Some(17));
    }
}
