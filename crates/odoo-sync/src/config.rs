//! Configuration: defaults in code, an optional TOML file, environment variables on top.
//!
//! Every key has one name, used both in the environment and in the TOML file (`ODOO_URL = "…"`).
//! A missing or malformed value is an error naming the key; secrets are `SecretString` and never
//! printed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::domain::{CatalogScope, SyncMode};
use crate::engine::scheduler::{parse_cron, Schedule};
use crate::engine::site_webhooks::{parse_retry_delays, SiteWebhookSettings, DEFAULT_RETRY_DELAYS};
use crate::engine::SyncSettings;
use crate::store::StoreKind;

/// Every key odoo-sync reads, with its meaning, for `--help`-like listings and the README table.
pub const KEYS: &[(&str, &str)] = &[
    ("ODOO_URL", "Odoo base URL, e.g. https://shop.odoo.com"),
    ("ODOO_DB", "Odoo database name"),
    ("ODOO_LOGIN", "Odoo login of the sync user"),
    ("ODOO_PASSWORD", "password (or API key) of that user, for JSON-RPC"),
    ("ODOO_API_KEY", "API key of that user, for Odoo 19's JSON-2 API"),
    ("ODOO_PROTOCOL", "auto (default: JSON-2 on Odoo 19+ with ODOO_API_KEY, else JSON-RPC), json2 or jsonrpc"),
    ("IMAGE_STORE", "where image bytes go: a folder, or s3://bucket/prefix; default ./odoo-sync-images"),
    ("DATABASE_URL", "catalog store: sqlite://PATH or postgres://USER@HOST/DB; default sqlite://odoo-sync.sqlite"),
    ("SYNC_BATCH_SIZE", "products per batch (one transaction each); default 200"),
    ("SYNC_FULL_BATCH_SIZE", "products per page and transaction of a full pass; default 2500"),
    ("SYNC_LANGS", "languages whose translated names and descriptions are synced (products, attributes and their values, website categories), e.g. fr_FR,en_US; one read per language per page"),
    ("SYNC_EXTRA_FIELDS", "extra product.template fields kept as JSON, e.g. x_color,weight"),
    ("SYNC_OVERLAP_SECONDS", "how far before the watermark incremental reads start; default 300"),
    ("SYNC_PRICELIST_IDS", "comma-separated ids of the product.pricelists whose prices each variant carries (prices; the first is pricelistPrice); unset: none"),
    ("SYNC_PRICELIST_ID", "one-item alias of SYNC_PRICELIST_IDS (kept for existing set-ups)"),
    ("SYNC_CONCURRENCY", "Odoo pages in flight during a full pass (Odoo's worker count); default 2"),
    ("ODOO_TIMEOUT_SECONDS", "timeout of one Odoo call; default 60"),
    ("BIND", "address `serve` listens on; default 127.0.0.1:8080"),
    ("ADMIN_TOKEN", "bearer token of the sync API and the admin page; unset disables them"),
    ("CRON_SECRET", "bearer token of GET /api/cron/sync (Vercel Cron); unset disables it"),
    ("CATALOG_PUBLIC", "true (default): the catalog API needs no token; false: CATALOG_TOKEN or ADMIN_TOKEN"),
    ("CATALOG_TOKEN", "read-only bearer token of the catalog API when CATALOG_PUBLIC=false"),
    ("ADMIN_TOKEN_PREVIOUS", "the admin token being rotated out, accepted beside ADMIN_TOKEN (SECURITY.md)"),
    ("CRON_SECRET_PREVIOUS", "the cron secret being rotated out, accepted beside CRON_SECRET"),
    ("CATALOG_TOKEN_PREVIOUS", "the catalog token being rotated out, accepted beside CATALOG_TOKEN"),
    ("WEBHOOK_SECRET_PREVIOUS", "the webhook secret being rotated out, accepted beside WEBHOOK_SECRET"),
    ("CORS_ORIGINS", "origins allowed to call the API from a browser, comma-separated, or *"),
    ("CACHE_CONTROL", "Cache-Control of catalog answers; default public, max-age=60"),
    ("SYNC_SCHEDULE", "cron of the built-in incremental sync; default 0 */6 * * *; off disables"),
    ("SYNC_FULL_SCHEDULE", "cron of the built-in full sync; default 0 3 * * *; off disables"),
    ("SYNC_TIMEZONE", "time zone of both schedules; default UTC"),
    ("CURSOR_SECRET", "key signing catalog page cursors; default: random at start-up"),
    ("WEBHOOK_SECRET", "secret of POST /api/products/sync/webhook (?token= or X-Webhook-Token); unset disables it"),
    ("SYNC_SWEEP_INTERVAL", "seconds between the incremental sweeps that heal lost webhooks (and the stock sweep); default 300; 0 disables"),
    ("WEBHOOK_WORKERS", "webhook inbox workers in this process; default 1; 0 only receives (another instance processes)"),
    ("IMAGE_RETENTION_HOURS", "hours an image no product shows any more is kept before its bytes and resized copies are deleted (hourly by serve, or odoo-sync images collect); default 24; 0 keeps them forever"),
    ("WEBHOOK_RETENTION_DAYS", "days a handled webhook event (and a delivered site webhook) is kept (failed ones stay until retried); default 7; 0 keeps them forever"),
    ("WEBHOOK_COALESCE_MS", "a record's webhooks are handled once none came for this long (at most 1 s after the first), so a burst is one read; default 100"),
    ("SYNC_RECONCILE_INTERVAL", "seconds between deletion reconciles (ids only); default 3600; 0 disables"),
    ("SITE_WEBHOOK_URLS", "URLs told of every catalog change (signed catalog.changed POSTs), comma-separated; unset: none"),
    ("SITE_WEBHOOK_SECRET", "signing secret of those POSTs: whsec_ + base64 key of 24 to 64 bytes (Standard Webhooks); needed with SITE_WEBHOOK_URLS"),
    ("SITE_WEBHOOK_RETRY_DELAYS", "waits after each failed delivery attempt (ms, s, m, h), jittered ±20%; default 5s,5m,30m,2h,5h,10h"),
    ("METRICS_TOKEN", "bearer token of GET /metrics; unset: /metrics is open"),
    ("METRICS_TOKEN_PREVIOUS", "the metrics token being rotated out, accepted beside METRICS_TOKEN"),
    ("CATALOG_SCOPE", "all (default): the catalog API shows every product; website: only published, saleable, active ones, and category= filters on website categories"),
    ("WEBSITE_ID", "with CATALOG_SCOPE=website: only products of this Odoo website or of none; unset: any website"),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{key} is not set")]
    Missing { key: &'static str },
    #[error("{key} is invalid: {reason}")]
    Invalid { key: String, reason: String },
    #[error("config file {path}: {reason}")]
    File { path: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct OdooSettings {
    pub url: String,
    pub db: String,
    pub login: String,
    pub password: SecretString,
    pub api_key: Option<SecretString>,
    pub protocol: odoo_rpc::Protocol,
    pub timeout: Duration,
    /// Calls in flight at once: `SYNC_CONCURRENCY` pages and room beside them for webhooks and
    /// sweeps (the client's own default, 4, would silently cap a higher `SYNC_CONCURRENCY`).
    pub max_concurrency: usize,
}

/// What `serve` needs beyond the sync settings.
/// A secret and, during a rotation, the value it replaces (`<KEY>_PREVIOUS`): both are accepted
/// until the previous one is removed, so clients can move to the new one without downtime.
#[derive(Debug, Clone)]
pub struct RotatingSecret {
    pub current: SecretString,
    pub previous: Option<SecretString>,
}

impl RotatingSecret {
    /// Every value accepted now.
    pub fn accepted(&self) -> impl Iterator<Item = &SecretString> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }
}

#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub bind: std::net::SocketAddr,
    pub admin_token: Option<RotatingSecret>,
    pub cron_secret: Option<RotatingSecret>,
    pub catalog_public: bool,
    pub catalog_token: Option<RotatingSecret>,
    pub cors_origins: Vec<String>,
    pub cache_control: String,
    pub schedules: Vec<Schedule>,
    pub timezone: chrono_tz::Tz,
    pub cursor_secret: Option<SecretString>,
    pub webhook_secret: Option<RotatingSecret>,
    /// Bearer token of `GET /metrics`; `None` leaves it open.
    pub metrics_token: Option<RotatingSecret>,
    pub sweep_interval: Option<Duration>,
    /// Which products the catalog API shows (`CATALOG_SCOPE`, `WEBSITE_ID`).
    pub catalog_scope: CatalogScope,
    pub reconcile_interval: Option<Duration>,
    pub webhook_workers: usize,
    pub webhook_coalesce: Duration,
    /// How long handled webhook events are kept; `None` keeps them forever.
    pub webhook_retention: Option<Duration>,
    /// How long an image no product shows is kept (`IMAGE_RETENTION_HOURS`); `None`: forever.
    pub image_retention: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct Config {
    raw: BTreeMap<String, String>,
    pub database_url: String,
    /// Where image bytes go (`IMAGE_STORE`): a folder, or `s3://bucket/prefix`.
    pub image_store: String,
    pub sync: SyncSettings,
    pub serve: ServeSettings,
    /// Where catalog changes are reported; `None` without `SITE_WEBHOOK_URLS`.
    pub site_webhooks: Option<SiteWebhookSettings>,
}

impl Config {
    /// Reads the optional TOML file, then the environment, and validates every key present.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut raw = match file {
            Some(path) => read_toml(path)?,
            None => BTreeMap::new(),
        };
        for (key, _) in KEYS {
            if let Ok(value) = std::env::var(key) {
                raw.insert(key.to_string(), value);
            }
        }
        Config::from_values(raw)
    }

    pub fn from_values(raw: BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let values = Values(&raw);
        let defaults = SyncSettings::default();
        let sync = SyncSettings {
            batch_size: values.number("SYNC_BATCH_SIZE", defaults.batch_size, 1..=10_000)?,
            full_batch_size: values.number(
                "SYNC_FULL_BATCH_SIZE",
                defaults.full_batch_size,
                1..=10_000,
            )?,
            langs: values.list("SYNC_LANGS", is_lang_code, "language codes like fr_FR")?,
            extra_fields: values.list(
                "SYNC_EXTRA_FIELDS",
                is_field_name,
                "field names like x_color",
            )?,
            overlap: Duration::from_secs(values.number(
                "SYNC_OVERLAP_SECONDS",
                defaults.overlap.as_secs(),
                0..=86_400,
            )?),
            concurrency: values.number("SYNC_CONCURRENCY", defaults.concurrency, 1..=32)?,
            pricelist_ids: pricelist_ids(&values)?,
            ..defaults
        };
        let database_url = values
            .text("DATABASE_URL")
            .unwrap_or("sqlite://odoo-sync.sqlite")
            .to_string();
        if StoreKind::of_url(&database_url).is_none() {
            return Err(invalid(
                "DATABASE_URL",
                format!(
                    "'{database_url}' is neither a sqlite:// nor a postgres:// (postgresql://) URL"
                ),
            ));
        }
        let image_store = values
            .text("IMAGE_STORE")
            .unwrap_or("./odoo-sync-images")
            .to_string();
        if image_store.starts_with("s3://") && image_store.trim_start_matches("s3://").is_empty() {
            return Err(invalid(
                "IMAGE_STORE",
                "s3:// needs a bucket: s3://bucket/prefix".into(),
            ));
        }
        let serve = serve_settings(&values)?;
        let site_webhooks = site_webhook_settings(&values)?;
        let config = Config {
            raw,
            database_url,
            image_store,
            sync,
            serve,
            site_webhooks,
        };
        config.timeout()?;
        Ok(config)
    }

    /// The Odoo connection, needed only by commands that talk to Odoo.
    pub fn odoo(&self) -> Result<OdooSettings, ConfigError> {
        let values = Values(&self.raw);
        let url = values.required("ODOO_URL")?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(invalid(
                "ODOO_URL",
                format!("'{url}' is not an http:// or https:// URL"),
            ));
        }
        Ok(OdooSettings {
            url: url.trim_end_matches('/').to_string(),
            db: values.required("ODOO_DB")?.to_string(),
            login: values.required("ODOO_LOGIN")?.to_string(),
            password: match (values.text("ODOO_PASSWORD"), values.text("ODOO_API_KEY")) {
                (Some(password), _) => SecretString::from(password.to_string()),
                // JSON-2 needs only the key; JSON-RPC accepts a key where a password goes.
                (None, Some(key)) => SecretString::from(key.to_string()),
                (None, None) => {
                    return Err(ConfigError::Missing {
                        key: "ODOO_PASSWORD",
                    })
                }
            },
            api_key: values.secret("ODOO_API_KEY"),
            protocol: values
                .text("ODOO_PROTOCOL")
                .unwrap_or("auto")
                .parse()
                .map_err(|e: odoo_rpc::ParseProtocolError| {
                    invalid("ODOO_PROTOCOL", e.to_string())
                })?,
            timeout: self.timeout()?,
            max_concurrency: (self.sync.concurrency + 2).max(4),
        })
    }

    fn timeout(&self) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(Values(&self.raw).number(
            "ODOO_TIMEOUT_SECONDS",
            60u64,
            1..=3600,
        )?))
    }

    /// Overrides a key as if it came from the environment (CLI flags, the demo).
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Result<Config, ConfigError> {
        self.raw.insert(key.to_string(), value.into());
        Config::from_values(self.raw)
    }
}

