//! Odoo 19's JSON-2 API: `POST /json/2/<model>/<method>` with the method's named arguments in
//! one JSON object, an API key as bearer token and the database in `X-Odoo-Database`; the
//! answer is the bare return value (`null` for None) or an error status with
//! `{name, message, arguments, context, debug}` (HTML for a missing database and a wrong content
//! type). Also `GET /web/version`. Checks run in Odoo's order: database, route, content type,
//! key, body, model, method, signature; then the same ORM as `/jsonrpc`.

use crate::methods::{READ_METHODS, WRITE_METHODS};
use crate::models::defs::model_def;
use crate::rpc::{self, Env, ADMIN_UID};
use crate::server::{finish, html, json_response, AppState};
use crate::value::now_micros;
use crate::wire::OdooErr;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;

pub const NO_DATABASE_HTML: &str = "<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>No database is selected and the requested URL was not found in the server-wide controllers.</p>\n<p>Please verify the hostname, <a href=/web/login>login</a> and try again.</p>\n\n<!-- Alternatively, use the X-Odoo-Database header. -->\n";

pub const UNSUPPORTED_MEDIA_HTML: &str = "<!doctype html>\n<html lang=en>\n<title>415 Unsupported Media Type</title>\n<h1>Unsupported Media Type</h1>\n<p>Request inferred type is compatible with [&#39;http&#39;] but &#39;/json/2/&lt;__model__&gt;/&lt;__method__&gt;&#39; is type=&#39;json2&#39;.<br><br>Please verify the Content-Type request header and try again.</p>\n";

const NOT_AUTHENTICATED: &str =
    "User not authenticated, use an API Key with a Bearer Authorization header.";
const CONTEXT_GET_TZ: &str = "Europe/Brussels";
const USERS: &str = "res.users";

/// A JSON-2 error: the HTTP status and Odoo's exception.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    error: OdooErr,
}

impl Failure {
    /// werkzeug's own exceptions carry the status in `arguments`.
    fn http(status: StatusCode, name: &str, message: impl Into<String>) -> Failure {
        Failure {
            status,
            error: OdooErr::new(&format!("werkzeug.exceptions.{name}"), message),
        }
    }

    fn not_found(message: impl Into<String>) -> Failure {
        Failure::http(StatusCode::NOT_FOUND, "NotFound", message)
    }

    fn unprocessable(message: impl Into<String>) -> Failure {
        Failure::http(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UnprocessableEntity",
            message,
        )
    }

    fn unauthorized(message: &str) -> Failure {
        Failure::http(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }

    /// An exception the ORM raised: the status JSON-2 gives its class.
    fn orm(error: OdooErr) -> Failure {
        let status = match error.name.as_str() {
            "odoo.exceptions.AccessError" => StatusCode::FORBIDDEN,
            "odoo.exceptions.MissingError" => StatusCode::NOT_FOUND,
            "odoo.exceptions.AccessDenied" => StatusCode::UNAUTHORIZED,
            "odoo.exceptions.UserError"
            | "odoo.exceptions.ValidationError"
            | "odoo.exceptions.RedirectWarning" => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure { status, error }
    }

    fn into_response(self) -> Response {
        let arguments = match self.error.name.starts_with("werkzeug.") {
            true => json!([self.error.message, self.status.as_u16()]),
            false => json!([self.error.message]),
        };
        let body = json!({
            "name": self.error.name,
            "message": self.error.message,
            "arguments": arguments,
            "context": {},
            "debug": traceback(&self.error),
        });
        let text = serde_json::to_string(&body).unwrap_or_default();
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            text,
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer "),
            );
        }
        response
    }
}

fn traceback(error: &OdooErr) -> String {
    format!(
        "Traceback (most recent call last):\n  File \"/usr/lib/python3/dist-packages/odoo/http.py\", line 1, in _serve_db\n    (odoo-sim)\n{}: {}\n",
        error.name, error.message
    )
}

/// `GET /web/version`.
pub async fn web_version(State(state): State<Arc<AppState>>) -> Response {
    let version = state.odoo_version;
    json_response(&json!({
        "version_info": [version, 0, 0, "final", 0, ""],
        "version": format!("{version}.0"),
    }))
}

