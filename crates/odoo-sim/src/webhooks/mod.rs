//! Odoo 18 and 19 webhooks: `base.automation` rules whose `ir.actions.server` actions have
//! `state: "webhook"`. A writing call on a model with such rules is *staged*: it runs, the
//! payloads are read from the new state, the change is rolled back (`txn`), and the caller
//! (`server.rs`) finishes it. Odoo 18: the POSTs, `webhook_visibility_delay_ms`, then the commit
//! — so every POST arrives before the call answers, and a reader during the POSTs sees the old
//! state. Odoo 19: the commit, then the POSTs (still before the answer): a reader sees the new
//! state, and a call that fails sends nothing. An `on_unlink` rule's payload carries the last
//! values; the record goes with the commit. A template create sends 26 POSTs on 18, 24 on 19.
//!
//! Which POSTs a call sends (recorded on demo18, see the fixtures' webhooks/):
//! - template write: the template rule for each template (id order), then the variant rule for
//!   each of their variants, since their write_date moves too; archive sends variants first;
//!   unarchive sends each variant twice (`active: false`, then `true`), then the template;
//! - variant write: the variant rule; template fields written through it add the template rule;
//! - template create: Odoo's recomputations re-trigger the rules: 26 POSTs for one template with
//!   no trigger fields (11 template, 7 variant with `default_code: false`, 5 template with
//!   `default_code: false`, 1 variant, 2 template), 5 with trigger fields (1 + 1 + 1 + 2);
//! - other watched models (product.category, stock.quant, ...): one POST per record and rule;
//! - `trigger_field_ids`: a write fires only if one of them is written; empty means any field.
//!   `filter_domain` is not evaluated.

pub mod deliver;
pub mod payload;

use crate::methods::{ids_arg, Call};
use crate::models::defs::{model_def, ACTION, AUTOMATION, IR_FIELDS, IR_MODEL, PRODUCT, TEMPLATE};
use crate::models::Db;
use crate::txn::{Before, Images};
use crate::value::{Ctx, Val};
use crate::wire::RpcResult;
use crate::write::{check_exist, dispatch_write, truthy};
pub use deliver::{deliver, WebhookCounts, WebhookStats};
use serde_json::{json, Map, Value as Json};

/// One webhook action of an active automation rule.
#[derive(Clone, Debug)]
pub struct Hook {
    pub action_id: i64,
    pub action_name: String,
    pub url: String,
    /// Field names sent (`webhook_field_ids`).
    pub fields: Vec<String>,
    /// `trigger_field_ids` names; empty: every write fires.
    pub trigger_fields: Vec<String>,
}

impl Hook {
    /// Does a write of `keys` fire this rule?
    pub fn fires(&self, keys: &[&str]) -> bool {
        self.trigger_fields.is_empty()
            || keys
                .iter()
                .any(|k| self.trigger_fields.iter().any(|t| t == k))
    }
}

/// What happened to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Create,
    Write,
    Unlink,
}

impl Event {
    fn of(method: &str) -> Option<Event> {
        match method {
            "create" => Some(Event::Create),
            "write" | "action_apply_inventory" => Some(Event::Write),
            "unlink" => Some(Event::Unlink),
            _ => None,
        }
    }

    fn matches(self, trigger: &str) -> bool {
        matches!(
            (self, trigger),
            (Event::Create | Event::Write, "on_create_or_write")
                | (Event::Create, "on_create")
                | (Event::Write, "on_write")
                | (Event::Unlink, "on_unlink")
        )
    }
}

/// One POST to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Post {
    pub url: String,
    pub body: String,
}

/// A staged call: the POSTs to send, then what to commit.
#[derive(Debug)]
pub struct Pending {
    pub posts: Vec<Post>,
    pub commit: Commit,
}

/// What becomes visible once the POSTs are done.
#[derive(Debug)]
pub enum Commit {
    /// The records as the call left them.
    Images(Images),
    /// The records an unlink removes.
    Unlink {
        model: String,
        ids: Vec<i64>,
        uid: i64,
    },
}

impl Commit {
    pub fn apply(self, db: &mut Db) {
        match self {
            Commit::Images(images) => images.apply(db),
            Commit::Unlink { model, ids, uid } => {
                let live: Vec<i64> = ids
                    .into_iter()
                    .filter(|id| db.rec(&model, *id).is_some())
                    .collect();
                if let Err(e) = crate::write::unlink(db, &model, &live, uid) {
                    tracing::warn!(error = %e.message, "staged unlink failed");
                }
            }
        }
    }
}

