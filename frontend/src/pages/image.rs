//! `/endpoints/{ep}/images/{id}`: one image (by id or reference): its tags,
//! id, size and age, with Run, Tag, Push, Export and Remove; the tabs
//! Overview (the settings it gives containers) and Layers (its history: the
//! instruction of each step, its size, and which other images share it).

use leptos::{ev, prelude::*};
use leptos_router::{
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};
use protocol::{ImageDetail, ImageLayer};

use crate::api;
use crate::components::config_cards::{EnvCard, LabelsCard};
use crate::components::tabs::{remember_tab, tab_from_location, TabItem, TabPanel, TabStrip};
use crate::components::{
    copy::ShortId,
    format::{bytes, exact, parse_time, RelativeTime},
    icons::Icon,
    layout::{endpoint_path, line_icon},
    remote::{DetailLoaded, Remote},
};
use crate::pages::images::{
    ask_remove_image, display_name, export_name, image_path, run_path, tag_chips, ImageTarget,
    RegistryDialog, RegistryJob, TagDialog, DOWNLOAD_ICON, PUSH_ICON, TAG_ICON,
};
use crate::state::use_app;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Overview,
    Layers,
}

impl TabItem for Tab {
    fn label(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Layers => "Layers",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Tab::Overview => "overview",
            Tab::Layers => "layers",
        }
    }
}

impl Tab {
    const ALL: [Tab; 2] = [Tab::Overview, Tab::Layers];
}

/// The instruction of a history step in Dockerfile words: the server's,
/// else the engine's record without its `/bin/sh -c #(nop) `.
pub fn instruction_of(layer: &ImageLayer) -> String {
    if !layer.instruction.trim().is_empty() {
        return layer.instruction.trim().to_owned();
    }
    let raw = layer.created_by.trim();
    if let Some(rest) = raw.strip_prefix("/bin/sh -c #(nop)") {
        rest.trim().to_owned()
    } else if let Some(rest) = raw.strip_prefix("/bin/sh -c ") {
        format!("RUN {}", rest.trim())
    } else {
        raw.to_owned()
    }
}

#[component]
pub fn ImagePage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    app.search.set(String::new());

    let detail = Remote::new(move || {
        let (ep, id) = (ep.get(), id.get());
        async move { api::image(&ep, &id).await }
    });
    crate::pages::reload_on_changes(detail, &["image", "container"]);
    let tab = RwSignal::new(tab_from_location(&Tab::ALL).unwrap_or(Tab::Overview));
    Effect::new(move |before: Option<Tab>| {
        let now = tab.get();
        if before.is_some_and(|b| b != now) {
            remember_tab(now, Some(Tab::Overview));
        }
        now
    });
    let tagging = RwSignal::new(None::<ImageTarget>);
    let registry_job = RwSignal::new(None::<RegistryJob>);

    // The breadcrumb names the image once it is known.
    Effect::new(move |_| {
        let name = detail.value.with(|v| match v {
            Some(Ok(d)) => Some(display_name(&d.id, &d.repo_tags)),
            _ => None,
        });
        app.crumb.set(Some(name.unwrap_or_else(|| id.get())));
    });
    on_cleanup(move || app.crumb.set(None));

    let panel = move || {
        let ep_now = ep.get();
        detail.value.with(|v| match v {
            Some(Ok(d)) => match tab.get() {
                Tab::Overview => overview(&ep_now, d).into_any(),
                Tab::Layers => layers(&ep_now, d).into_any(),
            },
            _ => ().into_any(),
        })
    };

    view! {
        <DetailLoaded remote=detail what="image" list="images" gone="removed" name=id ep=ep>
            <div class="page">
                <Header detail=detail ep=ep tagging=tagging registry_job=registry_job/>
                <TabStrip tab=tab tabs=Tab::ALL.to_vec() label="Image"/>
                <TabPanel tab=tab>{panel}</TabPanel>
                <TagDialog target=tagging ep=ep on_done=move || detail.reload()/>
                <RegistryDialog job=registry_job ep=ep on_done=move || detail.reload()/>
            </div>
        </DetailLoaded>
    }
}

