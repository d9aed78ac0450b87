//! API tokens for scripts: each acts as its user, stored only as a hash.

use protocol::ApiToken;

use super::{on_unique, Store, UserRow};
use crate::error::{AppError, AppResult};

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> Self {
        ApiToken {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

impl Store {
    pub async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &[u8],
    ) -> AppResult<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO api_tokens (user_id, name, token_hash) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| on_unique(e, || format!("you already have a token named {name:?}")))?;
        Ok(id)
    }

    pub async fn list_tokens(&self, user_id: i64) -> AppResult<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = ? ORDER BY name",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(ApiToken::from).collect())
    }

    /// Deletes one of the user's own tokens.
    pub async fn delete_token(&self, user_id: i64, id: i64) -> AppResult<String> {
        let row: Option<(String,)> =
            sqlx::query_as("DELETE FROM api_tokens WHERE id = ? AND user_id = ? RETURNING name")
                .bind(id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(name,)| name)
            .ok_or_else(|| AppError::NotFound(format!("you have no token with id {id}")))
    }

    /// The user a token acts as; marks the token used (at most once a minute,
    /// so a busy script does not turn every read into a write).
    pub async fn token_user(&self, token_hash: &[u8]) -> AppResult<Option<UserRow>> {
        let user: Option<UserRow> = sqlx::query_as(
            "SELECT u.id, u.username, u.password_hash, u.role, u.created_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        if user.is_some() {
            sqlx::query(
                "UPDATE api_tokens SET last_used_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                 WHERE token_hash = ? AND (last_used_at IS NULL
                   OR last_used_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 minutes'))",
            )
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        }
        Ok(user)
    }
}
