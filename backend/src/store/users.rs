//! Users: who may sign in, and with which role.

use protocol::{Role, User};

use super::{on_unique, Store};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: String,
    pub disabled: bool,
}

impl UserRow {
    pub fn role(&self) -> Role {
        // The table's CHECK constraint keeps this to the three roles; fall
        // back to the least power should that ever not hold.
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }

    pub fn to_user(&self) -> User {
        User {
            id: self.id,
            username: self.username.clone(),
            role: self.role(),
            created_at: self.created_at.clone(),
            disabled: self.disabled,
            teams: Vec::new(),
        }
    }
}

impl Store {
    pub async fn count_users(&self) -> AppResult<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> AppResult<UserRow> {
        sqlx::query_as(
            "INSERT INTO users (username, password_hash, role) VALUES (?, ?, ?)
             RETURNING id, username, password_hash, role, created_at, disabled",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| on_unique(e, || format!("a user named {username:?} already exists")))
    }

    /// Creates the first admin, atomically refusing when any user exists.
    pub async fn create_first_admin(
        &self,
        username: &str,
        password_hash: &str,
    ) -> AppResult<Option<UserRow>> {
        let row = sqlx::query_as(
            "INSERT INTO users (username, password_hash, role)
             SELECT ?, ?, 'admin' WHERE NOT EXISTS (SELECT 1 FROM users)
             RETURNING id, username, password_hash, role, created_at, disabled",
        )
        .bind(username)
        .bind(password_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    pub async fn user_by_name(&self, username: &str) -> AppResult<Option<UserRow>> {
        Ok(sqlx::query_as(
            "SELECT id, username, password_hash, role, created_at, disabled FROM users WHERE username = ?",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn user_by_id(&self, id: i64) -> AppResult<Option<UserRow>> {
        Ok(sqlx::query_as(
            "SELECT id, username, password_hash, role, created_at, disabled FROM users WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn list_users(&self) -> AppResult<Vec<UserRow>> {
        Ok(sqlx::query_as(
            "SELECT id, username, password_hash, role, created_at, disabled FROM users ORDER BY username",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Changes a user's role and/or password hash. Refuses to leave berth
    /// without an admin.
    pub async fn update_user(
        &self,
        id: i64,
        role: Option<Role>,
        password_hash: Option<&str>,
        disabled: Option<bool>,
    ) -> AppResult<UserRow> {
        let mut tx = self.pool.begin().await?;
        let row: Option<UserRow> = sqlx::query_as(
            "UPDATE users SET role = COALESCE(?, role), password_hash = COALESCE(?, password_hash),
                              disabled = COALESCE(?, disabled)
             WHERE id = ? RETURNING id, username, password_hash, role, created_at, disabled",
        )
        .bind(role.map(Role::as_str))
        .bind(password_hash)
        .bind(disabled)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or_else(|| AppError::NotFound(format!("no user with id {id}")))?;
        if admins_left(&mut tx).await? == 0 {
            return Err(AppError::Conflict(
                "berth must keep at least one admin who is not disabled".into(),
            ));
        }
        if password_hash.is_some() || disabled == Some(true) {
            // A new password ends every session of the old one; a disabled
            // user keeps none.
            sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(row)
    }

    pub async fn delete_user(&self, id: i64) -> AppResult<UserRow> {
        let mut tx = self.pool.begin().await?;
        let row: Option<UserRow> = sqlx::query_as(
            "DELETE FROM users WHERE id = ? RETURNING id, username, password_hash, role, created_at, disabled",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or_else(|| AppError::NotFound(format!("no user with id {id}")))?;
        if admins_left(&mut tx).await? == 0 {
            return Err(AppError::Conflict(
                "berth must keep at least one admin".into(),
            ));
        }
        tx.commit().await?;
        Ok(row)
    }
}

async fn admins_left(tx: &mut sqlx::SqliteConnection) -> AppResult<i64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")
            .fetch_one(tx)
            .await?;
    Ok(n)
}
