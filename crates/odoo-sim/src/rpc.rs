//! JSON-RPC services as Odoo 18 dispatches them: `common` (version, authenticate, login), `db`
//! (list), `object` (execute_kw: database, credentials, model, private method and context
//! checks, then the ORM method under a read or write lock).

use crate::methods::{dispatch_read, Call, READ_METHODS, WRITE_METHODS};
use crate::models::Db;
use crate::value::{Ctx, BASE_LANG};
use crate::wire::{envelope, OdooErr, RpcResult};
use chrono::NaiveDateTime;
use serde_json::{json, Map, Value as Json};
use std::cell::RefCell;
use std::sync::RwLock;

pub const ADMIN_UID: i64 = 2;
const ADMIN_LOGIN: &str = "admin";
const ADMIN_PASSWORD: &str = "admin";

/// What a JSON-RPC call needs from the server.
pub struct Env<'a> {
    pub db: &'a RwLock<Db>,
    pub db_name: &'a str,
    pub odoo_version: u8,
    pub now: NaiveDateTime,
    /// A staged write's POSTs and commit, for the server to finish (see `webhooks`).
    pub pending: RefCell<Option<crate::webhooks::Pending>>,
    /// API keys the admin may put in the password slot (Odoo 19 accepts them there).
    pub admin_keys: Vec<String>,
}

impl Env<'_> {
    fn admin_secret_ok(&self, secret: Option<&str>) -> bool {
        secret == Some(ADMIN_PASSWORD)
            || (self.odoo_version >= 19
                && secret.is_some_and(|s| self.admin_keys.iter().any(|k| k == s)))
    }
}

/// Answers one parsed JSON-RPC request; also returns `model.method` for the stats.
pub fn handle(env: &Env, body: &Json) -> (Json, String) {
    let id = body.get("id").cloned().unwrap_or(Json::Null);
    let params = body.get("params").cloned().unwrap_or(Json::Null);
    let label = label(&params);
    let outcome = match missing_params(&params) {
        Some(err) => Err(err),
        None => service(env, &params),
    };
    (envelope(&id, &outcome, env.odoo_version), label)
}

fn label(params: &Json) -> String {
    let service = params["service"].as_str().unwrap_or("?");
    let method = params["method"].as_str().unwrap_or("?");
    match (service, method) {
        ("object", "execute_kw" | "execute") => {
            let args = &params["args"];
            format!(
                "{}.{}",
                args[3].as_str().unwrap_or("?"),
                args[4].as_str().unwrap_or("?")
            )
        }
        _ => format!("{service}.{method}"),
    }
}

fn missing_params(params: &Json) -> Option<OdooErr> {
    let missing: Vec<&str> = ["service", "method", "args"]
        .into_iter()
        .filter(|k| params.get(*k).is_none())
        .collect();
    let quoted: Vec<String> = missing.iter().map(|m| format!("'{m}'")).collect();
    let list = match quoted.len() {
        0 => return None,
        1 => quoted[0].clone(),
        2 => format!("{} and {}", quoted[0], quoted[1]),
        _ => format!(
            "{}, and {}",
            quoted[..quoted.len() - 1].join(", "),
            quoted[quoted.len() - 1]
        ),
    };
    let noun = if missing.len() == 1 {
        "argument"
    } else {
        "arguments"
    };
    Some(OdooErr::type_error(format!(
        "RPC.jsonrpc() missing {} required positional {noun}: {list}",
        missing.len()
    )))
}

fn service(env: &Env, params: &Json) -> RpcResult {
    let method = params["method"].as_str().unwrap_or("");
    let args = params["args"].as_array().cloned().unwrap_or_default();
    match params["service"].as_str().unwrap_or("") {
        "common" => common(env, method, &args),
        "db" => db_service(env, method),
        "object" => object(env, method, &args),
        other => Err(OdooErr::new("builtins.KeyError", other)),
    }
}

fn version(env: &Env) -> Json {
    let v = format!("{}.0", env.odoo_version);
    json!({
        "server_version": v,
        "server_version_info": [env.odoo_version, 0, 0, "final", 0, ""],
        "server_serie": v,
        "protocol_version": 1,
    })
}

fn method_not_found(method: &str) -> OdooErr {
    OdooErr::new("builtins.Exception", format!("Method not found: {method}"))
}

