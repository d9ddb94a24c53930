//! Where image bytes live: `ImageStore`, content-addressed (names are the SHA-256 of the bytes,
//! plus the resized copies made from them). One implementation over the `object_store` crate:
//! a local folder (`IMAGE_STORE=./odoo-sync-images`, the default) or S3-compatible storage
//! (`IMAGE_STORE=s3://bucket/prefix`, credentials from the usual `AWS_*` variables).

use std::sync::Arc;

use async_trait::async_trait;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

use super::StoreError;

#[async_trait]
pub trait ImageStore: Send + Sync + 'static {
    /// Stores `bytes` under `name` (writing the same name twice stores the same bytes).
    async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), StoreError>;
    /// The bytes under `name`, `None` when there are none.
    async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn delete(&self, name: &str) -> Result<(), StoreError>;
}

/// An `ImageStore` over any `object_store` backend.
pub struct ObjectImageStore {
    inner: Arc<dyn ObjectStore>,
    prefix: String,
}

impl ObjectImageStore {
    /// Opens `IMAGE_STORE`: `s3://bucket[/prefix]`, else a local folder (created if missing).
    pub fn open(spec: &str) -> Result<ObjectImageStore, StoreError> {
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let s3 = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()?;
            return Ok(ObjectImageStore {
                inner: Arc::new(s3),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        let folder = spec.strip_prefix("file://").unwrap_or(spec);
        std::fs::create_dir_all(folder).map_err(|source| StoreError::ImageFolder {
            folder: folder.to_string(),
            source,
        })?;
        let local = object_store::local::LocalFileSystem::new_with_prefix(folder)?;
        Ok(ObjectImageStore {
            inner: Arc::new(local),
            prefix: String::new(),
        })
    }

    fn path(&self, name: &str) -> Path {
        match self.prefix.is_empty() {
            true => Path::from(name),
            false => Path::from(format!("{}/{name}", self.prefix)),
        }
    }
}

#[async_trait]
impl ImageStore for ObjectImageStore {
    async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner
            .put(&self.path(name), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.inner.get(&self.path(name)).await {
            Ok(found) => Ok(Some(found.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        match self.inner.delete(&self.path(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_image_store_keeps_bytes_by_name_and_forgets_deleted_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectImageStore::open(dir.path().to_str().unwrap()).unwrap();
        store.put("abc", b"bytes".to_vec()).await.unwrap();
        assert_eq!(store.get("abc").await.unwrap().unwrap(), b"bytes");
        assert_eq!(store.get("missing").await.unwrap(), None);
        store.delete("abc").await.unwrap();
        assert_eq!(store.get("abc").await.unwrap(), None);
    }
}