/// The active webhook rules of `model` for `event`, in rule id order.
pub fn hooks(db: &Db, model: &str, event: Event) -> Vec<Hook> {
    let (Some(rules), Some(actions), Some(fields)) =
        (db.table(AUTOMATION), db.table(ACTION), db.table(IR_FIELDS))
    else {
        return Vec::new();
    };
    if rules.recs.is_empty() {
        return Vec::new();
    }
    let Some(model_id) = db.model_id(model) else {
        return Vec::new();
    };
    let names = |v: &Val| -> Vec<String> {
        v.ids()
            .iter()
            .filter_map(|id| fields.recs.get(id))
            .filter_map(|r| r.get(fields.def, "name").text("en_US"))
            .collect()
    };
    let mut out = Vec::new();
    for rule in rules.recs.values() {
        let d = rules.def;
        let trigger = rule.get(d, "trigger").text("en_US").unwrap_or_default();
        if rule.get(d, "active") != &Val::Bool(true)
            || rule.get(d, "model_id").m2o_id() != Some(model_id)
            || !event.matches(&trigger)
        {
            continue;
        }
        let trigger_fields = names(rule.get(d, "trigger_field_ids"));
        for action_id in rule.get(d, "action_server_ids").ids() {
            let Some(a) = actions.recs.get(action_id) else {
                continue;
            };
            let ad = actions.def;
            if a.get(ad, "state") != &Val::Str("webhook".into()) {
                continue;
            }
            let Some(url) = a.get(ad, "webhook_url").text("en_US") else {
                continue;
            };
            out.push(Hook {
                action_id: *action_id,
                action_name: a.get(ad, "name").text("en_US").unwrap_or_default(),
                url,
                fields: names(a.get(ad, "webhook_field_ids")),
                trigger_fields: trigger_fields.clone(),
            });
        }
    }
    out
}

/// Models whose rules a call on `model` may fire.
fn related(model: &str) -> Vec<&str> {
    match model {
        TEMPLATE => vec![TEMPLATE, PRODUCT],
        PRODUCT => vec![PRODUCT, TEMPLATE],
        other => vec![other],
    }
}

/// Runs a writing call: staged if webhook rules may fire, else applied at once.
pub fn run_write(db: &mut Db, call: &Call) -> (RpcResult, Option<Pending>) {
    let watched = Event::of(call.method).is_some_and(|event| {
        related(call.model)
            .iter()
            .any(|m| !hooks(db, m, event).is_empty())
    });
    if !watched {
        return (dispatch_write(db, call), None);
    }
    stage(db, call)
}

/// Runs a writing call, reads its payloads, and rolls it back; the change is in `Pending`.
pub fn stage(db: &mut Db, call: &Call) -> (RpcResult, Option<Pending>) {
    let Some(event) = Event::of(call.method) else {
        return (dispatch_write(db, call), None);
    };
    let ids = ids_arg(call.arg(0, "ids"));
    if event == Event::Unlink {
        if let Err(e) = check_exist(db, call.model, &ids, call.uid) {
            return (Err(e), None);
        }
        let mut posts = Vec::new();
        let hooks = hooks(db, call.model, Event::Unlink);
        emit(
            &mut posts,
            db,
            &hooks,
            call.model,
            &ids,
            &call.ctx,
            None,
            &[],
        );
        let commit = Commit::Unlink {
            model: call.model.to_string(),
            ids,
            uid: call.uid,
        };
        return (Ok(Some(json!(true))), Some(Pending { posts, commit }));
    }
    let touched = match event {
        Event::Write => touched(db, call.model, &ids),
        _ => Vec::new(),
    };
    let before = Before::capture(db, touched);
    let result = dispatch_write(db, call);
    if result.is_err() {
        before.split(db).0.apply(db);
        return (result, None);
    }
    let posts = match event {
        Event::Create => created_posts(db, call, &result),
        _ => written_posts(db, call, &ids),
    };
    let (undo, redo) = before.split(db);
    undo.apply(db);
    let commit = Commit::Images(redo);
    (result, Some(Pending { posts, commit }))
}

