//! What a process keeps for the next one on PostgreSQL (`StateStore`): watermarks, the Odoo login.

use async_trait::async_trait;

use super::*;
use crate::store::stored::load_watermarks;

#[async_trait]
impl StateStore for PgStore {
    async fn watermarks(&self) -> Result<BTreeMap<WatermarkKey, Watermark>, StoreError> {
        load_watermarks(&self.pool).await
    }

    async fn set_watermark(&self, key: WatermarkKey, mark: Watermark) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        save_watermark(&mut conn, key, mark).await
    }

    async fn odoo_session(&self) -> Result<Option<OdooSession>, StoreError> {
        session_from_state(state_value(&self.pool, ODOO_SESSION_KEY).await?)
    }

    async fn save_odoo_session(&self, session: &OdooSession) -> Result<(), StoreError> {
        let value = session_to_state(session);
        let mut conn = self.pool.acquire().await?;
        put_state(&mut conn, ODOO_SESSION_KEY, &value).await
    }
}
