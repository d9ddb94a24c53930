//! The API keys an Odoo 19 simulator knows (`res.users.apikeys`): who each belongs to, in which
//! database, whether it expired and its scope. JSON-2 accepts only these as bearer tokens; the
//! legacy `/jsonrpc` on 19 also takes an admin key in the password slot.
//!
//! Every simulator starts with `DEFAULT_API_KEY`, the admin's key in its database. Tests add
//! others (expired, scoped, another user's, another database's) with `Sim::add_api_key` or
//! `POST /__sim/api_keys`.

use serde::{Deserialize, Serialize};
use std::sync::RwLock;

use crate::rpc::ADMIN_UID;

/// The admin's API key every simulator starts with (no scope, no expiry).
pub const DEFAULT_API_KEY: &str = "odoo-sim-admin-api-key";

/// The scope Odoo lets through besides none (`rpc`, per its code).
const RPC_SCOPE: &str = "rpc";

/// One key of `res.users.apikeys`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub key: String,
    /// Whose key: 2 is the admin; any other uid is an internal user who may read, not write.
    #[serde(default = "admin_uid")]
    pub uid: i64,
    /// The database the key lives in; `None`: the simulator's own.
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub expired: bool,
    /// `None` (or `rpc`) is usable over JSON-2; any other scope is refused.
    #[serde(default)]
    pub scope: Option<String>,
}

fn admin_uid() -> i64 {
    ADMIN_UID
}

impl ApiKey {
    /// An admin key of the simulator's database, valid.
    pub fn admin(key: impl Into<String>) -> ApiKey {
        ApiKey {
            key: key.into(),
            uid: ADMIN_UID,
            database: None,
            expired: false,
            scope: None,
        }
    }

    fn usable_in(&self, database: &str, own_database: &str) -> bool {
        let home = self.database.as_deref().unwrap_or(own_database);
        home == database
            && !self.expired
            && self.scope.as_deref().is_none_or(|scope| scope == RPC_SCOPE)
    }
}

/// The keys of every database on the server.
#[derive(Debug)]
pub struct ApiKeys {
    keys: RwLock<Vec<ApiKey>>,
}

impl Default for ApiKeys {
    fn default() -> Self {
        ApiKeys {
            keys: RwLock::new(vec![ApiKey::admin(DEFAULT_API_KEY)]),
        }
    }
}

impl ApiKeys {
    pub fn add(&self, key: ApiKey) {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        keys.retain(|k| k.key != key.key);
        keys.push(key);
    }

    pub fn list(&self) -> Vec<ApiKey> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The uid `secret` authenticates in `database`, if it is a usable key there.
    pub fn uid_of(&self, secret: &str, database: &str, own_database: &str) -> Option<i64> {
        self.list()
            .into_iter()
            .find(|k| k.key == secret && k.usable_in(database, own_database))
            .map(|k| k.uid)
    }

    /// The admin's usable keys in the simulator's database.
    pub fn admin_keys(&self, own_database: &str) -> Vec<String> {
        self.list()
            .into_iter()
            .filter(|k| k.uid == ADMIN_UID && k.usable_in(own_database, own_database))
            .map(|k| k.key)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_scoped_and_foreign_keys_authenticate_no_one() {
        let keys = ApiKeys::default();
        let base = ApiKey::admin("k");
        keys.add(ApiKey {
            key: "old".into(),
            expired: true,
            ..base.clone()
        });
        keys.add(ApiKey {
            key: "scoped".into(),
            scope: Some("some_other_scope".into()),
            ..base.clone()
        });
        keys.add(ApiKey {
            key: "rpc".into(),
            scope: Some("rpc".into()),
            ..base.clone()
        });
        keys.add(ApiKey {
            key: "ro".into(),
            uid: 7,
            ..base
        });
        assert_eq!(keys.uid_of(DEFAULT_API_KEY, "odoo", "odoo"), Some(2));
        assert_eq!(keys.uid_of(DEFAULT_API_KEY, "alt", "odoo"), None);
        assert_eq!(keys.uid_of("old", "odoo", "odoo"), None);
        assert_eq!(keys.uid_of("scoped", "odoo", "odoo"), None);
        assert_eq!(keys.uid_of("rpc", "odoo", "odoo"), Some(2));
        assert_eq!(keys.uid_of("ro", "odoo", "odoo"), Some(7));
        assert_eq!(keys.uid_of("admin", "odoo", "odoo"), None);
        assert_eq!(
            keys.admin_keys("odoo"),
            vec![DEFAULT_API_KEY.to_string(), "rpc".to_string()]
        );
    }
}
