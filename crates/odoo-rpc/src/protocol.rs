//! `Protocol`: which Odoo API a client speaks (`ClientConfig::protocol`), parsed from and shown as
//! `auto`, `json2` or `jsonrpc`. Only names; the transports live elsewhere.

use std::fmt;
use std::str::FromStr;

/// Which Odoo API to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// Detect once at connect: JSON-2 when the server has it (Odoo 19+), else JSON-RPC.
    #[default]
    Auto,
    /// Odoo 19's `POST /json/2/<model>/<method>` with an API key.
    Json2,
    /// `POST /jsonrpc` (Odoo 18 and older; deprecated in 19, removed in 20).
    JsonRpc,
}

impl Protocol {
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::Auto => "auto",
            Protocol::Json2 => "json2",
            Protocol::JsonRpc => "jsonrpc",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol name other than `auto`, `json2` or `jsonrpc`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Odoo protocol '{value}' (expected auto, json2 or jsonrpc)")]
pub struct ParseProtocolError {
    pub value: String,
}

impl FromStr for Protocol {
    type Err = ParseProtocolError;

    /// Case-insensitive, surrounding whitespace ignored.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Protocol::Auto),
            "json2" => Ok(Protocol::Json2),
            "jsonrpc" => Ok(Protocol::JsonRpc),
            _ => Err(ParseProtocolError {
                value: text.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_a_bad_one_is_named() {
        for protocol in [Protocol::Auto, Protocol::Json2, Protocol::JsonRpc] {
            assert_eq!(protocol.to_string().parse(), Ok(protocol));
        }
        assert_eq!(" JSON2 ".parse(), Ok(Protocol::Json2));
        assert_eq!(Protocol::default(), Protocol::Auto);
        let error = "xmlrpc".parse::<Protocol>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown Odoo protocol 'xmlrpc' (expected auto, json2 or jsonrpc)"
        );
    }
}
