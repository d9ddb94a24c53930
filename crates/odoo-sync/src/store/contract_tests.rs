//! The store contract: every assertion here runs against `SqliteStore` (a temp file) and
//! `PgStore` (a fresh PostgreSQL database per test), so the two cannot drift apart unseen. Then
//! what only PostgreSQL has to survive: two processes on one database at once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use serde_json::json;

use super::*;
use crate::domain::pricelist::{AppliesTo, PriceBase, PriceComputation, Pricelist};
use crate::domain::site_event::{AttemptOutcome, DeliveryStatus, SiteDelivery};
use crate::domain::{
    AttributeValue, NameTranslations, Phase, ProductAttribute, PublicCategory, Storefront,
    Translation, Variant, WebhookKind,
};
use crate::testkit::ScratchDatabase;

/// A store and what keeps its database alive (dropped after the store).
struct TestStore {
    store: Box<dyn CatalogStore>,
    url: String,
    _database: Database,
}

impl TestStore {
    /// Edits the database behind the store's back, as a person or an older version might.
    async fn execute_raw(&self, sqlite: &[&str], postgres: &[&str]) {
        match self._database {
            Database::Sqlite(_) => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
                for sql in sqlite {
                    sqlx::query(sql).execute(&pool).await.unwrap();
                }
            }
            Database::Postgres(_) => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                for sql in postgres {
                    sqlx::query(sql).execute(&pool).await.unwrap();
                }
            }
        }
    }
}

impl TestStore {
    /// Another handle on the same database, queueing site webhooks for `urls`.
    async fn with_site_targets(&self, urls: &[&str]) -> Box<dyn CatalogStore> {
        let targets = SiteTargets::new(urls.iter().map(|u| u.to_string()).collect());
        match self._database {
            Database::Sqlite(_) => Box::new(
                SqliteStore::connect(&self.url)
                    .await
                    .unwrap()
                    .with_site_webhooks(targets),
            ),
            Database::Postgres(_) => Box::new(
                PgStore::connect(&self.url)
                    .await
                    .unwrap()
                    .with_site_webhooks(targets),
            ),
        }
    }
}

enum Database {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] ScratchDatabase),
}

async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("catalog.sqlite").display());
    TestStore {
        store: Box::new(SqliteStore::connect(&url).await.unwrap()),
        url,
        _database: Database::Sqlite(dir),
    }
}

async fn postgres() -> TestStore {
    let database = ScratchDatabase::create()
        .await
        .expect("PostgreSQL runs (see scripts/test)");
    TestStore {
        store: Box::new(PgStore::connect(&database.url).await.unwrap()),
        url: database.url.clone(),
        _database: Database::Postgres(database),
    }
}

/// One `#[tokio::test]` per store for each contract function.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                let test = super::sqlite().await;
                super::$name(test.store.as_ref()).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                let test = super::postgres().await;
                super::$name(test.store.as_ref()).await;
            })*
        }
    };
}

contract!(
    a_written_product_reads_back_exactly_as_it_was,
    unchanged_products_are_not_rewritten_and_counts_say_what_a_batch_did,
    deleted_products_leave_the_lists_and_come_back_when_odoo_has_them_again,
    lists_filter_by_category_and_activity_and_page_in_every_sort_order,
    search_matches_every_term_as_a_prefix_without_case_or_diacritics,
    a_sku_finds_its_template_through_the_template_or_a_variant,
    the_category_tree_counts_active_products_down_the_tree,
    the_change_feed_pages_in_change_order,
    the_catalog_version_moves_with_every_write_the_api_shows_and_only_then,
    one_run_at_a_time_and_a_leased_run_belongs_to_its_owner,
    batches_advance_their_run_and_finishing_stores_the_watermarks,
    watermarks_are_stored_one_by_one_and_overwritten,
    the_kept_odoo_session_is_replaced_and_is_no_watermark,
    the_inbox_leases_reschedules_completes_fails_and_retries_events,
    inbox_stats_count_pending_and_failed_events_and_date_the_oldest_pending_one,
    a_burst_for_one_record_waits_until_it_is_quiet_then_is_claimed_whole,
    a_record_that_never_goes_quiet_is_claimed_after_the_longest_wait,
    a_claim_takes_whole_bursts_within_its_event_budget,
    pruning_deletes_only_handled_events_older_than_asked_a_chunk_at_a_time,
    stock_levels_are_written_when_they_change,
    prices_are_written_when_they_change_and_give_their_products_a_new_change,
    each_pricelist_has_its_own_rules_prices_and_state_and_an_unlisted_one_goes,
    an_endless_lease_is_held_for_a_hundred_years_by_runs_and_webhooks,
    storefront_data_reads_back_exactly_by_id_in_lists_and_in_the_export,
    the_website_scope_and_website_categories_filter_lists_and_members,
    website_categories_are_replaced_whole,
    filters_narrow_lists_and_facets_count_each_attribute_with_its_own_filter_off,
    unused_image_blobs_are_collected_with_their_copies_and_a_pass_pointing_to_one_is_refused,
    a_product_whose_images_changed_gets_a_new_change_and_one_shown_as_before_does_not,
);

/// The site outbox contract, on handles with targets (one per store).
macro_rules! outbox_contract {
    ($($name:ident),* $(,)?) => {
        mod outbox {
            $(mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::super::$name(&super::super::sqlite().await).await;
                }
                #[tokio::test]
                async fn postgres() {
                    super::super::$name(&super::super::postgres().await).await;
                }
            })*
        }
    };
}

outbox_contract!(
    every_catalog_write_queues_its_event_for_each_target_in_its_own_transaction,
    deliveries_are_leased_retried_failed_replayed_and_delivered,
    two_handles_claiming_at_once_never_take_the_same_delivery,
    pruning_deletes_only_delivered_deliveries_older_than_asked,
    a_changed_website_category_tree_tells_the_site_which_categories_moved,
);

/// The contract tests that edit the database by hand, one per store.
mod hand_edited {
    #[tokio::test]
    async fn sqlite_unreadable_values_are_errors_naming_table_column_and_row() {
        super::unreadable_values_are_errors_naming_table_column_and_row(&super::sqlite().await)
            .await;
    }

    #[tokio::test]
    async fn postgres_unreadable_values_are_errors_naming_table_column_and_row() {
        super::unreadable_values_are_errors_naming_table_column_and_row(&super::postgres().await)
            .await;
    }
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn product(id: i64, name: &str, price: f64, categ_id: Option<i64>) -> Product {
    Product {
        id,
        name: name.to_string(),
        default_code: Some(format!("SKU-{id}")),
        barcode: None,
        list_price: price,
        categ_id,
        description_sale: None,
        active: true,
        sale_ok: true,
        is_published: true,
        public_categ_ids: vec![],
        write_date: at("2026-11-01 10:00:00") + chrono::Duration::minutes(id),
        variants: vec![Variant {
            id: id * 100,
            default_code: Some(format!("SKU-{id}-V")),
            barcode: None,
            lst_price: price,
            active: true,
            product_template_attribute_value_ids: vec![],
            write_date: at("2026-11-01 10:00:00"),
        }],
        translations: BTreeMap::new(),
        extra: serde_json::Map::new(),
        storefront: Default::default(),
    }
}

fn category(id: i64, complete_name: &str, parent_id: Option<i64>) -> Category {
    Category {
        id,
        name: complete_name.rsplit(" / ").next().unwrap().to_string(),
        complete_name: complete_name.to_string(),
        parent_id,
        write_date: at("2026-11-01 09:00:00"),
    }
}

async fn write(
    store: &dyn CatalogStore,
    products: &[Product],
    categories: &[Category],
) -> RunCounts {
    store
        .apply_batch(CatalogBatch {
            products,
            categories,
            checkpoint: None,
        })
        .await
        .unwrap()
}

fn ids(page: &ProductPage) -> Vec<i64> {
    page.products.iter().map(|p| p.product.id).collect()
}

fn query(sort: ProductSort, limit: u32) -> ProductQuery {
    ProductQuery {
        limit,
        after: None,
        category: None,
        text: None,
        sort,
        include_inactive: false,
        scope: CatalogScope::All,
        public_category: None,
        attributes: Vec::new(),
        price_min: None,
        price_max: None,
        in_stock: false,
    }
}

async fn search(store: &dyn CatalogStore, text: &str) -> Vec<i64> {
    let mut found = ProductQuery {
        text: Some(text.to_string()),
        ..query(ProductSort::Name, 100)
    };
    found.sort = ProductSort::Price;
    let mut ids = ids(&store.list_products(&found).await.unwrap());
    ids.sort_unstable();
    ids
}

fn new_run(owner: &str) -> NewRun<'_> {
    static CURSOR: std::sync::OnceLock<SyncCursor> = std::sync::OnceLock::new();
    NewRun {
        mode: SyncMode::Full,
        trigger: Trigger::Cli,
        cursor: CURSOR.get_or_init(|| SyncCursor::start(Phase::Categories)),
        total: Some(3),
        owner,
        lease: Duration::from_secs(60),
    }
}

async fn a_written_product_reads_back_exactly_as_it_was(store: &dyn CatalogStore) {
    let mut chair = product(1, "Chaise élève", 49.9, Some(2));
    chair.barcode = Some("4006381333931".into());
    chair.description_sale = Some("Une chaise".into());
    chair.public_categ_ids = vec![3, 1];
    chair.extra = json!({"x_color": "red", "a_weight": 1.25, "m_tags": [1, 2], "b_none": false})
        .as_object()
        .unwrap()
        .clone();
    chair.translations.insert(
        "fr_FR".into(),
        Translation {
            name: "Chaise".into(),
            description_sale: None,
        },
    );
    chair.variants.push(Variant {
        id: 101,
        default_code: None,
        barcode: Some("123".into()),
        // Not 0.1 + 0.2: SQLite's JSON functions print 15 significant digits.
        lst_price: 12.345,
        active: false,
        product_template_attribute_value_ids: vec![7, 5],
        write_date: at("2026-11-02 11:12:13"),
    });
    let categories = [
        category(1, "All", None),
        category(2, "All / Chairs", Some(1)),
    ];
    write(store, std::slice::from_ref(&chair), &categories).await;

    let stored = store.product(1).await.unwrap().unwrap();
    assert_eq!(stored.product, chair);
    let keys: Vec<&String> = stored.product.extra.keys().collect();
    assert_eq!(
        keys,
        ["x_color", "a_weight", "m_tags", "b_none"],
        "Odoo's order"
    );
    assert_eq!(stored.category, Some(categories[1].clone()));
    assert_eq!(stored.deleted_at, None);
    let exported = store.export(false).await.unwrap();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0].product, chair);
    assert_eq!(exported[0].category, Some(categories[1].clone()));
    let listed = store.list_products(&query(ProductSort::Name, 10)).await;
    assert_eq!(listed.unwrap().products[0].product, chair);
    assert_eq!(store.product(2).await.unwrap(), None);
    store.ping().await.unwrap();
}

