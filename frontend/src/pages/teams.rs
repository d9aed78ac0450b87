//! `/settings/teams` (admins): teams of users, which an endpoint can grant a
//! role to at once; create and delete a team, add and remove members.

use leptos::{ev, prelude::*, task::spawn_local};
use protocol::{Team, User, MAX_TEAM_NAME};

use crate::api::{self, ApiError};
use crate::components::{
    format::{parse_time, RelativeTime},
    icons::Icon,
    modal::ConfirmRequest,
    remote::{EmptyState, Loaded, Remote},
};
use crate::state::{use_app, AppState};

/// The users who are not in `team` yet, by name: the add-member picker.
pub fn addable(team: &Team, users: &[User]) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = users
        .iter()
        .filter(|u| !team.members.iter().any(|m| m.id == u.id))
        .map(|u| (u.id, u.username.clone()))
        .collect();
    out.sort_by_key(|(_, name)| name.to_lowercase());
    out
}

/// A team name as typed, or why it cannot be one.
pub fn team_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    if name.is_empty() {
        return Err("Type a name, like ops".into());
    }
    if name.chars().count() > MAX_TEAM_NAME {
        return Err(format!(
            "A team name has at most {MAX_TEAM_NAME} characters"
        ));
    }
    Ok(name.to_owned())
}

#[component]
pub fn TeamsPage() -> impl IntoView {
    let app = use_app();
    app.search.set(String::new());
    let admin = Memo::new(move |_| app.is_admin());
    move || {
        if admin.get() {
            view! { <TeamAdmin/> }.into_any()
        } else {
            view! {
                <div class="page">
                    <div class="page-head"><h1>"Teams"</h1></div>
                    <EmptyState title="Only admins manage teams" hint="Ask an admin to add you to a team."/>
                </div>
            }
            .into_any()
        }
    }
}

