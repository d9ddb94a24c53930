//! The chaos run: random changes in Odoo while webhooks flow, with webhooks dropped, RPC calls
//! failing and timing out, Odoo 18's before-commit delay, and `odoo-sync serve` SIGKILLed at
//! random moments (mid-batch, between an acknowledgement and its processing, during a full run)
//! and restarted. Then the faults stop, the sweeps and the reconcile run, and the catalog must
//! equal Odoo field by field, with no run left running and no event pending or failed.
//!
//! `CHAOS_SEED=<n>` replays a run. The small size runs with the tests; the full size (10,000
//! products, 2,000 changes) is `cargo test -p odoo-sync --test api chaos -- --ignored`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use odoo_rpc::{ClientConfig, Context, Domain, OdooApi, OdooClient, SearchOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{
    assert_same_catalog, sleep_ms, spawn_app, spawn_app_with_postgres, TestApp, ADMIN_TOKEN, DB,
};
use crate::odoo_state::expected_catalog;
use crate::sync_cli::values;
use crate::webhooks::WEBHOOK_SECRET;

struct Size {
    products: usize,
    changes: usize,
    kills: usize,
}

const SMALL: Size = Size {
    products: 1_000,
    changes: 200,
    kills: 5,
};
const FULL: Size = Size {
    products: 10_000,
    changes: 2_000,
    kills: 8,
};

#[derive(Debug, Default)]
struct Tally {
    changes: usize,
    failed_changes: usize,
    kills: usize,
    by_kind: std::collections::BTreeMap<&'static str, usize>,
}

/// `odoo-sync serve` in its own process, on a fixed port so that Odoo's rules keep reaching it.
struct Served {
    child: tokio::process::Child,
    url: String,
}

