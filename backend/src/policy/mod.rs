//! What a container spec may ask of the host, checked in one place for
//! every way a spec arrives: the run form, a pasted `docker run` line, an
//! edit, and every service of a compose file when it is deployed (a
//! rollback and an adopted stack included).
//!
//! Today admins and operators may use everything that reaches into the host
//! (bind mounts, host namespaces, privileged, capabilities, devices,
//! sysctls, security options); viewers cannot create containers at all, the
//! routes refuse them first. A per-endpoint policy for non-admins changes
//! this function alone.

use protocol::{ContainerSpec, Role};

use crate::auth::Principal;
use crate::error::{AppError, AppResult};

/// Whether `who` may run `spec`; a refusal names the field and what it asks.
pub fn check_spec(who: &Principal, spec: &ContainerSpec) -> AppResult<()> {
    if who.role >= Role::Operator {
        return Ok(());
    }
    match spec.host_reach().into_iter().next() {
        None => Ok(()),
        Some(reach) => Err(AppError::Forbidden(format!(
            "`{}`: {}; your role may not ask that of this host",
            reach.field, reach.detail
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::policy::Credential;
    use protocol::{ContainerOptions, MountKind, MountSpec};

    fn who(role: Role) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            role,
            credential: Credential::Session,
        }
    }

    #[test]
    fn host_reach_is_named_and_operators_may_use_it_for_now() {
        let spec = ContainerSpec {
            image: "x".into(),
            mounts: vec![MountSpec {
                kind: MountKind::Bind,
                source: "/".into(),
                target: "/host".into(),
                read_only: false,
            }],
            options: ContainerOptions {
                privileged: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let fields: Vec<String> = spec.host_reach().into_iter().map(|r| r.field).collect();
        assert_eq!(fields, ["mounts", "privileged"]);
        assert!(check_spec(&who(Role::Operator), &spec).is_ok());
        assert!(check_spec(&who(Role::Admin), &spec).is_ok());
        let refused = check_spec(&who(Role::Viewer), &spec).expect_err("a viewer is refused");
        assert!(refused.to_string().contains("`mounts`"), "{refused}");
        assert!(check_spec(
            &who(Role::Viewer),
            &ContainerSpec {
                image: "x".into(),
                ..Default::default()
            }
        )
        .is_ok());
    }
}
