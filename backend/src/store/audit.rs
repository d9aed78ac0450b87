//! The audit log: one row per mutating call.

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
}

/// `GET /api/v1/audit` filters: exact actor and action, target substring.
#[derive(Debug, Default, Deserialize)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
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
}

impl Store {
    pub async fn write_audit(&self, entry: NewAudit<'_>) -> AppResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (actor, action, target, outcome, status) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.outcome)
        .bind(i64::from(entry.status))
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
            "SELECT id, at, actor, action, target, outcome, status FROM audit_log
             WHERE (?1 IS NULL OR actor = ?1)
               AND (?2 IS NULL OR action = ?2)
               AND (?3 IS NULL OR target LIKE ?3 ESCAPE '\\')
             ORDER BY id DESC LIMIT ?4",
        )
        .bind(filter.actor.as_deref())
        .bind(filter.action.as_deref())
        .bind(target)
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
            })
            .collect())
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
