//! Reading the audit log (admin only).

use axum::extract::State;
use protocol::{AuditEntry, Role};

use super::Route;
use crate::auth::Access;
use crate::error::{AppJson, AppQuery, AppResult};
use crate::store::AuditFilter;
use crate::AppState;

pub fn routes() -> Vec<Route> {
    vec![Route::get(
        "/api/v1/audit",
        Access::AtLeast(Role::Admin),
        "audit.list",
        "The audit log, newest first; filter by actor, action, target, client address",
        list,
    )
    .query::<AuditFilter>()
    .returns::<Vec<protocol::AuditEntry>>(200)]
}

async fn list(
    State(state): State<AppState>,
    AppQuery(filter): AppQuery<AuditFilter>,
) -> AppResult<AppJson<Vec<AuditEntry>>> {
    Ok(AppJson(state.store.list_audit(&filter).await?))
}
