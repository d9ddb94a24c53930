//! Properties over Odoo's answers, whatever they are (wrong types, missing keys, `false` for a
//! list, huge strings, HTML instead of JSON, truncated bodies): no status, body or content type
//! makes a decoder or an accessor panic; each is an `OdooError` or a `DecodeError` with a message.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::error::Credential;
use crate::http::HttpAnswer;
use crate::value::Record;
use crate::{json2, jsonrpc};

const URL: &str = "http://odoo.test:8069";

fn statuses() -> impl Strategy<Value = u16> {
    prop_oneof![
        prop::sample::select(vec![
            200u16, 201, 204, 303, 400, 401, 403, 404, 422, 429, 500, 502, 503
        ]),
        any::<u16>(),
    ]
}

fn json_values() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,30}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{0,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Raw bytes, HTML, JSON-RPC envelopes with any result or error, and their truncations.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let envelope = || {
        (json_values(), json_values(), any::<bool>()).prop_map(|(result, data, error)| {
        let body = match error {
            true => json!({"jsonrpc": "2.0", "id": 1, "error": {"code": 200, "message": "Odoo Server Error", "data": data}}),
            false => json!({"jsonrpc": "2.0", "id": 1, "result": result}),
        };
        body.to_string().into_bytes()
    })
    };
    let truncated = (envelope(), any::<prop::sample::Index>())
        .prop_map(|(body, cut)| body[..cut.index(body.len() + 1)].to_vec());
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..120),
        "\\PC{0,80}".prop_map(|t| format!("<html><body>{t}</body></html>").into_bytes()),
        json_values().prop_map(|v| v.to_string().into_bytes()),
        envelope(),
        truncated,
    ]
}

fn answers() -> impl Strategy<Value = HttpAnswer> {
    let content_type = prop::option::of(prop::sample::select(vec![
        "application/json".to_owned(),
        "text/html; charset=utf-8".to_owned(),
        "text/plain".to_owned(),
    ]));
    let location = prop::option::of("/[a-z/?=%]{0,30}");
    (statuses(), bodies(), content_type, location).prop_map(
        |(status, body, content_type, location)| HttpAnswer {
            status,
            body,
            location,
            content_type,
        },
    )
}

proptest! {
    #[test]
    fn no_answer_makes_the_jsonrpc_decoder_panic(answer in answers()) {
        let _ = jsonrpc::wire::without_jsonrpc(&answer);
        if let Err(error) = jsonrpc::wire::decode_response(answer.status, &answer.body, URL) {
            let message = error.to_string();
            prop_assert!(!message.is_empty());
        }
    }

    #[test]
    fn no_answer_makes_the_json2_decoder_panic(answer in answers()) {
        let context = json2::wire::ErrorContext {
            url: URL,
            login: "admin",
            db: "shop",
            credential: Credential::ApiKey,
        };
        let _ = json2::wire::without_json2(&answer);
        if let Err(error) = json2::wire::decode_response(answer.status, &answer.body, &context) {
            prop_assert!(!error.to_string().is_empty());
        }
    }

    /// `false` where a list is expected, strings for numbers, huge strings: a `DecodeError`.
    #[test]
    fn no_field_value_makes_a_record_accessor_panic(value in json_values()) {
        let record = Record(json!({"id": 5, "f": value}).as_object().unwrap().clone());
        let _ = record.get_str("f");
        let _ = record.get_f64("f");
        let _ = record.get_i64("f");
        let _ = record.get_bool("f");
        let _ = record.get_ids("f");
        let _ = record.get_many2one("f");
        let _ = record.get_many2one_id("f");
        let _ = record.get_datetime("f");
    }
}