async fn unchanged_products_are_not_rewritten_and_counts_say_what_a_batch_did(
    store: &dyn CatalogStore,
) {
    let products = [product(1, "A", 1.0, None), product(2, "B", 2.0, None)];
    let counts = write(store, &products, &[]).await;
    assert_eq!(
        (counts.created, counts.updated, counts.unchanged),
        (2, 0, 0)
    );
    let before = store.product(1).await.unwrap().unwrap();

    let counts = write(store, &products, &[]).await;
    assert_eq!(
        (counts.created, counts.updated, counts.unchanged),
        (0, 0, 2)
    );
    let after = store.product(1).await.unwrap().unwrap();
    assert_eq!(
        (after.change_seq, after.updated_at),
        (before.change_seq, before.updated_at),
        "an unchanged product is not rewritten"
    );

    let mut archived = products[1].clone();
    archived.active = false;
    let edited = product(1, "A, renamed", 1.0, None);
    let counts = write(store, &[edited, archived], &[]).await;
    assert_eq!(
        (counts.updated, counts.archived, counts.unchanged),
        (2, 1, 0)
    );
    let renamed = store.product(1).await.unwrap().unwrap();
    assert_eq!(renamed.product.name, "A, renamed");
    assert!(renamed.change_seq > before.change_seq);
    assert_eq!(store.product_count().await.unwrap(), 2);
}

async fn deleted_products_leave_the_lists_and_come_back_when_odoo_has_them_again(
    store: &dyn CatalogStore,
) {
    let products: Vec<Product> = (1..=3).map(|id| product(id, "P", 1.0, None)).collect();
    write(store, &products, &[]).await;
    let deleted = store.mark_deleted(&[2, 2, 99], None).await.unwrap();
    assert_eq!(deleted, 1, "one live product among the ids");
    assert_eq!(store.mark_deleted(&[2], None).await.unwrap(), 0);

    let gone = store.product(2).await.unwrap().unwrap();
    assert!(gone.deleted_at.is_some(), "kept, with the time");
    assert_eq!(store.live_product_ids().await.unwrap(), vec![1, 3]);
    assert_eq!(store.product_count().await.unwrap(), 2);
    let listed = store.list_products(&query(ProductSort::Name, 10)).await;
    assert_eq!(ids(&listed.unwrap()), vec![1, 3]);
    assert_eq!(store.product_by_sku("SKU-2").await.unwrap(), None);
    assert_eq!(store.export(false).await.unwrap().len(), 2);
    assert_eq!(store.export(true).await.unwrap().len(), 3);
    let last = store.changes_since(0, 10).await.unwrap().changes;
    let last = last.last().unwrap();
    assert_eq!((last.product_id, last.deleted), (2, true));

    let counts = write(store, &products[1..2], &[]).await;
    assert_eq!((counts.created, counts.updated), (0, 1));
    let back = store.product(2).await.unwrap().unwrap();
    assert_eq!(back.deleted_at, None);
    assert_eq!(store.live_product_ids().await.unwrap(), vec![1, 2, 3]);
}