fn common(env: &Env, method: &str, args: &[Json]) -> RpcResult {
    match method {
        "version" => Ok(Some(version(env))),
        "authenticate" | "login" => {
            let db = args.first().and_then(Json::as_str).unwrap_or("");
            check_db(env, db)?;
            let login = args.get(1).and_then(Json::as_str);
            let password = args.get(2).and_then(Json::as_str);
            let ok = login == Some(ADMIN_LOGIN) && env.admin_secret_ok(password);
            Ok(Some(if ok { json!(ADMIN_UID) } else { json!(false) }))
        }
        "about" => Ok(Some(json!("See http://openerp.com"))),
        other => Err(method_not_found(other)),
    }
}

fn db_service(env: &Env, method: &str) -> RpcResult {
    match method {
        "list" => Ok(Some(json!([env.db_name]))),
        "server_version" => Ok(Some(json!(format!("{}.0", env.odoo_version)))),
        other => Err(method_not_found(other)),
    }
}

fn check_db(env: &Env, db: &str) -> Result<(), OdooErr> {
    match db == env.db_name {
        true => Ok(()),
        false => Err(OdooErr::unknown_db(db)),
    }
}

fn object(env: &Env, method: &str, args: &[Json]) -> RpcResult {
    if method != "execute_kw" && method != "execute" {
        return Err(method_not_found(method));
    }
    check_db(env, args.first().and_then(Json::as_str).unwrap_or(""))?;
    let uid = args.get(1).and_then(Json::as_i64).unwrap_or(0);
    if uid != ADMIN_UID {
        return Err(OdooErr::missing("res.users", &[uid], uid));
    }
    if !env.admin_secret_ok(args.get(2).and_then(Json::as_str)) {
        return Err(OdooErr::access_denied());
    }
    let model = args.get(3).and_then(Json::as_str).unwrap_or("");
    let name = args.get(4).and_then(Json::as_str).unwrap_or("");
    let (call_args, kwargs) = match method {
        "execute_kw" => (
            args.get(5)
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default(),
            args.get(6)
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default(),
        ),
        _ => (
            args.get(5..).map(<[Json]>::to_vec).unwrap_or_default(),
            Map::new(),
        ),
    };
    execute(env, model, name, &call_args, &kwargs, uid)
}

/// Runs `model.method` for `uid` like `execute_kw` does once the credentials are checked.
pub fn execute(
    env: &Env,
    model: &str,
    method: &str,
    args: &[Json],
    kwargs: &Map<String, Json>,
    uid: i64,
) -> RpcResult {
    let guard = env.db.read().unwrap_or_else(|e| e.into_inner());
    if guard.table(model).is_none() {
        return Err(OdooErr::user_error(format!("Object {model} doesn't exist")));
    }
    if method.starts_with('_') {
        return Err(OdooErr::new(
            "odoo.exceptions.AccessError",
            format!("Private methods (such as {method}) cannot be called remotely."),
        ));
    }
    let mut ctx = context(&guard, kwargs.get("context"))?;
    ctx.series = env.odoo_version;
    let call = Call {
        model,
        method,
        args,
        kwargs,
        ctx,
        uid,
        now: env.now,
    };
    if READ_METHODS.contains(&method) {
        return dispatch_read(&guard, &call);
    }
    if !WRITE_METHODS.contains(&method) {
        return Err(crate::methods::unknown_method(method, model));
    }
    drop(guard);
    let mut db = env.db.write().unwrap_or_else(|e| e.into_inner());
    let (result, pending) = crate::webhooks::run_write(&mut db, &call);
    *env.pending.borrow_mut() = pending;
    result
}

/// The `lang` / `active_test` keys of a call's context; an inactive language fails the call.
pub fn context(db: &Db, raw: Option<&Json>) -> Result<Ctx, OdooErr> {
    let mut ctx = Ctx::default();
    let Some(raw) = raw.and_then(Json::as_object) else {
        return Ok(ctx);
    };
    if let Some(lang) = raw.get("lang").and_then(Json::as_str) {
        if lang != BASE_LANG && !db.active_langs().iter().any(|l| l == lang) {
            return Err(OdooErr::user_error(format!(
                "Invalid language code: {lang}"
            )));
        }
        ctx.lang = lang.to_string();
    }
    if let Some(Json::Bool(b)) = raw.get("active_test") {
        ctx.active_test = *b;
    }
    Ok(ctx)
}
