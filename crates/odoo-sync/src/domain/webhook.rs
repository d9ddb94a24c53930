//! Odoo webhook events as the inbox keeps them: a hint that a record may have changed, never
//! catalog content. Parsing Odoo's payload lives here so every bad input is named in one place.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The models whose webhooks odoo-sync accepts.
pub const WEBHOOK_MODELS: &[&str] = &[
    "product.template",
    "product.product",
    "product.category",
    "stock.quant",
    "product.template.attribute.value",
    "product.pricelist.item",
    "product.attribute.value",
    "product.attribute",
    "product.public.category",
    "product.image",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookKind {
    /// Created or written (Odoo does not tell them apart).
    Save,
    /// Sent by an `on_unlink` rule, before the row is deleted.
    Unlink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookState {
    Pending,
    Done,
    Failed,
}

impl WebhookKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Save => "save",
            Self::Unlink => "unlink",
        }
    }
}

impl WebhookState {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for WebhookState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WebhookKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "save" => Ok(Self::Save),
            "unlink" => Ok(Self::Unlink),
            other => Err(format!(
                "unknown webhook kind '{other}' (expected save or unlink)"
            )),
        }
    }
}

impl FromStr for WebhookState {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "pending" => Ok(Self::Pending),
            "done" => Ok(Self::Done),
            "failed" => Ok(Self::Failed),
            other => Err(format!(
                "unknown webhook state '{other}' (expected pending, done or failed)"
            )),
        }
    }
}

/// A webhook as received, validated, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhookEvent {
    pub model: String,
    pub record_id: i64,
    pub kind: WebhookKind,
    /// The payload's `write_date` (microseconds kept) when the rule sends it.
    pub hinted_write_date: Option<NaiveDateTime>,
    /// `product_id` of a `stock.quant` event, when the rule sends it.
    pub product_id: Option<i64>,
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookEvent {
    pub id: i64,
    pub model: String,
    pub record_id: i64,
    pub kind: WebhookKind,
    pub hinted_write_date: Option<NaiveDateTime>,
    pub payload: String,
    pub state: WebhookState,
    pub attempts: u32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub outcome: Option<String>,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How full a queue is (the webhook inbox, the site outbox), for the metrics: items waiting or
/// given up on, and how long the oldest waiting one has been there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    pub pending: u64,
    pub failed: u64,
    /// When the oldest pending item was queued; `None` when none is pending.
    pub oldest_pending_at: Option<DateTime<Utc>>,
}

impl WebhookEvent {
    pub fn product_id(&self) -> Option<i64> {
        let payload: Value = serde_json::from_str(&self.payload).ok()?;
        many2one_id(payload.get("product_id")?)
    }
}

/// Reads Odoo's payload (`{"_action", "_id", "_model", "id", …fields}`), as Odoo 17, 18 and 19
/// send it. Unknown extra fields are fine; a wrong shape is an error naming what is wrong.
pub fn parse_webhook(body: &[u8], kind: WebhookKind) -> Result<NewWebhookEvent, String> {
    let payload: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let object = payload
        .as_object()
        .ok_or("body must be a JSON object like {\"_model\": …, \"_id\": …}")?;
    let model = match object.get("_model") {
        Some(Value::String(model)) => model.clone(),
        Some(other) => return Err(format!("_model must be a string, got {other}")),
        None => return Err("_model is missing".to_string()),
    };
    if !WEBHOOK_MODELS.contains(&model.as_str()) {
        return Err(format!(
            "_model '{model}' is not synced (expected one of {})",
            WEBHOOK_MODELS.join(", ")
        ));
    }
    let record_id = match object.get("_id").or_else(|| object.get("id")) {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|id| id > 0) => {
            n.as_i64().expect("checked")
        }
        Some(other) => return Err(format!("_id must be a positive integer, got {other}")),
        None => return Err("_id is missing".to_string()),
    };
    let hinted_write_date = match object.get("write_date") {
        None | Some(Value::Bool(false)) | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(parse_payload_datetime(text).ok_or_else(|| {
            format!("write_date '{text}' is not a datetime like 2026-11-24 13:27:27.959605")
        })?),
        Some(other) => return Err(format!("write_date must be a string, got {other}")),
    };
    let product_id = object.get("product_id").and_then(many2one_id);
    Ok(NewWebhookEvent {
        model,
        record_id,
        kind,
        hinted_write_date,
        product_id,
        payload: payload.to_string(),
    })
}

fn many2one_id(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::Array(pair) => pair.first().and_then(Value::as_i64),
        _ => None,
    }
}

fn parse_payload_datetime(text: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odoo_18_payloads_parse_with_their_microseconds() {
        let body = br#"{"_action": "Send Webhook Notification(#497)", "_id": 51, "_model": "product.template", "active": true, "id": 51, "write_date": "2026-11-24 13:27:27.959605"}"#;
        let event = parse_webhook(body, WebhookKind::Save).unwrap();
        assert_eq!(
            (event.model.as_str(), event.record_id),
            ("product.template", 51)
        );
        assert_eq!(
            event
                .hinted_write_date
                .unwrap()
                .and_utc()
                .timestamp_subsec_micros(),
            959_605
        );
    }

    #[test]
    fn quant_payloads_carry_their_product() {
        let body = br#"{"_id": 3, "_model": "stock.quant", "product_id": 12, "write_date": false}"#;
        let event = parse_webhook(body, WebhookKind::Save).unwrap();
        assert_eq!(event.product_id, Some(12));
        assert_eq!(event.hinted_write_date, None);
    }

    #[test]
    fn wrong_shapes_are_named() {
        let cases: [(&[u8], &str); 6] = [
            (b"not json", "not JSON"),
            (b"[1, 2]", "JSON object"),
            (br#"{"_id": 1}"#, "_model is missing"),
            (br#"{"_model": "res.partner", "_id": 1}"#, "res.partner"),
            (
                br#"{"_model": "product.template", "_id": "7"}"#,
                "_id must be a positive integer",
            ),
            (
                br#"{"_model": "product.template", "_id": 7, "write_date": "yesterday"}"#,
                "write_date",
            ),
        ];
        for (body, expected) in cases {
            let error = parse_webhook(body, WebhookKind::Save).unwrap_err();
            assert!(
                error.contains(expected),
                "{error} should mention {expected}"
            );
        }
    }

    /// Webhook bodies as they come, and near misses of Odoo's payload shape.
    fn bodies() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::json!(f)),
            ".{0,40}".prop_map(Value::from),
        ];
        let json = leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[_a-z]{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        let model = prop_oneof![
            Just(Value::from("product.template")),
            Just(Value::from("product.product")),
            Just(Value::from("product.category")),
            json.clone(),
        ];
        let payload =
            (model, json.clone(), json.clone(), json).prop_map(|(model, id, rid, date)| {
                serde_json::json!({"_model": model, "_id": id, "id": rid, "write_date": date})
                    .to_string()
                    .into_bytes()
            });
        prop_oneof![proptest::collection::vec(any::<u8>(), 0..200), payload]
    }

    proptest::proptest! {
        #[test]
        fn no_body_makes_the_webhook_parser_panic(body in bodies(), unlink in proptest::bool::ANY) {
            let kind = if unlink { WebhookKind::Unlink } else { WebhookKind::Save };
            if let Err(message) = parse_webhook(&body, kind) {
                proptest::prop_assert!(!message.is_empty());
            }
        }
    }
}