async fn serve(app: &TestApp, port: u16, extra: &[(&str, &str)]) -> Served {
    let mut command = app.command(&["serve"]);
    command
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .env("WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("SYNC_SCHEDULE", "off")
        .env("SYNC_FULL_SCHEDULE", "off")
        .env("SYNC_BATCH_SIZE", "50")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in extra {
        command.env(key, value);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut child = command.spawn().expect("odoo-sync serve starts");
        let mut announce = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut announce).await.unwrap();
        if announce.contains("serving on") {
            tokio::spawn(async move {
                let mut sink = String::new();
                while stdout.read_line(&mut sink).await.is_ok_and(|n| n > 0) {
                    sink.clear();
                }
            });
            return Served {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
        }
        // The port of the killed process may take a moment to be free again.
        let _ = child.wait().await;
        assert!(
            Instant::now() < deadline,
            "serve did not restart on port {port}"
        );
        sleep_ms(200).await;
    }
}

/// SIGKILL, as `sync_cli`'s resume test does: no shutdown, no flush.
async fn sigkill(served: &mut Served) {
    served.child.start_kill().expect("the server is running");
    let _ = served.child.wait().await;
}

async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// A client of the simulator that gives up fast: timed-out changes just count as failed.
async fn impatient_odoo(app: &TestApp) -> OdooClient {
    let mut config = ClientConfig::new(app.sim.url(), DB, "admin", "admin".to_string().into());
    config.protocol = odoo_rpc::Protocol::JsonRpc;
    config.timeout = Duration::from_secs(2);
    config.max_retries = 1;
    OdooClient::connect(config).await.expect("client connects")
}

async fn ids(odoo: &dyn OdooApi, model: &str) -> Vec<i64> {
    let all = SearchOptions {
        context: Context::default().active_test(false),
        ..Default::default()
    };
    odoo.search(model, &Domain::all(), &all).await.unwrap()
}

/// What the changes act on, and what they did to what no product `write_date` shows.
struct World {
    templates: Vec<i64>,
    categories: Vec<i64>,
    attribute_values: Vec<i64>,
    /// The chaos's fixed-price rule on `PRICELIST` per template, as far as it knows: what it
    /// checks against is read back from Odoo (`fixed_rules`).
    rules: BTreeMap<i64, (i64, f64)>,
    /// Templates whose stock or pricelist rule the chaos changed.
    priced_or_stocked: BTreeSet<i64>,
}

const PRICELIST: i64 = 1;
const WH_STOCK: i64 = 8;

async fn one_change(
    odoo: &dyn OdooApi,
    rng: &mut StdRng,
    world: &mut World,
) -> (&'static str, bool) {
    let World {
        templates,
        categories,
        attribute_values,
        ..
    } = world;
    let template = templates[rng.gen_range(0..templates.len())];
    let name = format!("Chaos {}", rng.gen_range(0..1_000_000));
    let price = f64::from(rng.gen_range(100..100_000)) / 100.0;
    let plain = Context::default();
    let write = |vals: Value, context: Context| async move {
        odoo.write("product.template", &[template], values(vals), &context)
            .await
            .is_ok()
    };
    match rng.gen_range(0..100) {
        0..=17 => (
            "edit",
            write(json!({"name": name, "list_price": price}), plain).await,
        ),
        18..=25 => {
            let first = write(json!({"list_price": price}), plain.clone()).await;
            let second = write(json!({"list_price": price + 1.0}), plain).await;
            ("same-second double edit", first && second)
        }
        26..=33 => ("archive", write(json!({"active": false}), plain).await),
        34..=41 => ("unarchive", write(json!({"active": true}), plain).await),
        42..=48 => {
            let deleted = odoo
                .unlink("product.template", &[template], &plain)
                .await
                .is_ok();
            if deleted {
                templates.retain(|id| *id != template);
            }
            ("delete", deleted)
        }
        49..=59 => {
            let categ = categories[rng.gen_range(0..categories.len())];
            let vals = values(json!({"name": name, "list_price": price, "categ_id": categ}));
            match odoo.create("product.template", vec![vals], &plain).await {
                Ok(created) => {
                    templates.extend(created);
                    ("create", true)
                }
                Err(_) => ("create", false),
            }
        }
        60..=67 => {
            let categ = categories[rng.gen_range(0..categories.len())];
            (
                "category move",
                write(json!({"categ_id": categ}), plain).await,
            )
        }
        68..=75 => {
            let french = Context::default().lang("fr_FR");
            (
                "translation edit",
                write(json!({"name": format!("{name} (fr)")}), french).await,
            )
        }
        76..=83 => {
            let value = attribute_values[rng.gen_range(0..attribute_values.len())];
            let extra = f64::from(rng.gen_range(0..5_000)) / 100.0;
            let written = odoo
                .write(
                    "product.template.attribute.value",
                    &[value],
                    values(json!({"price_extra": extra})),
                    &plain,
                )
                .await
                .is_ok();
            ("price_extra change", written)
        }
        84..=91 => {
            world.priced_or_stocked.insert(template);
            ("stock change", stock_change(odoo, rng, template).await)
        }
        _ => {
            // Half the time a template that has a rule, so rules get repriced and removed too.
            let ruled: Vec<i64> = world.rules.keys().copied().collect();
            let template = match ruled.is_empty() || rng.gen_bool(0.5) {
                true => template,
                false => ruled[rng.gen_range(0..ruled.len())],
            };
            world.priced_or_stocked.insert(template);
            pricelist_change(odoo, rng, template, &mut world.rules).await
        }
    }
}

/// An inventory adjustment on one of the template's variants: moves no product `write_date`.
async fn stock_change(odoo: &dyn OdooApi, rng: &mut StdRng, template: i64) -> bool {
    let plain = Context::default();
    let Ok(variants) = odoo
        .search(
            "product.product",
            &Domain::leaf("product_tmpl_id", "=", template),
            &SearchOptions::default(),
        )
        .await
    else {
        return false;
    };
    let Some(variant) = variants.get(rng.gen_range(0..variants.len().max(1))) else {
        return false;
    };
    let quantity = f64::from(rng.gen_range(0..500));
    let vals = values(
        json!({"product_id": variant, "location_id": WH_STOCK, "inventory_quantity": quantity}),
    );
    let Ok(quant) = odoo.create("stock.quant", vec![vals], &plain).await else {
        return false;
    };
    odoo.execute_kw(
        "stock.quant",
        "action_apply_inventory",
        vec![json!(quant)],
        Map::new(),
    )
    .await
    .is_ok()
}

/// Creates, reprices or removes the template's fixed-price rule: moves no product `write_date`.
async fn pricelist_change(
    odoo: &dyn OdooApi,
    rng: &mut StdRng,
    template: i64,
    rules: &mut BTreeMap<i64, (i64, f64)>,
) -> (&'static str, bool) {
    let plain = Context::default();
    let price = f64::from(rng.gen_range(100..10_000)) / 100.0;
    match rules.get(&template).copied() {
        None => {
            let vals = values(json!({"pricelist_id": PRICELIST, "applied_on": "1_product",
                "product_tmpl_id": template, "compute_price": "fixed", "fixed_price": price}));
            match odoo
                .create("product.pricelist.item", vec![vals], &plain)
                .await
            {
                Ok(created) => {
                    rules.insert(template, (created[0], price));
                    ("pricelist rule created", true)
                }
                Err(_) => ("pricelist rule created", false),
            }
        }
        Some((rule, _)) if rng.gen_bool(0.5) => {
            let vals = values(json!({"fixed_price": price}));
            let written = odoo
                .write("product.pricelist.item", &[rule], vals, &plain)
                .await
                .is_ok();
            if written {
                rules.insert(template, (rule, price));
            }
            ("pricelist rule repriced", written)
        }
        Some((rule, _)) => {
            let removed = odoo
                .unlink("product.pricelist.item", &[rule], &plain)
                .await
                .is_ok();
            if removed {
                rules.remove(&template);
            }
            ("pricelist rule removed", removed)
        }
    }
}

/// The fixed price each template's rule sets, read back from Odoo: a create that timed out may
/// still have committed. Where two rules cover a template, Odoo applies the newest.
async fn fixed_rules(odoo: &dyn OdooApi) -> BTreeMap<i64, f64> {
    let domain = Domain::leaf("pricelist_id", "=", PRICELIST).and(Domain::leaf(
        "applied_on",
        "=",
        "1_product",
    ));
    let options = SearchOptions {
        order: Some("id".into()),
        ..Default::default()
    };
    let fields = ["product_tmpl_id", "fixed_price"];
    let rules = odoo
        .search_read("product.pricelist.item", &domain, &fields, &options)
        .await
        .unwrap();
    rules
        .iter()
        .map(|rule| {
            let template = rule.get_many2one_id("product_tmpl_id").unwrap().unwrap();
            (template, rule.get_f64("fixed_price").unwrap())
        })
        .collect()
}

/// Stock and pricelist prices of the templates the chaos touched, against Odoo: what `catalog
/// export` (Odoo's own fields) cannot show. The template's fixed rule's price, else the variant's
/// sales price.
async fn storefront_differences(odoo: &dyn OdooApi, url: &str, world: &World) -> Vec<String> {
    let touched: Vec<i64> = world.priced_or_stocked.iter().copied().collect();
    let fields = ["id", "product_tmpl_id", "qty_available", "lst_price"];
    let variants = odoo
        .search_read(
            "product.product",
            &Domain::leaf("product_tmpl_id", "in", touched.clone()),
            &fields,
            &SearchOptions {
                // The catalog serves a template's archived variants too, marked inactive.
                context: Context::default().active_test(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let odoo_variants: BTreeMap<i64, &odoo_rpc::Record> =
        variants.iter().map(|v| (v.id().unwrap(), v)).collect();
    let rules = fixed_rules(odoo).await;
    let mut differences = Vec::new();
    for template in touched {
        let answer = reqwest::get(format!("{url}/api/products/{template}"))
            .await
            .unwrap();
        if answer.status() == reqwest::StatusCode::NOT_FOUND {
            continue; // deleted or archived since: `catalog export` covers it
        }
        let product: Value = answer.json().await.unwrap();
        for variant in product["variants"].as_array().into_iter().flatten() {
            let id = variant["id"].as_i64().unwrap();
            let Some(odoo_variant) = odoo_variants.get(&id) else {
                differences.push(format!("variant {id} served but not in Odoo"));
                continue;
            };
            let on_hand = odoo_variant.get_f64("qty_available").unwrap();
            if variant["stock"]["onHand"].as_f64() != Some(on_hand) {
                differences.push(format!(
                    "variant {id}: stock {}, Odoo {on_hand}",
                    variant["stock"]
                ));
            }
            let price = match rules.get(&template) {
                Some(fixed) => *fixed,
                None => odoo_variant.get_f64("lst_price").unwrap(),
            };
            let served = variant["pricelistPrice"].as_f64();
            if !served.is_some_and(|served| (served - price).abs() < 1e-6) {
                differences.push(format!(
                    "variant {id}: pricelist price {served:?}, expected {price}"
                ));
            }
        }
    }
    differences
}

async fn admin_json(url: &str) -> Value {
    let answer = reqwest::Client::new()
        .get(url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    answer.json().await.unwrap_or(Value::Null)
}

async fn chaos(app: TestApp, size: Size) {
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("chaos: CHAOS_SEED={seed} replays this run");
    let mut rng = StdRng::seed_from_u64(seed);
    app.cli_ok(&["sync", "--full"]).await;
    let port = free_port().await;
    let sweeps = [
        ("SYNC_SWEEP_INTERVAL", "0"),
        ("SYNC_RECONCILE_INTERVAL", "0"),
    ];
    let mut served = serve(&app, port, &sweeps).await;
    let url = format!("{}/api/products/sync/webhook", served.url);
    app.cli_ok(&["odoo", "install-webhooks", "--url", &url])
        .await;

    let odoo = impatient_odoo(&app).await;
    let mut world = World {
        templates: ids(&odoo, "product.template").await,
        categories: ids(&odoo, "product.category").await,
        attribute_values: ids(&odoo, "product.template.attribute.value").await,
        rules: BTreeMap::new(),
        priced_or_stocked: BTreeSet::new(),
    };
    app.set_faults(odoo_sim::Faults {
        drop_webhooks: 0.3,
        error_rate: 0.05,
        timeout_rate: 0.02,
        webhook_visibility_delay_ms: 150,
        ..Default::default()
    });
    let mut kill_at: Vec<usize> = (0..size.kills)
        .map(|_| rng.gen_range(1..size.changes))
        .collect();
    kill_at.sort_unstable();
    let mut tally = Tally::default();
    for step in 0..size.changes {
        let (kind, done) = one_change(&odoo, &mut rng, &mut world).await;
        tally.changes += 1;
        tally.failed_changes += usize::from(!done);
        *tally.by_kind.entry(kind).or_default() += 1;
        for _ in kill_at.iter().filter(|at| **at == step) {
            // Alternately mid-full-run and right after acknowledgements, before their processing.
            if tally.kills % 2 == 0 {
                let _ = reqwest::Client::new()
                    .post(format!("{}/api/products/sync", served.url))
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&json!({"forceRefresh": true}))
                    .send()
                    .await;
                sleep_ms(rng.gen_range(0..400)).await;
            }
            sigkill(&mut served).await;
            tally.kills += 1;
            served = serve(&app, port, &sweeps).await;
        }
    }

    // Heal: faults off, webhooks drained, then one sweep and one reconcile.
    let sent = app.sim.webhook_counts();
    app.set_faults(odoo_sim::Faults::default());
    sigkill(&mut served).await;
    let heal = [
        ("SYNC_SWEEP_INTERVAL", "3"),
        ("SYNC_RECONCILE_INTERVAL", "3"),
    ];
    let mut served = serve(&app, port, &heal).await;
    let expected = expected_catalog(&odoo, &["fr_FR"]).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut polls = 0;
    loop {
        sleep_ms(3_500).await;
        polls += 1;
        let status = admin_json(&format!("{}/api/products/sync/status", served.url)).await;
        let pending = admin_json(&format!(
            "{}/api/products/sync/webhooks?status=pending",
            served.url
        ))
        .await;
        let quiet =
            status["current"].is_null() && pending["events"].as_array().is_some_and(Vec::is_empty);
        // Two sweep periods at least: one sweep and one reconcile after the drain.
        let storefront = storefront_differences(&odoo, &served.url, &world).await;
        if quiet && polls >= 2 && storefront.is_empty() && app.export().await == expected {
            break;
        }
        if Instant::now() > deadline {
            eprintln!("chaos: {tally:?}; webhooks {sent:?}; seed {seed}");
            assert_same_catalog(&app.export().await, &expected);
            assert!(
                storefront.is_empty(),
                "{} stock or price differences, first ones:\n{}",
                storefront.len(),
                storefront[..storefront.len().min(15)].join("\n")
            );
            panic!("never quiet: status {status}, pending {pending}");
        }
    }
    let failed = admin_json(&format!(
        "{}/api/products/sync/webhooks?status=failed",
        served.url
    ))
    .await;
    assert_eq!(failed["events"], json!([]), "no event failed");
    assert_same_catalog(&app.export().await, &expected);
    assert_eq!(
        storefront_differences(&odoo, &served.url, &world).await,
        Vec::<String>::new()
    );
    eprintln!(
        "chaos: seed {seed}: {} changes ({} refused or timed out) {:?}, {} SIGKILLs, webhooks {sent:?}, 5% RPC 500s, 2% timeouts, 0 differences over {} products and the stock and prices of {} templates",
        tally.changes, tally.failed_changes, tally.by_kind, tally.kills, expected.len(),
        world.priced_or_stocked.len()
    );
    sigkill(&mut served).await;
}

async fn with_webhooks(mut app: TestApp) -> TestApp {
    app.env
        .insert("WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
    app.env
        .insert("SYNC_PRICELIST_ID".into(), PRICELIST.to_string());
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_on_sqlite_ends_with_the_catalog_equal_to_odoo() {
    chaos(with_webhooks(spawn_app(SMALL.products).await).await, SMALL).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_on_postgresql_ends_with_the_catalog_equal_to_odoo() {
    let app = spawn_app_with_postgres(SMALL.products).await;
    chaos(with_webhooks(app).await, SMALL).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "the full-size chaos run: minutes"]
async fn full_size_chaos_on_both_stores() {
    chaos(with_webhooks(spawn_app(FULL.products).await).await, FULL).await;
    let app = spawn_app_with_postgres(FULL.products).await;
    chaos(with_webhooks(app).await, FULL).await;
}
