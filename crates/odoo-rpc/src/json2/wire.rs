//! The JSON-2 wire format of `POST /json/2/<model>/<method>`: turning an `execute_kw`-style call
//! (positional `args`, `kwargs`) into JSON-2's one object of named arguments, and decoding an HTTP
//! answer (status + body, no envelope) into a value or the same `OdooError`s as JSON-RPC.

use serde_json::{Map, Value};

use crate::error::{Credential, FaultKind, OdooError, OdooFault};
use crate::http::{snippet, HttpAnswer};
use crate::value::ServerVersion;

/// The names JSON-2 knows the positional arguments of `method` by, in order (Odoo 19
/// signatures). `ids` is the recordset. Any other method takes at most one positional argument,
/// its `ids`, as `execute_kw` does for record methods; everything else must come as `kwargs`.
fn positional_names(method: &str) -> &'static [&'static str] {
    match method {
        "search" => &["domain", "offset", "limit", "order"],
        "search_read" => &["domain", "fields", "offset", "limit", "order"],
        "search_count" => &["domain", "limit"],
        "read" => &["ids", "fields", "load"],
        "fields_get" => &["allfields", "attributes"],
        "create" => &["vals_list"],
        "write" => &["ids", "vals"],
        "unlink" => &["ids"],
        "name_search" => &["name", "domain", "operator", "limit"],
        _ => &["ids"],
    }
}

/// The JSON-2 body of `model.method(*args, **kwargs)`: the positional arguments under their
/// names, then `kwargs` (`context` included) as they are. Always an object: Odoo silently drops a
/// JSON array body and runs the method without arguments.
pub(crate) fn request_body(
    model: &str,
    method: &str,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
) -> Result<Map<String, Value>, OdooError> {
    let invalid = |reason: String| OdooError::InvalidCall {
        call: format!("{model}.{method} over JSON-2"),
        reason,
    };
    let names = positional_names(method);
    if args.len() > names.len() {
        return Err(invalid(format!(
            "{} positional arguments, but JSON-2 only has names for {} ({}); pass the others \
             as keyword arguments",
            args.len(),
            names.len(),
            names.join(", ")
        )));
    }
    let mut body: Map<String, Value> = names
        .iter()
        .map(|name| (*name).to_owned())
        .zip(args)
        .collect();
    for (key, value) in kwargs {
        if body.contains_key(&key) {
            return Err(invalid(format!(
                "'{key}' given both as a positional and as a keyword argument"
            )));
        }
        body.insert(key, value);
    }
    Ok(body)
}

/// What an error message may say about the call besides Odoo's answer.
pub(crate) struct ErrorContext<'a> {
    /// The server URL as shown in messages (no credentials).
    pub url: &'a str,
    pub login: &'a str,
    pub db: &'a str,
    pub credential: Credential,
}

/// Statuses that mean "busy or briefly away", whatever the body says: always retryable.
const TRANSIENT_STATUSES: [u16; 4] = [429, 502, 503, 504];

/// Odoo's page for a request naming no database it knows (`X-Odoo-Database` missing or unknown).
const NO_DATABASE_PAGE: &str = "No database is selected";

