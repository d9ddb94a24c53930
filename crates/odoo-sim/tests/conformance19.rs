//! Replays the Odoo 19 JSON-2 fixtures (json2/ and errors/) against the simulator in Odoo 19 mode,
//! loaded with demo18 (Odoo 19's demo19 differs: other products, no website_sale, zh_CN instead
//! of fr_FR). Each fixture is listed with how it is checked: the whole body (ignoring `debug`),
//! or the status plus the error name or the answer's shape when the data differ, or not at all,
//! with the reason. A fixture missing from the list fails the test.

use odoo_sim::{ApiKey, Dataset, Faults, Sim, SimConfig};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/odoo19-fixtures"
);
const DEMO18: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/odoo18-fixtures/conformance/dataset.json"
);

#[derive(Clone, Copy, Debug)]
enum Check {
    /// Status, content type and the whole body (minus `debug`) as recorded.
    Body,
    /// Status, and the error's `name` or the success body's shape; the reason the rest differs.
    Shape(&'static str),
    /// Status and content type only; the reason the body differs.
    Status(&'static str),
    /// Not replayed: the state it needs is not in the simulator.
    Cannot(&'static str),
}

use Check::{Body, Cannot, Shape, Status};

const DEMO19_DATA: &str = "demo19's records and values differ from demo18's";
const NO_ACL: &str = "the simulator has no access rules beyond 'other users may not write'";
const NO_QUANTS: &str = "demo18 has no stock.quant records";
const NO_ZH: &str = "demo18 has fr_FR, not zh_CN";
const DELETED_74: &str = "needs the recorded run's created-then-deleted template 74";

const CHECKS: &[(&str, Check)] = &[
    // json2/
    ("auth_scheme_capitalised_bearer", Body),
    ("empty_body_no_content", Body),
    ("internal_user_context_get", Body),
    ("internal_user_product_read_ok", Shape(DEMO19_DATA)),
    ("make_key_over_json2_needs_identity_check", Cannot("res.users.apikeys.description is not simulated")),
    ("portal_user_res_users_record_rule_filtered", Cannot("res.users is not simulated")),
    ("product_category_search_read", Shape(DEMO19_DATA)),
    ("product_product_search_read_variants", Shape(DEMO19_DATA)),
    ("product_template_create", Shape("the new id depends on the data set")),
    ("product_template_create_multi", Shape("the new ids depend on the data set")),
    ("product_template_create_single_dict", Shape("the new id depends on the data set")),
    ("product_template_fields_get", Status("demo19 has no website_sale: other fields")),
    ("product_template_name_search", Shape(DEMO19_DATA)),
    ("product_template_read_after_zh_write", Cannot(NO_ZH)),
    ("product_template_read_archived_by_id", Shape(DEMO19_DATA)),
    ("product_template_read_deleted_id", Cannot(DELETED_74)),
    ("product_template_read_display_name", Shape(DEMO19_DATA)),
    ("product_template_read_empty_values", Shape(DEMO19_DATA)),
    ("product_template_read_ids", Shape(DEMO19_DATA)),
    ("product_template_read_load_none", Shape(DEMO19_DATA)),
    ("product_template_read_mixed_existing_missing", Shape(DEMO19_DATA)),
    ("product_template_read_nonexistent_id", Body),
    ("product_template_search_count", Shape(DEMO19_DATA)),
    ("product_template_search_count_active_test_false", Shape(DEMO19_DATA)),
    ("product_template_search_ids", Shape(DEMO19_DATA)),
    ("product_template_search_read_active_in_domain", Shape(DEMO19_DATA)),
    ("product_template_search_read_active_test_false_lang_zh", Cannot(NO_ZH)),
    ("product_template_search_read_default_hides_archived", Shape(DEMO19_DATA)),
    ("product_template_search_read_empty", Body),
    ("product_template_search_read_lang_default", Shape(DEMO19_DATA)),
    ("product_template_search_read_last_page", Shape(DEMO19_DATA)),
    ("product_template_search_read_page", Shape(DEMO19_DATA)),
    ("product_template_search_write_date_gt_truncated", Body),
    ("product_template_unlink", Body),
    ("product_template_web_search_read_specification", Cannot("web_search_read is not simulated")),
    ("product_template_write_archive", Body),
    ("product_template_write_date_tz_context", Shape(DEMO19_DATA)),
    ("product_template_write_empty_values", Body),
    ("product_template_write_list_price", Body),
    ("product_template_write_then_read_write_date", Shape("write_date is the time of the replay")),
    ("product_template_write_zh_translation", Cannot(NO_ZH)),
    ("res_users_context_get", Body),
    ("res_users_read_self", Cannot("res.users is not simulated")),
    ("stock_quant_action_apply_inventory", Cannot(NO_QUANTS)),
    ("stock_quant_search_read", Cannot(NO_QUANTS)),
    ("stock_quant_write_inventory_quantity", Cannot(NO_QUANTS)),
    ("write_date_domain_eq_truncated", Cannot("needs templates 68, 69 written 35 ms apart in one second; tests/json2.rs proves the semantics")),
    ("write_date_domain_gt_truncated", Cannot("as write_date_domain_eq_truncated")),
    ("write_date_domain_gt_with_microseconds", Cannot("as write_date_domain_eq_truncated")),
    ("write_date_domain_gte_truncated", Cannot("as write_date_domain_eq_truncated")),
    ("write_date_domain_lt_truncated", Cannot("as write_date_domain_eq_truncated")),
    ("write_date_domain_lte_truncated", Cannot("as write_date_domain_eq_truncated")),
    // errors/
    ("access_error_ir_config_parameter_internal_user", Cannot("ir.config_parameter is not simulated")),
    ("access_error_product_template_portal_user", Cannot(NO_ACL)),
    ("access_error_product_write_internal_user", Body),
    ("access_error_stock_quant_portal_user", Cannot(NO_ACL)),
    ("api_key_of_other_database", Body),
    ("api_key_with_other_scope", Body),
    ("basic_auth_header", Body),
    ("create_missing_required_field", Body),
    ("expired_api_key", Body),
    ("get_json2_model_method", Body),
    ("ids_on_model_method", Body),
    ("json_array_body", Body),
    ("malformed_json_body", Shape("the parse error is serde_json's, not Python's")),
    ("missing_database_header", Body),
    ("missing_required_argument", Body),
    ("no_authorization_header", Body),
    ("password_as_bearer", Body),
    ("positional_args_key", Body),
    ("post_json2_model_without_method", Body),
    ("private_method", Body),
    ("put_json2_model_method", Body),
    ("read_deleted_id_in_list_with_existing", Body),
    ("read_unknown_field_in_fields", Body),
    ("search_read_bad_limit_type", Shape("the SQL in the message differs")),
    ("search_read_bad_order", Body),
    ("search_read_domain_bad_datetime_value", Body),
    ("search_read_domain_bad_operator", Body),
    ("search_read_domain_double_equals_accepted", Body),
    ("search_read_domain_malformed_leaf", Body),
    ("search_read_domain_not_a_list", Body),
    ("search_read_domain_unknown_field", Body),
    ("search_read_lang_not_installed", Body),
    ("search_read_unknown_field_in_fields", Body),
    ("unexpected_keyword_argument", Body),
    ("unexpected_keyword_argument_strict", Body),
    ("unknown_database_header", Body),
    ("unknown_method", Body),
    ("unknown_model", Body),
    ("unlink_deleted_id", Cannot(DELETED_74)),
    ("write_bad_many2one_id", Body),
    ("write_bad_selection_value", Body),
    ("write_deleted_id", Cannot(DELETED_74)),
    ("write_duplicate_barcode", Cannot("needs the recorded run's J2BARCODE001 products")),
    ("wrong_api_key", Body),
    ("wrong_content_type", Body),
];

fn read_fixture(dir: &str, name: &str) -> Json {
    let path = Path::new(FIXTURES).join(dir).join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The bearer key a fixture sent.
fn key_of(dir: &str, name: &str) -> String {
    let fixture = read_fixture(dir, name);
    let header = fixture["request"]["headers"]["Authorization"]
        .as_str()
        .unwrap();
    header.split_once(' ').unwrap().1.to_string()
}

/// demo18 as database demo19, next to an empty alt19, with the recorded server's keys.
async fn demo19() -> Sim {
    let config = SimConfig {
        db: "demo19".into(),
        dataset: Dataset::Demo18 {
            path: PathBuf::from(DEMO18),
        },
        faults: Faults::default(),
        odoo_version: 19,
    };
    let sim = Sim::spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    sim.add_database("alt19");
    let admin = ApiKey::admin(key_of("json2", "res_users_context_get"));
    sim.add_api_key(admin.clone());
    sim.add_api_key(ApiKey {
        key: key_of("json2", "internal_user_context_get"),
        uid: 7,
        ..admin.clone()
    });
    sim.add_api_key(ApiKey {
        key: key_of("errors", "expired_api_key"),
        expired: true,
        ..admin.clone()
    });
    sim.add_api_key(ApiKey {
        key: key_of("errors", "api_key_with_other_scope"),
        scope: Some("some_other_scope".into()),
        ..admin
    });
    sim
}

fn fixture_names(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(Path::new(FIXTURES).join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

struct Answer {
    status: u16,
    content_type: String,
    body: Json,
}

async fn replay(client: &reqwest::Client, url: &str, fixture: &Json) -> Answer {
    let request = &fixture["request"];
    let method: reqwest::Method = request["method"].as_str().unwrap().parse().unwrap();
    let mut builder = client.request(
        method,
        format!("{url}{}", request["path"].as_str().unwrap()),
    );
    for (name, value) in request["headers"].as_object().unwrap() {
        builder = builder.header(name, value.as_str().unwrap());
    }
    builder = match &request["body"] {
        Json::Null => builder,
        Json::String(raw) => builder.body(raw.clone()),
        body => builder.body(body.to_string()),
    };
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    let body = match content_type.starts_with("application/json") {
        true => serde_json::from_str(&text).unwrap(),
        false => Json::String(text),
    };
    Answer {
        status,
        content_type,
        body,
    }
}

fn strip_debug(mut v: Json) -> Json {
    if let Some(error) = v.as_object_mut() {
        error.remove("debug");
    }
    v
}

/// The JSON type, and for objects their keys, for lists of objects the first one's keys.
fn shape(v: &Json) -> String {
    match v {
        Json::Object(map) => format!("object{:?}", map.keys().collect::<Vec<_>>()),
        Json::Array(items) => match items.first() {
            Some(first) => format!("list of {}", shape(first)),
            None => "empty list".into(),
        },
        Json::Number(_) => "number".into(),
        Json::Bool(b) => format!("bool {b}"),
        Json::Null => "null".into(),
        Json::String(_) => "string".into(),
    }
}

/// What is wrong with `got` for `fixture` under `check`, if anything.
fn difference(fixture: &Json, got: &Answer, check: Check) -> Option<String> {
    let response = &fixture["response"];
    let want_status = response["status"].as_u64().unwrap() as u16;
    if got.status != want_status {
        return Some(format!(
            "status {} != {want_status}: {}",
            got.status, got.body
        ));
    }
    let want_type = response["headers"]["Content-Type"].as_str().unwrap_or("");
    if got.content_type != want_type {
        return Some(format!(
            "content type {:?} != {want_type:?}",
            got.content_type
        ));
    }
    let want = strip_debug(response["body"].clone());
    let got_body = strip_debug(got.body.clone());
    match check {
        Body => {
            // As text: Odoo's key order matters.
            let same =
                serde_json::to_string(&want).unwrap() == serde_json::to_string(&got_body).unwrap();
            (!same).then(|| format!("body {got_body} != {want}"))
        }
        Shape(_) if want_status != 200 => (want["name"] != got_body["name"])
            .then(|| format!("name {} != {}", got_body["name"], want["name"])),
        Shape(_) => (shape(&want) != shape(&got_body))
            .then(|| format!("shape {} != {}", shape(&got_body), shape(&want))),
        Status(_) | Cannot(_) => None,
    }
}

#[tokio::test]
async fn odoo_19_json2_fixtures_replay_as_listed() {
    let sim = demo19().await;
    let client = reqwest::Client::new();
    let mut failures = Vec::new();
    let mut counts = [0usize; 3];
    for dir in ["json2", "errors"] {
        for name in fixture_names(dir) {
            let Some((_, check)) = CHECKS.iter().find(|(n, _)| *n == name) else {
                failures.push(format!("{dir}/{name}: not listed in CHECKS"));
                continue;
            };
            if let Cannot(reason) = check {
                eprintln!("not replayed: {dir}/{name}: {reason}");
                counts[2] += 1;
                continue;
            }
            if let Shape(reason) | Status(reason) = check {
                eprintln!("compared in part: {dir}/{name}: {reason}");
            }
            let fixture = read_fixture(dir, &name);
            let got = replay(&client, &sim.url(), &fixture).await;
            match difference(&fixture, &got, *check) {
                Some(problem) => failures.push(format!("{dir}/{name}: {problem}")),
                None => counts[matches!(check, Shape(_) | Status(_)) as usize] += 1,
            }
        }
    }
    sim.shutdown().await;
    eprintln!(
        "odoo 19 conformance: {} whole bodies, {} status (+ name or shape), {} not replayed",
        counts[0], counts[1], counts[2]
    );
    let listed = CHECKS.len();
    let present = fixture_names("json2").len() + fixture_names("errors").len();
    assert_eq!(listed, present, "CHECKS lists fixtures that are gone");
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}
