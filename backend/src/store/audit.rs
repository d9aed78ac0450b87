//! The audit log: one row per mutating call.

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
#[derive(Debug, Default, Deserialize)]
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
}

impl Store {
    /// Writes a row; its id.
    pub async fn write_audit(&self, entry: NewAudit<'_>) -> AppResult<i64> {
        let done = sqlx::query(
            "INSERT INTO audit_log (actor, action, target, outcome, status, address)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.outcome)
        .bind(i64::from(entry.status))
        .bind(entry.address.map(address_text))
        .execute(&self.pool)
        .await?;
        Ok(done.last_insert_rowid())
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
            "SELECT id, at, actor, action, target, outcome, status, address FROM audit_log
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
            })
            .collect())
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
