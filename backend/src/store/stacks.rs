//! Stacks and their revisions.

use protocol::StackRevision;

use super::{on_unique, Store};
use crate::error::{AppError, AppResult};

/// A stack with its latest revision.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StackRow {
    pub id: i64,
    pub name: String,
    pub revision: i64,
    pub compose: String,
    pub env: String,
    pub updated_at: String,
    pub updated_by: String,
}

const LATEST: &str = "SELECT s.id, s.name, r.number AS revision, r.compose, r.env, r.created_at AS updated_at, r.author AS updated_by
     FROM stacks s JOIN stack_revisions r ON r.stack_id = s.id
     WHERE r.number = (SELECT MAX(number) FROM stack_revisions WHERE stack_id = s.id)";

#[derive(sqlx::FromRow)]
struct RevisionRow {
    number: i64,
    created_at: String,
    author: String,
    compose: String,
    env: String,
}

impl From<RevisionRow> for StackRevision {
    fn from(r: RevisionRow) -> Self {
        StackRevision {
            number: r.number,
            created_at: r.created_at,
            author: r.author,
            compose: r.compose,
            env: r.env,
        }
    }
}

impl Store {
    pub async fn create_stack(
        &self,
        endpoint: &str,
        name: &str,
        compose: &str,
        env: &str,
        author: &str,
        created_by: i64,
    ) -> AppResult<StackRow> {
        let mut tx = self.pool.begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO stacks (endpoint, name, created_by) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(endpoint)
        .bind(name)
        .bind(created_by)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| on_unique(e, || format!("a stack named {name} already exists")))?;
        sqlx::query("INSERT INTO stack_revisions (stack_id, number, compose, env, author) VALUES (?, 1, ?, ?, ?)")
            .bind(id)
            .bind(compose)
            .bind(env)
            .bind(author)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.stack(endpoint, name)
            .await?
            .ok_or_else(|| AppError::internal("the new stack vanished"))
    }

    /// Saves a new revision; an unchanged file and .env save nothing.
    pub async fn save_revision(
        &self,
        stack_id: i64,
        compose: &str,
        env: &str,
        author: &str,
    ) -> AppResult<i64> {
        // The write lock from the first statement on: saves arriving
        // together then each read the newest number in turn (instead of
        // two taking the same one), and a concurrent writer cannot make the
        // upgrade fail (SQLITE_BUSY_SNAPSHOT). Either was a 500.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let last: Option<(i64, String, String)> = sqlx::query_as(
            "SELECT number, compose, env FROM stack_revisions WHERE stack_id = ? ORDER BY number DESC LIMIT 1",
        )
        .bind(stack_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((n, c, e)) = &last {
            if c == compose && e == env {
                return Ok(*n);
            }
        }
        let number = last.map(|(n, _, _)| n + 1).unwrap_or(1);
        sqlx::query("INSERT INTO stack_revisions (stack_id, number, compose, env, author) VALUES (?, ?, ?, ?, ?)")
            .bind(stack_id)
            .bind(number)
            .bind(compose)
            .bind(env)
            .bind(author)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(number)
    }

    /// Who created the stack: `Some(None)` for one adopted or made before
    /// berth recorded it, `None` when there is no such stack.
    pub async fn stack_creator(
        &self,
        endpoint: &str,
        name: &str,
    ) -> AppResult<Option<Option<i64>>> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT created_by FROM stacks WHERE endpoint = ? AND name = ?")
                .bind(endpoint)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(c,)| c))
    }

    pub async fn stack(&self, endpoint: &str, name: &str) -> AppResult<Option<StackRow>> {
        Ok(
            sqlx::query_as(&format!("{LATEST} AND s.endpoint = ? AND s.name = ?"))
                .bind(endpoint)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn list_stacks(&self, endpoint: &str) -> AppResult<Vec<StackRow>> {
        Ok(
            sqlx::query_as(&format!("{LATEST} AND s.endpoint = ? ORDER BY s.name"))
                .bind(endpoint)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn stack_revisions(&self, stack_id: i64) -> AppResult<Vec<StackRevision>> {
        let rows: Vec<RevisionRow> = sqlx::query_as(
            "SELECT number, created_at, author, compose, env FROM stack_revisions WHERE stack_id = ? ORDER BY number DESC",
        )
        .bind(stack_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(StackRevision::from).collect())
    }

    pub async fn stack_revision(
        &self,
        stack_id: i64,
        number: i64,
    ) -> AppResult<Option<StackRevision>> {
        let row: Option<RevisionRow> = sqlx::query_as(
            "SELECT number, created_at, author, compose, env FROM stack_revisions WHERE stack_id = ? AND number = ?",
        )
        .bind(stack_id)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(StackRevision::from))
    }

    pub async fn delete_stack(&self, stack_id: i64) -> AppResult<()> {
        sqlx::query("DELETE FROM stacks WHERE id = ?")
            .bind(stack_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
