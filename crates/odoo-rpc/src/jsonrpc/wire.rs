//! The JSON-RPC wire format of `POST /jsonrpc`: the request envelope, and decoding an HTTP answer
//! into a result value or an `OdooError` (fault, HTTP error, unreadable body).

use serde_json::{json, Map, Value};

use crate::error::{OdooError, OdooFault};
use crate::http::{snippet, HttpAnswer};

/// `{"jsonrpc": "2.0", "method": "call", "params": {service, method, args}, "id": id}`.
pub(crate) fn request_body(id: u64, service: &str, method: &str, args: Vec<Value>) -> Value {
    json!({
        "jsonrpc": "2.0",
        "method": "call",
        "params": {"service": service, "method": method, "args": args},
        "id": id,
    })
}

/// What `answer` is instead of a JSON-RPC answer, if it is not one: a redirect or a 404 (the
/// route is not there: Odoo 20). Other error pages (a proxy's 502, a 200 maintenance page) stay
/// HTTP errors and unreadable answers.
pub(crate) fn without_jsonrpc(answer: &HttpAnswer) -> Option<String> {
    match answer.status {
        300..=399 => answer.foreign_to_api(),
        404 => Some(format!("HTTP 404: {}", snippet(&answer.body))),
        _ => None,
    }
}

/// The `result` of a JSON-RPC answer; its `error` as `OdooError::Fault`; anything that is not a
/// JSON-RPC answer as `Http` (non-2xx) or `InvalidResponse`.
pub(crate) fn decode_response(status: u16, body: &[u8], url: &str) -> Result<Value, OdooError> {
    if !(200..300).contains(&status) {
        return Err(OdooError::Http {
            status,
            url: url.to_owned(),
            snippet: snippet(body),
        });
    }
    let invalid = |problem: String| OdooError::InvalidResponse {
        status,
        url: url.to_owned(),
        problem,
        snippet: snippet(body),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid("empty body".to_owned()));
    }
    let answer: Value =
        serde_json::from_slice(body).map_err(|error| invalid(format!("not JSON: {error}")))?;
    let Value::Object(mut answer) = answer else {
        return Err(invalid("not a JSON-RPC object".to_owned()));
    };
    if let Some(error) = answer.get("error") {
        return Err(OdooError::Fault(decode_fault(error)));
    }
    // A method that returns None yields neither `result` nor `error`.
    Ok(answer.remove("result").unwrap_or(Value::Null))
}

/// `{"code", "message", "data": {"name", "message", "debug", ...}}`; tolerant of missing parts so
/// that an odd error is still reported as a fault rather than lost.
fn decode_fault(error: &Value) -> OdooFault {
    let empty = Map::new();
    let data = error
        .get("data")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
    let name = text(data.get("name")).unwrap_or_default();
    let message = text(data.get("message"))
        .or_else(|| text(error.get("message")))
        .unwrap_or_default();
    let code = error
        .get("code")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let mut fault = OdooFault::new(name, message, code);
    fault.debug = text(data.get("debug"));
    fault
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FaultKind;

    const URL: &str = "http://odoo:8069/jsonrpc";

    #[test]
    fn a_result_is_returned_as_is() {
        let body = br#"{"jsonrpc": "2.0", "id": 1, "result": [1, 2]}"#;
        assert_eq!(decode_response(200, body, URL).ok(), Some(json!([1, 2])));
    }

    #[test]
    fn no_result_key_is_null() {
        let body = br#"{"jsonrpc": "2.0", "id": 123}"#;
        assert_eq!(decode_response(200, body, URL).ok(), Some(Value::Null));
    }

    #[test]
    fn a_fault_without_data_keeps_the_top_message() {
        let body =
            br#"{"jsonrpc": "2.0", "id": 1, "error": {"code": 404, "message": "Not Found"}}"#;
        let Err(OdooError::Fault(fault)) = decode_response(200, body, URL) else {
            panic!("expected a fault");
        };
        assert_eq!(fault.kind, FaultKind::Other);
        assert_eq!(fault.message, "Not Found");
        assert_eq!(fault.code, 404);
    }

    #[test]
    fn html_is_reported_with_status_and_text() {
        let body = b"<html><head><title>502 Bad Gateway</title></head>\n<body><h1>502 Bad Gateway</h1></body></html>";
        let error = decode_response(502, body, URL).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Odoo at http://odoo:8069/jsonrpc answered HTTP 502: 502 Bad Gateway 502 Bad Gateway"
        );
        assert!(error.is_retryable());
    }

    #[test]
    fn a_200_that_is_not_json_is_an_invalid_response() {
        let error = decode_response(200, b"<p>maintenance</p>", URL).unwrap_err();
        assert!(matches!(
            error,
            OdooError::InvalidResponse { status: 200, .. }
        ));
        assert!(error.to_string().contains("maintenance"), "{error}");
        let truncated = decode_response(200, br#"{"jsonrpc": "2.0", "id": 1, "resu"#, URL);
        assert!(matches!(truncated, Err(OdooError::InvalidResponse { .. })));
        let empty = decode_response(200, b"", URL).unwrap_err();
        assert!(empty.to_string().contains("empty body"), "{empty}");
        let array = decode_response(200, b"[1]", URL);
        assert!(matches!(array, Err(OdooError::InvalidResponse { .. })));
    }

    #[test]
    fn a_redirect_or_a_404_means_no_jsonrpc_here_other_pages_do_not() {
        let gone = HttpAnswer {
            status: 404,
            body: b"<h1>Not Found</h1>".to_vec(),
            location: None,
            content_type: Some("text/html".to_owned()),
        };
        assert_eq!(
            without_jsonrpc(&gone).as_deref(),
            Some("HTTP 404: Not Found")
        );
        let moved = HttpAnswer {
            status: 301,
            location: Some("https://odoo.example/jsonrpc".to_owned()),
            ..gone
        };
        assert_eq!(
            without_jsonrpc(&moved).as_deref(),
            Some("HTTP 301 redirecting to https://odoo.example/jsonrpc")
        );
        for relative in [
            "odoo18-fixtures/jsonrpc/common_version.json",
            "odoo18-fixtures/errors/execute_kw_unknown_model.json",
            "odoo18-fixtures/errors/get_on_jsonrpc.json",
        ] {
            let answer = HttpAnswer::recorded(relative);
            assert_eq!(without_jsonrpc(&answer), None, "{relative}");
        }
    }
}
