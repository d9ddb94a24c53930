//! Setting Odoo up for webhooks without clicking: the automation rules and webhook server
//! actions odoo-sync needs, created over RPC, idempotent, and removable exactly.
//!
//! Every rule is named `odoo-sync: …`; that name is how they are found again. Trigger fields
//! are the fields odoo-sync syncs, which cuts a product creation from ~26 POSTs to ~5.

use std::collections::BTreeMap;

use odoo_rpc::{Context, Domain, OdooApi, OdooError, SearchOptions};
use serde_json::{json, Map, Value};

const PREFIX: &str = "odoo-sync: ";

struct RuleSpec {
    model: &'static str,
    unlink: bool,
    trigger_fields: &'static [&'static str],
    payload_fields: &'static [&'static str],
}

const RULES: &[RuleSpec] = &[
    RuleSpec {
        model: "product.template",
        unlink: false,
        trigger_fields: &[
            "name",
            "default_code",
            "barcode",
            "list_price",
            "categ_id",
            "description_sale",
            "active",
            "sale_ok",
            "is_published",
            "public_categ_ids",
            "website_id",
            "website_meta_title",
            "website_meta_description",
            "website_ribbon_id",
            "attribute_line_ids",
            "image_1920",
        ],
        payload_fields: &["write_date"],
    },
    RuleSpec {
        model: "product.template",
        unlink: true,
        trigger_fields: &[],
        payload_fields: &["write_date"],
    },
    RuleSpec {
        model: "product.product",
        unlink: false,
        trigger_fields: &[
            "default_code",
            "barcode",
            "active",
            "product_template_attribute_value_ids",
            "image_variant_1920",
        ],
        payload_fields: &["write_date", "product_tmpl_id"],
    },
    RuleSpec {
        model: "product.product",
        unlink: true,
        trigger_fields: &[],
        payload_fields: &["product_tmpl_id"],
    },
    RuleSpec {
        model: "product.category",
        unlink: false,
        trigger_fields: &["name", "parent_id"],
        payload_fields: &["write_date"],
    },
    RuleSpec {
        model: "stock.quant",
        unlink: false,
        trigger_fields: &["quantity", "reserved_quantity"],
        payload_fields: &["product_id", "write_date"],
    },
    RuleSpec {
        model: "product.template.attribute.value",
        unlink: false,
        trigger_fields: &["price_extra", "ptav_active"],
        payload_fields: &["product_tmpl_id"],
    },
    // Renames show in every product using the attribute or value; none moves a product's
    // write_date (PTAV names are related to the value's).
    RuleSpec {
        model: "product.attribute.value",
        unlink: false,
        trigger_fields: &["name", "html_color", "sequence"],
        payload_fields: &["write_date"],
    },
    RuleSpec {
        model: "product.attribute",
        unlink: false,
        trigger_fields: &["name", "display_type", "sequence"],
        payload_fields: &["write_date"],
    },
    // Skipped (as not installed) without website_sale, as the extra media rules below.
    RuleSpec {
        model: "product.image",
        unlink: false,
        trigger_fields: &[
            "image_1920",
            "name",
            "sequence",
            "product_tmpl_id",
            "product_variant_id",
        ],
        payload_fields: &["write_date", "product_tmpl_id", "product_variant_id"],
    },
    RuleSpec {
        model: "product.image",
        unlink: true,
        trigger_fields: &[],
        payload_fields: &["product_tmpl_id", "product_variant_id"],
    },
    RuleSpec {
        model: "product.public.category",
        unlink: false,
        trigger_fields: &["name", "parent_id", "sequence", "website_id"],
        payload_fields: &["write_date"],
    },
    RuleSpec {
        model: crate::engine::pricing::ITEM,
        unlink: false,
        trigger_fields: crate::engine::pricing::RULE_FIELDS,
        payload_fields: &["write_date"],
    },
    RuleSpec {
        model: crate::engine::pricing::ITEM,
        unlink: true,
        trigger_fields: &[],
        payload_fields: &["write_date"],
    },
];

impl RuleSpec {
    fn name(&self) -> String {
        format!(
            "{PREFIX}{} on {}",
            self.model,
            if self.unlink { "deletion" } else { "save" }
        )
    }

    fn url(&self, base: &str) -> String {
        if self.unlink {
            let separator = if base.contains('?') { '&' } else { '?' };
            format!("{base}{separator}event=unlink")
        } else {
            base.to_string()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Created(String),
    Updated(String),
    Unchanged(String),
    Skipped(String, String),
    Removed(String),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Created(name) => write!(f, "created   {name}"),
            Change::Updated(name) => write!(f, "updated   {name}"),
            Change::Unchanged(name) => write!(f, "unchanged {name}"),
            Change::Skipped(name, why) => write!(f, "skipped   {name}: {why}"),
            Change::Removed(name) => write!(f, "removed   {name}"),
        }
    }
}

