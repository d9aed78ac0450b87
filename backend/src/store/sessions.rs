//! Browser sessions, looked up by the SHA-256 of the cookie's secret.

use super::{sql_hours_from_now, Store, UserRow};
use crate::error::AppResult;

impl Store {
    pub async fn create_session(
        &self,
        token_hash: &[u8],
        user_id: i64,
        hours: u32,
    ) -> AppResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, expires_at)
             VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?))",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(sql_hours_from_now(hours))
        .execute(&self.pool)
        .await?;
        // Expired sessions are swept when new ones are made: no timer needed.
        sqlx::query(
            "DELETE FROM sessions WHERE expires_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user of a live session.
    pub async fn session_user(&self, token_hash: &[u8]) -> AppResult<Option<UserRow>> {
        Ok(sqlx::query_as(
            "SELECT u.id, u.username, u.password_hash, u.role, u.created_at, u.disabled
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ? AND u.disabled = 0 AND s.expires_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn delete_session(&self, token_hash: &[u8]) -> AppResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
