//! The cursors table in memory: poll watermarks and reconcile checkpoints.

use super::*;

/// Poll cursors in memory.
#[derive(Debug, Default)]
pub struct FakeCursorStore {
    watermarks: Mutex<HashMap<String, DateTime<Utc>>>,
    checkpoints: Mutex<HashMap<String, String>>,
    recorder: Recorder<StoreError>,
}

impl FakeCursorStore {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(StoreError);
}

impl CursorStore for FakeCursorStore {
    async fn get_watermark(&self, cursor: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.recorder.enter("get_watermark").await?;
        Ok(lock(&self.watermarks).get(cursor).copied())
    }

    async fn put_watermark(
        &self,
        cursor: &str,
        watermark: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.recorder.enter("put_watermark").await?;
        lock(&self.watermarks).insert(cursor.to_owned(), watermark);
        Ok(())
    }
}

/// Checkpoints in memory (the same fake holds the watermarks and the checkpoints, as the table does).
impl CheckpointStore for FakeCursorStore {
    async fn get_checkpoint(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.recorder.enter("get_checkpoint").await?;
        Ok(lock(&self.checkpoints).get(id).cloned())
    }

    async fn put_checkpoint(&self, id: &str, document: &str) -> Result<(), StoreError> {
        self.recorder.enter("put_checkpoint").await?;
        lock(&self.checkpoints).insert(id.to_owned(), document.to_owned());
        Ok(())
    }

    async fn delete_checkpoint(&self, id: &str) -> Result<(), StoreError> {
        self.recorder.enter("delete_checkpoint").await?;
        lock(&self.checkpoints).remove(id);
        Ok(())
    }
}