/// The webhook URL with its token: Odoo cannot add headers, so the secret rides in the query.
pub fn webhook_url(url: &str, secret: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}token={secret}")
}

/// Creates or updates the rules; running it again changes nothing. The pricelist item rules are
/// installed only when the catalog carries a pricelist (`with_pricelist`), and removed otherwise:
/// each webhook makes the Odoo user who saves wait for our answer, so none is sent for nothing.
pub async fn install(
    odoo: &dyn OdooApi,
    url_with_token: &str,
    with_pricelist: bool,
) -> Result<Vec<Change>, OdooError> {
    let existing = installed(odoo).await?;
    let mut changes = Vec::new();
    for spec in RULES {
        let name = spec.name();
        if spec.model == crate::engine::pricing::ITEM && !with_pricelist {
            if let Some(rule) = existing.iter().find(|rule| rule.name == name) {
                remove(odoo, rule).await?;
                changes.push(Change::Removed(name));
            }
            continue;
        }
        let Some(model_id) = model_id(odoo, spec.model).await? else {
            changes.push(Change::Skipped(
                name,
                format!("model {} is not installed in Odoo", spec.model),
            ));
            continue;
        };
        let fields = field_ids(odoo, spec.model).await?;
        let ids = |names: &[&str]| -> Vec<i64> {
            sorted(
                names
                    .iter()
                    .filter_map(|n| fields.get(*n).copied())
                    .collect(),
            )
        };
        let (trigger_ids, payload_ids) = (ids(spec.trigger_fields), ids(spec.payload_fields));
        let url = spec.url(url_with_token);
        match existing.iter().find(|rule| rule.name == name) {
            Some(rule)
                if rule.url == url
                    && rule.trigger_ids == trigger_ids
                    && rule.payload_ids == payload_ids
                    && rule.active =>
            {
                changes.push(Change::Unchanged(name))
            }
            Some(rule) => {
                update(odoo, rule, &url, &trigger_ids, &payload_ids, spec.unlink).await?;
                changes.push(Change::Updated(name));
            }
            None => {
                create(
                    odoo,
                    spec,
                    &name,
                    model_id,
                    &url,
                    &trigger_ids,
                    &payload_ids,
                )
                .await?;
                changes.push(Change::Created(name));
            }
        }
    }
    Ok(changes)
}

/// Removes exactly the rules (and their actions) that `install` created.
pub async fn uninstall(odoo: &dyn OdooApi) -> Result<Vec<Change>, OdooError> {
    let mut changes = Vec::new();
    for rule in installed(odoo).await? {
        remove(odoo, &rule).await?;
        changes.push(Change::Removed(rule.name));
    }
    Ok(changes)
}