#[component]
fn TeamAdmin() -> impl IntoView {
    let app = use_app();
    let teams = Remote::new(api::teams);
    let users = Remote::new(api::users);
    let all_users = Memo::new(move |_| {
        users.value.with(|v| match v {
            Some(Ok(list)) => list.clone(),
            _ => Vec::new(),
        })
    });
    let rows = Memo::new(move |_| {
        let needle = app.search.get().trim().to_lowercase();
        teams.value.with(|v| match v {
            Some(Ok(all)) => all
                .iter()
                .filter(|t| {
                    needle.is_empty()
                        || t.name.to_lowercase().contains(&needle)
                        || t.members
                            .iter()
                            .any(|m| m.username.to_lowercase().contains(&needle))
                })
                .cloned()
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    });

    view! {
        <div class="page">
            <div class="page-head">
                <div>
                    <h1>"Teams"</h1>
                    <p class="page-sub">"Groups of users. Give a team a role on an endpoint in its Endpoint settings, and every member gets it."</p>
                </div>
            </div>
            <div class="split">
                <div class="split-main">
                    <Loaded remote=teams what="teams">
                        <div class="table-wrap">
                            <table class="table table-cards" aria-label="Teams">
                                <thead>
                                    <tr>
                                        <th scope="col">"Team"</th>
                                        <th scope="col">"Members"</th>
                                        <th scope="col">"Add a member"</th>
                                        <th scope="col">"Created"</th>
                                        <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <For
                                        each=move || rows.get()
                                        key=|t| (t.id, t.members.iter().map(|m| m.id).collect::<Vec<_>>())
                                        children=move |team: Team| view! { <TeamRow team=team teams=teams users=all_users/> }
                                    />
                                </tbody>
                            </table>
                            <Show when=move || rows.with(Vec::is_empty)>
                                {move || if app.search.with(String::is_empty) {
                                    view! { <EmptyState title="No teams yet" hint="Create one with the form: name it, then add its members."/> }.into_any()
                                } else {
                                    view! { <EmptyState title="No teams match the filter"/> }.into_any()
                                }}
                            </Show>
                        </div>
                    </Loaded>
                </div>
                <AddTeam on_added=move |team: Team| teams.update_ok(|list| list.push(team))/>
            </div>
        </div>
    }
}

/// Puts the team as the server answered it in place of the old one.
fn replace_team(teams: Remote<Vec<Team>>, team: Team) {
    teams.update_ok(|list| {
        if let Some(t) = list.iter_mut().find(|t| t.id == team.id) {
            *t = team;
        }
    });
}

#[component]
fn TeamRow(team: Team, teams: Remote<Vec<Team>>, users: Memo<Vec<User>>) -> impl IntoView {
    let app = use_app();
    let id = team.id;
    let name = team.name.clone();
    let created = parse_time(&team.created_at);
    let picked = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let choices = {
        let team = team.clone();
        Memo::new(move |_| users.with(|u| addable(&team, u)))
    };

    let add = {
        let name = name.clone();
        move |ev: ev::SubmitEvent| {
            ev.prevent_default();
            let Ok(user) = picked.get_untracked().parse::<i64>() else {
                app.toasts.error("Pick a user to add first");
                return;
            };
            let name = name.clone();
            busy.set(true);
            spawn_local(async move {
                match api::add_team_member(id, user).await {
                    Ok(updated) => {
                        let who = updated
                            .members
                            .iter()
                            .find(|m| m.id == user)
                            .map(|m| m.username.clone())
                            .unwrap_or_default();
                        app.toasts.success(format!("Added {who} to {name}"));
                        picked.set(String::new());
                        replace_team(teams, updated);
                    }
                    Err(e) => app
                        .toasts
                        .error(format!("Could not add to {name}: {}", e.message())),
                }
                busy.set(false);
            });
        }
    };

    let members = team
        .members
        .iter()
        .map(|m| {
            let (user, who, team_name) = (m.id, m.username.clone(), name.clone());
            let remove = move |_| {
                let (who, team_name) = (who.clone(), team_name.clone());
                spawn_local(async move {
                    match api::remove_team_member(id, user).await {
                        Ok(updated) => {
                            app.toasts
                                .success(format!("Removed {who} from {team_name}"));
                            replace_team(teams, updated);
                        }
                        Err(e) => app.toasts.error(format!(
                            "Could not remove {who} from {team_name}: {}",
                            e.message()
                        )),
                    }
                });
            };
            view! {
                <li class="chip">
                    <span>{m.username.clone()}</span>
                    <button
                        type="button"
                        class="chip-remove"
                        aria-label=format!("Remove {} from {}", m.username, name)
                        title="Remove from the team"
                        on:click=remove
                    >
                        {Icon::Close.view()}
                    </button>
                </li>
            }
        })
        .collect_view();
    let empty = team.members.is_empty();
    let remove_team = {
        let name = name.clone();
        move |_| ask_delete(app, teams, id, name.clone())
    };

    view! {
        <tr data-team=name.clone()>
            <td class="cell-primary" data-label="Team">
                <span class="row-title">{name.clone()}</span>
            </td>
            <td data-label="Members">
                <ul class="chips" aria-label=format!("Members of {name}")>
                    {members}
                    {empty.then(|| view! { <li class="chip chip-none">"No members"</li> })}
                </ul>
            </td>
            <td data-label="Add a member">
                <form class="inline-fields" on:submit=add>
                    <select
                        class="select select-sm"
                        aria-label=format!("User to add to {name}")
                        bind:value=picked
                    >
                        <option value="">"Pick a user"</option>
                        {move || choices.get().into_iter().map(|(uid, uname)| view! {
                            <option value=uid.to_string()>{uname}</option>
                        }).collect_view()}
                    </select>
                    <button
                        type="submit"
                        class="btn btn-sm"
                        disabled=move || busy.get() || picked.with(String::is_empty)
                    >
                        {Icon::Plus.view()}
                        <span>"Add"</span>
                    </button>
                </form>
            </td>
            <td data-label="Created" class="cell-nowrap"><RelativeTime secs=created/></td>
            <td class="cell-actions">
                <div class="row-actions">
                    <button
                        type="button"
                        class="btn-icon btn-icon-danger"
                        aria-label=format!("Delete team {name}")
                        title="Delete team"
                        on:click=remove_team
                    >
                        {Icon::Trash.view()}
                    </button>
                </div>
            </td>
        </tr>
    }
}

fn ask_delete(app: AppState, teams: Remote<Vec<Team>>, id: i64, name: String) {
    let title = format!("Delete team {name}?");
    let body = format!(
        "Its members stay, but lose what endpoints granted to {name}; they keep what was granted to them by name."
    );
    app.ask(ConfirmRequest::new(title, body, "Delete", move || {
        let name = name.clone();
        spawn_local(async move {
            match api::delete_team(id).await {
                Ok(()) => {
                    app.toasts.success(format!("Deleted team {name}"));
                    teams.update_ok(|list| list.retain(|t| t.id != id));
                }
                Err(e) => app
                    .toasts
                    .error(format!("Could not delete {name}: {}", e.message())),
            }
        });
    }));
}

#[component]
fn AddTeam(on_added: impl Fn(Team) + Clone + 'static) -> impl IntoView {
    let app = use_app();
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let chosen = match team_name(&name.get_untracked()) {
            Ok(n) => n,
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        busy.set(true);
        error.set(None);
        let on_added = on_added.clone();
        spawn_local(async move {
            match api::create_team(&chosen).await {
                Ok(created) => {
                    app.toasts.success(format!("Created team {}", created.name));
                    name.set(String::new());
                    on_added(created);
                }
                Err(e) => error.set(Some(ApiError::message(&e))),
            }
            busy.set(false);
        });
    };

    view! {
        <section class="card split-side">
            <h2 class="card-title">"Create team"</h2>
            <form class="form" on:submit=submit novalidate>
                <div class="field">
                    <label for="new-team-name">"Team name"</label>
                    <input
                        id="new-team-name"
                        class="input"
                        type="text"
                        required
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="ops"
                        aria-describedby="new-team-error"
                        aria-invalid=move || error.with(Option::is_some).then_some("true")
                        bind:value=name
                    />
                    <p class="field-hint">"Then add its members in the list, and grant the team a role in an endpoint's settings."</p>
                    <p class="field-error" id="new-team-error" role="alert">{move || error.get()}</p>
                </div>
                <button type="submit" class="btn btn-primary" disabled=busy>
                    {Icon::Plus.view()}
                    <span>"Create team"</span>
                </button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Role, TeamMember};

    fn user(id: i64, name: &str) -> User {
        User {
            id,
            username: name.into(),
            role: Role::Operator,
            created_at: String::new(),
            disabled: false,
            teams: Vec::new(),
        }
    }

    #[test]
    fn the_picker_offers_only_users_outside_the_team() {
        let team = Team {
            id: 1,
            name: "ops".into(),
            members: vec![TeamMember {
                id: 2,
                username: "bob".into(),
            }],
            created_at: String::new(),
        };
        let users = [user(1, "carol"), user(2, "bob"), user(3, "Alice")];
        assert_eq!(
            addable(&team, &users),
            [(3, "Alice".to_owned()), (1, "carol".to_owned())]
        );
    }

    #[test]
    fn a_team_name_is_trimmed_and_bounded() {
        assert_eq!(team_name("  ops "), Ok("ops".into()));
        assert!(team_name("   ").is_err());
        assert!(team_name(&"x".repeat(MAX_TEAM_NAME + 1)).is_err());
    }
}
