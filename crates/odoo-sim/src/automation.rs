//! base.automation's own write side: the `action_server_ids` commands that create, update or link
//! server actions (`[0, 0, vals]`, `[1, id, vals]`, `[4, id]`, `[6, 0, ids]`, `[5]`), the name
//! Odoo gives webhook actions, and the actions deleted with their automation.

use crate::models::defs::{model_def, ACTION, AUTOMATION};
use crate::models::Db;
use crate::value::{Ctx, Val};
use crate::wire::OdooErr;
use chrono::NaiveDateTime;
use serde_json::{json, Map, Value as Json};

/// What Odoo 18 renames every `state: "webhook"` server action to.
pub const WEBHOOK_ACTION_NAME: &str = "Send Webhook Notification";

/// After an automation's create or write: runs the `[0, 0, vals]` / `[1, id, vals]` commands of
/// `action_server_ids` (the id commands were already applied) and links every action back.
pub fn link_actions(
    db: &mut Db,
    automation: i64,
    vals: &Map<String, Json>,
    ctx: &Ctx,
    now: NaiveDateTime,
    uid: i64,
) -> Result<(), OdooErr> {
    let Some(def) = model_def(AUTOMATION) else {
        return Ok(());
    };
    let Some(rec) = db.rec(AUTOMATION, automation) else {
        return Ok(());
    };
    let model_id = rec.get(def, "model_id").m2o_id();
    let mut ids = rec.get(def, "action_server_ids").ids().to_vec();
    let commands = vals
        .get("action_server_ids")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    for cmd in commands.iter().filter_map(Json::as_array) {
        let code = cmd.first().and_then(Json::as_i64).unwrap_or(-1);
        let values = cmd
            .get(2)
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        match code {
            0 => {
                let mut v = values;
                if let Some(m) = model_id {
                    v.entry("model_id").or_insert(json!(m));
                }
                v.insert("base_automation_id".into(), json!(automation));
                v.entry("usage").or_insert(json!("base_automation"));
                ids.push(crate::write::create(db, ACTION, &v, ctx, now, uid)?);
            }
            1 => {
                let id = cmd.get(1).and_then(Json::as_i64).unwrap_or(0);
                crate::write::write(db, ACTION, &[id], &values, ctx, now, uid)?;
            }
            _ => {}
        }
    }
    if let Some(t) = db.table_mut(AUTOMATION) {
        if let Some(rec) = t.recs.get_mut(&automation) {
            rec.set(t.def, "action_server_ids", Val::Ids(ids.clone()));
        }
    }
    if let Some(t) = db.table_mut(ACTION) {
        let def = t.def;
        for id in &ids {
            if let Some(rec) = t.recs.get_mut(id) {
                rec.set(def, "base_automation_id", Val::M2o(automation));
                rec.set(def, "usage", Val::Str("base_automation".into()));
            }
        }
    }
    Ok(())
}

/// A new server action of type webhook is named like Odoo 18 names it (19 keeps the given name).
pub fn name_webhook_action(rec: &mut crate::models::Rec) {
    let Some(def) = model_def(ACTION) else {
        return;
    };
    if rec.get(def, "state") == &Val::Str("webhook".into()) {
        rec.set(def, "name", Val::Str(WEBHOOK_ACTION_NAME.into()));
    }
}

/// Deleting an automation deletes its actions (Odoo's `ondelete="cascade"`).
pub fn unlink_actions(db: &mut Db, automation: i64) {
    if let Some(t) = db.table_mut(ACTION) {
        let def = t.def;
        t.recs
            .retain(|_, r| r.get(def, "base_automation_id").m2o_id() != Some(automation));
    }
}
