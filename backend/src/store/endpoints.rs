//! Managed endpoints (Docker hosts).

use super::Store;
use crate::error::AppResult;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub name: String,
    pub url: String,
}

impl Store {
    /// Registers an endpoint, or points an existing one at `url`.
    pub async fn upsert_endpoint(&self, id: &str, name: &str, url: &str) -> AppResult<()> {
        sqlx::query(
            "INSERT INTO endpoints (id, name, url) VALUES (?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET url = excluded.url",
        )
        .bind(id)
        .bind(name)
        .bind(url)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn list_endpoints(&self) -> AppResult<Vec<EndpointRow>> {
        Ok(
            sqlx::query_as("SELECT id, name, url FROM endpoints ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
