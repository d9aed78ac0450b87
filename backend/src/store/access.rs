//! Teams, their members, and the grants that let non-admins reach an
//! endpoint.

use std::collections::BTreeMap;

use protocol::{EndpointAccess, Grant, Role, Team, TeamMember};

use super::{on_unique, Store};
use crate::error::{AppError, AppResult};

#[derive(sqlx::FromRow)]
struct TeamRow {
    id: i64,
    name: String,
    created_at: String,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    team_id: i64,
    id: i64,
    username: String,
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    user_name: Option<String>,
    team_name: Option<String>,
    role: String,
}

impl Store {
    /// Every team with its members, by name.
    pub async fn list_teams(&self) -> AppResult<Vec<Team>> {
        let teams: Vec<TeamRow> =
            sqlx::query_as("SELECT id, name, created_at FROM teams ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        let members: Vec<MemberRow> = sqlx::query_as(
            "SELECT m.team_id, u.id, u.username FROM team_members m
             JOIN users u ON u.id = m.user_id ORDER BY u.username",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut by_team: BTreeMap<i64, Vec<TeamMember>> = BTreeMap::new();
        for m in members {
            by_team.entry(m.team_id).or_default().push(TeamMember {
                id: m.id,
                username: m.username,
            });
        }
        Ok(teams
            .into_iter()
            .map(|t| Team {
                members: by_team.remove(&t.id).unwrap_or_default(),
                id: t.id,
                name: t.name,
                created_at: t.created_at,
            })
            .collect())
    }

    pub async fn team(&self, id: i64) -> AppResult<Team> {
        self.list_teams()
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| AppError::NotFound(format!("no team with id {id}")))
    }