#[component]
fn Header(
    detail: Remote<ImageDetail>,
    ep: Memo<String>,
    tagging: RwSignal<Option<ImageTarget>>,
    registry_job: RwSignal<Option<RegistryJob>>,
) -> impl IntoView {
    let app = use_app();
    let navigate = use_navigate();
    let facts = Memo::new(move |_| {
        detail.value.with(|v| match v {
            Some(Ok(d)) => Some((
                d.id.clone(),
                d.repo_tags.clone(),
                d.dangling,
                d.size,
                parse_time(&d.created),
                d.containers.clone(),
            )),
            _ => None,
        })
    });
    move || {
        let (id, tags, dangling, size, created, users) = facts.get()?;
        let ep_now = ep.get_untracked();
        let target = ImageTarget::new(&id, &tags);
        let name = target.name.clone();
        let run_ref = tags
            .iter()
            .find(|t| !t.contains("<none>"))
            .cloned()
            .unwrap_or_else(|| id.clone());
        let remove = {
            let (ep, target, navigate) = (ep_now.clone(), target.clone(), navigate.clone());
            move |_| {
                let list = endpoint_path(&ep, "images");
                let navigate = navigate.clone();
                ask_remove_image(app, ep.clone(), target.clone(), users.clone(), move || {
                    navigate(&list, NavigateOptions::default())
                })
            }
        };
        let tag = {
            let target = target.clone();
            move |_| tagging.set(Some(target.clone()))
        };
        let push = {
            let target = target.clone();
            move |_: ev::MouseEvent| registry_job.set(Some(RegistryJob::Push(target.clone())))
        };
        Some(view! {
            <div class="page-head">
                <div class="image-head">
                    <div class="title-row">
                        <h1 class="title-name mono">{name.clone()}</h1>
                        {dangling.then(|| view! { <span class="badge badge-amber">"dangling"</span> })}
                    </div>
                    <div class="image-facts">
                        {(tags.len() > 1).then(|| tag_chips(&ep_now, &id, &tags, false))}
                        <ShortId id=id.clone()/>
                        <span class="muted">{bytes(size)}</span>
                        <span class="muted">"created "<RelativeTime secs=created never="at an unknown time"/></span>
                    </div>
                </div>
                <div class="page-actions">
                    <a class="btn btn-primary" href=run_path(&ep_now, &run_ref) aria-label=format!("Run a container from {name}")>
                        {Icon::Play.view()}
                        <span>"Run"</span>
                    </a>
                    <button type="button" class="btn" aria-label=format!("Tag {name}") on:click=tag>
                        {line_icon(TAG_ICON)}
                        <span>"Tag"</span>
                    </button>
                    <button type="button" class="btn" aria-label=format!("Push {name}") on:click=push>
                        {line_icon(PUSH_ICON)}
                        <span>"Push"</span>
                    </button>
                    <a
                        class="btn"
                        href=api::image_export_url(&ep_now, &export_name(&id, &tags))
                        download=""
                        aria-label=format!("Export {name}")
                        title="Download as a tar (docker save)"
                    >
                        {line_icon(DOWNLOAD_ICON)}
                        <span>"Export"</span>
                    </a>
                    <button type="button" class="btn btn-danger-outline" aria-label=format!("Remove {name}") on:click=remove>
                        {Icon::Trash.view()}
                        <span>"Remove"</span>
                    </button>
                    <button type="button" class="btn-icon" aria-label="Reload" title="Reload" on:click=move |_| detail.reload()>
                        {Icon::Refresh.view()}
                    </button>
                </div>
            </div>
        })
    }
}

fn row(label: &'static str, value: impl IntoView + 'static) -> impl IntoView {
    view! {
        <div class="kv-row">
            <dt>{label}</dt>
            <dd>{value}</dd>
        </div>
    }
}

fn dash_if_empty(s: &str) -> AnyView {
    if s.is_empty() {
        view! { <span class="muted">"—"</span> }.into_any()
    } else {
        view! { <span class="mono break">{s.to_owned()}</span> }.into_any()
    }
}

