//! Who may reach which endpoint: teams, per-endpoint grants, and the
//! answer of a policy check made before a spec is submitted.

use serde::{Deserialize, Serialize};

use crate::Role;

/// The longest team name.
pub const MAX_TEAM_NAME: usize = 64;
/// The most grants one endpoint lists.
pub const MAX_GRANTS: usize = 500;

/// A user as a team lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TeamMember {
    pub id: i64,
    pub username: String,
}

/// `GET /api/v1/teams`: a team and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Team {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub members: Vec<TeamMember>,
    /// RFC 3339.
    pub created_at: String,
}

/// `POST /api/v1/teams`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewTeam {
    pub name: String,
}

/// One grant of an endpoint: a user or a team (exactly one of them, by
/// name) gets a role there. Grants give `viewer` or `operator`; admins
/// reach every endpoint without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Grant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub role: Role,
}

/// `GET|PUT /api/v1/endpoints/{ep}/access`: every grant of the endpoint.
/// A PUT replaces the whole list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EndpointAccess {
    #[serde(default)]
    pub grants: Vec<Grant>,
}

impl EndpointAccess {
    /// Checks the list as an admin sent it: each grant names one user or
    /// one team, gives viewer or operator, and appears once. The error
    /// names the grant.
    pub fn validate(&self) -> Result<(), String> {
        if self.grants.len() > MAX_GRANTS {
            return Err(format!("at most {MAX_GRANTS} grants per endpoint"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, g) in self.grants.iter().enumerate() {
            let key = match (&g.user, &g.team) {
                (Some(u), None) => ("user", u.to_lowercase()),
                (None, Some(t)) => ("team", t.to_lowercase()),
                _ => {
                    return Err(format!(
                        "grants[{i}]: name either a \"user\" or a \"team\", not both or neither"
                    ))
                }
            };
            if g.role == Role::Admin {
                return Err(format!(
                    "grants[{i}]: a grant gives viewer or operator; admins reach every endpoint"
                ));
            }
            if !seen.insert(key.clone()) {
                return Err(format!(
                    "grants[{i}]: {} {:?} is listed twice",
                    key.0, key.1
                ));
            }
        }
        Ok(())
    }
}

/// What the caller may do on one endpoint: in `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EndpointRole {
    pub endpoint: String,
    pub role: Role,
}

/// One field a policy check refuses, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Refusal {
    /// The spec's field, such as `mounts[0].source` or `privileged`.
    pub field: String,
    pub message: String,
    /// For a compose file: where the refused value is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// `POST /api/v1/endpoints/{ep}/containers/check`: what the endpoint's
/// policy would refuse of a spec, before it is submitted. Empty when the
/// spec passes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PolicyCheck {
    #[serde(default)]
    pub refusals: Vec<Refusal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(user: Option<&str>, team: Option<&str>, role: Role) -> Grant {
        Grant {
            user: user.map(str::to_string),
            team: team.map(str::to_string),
            role,
        }
    }

    #[test]
    fn grants_name_one_subject_once_and_never_give_admin() {
        let ok = EndpointAccess {
            grants: vec![
                grant(Some("alice"), None, Role::Operator),
                grant(None, Some("alice"), Role::Viewer),
            ],
        };
        assert_eq!(ok.validate(), Ok(()));
        let both = EndpointAccess {
            grants: vec![grant(Some("a"), Some("t"), Role::Viewer)],
        };
        assert!(both
            .validate()
            .expect_err("two subjects")
            .contains("grants[0]"));
        let admin = EndpointAccess {
            grants: vec![grant(Some("a"), None, Role::Admin)],
        };
        assert!(admin
            .validate()
            .expect_err("an admin grant")
            .contains("viewer or operator"));
        let twice = EndpointAccess {
            grants: vec![
                grant(Some("Bob"), None, Role::Viewer),
                grant(Some("bob"), None, Role::Operator),
            ],
        };
        assert!(twice
            .validate()
            .expect_err("listed twice")
            .contains("grants[1]"));
        let parsed: EndpointAccess =
            serde_json::from_str(r#"{"grants":[{"team":"ops","role":"operator"}]}"#)
                .expect("the API's example");
        assert_eq!(parsed.grants[0].team.as_deref(), Some("ops"));
    }
}
