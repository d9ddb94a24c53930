//! The deployment examples in docs/ stay true to the routes: parsed, schedules valid, URL and
//! header matching what the server checks.

use serde_json::Value;

fn docs(path: &str) -> String {
    let full = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/").to_string() + path;
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn assert_valid_cron(expression: &str) {
    let parsed =
        odoo_sync::engine::scheduler::parse_cron(expression).unwrap_or_else(|e| panic!("{e}"));
    assert!(parsed.is_some(), "{expression} disables the schedule");
}

#[test]
fn vercel_json_calls_the_cron_route_on_a_valid_schedule() {
    let config: Value = serde_json::from_str(&docs("vercel.json")).unwrap();
    let crons = config["crons"].as_array().expect("a crons list");
    assert!(!crons.is_empty());
    for cron in crons {
        let path = cron["path"].as_str().unwrap();
        assert!(
            path == "/api/cron/sync" || path == "/api/cron/sync?full=true",
            "{path} is not our cron route"
        );
        assert_valid_cron(cron["schedule"].as_str().unwrap());
    }
    let forwarder = docs("vercel/route.ts");
    assert!(
        forwarder.contains("/api/cron/sync") && forwarder.contains("authorization"),
        "the forwarder sends the bearer token"
    );
}

#[test]
fn the_github_workflow_runs_a_full_sync_on_schedule_and_on_demand() {
    let text = docs("github-workflow-full-sync.yml");
    let documents = yaml_rust2::YamlLoader::load_from_str(&text).expect("valid YAML");
    let workflow = &documents[0];
    let on = &workflow["on"];
    assert!(
        !on["workflow_dispatch"].is_badvalue(),
        "can be started by hand"
    );
    let schedules = on["schedule"].as_vec().expect("a schedule");
    for schedule in schedules {
        assert_valid_cron(schedule["cron"].as_str().unwrap());
    }
    let steps = workflow["jobs"]["full-sync"]["steps"].as_vec().unwrap();
    let run = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        run.contains("/api/cron/sync?full=true"),
        "calls the full cron route: {run}"
    );
    assert!(
        run.contains("Authorization: Bearer ${CRON_SECRET}"),
        "sends the cron secret as Vercel does: {run}"
    );
}
