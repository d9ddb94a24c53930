//! Every recorded JSON-RPC answer of the shared Odoo 18 / Odoo 19 (legacy) fixtures goes through
//! `decode_response`; every recorded request envelope is rebuilt with `request_body`.

use std::path::Path;

use serde_json::Value;

use super::wire::{decode_response, request_body};
use crate::error::{FaultKind, OdooError};
use crate::fixtures::{body_bytes, fixture_files, load, shared_dir, stem};

const URL: &str = "http://127.0.0.1:8069/jsonrpc";

/// Decodes one fixture's `response`.
fn decode_fixture(fixture: &Value) -> Result<Value, OdooError> {
    let response = &fixture["response"];
    let status = response["status"].as_u64().expect("status") as u16;
    decode_response(status, &body_bytes(&response["body"]), URL)
}

/// The `(status 200) bodies` of a fixture: its `response`, or for fixtures that recorded several
/// calls, each `*_response` body.
fn recorded_answers(fixture: &Value) -> Vec<(u16, Value)> {
    if let Some(response) = fixture.get("response") {
        let status = response["status"].as_u64().expect("status") as u16;
        return vec![(status, response["body"].clone())];
    }
    let object = fixture.as_object().expect("fixture is an object");
    object
        .iter()
        .filter(|(key, _)| key.ends_with("_response"))
        .map(|(_, body)| (200, body.clone()))
        .collect()
}

#[test]
fn every_successful_odoo18_answer_decodes_to_its_result() {
    let mut decoded = 0;
    for path in fixture_files("odoo18-fixtures/jsonrpc") {
        for (status, body) in recorded_answers(&load(&path)) {
            let result = decode_response(status, &body_bytes(&body), URL)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let expected = body.get("result").cloned().unwrap_or(Value::Null);
            assert_eq!(result, expected, "{}", path.display());
            decoded += 1;
        }
    }
    assert!(decoded >= 50, "only {decoded} answers decoded");
}

#[test]
fn a_method_returning_none_decodes_to_null() {
    let path = shared_dir().join("odoo18-fixtures/jsonrpc/stock_quant_action_apply_inventory.json");
    let result = decode_fixture(&load(&path)).expect("no error");
    assert_eq!(result, Value::Null);
}

enum Expected {
    Fault(FaultKind),
    Http(u16),
}

fn expected_odoo18_error(name: &str) -> Expected {
    use Expected::{Fault, Http};
    use FaultKind::*;
    match name {
        "access_error_ir_config_parameter_internal_user"
        | "access_error_product_write_internal_user"
        | "access_error_stock_quant_portal_user"
        | "access_error_user_lang_fr"
        | "execute_kw_private_method" => Fault(AccessError),
        "execute_kw_wrong_password" => Fault(AccessDenied),
        "common_authenticate_unknown_db"
        | "execute_kw_unknown_database"
        | "execute_kw_bad_limit_type"
        | "search_read_domain_bad_datetime_value" => Fault(Database),
        "create_missing_required_field"
        | "write_duplicate_barcode"
        | "write_duplicate_barcode_user_lang_fr" => Fault(ValidationError),
        "execute_kw_unknown_model" | "search_read_lang_not_installed" => Fault(UserError),
        "execute_kw_unknown_uid"
        | "unlink_deleted_id"
        | "write_bad_many2one_id"
        | "write_deleted_id_missing_error" => Fault(MissingError),
        "execute_kw_unknown_method" => Fault(UnknownMethod),
        "read_unknown_field_in_fields"
        | "search_read_unknown_field_in_fields"
        | "search_read_bad_order"
        | "search_read_domain_bad_operator"
        | "search_read_domain_unknown_field"
        | "search_read_domain_malformed_leaf"
        | "write_bad_selection_value" => Fault(InvalidArgument),
        "execute_kw_unexpected_kwarg"
        | "jsonrpc_unknown_common_method"
        | "jsonrpc_unknown_service"
        | "non_jsonrpc_json_body"
        | "search_read_domain_not_a_list" => Fault(Other),
        "malformed_json_body" | "empty_body" | "wrong_content_type" | "get_on_jsonrpc" => Http(400),
        "wrong_path" => Http(404),
        other => panic!("errors/{other}.json is new: add it to this table"),
    }
}

#[test]
fn every_odoo18_error_decodes_to_the_expected_kind() {
    for path in fixture_files("odoo18-fixtures/errors") {
        let fixture = load(&path);
        let error = decode_fixture(&fixture).expect_err("an error fixture");
        match expected_odoo18_error(&stem(&path)) {
            Expected::Fault(kind) => assert_fault(&path, &fixture, &error, kind, 200),
            Expected::Http(status) => assert_http(&path, &error, status),
        }
        assert!(!error.is_retryable(), "{}: {error}", path.display());
    }
}