fn catalog_scope(values: &Values) -> Result<CatalogScope, ConfigError> {
    let website = match values.text("WEBSITE_ID") {
        Some(_) => Some(values.number("WEBSITE_ID", 0i64, 1..=i64::MAX)?),
        None => None,
    };
    match values.text("CATALOG_SCOPE").unwrap_or("all") {
        "all" if website.is_some() => Err(invalid(
            "WEBSITE_ID",
            "only applies with CATALOG_SCOPE=website".to_string(),
        )),
        "all" => Ok(CatalogScope::All),
        "website" => Ok(CatalogScope::Website { website }),
        other => Err(invalid(
            "CATALOG_SCOPE",
            format!("'{other}' is neither all nor website"),
        )),
    }
}

fn serve_settings(values: &Values) -> Result<ServeSettings, ConfigError> {
    let bind_text = values.text("BIND").unwrap_or("127.0.0.1:8080");
    let bind = bind_text.parse().map_err(|_| {
        invalid(
            "BIND",
            format!("'{bind_text}' is not an address like 127.0.0.1:8080"),
        )
    })?;
    let catalog_public = match values
        .text("CATALOG_PUBLIC")
        .unwrap_or("true")
        .to_ascii_lowercase()
        .as_str()
    {
        "true" | "1" | "yes" => true,
        "false" | "0" | "no" => false,
        other => {
            return Err(invalid(
                "CATALOG_PUBLIC",
                format!("'{other}' is not true or false"),
            ))
        }
    };
    let mut schedules = Vec::new();
    for (key, default, mode) in [
        ("SYNC_SCHEDULE", "0 */6 * * *", SyncMode::Incremental),
        ("SYNC_FULL_SCHEDULE", "0 3 * * *", SyncMode::Full),
    ] {
        let expression = values.0.get(key).map(String::as_str).unwrap_or(default);
        if let Some(cron) = parse_cron(expression).map_err(|reason| invalid(key, reason))? {
            schedules.push(Schedule { cron, mode });
        }
    }
    let zone = values.text("SYNC_TIMEZONE").unwrap_or("UTC");
    let timezone = zone.parse().map_err(|_| {
        invalid(
            "SYNC_TIMEZONE",
            format!("'{zone}' is not an IANA time zone like Europe/Paris"),
        )
    })?;
    let cors_origins = values.list(
        "CORS_ORIGINS",
        |o| o == "*" || o.starts_with("http://") || o.starts_with("https://"),
        "* or origins like https://shop.example",
    )?;
    Ok(ServeSettings {
        catalog_scope: catalog_scope(values)?,
        bind,
        admin_token: values.rotating_secret("ADMIN_TOKEN")?,
        cron_secret: values.rotating_secret("CRON_SECRET")?,
        catalog_public,
        catalog_token: values.rotating_secret("CATALOG_TOKEN")?,
        cors_origins,
        cache_control: catalog_cache_control(values.text("CACHE_CONTROL"), catalog_public)?,
        schedules,
        timezone,
        cursor_secret: values.secret("CURSOR_SECRET"),
        webhook_secret: values.rotating_secret("WEBHOOK_SECRET")?,
        metrics_token: values.rotating_secret("METRICS_TOKEN")?,
        sweep_interval: interval(values.number("SYNC_SWEEP_INTERVAL", 300u64, 0..=86_400)?),
        reconcile_interval: interval(values.number(
            "SYNC_RECONCILE_INTERVAL",
            3600u64,
            0..=604_800,
        )?),
        webhook_workers: values.number("WEBHOOK_WORKERS", 1usize, 0..=16)?,
        webhook_coalesce: Duration::from_millis(values.number(
            "WEBHOOK_COALESCE_MS",
            100u64,
            0..=1000,
        )?),
        webhook_retention: interval(
            values.number("WEBHOOK_RETENTION_DAYS", 7u64, 0..=3650)? * DAY_SECONDS,
        ),
        image_retention: interval(
            values.number("IMAGE_RETENTION_HOURS", 24u64, 0..=87_600)? * HOUR_SECONDS,
        ),
    })
}