/// A 2xx answer's body as the method's return value (`null` for a method returning None); an
/// error status as `OdooError`:
/// - 401: `ApiKeyRefused`;
/// - a JSON body with a `name` (Odoo's own error): `Fault`, classified by `name` as JSON-RPC
///   faults are (except the routing `NotFound`s, see `fault_kind`), with the HTTP status as `code`;
/// - Odoo's HTML "No database is selected" 404: a `Database` fault, as JSON-RPC reports an
///   unknown database;
/// - anything else (HTML pages, proxies, 429/502/503/504 whatever the body): `Http`, retryable
///   for 429 and 5xx.
pub(crate) fn decode_response(
    status: u16,
    body: &[u8],
    context: &ErrorContext<'_>,
) -> Result<Value, OdooError> {
    if (200..300).contains(&status) {
        return decode_success(status, body, context.url);
    }
    let http = || OdooError::Http {
        status,
        url: context.url.to_owned(),
        snippet: snippet(body),
    };
    if TRANSIENT_STATUSES.contains(&status) {
        return Err(http());
    }
    let odoo_error = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| match value {
            Value::Object(object) if object.get("name").is_some_and(Value::is_string) => {
                Some(object)
            }
            _ => None,
        });
    if status == 401 {
        let message = odoo_error
            .as_ref()
            .and_then(|error| error.get("message"))
            .and_then(Value::as_str)
            .map_or_else(|| snippet(body), str::to_owned);
        return Err(OdooError::ApiKeyRefused {
            url: context.url.to_owned(),
            login: context.login.to_owned(),
            db: context.db.to_owned(),
            credential: context.credential,
            message,
        });
    }
    if let Some(error) = odoo_error {
        return Err(OdooError::Fault(decode_fault(&error, status)));
    }
    if status == 404 && String::from_utf8_lossy(body).contains(NO_DATABASE_PAGE) {
        let message = format!(
            "no database '{}' on this server (Odoo answered 404 \"No database is selected\" to \
             X-Odoo-Database: {})",
            context.db, context.db
        );
        return Err(OdooError::Fault(OdooFault {
            kind: FaultKind::Database,
            name: NO_DATABASE_NAME.to_owned(),
            message,
            code: 404,
            debug: None,
        }));
    }
    Err(http())
}

/// What `answer` is instead of a JSON-2 answer, if it is not one: a redirect, an HTML page other
/// than Odoo's "No database is selected" (an unknown database, not a missing API), or a 404/405
/// that is not Odoo's JSON error.
pub(crate) fn without_json2(answer: &HttpAnswer) -> Option<String> {
    let no_database =
        answer.status == 404 && String::from_utf8_lossy(&answer.body).contains(NO_DATABASE_PAGE);
    if no_database || TRANSIENT_STATUSES.contains(&answer.status) {
        return None;
    }
    if let Some(foreign) = answer.foreign_to_api() {
        return Some(foreign);
    }
    let odoo_json_error = serde_json::from_slice::<Value>(&answer.body)
        .is_ok_and(|value| value.get("name").is_some_and(Value::is_string));
    (matches!(answer.status, 404 | 405) && !odoo_json_error).then(|| {
        format!(
            "HTTP {} without Odoo's JSON error: {}",
            answer.status,
            snippet(&answer.body)
        )
    })
}

/// The exception Odoo raises for its "No database is selected" page.
const NO_DATABASE_NAME: &str = "werkzeug.exceptions.NotFound";

fn decode_success(status: u16, body: &[u8], url: &str) -> Result<Value, OdooError> {
    let invalid = |problem: String| OdooError::InvalidResponse {
        status,
        url: url.to_owned(),
        problem,
        snippet: snippet(body),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid("empty body".to_owned()));
    }
    serde_json::from_slice(body).map_err(|error| invalid(format!("not JSON: {error}")))
}

/// `{"name", "message", "arguments", "context", "debug"}`.
fn decode_fault(error: &Map<String, Value>, status: u16) -> OdooFault {
    let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_owned);
    let name = text("name").unwrap_or_default();
    let message = text("message").unwrap_or_default();
    OdooFault {
        kind: fault_kind(&name, &message),
        name,
        message,
        code: i64::from(status),
        debug: text("debug"),
    }
}

/// By exception name, like JSON-RPC faults. JSON-2 reports an unknown model or method as a
/// routing `NotFound` where JSON-RPC raised a `UserError` ("Object ... doesn't exist") or an
/// `AttributeError`; those two are told apart by their (untranslated, English) message so that
/// both transports give the same kind.
fn fault_kind(name: &str, message: &str) -> FaultKind {
    if name == "werkzeug.exceptions.NotFound" {
        if message.starts_with("the model ") {
            return FaultKind::UserError;
        }
        if message.starts_with("The method ") {
            return FaultKind::UnknownMethod;
        }
    }
    FaultKind::from_exception_name(name)
}

