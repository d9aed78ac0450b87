//! `/endpoints/{ep}/stacks/new`: a new stack from a compose file written
//! (or pasted) in the editor, checked as it is typed. "From docker run"
//! turns a `docker run ...` line into a compose file.

use leptos::{ev, prelude::*, task::spawn_local};
use leptos_router::{
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};
use protocol::StackInput;

use crate::api::{self, ApiError};
use crate::components::{
    icons::Icon,
    layout::endpoint_path,
    modal::ConfirmRequest,
    remote::Remote,
    yaml_editor::{use_compose_check, YamlEditor},
};
use crate::pages::stacks::{stack_name_problem, stack_path};
use crate::state::use_app;

/// A compose file to start from, shown as the editor's placeholder.
const EXAMPLE: &str = "services:\n  web:\n    image: nginx:alpine\n    ports:\n      - \"8080:80\"\n    depends_on:\n      - db\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD}\n    volumes:\n      - db-data:/var/lib/postgresql/data\n\nvolumes:\n  db-data:\n";

/// Which field a refusal from the server is about.
fn is_name_error(e: &ApiError) -> bool {
    let d = e.detail.to_lowercase();
    e.status == 409 || d.contains("stack name") || d.contains("already")
}

#[component]
pub fn NewStackPage() -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let params = use_params_map();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    app.crumb.set(Some("New stack".into()));
    // The next page may have named itself already.
    on_cleanup(move || {
        if app
            .crumb
            .with_untracked(|c| c.as_deref() == Some("New stack"))
        {
            app.crumb.set(None);
        }
    });

    let name = RwSignal::new(String::new());
    let compose = RwSignal::new(String::new());
    let env = RwSignal::new(String::new());
    let check = use_compose_check(ep.into(), compose, env);
    let name_error = RwSignal::new(None::<String>);
    let form_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let containers = Remote::new(move || {
        let ep = ep.get();
        async move { api::containers(&ep).await }
    });
    let picked = RwSignal::new(String::new());
    let run_line = RwSignal::new(String::new());
    let run_error = RwSignal::new(None::<String>);
    let converting = RwSignal::new(false);

    let save = move |deploy: bool| {
        if busy.get_untracked() {
            return;
        }
        let stack = name.get_untracked().trim().to_owned();
        if let Some(problem) = stack_name_problem(&stack) {
            name_error.set(Some(problem.to_owned()));
            focus("stack-name");
            return;
        }
        name_error.set(None);
        if compose.with_untracked(|c| c.trim().is_empty()) {
            form_error.set(Some("Write the compose file first.".into()));
            focus("stack-compose");
            return;
        }
        form_error.set(None);
        let input = StackInput {
            name: stack.clone(),
            compose: compose.get_untracked(),
            env: env.get_untracked(),
        };
        let ep = ep.get_untracked();
        let navigate = navigate.clone();
        busy.set(true);
        spawn_local(async move {
            let result = api::create_stack(&ep, &input).await;
            busy.set(false);
            match result {
                Ok(detail) => {
                    app.toasts.success(format!(
                        "Saved stack {} (revision {})",
                        detail.name, detail.revision
                    ));
                    let rest = if deploy {
                        "?tab=plan&deploy=1"
                    } else {
                        "?tab=plan"
                    };
                    navigate(
                        &stack_path(&ep, &detail.name, rest),
                        NavigateOptions::default(),
                    );
                }
                Err(e) if is_name_error(&e) => {
                    name_error.set(Some(e.message()));
                    focus("stack-name");
                }
                Err(e) => form_error.set(Some(e.message())),
            }
        });
    };
    let save_only = {
        let save = save.clone();
        move |ev: ev::SubmitEvent| {
            ev.prevent_default();
            save(false)
        }
    };

    // A `docker run` line (`None`) or a container (`Some(id)`) as the file.
    let convert_from = move |container: Option<String>| {
        let line = run_line.get_untracked();
        if container.is_none() && line.trim().is_empty() {
            run_error.set(Some("Paste a docker run command first.".into()));
            return;
        }
        converting.set(true);
        run_error.set(None);
        let ep = ep.get_untracked();
        spawn_local(async move {
            let result = match &container {
                Some(id) => api::container_compose(&ep, id).await,
                None => api::compose_from_run(&line).await,
            };
            converting.set(false);
            match result {
                Ok(snippet) => {
                    let fill = move || {
                        compose.set(snippet.yaml.clone());
                        if name.with_untracked(String::is_empty) {
                            let suggested: String = snippet
                                .service
                                .to_lowercase()
                                .chars()
                                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                                .collect();
                            name.set(suggested);
                        }
                        app.toasts
                            .success(format!("Converted: service {}", snippet.service));
                    };
                    if compose.with_untracked(|c| c.trim().is_empty()) {
                        fill();
                    } else {
                        app.ask(ConfirmRequest::new(
                            "Replace the compose file?",
                            "The editor's text is replaced by the converted command.",
                            "Replace",
                            fill,
                        ));
                    }
                }
                Err(e) => run_error.set(Some(e.message())),
            }
        });
    };

    let convert = move |_| convert_from(None);
    let from_container = move |_| {
        let id = picked.get_untracked();
        if id.is_empty() {
            run_error.set(Some("Choose a container first.".into()));
        } else {
            convert_from(Some(id));
        }
    };
    let container_options = move || {
        containers.value.with(|v| match v {
            Some(Ok(list)) => {
                let mut list = list.clone();
                list.sort_by(|a, b| a.name.cmp(&b.name));
                list.into_iter()
                    .map(|c| {
                        let label = format!("{} ({})", c.name, c.image);
                        view! { <option value=c.id.clone()>{label}</option> }
                    })
                    .collect_view()
                    .into_any()
            }
            _ => ().into_any(),
        })
    };

    view! {
        <div class="page">
            <div class="page-head">
                <div>
                    <h1>"New stack"</h1>
                    <p class="page-sub">"Write or paste a compose file. berth saves it as revision 1; nothing starts until you deploy."</p>
                </div>
            </div>
            <div class="run-layout">
                <form class="run-main form" on:submit=save_only novalidate>
                    <section class="card form-section">
                        <div class="field">
                            <label for="stack-name">"Stack name"</label>
                            <input
                                id="stack-name"
                                class="input mono input-name"
                                type="text"
                                autocomplete="off"
                                spellcheck="false"
                                autocapitalize="off"
                                placeholder="e.g. shop"
                                required
                                aria-invalid=move || name_error.with(Option::is_some).then_some("true")
                                aria-describedby="stack-name-hint stack-name-error"
                                bind:value=name
                                on:input=move |_| name_error.set(None)
                            />
                            <p class="field-hint" id="stack-name-hint">
                                "The compose project name: lower-case letters, digits, - and _. Containers are named after it."
                            </p>
                            <p class="field-error" id="stack-name-error" role="alert">{move || name_error.get()}</p>
                        </div>
                        <YamlEditor
                            id="stack-compose"
                            label="Compose file"
                            text=compose
                            check=check
                            rows=22
                            placeholder=EXAMPLE
                        />
                        <YamlEditor
                            id="stack-env"
                            label=".env"
                            text=env
                            rows=5
                            placeholder="DB_PASSWORD=change-me"
                            hint="Values for ${VARIABLES} in the compose file, KEY=value a line."
                        />
                    </section>
                    {move || form_error.get().map(|e| view! { <div class="form-error" role="alert">{e}</div> })}
                    <div class="form-actions">
                        <button type="submit" class="btn" disabled=busy>
                            "Save"
                        </button>
                        <button type="button" class="btn btn-primary" disabled=busy on:click=move |_| save(true)>
                            {Icon::Play.view()}
                            <span>"Save and deploy"</span>
                        </button>
                        <a class="btn btn-ghost" href=move || endpoint_path(&ep.get(), "stacks")>"Cancel"</a>
                        {move || busy.get().then(|| view! { <span class="spinner" role="status" aria-label="Saving"></span> })}
                    </div>
                </form>
                <aside class="run-side">
                    <section class="card form-section">
                        <h2 class="card-title">"From docker run or a container"</h2>
                        <div class="field">
                            <label for="stack-run-line">"Paste a docker run command"</label>
                            <textarea
                                id="stack-run-line"
                                class="input textarea mono run-line"
                                rows="5"
                                spellcheck="false"
                                placeholder="docker run -d --name web -p 8080:80 nginx:alpine"
                                aria-describedby="stack-run-error"
                                bind:value=run_line
                            ></textarea>
                            <p class="field-error" id="stack-run-error" role="alert">{move || run_error.get()}</p>
                        </div>
                        <div>
                            <button type="button" class="btn" disabled=converting on:click=convert>
                                {Icon::Refresh.view()}
                                <span>"Convert"</span>
                            </button>
                        </div>
                        <p class="field-hint">"The command becomes a compose service in the editor, ready to edit."</p>
                        <div class="field">
                            <label for="stack-from-container">"Or an existing container"</label>
                            <select id="stack-from-container" class="select" bind:value=picked>
                                <option value="">"Choose a container…"</option>
                                {container_options}
                            </select>
                        </div>
                        <div>
                            <button type="button" class="btn" disabled=converting on:click=from_container>
                                {Icon::Copy.view()}
                                <span>"Use its settings"</span>
                            </button>
                        </div>
                    </section>
                </aside>
            </div>
        </div>
    }
}

/// Focuses the element with this id, if it is there.
pub fn focus(id: &str) {
    use wasm_bindgen::JsCast;
    if let Some(el) = document()
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}