const DAY_SECONDS: u64 = 86_400;
const HOUR_SECONDS: u64 = 3_600;

fn site_webhook_settings(values: &Values) -> Result<Option<SiteWebhookSettings>, ConfigError> {
    let urls = values.list(
        "SITE_WEBHOOK_URLS",
        |url| url.starts_with("http://") || url.starts_with("https://"),
        "http:// or https:// URLs",
    )?;
    let secret = values.secret("SITE_WEBHOOK_SECRET");
    if let Some(secret) = &secret {
        crate::domain::site_event::parse_signing_secret(secret.expose_secret())
            .map_err(|reason| invalid("SITE_WEBHOOK_SECRET", reason))?;
    }
    let delays = values
        .text("SITE_WEBHOOK_RETRY_DELAYS")
        .unwrap_or(DEFAULT_RETRY_DELAYS);
    let retry_delays = parse_retry_delays(delays).map_err(|reason| {
        invalid(
            "SITE_WEBHOOK_RETRY_DELAYS",
            format!("{reason}; expected waits like 5s,5m,30m,2h"),
        )
    })?;
    if urls.is_empty() {
        return Ok(None);
    }
    let secret = secret.ok_or(ConfigError::Missing {
        key: "SITE_WEBHOOK_SECRET",
    })?;
    Ok(Some(SiteWebhookSettings {
        urls,
        secret,
        retry_delays,
    }))
}

