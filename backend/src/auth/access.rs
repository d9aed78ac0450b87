//! Which endpoints a user reaches, and as what. Admins reach every
//! endpoint as admins. Anyone else reaches an endpoint only through a
//! grant (to them, or to a team they are in), and there acts with the
//! lower of their own role and the grant's: a user's role is the most
//! they can be anywhere, a grant says where. Without a grant an endpoint
//! does not exist for them: every route under it answers 404.

use protocol::Role;

use super::policy::Principal;
use crate::error::{AppError, AppResult};
use crate::store::Store;

/// The role `who` acts with on endpoint `ep`, or `None` when they do not
/// reach it.
pub async fn endpoint_role(store: &Store, who: &Principal, ep: &str) -> AppResult<Option<Role>> {
    // An admin reaches every endpoint, with their role (a read-only token
    // of theirs: a viewer's).
    if who.user_role == Role::Admin {
        return Ok(Some(who.role));
    }
    Ok(store
        .granted_role(who.user_id, ep)
        .await?
        .map(|granted| granted.min(who.role)))
}

/// `who`, acting on endpoint `ep`: their role there; 404 when no grant
/// lets them reach it (the same answer as for an endpoint that does not
/// exist, so nobody learns which endpoints there are).
pub async fn on_endpoint(store: &Store, who: &Principal, ep: &str) -> AppResult<Principal> {
    match endpoint_role(store, who, ep).await? {
        Some(role) => {
            let mut p = who.clone();
            p.role = role;
            p.endpoint = Some(ep.to_string());
            Ok(p)
        }
        None => Err(AppError::NotFound(format!("no endpoint with id {ep:?}"))),
    }
}

/// The endpoints `who` reaches among `all`, with the role on each.
pub async fn reachable(
    store: &Store,
    who: &Principal,
    all: impl Iterator<Item = String>,
) -> AppResult<Vec<(String, Role)>> {
    if who.user_role == Role::Admin {
        return Ok(all.map(|ep| (ep, who.role)).collect());
    }
    let granted = store.granted_roles(who.user_id).await?;
    Ok(all
        .filter_map(|ep| {
            granted
                .iter()
                .find(|(g, _)| *g == ep)
                .map(|(_, role)| (ep, (*role).min(who.role)))
        })
        .collect())
}
