//! API tokens for scripts: each acts as its user, within its scope and
//! until its expiry, stored only as a hash.

use protocol::{ApiToken, TokenScope, TOKEN_MAX_DAYS as MAX_DAYS};

use super::{on_unique, Store, UserRow};
use crate::error::{AppError, AppResult};

/// Times are stored in this one format, so that text order is time order.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
    expires_at: Option<String>,
    expired: bool,
    read_only: bool,
    endpoints: Option<String>,
}

fn scope_of(read_only: bool, endpoints: Option<&str>) -> TokenScope {
    TokenScope {
        read_only,
        // Written by berth as a JSON array; anything else would be a broken
        // row, and then the token reaches no endpoint rather than all.
        endpoints: endpoints.map(|e| serde_json::from_str(e).unwrap_or_default()),
    }
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> Self {
        ApiToken {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
            expired: r.expired,
            scope: scope_of(r.read_only, r.endpoints.as_deref()),
        }
    }
}

/// A token presented with a request, and the user it acts for.
pub struct TokenUse {
    pub user: UserRow,
    pub scope: TokenScope,
    pub expires_at: Option<String>,
    pub expired: bool,
}

#[derive(sqlx::FromRow)]
struct TokenUseRow {
    id: i64,
    username: String,
    password_hash: String,
    role: String,
    created_at: String,
    expires_at: Option<String>,
    expired: bool,
    read_only: bool,
    endpoints: Option<String>,
}

impl Store {
    /// The expiry `days` from now, in the stored format.
    pub async fn token_expiry_in_days(&self, days: u32) -> AppResult<String> {
        let (at,): (String,) = sqlx::query_as("SELECT strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)")
            .bind(format!("+{days} days"))
            .fetch_one(&self.pool)
            .await?;
        Ok(at)
    }

    /// `at` (RFC 3339) in the stored format, once it is known to lie in the
    /// future and within [`MAX_DAYS`].
    pub async fn token_expiry_at(&self, at: &str) -> AppResult<String> {
        let bad = || {
            AppError::BadRequest(format!(
                "expires_at: {at:?} is not an RFC 3339 time such as 2030-01-31T12:00:00Z"
            ))
        };
        if !looks_like_rfc3339(at) {
            return Err(bad());
        }
        let (normal, now, latest): (Option<String>, String, String) = sqlx::query_as(
            "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', ?), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
                    strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)",
        )
        .bind(at)
        .bind(format!("+{MAX_DAYS} days"))
        .fetch_one(&self.pool)
        .await?;
        let normal = normal.ok_or_else(bad)?;
        if normal <= now {
            return Err(AppError::BadRequest(format!(
                "expires_at: {at} is not in the future"
            )));
        }
        if normal > latest {
            return Err(AppError::BadRequest(format!(
                "expires_at: a token may live at most {MAX_DAYS} days"
            )));
        }
        Ok(normal)
    }

    pub async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &[u8],
        expires_at: Option<&str>,
        scope: &TokenScope,
    ) -> AppResult<i64> {
        let endpoints = scope
            .endpoints
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| AppError::Internal(e.into()))?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO api_tokens (user_id, name, token_hash, expires_at, read_only, endpoints)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(expires_at)
        .bind(scope.read_only)
        .bind(endpoints)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| on_unique(e, || format!("you already have a token named {name:?}")))?;
        Ok(id)
    }

    pub async fn list_tokens(&self, user_id: i64) -> AppResult<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(&format!(
            "SELECT id, name, created_at, last_used_at, expires_at,
                    COALESCE(expires_at <= {NOW}, 0) AS expired, read_only, endpoints
             FROM api_tokens WHERE user_id = ? ORDER BY name"
        ))
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

    /// Moves the expiry of one of the user's tokens (`None`: never).
    pub async fn set_token_expiry(
        &self,
        user_id: i64,
        id: i64,
        expires_at: Option<&str>,
    ) -> AppResult<()> {
        let done = sqlx::query("UPDATE api_tokens SET expires_at = ? WHERE id = ? AND user_id = ?")
            .bind(expires_at)
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(AppError::NotFound(format!(
                "you have no token with id {id}"
            )));
        }
        Ok(())
    }

    /// The token with this hash and the user it acts for, as the user is
    /// now (role and all); `expired` says whether it may still be used.
    /// Marks a live token used (at most once a minute, so a busy script
    /// does not turn every read into a write).
    pub async fn token_use(&self, token_hash: &[u8]) -> AppResult<Option<TokenUse>> {
        let row: Option<TokenUseRow> = sqlx::query_as(&format!(
            "SELECT u.id, u.username, u.password_hash, u.role, u.created_at, t.expires_at,
                    COALESCE(t.expires_at <= {NOW}, 0) AS expired, t.read_only, t.endpoints
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ? AND u.disabled = 0"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        if !r.expired {
            sqlx::query(&format!(
                "UPDATE api_tokens SET last_used_at = {NOW}
                 WHERE token_hash = ? AND (last_used_at IS NULL
                   OR last_used_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 minutes'))"
            ))
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        }
        Ok(Some(TokenUse {
            scope: scope_of(r.read_only, r.endpoints.as_deref()),
            user: UserRow {
                id: r.id,
                username: r.username,
                password_hash: r.password_hash,
                role: r.role,
                created_at: r.created_at,
                disabled: false,
            },
            expires_at: r.expires_at,
            expired: r.expired,
        }))
    }
}

/// The shape of an RFC 3339 date-time (`2030-01-31T12:00:00Z`, with
/// optional fractions and an offset); SQLite, which reads the value, also
/// takes bare dates and day numbers, which are not accepted here.
fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let zone_ok = s.ends_with('Z') || s.ends_with('z') || {
        let n = b.len();
        n >= 6
            && matches!(b[n - 6], b'+' | b'-')
            && b[n - 3] == b':'
            && digits(n - 5..n - 3)
            && digits(n - 2..n)
    };
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && zone_ok
}

#[cfg(test)]
mod tests {
    use super::looks_like_rfc3339;

    #[test]
    fn accepts_only_full_rfc3339_times() {
        for ok in [
            "2030-01-31T12:00:00Z",
            "2030-01-31t12:00:00.250+02:00",
            "2030-01-31T12:00:00-05:30",
        ] {
            assert!(looks_like_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2030-01-31",
            "2460000",
            "2030-01-31 12:00:00",
            "2030-01-31T12:00:00",
            "",
        ] {
            assert!(!looks_like_rfc3339(bad), "{bad}");
        }
    }
}