/// `CACHE_CONTROL` as catalog answers carry it. A private catalog's answers depend on the
/// credential, so no shared cache (a CDN) may keep them: `public` becomes `private`, and the
/// directives meant for shared caches (`s-maxage`, `proxy-revalidate`) go.
fn catalog_cache_control(
    setting: Option<&str>,
    catalog_public: bool,
) -> Result<String, ConfigError> {
    let setting = setting.unwrap_or("public, max-age=60");
    let directives = cache_directives(setting).map_err(|reason| {
        invalid(
            "CACHE_CONTROL",
            format!("'{setting}' is not a Cache-Control value like 'public, max-age=60': {reason}"),
        )
    })?;
    if catalog_public {
        return Ok(directives.join(", "));
    }
    let shared_only = |d: &&str| {
        let name = d.split('=').next().unwrap_or("").to_ascii_lowercase();
        ["public", "private", "s-maxage", "proxy-revalidate"].contains(&name.as_str())
    };
    let kept = directives.iter().filter(|d| !shared_only(d));
    Ok(std::iter::once("private")
        .chain(kept.copied())
        .collect::<Vec<_>>()
        .join(", "))
}

/// The comma-separated directives of a Cache-Control value: `name` or `name=value`, where a
/// name is an HTTP token and a value a token or a quoted string.
fn cache_directives(value: &str) -> Result<Vec<&str>, String> {
    let is_token = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
    };
    let is_quoted = |text: &str| {
        text.len() >= 2
            && text.starts_with('"')
            && text.ends_with('"')
            && text[1..text.len() - 1]
                .chars()
                .all(|c| c == ' ' || c.is_ascii_graphic())
    };
    let directives: Vec<&str> = value.split(',').map(str::trim).collect();
    for directive in &directives {
        let (name, argument) = match directive.split_once('=') {
            Some((name, argument)) => (name, Some(argument)),
            None => (*directive, None),
        };
        if !is_token(name) {
            return Err(format!("'{directive}' is not a directive name"));
        }
        if argument.is_some_and(|a| !is_token(a) && !is_quoted(a)) {
            return Err(format!(
                "'{directive}' has a value that is neither a token nor quoted"
            ));
        }
    }
    Ok(directives)
}