async fn lists_filter_by_category_and_activity_and_page_in_every_sort_order(
    store: &dyn CatalogStore,
) {
    let categories = [
        category(1, "All", None),
        category(2, "All / Chairs", Some(1)),
        category(3, "Other", None),
    ];
    let mut products = vec![
        product(1, "cherry", 30.0, Some(1)),
        product(2, "Banana", 10.0, Some(2)),
        product(3, "apple", 20.0, Some(3)),
        product(4, "apple", 10.0, Some(2)),
        product(5, "Zed", 5.0, None),
    ];
    products[4].active = false;
    write(store, &products, &categories).await;

    // Byte order: upper case before lower case, ties by id.
    let mut by_name = query(ProductSort::Name, 2);
    let mut seen = Vec::new();
    loop {
        let page = store.list_products(&by_name).await.unwrap();
        seen.extend(ids(&page));
        match page.next {
            Some(next) => by_name.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, vec![2, 3, 4, 1]);

    let by_price = store.list_products(&query(ProductSort::Price, 3)).await;
    let by_price = by_price.unwrap();
    assert_eq!(ids(&by_price), vec![2, 4, 3]);
    let rest = ProductQuery {
        after: by_price.next.clone(),
        ..query(ProductSort::Price, 3)
    };
    let rest = store.list_products(&rest).await.unwrap();
    assert_eq!((ids(&rest), rest.next), (vec![1], None));

    let updated = store.list_products(&query(ProductSort::Updated, 2)).await;
    let updated = updated.unwrap();
    assert_eq!(ids(&updated), vec![4, 3]);
    assert!(matches!(updated.next, Some(SortKey::Updated { id: 3, .. })));
    let rest = ProductQuery {
        after: updated.next,
        ..query(ProductSort::Updated, 10)
    };
    assert_eq!(ids(&store.list_products(&rest).await.unwrap()), vec![2, 1]);

    let below_all = ProductQuery {
        category: Some(1),
        ..query(ProductSort::Name, 10)
    };
    assert_eq!(
        ids(&store.list_products(&below_all).await.unwrap()),
        vec![2, 4, 1]
    );
    let chairs = ProductQuery {
        category: Some(2),
        ..query(ProductSort::Name, 10)
    };
    assert_eq!(
        ids(&store.list_products(&chairs).await.unwrap()),
        vec![2, 4]
    );
    let everything = ProductQuery {
        include_inactive: true,
        ..query(ProductSort::Price, 10)
    };
    assert_eq!(
        ids(&store.list_products(&everything).await.unwrap()),
        vec![5, 2, 4, 3, 1]
    );
    let page = store.list_products(&query(ProductSort::Name, 10)).await;
    let page = page.unwrap();
    assert_eq!(page.next, None);
    assert_eq!(
        page.products[0].category.as_ref().map(|c| c.id),
        Some(2),
        "a listed product comes with its category"
    );
}

async fn search_matches_every_term_as_a_prefix_without_case_or_diacritics(
    store: &dyn CatalogStore,
) {
    let mut chair = product(1, "Chaise élève", 10.0, None);
    chair.default_code = Some("FURN_0096".into());
    chair.barcode = Some("4006381333931".into());
    chair.translations.insert(
        "de_DE".into(),
        Translation {
            name: "Schülerstuhl".into(),
            description_sale: Some("bureau".into()),
        },
    );
    chair.variants[0].default_code = Some("CH-RED".into());
    let mut desk = product(2, "Bureau d'élève", 20.0, None);
    desk.default_code = Some("FURN_1000".into());
    let mut lamp = product(3, "Lamp", 30.0, None);
    lamp.default_code = Some("LAMP furn".into());
    let mut archived = product(4, "Chaise archivée", 40.0, None);
    archived.active = false;
    write(store, &[chair, desk, lamp, archived], &[]).await;

    assert_eq!(search(store, "eleve").await, vec![1, 2]);
    assert_eq!(search(store, "ÉLÈ").await, vec![1, 2], "a prefix, any case");
    assert_eq!(search(store, "chaise eleve").await, vec![1], "every term");
    assert_eq!(search(store, "schüler").await, vec![1], "translated names");
    assert_eq!(search(store, "FURN_0096").await, vec![1], "SKUs");
    assert_eq!(search(store, "furn_00").await, vec![1]);
    assert_eq!(search(store, "furn").await, vec![1, 2, 3]);
    assert_eq!(search(store, "0096").await, vec![1]);
    assert_eq!(
        search(store, "urn").await,
        Vec::<i64>::new(),
        "prefixes only"
    );
    assert_eq!(search(store, "40063813").await, vec![1], "barcodes");
    assert_eq!(search(store, "ch-red").await, vec![1], "variant codes");
    assert_eq!(search(store, "d'élève").await, vec![2]);
    assert_eq!(
        search(store, "\"bureau\"").await,
        vec![2],
        "names, not descriptions"
    );
    assert_eq!(search(store, "lamp furn").await, vec![3]);
    assert_eq!(search(store, "nothing").await, Vec::<i64>::new());
    assert_eq!(search(store, " - * ").await, Vec::<i64>::new());
}

async fn a_sku_finds_its_template_through_the_template_or_a_variant(store: &dyn CatalogStore) {
    let products: Vec<Product> = (1..=3).map(|id| product(id, "P", 1.0, None)).collect();
    write(store, &products, &[]).await;
    let by_template = store.product_by_sku("SKU-2").await.unwrap().unwrap();
    assert_eq!(by_template.product.id, 2);
    let by_variant = store.product_by_sku("SKU-3-V").await.unwrap().unwrap();
    assert_eq!(by_variant.product.id, 3);
    assert_eq!(by_variant.product.variants[0].id, 300);
    assert_eq!(store.product_by_sku("sku-2").await.unwrap(), None, "exact");
    assert_eq!(store.product_by_sku("SKU-9").await.unwrap(), None);
}

async fn the_category_tree_counts_active_products_down_the_tree(store: &dyn CatalogStore) {
    let categories = [
        category(1, "All", None),
        category(2, "All / Chairs", Some(1)),
        category(3, "All / Chairs / Office", Some(2)),
        category(4, "Empty", None),
    ];
    let mut products = vec![
        product(1, "a", 1.0, Some(1)),
        product(2, "b", 1.0, Some(3)),
        product(3, "c", 1.0, Some(3)),
        product(4, "d", 1.0, Some(2)),
        product(5, "e", 1.0, Some(2)),
    ];
    products[4].active = false;
    write(store, &products, &categories).await;
    store.mark_deleted(&[1], None).await.unwrap();
    let tree = store.category_tree().await.unwrap();
    let counts: Vec<(String, u64, u64)> = tree
        .iter()
        .map(|n| {
            (
                n.category.complete_name.clone(),
                n.product_count,
                n.total_count,
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            ("All".to_string(), 0, 3),
            ("All / Chairs".to_string(), 1, 3),
            ("All / Chairs / Office".to_string(), 2, 2),
            ("Empty".to_string(), 0, 0),
        ]
    );
    assert_eq!(tree[2].category, categories[2]);
}

async fn the_change_feed_pages_in_change_order(store: &dyn CatalogStore) {
    let products: Vec<Product> = (1..=4).map(|id| product(id, "P", 1.0, None)).collect();
    write(store, &products, &[]).await;
    write(store, &[product(2, "P, edited", 1.0, None)], &[]).await;
    store.mark_deleted(&[3], None).await.unwrap();

    let first = store.changes_since(0, 3).await.unwrap();
    assert!(first.has_more);
    let order: Vec<i64> = first.changes.iter().map(|c| c.product_id).collect();
    assert_eq!(order, vec![1, 4, 2]);
    assert_eq!(first.last_seq, first.changes[2].seq);
    assert!(first.changes.windows(2).all(|w| w[0].seq < w[1].seq));
    let rest = store.changes_since(first.last_seq, 3).await.unwrap();
    assert!(!rest.has_more);
    assert_eq!(rest.changes.len(), 1);
    assert_eq!(
        (rest.changes[0].product_id, rest.changes[0].deleted),
        (3, true)
    );
    let nothing = store.changes_since(rest.last_seq, 3).await.unwrap();
    assert_eq!(
        (nothing.changes.len(), nothing.last_seq),
        (0, rest.last_seq)
    );
    let stored = store.product(3).await.unwrap().unwrap();
    assert_eq!(rest.changes[0].changed_at, stored.updated_at);
}

async fn the_catalog_version_moves_with_every_write_the_api_shows_and_only_then(
    store: &dyn CatalogStore,
) {
    async fn moved(store: &dyn CatalogStore, before: &mut i64) -> bool {
        let now = store.catalog_version().await.unwrap();
        let moved = now != *before;
        *before = now;
        moved
    }
    let mut version = store.catalog_version().await.unwrap();
    let categories = [category(1, "All", None)];
    let products = [product(1, "A", 1.0, Some(1))];
    write(store, &products, &categories).await;
    assert!(moved(store, &mut version).await, "new rows");
    write(store, &products, &categories).await;
    assert!(!moved(store, &mut version).await, "nothing changed");
    write(store, &[], &[category(1, "Everything", None)]).await;
    assert!(moved(store, &mut version).await, "a renamed category");
    write(store, &[product(1, "A2", 1.0, Some(1))], &[]).await;
    assert!(moved(store, &mut version).await, "an edited product");

    let level = StockLevel {
        variant_id: 100,
        qty_available: 5.0,
        free_qty: 4.0,
    };
    assert_eq!(store.set_stock(&[level]).await.unwrap(), 1);
    assert!(moved(store, &mut version).await, "stock");
    assert_eq!(store.set_stock(&[level]).await.unwrap(), 0);
    assert!(!moved(store, &mut version).await, "the same stock");

    let state = PricingState {
        seq: 0,
        priced_at: at("2026-11-24 10:00:00"),
        next_boundary: None,
    };
    let price = VariantPrice {
        variant_id: 100,
        template_id: 1,
        price: Some(0.5),
        rule_id: Some(9),
    };
    store.set_prices(1, &[price], &state).await.unwrap();
    assert!(moved(store, &mut version).await, "a price");
    store.set_prices(1, &[price], &state).await.unwrap();
    assert!(!moved(store, &mut version).await, "the same price");

    let run = store.create_run(new_run("me")).await.unwrap();
    store
        .finish_run(run.id, RunStatus::Succeeded, None, &BTreeMap::new())
        .await
        .unwrap();
    store.enqueue_webhook(&save_of(1)).await.unwrap();
    store
        .set_watermark(WatermarkKey::Template, Watermark(at("2026-11-24 10:00:00")))
        .await
        .unwrap();
    assert!(
        !moved(store, &mut version).await,
        "bookkeeping is not shown"
    );

    store.mark_deleted(&[1], None).await.unwrap();
    assert!(moved(store, &mut version).await, "a deletion");
}

async fn one_run_at_a_time_and_a_leased_run_belongs_to_its_owner(store: &dyn CatalogStore) {
    assert_eq!(store.running_run().await.unwrap(), None);
    let run = store.create_run(new_run("worker-a")).await.unwrap();
    assert_eq!(
        (run.status, run.mode, run.trigger, run.total),
        (RunStatus::Running, SyncMode::Full, Trigger::Cli, Some(3))
    );
    assert_eq!(store.running_run().await.unwrap(), Some(run.clone()));
    match store.create_run(new_run("worker-b")).await {
        Err(StoreError::RunInProgress { running }) => assert_eq!(running, run.id),
        other => panic!("a second run started: {other:?}"),
    }

    let lease = Duration::from_secs(60);
    match store.claim_run(run.id, "worker-b", lease, None).await {
        Err(StoreError::RunLeased { run: id, owner, .. }) => {
            assert_eq!((id, owner.as_str()), (run.id, "worker-a"))
        }
        other => panic!("another owner took the lease: {other:?}"),
    }
    store
        .claim_run(run.id, "worker-a", lease, None)
        .await
        .unwrap();
    let stolen = store
        .claim_run(run.id, "worker-b", lease, Some("worker-a"))
        .await;
    assert_eq!(stolen.unwrap().id, run.id, "from an owner known dead");
    store.release_run(run.id, "worker-a").await.unwrap();
    assert!(
        store
            .claim_run(run.id, "worker-a", lease, None)
            .await
            .is_err(),
        "releasing someone else's lease does nothing"
    );
    store.release_run(run.id, "worker-b").await.unwrap();
    store
        .claim_run(run.id, "worker-a", lease, None)
        .await
        .unwrap();
    let expired = store
        .claim_run(run.id, "worker-b", Duration::ZERO, Some("worker-a"))
        .await
        .unwrap();
    assert_eq!(expired.status, RunStatus::Running);
    store
        .claim_run(run.id, "worker-c", lease, None)
        .await
        .expect("an expired lease is free");

    let finished = store
        .finish_run(run.id, RunStatus::Failed, Some("boom"), &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(
        (finished.status, finished.error.as_deref()),
        (RunStatus::Failed, Some("boom"))
    );
    assert!(finished.finished_at.is_some());
    let claimed = store.claim_run(run.id, "worker-d", lease, None).await;
    assert_eq!(
        claimed.unwrap().status,
        RunStatus::Failed,
        "finished stays finished"
    );
    assert_eq!(store.running_run().await.unwrap(), None);

    let skipped = store
        .record_skipped_run(SyncMode::Incremental, Trigger::Schedule, "already running")
        .await
        .unwrap();
    assert_eq!(skipped.status, RunStatus::Skipped);
    let next = store.create_run(new_run("worker-a")).await.unwrap();
    let recent: Vec<RunId> = store
        .recent_runs(10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(recent, vec![next.id, skipped.id, run.id]);
    assert_eq!(store.run(RunId(next.id.0 + 100)).await.unwrap(), None);
    assert!(matches!(
        store
            .claim_run(RunId(next.id.0 + 100), "x", lease, None)
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn batches_advance_their_run_and_finishing_stores_the_watermarks(store: &dyn CatalogStore) {
    let run = store.create_run(new_run("me")).await.unwrap();
    let mut cursor = SyncCursor::start(Phase::Templates);
    cursor.position = Some(crate::domain::Position {
        write_date: Some(at("2026-11-01 10:00:00")),
        id: 2,
    });
    let products = [product(1, "A", 1.0, None), product(2, "B", 1.0, None)];
    let checkpoint = |cursor| Checkpoint {
        run: run.id,
        cursor,
        total: Some(10),
    };
    store
        .apply_batch(CatalogBatch {
            products: &products,
            categories: &[],
            checkpoint: Some(checkpoint(&cursor)),
        })
        .await
        .unwrap();
    store
        .mark_deleted(&[1], Some(checkpoint(&cursor)))
        .await
        .unwrap();
    let now = store.run(run.id).await.unwrap().unwrap();
    assert_eq!(
        (
            now.processed,
            now.counts.created,
            now.counts.deleted,
            now.total
        ),
        (2, 2, 1, Some(10))
    );
    assert_eq!(now.cursor, cursor);

    let marks = BTreeMap::from([
        (WatermarkKey::Template, Watermark(at("2026-11-01 10:02:00"))),
        (WatermarkKey::Category, Watermark(at("2026-11-01 09:00:00"))),
    ]);
    let finished = store
        .finish_run(run.id, RunStatus::Succeeded, None, &marks)
        .await
        .unwrap();
    assert_eq!(finished.status, RunStatus::Succeeded);
    assert_eq!(store.watermarks().await.unwrap(), marks);
    let late = store
        .apply_batch(CatalogBatch {
            products: &products,
            categories: &[],
            checkpoint: Some(checkpoint(&cursor)),
        })
        .await;
    assert!(
        matches!(late, Err(StoreError::NotFound { .. })),
        "a finished run takes no batch: {late:?}"
    );
}

async fn watermarks_are_stored_one_by_one_and_overwritten(store: &dyn CatalogStore) {
    assert!(store.watermarks().await.unwrap().is_empty());
    let first = Watermark(at("2026-11-01 10:00:00"));
    let second = Watermark(at("2026-11-02 10:00:00"));
    store
        .set_watermark(WatermarkKey::StockQuant, first)
        .await
        .unwrap();
    store
        .set_watermark(WatermarkKey::StockQuant, second)
        .await
        .unwrap();
    store
        .set_watermark(WatermarkKey::Variant, first)
        .await
        .unwrap();
    assert_eq!(
        store.watermarks().await.unwrap(),
        BTreeMap::from([
            (WatermarkKey::Variant, first),
            (WatermarkKey::StockQuant, second)
        ])
    );
}

async fn the_kept_odoo_session_is_replaced_and_is_no_watermark(store: &dyn CatalogStore) {
    assert_eq!(store.odoo_session().await.unwrap(), None);
    let saved_at = chrono::DateTime::parse_from_rfc3339("2026-11-24T10:00:00.123456Z")
        .unwrap()
        .to_utc();
    let first = OdooSession {
        server: "http://odoo:8069 db=shop login=admin".into(),
        uid: 2,
        saved_at,
    };
    let second = OdooSession {
        uid: 7,
        ..first.clone()
    };
    store.save_odoo_session(&first).await.unwrap();
    store.save_odoo_session(&second).await.unwrap();
    assert_eq!(store.odoo_session().await.unwrap(), Some(second));
    assert!(store.watermarks().await.unwrap().is_empty());
}

fn save_of(record_id: i64) -> NewWebhookEvent {
    NewWebhookEvent {
        model: "product.template".into(),
        record_id,
        kind: WebhookKind::Save,
        hinted_write_date: None,
        product_id: None,
        payload: "{}".into(),
    }
}

const LEASE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const QUIET: Coalesce = Coalesce {
    quiet: Duration::ZERO,
    max_wait: HOUR,
};

async fn the_inbox_leases_reschedules_completes_fails_and_retries_events(store: &dyn CatalogStore) {
    let hinted =
        NaiveDateTime::parse_from_str("2026-11-24 13:27:27.959605", "%Y-%m-%d %H:%M:%S%.f");
    let event = NewWebhookEvent {
        model: "stock.quant".into(),
        kind: WebhookKind::Unlink,
        hinted_write_date: Some(hinted.unwrap()),
        payload: r#"{"_id": 7,  "b": 1, "a": 2}"#.into(),
        ..save_of(7)
    };
    let id = store.enqueue_webhook(&event).await.unwrap();
    let other = store.enqueue_webhook(&save_of(8)).await.unwrap();
    assert_eq!(store.webhook_backlog().await.unwrap(), 2);

    let claimed = store.claim_webhooks(1, LEASE, QUIET).await.unwrap();
    assert_eq!(claimed.len(), 1, "one record");
    let first = &claimed[0];
    assert_eq!(first.id, id, "the oldest due first");
    assert_eq!(
        (
            &first.model,
            first.record_id,
            first.kind,
            first.hinted_write_date
        ),
        (
            &event.model,
            7,
            WebhookKind::Unlink,
            event.hinted_write_date
        )
    );
    assert_eq!(first.payload, event.payload, "byte for byte");
    assert_eq!((first.state, first.attempts), (WebhookState::Pending, 1));
    let claimed = store.claim_webhooks(10, LEASE, QUIET).await.unwrap();
    assert_eq!(
        claimed.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![other],
        "a leased event is not claimed again"
    );

    let later = Utc::now() + chrono::Duration::hours(1);
    store
        .reschedule_webhooks(&[id], later, Some("not visible yet"))
        .await
        .unwrap();
    assert!(store
        .claim_webhooks(10, LEASE, QUIET)
        .await
        .unwrap()
        .is_empty());
    let earlier = Utc::now() - chrono::Duration::seconds(1);
    store
        .reschedule_webhooks(&[id], earlier, None)
        .await
        .unwrap();
    let again = store.claim_webhooks(10, LEASE, QUIET).await.unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 2));
    assert_eq!(again[0].last_error.as_deref(), Some("not visible yet"));

    store.complete_webhooks(&[other], "applied").await.unwrap();
    store.fail_webhooks(&[id], "gave up").await.unwrap();
    assert_eq!(store.webhook_backlog().await.unwrap(), 0);
    let all = store.webhooks(None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![other, id]
    );
    let done = &all[0];
    assert_eq!(
        (done.state, done.outcome.as_deref()),
        (WebhookState::Done, Some("applied"))
    );
    let failed = store
        .webhooks(Some(WebhookState::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (
            failed[0].last_error.as_deref(),
            failed[0].outcome.as_deref()
        ),
        (Some("gave up"), Some("failed"))
    );
    assert_eq!(
        store
            .webhooks(Some(WebhookState::Done), 1)
            .await
            .unwrap()
            .len(),
        1
    );

    assert_eq!(
        store.retry_webhook(other).await.unwrap(),
        None,
        "not failed"
    );
    let retried = store.retry_webhook(id).await.unwrap().unwrap();
    assert_eq!(
        (retried.state, retried.attempts, retried.outcome),
        (WebhookState::Pending, 0, None)
    );
    assert_eq!(store.webhook_backlog().await.unwrap(), 1);
    assert_eq!(
        store.claim_webhooks(10, LEASE, QUIET).await.unwrap().len(),
        1
    );
}

async fn inbox_stats_count_pending_and_failed_events_and_date_the_oldest_pending_one(
    store: &dyn CatalogStore,
) {
    assert_eq!(
        store.webhook_inbox_stats().await.unwrap(),
        QueueStats::default()
    );
    let first = store.enqueue_webhook(&save_of(1)).await.unwrap();
    let second = store.enqueue_webhook(&save_of(2)).await.unwrap();
    let third = store.enqueue_webhook(&save_of(3)).await.unwrap();
    store.fail_webhooks(&[third], "gave up").await.unwrap();
    let received =
        |id: i64, events: &[WebhookEvent]| events.iter().find(|e| e.id == id).unwrap().received_at;
    let events = store.webhooks(None, 10).await.unwrap();
    let stats = store.webhook_inbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.failed), (2, 1));
    assert_eq!(stats.oldest_pending_at, Some(received(first, &events)));
    // The first one done: the oldest pending one is now the second.
    store.complete_webhooks(&[first], "applied").await.unwrap();
    let stats = store.webhook_inbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.failed), (1, 1));
    assert_eq!(stats.oldest_pending_at, Some(received(second, &events)));
}

async fn a_burst_for_one_record_waits_until_it_is_quiet_then_is_claimed_whole(
    store: &dyn CatalogStore,
) {
    for _ in 0..5 {
        store.enqueue_webhook(&save_of(7)).await.unwrap();
    }
    store.enqueue_webhook(&save_of(8)).await.unwrap();
    let still_bursting = Coalesce {
        quiet: HOUR,
        max_wait: HOUR,
    };
    let claimed = store.claim_webhooks(100, LEASE, still_bursting).await;
    assert_eq!(claimed.unwrap(), vec![]);

    let claimed = store.claim_webhooks(1, LEASE, QUIET).await.unwrap();
    assert_eq!(
        claimed.len(),
        5,
        "the record's whole burst, one record only"
    );
    assert!(claimed.iter().all(|event| event.record_id == 7));
}

async fn a_record_that_never_goes_quiet_is_claimed_after_the_longest_wait(
    store: &dyn CatalogStore,
) {
    store.enqueue_webhook(&save_of(7)).await.unwrap();
    let endless_burst_capped = Coalesce {
        quiet: HOUR,
        max_wait: Duration::ZERO,
    };
    let claimed = store.claim_webhooks(10, LEASE, endless_burst_capped).await;
    assert_eq!(claimed.unwrap().len(), 1);
}

/// A claim of `limit` records takes at most 5 events per record, counted over whole bursts: the
/// oldest record always, however long its burst, and the next ones while the budget lasts.
async fn a_claim_takes_whole_bursts_within_its_event_budget(store: &dyn CatalogStore) {
    for record in [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3] {
        store.enqueue_webhook(&save_of(record)).await.unwrap();
    }
    let records = |events: Vec<WebhookEvent>| -> Vec<i64> {
        events.iter().map(|event| event.record_id).collect()
    };
    let first = store.claim_webhooks(2, LEASE, QUIET).await.unwrap();
    assert_eq!(records(first), vec![1; 12], "over the budget of 10, alone");
    let second = store.claim_webhooks(2, LEASE, QUIET).await.unwrap();
    assert_eq!(records(second), vec![2, 2, 2, 3], "two records, within 10");
    assert!(store
        .claim_webhooks(2, LEASE, QUIET)
        .await
        .unwrap()
        .is_empty());
}

async fn pruning_deletes_only_handled_events_older_than_asked_a_chunk_at_a_time(
    store: &dyn CatalogStore,
) {
    let mut ids = Vec::new();
    for record in 1..=5 {
        ids.push(store.enqueue_webhook(&save_of(record)).await.unwrap());
    }
    store.complete_webhooks(&ids[..3], "applied").await.unwrap();
    store.fail_webhooks(&ids[3..4], "odoo down").await.unwrap();
    let handled_at = Utc::now();
    let an_hour_ago = handled_at - chrono::Duration::hours(1);
    assert_eq!(store.prune_webhooks(an_hour_ago, 10).await.unwrap(), 0);

    let later = handled_at + chrono::Duration::seconds(1);
    assert_eq!(store.prune_webhooks(later, 2).await.unwrap(), 2, "a chunk");
    assert_eq!(store.prune_webhooks(later, 2).await.unwrap(), 1);
    assert_eq!(store.prune_webhooks(later, 2).await.unwrap(), 0);
    let mut left: Vec<(i64, WebhookState)> = store
        .webhooks(None, 10)
        .await
        .unwrap()
        .iter()
        .map(|event| (event.id, event.state))
        .collect();
    left.sort_by_key(|(id, _)| *id);
    let expected = vec![
        (ids[3], WebhookState::Failed),
        (ids[4], WebhookState::Pending),
    ];
    assert_eq!(left, expected, "failed and pending events stay");
}

async fn stock_levels_are_written_when_they_change(store: &dyn CatalogStore) {
    write(store, &[product(1, "A", 1.0, None)], &[]).await;
    let level = |qty: f64| StockLevel {
        variant_id: 100,
        qty_available: qty,
        free_qty: qty - 1.0,
    };
    assert_eq!(store.set_stock(&[level(5.0)]).await.unwrap(), 1);
    assert_eq!(store.set_stock(&[level(5.0)]).await.unwrap(), 0);
    assert_eq!(store.set_stock(&[level(3.0)]).await.unwrap(), 1);
    let stored = store.product(1).await.unwrap().unwrap();
    assert_eq!(stored.stock, BTreeMap::from([(100, level(3.0))]));
    let listed = store.list_products(&query(ProductSort::Name, 1)).await;
    assert_eq!(listed.unwrap().products[0].stock, stored.stock);
}

async fn prices_are_written_when_they_change_and_give_their_products_a_new_change(
    store: &dyn CatalogStore,
) {
    assert_eq!(store.pricing_state(1).await.unwrap(), None);
    assert!(store.pricelist_rules(1).await.unwrap().is_empty());
    let rule = |id: i64, computation| PricelistRule {
        id,
        applies_to: AppliesTo::Category(2),
        min_quantity: 0.0,
        valid_from: Some(at("2026-11-27 00:00:00")),
        valid_until: None,
        base: PriceBase::ListPrice,
        computation,
        write_date: at("2026-11-24 10:00:00"),
    };
    let rules = vec![
        rule(5, PriceComputation::Percentage(30.0)),
        rule(9, PriceComputation::Fixed(12.5)),
    ];
    store.replace_pricelist_rules(1, &rules).await.unwrap();
    store.replace_pricelist_rules(1, &rules).await.unwrap();
    assert_eq!(store.pricelist_rules(1).await.unwrap(), rules);
    assert!(store.pricelist_rules(5).await.unwrap().is_empty());

    let categories = [
        category(1, "All", None),
        category(2, "All / Chairs", Some(1)),
    ];
    let products = [product(1, "A", 10.0, Some(2)), product(2, "B", 20.0, None)];
    write(store, &products, &categories).await;
    let (variants, newest) = store.variants_to_price(0).await.unwrap();
    let mut variants = variants;
    variants.sort_by_key(|v| v.variant_id);
    assert_eq!(
        variants,
        vec![
            PricedVariant {
                variant_id: 100,
                template_id: 1,
                categories: vec![2, 1],
                list_price: 10.0
            },
            PricedVariant {
                variant_id: 200,
                template_id: 2,
                categories: vec![],
                list_price: 20.0
            },
        ]
    );
    let state = PricingState {
        seq: newest,
        priced_at: at("2026-11-24 10:00:00"),
        next_boundary: Some(at("2026-11-27 00:00:00")),
    };
    let prices = [
        VariantPrice {
            variant_id: 100,
            template_id: 1,
            price: Some(7.0),
            rule_id: Some(5),
        },
        VariantPrice {
            variant_id: 200,
            template_id: 2,
            price: None,
            rule_id: None,
        },
    ];
    assert_eq!(store.set_prices(1, &prices, &state).await.unwrap(), 2);
    assert_eq!(store.pricing_state(1).await.unwrap(), Some(state.clone()));
    assert_eq!(store.pricing_state(5).await.unwrap(), None);
    let priced = store.product(1).await.unwrap().unwrap();
    assert!(priced.change_seq > newest, "the feed sees the new price");
    let under_one = |price| BTreeMap::from([(1, price)]);
    assert_eq!(priced.prices, BTreeMap::from([(100, under_one(Some(7.0)))]));
    assert_eq!(
        store.product(2).await.unwrap().unwrap().prices,
        BTreeMap::from([(200, under_one(None))]),
        "priced, but not computable"
    );
    let (variants, _) = store.variants_to_price(newest).await.unwrap();
    let repriced: BTreeSet<i64> = variants.iter().map(|v| v.template_id).collect();
    assert_eq!(repriced, BTreeSet::from([1, 2]));

    let feed = store.changes_since(0, 10).await.unwrap().last_seq;
    assert_eq!(store.set_prices(1, &prices, &state).await.unwrap(), 0);
    assert_eq!(
        store.changes_since(0, 10).await.unwrap().last_seq,
        feed,
        "unchanged prices move nothing"
    );
    let mut cheaper = prices;
    cheaper[0].price = Some(6.0);
    assert_eq!(store.set_prices(1, &cheaper, &state).await.unwrap(), 1);
    let (variants, _) = store.variants_to_price(feed).await.unwrap();
    assert_eq!(variants.len(), 1);
    assert_eq!(variants[0].template_id, 1);
}

async fn each_pricelist_has_its_own_rules_prices_and_state_and_an_unlisted_one_goes(
    store: &dyn CatalogStore,
) {
    let pricelist = |id: i64, name: &str, currency: &str| Pricelist {
        id,
        name: name.into(),
        currency: Some(currency.into()),
    };
    let europe = pricelist(5, "Europe", "EUR");
    let public = pricelist(1, "Public", "USD");
    assert!(store.pricelists().await.unwrap().is_empty());
    store
        .set_pricelists(&[europe.clone(), public.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.pricelists().await.unwrap(),
        vec![europe.clone(), public.clone()],
        "in the configured order"
    );
    write(store, &[product(1, "A", 10.0, None)], &[]).await;
    let rule = PricelistRule {
        id: 3,
        applies_to: AppliesTo::All,
        min_quantity: 0.0,
        valid_from: None,
        valid_until: None,
        base: PriceBase::ListPrice,
        computation: PriceComputation::Fixed(9.0),
        write_date: at("2026-11-24 10:00:00"),
    };
    store
        .replace_pricelist_rules(5, std::slice::from_ref(&rule))
        .await
        .unwrap();
    let state = |seq| PricingState {
        seq,
        priced_at: at("2026-11-24 10:00:00"),
        next_boundary: None,
    };
    let price = |price: f64, rule_id| VariantPrice {
        variant_id: 100,
        template_id: 1,
        price: Some(price),
        rule_id,
    };
    assert_eq!(
        store
            .set_prices(5, &[price(9.0, Some(3))], &state(7))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .set_prices(1, &[price(10.0, None)], &state(8))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .set_prices(1, &[price(10.0, None)], &state(8))
            .await
            .unwrap(),
        0,
        "the same price under pricelist 1, whatever pricelist 5 holds"
    );
    let stored = store.product(1).await.unwrap().unwrap();
    assert_eq!(
        stored.prices,
        BTreeMap::from([(100, BTreeMap::from([(1, Some(10.0)), (5, Some(9.0))]))])
    );
    assert_eq!(store.pricing_state(5).await.unwrap(), Some(state(7)));
    assert_eq!(store.pricing_state(1).await.unwrap(), Some(state(8)));

    let renamed = pricelist(1, "Public (USD)", "USD");
    store
        .set_pricelists(std::slice::from_ref(&renamed))
        .await
        .unwrap();
    assert_eq!(store.pricelists().await.unwrap(), vec![renamed]);
    assert!(store.pricelist_rules(5).await.unwrap().is_empty());
    assert_eq!(store.pricing_state(5).await.unwrap(), None);
    assert_eq!(store.pricing_state(1).await.unwrap(), Some(state(8)));
    let stored = store.product(1).await.unwrap().unwrap();
    assert_eq!(
        stored.prices,
        BTreeMap::from([(100, BTreeMap::from([(1, Some(10.0))]))]),
        "pricelist 5's prices went with it"
    );
}

async fn an_endless_lease_is_held_for_a_hundred_years_by_runs_and_webhooks(
    store: &dyn CatalogStore,
) {
    let years = |n: i64| chrono::Duration::days(365 * n);
    let before = Utc::now();
    let run = store
        .create_run(NewRun {
            lease: Duration::MAX,
            ..new_run("worker-a")
        })
        .await
        .unwrap();
    for holder in ["worker-a", "worker-b"] {
        match store.claim_run(run.id, "worker-c", LEASE, None).await {
            Err(StoreError::RunLeased { owner, until, .. }) => {
                assert_eq!(owner, holder);
                assert!(
                    until > before + years(100) - chrono::Duration::days(1)
                        && until <= Utc::now() + years(100),
                    "held until {until}, 100 years from now"
                );
            }
            other => panic!("the endless lease of {holder} was taken: {other:?}"),
        }
        store
            .claim_run(run.id, "worker-b", Duration::MAX, Some("worker-a"))
            .await
            .unwrap();
    }

    let id = store.enqueue_webhook(&save_of(7)).await.unwrap();
    let claimed = store
        .claim_webhooks(10, Duration::MAX, QUIET)
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|e| e.id).collect::<Vec<_>>(), vec![id]);
    assert!(
        store
            .claim_webhooks(10, LEASE, QUIET)
            .await
            .unwrap()
            .is_empty(),
        "a leased event is not claimed again"
    );
}

/// What a read of a hand-edited row must say instead of panicking.
fn assert_unreadable<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    (table, column, row): (&str, &str, &str),
) {
    match result {
        Err(StoreError::Decode {
            table: t,
            column: c,
            row: r,
            ..
        }) => assert_eq!((t, c.as_str(), r.as_str()), (table, column, row)),
        other => panic!("expected {table}.{column} of {row} unreadable, got {other:?}"),
    }
}