/// Any request under `/json/2/`.
pub async fn json2(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.knows_database(database_header(&headers).as_deref()) {
        return html(StatusCode::NOT_FOUND, NO_DATABASE_HTML);
    }
    let route = uri.path().trim_start_matches("/json/2/");
    let Some((model, name)) = route.split_once('/').filter(|(m, n)| {
        method == Method::POST && !m.is_empty() && !n.is_empty() && !n.contains('/')
    }) else {
        return Failure::not_found("Did you mean POST /json/2/<model>/<method>?").into_response();
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_json {
        return html(StatusCode::UNSUPPORTED_MEDIA_TYPE, UNSUPPORTED_MEDIA_HTML);
    }
    let database = database_header(&headers).unwrap_or_else(|| state.db_name.clone());
    let uid = match authenticate(&state, &headers, &database) {
        Ok(uid) => uid,
        Err(failure) => return failure.into_response(),
    };
    let args = match parse_body(&body) {
        Ok(args) => args,
        Err(failure) => return failure.into_response(),
    };
    let faults = match crate::server::enter_call(&state).await {
        Ok(faults) => faults,
        Err(refused) => return refused,
    };
    let outcome = run(&state, model, name, args, uid).await;
    match outcome {
        Ok(value) => {
            let records = value.as_array().map_or(0, Vec::len);
            if faults.per_record_us > 0 && records > 0 {
                tokio::time::sleep(faults.per_records(records)).await;
            }
            json_response(&value)
        }
        Err(failure) => failure.into_response(),
    }
}

fn database_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-odoo-database")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The uid of the bearer key; Basic auth or no header is "not authenticated".
fn authenticate(state: &AppState, headers: &HeaderMap, database: &str) -> Result<i64, Failure> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some((scheme, secret)) = value.split_once(' ') else {
        return Err(Failure::unauthorized(NOT_AUTHENTICATED));
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Failure::unauthorized(NOT_AUTHENTICATED));
    }
    state
        .keys
        .uid_of(secret.trim(), database, &state.db_name)
        .ok_or_else(|| Failure::unauthorized("Invalid apikey"))
}

/// The named arguments: an empty body is none, an array body is silently dropped (as Odoo does).
fn parse_body(body: &[u8]) -> Result<Map<String, Json>, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Json>(body) {
        Ok(Json::Object(args)) => Ok(args),
        Ok(_) => Ok(Map::new()),
        Err(e) => Err(Failure::http(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("could not parse the body as json: {e}"),
        )),
    }
}

/// A method's Python signature, as JSON-2 binds the named arguments to it.
struct Signature {
    /// `@api.model`: no `ids`.
    model_method: bool,
    /// Parameters in order, with whether each is required.
    params: &'static [(&'static str, bool)],
    /// Has `**kwargs`: unknown names go to the method (and fail there, if at all).
    var_kwargs: bool,
}

fn signature(method: &str) -> Option<Signature> {
    let (model_method, params, var_kwargs): (bool, &'static [(&'static str, bool)], bool) =
        match method {
            "search" => (
                true,
                &[
                    ("domain", true),
                    ("offset", false),
                    ("limit", false),
                    ("order", false),
                ],
                false,
            ),
            "search_read" => (
                true,
                &[
                    ("domain", false),
                    ("fields", false),
                    ("offset", false),
                    ("limit", false),
                    ("order", false),
                ],
                true,
            ),
            "search_count" => (true, &[("domain", true), ("limit", false)], false),
            "read" => (false, &[("fields", false), ("load", false)], false),
            "fields_get" => (true, &[("allfields", false), ("attributes", false)], false),
            "name_search" => (
                true,
                &[
                    ("name", false),
                    ("domain", false),
                    ("operator", false),
                    ("limit", false),
                ],
                false,
            ),
            "create" => (true, &[("vals_list", true)], false),
            "write" => (false, &[("vals", true)], false),
            "unlink" | "action_apply_inventory" => (false, &[], false),
            "context_get" => (true, &[], false),
            _ => return None,
        };
    Some(Signature {
        model_method,
        params,
        var_kwargs,
    })
}

/// The positional arguments (`ids` first for record methods) and what is left as keywords.
fn bind(
    model: &str,
    method: &str,
    sig: &Signature,
    mut named: Map<String, Json>,
) -> Result<(Vec<Json>, Map<String, Json>), Failure> {
    let ids = named.remove("ids");
    let mut args = Vec::new();
    match (sig.model_method, ids) {
        (true, Some(_)) => {
            return Err(Failure::unprocessable(format!(
                "cannot call {model}.{method} with ids"
            )))
        }
        (false, ids) => args.push(ids.unwrap_or_else(|| json!([]))),
        (true, None) => {}
    }
    if !sig.var_kwargs {
        if let Some(unknown) = named
            .keys()
            .find(|k| *k != "context" && !sig.params.iter().any(|(p, _)| p == k))
        {
            return Err(Failure::unprocessable(format!(
                "got an unexpected keyword argument '{unknown}'"
            )));
        }
    }
    if let Some((missing, _)) = sig
        .params
        .iter()
        .find(|(p, required)| *required && !named.contains_key(*p))
    {
        return Err(Failure::unprocessable(format!(
            "missing a required argument: '{missing}'"
        )));
    }
    // Positional up to the first one not given, so the ORM sees them as /jsonrpc passes them.
    for (param, _) in sig.params {
        match named.remove(*param) {
            Some(value) => args.push(value),
            None => break,
        }
    }
    Ok((args, named))
}