/// Deletes one rule and the webhook actions it still has.
async fn remove(odoo: &dyn OdooApi, rule: &InstalledRule) -> Result<(), OdooError> {
    let plain = Context::default();
    odoo.unlink("base.automation", &[rule.id], &plain).await?;
    if rule.action_ids.is_empty() {
        return Ok(());
    }
    let remaining = odoo
        .search(
            "ir.actions.server",
            &Domain::leaf("id", "in", rule.action_ids.clone()),
            &SearchOptions::default(),
        )
        .await?;
    if !remaining.is_empty() {
        odoo.unlink("ir.actions.server", &remaining, &plain).await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct InstalledRule {
    pub id: i64,
    pub name: String,
    pub model: String,
    pub active: bool,
    pub url: String,
    pub trigger_ids: Vec<i64>,
    pub payload_ids: Vec<i64>,
    pub action_ids: Vec<i64>,
}

/// The rules odoo-sync installed, archived ones included.
pub async fn installed(odoo: &dyn OdooApi) -> Result<Vec<InstalledRule>, OdooError> {
    let options = SearchOptions {
        order: Some("id".into()),
        context: Context::default().active_test(false),
        ..Default::default()
    };
    let domain = Domain::leaf("name", "=like", format!("{PREFIX}%"));
    let fields = [
        "id",
        "name",
        "model_id",
        "active",
        "trigger_field_ids",
        "action_server_ids",
    ];
    let rules = odoo
        .search_read("base.automation", &domain, &fields, &options)
        .await?;
    let mut installed = Vec::new();
    for rule in rules {
        let bad = |e: odoo_rpc::DecodeError| OdooError::Decode(e);
        let action_ids = rule.get_ids("action_server_ids").map_err(bad)?;
        let actions = odoo
            .read(
                "ir.actions.server",
                &action_ids,
                &["webhook_url", "webhook_field_ids"],
                &Context::default(),
            )
            .await?;
        let action = actions.first();
        installed.push(InstalledRule {
            id: rule.id().map_err(bad)?,
            name: rule.get_str("name").map_err(bad)?.unwrap_or_default(),
            model: rule
                .get_many2one("model_id")
                .map_err(bad)?
                .map(|m| m.name)
                .unwrap_or_default(),
            active: rule.get_bool("active").map_err(bad)?,
            url: action
                .and_then(|a| a.get_str("webhook_url").ok().flatten())
                .unwrap_or_default(),
            trigger_ids: sorted(rule.get_ids("trigger_field_ids").map_err(bad)?),
            payload_ids: sorted(
                action
                    .map(|a| a.get_ids("webhook_field_ids"))
                    .transpose()
                    .map_err(bad)?
                    .unwrap_or_default(),
            ),
            action_ids,
        });
    }
    Ok(installed)
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

async fn model_id(odoo: &dyn OdooApi, model: &str) -> Result<Option<i64>, OdooError> {
    let ids = odoo
        .search(
            "ir.model",
            &Domain::leaf("model", "=", model),
            &SearchOptions::default(),
        )
        .await?;
    Ok(ids.first().copied())
}

async fn field_ids(odoo: &dyn OdooApi, model: &str) -> Result<BTreeMap<String, i64>, OdooError> {
    let records = odoo
        .search_read(
            "ir.model.fields",
            &Domain::leaf("model", "=", model),
            &["id", "name"],
            &SearchOptions::default(),
        )
        .await?;
    Ok(records
        .iter()
        .filter_map(|r| Some((r.get_str("name").ok()??, r.id().ok()?)))
        .collect())
}

async fn create(
    odoo: &dyn OdooApi,
    spec: &RuleSpec,
    name: &str,
    model_id: i64,
    url: &str,
    trigger_ids: &[i64],
    payload_ids: &[i64],
) -> Result<(), OdooError> {
    let action = json!({"name": name, "state": "webhook", "model_id": model_id, "webhook_url": url, "webhook_field_ids": [[6, 0, payload_ids]]});
    let mut rule = Map::new();
    rule.insert("name".into(), json!(name));
    rule.insert("model_id".into(), json!(model_id));
    rule.insert(
        "trigger".into(),
        json!(if spec.unlink {
            "on_unlink"
        } else {
            "on_create_or_write"
        }),
    );
    rule.insert("active".into(), json!(true));
    rule.insert("action_server_ids".into(), json!([[0, 0, action]]));
    if !spec.unlink {
        rule.insert("trigger_field_ids".into(), json!([[6, 0, trigger_ids]]));
    }
    odoo.create("base.automation", vec![rule], &Context::default())
        .await?;
    Ok(())
}

async fn update(
    odoo: &dyn OdooApi,
    rule: &InstalledRule,
    url: &str,
    trigger_ids: &[i64],
    payload_ids: &[i64],
    unlink: bool,
) -> Result<(), OdooError> {
    let plain = Context::default();
    let mut values = Map::new();
    values.insert("active".into(), Value::Bool(true));
    // Odoo refuses a write of trigger_field_ids without `trigger` (NotNullViolation).
    values.insert(
        "trigger".into(),
        json!(if unlink {
            "on_unlink"
        } else {
            "on_create_or_write"
        }),
    );
    if !unlink {
        values.insert("trigger_field_ids".into(), json!([[6, 0, trigger_ids]]));
    }
    odoo.write("base.automation", &[rule.id], values, &plain)
        .await?;
    let action = json!({"webhook_url": url, "webhook_field_ids": [[6, 0, payload_ids]]});
    odoo.write(
        "ir.actions.server",
        &rule.action_ids,
        action.as_object().cloned().unwrap_or_default(),
        &plain,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_rides_in_the_url_and_unlink_rules_say_so() {
        let url = webhook_url("https://shop.example/api/products/sync/webhook", "s3cret");
        assert_eq!(
            url,
            "https://shop.example/api/products/sync/webhook?token=s3cret"
        );
        let unlink = RULES.iter().find(|r| r.unlink).unwrap();
        assert!(unlink.url(&url).ends_with("?token=s3cret&event=unlink"));
        assert!(RULES.iter().all(|r| r.name().starts_with(PREFIX)));
    }
}