/// Existing records a write on `ids` may change.
fn touched(db: &Db, model: &str, ids: &[i64]) -> Vec<(&'static str, i64)> {
    let Some(def) = model_def(model) else {
        return Vec::new();
    };
    let mut keys: Vec<(&'static str, i64)> = ids.iter().map(|id| (def.name, *id)).collect();
    let pdef = model_def(PRODUCT);
    let templates: Vec<i64> = match model {
        TEMPLATE => ids.to_vec(),
        PRODUCT => ids
            .iter()
            .filter_map(|id| db.rec(PRODUCT, *id).zip(pdef))
            .filter_map(|(r, d)| r.get(d, "product_tmpl_id").m2o_id())
            .collect(),
        _ => Vec::new(),
    };
    for tmpl in templates {
        keys.push((TEMPLATE, tmpl));
        for vid in db.variants_by_tmpl.get(&tmpl).into_iter().flatten() {
            keys.push((PRODUCT, *vid));
        }
    }
    // Image fields live in ir.attachment rows, which the write replaces or removes.
    let mut attachments = Vec::new();
    for (model, id) in &keys {
        for att in db.attachments_of_records(model, &[*id]) {
            attachments.push((crate::models::defs::ATTACHMENT, att));
        }
    }
    keys.extend(attachments);
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn ctx_for(call: &Call, model: &str) -> Ctx {
    match model == call.model {
        true => call.ctx.clone(),
        false => Ctx::default(),
    }
}

/// Variants of templates, in id order (archived ones too).
fn variants_of(db: &Db, tmpls: &[i64]) -> Vec<i64> {
    let mut out = Vec::new();
    for t in tmpls {
        let mut v = db.variants_by_tmpl.get(t).cloned().unwrap_or_default();
        v.sort_unstable();
        out.extend(v);
    }
    out
}

/// Adds a POST per record and firing hook (`keys`: the written fields; `None`: a create).
#[allow(clippy::too_many_arguments)]
fn emit(
    posts: &mut Vec<Post>,
    db: &Db,
    hooks: &[Hook],
    model: &str,
    ids: &[i64],
    ctx: &Ctx,
    keys: Option<&[&str]>,
    overrides: &[(&str, Json)],
) {
    for id in ids {
        for hook in hooks.iter().filter(|h| keys.is_none_or(|k| h.fires(k))) {
            if let Some(body) = payload::payload(db, hook, model, *id, ctx, overrides) {
                let body = Json::Object(body.into_iter().collect::<Map<String, Json>>());
                posts.push(Post {
                    url: hook.url.clone(),
                    body: payload::py_json(&body),
                });
            }
        }
    }
}

fn written_posts(db: &Db, call: &Call, ids: &[i64]) -> Vec<Post> {
    let vals: Map<String, Json> = call
        .arg(1, "vals")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    let mut keys: Vec<&str> = vals.keys().map(String::as_str).collect();
    if call.method == "action_apply_inventory" {
        keys = vec!["quantity", "inventory_quantity"];
    }
    let mut posts = Vec::new();
    let (tctx, vctx) = (ctx_for(call, TEMPLATE), ctx_for(call, PRODUCT));
    match call.model {
        TEMPLATE => {
            let th = hooks(db, TEMPLATE, Event::Write);
            let vh = hooks(db, PRODUCT, Event::Write);
            let variants = variants_of(db, ids);
            let k = Some(keys.as_slice());
            match vals.get("active").map(truthy) {
                Some(false) => {
                    emit(&mut posts, db, &vh, PRODUCT, &variants, &vctx, k, &[]);
                    emit(&mut posts, db, &th, TEMPLATE, ids, &tctx, k, &[]);
                }
                Some(true) => {
                    let was_archived = [("active", json!(false))];
                    emit(
                        &mut posts,
                        db,
                        &vh,
                        PRODUCT,
                        &variants,
                        &vctx,
                        k,
                        &was_archived,
                    );
                    emit(&mut posts, db, &vh, PRODUCT, &variants, &vctx, k, &[]);
                    emit(&mut posts, db, &th, TEMPLATE, ids, &tctx, k, &[]);
                }
                None => {
                    emit(&mut posts, db, &th, TEMPLATE, ids, &tctx, k, &[]);
                    emit(&mut posts, db, &vh, PRODUCT, &variants, &vctx, k, &[]);
                }
            }
        }
        PRODUCT => {
            let vh = hooks(db, PRODUCT, Event::Write);
            emit(&mut posts, db, &vh, PRODUCT, ids, &vctx, Some(&keys), &[]);
            let (pdef, tdef) = (model_def(PRODUCT), model_def(TEMPLATE));
            let inherited: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| pdef.is_some_and(|d| d.field(k).is_none_or(|(_, f)| f.computed)))
                .filter(|k| tdef.is_some_and(|d| d.field(k).is_some_and(|(_, f)| !f.computed)))
                .collect();
            if !inherited.is_empty() {
                let mut tmpls: Vec<i64> = ids
                    .iter()
                    .filter_map(|id| db.rec(PRODUCT, *id).zip(pdef))
                    .filter_map(|(r, d)| r.get(d, "product_tmpl_id").m2o_id())
                    .collect();
                tmpls.dedup();
                let th = hooks(db, TEMPLATE, Event::Write);
                emit(
                    &mut posts,
                    db,
                    &th,
                    TEMPLATE,
                    &tmpls,
                    &tctx,
                    Some(&inherited),
                    &[],
                );
            }
        }
        model => {
            let h = hooks(db, model, Event::Write);
            emit(&mut posts, db, &h, model, ids, &call.ctx, Some(&keys), &[]);
        }
    }
    posts
}

/// The POSTs of a create, with Odoo's re-triggers for templates (see the module doc).
fn created_posts(db: &Db, call: &Call, result: &RpcResult) -> Vec<Post> {
    let ids: Vec<i64> = match result {
        Ok(Some(Json::Array(items))) => items.iter().filter_map(Json::as_i64).collect(),
        Ok(Some(v)) => v.as_i64().into_iter().collect(),
        _ => Vec::new(),
    };
    let pdef = model_def(PRODUCT);
    let tmpls: Vec<i64> = match call.model {
        TEMPLATE => ids.clone(),
        PRODUCT if !call.args.first().is_some_and(has_tmpl) => ids
            .iter()
            .filter_map(|id| db.rec(PRODUCT, *id).zip(pdef))
            .filter_map(|(r, d)| r.get(d, "product_tmpl_id").m2o_id())
            .collect(),
        _ => Vec::new(),
    };
    let mut posts = Vec::new();
    if tmpls.is_empty() {
        let h = hooks(db, call.model, Event::Create);
        emit(&mut posts, db, &h, call.model, &ids, &call.ctx, None, &[]);
        return posts;
    }
    let th = hooks(db, TEMPLATE, Event::Create);
    let vh = hooks(db, PRODUCT, Event::Create);
    let variants = variants_of(db, &tmpls);
    let (tctx, vctx) = (ctx_for(call, TEMPLATE), ctx_for(call, PRODUCT));
    let draft = [("default_code", json!(false)), ("barcode", json!(false))];
    // (template step?, intermediate?, POSTs without trigger fields, with trigger fields)
    let script = match call.ctx.series >= 19 {
        // Recorded on demo19: 24 POSTs (10 + 8 + 3 + 1 + 2), 5 with trigger fields.
        true => [
            (true, false, 10, 0),
            (false, true, 8, 1),
            (true, true, 3, 1),
            (false, false, 1, 1),
            (true, false, 2, 2),
        ],
        false => [
            (true, false, 11, 0),
            (false, true, 7, 1),
            (true, true, 5, 1),
            (false, false, 1, 1),
            (true, false, 2, 2),
        ],
    };
    for (is_tmpl, intermediate, noisy, quiet) in script {
        let (hooks, model, recs, ctx) = match is_tmpl {
            true => (&th, TEMPLATE, &tmpls, &tctx),
            false => (&vh, PRODUCT, &variants, &vctx),
        };
        let overrides: &[(&str, Json)] = if intermediate { &draft } else { &[] };
        for hook in hooks {
            let times = match hook.trigger_fields.is_empty() {
                true => noisy,
                false => quiet,
            };
            for _ in 0..times {
                emit(
                    &mut posts,
                    db,
                    std::slice::from_ref(hook),
                    model,
                    recs,
                    ctx,
                    None,
                    overrides,
                );
            }
        }
    }
    posts
}

fn has_tmpl(arg: &Json) -> bool {
    match arg {
        Json::Object(vals) => vals.contains_key("product_tmpl_id"),
        Json::Array(items) => items.iter().any(has_tmpl),
        _ => false,
    }
}

/// Odoo's `webhook_sample_payload` preview: `_model`, `_name` (19: `_action`, `_id`) and the
/// fields of a record.
pub fn sample_payload(db: &Db, action: i64) -> Option<String> {
    let t = db.table(ACTION)?;
    let a = t.recs.get(&action)?;
    if a.get(t.def, "state") != &Val::Str("webhook".into()) {
        return None;
    }
    let model_id = a.get(t.def, "model_id").m2o_id()?;
    let irm = db.table(IR_MODEL)?;
    let model = irm
        .recs
        .get(&model_id)?
        .get(irm.def, "model")
        .text("en_US")?;
    let fields = db.table(IR_FIELDS)?;
    let hook = Hook {
        action_id: action,
        action_name: a.get(t.def, "name").text("en_US").unwrap_or_default(),
        url: String::new(),
        fields: a
            .get(t.def, "webhook_field_ids")
            .ids()
            .iter()
            .filter_map(|id| fields.recs.get(id))
            .filter_map(|r| r.get(fields.def, "name").text("en_US"))
            .collect(),
        trigger_fields: Vec::new(),
    };
    let id = *db.table(&model)?.recs.keys().next_back()?;
    let mut body = payload::payload(db, &hook, &model, id, &Ctx::default(), &[])?;
    // Odoo 19's preview shows the real payload's keys; 18's had `_name` instead.
    if db.series < 19 {
        body.remove("_action");
        body.remove("_id");
        body.insert("_name".into(), json!(hook.action_name));
    }
    let body = Json::Object(body.into_iter().collect::<Map<String, Json>>());
    Some(payload::py_json_indent(&body))
}