fn assert_fault(path: &Path, fixture: &Value, error: &OdooError, kind: FaultKind, code: i64) {
    let data = &fixture["response"]["body"]["error"]["data"];
    let Some(fault) = error.fault() else {
        panic!("{}: expected a fault, got {error}", path.display());
    };
    assert_eq!(fault.kind, kind, "{}", path.display());
    assert_eq!(fault.name, data["name"].as_str().expect("name"));
    assert_eq!(fault.message, data["message"].as_str().expect("message"));
    assert_eq!(fault.code, code, "{}", path.display());
    let debug = fault.debug.as_deref().expect("traceback kept");
    assert_eq!(Some(debug), data["debug"].as_str(), "{}", path.display());
    assert!(
        !error.to_string().contains("Traceback"),
        "{}",
        path.display()
    );
}

fn assert_http(path: &Path, error: &OdooError, status: u16) {
    let OdooError::Http { status: got, .. } = error else {
        panic!("{}: expected an HTTP error, got {error}", path.display());
    };
    assert_eq!(*got, status, "{}", path.display());
    let text = error.to_string();
    assert!(text.contains(&format!("HTTP {status}")), "{text}");
    assert!(
        !text.contains('<'),
        "{}: tags left in {text}",
        path.display()
    );
    let says_what_came = ["Invalid JSON data", "400 Bad Request", "404 Not Found"]
        .iter()
        .any(|words| text.contains(words));
    assert!(says_what_came, "{}: {text}", path.display());
}

#[test]
fn odoo19_legacy_jsonrpc_answers_decode_including_code_0_faults() {
    let mut faults = 0;
    for path in fixture_files("odoo19-fixtures/legacy") {
        let name = stem(&path);
        if !name.starts_with("jsonrpc_") {
            continue; // XML-RPC
        }
        let fixture = load(&path);
        let decoded = decode_fixture(&fixture);
        match name.as_str() {
            "jsonrpc_execute_kw_unknown_model" => {
                let error = decoded.expect_err("fault");
                assert_fault(&path, &fixture, &error, FaultKind::UserError, 0);
                faults += 1;
            }
            "jsonrpc_execute_kw_wrong_password" => {
                let error = decoded.expect_err("fault");
                assert_fault(&path, &fixture, &error, FaultKind::AccessDenied, 0);
                faults += 1;
            }
            _ => {
                let result = decoded.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(result, fixture["response"]["body"]["result"]);
            }
        }
    }
    assert_eq!(faults, 2);
}

#[test]
fn every_conformance_answer_decodes_and_faults_keep_their_exception_name() {
    for path in fixture_files("odoo18-fixtures/conformance") {
        let fixture = load(&path);
        if fixture.get("response").is_none() {
            continue; // dataset.json
        }
        let body = &fixture["response"]["body"];
        match (decode_fixture(&fixture), body.get("error")) {
            (Ok(result), None) => assert_eq!(result, body["result"], "{}", path.display()),
            (Err(error), Some(expected)) => {
                let name = expected["data"]["name"].as_str().expect("name");
                let fault = error.fault().expect("a fault");
                assert_eq!(fault.name, name);
                assert_eq!(fault.kind, FaultKind::from_exception_name(name));
                assert_ne!(fault.kind, FaultKind::Other, "{}", path.display());
            }
            (outcome, _) => panic!("{}: unexpected {outcome:?}", path.display()),
        }
    }
}

/// Every recorded JSON-RPC request, rebuilt from its service, method, args and id.
#[test]
fn request_envelopes_match_the_recorded_ones() {
    let dirs = [
        "odoo18-fixtures/jsonrpc",
        "odoo18-fixtures/errors",
        "odoo19-fixtures/legacy",
    ];
    let mut rebuilt = 0;
    for path in dirs.iter().flat_map(|dir| fixture_files(dir)) {
        let fixture = load(&path);
        let body = &fixture["request"]["body"];
        let params = &body["params"];
        let (Some(service), Some(method), Some(args), Some(id)) = (
            params["service"].as_str(),
            params["method"].as_str(),
            params["args"].as_array(),
            body["id"].as_u64(),
        ) else {
            continue; // not a JSON-RPC call (XML-RPC, malformed bodies, other recordings)
        };
        let ours = request_body(id, service, method, args.clone());
        assert_eq!(&ours, body, "{}", path.display());
        rebuilt += 1;
    }
    assert!(rebuilt >= 80, "only {rebuilt} requests rebuilt");
}

#[test]
fn odoo19_legacy_common_version_parses_as_series_19() {
    let path = shared_dir().join("odoo19-fixtures/legacy/jsonrpc_common_version.json");
    let result = decode_fixture(&load(&path)).expect("version");
    let version: crate::ServerVersion = serde_json::from_value(result).expect("a ServerVersion");
    assert_eq!(version.major(), Some(19));
    assert_eq!(version.server_version, "19.0");
}