async fn unreadable_values_are_errors_naming_table_column_and_row(test: &TestStore) {
    let store = test.store.as_ref();
    write(store, &[product(7, "Lamp", 10.0, None)], &[]).await;
    let run = store.create_run(new_run("worker-a")).await.unwrap();
    let event = store.enqueue_webhook(&save_of(7)).await.unwrap();
    test.execute_raw(
        &[
            "update product set list_price = 'cheap' where product_id = 7",
            "update sync_run set processed = 'many'",
            "update webhook_event set received_at = 'yesterday'",
        ],
        &[
            "alter table product alter column list_price type text",
            "update product set list_price = 'cheap' where product_id = 7",
            // A NULL where a count is expected, as SQLite cannot drop a `not null`: a new
            // column type would also fail the store's prepared statements before any decoding.
            "alter table sync_run alter column processed drop not null",
            "update sync_run set processed = null",
            "alter table webhook_event alter column received_at drop not null",
            "update webhook_event set received_at = null",
        ],
    )
    .await;

    let price = ("product", "list_price", "product_id=7");
    assert_unreadable(store.product(7).await, price);
    assert_unreadable(store.export(false).await, price);
    assert_unreadable(
        store.list_products(&query(ProductSort::Name, 10)).await,
        price,
    );
    let processed = (
        "sync_run",
        "processed",
        &*format!("sync_run_id={}", run.id.0),
    );
    assert_unreadable(store.run(run.id).await, processed);
    assert_unreadable(store.running_run().await, processed);
    assert_unreadable(store.recent_runs(10).await, processed);
    let received = (
        "webhook_event",
        "received_at",
        &*format!("webhook_event_id={event}"),
    );
    assert_unreadable(store.webhooks(None, 10).await, received);
}

