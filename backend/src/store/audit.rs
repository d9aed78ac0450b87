//! The audit log: one row per mutating call, except that a refusal
//! repeated within a minute adds to the count of the row before it, and
//! rows older than the retention setting are pruned.

use std::borrow::Cow;
use std::net::IpAddr;

use protocol::AuditEntry;
use serde::Deserialize;

use super::Store;
use crate::error::AppResult;

pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub outcome: &'a str,
    pub status: u16,
    /// The client's address (see `auth::client`), when known.
    pub address: Option<IpAddr>,
}

/// `GET /api/v1/audit` filters: exact actor, action and client address,
/// target substring.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    /// Parsed, so `::1` and `0:0:0:0:0:0:0:1` find the same rows and a typo
    /// is a 400 rather than an empty list.
    pub address: Option<IpAddr>,
    pub limit: Option<u32>,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    outcome: String,
    status: i64,
    address: Option<String>,
    count: i64,
}

/// The actor written on a collapsed row whose refusals came from more than
/// one actor (see [`Store::write_audit_collapsing`]).
const SEVERAL_ACTORS: &str = "(several)";

impl Store {
    /// Writes a row; its id.
    pub async fn write_audit(&self, entry: NewAudit<'_>) -> AppResult<i64> {
        insert_audit(&self.pool, &entry).await
    }

    /// Writes a refusal, or, when the same one was written less than a
    /// minute ago (same action, status and client address, and the same
    /// actor unless `any_actor`), adds one to that row's count instead; the
    /// id of the row. `any_actor` is for refusals whose actor is whatever
    /// an anonymous client sent: a stream of made-up names then still makes
    /// one row a minute, and the row's actor says there were several.
    pub async fn write_audit_collapsing(
        &self,
        entry: NewAudit<'_>,
        any_actor: bool,
    ) -> AppResult<i64> {
        let address = entry.address.map(address_text);
        // One writer at a time from the first statement on, so refusals
        // that arrive together still find the row the first one wrote.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let collapsed: Option<i64> = sqlx::query_scalar(
            "UPDATE audit_log
                SET count = count + 1,
                    actor = CASE WHEN actor = ?1 THEN actor ELSE ?6 END
              WHERE id = (
                SELECT id FROM audit_log
                 WHERE action = ?2 AND status = ?3 AND address IS ?4
                   AND (?5 OR actor = ?1)
                   AND at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-60 seconds')
                 ORDER BY id DESC LIMIT 1)
              RETURNING id",
        )
        .bind(capped_actor(entry.actor))
        .bind(entry.action)
        .bind(i64::from(entry.status))
        .bind(address.as_deref())
        .bind(any_actor)
        .bind(SEVERAL_ACTORS)
        .fetch_optional(&mut *tx)
        .await?;
        let id = match collapsed {
            Some(id) => id,
            None => insert_audit(&mut *tx, &entry).await?,
        };
        tx.commit().await?;
        Ok(id)
    }

    /// Deletes the rows older than `days` days; how many went.
    pub async fn prune_audit(&self, days: u32) -> AppResult<u64> {
        let done = sqlx::query(
            "DELETE FROM audit_log WHERE at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)",
        )
        .bind(format!("-{days} days"))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Sets the outcome of row `id`: a streamed call that failed after it
    /// started.
    pub async fn set_audit_outcome(&self, id: i64, outcome: &str) -> AppResult<()> {
        sqlx::query("UPDATE audit_log SET outcome = ? WHERE id = ?")
            .bind(outcome)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Newest first.
    pub async fn list_audit(&self, filter: &AuditFilter) -> AppResult<Vec<AuditEntry>> {
        let limit = i64::from(filter.limit.unwrap_or(100).clamp(1, 1000));
        let target = filter
            .target
            .as_deref()
            .map(|t| format!("%{}%", escape_like(t)));
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, actor, action, target, outcome, status, address, count FROM audit_log
             WHERE (?1 IS NULL OR actor = ?1)
               AND (?2 IS NULL OR action = ?2)
               AND (?3 IS NULL OR target LIKE ?3 ESCAPE '\\')
               AND (?4 IS NULL OR address = ?4)
             ORDER BY id DESC LIMIT ?5",
        )
        .bind(filter.actor.as_deref())
        .bind(filter.action.as_deref())
        .bind(target)
        .bind(filter.address.map(address_text))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.at,
                actor: r.actor,
                action: r.action,
                target: r.target,
                outcome: r.outcome,
                status: u16::try_from(r.status).unwrap_or(0),
                address: r.address,
                count: u32::try_from(r.count).unwrap_or(u32::MAX),
            })
            .collect())
    }
}

async fn insert_audit<'e>(
    executor: impl sqlx::SqliteExecutor<'e>,
    entry: &NewAudit<'_>,
) -> AppResult<i64> {
    let done = sqlx::query(
        "INSERT INTO audit_log (actor, action, target, outcome, status, address)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(capped_actor(entry.actor))
    .bind(entry.action)
    .bind(entry.target)
    .bind(entry.outcome)
    .bind(i64::from(entry.status))
    .bind(entry.address.map(address_text))
    .execute(executor)
    .await?;
    Ok(done.last_insert_rowid())
}

/// The longest actor name the audit log keeps: the longest username berth
/// accepts. A login's actor is whatever the client sent.
const MAX_ACTOR_CHARS: usize = 64;

/// `actor`, cut to [`MAX_ACTOR_CHARS`] and marked `…` when it was longer.
fn capped_actor(actor: &str) -> Cow<'_, str> {
    match actor.char_indices().nth(MAX_ACTOR_CHARS) {
        None => actor.into(),
        Some((cut, _)) => format!("{}…", &actor[..cut]).into(),
    }
}

/// One spelling per address, so the filter's exact match finds it:
/// IPv4-mapped IPv6 addresses are written as IPv4.
fn address_text(ip: IpAddr) -> String {
    ip.to_canonical().to_string()
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Store {
    /// Prunes the audit log to `days` days now and then every hour, for as
    /// long as the runtime runs; 0 days keeps every row.
    pub fn spawn_audit_retention(&self, days: u32) {
        if days == 0 {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                // The first tick is at once: the prune at start.
                hourly.tick().await;
                match store.prune_audit(days).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, days, "pruned the audit log"),
                    Err(e) => tracing::error!(error = %e, "cannot prune the audit log"),
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_capped() {
        assert_eq!(capped_actor("admin"), "admin");
        let exact = "é".repeat(MAX_ACTOR_CHARS);
        assert_eq!(capped_actor(&exact), exact);
        let long = "é".repeat(100_000);
        let capped = capped_actor(&long);
        assert_eq!(capped.chars().count(), MAX_ACTOR_CHARS + 1);
        assert!(capped.ends_with("é…"), "{capped}");
    }
}