async fn run(
    state: &Arc<AppState>,
    model: &str,
    method: &str,
    named: Map<String, Json>,
    uid: i64,
) -> Result<Json, Failure> {
    // res.users is there for its `context_get`, the call that says whose key it is.
    let exists = model == USERS
        || state
            .db
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .table(model)
            .is_some();
    if !exists {
        return Err(Failure::not_found(format!(
            "the model '{model}' does not exist"
        )));
    }
    if method.starts_with('_') {
        return Err(Failure::orm(OdooErr::new(
            "odoo.exceptions.AccessError",
            format!("Private methods (such as '{model}.{method}') cannot be called remotely."),
        )));
    }
    let served = match model == USERS {
        true => method == "context_get",
        false => READ_METHODS.contains(&method) || WRITE_METHODS.contains(&method),
    };
    let sig = signature(method).filter(|_| served).ok_or_else(|| {
        Failure::not_found(format!("The method '{model}.{method}' does not exist"))
    })?;
    let single_create = method == "create" && named.get("vals_list").is_some_and(Json::is_object);
    let (args, kwargs) = bind(model, method, &sig, named)?;
    if method == "context_get" {
        return Ok(json!({"lang": "en_US", "tz": CONTEXT_GET_TZ, "uid": uid}));
    }
    if uid != ADMIN_UID && WRITE_METHODS.contains(&method) {
        return Err(Failure::orm(not_allowed_to_modify(model)));
    }
    let outcome = execute(state, model, method, args, kwargs, uid).await?;
    Ok(match (outcome, single_create) {
        // JSON-2 returns recordsets as id lists, even for one dict.
        (Some(id @ Json::Number(_)), true) => json!([id]),
        (Some(value), _) => value,
        (None, _) => Json::Null,
    })
}

fn not_allowed_to_modify(model: &str) -> OdooErr {
    let description = model_def(model).map_or(model, |d| d.description);
    OdooErr::new(
        "odoo.exceptions.AccessError",
        format!(
            "You are not allowed to modify '{description}' ({model}) records.\n\nThis operation is allowed for the following groups:\n\t- Products/Create\n\nContact your administrator to request access if necessary."
        ),
    )
}

/// The ORM call off the async workers; a staged write is finished (committed, then its webhooks
/// sent) before the answer, like `/jsonrpc`.
async fn execute(
    state: &Arc<AppState>,
    model: &str,
    method: &str,
    args: Vec<Json>,
    kwargs: Map<String, Json>,
    uid: i64,
) -> Result<Option<Json>, Failure> {
    let worker = state.clone();
    let (model, method) = (model.to_owned(), method.to_owned());
    let now = now_micros();
    let answered = tokio::task::spawn_blocking(move || {
        let env = Env {
            db: &worker.db,
            db_name: &worker.db_name,
            odoo_version: worker.odoo_version,
            now,
            pending: Default::default(),
            admin_keys: Vec::new(),
        };
        let outcome = rpc::execute(&env, &model, &method, &args, &kwargs, uid);
        worker.count_call(format!("{model}.{method}"));
        (outcome, env.pending.into_inner())
    })
    .await;
    match answered {
        Ok((outcome, pending)) => {
            if let Some(pending) = pending {
                finish(state, pending).await;
            }
            outcome.map_err(Failure::orm)
        }
        Err(e) => Err(Failure::orm(OdooErr::new(
            "builtins.RuntimeError",
            e.to_string(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_arguments_bind_like_python_does() {
        let named = |v: Json| v.as_object().cloned().unwrap();
        let sig = signature("write").unwrap();
        let (args, kwargs) = bind(
            "product.template",
            "write",
            &sig,
            named(json!({"ids": [5], "vals": {"name": "x"}, "context": {"lang": "zh_CN"}})),
        )
        .unwrap();
        assert_eq!(args, vec![json!([5]), json!({"name": "x"})]);
        assert_eq!(Json::Object(kwargs), json!({"context": {"lang": "zh_CN"}}));

        let missing = bind(
            "product.template",
            "write",
            &sig,
            named(json!({"ids": [5]})),
        );
        assert_eq!(
            missing.unwrap_err().error.message,
            "missing a required argument: 'vals'"
        );
        let search = signature("search").unwrap();
        let with_ids = bind(
            "product.template",
            "search",
            &search,
            named(json!({"ids": [5], "domain": []})),
        );
        assert_eq!(
            with_ids.unwrap_err().error.message,
            "cannot call product.template.search with ids"
        );
        let read = signature("search_read").unwrap();
        let (args, kwargs) = bind(
            "product.template",
            "search_read",
            &read,
            named(json!({"domain": [], "limit": 3, "fieldz": ["id"]})),
        )
        .unwrap();
        assert_eq!(args, vec![json!([])]);
        assert_eq!(Json::Object(kwargs), json!({"limit": 3, "fieldz": ["id"]}));
    }

    #[test]
    fn orm_exceptions_get_the_status_odoo_19_gives_them() {
        let status = |name: &str| Failure::orm(OdooErr::new(name, "m")).status.as_u16();
        assert_eq!(status("odoo.exceptions.AccessError"), 403);
        assert_eq!(status("odoo.exceptions.MissingError"), 404);
        assert_eq!(status("odoo.exceptions.ValidationError"), 422);
        assert_eq!(status("odoo.exceptions.UserError"), 422);
        assert_eq!(status("builtins.ValueError"), 500);
    }
}