/// Two odoo-sync processes on one PostgreSQL database.
mod postgres_concurrency {
    use std::sync::Arc;

    use super::*;

    /// Two stores on one fresh database, started at once: both migrate it, one after the other.
    async fn two_stores() -> (ScratchDatabase, Arc<PgStore>, Arc<PgStore>) {
        let database = ScratchDatabase::create().await.unwrap();
        let (one, two) = tokio::join!(
            PgStore::connect(&database.url),
            PgStore::connect(&database.url)
        );
        (database, Arc::new(one.unwrap()), Arc::new(two.unwrap()))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_stores_claiming_webhooks_at_once_never_claim_the_same_event_nor_split_a_burst() {
        let (_database, one, two) = two_stores().await;
        let mut expected = BTreeSet::new();
        for n in 0..300 {
            expected.insert(one.enqueue_webhook(&save_of(n % 60)).await.unwrap());
        }
        let worker = |store: Arc<PgStore>| {
            tokio::spawn(async move {
                let mut claimed = Vec::new();
                let mut empty = 0;
                while empty < 5 {
                    let events = store.claim_webhooks(3, LEASE, QUIET).await.unwrap();
                    if events.is_empty() {
                        empty += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    claimed.extend(events);
                }
                claimed
            })
        };
        let (a, b) = (worker(one.clone()), worker(two.clone()));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let ids_a: BTreeSet<i64> = a.iter().map(|e| e.id).collect();
        let ids_b: BTreeSet<i64> = b.iter().map(|e| e.id).collect();
        assert_eq!(ids_a.len() + ids_b.len(), 300, "no event claimed twice");
        assert!(ids_a.is_disjoint(&ids_b));
        assert_eq!(&ids_a | &ids_b, expected, "every event claimed");
        let records_a: BTreeSet<i64> = a.iter().map(|e| e.record_id).collect();
        let records_b: BTreeSet<i64> = b.iter().map(|e| e.record_id).collect();
        assert!(
            records_a.is_disjoint(&records_b),
            "a record's burst went to one claimer"
        );
        assert!(a.iter().chain(&b).all(|e| e.attempts == 1));
    }

    /// Which racer wins each claim depends on scheduling, so that two instances share the work is
    /// checked in turns: while one holds its lease, the other claims the records it left.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_second_store_claims_the_records_a_first_store_leased_none_of() {
        let (_database, one, two) = two_stores().await;
        for n in 0..12 {
            one.enqueue_webhook(&save_of(n % 4)).await.unwrap();
        }
        let first = one.claim_webhooks(2, LEASE, QUIET).await.unwrap();
        let second = two.claim_webhooks(2, LEASE, QUIET).await.unwrap();
        let records = |events: &[WebhookEvent]| -> BTreeSet<i64> {
            events.iter().map(|e| e.record_id).collect()
        };
        assert_eq!(records(&first).len(), 2);
        assert_eq!(records(&second).len(), 2);
        assert!(records(&first).is_disjoint(&records(&second)));
        assert_eq!(first.len() + second.len(), 12, "whole bursts, every event");
        assert!(one
            .claim_webhooks(2, LEASE, QUIET)
            .await
            .unwrap()
            .is_empty());
    }

    /// Another claimer's statement holds record 1's rows (as an in-flight claim does): this
    /// claim takes the next record instead of finding its one candidate locked and nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_claim_passes_over_the_records_another_claim_is_taking() {
        use sqlx::Connection as _;
        let (database, one, _two) = two_stores().await;
        for record in [1, 1, 2] {
            one.enqueue_webhook(&save_of(record)).await.unwrap();
        }
        let records = |events: Vec<WebhookEvent>| -> Vec<i64> {
            events.iter().map(|event| event.record_id).collect()
        };
        let mut other = sqlx::PgConnection::connect(&database.url).await.unwrap();
        let mut taking = other.begin().await.unwrap();
        sqlx::query("select 1 from webhook_event where record_id = 1 for update")
            .execute(&mut *taking)
            .await
            .unwrap();
        let claimed = one.claim_webhooks(1, LEASE, QUIET).await.unwrap();
        assert_eq!(records(claimed), vec![2]);
        taking.rollback().await.unwrap();
        let claimed = one.claim_webhooks(1, LEASE, QUIET).await.unwrap();
        assert_eq!(records(claimed), vec![1, 1]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_runs_created_at_once_on_one_database_start_exactly_one() {
        let (_database, one, two) = two_stores().await;
        for round in 0..10 {
            let (a, b) = tokio::join!(
                one.create_run(new_run("instance-a")),
                two.create_run(new_run("instance-b"))
            );
            let started = match (a, b) {
                (Ok(run), Err(StoreError::RunInProgress { running }))
                | (Err(StoreError::RunInProgress { running }), Ok(run)) => {
                    assert_eq!(running, run.id);
                    run
                }
                other => panic!("round {round}: {other:?}"),
            };
            one.finish_run(started.id, RunStatus::Succeeded, None, &BTreeMap::new())
                .await
                .unwrap();
        }
        assert_eq!(one.recent_runs(100).await.unwrap().len(), 10);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_hand_out_change_seqs_in_commit_order_and_each_bumps_the_version() {
        let (_database, one, two) = two_stores().await;
        let version = one.catalog_version().await.unwrap();
        let writer = |store: Arc<PgStore>, offset: i64| {
            tokio::spawn(async move {
                for n in 0..20 {
                    let id = offset + n;
                    let products = [product(id, "P", 1.0, None)];
                    write(store.as_ref(), &products, &[]).await;
                    store
                        .set_stock(&[StockLevel::empty(id * 100)])
                        .await
                        .unwrap();
                }
            })
        };
        let (a, b) = (writer(one.clone(), 1), writer(two.clone(), 1_000));
        a.await.unwrap();
        b.await.unwrap();
        let feed = one.changes_since(0, 100).await.unwrap();
        assert_eq!(feed.changes.len(), 40);
        assert!(feed.changes.windows(2).all(|w| w[0].seq < w[1].seq));
        let bumps = one.catalog_version().await.unwrap() - version;
        assert!(bumps >= 80, "each write bumped it: {bumps}");
    }

    #[tokio::test]
    async fn an_unreachable_database_is_unavailable_and_named() {
        let result = PgStore::connect("postgres://postgres@127.0.0.1:1/nothing").await;
        match result {
            Err(error @ StoreError::Unavailable { .. }) => {
                let message = error.to_string();
                assert!(message.contains("127.0.0.1:1/nothing"), "{message}");
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("connected to port 1"),
        }
    }
}

fn event_of(delivery: &SiteDelivery) -> serde_json::Value {
    serde_json::from_str(&delivery.body).unwrap()
}

async fn all_deliveries(store: &dyn CatalogStore) -> Vec<SiteDelivery> {
    store.site_deliveries(None, 500).await.unwrap()
}

/// The events queued since `seen` deliveries, one per event (the first target's).
async fn new_events(store: &dyn CatalogStore, seen: &mut usize) -> Vec<serde_json::Value> {
    let all = all_deliveries(store).await;
    let fresh: Vec<serde_json::Value> = all[*seen..]
        .iter()
        .filter(|d| d.url == "http://a.test/hook")
        .map(event_of)
        .collect();
    *seen = all.len();
    fresh
}

async fn every_catalog_write_queues_its_event_for_each_target_in_its_own_transaction(
    test: &TestStore,
) {
    let store = test
        .with_site_targets(&["http://a.test/hook", "http://b.test/hook"])
        .await;
    let store = store.as_ref();
    let mut chair = product(1, "Chair", 10.0, Some(2));
    chair.public_categ_ids = vec![7];
    let categories = [
        category(1, "All", None),
        category(2, "All / Chairs", Some(1)),
    ];
    write(
        store,
        &[chair.clone(), product(2, "Desk", 20.0, None)],
        &categories,
    )
    .await;
    let deliveries = all_deliveries(store).await;
    assert_eq!(deliveries.len(), 2, "one event, two targets");
    assert_eq!(deliveries[0].event_id, deliveries[1].event_id);
    assert!(deliveries[0].event_id.starts_with("msg_"));
    let urls: BTreeSet<&str> = deliveries.iter().map(|d| d.url.as_str()).collect();
    assert_eq!(
        urls,
        BTreeSet::from(["http://a.test/hook", "http://b.test/hook"])
    );
    assert!(deliveries
        .iter()
        .all(|d| d.status == DeliveryStatus::Pending && d.attempts == 0));
    let feed = store.changes_since(0, 10).await.unwrap();
    assert_eq!(
        event_of(&deliveries[0]),
        json!({
            "type": "catalog.changed",
            "changes": {"upserted": [1, 2], "deleted": []},
            "tags": ["category:1", "category:2", "product:1", "product:2", "products", "public-category:7"],
            "changeToken": crate::domain::site_event::change_token(feed.last_seq),
        })
    );
    let mut seen = 2;

    write(store, &[chair.clone()], &categories).await;
    assert!(
        new_events(store, &mut seen).await.is_empty(),
        "nothing changed, nothing said"
    );

    assert_eq!(store.mark_deleted(&[2, 99], None).await.unwrap(), 1);
    let events = new_events(store, &mut seen).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["changes"],
        json!({"upserted": [], "deleted": [2]})
    );
    assert_eq!(events[0]["tags"], json!(["product:2", "products"]));

    let level = StockLevel {
        variant_id: 100,
        qty_available: 4.0,
        free_qty: 3.0,
    };
    store.set_stock(&[level]).await.unwrap();
    let events = new_events(store, &mut seen).await;
    assert_eq!(events[0]["changes"]["upserted"], json!([1]));
    assert_eq!(
        events[0]["tags"],
        json!(["category:2", "product:1", "products", "public-category:7"])
    );
    store.set_stock(&[level]).await.unwrap();
    assert!(new_events(store, &mut seen).await.is_empty());

    let state = PricingState {
        seq: 0,
        priced_at: at("2026-11-24 10:00:00"),
        next_boundary: None,
    };
    let price = VariantPrice {
        variant_id: 100,
        template_id: 1,
        price: Some(8.0),
        rule_id: None,
    };
    store.set_prices(1, &[price], &state).await.unwrap();
    let events = new_events(store, &mut seen).await;
    assert_eq!(events[0]["changes"]["upserted"], json!([1]));
    let token =
        crate::domain::site_event::change_token(store.changes_since(0, 10).await.unwrap().last_seq);
    assert_eq!(
        events[0]["changeToken"],
        json!(token),
        "the token after the repricing"
    );

    // A write that fails rolls its event back with it.
    let cursor = SyncCursor::start(Phase::Categories);
    let failed = store
        .apply_batch(CatalogBatch {
            products: &[product(3, "Lamp", 5.0, None)],
            categories: &[],
            checkpoint: Some(Checkpoint {
                run: RunId(424_242),
                cursor: &cursor,
                total: None,
            }),
        })
        .await;
    assert!(failed.is_err());
    assert!(new_events(store, &mut seen).await.is_empty());

    // A handle without targets (no SITE_WEBHOOK_URLS) queues nothing.
    write(test.store.as_ref(), &[product(4, "Rug", 5.0, None)], &[]).await;
    assert!(new_events(store, &mut seen).await.is_empty());

    // A big write is split into events of at most 1,000 ids, a bigger one collapses.
    let many: Vec<Product> = (1000..2500)
        .map(|id| product(id, "Bulk", 1.0, None))
        .collect();
    write(store, &many, &[]).await;
    let events = new_events(store, &mut seen).await;
    let sizes: Vec<usize> = events
        .iter()
        .map(|e| e["changes"]["upserted"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [1000, 500]);
    let more: Vec<Product> = (3000..5100)
        .map(|id| product(id, "Bulk", 1.0, None))
        .collect();
    write(store, &more, &[]).await;
    let events = new_events(store, &mut seen).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["changes"], json!({"full": true}));
    assert_eq!(events[0]["tags"], json!(["products"]));
}

async fn queue_one(store: &dyn CatalogStore, id: i64) {
    write(store, &[product(id, "Queued", 1.0, None)], &[]).await;
}

async fn deliveries_are_leased_retried_failed_replayed_and_delivered(test: &TestStore) {
    let store = test.with_site_targets(&["http://a.test/hook"]).await;
    let store = store.as_ref();
    let before = Utc::now() - chrono::Duration::seconds(1);
    queue_one(store, 1).await;
    let stats = store.site_outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.failed), (1, 0));
    assert!(stats
        .oldest_pending_at
        .is_some_and(|at| at > before && at <= Utc::now()));
    let lease = Duration::from_secs(60);
    let claimed = store.claim_site_deliveries(10, lease).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let id = claimed[0].id;
    assert!(
        store
            .claim_site_deliveries(10, lease)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );

    let soon = Utc::now() + chrono::Duration::milliseconds(-1);
    store
        .settle_site_delivery(
            id,
            AttemptOutcome::RetryAt {
                next_at: soon,
                status: Some(500),
                error: "HTTP 500: down",
            },
        )
        .await
        .unwrap();
    let again = store.claim_site_deliveries(10, lease).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (
            again[0].attempts,
            again[0].last_status,
            again[0].last_error.as_deref()
        ),
        (1, Some(500), Some("HTTP 500: down"))
    );
    assert_eq!(again[0].event_id, claimed[0].event_id);
    let later = Utc::now() + chrono::Duration::hours(1);
    store
        .settle_site_delivery(
            id,
            AttemptOutcome::RetryAt {
                next_at: later,
                status: None,
                error: "timed out",
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_site_deliveries(10, lease)
            .await
            .unwrap()
            .is_empty(),
        "not due"
    );
    let pending = store
        .site_deliveries(Some(DeliveryStatus::Pending), 10)
        .await
        .unwrap();
    assert_eq!((pending[0].attempts, pending[0].last_status), (2, None));
    assert!((pending[0].next_at - later).num_milliseconds().abs() < 2);

    store
        .settle_site_delivery(
            id,
            AttemptOutcome::Failed {
                status: Some(502),
                error: "HTTP 502: gone",
            },
        )
        .await
        .unwrap();
    let failed = store
        .site_deliveries(Some(DeliveryStatus::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].attempts, failed[0].last_status), (3, Some(502)));
    assert_eq!(store.failed_site_deliveries().await.unwrap(), 1);
    let stats = store.site_outbox_stats().await.unwrap();
    assert_eq!(
        (stats.pending, stats.failed, stats.oldest_pending_at),
        (0, 1, None)
    );
    assert!(store
        .site_deliveries(Some(DeliveryStatus::Pending), 10)
        .await
        .unwrap()
        .is_empty());

