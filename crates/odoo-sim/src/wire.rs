//! The JSON-RPC wire: Odoo's error object (`OdooErr` with its exception class and message), the
//! success/None/error envelopes, Python `repr` of JSON values for error texts, and the HTML
//! bodies of transport errors. Our own structs: nothing shared with the client crate.

use serde_json::{json, Value as Json};

/// An Odoo exception as it travels in `error.data`.
#[derive(Clone, Debug, PartialEq)]
pub struct OdooErr {
    pub name: String,
    pub message: String,
}

pub type RpcResult = Result<Option<Json>, OdooErr>;

impl OdooErr {
    pub fn new(name: &str, message: impl Into<String>) -> OdooErr {
        OdooErr {
            name: name.to_string(),
            message: message.into(),
        }
    }

    pub fn value_error(message: impl Into<String>) -> OdooErr {
        OdooErr::new("builtins.ValueError", message)
    }

    pub fn user_error(message: impl Into<String>) -> OdooErr {
        OdooErr::new("odoo.exceptions.UserError", message)
    }

    pub fn access_denied() -> OdooErr {
        OdooErr::new("odoo.exceptions.AccessDenied", "Access Denied")
    }

    pub fn type_error(message: impl Into<String>) -> OdooErr {
        OdooErr::new("builtins.TypeError", message)
    }

    pub fn invalid_field(field: &str, model: &str) -> OdooErr {
        OdooErr::value_error(
            format!("Invalid field {field:?} on model {model:?}").replace('"', "'"),
        )
    }

    /// MissingError for `model(ids)` as Odoo words it.
    pub fn missing(model: &str, ids: &[i64], uid: i64) -> OdooErr {
        OdooErr::new(
            "odoo.exceptions.MissingError",
            format!(
                "Record does not exist or has been deleted.\n(Record: {model}{}, User: {uid})",
                py_tuple(ids)
            ),
        )
    }

    pub fn unknown_db(db: &str) -> OdooErr {
        OdooErr::new(
            "psycopg2.OperationalError",
            format!(
                "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"{db}\" does not exist\n"
            ),
        )
    }

    /// A short Python-looking traceback for `data.debug`.
    fn debug(&self) -> String {
        let short = self.name.rsplit('.').next().unwrap_or(&self.name);
        let cls = match self.name.starts_with("builtins.") {
            true => short.to_string(),
            false => self.name.clone(),
        };
        format!(
            "Traceback (most recent call last):\n  File \"/usr/lib/python3/dist-packages/odoo/http.py\", line 1, in _serve_db\n    (odoo-sim)\n{cls}: {}\n",
            self.message
        )
    }

    /// The `error` object of a JSON-RPC answer from Odoo `series` (19 says code 0, 18 said 200).
    pub fn to_json(&self, series: u8) -> Json {
        let code = if series >= 19 { 0 } else { 200 };
        json!({
            "code": code,
            "message": "Odoo Server Error",
            "data": {
                "name": self.name,
                "debug": self.debug(),
                "message": self.message,
                "arguments": [self.message],
                "context": {},
            }
        })
    }
}

/// The whole JSON-RPC answer: `result`, `error`, or neither (a method returning None).
pub fn envelope(id: &Json, outcome: &RpcResult, series: u8) -> Json {
    match outcome {
        Ok(Some(result)) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Ok(None) => json!({"jsonrpc": "2.0", "id": id}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": e.to_json(series)}),
    }
}

/// Python tuple repr of ids: `(5,)`, `(5, 6)`.
pub fn py_tuple(ids: &[i64]) -> String {
    match ids {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            ids.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python `repr` of a JSON value (str, int, float, bool, None, list, dict).
pub fn py_repr(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) if n.is_f64() => py_float(n.as_f64().unwrap_or(0.0)),
        Json::Number(n) => n.to_string(),
        Json::String(s) => py_str(s),
        Json::Array(items) => format!("[{}]", join_repr(items.iter())),
        Json::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str(k), py_repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Python repr of a domain leaf as a tuple: `('name', '==', 'Desk')`.
pub fn py_leaf(items: &[Json]) -> String {
    match items {
        [one] => format!("({},)", py_repr(one)),
        _ => format!("({})", join_repr(items.iter())),
    }
}

fn join_repr<'a>(items: impl Iterator<Item = &'a Json>) -> String {
    items.map(py_repr).collect::<Vec<_>>().join(", ")
}

fn py_float(x: f64) -> String {
    let s = format!("{x:?}");
    match s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        true => s,
        false => format!("{s}.0"),
    }
}

fn py_str(s: &str) -> String {
    let quote = match s.contains('\'') && !s.contains('"') {
        true => '"',
        false => '\'',
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Werkzeug's `url_quote` with no safe characters: everything but ASCII letters, digits and
/// `-._~` percent-encoded (`/` included).
pub fn url_quote(text: &str) -> String {
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}

/// The page Werkzeug sends with a redirect to `location`.
pub fn redirect_html(location: &str) -> String {
    let shown = location.replace('&', "&amp;");
    format!(
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n\
         <p>You should be redirected automatically to the target URL: <a href=\"{shown}\">{shown}</a>. \
         If not, click the link.\n"
    )
}

/// The start of Odoo 18's login page, as a real server sends it (trimmed: no assets).
pub const LOGIN_HTML: &str = "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\"/>\n<title>Odoo</title>\n<script id=\"web.layout.odooscript\" type=\"text/javascript\">\n    var odoo = {\n        csrf_token: \"0c6f1ab7d7e5c1d1e0a3b9c2d4f5e6a7b8c9d0e1o1900000000\",\n        debug: \"\",\n    };\n</script>\n</head>\n<body>\n<form class=\"oe_login_form\" role=\"form\" method=\"post\" action=\"/web/login\">\n<input type=\"text\" name=\"login\" id=\"login\" required=\"required\"/>\n<input type=\"password\" name=\"password\" id=\"password\" required=\"required\"/>\n<button type=\"submit\">Log in</button>\n</form>\n</body>\n</html>\n";

pub const INVALID_JSON: &str = "Invalid JSON data";

pub const BAD_REQUEST_HTML: &str = "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n<p>Request inferred type is compatible with [&#39;http&#39;] but &#39;/jsonrpc&#39; is type=&#39;json&#39;.</p>\n";

pub const NOT_FOUND_HTML: &str = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n";

pub const UNAVAILABLE_HTML: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_print_as_python_tuples() {
        let leaf = [json!("name"), json!("=="), json!("Desk")];
        assert_eq!(py_leaf(&leaf), "('name', '==', 'Desk')");
        let leaf = [
            json!("active"),
            json!("in"),
            json!([true, false, null, 1.0, "l'a"]),
        ];
        assert_eq!(
            py_leaf(&leaf),
            "('active', 'in', [True, False, None, 1.0, \"l'a\"])"
        );
        assert_eq!(py_tuple(&[41]), "(41,)");
        assert_eq!(py_tuple(&[41, 42]), "(41, 42)");
    }

    #[test]
    fn invalid_field_message_uses_python_quotes() {
        let e = OdooErr::invalid_field("no_such_field", "product.template");
        assert_eq!(
            e.message,
            "Invalid field 'no_such_field' on model 'product.template'"
        );
    }

    #[test]
    fn a_none_result_has_neither_result_nor_error() {
        let v = envelope(&json!(7), &Ok(None), 18);
        assert_eq!(v, json!({"jsonrpc": "2.0", "id": 7}));
    }
}
