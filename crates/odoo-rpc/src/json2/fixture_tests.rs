//! Every recorded Odoo 19 JSON-2 answer (`odoo19-fixtures/json2` and `errors`) goes through
//! `decode_response`: successes to the body as recorded, errors to the `OdooError` / `FaultKind`
//! the table below expects. A new fixture fails the test until it is added to the table.

use serde_json::Value;

use super::wire::{decode_response, ErrorContext};
use crate::error::{Credential, FaultKind, OdooError};
use crate::fixtures::{body_bytes, fixture_files, load, stem};

const URL: &str = "http://127.0.0.1:8069";

/// The context the recorded client had: admin on demo19, with an API key except where the
/// fixture sent the password.
fn context(name: &str) -> ErrorContext<'static> {
    ErrorContext {
        url: URL,
        login: "admin",
        db: "demo19",
        credential: if name == "password_as_bearer" {
            Credential::Password
        } else {
            Credential::ApiKey
        },
    }
}

fn decode(name: &str, fixture: &Value) -> Result<Value, OdooError> {
    let response = &fixture["response"];
    let status = u16::try_from(response["status"].as_u64().expect("status")).expect("u16");
    decode_response(status, &body_bytes(&response["body"]), &context(name))
}

#[test]
fn every_successful_json2_answer_decodes_to_the_recorded_body() {
    let files = fixture_files("odoo19-fixtures/json2");
    for path in &files {
        let fixture = load(path);
        let result =
            decode(&stem(path), &fixture).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(result, fixture["response"]["body"], "{}", path.display());
    }
    assert!(files.len() >= 50, "only {} fixtures", files.len());
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expected {
    Ok,
    /// 401: the bearer secret was refused.
    KeyRefused,
    Fault(FaultKind),
    /// Odoo's HTML "No database is selected" 404, reported like JSON-RPC's unknown database.
    NoDatabase,
    Http(u16),
}

fn expected_error(name: &str) -> Expected {
    use Expected::{Fault, Http, KeyRefused, NoDatabase, Ok};
    use FaultKind::*;
    match name {
        "no_authorization_header"
        | "wrong_api_key"
        | "expired_api_key"
        | "api_key_with_other_scope"
        | "api_key_of_other_database"
        | "basic_auth_header"
        | "password_as_bearer" => KeyRefused,
        "missing_database_header" | "unknown_database_header" => NoDatabase,
        // Same kinds as JSON-RPC: an unknown model is a UserError there, a method an AttributeError.
        "unknown_model" => Fault(UserError),
        "unknown_method" => Fault(UnknownMethod),
        "private_method"
        | "access_error_ir_config_parameter_internal_user"
        | "access_error_product_template_portal_user"
        | "access_error_product_write_internal_user"
        | "access_error_stock_quant_portal_user" => Fault(AccessError),
        // "Did you mean POST /json/2/<model>/<method>?", malformed body, bad call shape: our bugs.
        "get_json2_model_method"
        | "put_json2_model_method"
        | "post_json2_model_without_method"
        | "malformed_json_body"
        | "json_array_body"
        | "missing_required_argument"
        | "unexpected_keyword_argument_strict"
        | "ids_on_model_method"
        | "unexpected_keyword_argument"
        | "positional_args_key"
        | "search_read_domain_not_a_list" => Fault(Other),
        "wrong_content_type" => Http(415),
        "search_read_unknown_field_in_fields"
        | "read_unknown_field_in_fields"
        | "search_read_bad_order"
        | "search_read_domain_unknown_field"
        | "search_read_domain_bad_operator"
        | "search_read_domain_malformed_leaf"
        | "search_read_domain_bad_datetime_value"
        | "write_bad_selection_value" => Fault(InvalidArgument),
        "search_read_bad_limit_type" => Fault(Database),
        "search_read_lang_not_installed" => Fault(UserError),
        "create_missing_required_field" | "write_duplicate_barcode" => Fault(ValidationError),
        "write_bad_many2one_id" | "write_deleted_id" | "unlink_deleted_id" => Fault(MissingError),
        "search_read_domain_double_equals_accepted" | "read_deleted_id_in_list_with_existing" => Ok,
        other => panic!("odoo19-fixtures/errors/{other}.json is new: add it to this table"),
    }
}

#[test]
fn every_json2_error_decodes_to_the_expected_error() {
    for path in fixture_files("odoo19-fixtures/errors") {
        let name = stem(&path);
        let fixture = load(&path);
        let outcome = decode(&name, &fixture);
        let expected = expected_error(&name);
        let error = match (expected, outcome) {
            (Expected::Ok, Ok(result)) => {
                assert_eq!(result, fixture["response"]["body"], "{name}");
                continue;
            }
            (Expected::Ok, Err(error)) => panic!("{name}: expected success, got {error}"),
            (_, Ok(result)) => panic!("{name}: expected an error, got {result}"),
            (_, Err(error)) => error,
        };
        check_error(&name, &fixture, expected, &error);
        assert!(!error.is_retryable(), "{name}: {error}");
        let shown = format!("{error} {error:?}");
        let authorization = fixture["request"]["headers"]["Authorization"].as_str();
        // (The recorded password, "admin", is also the login: only real keys are checked.)
        let key = authorization.and_then(|value| value.split_whitespace().nth(1));
        if let Some(key) = key.filter(|key| key.len() >= 20) {
            assert!(!shown.contains(key), "{name}: secret shown in {shown}");
        }
        assert!(!error.to_string().contains("Traceback"), "{name}: {error}");
    }
}

fn check_error(name: &str, fixture: &Value, expected: Expected, error: &OdooError) {
    let status = fixture["response"]["status"].as_i64().expect("status");
    let body = &fixture["response"]["body"];
    match expected {
        Expected::Ok => unreachable!(),
        Expected::KeyRefused => {
            let OdooError::ApiKeyRefused {
                login, db, message, ..
            } = error
            else {
                panic!("{name}: expected ApiKeyRefused, got {error}");
            };
            assert_eq!((login.as_str(), db.as_str()), ("admin", "demo19"));
            assert_eq!(Some(message.as_str()), body["message"].as_str(), "{name}");
            let text = error.to_string();
            assert!(
                text.contains("'admin'") && text.contains("'demo19'"),
                "{text}"
            );
            if name == "password_as_bearer" {
                assert!(
                    text.contains(
                        "Odoo 19's JSON-2 API needs an API key (ODOO_API_KEY), not a password"
                    ),
                    "{text}"
                );
            } else {
                assert!(text.contains("refused the API key"), "{text}");
            }
        }
        Expected::Fault(kind) => {
            let fault = error
                .fault()
                .unwrap_or_else(|| panic!("{name}: expected a fault, got {error}"));
            assert_eq!(fault.kind, kind, "{name}");
            assert_eq!(Some(fault.name.as_str()), body["name"].as_str(), "{name}");
            assert_eq!(
                Some(fault.message.as_str()),
                body["message"].as_str(),
                "{name}"
            );
            assert_eq!(fault.code, status, "{name}");
            assert_eq!(fault.debug.as_deref(), body["debug"].as_str(), "{name}");
        }
        Expected::NoDatabase => {
            let fault = error
                .fault()
                .unwrap_or_else(|| panic!("{name}: expected a fault, got {error}"));
            assert_eq!(
                (fault.kind, fault.code),
                (FaultKind::Database, 404),
                "{name}"
            );
            let text = error.to_string();
            assert!(
                text.contains("'demo19'") && text.contains("X-Odoo-Database"),
                "{text}"
            );
        }
        Expected::Http(expected_status) => {
            let OdooError::Http { status, .. } = error else {
                panic!("{name}: expected an HTTP error, got {error}");
            };
            assert_eq!(*status, expected_status, "{name}");
            let text = error.to_string();
            assert!(!text.contains('<'), "{name}: tags left in {text}");
            assert!(text.contains("Unsupported Media Type"), "{text}");
        }
    }
}

#[test]
fn proxy_pages_and_rate_limits_are_retryable_but_odoo_500s_are_not() {
    let context = context("any");
    let page = b"<html><body><h1>502 Bad Gateway</h1></body></html>";
    for status in [502, 503, 504, 500] {
        let error = decode_response(status, page, &context).unwrap_err();
        assert!(matches!(error, OdooError::Http { .. }), "{error}");
        assert!(error.is_retryable(), "{status}");
    }
    let limited = decode_response(429, b"", &context).unwrap_err();
    assert!(limited.is_retryable());
    let value_error = br#"{"name": "builtins.ValueError", "message": "Invalid field 'x'", "arguments": [], "context": {}, "debug": "Traceback..."}"#;
    let fault = decode_response(500, value_error, &context).unwrap_err();
    assert_eq!(
        fault.fault().map(|f| f.kind),
        Some(FaultKind::InvalidArgument)
    );
    assert!(!fault.is_retryable());
}

#[test]
fn an_unreadable_200_is_an_invalid_response() {
    let context = context("any");
    for body in [&b""[..], b"<p>maintenance</p>", br#"[{"id": 5, "na"#] {
        let error = decode_response(200, body, &context).unwrap_err();
        assert!(
            matches!(error, OdooError::InvalidResponse { status: 200, .. }),
            "{error}"
        );
    }
}