fn interval(seconds: u64) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

fn read_toml(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let file_error = |reason: String| ConfigError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_error(e.message().to_string()))?;
    let mut raw = BTreeMap::new();
    for (key, value) in table {
        let key = key.to_uppercase();
        if !KEYS.iter().any(|(known, _)| *known == key) {
            return Err(file_error(format!("unknown key {key}")));
        }
        let value = match value {
            toml::Value::String(text) => text,
            toml::Value::Integer(number) => number.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| file_error(format!("{key}: expected a list of strings")))
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            other => {
                return Err(file_error(format!(
                    "{key}: expected a string, found {}",
                    other.type_str()
                )))
            }
        };
        raw.insert(key, value);
    }
    Ok(raw)
}

struct Values<'a>(&'a BTreeMap<String, String>);

impl Values<'_> {
    fn text(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// `key`, and `<key>_PREVIOUS` while it is being rotated out.
    fn rotating_secret(&self, key: &'static str) -> Result<Option<RotatingSecret>, ConfigError> {
        let previous_key = format!("{key}_PREVIOUS");
        match (self.secret(key), self.secret(&previous_key)) {
            (Some(current), previous) => Ok(Some(RotatingSecret { current, previous })),
            (None, None) => Ok(None),
            (None, Some(_)) => Err(invalid(
                &previous_key,
                format!(
                    "it is accepted beside {key} during a rotation, and {key} is not set: set the \
                     new value as {key}"
                ),
            )),
        }
    }

    fn secret(&self, key: &str) -> Option<SecretString> {
        self.text(key)
            .map(|value| SecretString::from(value.to_string()))
    }

    fn required(&self, key: &'static str) -> Result<&str, ConfigError> {
        self.text(key).ok_or(ConfigError::Missing { key })
    }

    fn number<T>(
        &self,
        key: &str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(text) = self.text(key) else {
            return Ok(default);
        };
        let value: T = text
            .parse()
            .map_err(|_| invalid(key, format!("'{text}' is not a whole number")))?;
        if !range.contains(&value) {
            return Err(invalid(
                key,
                format!("{value} is outside {}..={}", range.start(), range.end()),
            ));
        }
        Ok(value)
    }

    fn list(
        &self,
        key: &str,
        valid: fn(&str) -> bool,
        expected: &str,
    ) -> Result<Vec<String>, ConfigError> {
        let Some(text) = self.text(key) else {
            return Ok(Vec::new());
        };
        let items: Vec<String> = text
            .split(',')
            .map(|item| item.trim().to_string())
            .filter(|i| !i.is_empty())
            .collect();
        match items.iter().find(|item| !valid(item)) {
            Some(bad) => Err(invalid(key, format!("'{bad}' is not one of {expected}"))),
            None => Ok(items),
        }
    }
}

/// `SYNC_PRICELIST_IDS`, or its one-item alias `SYNC_PRICELIST_ID`; both at once must agree.
fn pricelist_ids(values: &Values) -> Result<Vec<i64>, ConfigError> {
    let ids: Vec<i64> = values
        .list("SYNC_PRICELIST_IDS", is_id, "pricelist ids like 1,5")?
        .iter()
        .map(|id| id.parse().expect("is_id checked it"))
        .collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != ids.len() {
        return Err(invalid(
            "SYNC_PRICELIST_IDS",
            "names a pricelist more than once".into(),
        ));
    }
    let Some(_) = values.text("SYNC_PRICELIST_ID") else {
        return Ok(ids);
    };
    let alias = values.number("SYNC_PRICELIST_ID", 0i64, 1..=i64::MAX)?;
    match ids.as_slice() {
        [] => Ok(vec![alias]),
        [first, ..] if *first == alias => Ok(ids),
        _ => Err(invalid(
            "SYNC_PRICELIST_ID",
            format!("{alias} is not the first of SYNC_PRICELIST_IDS; set only SYNC_PRICELIST_IDS"),
        )),
    }
}

