//! Sending the POSTs as Odoo 18 does: one after another, `python-requests` headers, 1 s timeout,
//! no retry; failures are only logged (at warn, with Odoo's wording) and counted. A tiny
//! HTTP/1.1 client on a plain `TcpStream` (http:// only), so the headers are exactly Odoo's.

use super::Post;
use rand::Rng;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Odoo's `requests.post(..., timeout=1)`.
pub const POST_TIMEOUT: Duration = Duration::from_secs(1);
pub const USER_AGENT: &str = "python-requests/2.31.0";

/// Webhook POST counters (shared by all calls).
#[derive(Debug, Default)]
pub struct WebhookStats {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

/// A snapshot of the counters. `sent`: answered with a status below 400; `failed`: refused,
/// timed out, or answered 4xx/5xx; `dropped`: not sent at all (the `drop_webhooks` knob).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WebhookCounts {
    pub sent: u64,
    pub failed: u64,
    pub dropped: u64,
}

impl WebhookStats {
    pub fn counts(&self) -> WebhookCounts {
        WebhookCounts {
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// Sends `posts` in order; each is silently skipped with probability `drop_rate`.
pub async fn deliver(posts: &[Post], drop_rate: f64, stats: &WebhookStats) {
    for post in posts {
        let dropped = drop_rate > 0.0 && rand::thread_rng().gen::<f64>() < drop_rate;
        if dropped {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(url = %post.url, "webhook POST dropped (drop_webhooks)");
            continue;
        }
        match tokio::time::timeout(POST_TIMEOUT, send(post)).await {
            Ok(Ok(status)) if status < 400 => {
                stats.sent.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Ok(status)) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "Webhook call failed: {status} {} Error for url: {}",
                    if status < 500 { "Client" } else { "Server" },
                    post.url
                );
            }
            Ok(Err(e)) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("Webhook call failed: {e}");
            }
            Err(_) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "Webhook call timed out after 1s - it may or may not have failed. If this happens often, it may be a sign that the system you're trying to reach is slow or non-functional."
                );
            }
        }
    }
}

/// `http://host[:port]/path?query`, split.
#[derive(Debug, PartialEq)]
struct Target {
    host: String,
    port: u16,
    /// `Host` header: with the port unless it is 80, as `requests` writes it.
    authority: String,
    path: String,
}

fn parse_url(url: &str) -> Result<Target, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("Invalid URL {url:?}: only http:// is simulated"))?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'?' => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h.to_string(),
            p.parse::<u16>()
                .map_err(|_| format!("Invalid port in URL {url:?}"))?,
        ),
        None => (authority.to_string(), 80),
    };
    let authority = match port {
        80 => host.clone(),
        p => format!("{host}:{p}"),
    };
    Ok(Target {
        host,
        port,
        authority,
        path,
    })
}

/// One POST; the answer's status code.
async fn send(post: &Post) -> Result<u16, String> {
    let target = parse_url(&post.url)?;
    let refused = |e: std::io::Error| {
        format!(
            "HTTPConnectionPool(host='{}', port={}): Max retries exceeded with url: {} ({e})",
            target.host, target.port, target.path
        )
    };
    let mut stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(refused)?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT}\r\nAccept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        target.path,
        target.authority,
        post.body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    stream
        .write_all(post.body.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("Connection aborted: RemoteDisconnected('Remote end closed connection without response')".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line: {}", line.lines().next().unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_their_query_string_and_port() {
        let t = parse_url("http://127.0.0.1:8099/odoo/webhook/product.template?token=secret123")
            .unwrap();
        assert_eq!(t.host, "127.0.0.1");
        assert_eq!(t.port, 8099);
        assert_eq!(t.authority, "127.0.0.1:8099");
        assert_eq!(t.path, "/odoo/webhook/product.template?token=secret123");
        let bare = parse_url("http://example.com?x=1").unwrap();
        assert_eq!(
            (bare.port, bare.authority.as_str(), bare.path.as_str()),
            (80, "example.com", "/?x=1")
        );
        assert!(parse_url("https://example.com/").is_err());
    }
}
