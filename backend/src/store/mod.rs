//! The store: sqlx repositories over one SQLite file (WAL) in the data dir.
//! Every query lives in this module, one file per table.

mod access;
mod audit;
mod endpoints;
mod policies;
pub(crate) mod registries;
mod sessions;
mod stacks;
mod tokens;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use audit::{AuditFilter, NewAudit};
pub use endpoints::EndpointRow;
pub use stacks::StackRow;
pub use users::UserRow;

use crate::error::AppError;

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (or creates) `<data_dir>/berth.db` and brings its schema up to date.
    pub async fn open(data_dir: &Path) -> anyhow::Result<Store> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
        restrict_permissions(data_dir);
        let path = data_dir.join("berth.db");
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // A small pool: SQLite serialises writers anyway, and idle memory matters.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        sqlx::migrate!("../migrations")
            .run(&pool)
            .await
            .context("cannot apply the database migrations")?;
        Ok(Store { pool })
    }

    /// Answers when the database does.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// The data dir holds password hashes and session hashes: keep it private.
fn restrict_permissions(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot restrict the data dir's permissions");
        }
    }
}

/// Maps a unique-key violation to a 409 with `message`; anything else stays internal.
fn on_unique(e: sqlx::Error, message: impl FnOnce() -> String) -> AppError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => AppError::Conflict(message()),
        _ => AppError::from(e),
    }
}

/// An RFC 3339 UTC timestamp `hours` from now, as SQLite writes them.
fn sql_hours_from_now(hours: u32) -> String {
    format!("+{hours} hours")
}