/// An exec-form argument list as a shell line would read.
fn args_line(args: &[String]) -> String {
    args.iter()
        .map(|arg| {
            if arg.is_empty() || arg.contains(char::is_whitespace) {
                format!("\"{}\"", arg.replace('"', "\\\""))
            } else {
                arg.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn overview(ep: &str, d: &ImageDetail) -> impl IntoView {
    let created = parse_time(&d.created);
    let created_view = match created {
        Some(secs) => view! {
            <span><RelativeTime secs=Some(secs)/><span class="muted">{format!(" · {}", exact(secs))}</span></span>
        }
        .into_any(),
        None => view! { <span class="muted">"—"</span> }.into_any(),
    };
    let config = d.config.clone();
    let env = config.env.clone();
    let labels = config.labels.clone();
    let platform = [d.os.as_str(), d.architecture.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    let users = d.containers.clone();
    let digests = d.repo_digests.clone();
    let ep = ep.to_owned();
    let tags_view = if d.repo_tags.iter().all(|t| t.contains("<none>")) {
        view! { <span class="muted">"none (dangling)"</span> }.into_any()
    } else {
        tag_chips(&ep, &d.id, &d.repo_tags, false).into_any()
    };

    view! {
        <div class="grid-2">
            <section class="card">
                <h2 class="card-title">"Image"</h2>
                <dl class="kv">
                    {row("Id", view! { <ShortId id=d.id.clone()/> })}
                    {row("Tags", tags_view)}
                    {(!digests.is_empty()).then(|| row("Digests", view! {
                        <span class="mono break">{digests.join("\n")}</span>
                    }))}
                    {row("Created", created_view)}
                    {row("Size", view! { <span>{bytes(d.size)}</span> })}
                    {row("Platform", dash_if_empty(&platform))}
                    {(!d.author.is_empty()).then(|| row("Author", view! { <span class="break">{d.author.clone()}</span> }))}
                    {(!d.comment.is_empty()).then(|| row("Comment", view! { <span class="break">{d.comment.clone()}</span> }))}
                    {row("Used by", if users.is_empty() {
                        view! { <span class="muted">"no container"</span> }.into_any()
                    } else {
                        view! {
                            <ul class="users">
                                {users.into_iter().map(|c| {
                                    let href = endpoint_path(&ep, &format!("containers/{}", String::from(js_sys::encode_uri_component(&c))));
                                    view! { <li><a href=href>{c}</a></li> }
                                }).collect_view()}
                            </ul>
                        }
                        .into_any()
                    })}
                </dl>
            </section>
            <section class="card">
                <h2 class="card-title">"Config"</h2>
                <dl class="kv">
                    {row("Command", dash_if_empty(&args_line(&config.cmd)))}
                    {row("Entrypoint", dash_if_empty(&args_line(&config.entrypoint)))}
                    {row("Working dir", dash_if_empty(&config.workdir))}
                    {row("User", dash_if_empty(&config.user))}
                    {row("Exposed ports", if config.exposed_ports.is_empty() {
                        view! { <span class="muted">"—"</span> }.into_any()
                    } else {
                        view! {
                            <span class="ports">
                                {config.exposed_ports.iter().map(|p| view! { <span class="port">{p.clone()}</span> }).collect_view()}
                            </span>
                        }
                        .into_any()
                    })}
                    {(!config.volumes.is_empty()).then(|| row("Volumes", view! {
                        <span class="mono break">{config.volumes.join(", ")}</span>
                    }))}
                    {config.stop_signal.clone().map(|s| row("Stop signal", view! { <span class="mono">{s}</span> }))}
                </dl>
            </section>
        </div>
        <EnvCard env=env/>
        <LabelsCard labels=labels/>
    }
}

fn layers(ep: &str, d: &ImageDetail) -> impl IntoView {
    let steps = d.layers.clone();
    let with_data = steps.iter().filter(|l| !l.empty).count();
    let shared = steps.iter().filter(|l| !l.shared_with.is_empty()).count();
    let ep = ep.to_owned();
    view! {
        <section class="card">
            <div class="card-head">
                <h2 class="card-title">"Layers"</h2>
                <span class="muted">
                    {format!(
                        "{} steps · {} layers · {} shared with other images",
                        steps.len(),
                        with_data,
                        shared
                    )}
                </span>
            </div>
            <p class="card-sub">"Base image first, as a Dockerfile reads. Steps that only change settings add no layer."</p>
            {if steps.is_empty() {
                view! { <p class="muted">"The engine keeps no history for this image."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="table table-cards table-layers">
                            <thead>
                                <tr>
                                    <th scope="col" class="num">"#"</th>
                                    <th scope="col">"Instruction"</th>
                                    <th scope="col" class="num">"Size"</th>
                                    <th scope="col">"Created"</th>
                                    <th scope="col">"Shared"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {steps
                                    .into_iter()
                                    .enumerate()
                                    .map(|(i, l)| {
                                        let text = instruction_of(&l);
                                        let shared = l.shared_with.clone();
                                        let shared_title = format!("Stored once for this image and {}", shared.join(", "));
                                        let ep = ep.clone();
                                        let is_shared = (!shared.is_empty()).then_some("true");
                                        view! {
                                            <tr class="layer" class:layer-empty=l.empty data-shared=is_shared>
                                                <td class="num muted" data-label="#">{(i + 1).to_string()}</td>
                                                <td class="cell-primary layer-instruction" data-label="Instruction">
                                                    <code class="instruction" title=l.created_by.clone()>{text}</code>
                                                    {(!l.comment.is_empty()).then(|| view! { <span class="muted layer-comment">{l.comment.clone()}</span> })}
                                                </td>
                                                <td class="num" data-label="Size">
                                                    {if l.empty {
                                                        view! { <span class="muted" title="Changes settings only: adds no layer">"—"</span> }.into_any()
                                                    } else {
                                                        view! { <span>{bytes(l.size)}</span> }.into_any()
                                                    }}
                                                </td>
                                                <td class="cell-nowrap" data-label="Created">
                                                    <RelativeTime secs=(l.created > 0).then_some(l.created as f64) never="—"/>
                                                </td>
                                                <td data-label="Shared">
                                                    {if shared.is_empty() {
                                                        ().into_any()
                                                    } else {
                                                        view! {
                                                            <span class="shared">
                                                                <span class="badge badge-blue" title=shared_title>"shared"</span>
                                                                <span class="chips">
                                                                    {shared.into_iter().map(|name| {
                                                                        let href = image_path(&ep, &name);
                                                                        view! { <a class="chip mono" href=href>{name}</a> }
                                                                    }).collect_view()}
                                                                </span>
                                                            </span>
                                                        }
                                                        .into_any()
                                                    }}
                                                </td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
        </section>
    }
}