    let replayed = store.replay_site_delivery(id).await.unwrap().unwrap();
    assert_eq!(
        (replayed.status, replayed.attempts),
        (DeliveryStatus::Pending, 0)
    );
    assert_eq!(store.failed_site_deliveries().await.unwrap(), 0);
    assert!(
        store.replay_site_delivery(id).await.unwrap().is_none(),
        "only failed ones"
    );
    // A worker that dies holding a lease: once the lease ends, another takes the delivery.
    let dead = store
        .claim_site_deliveries(10, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    let taken = store.claim_site_deliveries(10, lease).await.unwrap();
    assert_eq!(taken.len(), 1);
    store
        .settle_site_delivery(id, AttemptOutcome::Delivered { status: 204 })
        .await
        .unwrap();
    let delivered = store
        .site_deliveries(Some(DeliveryStatus::Delivered), 10)
        .await
        .unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        (delivered[0].attempts, delivered[0].last_status),
        (1, Some(204))
    );
    assert!(delivered[0].delivered_at.is_some());
    assert!(store
        .claim_site_deliveries(10, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());
    assert!(store.replay_site_delivery(id).await.unwrap().is_none());
}

async fn pruning_deletes_only_delivered_deliveries_older_than_asked(test: &TestStore) {
    let store = test.with_site_targets(&["http://a.test/hook"]).await;
    let store = store.as_ref();
    for id in 1..=4 {
        queue_one(store, id).await;
    }
    let claimed = store
        .claim_site_deliveries(10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 4);
    store
        .settle_site_delivery(claimed[0].id, AttemptOutcome::Delivered { status: 200 })
        .await
        .unwrap();
    store
        .settle_site_delivery(claimed[1].id, AttemptOutcome::Delivered { status: 200 })
        .await
        .unwrap();
    store
        .settle_site_delivery(
            claimed[2].id,
            AttemptOutcome::Failed {
                status: Some(500),
                error: "HTTP 500",
            },
        )
        .await
        .unwrap();
    let before_deliveries = Utc::now() - chrono::Duration::hours(1);
    assert_eq!(
        store
            .prune_site_deliveries(before_deliveries, 10)
            .await
            .unwrap(),
        0,
        "delivered after the cut"
    );
    let now = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(store.prune_site_deliveries(now, 1).await.unwrap(), 1);
    assert_eq!(store.prune_site_deliveries(now, 10).await.unwrap(), 1);
    assert_eq!(store.prune_site_deliveries(now, 10).await.unwrap(), 0);
    let left: Vec<(i64, DeliveryStatus)> = store
        .site_deliveries(None, 10)
        .await
        .unwrap()
        .iter()
        .map(|d| (d.id, d.status))
        .collect();
    assert_eq!(
        left,
        [
            (claimed[2].id, DeliveryStatus::Failed),
            (claimed[3].id, DeliveryStatus::Pending)
        ],
        "failed and pending deliveries stay"
    );
}

async fn two_handles_claiming_at_once_never_take_the_same_delivery(test: &TestStore) {
    let urls = ["http://a.test/hook", "http://b.test/hook"];
    let one = test.with_site_targets(&urls).await;
    let two = test.with_site_targets(&urls).await;
    for id in 1..=25 {
        queue_one(one.as_ref(), id).await;
    }
    let lease = Duration::from_secs(60);
    let mut taken = Vec::new();
    loop {
        let (a, b) = tokio::join!(
            one.claim_site_deliveries(3, lease),
            two.claim_site_deliveries(3, lease)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        if a.is_empty() && b.is_empty() {
            break;
        }
        taken.extend(a.into_iter().chain(b).map(|d| d.id));
    }
    assert_eq!(taken.len(), 50, "every delivery claimed");
    let unique: BTreeSet<i64> = taken.iter().copied().collect();
    assert_eq!(unique.len(), 50, "none claimed twice");
}

fn fr(name: &str) -> NameTranslations {
    NameTranslations::from([("fr_FR".to_string(), name.to_string())])
}

fn storefront_product(id: i64, name: &str) -> Product {
    let mut p = product(id, name, 10.0, None);
    p.storefront = Storefront {
        website_id: Some(2),
        website_url: Some(format!("/shop/x-{id}")),
        seo_title: Some("Buy it".into()),
        seo_description: Some("Fast".into()),
        ribbon: Some("Sale".into()),
        currency: Some("EUR".into()),
        attributes: vec![
            ProductAttribute {
                id: 1,
                name: "Color".into(),
                display_type: "color".into(),
                translations: fr("Couleur"),
                values: vec![
                    AttributeValue {
                        id: 3,
                        ptav_id: id * 10 + 1,
                        name: "Black".into(),
                        html_color: Some("#000000".into()),
                        price_extra: 0.0,
                        translations: NameTranslations::new(),
                    },
                    AttributeValue {
                        id: 1,
                        ptav_id: id * 10 + 2,
                        name: "Red".into(),
                        html_color: Some("#FF0000".into()),
                        price_extra: 12.5,
                        translations: fr("Rouge"),
                    },
                ],
            },
            ProductAttribute {
                id: 2,
                name: "Size".into(),
                display_type: "pills".into(),
                translations: NameTranslations::new(),
                values: vec![AttributeValue {
                    id: 5,
                    ptav_id: id * 10 + 3,
                    name: "S".into(),
                    html_color: None,
                    price_extra: 1.25,
                    translations: fr("P"),
                }],
            },
        ],
    };
    p
}

async fn storefront_data_reads_back_exactly_by_id_in_lists_and_in_the_export(
    store: &dyn CatalogStore,
) {
    let desk = storefront_product(1, "Desk");
    let plain = product(2, "Plain", 5.0, None);
    write(store, &[desk.clone(), plain.clone()], &[]).await;
    assert_eq!(store.product(1).await.unwrap().unwrap().product, desk);
    assert_eq!(store.product(2).await.unwrap().unwrap().product, plain);
    let page = store
        .list_products(&query(ProductSort::Name, 10))
        .await
        .unwrap();
    assert_eq!(page.products[0].product, desk);
    let export = store.export(false).await.unwrap();
    assert_eq!(export[0].product, desk);
    assert_eq!(export[1].product, plain);
    // A rewrite replaces the attributes, it does not add to them.
    let mut renamed = desk.clone();
    renamed.storefront.attributes[0].values[1].name = "Crimson".into();
    renamed.storefront.attributes[0].values[1].translations = fr("Cramoisi");
    renamed.storefront.attributes[0].translations.clear();
    renamed.storefront.attributes.pop();
    renamed.storefront.ribbon = None;
    write(store, std::slice::from_ref(&renamed), &[]).await;
    assert_eq!(store.product(1).await.unwrap().unwrap().product, renamed);
}

async fn the_website_scope_and_website_categories_filter_lists_and_members(
    store: &dyn CatalogStore,
) {
    let mut shown = product(1, "Shown", 1.0, None);
    shown.public_categ_ids = vec![3];
    let mut unpublished = product(2, "Unpublished", 1.0, None);
    unpublished.is_published = false;
    unpublished.public_categ_ids = vec![3];
    let mut unsaleable = product(3, "Unsaleable", 1.0, None);
    unsaleable.sale_ok = false;
    let mut other_site = product(4, "Other site", 1.0, None);
    other_site.storefront.website_id = Some(2);
    other_site.public_categ_ids = vec![1];
    let mut this_site = product(5, "This site", 1.0, None);
    this_site.storefront.website_id = Some(1);
    this_site.public_categ_ids = vec![2];
    write(
        store,
        &[shown, unpublished, unsaleable, other_site, this_site],
        &[],
    )
    .await;
    let tree = [
        PublicCategory {
            id: 1,
            name: "Root".into(),
            parent_id: None,
            sequence: 1,
            website_id: None,
            translations: fr("Racine"),
        },
        PublicCategory {
            id: 2,
            name: "Child".into(),
            parent_id: Some(1),
            sequence: 1,
            website_id: None,
            translations: NameTranslations::new(),
        },
        PublicCategory {
            id: 3,
            name: "Leaf".into(),
            parent_id: Some(2),
            sequence: 1,
            website_id: None,
            translations: NameTranslations::new(),
        },
    ];
    store.replace_public_categories(&tree).await.unwrap();
    assert_eq!(
        store.public_categories().await.unwrap(),
        tree,
        "names in each language too"
    );
    let mut renamed = tree.clone();
    renamed[0].translations = fr("Accueil");
    store.replace_public_categories(&renamed).await.unwrap();
    assert_eq!(
        store.public_categories().await.unwrap(),
        renamed,
        "a translation alone is a change"
    );
    let listed = |scope, public_category| {
        let mut q = query(ProductSort::Name, 50);
        q.scope = scope;
        q.public_category = public_category;
        async move { ids(&store.list_products(&q).await.unwrap()) }
    };
    let any = CatalogScope::Website { website: None };
    let one = CatalogScope::Website { website: Some(1) };
    assert_eq!(listed(CatalogScope::All, None).await, [4, 1, 5, 2, 3]);
    assert_eq!(listed(any, None).await, [4, 1, 5]);
    assert_eq!(listed(one, None).await, [1, 5]);
    assert_eq!(listed(any, Some(1)).await, [4, 1, 5]);
    assert_eq!(listed(any, Some(2)).await, [1, 5]);
    assert_eq!(listed(one, Some(3)).await, [1]);
    assert_eq!(listed(CatalogScope::All, Some(3)).await, [1, 2]);
    let mut members = store.public_category_members(one).await.unwrap();
    members.sort();
    assert_eq!(members, [(1, vec![3]), (5, vec![2])]);
}

async fn a_changed_website_category_tree_tells_the_site_which_categories_moved(test: &TestStore) {
    let store = test.with_site_targets(&["http://a.test/hook"]).await;
    let store = store.as_ref();
    let category = |id: i64, name: &str| PublicCategory {
        id,
        name: name.into(),
        parent_id: None,
        sequence: id,
        website_id: None,
        translations: NameTranslations::new(),
    };
    let mut seen = 0;
    let tree = [
        category(1, "Chairs"),
        category(2, "Desks"),
        category(3, "Lamps"),
    ];
    store.replace_public_categories(&tree).await.unwrap();
    let events = new_events(store, &mut seen).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["tags"],
        json!([
            "products",
            "public-category:1",
            "public-category:2",
            "public-category:3"
        ])
    );
    store.replace_public_categories(&tree).await.unwrap();
    assert!(new_events(store, &mut seen).await.is_empty(), "unchanged");
    let moved = [
        category(1, "Armchairs"),
        category(3, "Lamps"),
        category(4, "Rugs"),
    ];
    store.replace_public_categories(&moved).await.unwrap();
    let events = new_events(store, &mut seen).await;
    assert_eq!(
        (events.len(), &events[0]["tags"], &events[0]["changes"]),
        (
            1,
            &json!([
                "products",
                "public-category:1",
                "public-category:2",
                "public-category:4"
            ]),
            &json!({"upserted": [], "deleted": []})
        ),
        "renamed, gone and new; not the unchanged one"
    );
}

async fn website_categories_are_replaced_whole(store: &dyn CatalogStore) {
    let category = |id: i64, name: &str, parent_id| PublicCategory {
        id,
        name: name.into(),
        parent_id,
        sequence: id * 10,
        website_id: (id == 2).then_some(1),
        translations: fr(&format!("{name} (fr)")),
    };
    store
        .replace_public_categories(&[category(1, "A", None), category(2, "B", Some(1))])
        .await
        .unwrap();
    let second = [category(2, "B2", None), category(3, "C", Some(2))];
    store.replace_public_categories(&second).await.unwrap();
    assert_eq!(store.public_categories().await.unwrap(), second);
}

/// A product offering `values` (attribute id, value id, name) of Color (1) and Size (2).
fn faceted(id: i64, price: f64, categ_id: i64, values: &[(i64, i64, &str)]) -> Product {
    let mut p = product(id, &format!("P{id}"), price, Some(categ_id));
    for (k, (attribute, value, name)) in values.iter().enumerate() {
        let attribute_value = AttributeValue {
            id: *value,
            ptav_id: id * 10 + k as i64,
            name: name.to_string(),
            html_color: None,
            price_extra: 0.0,
            translations: NameTranslations::new(),
        };
        match p
            .storefront
            .attributes
            .iter_mut()
            .find(|a| a.id == *attribute)
        {
            Some(found) => found.values.push(attribute_value),
            None => p.storefront.attributes.push(ProductAttribute {
                id: *attribute,
                name: if *attribute == 1 { "Color" } else { "Size" }.into(),
                display_type: "radio".into(),
                values: vec![attribute_value],
                translations: NameTranslations::new(),
            }),
        }
    }
    p
}

async fn filters_narrow_lists_and_facets_count_each_attribute_with_its_own_filter_off(
    store: &dyn CatalogStore,
) {
    const RED: (i64, i64, &str) = (1, 1, "Red");
    const BLUE: (i64, i64, &str) = (1, 2, "Blue");
    const S: (i64, i64, &str) = (2, 5, "S");
    const M: (i64, i64, &str) = (2, 6, "M");
    let mut archived = faceted(6, 5.0, 2, &[RED, S]);
    archived.active = false;
    let mut unpublished = faceted(7, 15.0, 3, &[RED]);
    unpublished.is_published = false;
    let products = [
        faceted(1, 10.0, 2, &[RED, S]),
        faceted(2, 20.0, 2, &[BLUE, S, M]),
        faceted(3, 30.0, 3, &[RED, M]),
        faceted(4, 40.0, 3, &[BLUE]),
        faceted(5, 50.0, 3, &[]),
        archived,
        unpublished,
    ];
    let categories = [
        category(1, "All", None),
        category(2, "All / Desks", Some(1)),
        category(3, "All / Chairs", Some(1)),
    ];
    write(store, &products, &categories).await;
    let free = |variant_id: i64, free_qty: f64| StockLevel {
        variant_id,
        qty_available: free_qty + 2.0,
        free_qty,
    };
    // 3 has stock on hand but none free to sell.
    let levels = [
        free(100, 3.0),
        free(300, 0.0),
        free(400, 1.0),
        free(600, 9.0),
    ];
    store.set_stock(&levels).await.unwrap();
    assert_eq!(
        store.attribute_of_values(&[1, 6, 99]).await.unwrap(),
        [(1, 1), (6, 2)]
    );
    let red_or_blue = AttributeFilter {
        attribute_id: 1,
        values: vec![1, 2],
    };
    let red = AttributeFilter {
        attribute_id: 1,
        values: vec![1],
    };
    let small = AttributeFilter {
        attribute_id: 2,
        values: vec![5],
    };
    let listed = |q: ProductQuery| async move {
        let mut found = ids(&store.list_products(&q).await.unwrap());
        found.sort_unstable();
        found
    };
    let base = query(ProductSort::Name, 50);
    let with = |attributes: Vec<AttributeFilter>| ProductQuery {
        attributes,
        ..base.clone()
    };
    assert_eq!(listed(with(vec![red.clone()])).await, [1, 3, 7]);
    assert_eq!(
        listed(with(vec![red_or_blue.clone()])).await,
        [1, 2, 3, 4, 7]
    );
    assert_eq!(listed(with(vec![red.clone(), small.clone()])).await, [1]);
    let priced = ProductQuery {
        price_min: Some(20.0),
        price_max: Some(40.0),
        ..base.clone()
    };
    assert_eq!(listed(priced).await, [2, 3, 4]);
    let stocked = ProductQuery {
        in_stock: true,
        ..base.clone()
    };
    assert_eq!(listed(stocked).await, [1, 4]);
    // Facets over red and small, priced 0 to 35: Color counts ignore red, Size counts ignore
    // small, the price range ignores the bounds.
    let q = ProductQuery {
        price_min: Some(0.0),
        price_max: Some(35.0),
        ..with(vec![red.clone(), small.clone()])
    };
    assert_eq!(listed(q.clone()).await, [1]);
    let facets = store.facets(&q).await.unwrap();
    type Counts<'a> = Vec<(i64, Vec<(i64, &'a str, u64)>)>;
    let counts: Counts = facets
        .attributes
        .iter()
        .map(|a| {
            let values = a.values.iter().map(|v| (v.id, v.name.as_str(), v.count));
            (a.id, values.collect())
        })
        .collect();
    // Color with S and price ≤ 35: 1 (red), 2 (blue). Size with red and price ≤ 35: 1 (S), 3
    // (M), 7 (unpublished but in scope `all`).
    assert_eq!(
        counts,
        [
            (1, vec![(1, "Red", 1), (2, "Blue", 1)]),
            (2, vec![(5, "S", 1), (6, "M", 1)]),
        ]
    );
    assert_eq!(facets.attributes[0].name, "Color");
    // Red and S, any price: only 1.
    assert_eq!(
        facets.price,
        PriceRange {
            min: Some(10.0),
            max: Some(10.0)
        }
    );
    let category_counts =
        |f: &Facets| -> Vec<(i64, u64)> { f.categories.iter().map(|c| (c.id, c.count)).collect() };
    assert_eq!(category_counts(&facets), [(1, 1), (2, 1)]);
    // Without filters: every active product counts, categories up the tree.
    let all = store.facets(&base).await.unwrap();
    assert_eq!(
        all.attributes[0]
            .values
            .iter()
            .map(|v| v.count)
            .collect::<Vec<_>>(),
        [3, 2]
    );
    assert_eq!(
        all.price,
        PriceRange {
            min: Some(10.0),
            max: Some(50.0)
        }
    );
    assert_eq!(category_counts(&all), [(1, 6), (2, 2), (3, 4)]);
    // The website scope never counts the unpublished 7; category filters count below them.
    let website = ProductQuery {
        scope: CatalogScope::Website { website: None },
        category: Some(3),
        ..with(vec![red.clone()])
    };
    let shown = store.facets(&website).await.unwrap();
    assert_eq!(listed(website.clone()).await, [3]);
    assert_eq!(
        shown.attributes[0].values.len(),
        2,
        "red's own filter is off"
    );
    assert_eq!(
        (
            shown.attributes[0].values[0].count,
            shown.attributes[0].values[1].count
        ),
        (1, 1)
    );
    // Stock applies to every count, the price bounds to all but the price range.
    let none = ProductQuery {
        in_stock: true,
        price_min: Some(1000.0),
        ..base.clone()
    };
    let priced_out = store.facets(&none).await.unwrap();
    assert!(priced_out.categories.is_empty());
    assert!(priced_out.attributes.is_empty());
    assert_eq!(
        priced_out.price,
        PriceRange {
            min: Some(10.0),
            max: Some(40.0)
        }
    );
    // No match at all: an empty range.
    let nothing = ProductQuery {
        text: Some("nothing-matches-this".into()),
        ..base.clone()
    };
    assert_eq!(store.facets(&nothing).await.unwrap(), Facets::default());
}

