//! Errors of the Odoo client: `OdooError` (what a call can fail with), `OdooFault` (an error Odoo
//! itself raised, classified by its Python exception name) and `DecodeError` (a value that did not
//! have the expected shape). No message here ever carries the password or API key.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::protocol::Protocol;

/// Everything a call to Odoo can fail with.
#[derive(Debug, thiserror::Error)]
pub enum OdooError {
    /// The request did not get an HTTP answer (connection refused, reset, DNS...).
    #[error("cannot reach Odoo at {url}: {}", root_cause(source.as_ref()))]
    Transport {
        url: String,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    #[error("Odoo at {url} did not answer within {after:?}")]
    Timeout { url: String, after: Duration },
    /// A non-2xx HTTP answer (Odoo's own 400/404 pages, a proxy's 502...).
    #[error("Odoo at {url} answered HTTP {status}: {snippet}")]
    Http {
        status: u16,
        url: String,
        snippet: String,
    },
    /// A 2xx answer that is not a JSON-RPC response / JSON-2 value (HTML, truncated JSON...).
    #[error("Odoo at {url} sent an unreadable answer (HTTP {status}, {problem}): {snippet}")]
    InvalidResponse {
        status: u16,
        url: String,
        problem: String,
        snippet: String,
    },
    #[error("Odoo refused login '{login}' on database '{db}' (wrong login, password or API key)")]
    AuthenticationFailed { login: String, db: String },
    /// JSON-2 answered 401: the bearer secret was refused. `message` is Odoo's (e.g. `Invalid
    /// apikey`); the secret itself is never kept here.
    #[error("{}", api_key_refused(url, login, db, *credential, message))]
    ApiKeyRefused {
        url: String,
        login: String,
        db: String,
        /// Where the refused secret came from.
        credential: Credential,
        message: String,
    },
    /// The server has no such API at this path: it answered a call with a redirect or a web page
    /// (Odoo 18 redirects `/json/2/...` to its login page; Odoo 20 has no `/jsonrpc`).
    #[error("{}", api_absent(url, *protocol, call, answer))]
    ApiAbsent {
        url: String,
        protocol: Protocol,
        /// The call that found no API, e.g. `POST /json/2/res.users/context_get`.
        call: String,
        /// What came back instead, e.g. `HTTP 303 redirecting to /web/login?...`.
        answer: String,
    },
    /// JSON-2 was asked for, but no API key is configured.
    #[error(
        "Odoo's JSON-2 API needs an API key (ODOO_API_KEY) for login '{login}' on database \
         '{db}', and none is configured"
    )]
    ApiKeyMissing { login: String, db: String },
    /// A call this transport cannot express (e.g. positional arguments JSON-2 has no name for).
    #[error("cannot call {call}: {reason}")]
    InvalidCall { call: String, reason: String },
    /// A write failed after it may have reached Odoo (a timeout, a reset, a 5xx): it may have
    /// committed, so it was not sent again.
    #[error(
        "{call} may or may not have been applied in Odoo: {source}. It was not retried, since \
         sending a write again could apply it twice: check Odoo before trying again"
    )]
    OutcomeUnknown {
        call: String,
        #[source]
        source: Box<OdooError>,
    },
    #[error(transparent)]
    Fault(#[from] OdooFault),
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl OdooError {
    /// Worth trying again: the server may not have seen the request, or was briefly unavailable.
    /// Faults and decode errors would come back identical.
    pub fn is_retryable(&self) -> bool {
        match self {
            OdooError::Transport { .. } | OdooError::Timeout { .. } => true,
            OdooError::Http { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// The request certainly never reached Odoo (the connection could not be opened), so even a
    /// write may be sent again.
    pub fn never_sent(&self) -> bool {
        let OdooError::Transport { source, .. } = self else {
            return false;
        };
        match source.downcast_ref::<reqwest::Error>() {
            Some(error) => error.is_connect(),
            None => source.is::<NotSent>(),
        }
    }

    /// The fault Odoo raised, if this is one.
    pub fn fault(&self) -> Option<&OdooFault> {
        match self {
            OdooError::Fault(fault) => Some(fault),
            _ => None,
        }
    }
}

/// A transport failure known to have happened before anything was sent (used by tests and fakes
/// that have no real connection to refuse).
#[derive(Debug, thiserror::Error)]
#[error("connection refused before the request was sent")]
pub struct NotSent;

/// The secret a transport authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Credential {
    /// `ClientConfig::api_key`.
    ApiKey,
    /// `ClientConfig::password`, sent as a bearer key because no API key was configured.
    Password,
}

fn api_key_refused(
    url: &str,
    login: &str,
    db: &str,
    credential: Credential,
    message: &str,
) -> String {
    match credential {
        Credential::ApiKey => format!(
            "Odoo at {url} refused the API key of login '{login}' on database '{db}' \
             (wrong, expired, revoked, scoped, or made on another database): {message}"
        ),
        Credential::Password => format!(
            "Odoo at {url} refused the password of login '{login}' on database '{db}': \
             Odoo 19's JSON-2 API needs an API key (ODOO_API_KEY), not a password ({message})"
        ),
    }
}

fn api_absent(url: &str, protocol: Protocol, call: &str, answer: &str) -> String {
    let (name, hint) = match protocol {
        Protocol::Json2 => (
            "JSON-2",
            "JSON-2 appeared in Odoo 19; use ODOO_PROTOCOL=jsonrpc (or auto) for an older server",
        ),
        _ => (
            "JSON-RPC",
            "/jsonrpc is gone from Odoo 20; use ODOO_PROTOCOL=json2 (or auto) with an API key \
             (ODOO_API_KEY)",
        ),
    };
    format!("Odoo at {url} does not speak {name}: {call} answered {answer} ({hint})")
}

fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// An exception raised by Odoo, as the JSON-RPC `error` object or the JSON-2 error body reported
/// it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Odoo {kind} ({name}): {message}")]
pub struct OdooFault {
    pub kind: FaultKind,
    /// The Python exception, e.g. `odoo.exceptions.AccessError`.
    pub name: String,
    /// Odoo's message, translated into the calling user's language.
    pub message: String,
    /// `error.code` over JSON-RPC (200 on Odoo 18, 0 on Odoo 19's legacy endpoint); the HTTP
    /// status over JSON-2.
    pub code: i64,
    /// The server traceback (`error.data.debug`, JSON-2 `debug`); kept out of Display because it
    /// is long.
    pub debug: Option<String>,
}

impl OdooFault {
    pub fn new(name: impl Into<String>, message: impl Into<String>, code: i64) -> Self {
        let name = name.into();
        OdooFault {
            kind: FaultKind::from_exception_name(&name),
            name,
            message: message.into(),
            code,
            debug: None,
        }
    }
}

/// What kind of exception Odoo raised. Derived from the exception name only, since messages are
/// translated into the user's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// Wrong credentials on an authenticated call.
    AccessDenied,
    /// Missing rights (model ACL, record rule, private method).
    AccessError,
    /// A record that does not exist or was deleted.
    MissingError,
    /// A constraint refused the values.
    ValidationError,
    /// A business error (also an unknown model or an inactive language on Odoo 18).
    UserError,
    /// An invalid field, domain, order or value (Python `ValueError`).
    InvalidArgument,
    /// The model has no such method.
    UnknownMethod,
    /// PostgreSQL refused (unknown database, bad literal in a domain...).
    Database,
    Other,
}

impl FaultKind {
    pub fn from_exception_name(name: &str) -> FaultKind {
        match name {
            "odoo.exceptions.AccessDenied" => FaultKind::AccessDenied,
            "odoo.exceptions.AccessError" => FaultKind::AccessError,
            "odoo.exceptions.MissingError" => FaultKind::MissingError,
            "odoo.exceptions.ValidationError" => FaultKind::ValidationError,
            // RedirectWarning is a UserError subclass carrying a UI action.
            "odoo.exceptions.UserError" | "odoo.exceptions.RedirectWarning" => FaultKind::UserError,
            "builtins.ValueError" => FaultKind::InvalidArgument,
            "builtins.AttributeError" => FaultKind::UnknownMethod,
            _ if name.starts_with("psycopg2.") => FaultKind::Database,
            _ => FaultKind::Other,
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            FaultKind::AccessDenied => "access denied",
            FaultKind::AccessError => "access error",
            FaultKind::MissingError => "missing record",
            FaultKind::ValidationError => "validation error",
            FaultKind::UserError => "user error",
            FaultKind::InvalidArgument => "invalid argument",
            FaultKind::UnknownMethod => "unknown method",
            FaultKind::Database => "database error",
            FaultKind::Other => "error",
        };
        f.write_str(text)
    }
}

/// A value Odoo sent that does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: expected {expected}, got {got}")]
pub struct DecodeError {
    /// What was being decoded, e.g. `field 'list_price' of record 5`.
    pub location: String,
    pub expected: String,
    /// An excerpt of what came.
    pub got: String,
}

const EXCERPT_CHARS: usize = 80;

impl DecodeError {
    /// A record field that is missing (`got == None`) or of the wrong type.
    pub fn field(field: &str, record_id: Option<i64>, expected: &str, got: Option<&Value>) -> Self {
        let location = match record_id {
            Some(id) => format!("field '{field}' of record {id}"),
            None => format!("field '{field}'"),
        };
        let got = got.map_or_else(|| "nothing (field missing)".to_owned(), excerpt);
        DecodeError {
            location,
            expected: expected.to_owned(),
            got,
        }
    }

    /// The result of a call, e.g. `call` = `product.template.search`.
    pub fn result(call: &str, expected: &str, got: &Value) -> Self {
        DecodeError {
            location: format!("result of {call}"),
            expected: expected.to_owned(),
            got: excerpt(got),
        }
    }
}

/// The start of a value's JSON text, for error messages.
pub(crate) fn excerpt(value: &Value) -> String {
    truncate_chars(&value.to_string(), EXCERPT_CHARS)
}

pub(crate) fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fault_kind_comes_from_the_exception_name() {
        let cases = [
            ("odoo.exceptions.AccessDenied", FaultKind::AccessDenied),
            ("odoo.exceptions.AccessError", FaultKind::AccessError),
            ("odoo.exceptions.MissingError", FaultKind::MissingError),
            (
                "odoo.exceptions.ValidationError",
                FaultKind::ValidationError,
            ),
            ("odoo.exceptions.UserError", FaultKind::UserError),
            ("builtins.ValueError", FaultKind::InvalidArgument),
            ("builtins.AttributeError", FaultKind::UnknownMethod),
            ("psycopg2.OperationalError", FaultKind::Database),
            ("psycopg2.errors.InvalidDatetimeFormat", FaultKind::Database),
            ("builtins.KeyError", FaultKind::Other),
            ("builtins.TypeError", FaultKind::Other),
            ("builtins.AssertionError", FaultKind::Other),
            ("builtins.Exception", FaultKind::Other),
        ];
        for (name, kind) in cases {
            assert_eq!(FaultKind::from_exception_name(name), kind, "{name}");
        }
    }

    #[test]
    fn only_transport_timeout_5xx_and_429_are_retryable() {
        let url = "http://odoo".to_owned();
        let http = |status| OdooError::Http {
            status,
            url: url.clone(),
            snippet: String::new(),
        };
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(OdooError::Transport {
            url: url.clone(),
            source: Box::new(refused)
        }
        .is_retryable());
        assert!(OdooError::Timeout {
            url: url.clone(),
            after: Duration::from_secs(1)
        }
        .is_retryable());
        assert!(http(502).is_retryable());
        assert!(http(429).is_retryable());
        assert!(!http(400).is_retryable());
        assert!(!http(404).is_retryable());
        let denied = OdooFault::new("odoo.exceptions.AccessDenied", "Access Denied", 200);
        assert!(!OdooError::Fault(denied).is_retryable());
        let decode = DecodeError::result("x.search", "a list of ids", &json!("abc"));
        assert!(!OdooError::Decode(decode).is_retryable());
    }

    #[test]
    fn decode_error_names_field_record_expectation_and_value() {
        let error = DecodeError::field("list_price", Some(5), "a number", Some(&json!("abc")));
        assert_eq!(
            error.to_string(),
            r#"field 'list_price' of record 5: expected a number, got "abc""#
        );
        let missing = DecodeError::field("name", None, "a string", None);
        assert_eq!(
            missing.to_string(),
            "field 'name': expected a string, got nothing (field missing)"
        );
    }

    #[test]
    fn excerpts_are_cut_on_a_char_boundary() {
        let long = "é".repeat(200);
        let cut = truncate_chars(&long, 80);
        assert_eq!(cut.chars().count(), 83);
    }

    #[test]
    fn fault_display_leaves_out_the_traceback() {
        let mut fault = OdooFault::new("builtins.ValueError", "Invalid field 'x'", 200);
        fault.debug = Some("Traceback (most recent call last): ...".to_owned());
        let text = fault.to_string();
        assert_eq!(
            text,
            "Odoo invalid argument (builtins.ValueError): Invalid field 'x'"
        );
    }
}