fn is_id(text: &str) -> bool {
    text.parse::<i64>().is_ok_and(|id| id > 0) && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_lang_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    match bytes.len() {
        2 => bytes.iter().all(u8::is_ascii_lowercase),
        5 => {
            bytes[..2].iter().all(u8::is_ascii_lowercase)
                && bytes[2] == b'_'
                && bytes[3..].iter().all(u8::is_ascii_uppercase)
        }
        _ => false,
    }
}

fn is_field_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn invalid(key: &str, reason: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = Config::from_values(BTreeMap::new()).unwrap();
        assert_eq!(config.database_url, "sqlite://odoo-sync.sqlite");
        assert_eq!(config.sync.batch_size, 200);
        assert_eq!(
            config.odoo().unwrap_err(),
            ConfigError::Missing { key: "ODOO_URL" }
        );
    }

    #[test]
    fn the_client_keeps_sync_concurrency_pages_in_flight_and_room_beside_them() {
        let odoo = [
            ("ODOO_URL", "http://odoo:8069"),
            ("ODOO_DB", "shop"),
            ("ODOO_LOGIN", "sync"),
            ("ODOO_PASSWORD", "secret"),
        ];
        let default = Config::from_values(values(&odoo)).unwrap();
        assert_eq!(default.odoo().unwrap().max_concurrency, 4);
        let mut wide = odoo.to_vec();
        wide.push(("SYNC_CONCURRENCY", "8"));
        let wide = Config::from_values(values(&wide)).unwrap();
        assert_eq!(wide.sync.concurrency, 8);
        assert_eq!(
            wide.odoo().unwrap().max_concurrency,
            10,
            "8 pages and 2 for webhooks and sweeps, not the client's default of 4"
        );
        let client = crate::startup::client_config(&wide.odoo().unwrap());
        assert_eq!(client.max_concurrency, 10);
    }

    #[test]
    fn pricelist_ids_are_a_list_whose_one_item_alias_must_agree_with_it() {
        let ids = |pairs: &[(&str, &str)]| {
            Config::from_values(values(pairs)).map(|c| c.sync.pricelist_ids)
        };
        assert_eq!(ids(&[]).unwrap(), Vec::<i64>::new());
        assert_eq!(ids(&[("SYNC_PRICELIST_IDS", "1, 5")]).unwrap(), vec![1, 5]);
        assert_eq!(ids(&[("SYNC_PRICELIST_ID", "3")]).unwrap(), vec![3]);
        let both = [("SYNC_PRICELIST_IDS", "3,5"), ("SYNC_PRICELIST_ID", "3")];
        assert_eq!(ids(&both).unwrap(), vec![3, 5]);
        let refused = |pairs: &[(&str, &str)]| ids(pairs).unwrap_err().to_string();
        let message = refused(&[("SYNC_PRICELIST_IDS", "1,abc")]);
        assert!(
            message.contains("SYNC_PRICELIST_IDS") && message.contains("'abc'"),
            "{message}"
        );
        let message = refused(&[("SYNC_PRICELIST_IDS", "0")]);
        assert!(message.contains("'0'"), "{message}");
        let message = refused(&[("SYNC_PRICELIST_IDS", "5,5")]);
        assert!(message.contains("more than once"), "{message}");
        let message = refused(&[("SYNC_PRICELIST_IDS", "1,5"), ("SYNC_PRICELIST_ID", "5")]);
        assert!(
            message.contains("SYNC_PRICELIST_ID") && message.contains("not the first"),
            "{message}"
        );
    }

    #[test]
    fn database_urls_pick_sqlite_or_postgres_and_anything_else_names_the_key_and_value() {
        for url in [
            "sqlite://x.sqlite",
            "postgres://postgres@db/shop",
            "postgresql://u:p@db:5433/shop",
        ] {
            let config = Config::from_values(values(&[("DATABASE_URL", url)])).unwrap();
            assert_eq!(config.database_url, url);
        }
        let err = Config::from_values(values(&[("DATABASE_URL", "mysql://db/shop")])).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("DATABASE_URL is invalid") && message.contains("'mysql://db/shop'"),
            "{message}"
        );
    }

    #[test]
    fn a_private_catalog_is_never_cached_as_public() {
        let cache_control = |pairs: &[(&str, &str)]| {
            Config::from_values(values(pairs))
                .map(|config| config.serve.cache_control)
                .map_err(|error| error.to_string())
        };
        assert_eq!(cache_control(&[]).unwrap(), "public, max-age=60");
        let private = ("CATALOG_PUBLIC", "false");
        assert_eq!(cache_control(&[private]).unwrap(), "private, max-age=60");
        let shared = (
            "CACHE_CONTROL",
            "public, max-age=30, s-maxage=600, stale-if-error=\"x\"",
        );
        assert_eq!(
            cache_control(&[private, shared]).unwrap(),
            "private, max-age=30, stale-if-error=\"x\""
        );
        assert_eq!(
            cache_control(&[shared]).unwrap(),
            "public, max-age=30, s-maxage=600, stale-if-error=\"x\""
        );
        assert_eq!(
            cache_control(&[private, ("CACHE_CONTROL", "no-store")]).unwrap(),
            "private, no-store"
        );
    }

    #[test]
    fn an_invalid_cache_control_stops_start_up_naming_the_key() {
        for bad in [
            "public, max-age=60\nX-Evil: 1",
            "public;max-age=60",
            "public,,",
            "max-age=\"6",
        ] {
            let error = Config::from_values(values(&[("CACHE_CONTROL", bad)])).unwrap_err();
            let message = error.to_string();
            assert!(
                message.starts_with("CACHE_CONTROL is invalid"),
                "{bad:?}: {message}"
            );
        }
    }

    #[test]
    fn a_previous_secret_needs_a_current_one() {
        let rotating = values(&[("ADMIN_TOKEN", "new"), ("ADMIN_TOKEN_PREVIOUS", "old")]);
        let admin = Config::from_values(rotating)
            .unwrap()
            .serve
            .admin_token
            .unwrap();
        assert_eq!(admin.accepted().count(), 2);
        let orphan = values(&[("CRON_SECRET_PREVIOUS", "old")]);
        let message = Config::from_values(orphan).unwrap_err().to_string();
        assert!(
            message.starts_with("CRON_SECRET_PREVIOUS is invalid")
                && message.contains("CRON_SECRET is not set"),
            "{message}"
        );
    }

    #[test]
    fn malformed_values_name_their_key() {
        let err = Config::from_values(values(&[("SYNC_BATCH_SIZE", "lots")])).unwrap_err();
        assert!(
            err.to_string().starts_with("SYNC_BATCH_SIZE is invalid"),
            "{err}"
        );
        let err = Config::from_values(values(&[("SYNC_LANGS", "fr_FR,french")])).unwrap_err();
        assert!(err.to_string().contains("'french'"), "{err}");
        let err = Config::from_values(values(&[("SYNC_BATCH_SIZE", "0")])).unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
    }

    #[test]
    fn the_catalog_scope_is_all_by_default_and_bad_values_name_their_key() {
        let scope = |pairs: &[(&str, &str)]| {
            Config::from_values(values(pairs)).map(|c| c.serve.catalog_scope)
        };
        assert_eq!(scope(&[]).unwrap(), CatalogScope::All);
        assert_eq!(
            scope(&[("CATALOG_SCOPE", "website"), ("WEBSITE_ID", "2")]).unwrap(),
            CatalogScope::Website { website: Some(2) }
        );
        let err = scope(&[("CATALOG_SCOPE", "shop")]).unwrap_err().to_string();
        assert!(
            err.contains("CATALOG_SCOPE") && err.contains("'shop'"),
            "{err}"
        );
        let err = scope(&[("WEBSITE_ID", "2")]).unwrap_err().to_string();
        assert!(
            err.contains("WEBSITE_ID") && err.contains("CATALOG_SCOPE=website"),
            "{err}"
        );
        let err = scope(&[("CATALOG_SCOPE", "website"), ("WEBSITE_ID", "x")]).unwrap_err();
        assert!(err.to_string().contains("WEBSITE_ID"), "{err}");
    }

    #[test]
    fn serve_settings_have_defaults_and_bad_crons_name_their_key() {
        let config = Config::from_values(BTreeMap::new()).unwrap();
        assert_eq!(config.serve.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.serve.schedules.len(), 2);
        assert!(config.serve.admin_token.is_none());
        let err = Config::from_values(values(&[("SYNC_SCHEDULE", "every hour")])).unwrap_err();
        assert!(
            err.to_string().starts_with("SYNC_SCHEDULE is invalid"),
            "{err}"
        );
        let err = Config::from_values(values(&[("SYNC_TIMEZONE", "Mars/Olympus")])).unwrap_err();
        assert!(err.to_string().contains("SYNC_TIMEZONE"), "{err}");
        let off = Config::from_values(values(&[
            ("SYNC_SCHEDULE", "off"),
            ("SYNC_FULL_SCHEDULE", "off"),
        ]))
        .unwrap();
        assert!(off.serve.schedules.is_empty());
    }

    #[test]
    fn unused_images_are_kept_a_day_unless_told_otherwise() {
        let config = Config::from_values(BTreeMap::new()).unwrap();
        assert_eq!(
            config.serve.image_retention,
            Some(Duration::from_secs(86_400))
        );
        let hour = Config::from_values(values(&[("IMAGE_RETENTION_HOURS", "1")])).unwrap();
        assert_eq!(hour.serve.image_retention, Some(Duration::from_secs(3_600)));
        let forever = Config::from_values(values(&[("IMAGE_RETENTION_HOURS", "0")])).unwrap();
        assert_eq!(forever.serve.image_retention, None);
        let err = Config::from_values(values(&[("IMAGE_RETENTION_HOURS", "-1")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("IMAGE_RETENTION_HOURS is invalid"),
            "{err}"
        );
    }

    #[test]
    fn handled_webhooks_are_kept_a_week_unless_told_otherwise() {
        let week = Duration::from_secs(7 * 86_400);
        let config = Config::from_values(BTreeMap::new()).unwrap();
        assert_eq!(config.serve.webhook_retention, Some(week));
        let forever = Config::from_values(values(&[("WEBHOOK_RETENTION_DAYS", "0")])).unwrap();
        assert_eq!(forever.serve.webhook_retention, None);
        let err = Config::from_values(values(&[("WEBHOOK_RETENTION_DAYS", "a week")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("WEBHOOK_RETENTION_DAYS is invalid"),
            "{err}"
        );
    }

    #[test]
    fn site_webhooks_need_a_standard_webhooks_secret_and_name_what_is_wrong() {
        let url = (
            "SITE_WEBHOOK_URLS",
            "https://shop.example/hook, http://other/hook",
        );
        let secret = (
            "SITE_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        );
        let config = Config::from_values(values(&[url, secret])).unwrap();
        let site = config.site_webhooks.unwrap();
        assert_eq!(
            site.urls,
            ["https://shop.example/hook", "http://other/hook"]
        );
        assert_eq!(site.retry_delays.len(), 6);
        assert!(Config::from_values(BTreeMap::new())
            .unwrap()
            .site_webhooks
            .is_none());
        let error = |pairs: &[(&str, &str)]| Config::from_values(values(pairs)).unwrap_err();
        assert_eq!(
            error(&[url]),
            ConfigError::Missing {
                key: "SITE_WEBHOOK_SECRET"
            }
        );
        let message = error(&[url, ("SITE_WEBHOOK_SECRET", "hunter2")]).to_string();
        assert!(
            message.starts_with("SITE_WEBHOOK_SECRET is invalid") && message.contains("whsec_"),
            "{message}"
        );
        let message = error(&[("SITE_WEBHOOK_URLS", "shop.example/hook"), secret]).to_string();
        assert!(
            message.starts_with("SITE_WEBHOOK_URLS is invalid"),
            "{message}"
        );
        let message = error(&[url, secret, ("SITE_WEBHOOK_RETRY_DELAYS", "5s,soon")]).to_string();
        assert!(
            message.starts_with("SITE_WEBHOOK_RETRY_DELAYS is invalid")
                && message.contains("'soon'"),
            "{message}"
        );
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let config = Config::from_values(values(&[
            ("ODOO_URL", "http://odoo:8069/"),
            ("ODOO_DB", "shop"),
            ("ODOO_LOGIN", "sync"),
            ("ODOO_PASSWORD", "hunter2-secret"),
        ]))
        .unwrap();
        let odoo = config.odoo().unwrap();
        assert_eq!(odoo.url, "http://odoo:8069");
        assert!(!format!("{odoo:?}").contains("hunter2"));
    }

    #[test]
    fn toml_files_use_the_same_keys_and_reject_unknown_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odoo-sync.toml");
        std::fs::write(
            &path,
            "ODOO_URL = \"http://x\"\nsync_langs = [\"fr_FR\", \"en_US\"]\nSYNC_BATCH_SIZE = 50\n",
        )
        .unwrap();
        let raw = read_toml(&path).unwrap();
        let config = Config::from_values(raw).unwrap();
        assert_eq!(config.sync.langs, vec!["fr_FR", "en_US"]);
        assert_eq!(config.sync.batch_size, 50);
        std::fs::write(&path, "ODOO_URLL = \"http://x\"\n").unwrap();
        assert!(read_toml(&path)
            .unwrap_err()
            .to_string()
            .contains("unknown key ODOO_URLL"));
    }

    proptest::proptest! {
        #[test]
        fn no_value_of_any_key_makes_the_config_panic(
            picks in proptest::collection::vec((0..KEYS.len(), "\\PC{0,40}|[0-9*/ ,-]{0,20}"), 0..6)
        ) {
            let raw = picks.into_iter().map(|(key, value)| (KEYS[key].0.to_string(), value)).collect();
            if let Ok(config) = Config::from_values(raw) {
                let _ = config.odoo();
            }
        }

        #[test]
        fn no_toml_file_makes_the_config_panic(text in "\\PC{0,120}|[a-z_]{1,12} = (\"[^\"]{0,10}\"|[0-9]{1,5}|\\[[0-9, ]{0,8}\\]|true)") {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("odoo-sync.toml");
            std::fs::write(&path, text).unwrap();
            if let Err(error) = read_toml(&path) {
                proptest::prop_assert!(error.to_string().contains("odoo-sync.toml"), "{error}");
            }
        }
    }
}