/// `GET /web/version`'s `{"version": "19.0", "version_info": [19, 0, 0, "final", 0, ""]}`; the
/// `common.version` shape (`server_version`, `server_version_info`) is accepted too.
pub(crate) fn decode_version(value: &Value) -> Option<ServerVersion> {
    let object = value.as_object()?;
    let text = object
        .get("version")
        .or_else(|| object.get("server_version"))?
        .as_str()?;
    let info = object
        .get("version_info")
        .or_else(|| object.get("server_version_info"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Some(ServerVersion {
        server_version: text.to_owned(),
        server_version_info: info,
        protocol_version: object.get("protocol_version").and_then(Value::as_i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn positional_arguments_get_their_json2_names() {
        let body = request_body(
            "product.template",
            "search_read",
            vec![json!([["id", "=", 5]]), json!(["name"])],
            object(json!({"limit": 1, "context": {"lang": "zh_CN"}})),
        )
        .expect("body");
        assert_eq!(
            Value::Object(body),
            json!({"domain": [["id", "=", 5]], "fields": ["name"], "limit": 1,
                   "context": {"lang": "zh_CN"}})
        );
        let apply = request_body(
            "stock.quant",
            "action_apply_inventory",
            vec![json!([14])],
            Map::new(),
        );
        assert_eq!(apply.map(Value::Object).ok(), Some(json!({"ids": [14]})));
        let none = request_body("res.users", "context_get", Vec::new(), Map::new());
        assert_eq!(none.map(Value::Object).ok(), Some(json!({})));
    }

    #[test]
    fn arguments_without_a_name_or_given_twice_are_refused() {
        let error =
            request_body("x.y", "action_go", vec![json!([1]), json!(2)], Map::new()).unwrap_err();
        assert!(matches!(error, OdooError::InvalidCall { .. }), "{error}");
        assert!(
            error.to_string().contains("x.y.action_go over JSON-2"),
            "{error}"
        );
        let twice = request_body(
            "x.y",
            "write",
            vec![json!([1]), json!({})],
            object(json!({"vals": {}})),
        );
        assert!(twice.unwrap_err().to_string().contains("'vals' given both"));
    }

    #[test]
    fn web_version_and_common_version_shapes_both_decode() {
        let web =
            decode_version(&json!({"version_info": [19, 0, 0, "final", 0, ""], "version": "19.0"}))
                .expect("version");
        assert_eq!(web.major(), Some(19));
        assert_eq!(web.server_version, "19.0");
        let common =
            decode_version(&json!({"server_version": "saas~18.4", "server_version_info": []}))
                .expect("version");
        assert_eq!(common.major(), Some(18));
        assert_eq!(decode_version(&json!("19.0")), None);
    }

    fn measured_odoo18_redirect() -> HttpAnswer {
        HttpAnswer {
            status: 303,
            body: b"<!doctype html>\n<title>Redirecting...</title>".to_vec(),
            location: Some(
                "/web/login?redirect=%2Fjson%2F2%2Fres.users%2Fcontext_get%3F".to_owned(),
            ),
            content_type: Some("text/html; charset=utf-8".to_owned()),
        }
    }

    #[test]
    fn a_redirect_or_a_plain_404_page_means_no_json2_here() {
        let redirect = without_json2(&measured_odoo18_redirect()).expect("absent");
        assert_eq!(
            redirect,
            "HTTP 303 redirecting to /web/login?redirect=%2Fjson%2F2%2Fres.users%2Fcontext_get%3F"
        );
        let wrong_path = HttpAnswer::recorded("odoo18-fixtures/errors/wrong_path.json");
        let absent = without_json2(&wrong_path).expect("absent");
        assert!(absent.starts_with("HTTP 404 with an HTML page"), "{absent}");
    }

    #[test]
    fn odoo_19s_own_errors_are_not_a_missing_api() {
        for relative in [
            "errors/unknown_model.json",
            "errors/get_json2_model_method.json",
            "errors/unknown_database_header.json",
            "errors/missing_database_header.json",
            "errors/expired_api_key.json",
            "errors/search_read_domain_bad_operator.json",
            "json2/res_users_context_get.json",
        ] {
            let answer = HttpAnswer::recorded(&format!("odoo19-fixtures/{relative}"));
            assert_eq!(without_json2(&answer), None, "{relative}");
        }
        let proxy_down = HttpAnswer {
            status: 502,
            body: b"<h1>502 Bad Gateway</h1>".to_vec(),
            location: None,
            content_type: Some("text/html".to_owned()),
        };
        assert_eq!(without_json2(&proxy_down), None, "transient, retried");
    }
}