fn blob(checksum: &str) -> crate::domain::ImageMeta {
    crate::domain::ImageMeta {
        checksum: checksum.into(),
        content_hash: format!("sha256-of-{checksum}"),
        mime: "image/png".into(),
        width: 300,
        height: 200,
        size: 3,
    }
}

fn shown(product_id: i64, meta: &crate::domain::ImageMeta) -> crate::domain::ProductImage {
    crate::domain::ProductImage {
        product_id,
        variant_id: None,
        position: 0,
        alt: None,
        meta: meta.clone(),
    }
}

async fn show_images(
    store: &dyn CatalogStore,
    product: i64,
    images: &[crate::domain::ProductImage],
    new_blobs: &[crate::domain::ImageMeta],
) -> Result<u64, StoreError> {
    store
        .replace_product_images(ImageUpdate {
            product_ids: &[product],
            images,
            new_blobs,
            run: None,
            fetched: new_blobs.len() as u64,
            unchanged: 0,
        })
        .await
}

async fn unused_image_blobs_are_collected_with_their_copies_and_a_pass_pointing_to_one_is_refused(
    store: &dyn CatalogStore,
) {
    let folder = tempfile::tempdir().unwrap();
    let blobs = ObjectImageStore::open(folder.path().to_str().unwrap()).unwrap();
    let (a, b) = (blob("a"), blob("b"));
    for meta in [&a, &b] {
        for name in meta.file_names() {
            blobs.put(&name, b"png".to_vec()).await.unwrap();
        }
    }
    write(
        store,
        &[product(1, "One", 1.0, None), product(2, "Two", 1.0, None)],
        &[],
    )
    .await;
    show_images(store, 1, &[shown(1, &a)], std::slice::from_ref(&a))
        .await
        .unwrap();
    show_images(store, 2, &[shown(2, &b)], std::slice::from_ref(&b))
        .await
        .unwrap();
    let later = Utc::now() + chrono::Duration::hours(1);
    let earlier = Utc::now() - chrono::Duration::hours(1);
    let blobs = &blobs;
    let collect = |before| async move {
        let collected = store
            .collect_unused_images(before, 10, blobs)
            .await
            .unwrap();
        collected
            .into_iter()
            .map(|m| m.checksum)
            .collect::<Vec<_>>()
    };
    assert!(collect(later).await.is_empty(), "every blob is shown");

    show_images(store, 1, &[], &[]).await.unwrap();
    assert!(
        collect(earlier).await.is_empty(),
        "unused, but not for long enough"
    );
    assert_eq!(collect(later).await, ["a"]);
    for name in a.file_names() {
        assert_eq!(blobs.get(&name).await.unwrap(), None, "{name} deleted");
    }
    for name in b.file_names() {
        assert!(
            blobs.get(&name).await.unwrap().is_some(),
            "{name} of a shown blob kept"
        );
    }
    let known = store.known_images(&["a".into(), "b".into()]).await.unwrap();
    assert_eq!(known.keys().collect::<Vec<_>>(), ["b"]);

    // A pass that looked `a` up before it went is refused whole, and writes nothing.
    let refused = show_images(store, 1, &[shown(1, &a)], &[]).await;
    assert!(
        matches!(refused, Err(StoreError::ImagesCollected { missing: 1 })),
        "{refused:?}"
    );
    assert!(store.product_images(&[1]).await.unwrap().is_empty());
    // Fetched again, it is stored and shown, and no longer collectable.
    show_images(store, 1, &[shown(1, &a)], std::slice::from_ref(&a))
        .await
        .unwrap();
    assert_eq!(store.product_images(&[1]).await.unwrap(), [shown(1, &a)]);
    assert!(collect(later).await.is_empty());
}

async fn a_product_whose_images_changed_gets_a_new_change_and_one_shown_as_before_does_not(
    store: &dyn CatalogStore,
) {
    write(
        store,
        &[product(1, "One", 1.0, None), product(2, "Two", 1.0, None)],
        &[],
    )
    .await;
    let a = blob("a");
    let seq = store.changes_since(0, 10).await.unwrap().last_seq;
    let version = store.catalog_version().await.unwrap();
    show_images(store, 1, &[shown(1, &a)], std::slice::from_ref(&a))
        .await
        .unwrap();
    let feed = store.changes_since(seq, 10).await.unwrap();
    let ids: Vec<i64> = feed.changes.iter().map(|c| c.product_id).collect();
    assert_eq!(ids, [1], "only the product whose images changed");
    assert!(store.catalog_version().await.unwrap() > version);

    show_images(store, 1, &[shown(1, &a)], &[]).await.unwrap();
    let again = store.changes_since(feed.last_seq, 10).await.unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
}