    pub async fn create_team(&self, name: &str) -> AppResult<Team> {
        let row: TeamRow =
            sqlx::query_as("INSERT INTO teams (name) VALUES (?) RETURNING id, name, created_at")
                .bind(name)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| on_unique(e, || format!("a team named {name:?} already exists")))?;
        Ok(Team {
            id: row.id,
            name: row.name,
            members: Vec::new(),
            created_at: row.created_at,
        })
    }

    /// Removes a team, its memberships and its grants; answers its members'
    /// ids (whose rights changed).
    pub async fn delete_team(&self, id: i64) -> AppResult<(String, Vec<i64>)> {
        // Reads, then writes: take the write lock first, or a concurrent
        // writer makes the upgrade fail (SQLITE_BUSY_SNAPSHOT, a 500).
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let members: Vec<(i64,)> =
            sqlx::query_as("SELECT user_id FROM team_members WHERE team_id = ?")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        let name: Option<(String,)> =
            sqlx::query_as("DELETE FROM teams WHERE id = ? RETURNING name")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let (name,) = name.ok_or_else(|| AppError::NotFound(format!("no team with id {id}")))?;
        tx.commit().await?;
        Ok((name, members.into_iter().map(|(u,)| u).collect()))
    }

    /// Adds (`member`) or removes a user from a team.
    pub async fn set_team_member(&self, team: i64, user: i64, member: bool) -> AppResult<Team> {
        let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM teams WHERE id = ?")
            .bind(team)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            return Err(AppError::NotFound(format!("no team with id {team}")));
        }
        if self.user_by_id(user).await?.is_none() {
            return Err(AppError::NotFound(format!("no user with id {user}")));
        }
        let sql = if member {
            "INSERT OR IGNORE INTO team_members (team_id, user_id) VALUES (?, ?)"
        } else {
            "DELETE FROM team_members WHERE team_id = ? AND user_id = ?"
        };
        sqlx::query(sql)
            .bind(team)
            .bind(user)
            .execute(&self.pool)
            .await?;
        self.team(team).await
    }

    /// The names of the teams a user is in.
    pub async fn teams_of(&self, user: i64) -> AppResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT t.name FROM teams t JOIN team_members m ON m.team_id = t.id
             WHERE m.user_id = ? ORDER BY t.name",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    /// The user and everyone who shares a team with them.
    pub async fn teammates(&self, user: i64) -> AppResult<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT ? UNION SELECT other.user_id FROM team_members mine
             JOIN team_members other ON other.team_id = mine.team_id
             WHERE mine.user_id = ?",
        )
        .bind(user)
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }

    /// The highest role a grant gives `user` on `endpoint` (directly or
    /// through a team), if any.
    pub async fn granted_role(&self, user: i64, endpoint: &str) -> AppResult<Option<Role>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT MAX(CASE g.role WHEN 'operator' THEN 2 ELSE 1 END)
             FROM endpoint_grants g
             WHERE g.endpoint_id = ? AND (g.user_id = ? OR g.team_id IN
                   (SELECT team_id FROM team_members WHERE user_id = ?))
             HAVING COUNT(*) > 0",
        )
        .bind(endpoint)
        .bind(user)
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(rank,)| {
            if rank >= 2 {
                Role::Operator
            } else {
                Role::Viewer
            }
        }))
    }

    /// Every endpoint a grant gives `user`, with the highest role on each.
    pub async fn granted_roles(&self, user: i64) -> AppResult<Vec<(String, Role)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT g.endpoint_id, MAX(CASE g.role WHEN 'operator' THEN 2 ELSE 1 END)
             FROM endpoint_grants g
             WHERE g.user_id = ? OR g.team_id IN
                   (SELECT team_id FROM team_members WHERE user_id = ?)
             GROUP BY g.endpoint_id ORDER BY g.endpoint_id",
        )
        .bind(user)
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(ep, rank)| {
                (
                    ep,
                    if rank >= 2 {
                        Role::Operator
                    } else {
                        Role::Viewer
                    },
                )
            })
            .collect())
    }

    /// An endpoint's grants, users first, by name.
    pub async fn endpoint_access(&self, endpoint: &str) -> AppResult<EndpointAccess> {
        let rows: Vec<GrantRow> = sqlx::query_as(
            "SELECT u.username AS user_name, t.name AS team_name, g.role
             FROM endpoint_grants g
             LEFT JOIN users u ON u.id = g.user_id
             LEFT JOIN teams t ON t.id = g.team_id
             WHERE g.endpoint_id = ?
             ORDER BY g.team_id IS NOT NULL, COALESCE(u.username, t.name)",
        )
        .bind(endpoint)
        .fetch_all(&self.pool)
        .await?;
        Ok(EndpointAccess {
            grants: rows
                .into_iter()
                .map(|r| Grant {
                    user: r.user_name,
                    team: r.team_name,
                    role: Role::parse(&r.role).unwrap_or(Role::Viewer),
                })
                .collect(),
        })
    }

    /// Replaces an endpoint's grants (checked with
    /// [`EndpointAccess::validate`] first); every user and team must exist.
    pub async fn put_endpoint_access(
        &self,
        endpoint: &str,
        access: &EndpointAccess,
    ) -> AppResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM endpoint_grants WHERE endpoint_id = ?")
            .bind(endpoint)
            .execute(&mut *tx)
            .await?;
        for (i, g) in access.grants.iter().enumerate() {
            let (user_id, team_id) = match (&g.user, &g.team) {
                (Some(name), _) => {
                    let id: Option<(i64,)> =
                        sqlx::query_as("SELECT id FROM users WHERE username = ?")
                            .bind(name)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let (id,) = id.ok_or_else(|| {
                        AppError::BadRequest(format!("grants[{i}]: no user named {name:?}"))
                    })?;
                    (Some(id), None)
                }
                (None, Some(name)) => {
                    let id: Option<(i64,)> = sqlx::query_as("SELECT id FROM teams WHERE name = ?")
                        .bind(name)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let (id,) = id.ok_or_else(|| {
                        AppError::BadRequest(format!("grants[{i}]: no team named {name:?}"))
                    })?;
                    (None, Some(id))
                }
                (None, None) => {
                    return Err(AppError::BadRequest(format!(
                        "grants[{i}]: name a user or a team"
                    )))
                }
            };
            sqlx::query(
                "INSERT INTO endpoint_grants (endpoint_id, user_id, team_id, role) VALUES (?, ?, ?, ?)",
            )
            .bind(endpoint)
            .bind(user_id)
            .bind(team_id)
            .bind(g.role.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes every grant of an endpoint (the endpoint is gone).
    pub async fn delete_endpoint_grants(&self, endpoint: &str) -> AppResult<()> {
        sqlx::query("DELETE FROM endpoint_grants WHERE endpoint_id = ?")
            .bind(endpoint)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
