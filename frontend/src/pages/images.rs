//! `/endpoints/{ep}/images`: the endpoint's images with their tags, size,
//! age and the containers that use each; tag, push, export and remove on
//! each row; pull, build, import and prune for the list. The dialogs (tag,
//! pull/push with per-layer progress) and the remove flow are shared with
//! the image page.

use std::cmp::Ordering;

use leptos::{ev, html, prelude::*, task::spawn_local};
use leptos_router::hooks::use_params_map;
use protocol::{ImageRef, ImageSummary, LoadedImage};

use crate::api;
use crate::components::{
    copy::{short_id, ShortId},
    format::{bytes, RelativeTime},
    icons::Icon,
    layout::{endpoint_path, line_icon},
    modal::ConfirmRequest,
    progress::{LayerProgress, Outcome, ProgressLog, Transfer, UploadProgress},
    remote::{EmptyState, Loaded, RefreshButton, Remote},
    table::{Sort, SortHeader},
    upload::{file_name, first_file},
};
use crate::state::{use_app, AppState};

/// Line icons (after Feather's, MIT), drawn like [`Icon`]'s.
pub const TAG_ICON: &str =
    "M20.59 13.41l-7.17 7.17a2 2 0 0 1-2.83 0L2 12V2h10l8.59 8.59a2 2 0 0 1 0 2.82zM7 7h.01";
/// A cloud with an arrow up: push.
pub const PUSH_ICON: &str =
    "M16 16l-4-4-4 4M12 12v9M20.39 18.39A5 5 0 0 0 18 9h-1.26A8 8 0 1 0 3 16.3";
/// A cloud with an arrow down: pull.
pub const PULL_ICON: &str =
    "M8 17l4 4 4-4M12 12v9M20.88 18.09A5 5 0 0 0 18 9h-1.26A8 8 0 1 0 3 16.29";
/// A tray with an arrow down: export (download).
pub const DOWNLOAD_ICON: &str = "M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3";
/// A tray with an arrow up: import (upload).
pub const UPLOAD_ICON: &str = "M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M17 8l-5-5-5 5M12 3v12";
/// A wrench: build.
pub const BUILD_ICON: &str = "M14.7 6.3a1 1 0 0 0 0 1.4l1.6 1.6a1 1 0 0 0 1.4 0l3.77-3.77a6 6 0 0 1-7.94 7.94l-6.91 6.91a2.12 2.12 0 0 1-3-3l6.91-6.91a6 6 0 0 1 7.94-7.94l-3.76 3.76z";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Tags,
    Size,
    Created,
}

/// An image a dialog or a confirmation is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTarget {
    /// `sha256:...`.
    pub id: String,
    /// What people call it: its first tag, or its short id.
    pub name: String,
    pub tags: Vec<String>,
}

impl ImageTarget {
    pub fn new(id: &str, tags: &[String]) -> Self {
        ImageTarget {
            id: id.to_owned(),
            name: display_name(id, tags),
            tags: tags.to_vec(),
        }
    }
}

/// The first real tag, or the short id.
pub fn display_name(id: &str, tags: &[String]) -> String {
    tags.iter()
        .find(|t| !t.contains("<none>"))
        .cloned()
        .unwrap_or_else(|| short_id(id).to_owned())
}

/// The image page of an image (by its bare hex id or a reference). Dots
/// are escaped too: the server answers 404 to a path whose last segment
/// has one (it takes it for a file), and registry hosts have dots.
pub fn image_path(ep: &str, id: &str) -> String {
    let bare = id.strip_prefix("sha256:").unwrap_or(id);
    let segment = String::from(js_sys::encode_uri_component(bare)).replace('.', "%2E");
    endpoint_path(ep, &format!("images/{segment}"))
}

/// What an export names: the first tag, so that the archive brings it back
/// on import (`docker save` by id writes no tag), else the id.
pub fn export_name(id: &str, tags: &[String]) -> String {
    tags.iter()
        .find(|t| !t.contains("<none>"))
        .cloned()
        .unwrap_or_else(|| id.to_owned())
}

/// The run page with the image filled in.
pub fn run_path(ep: &str, reference: &str) -> String {
    endpoint_path(
        ep,
        &format!(
            "containers/new?image={}",
            String::from(js_sys::encode_uri_component(reference))
        ),
    )
}

/// "1 image" / "3 images".
fn images_count(n: usize) -> String {
    if n == 1 {
        "1 image".to_owned()
    } else {
        format!("{n} images")
    }
}

fn matches_filter(i: &ImageSummary, needle: &str) -> bool {
    needle.is_empty()
        || i.repo_tags
            .iter()
            .any(|t| t.to_lowercase().contains(needle))
        || i.id
            .strip_prefix("sha256:")
            .unwrap_or(&i.id)
            .starts_with(needle)
        || i.containers
            .iter()
            .any(|c| c.to_lowercase().contains(needle))
        || (i.dangling && "dangling".contains(needle))
}

fn compare(column: Column, a: &ImageSummary, b: &ImageSummary) -> Ordering {
    let first = |i: &ImageSummary| (i.dangling, i.repo_tags.first().cloned().unwrap_or_default());
    let by_tags = || first(a).cmp(&first(b));
    match column {
        Column::Tags => by_tags(),
        Column::Size => a.size.cmp(&b.size).then_with(by_tags),
        Column::Created => a.created.cmp(&b.created).then_with(by_tags),
    }
}

/// Opens and closes a native `<dialog>` with `open`.
pub fn sync_dialog(dialog: NodeRef<html::Dialog>, open: impl Fn() -> bool + 'static) {
    Effect::new(move |_| {
        let wanted = open();
        if let Some(dialog) = dialog.get() {
            if wanted && !dialog.open() {
                let _ = dialog.show_modal();
            } else if !wanted && dialog.open() {
                dialog.close();
            }
        }
    });
}

/// The 409 of a removal in the page's words: who uses the image, or which
/// tags it has.
fn conflict_text(detail: &str, name: &str) -> String {
    if let Some((_, rest)) = detail.split_once(" is used by ") {
        let who = rest.split(": ").next().unwrap_or(rest);
        return format!("Image {name} is used by {who}.");
    }
    if let Some((_, rest)) = detail.split_once(" has several tags ") {
        let tags = rest.split(": ").next().unwrap_or(rest);
        return format!("Image {name} has several tags {tags}.");
    }
    detail.to_owned()
}

/// Asks first ("Remove image web:1.0?"), then removes; when the engine
/// refuses (409: containers use it, or it has several tags) it says why and
/// offers "Remove anyway" (force).
pub fn ask_remove_image(
    app: AppState,
    ep: String,
    target: ImageTarget,
    users: Vec<String>,
    on_removed: impl Fn() + Clone + Send + Sync + 'static,
) {
    let name = target.name.clone();
    let title = format!("Remove image {name}?");
    let mut body = if target.tags.len() > 1 {
        format!(
            "Its tags {} go with it, and the layers no other image uses are deleted.",
            target.tags.join(", ")
        )
    } else {
        format!("{name} is deleted with the layers no other image uses.")
    };
    if !users.is_empty() {
        body.push_str(&format!(
            " It is used by {}: the engine will refuse unless you remove it anyway.",
            users.join(", ")
        ));
    }
    app.ask(ConfirmRequest::new(title, body, "Remove", move || {
        let (ep, id, name, on_removed) = (
            ep.clone(),
            target.id.clone(),
            name.clone(),
            on_removed.clone(),
        );
        spawn_local(async move {
            match api::remove_image(&ep, &id, false).await {
                Ok(_) => {
                    app.toasts.success(format!("Removed image {name}"));
                    on_removed();
                }
                Err(e) if e.status == 409 => {
                    let body = format!(
                        "{} “Remove anyway” forces the removal.",
                        conflict_text(&e.detail, &name)
                    );
                    let title = format!("Image {name} is in use");
                    app.ask(ConfirmRequest::new(
                        title,
                        body,
                        "Remove anyway",
                        move || {
                            let (ep, id, name, on_removed) =
                                (ep.clone(), id.clone(), name.clone(), on_removed.clone());
                            spawn_local(async move {
                                match api::remove_image(&ep, &id, true).await {
                                    Ok(_) => {
                                        app.toasts.success(format!("Removed image {name}"));
                                        on_removed();
                                    }
                                    Err(e) => app.toasts.error(format!(
                                        "Could not remove image {name}: {}",
                                        e.message()
                                    )),
                                }
                            });
                        },
                    ));
                }
                Err(e) => app
                    .toasts
                    .error(format!("Could not remove image {name}: {}", e.message())),
            }
        });
    }));
}

/// The chips of an image's tags; `<none>` and a "dangling" badge for an
/// untagged one. Each chip links to the image page.
pub fn tag_chips(ep: &str, id: &str, tags: &[String], dangling: bool) -> impl IntoView {
    let href = image_path(ep, id);
    let real: Vec<String> = tags
        .iter()
        .filter(|t| !t.contains("<none>"))
        .cloned()
        .collect();
    view! {
        <span class="chips">
            {if real.is_empty() {
                view! { <a class="chip chip-none mono" href=href.clone()>"<none>"</a> }.into_any()
            } else {
                real.into_iter()
                    .map(|t| view! { <a class="chip mono" href=href.clone() title=t.clone()>{t.clone()}</a> })
                    .collect_view()
                    .into_any()
            }}
            {dangling.then(|| view! {
                <span class="badge badge-amber" title="No tag: a leftover of a rebuild or of pulling a newer version">"dangling"</span>
            })}
        </span>
    }
}

#[component]
pub fn ImagesPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    app.search.set(String::new());

    let list = Remote::new(move || {
        let ep = ep.get();
        async move { api::images(&ep).await }
    });
    crate::pages::reload_on_changes(list, &["image", "container"]);
    let sort = Sort::new(Column::Created, false);
    let tagging = RwSignal::new(None::<ImageTarget>);
    let registry_job = RwSignal::new(None::<RegistryJob>);
    let pruning = RwSignal::new(false);
    let importing = RwSignal::new(false);
    let import_sent = RwSignal::new(None::<crate::xhr::Sent>);
    let imported = RwSignal::new(None::<Vec<LoadedImage>>);
    let file_input = NodeRef::<html::Input>::new();

    let rows = sort.rows(list, app.search, matches_filter, compare);
    // (total, dangling, unused)
    let counts = Memo::new(move |_| {
        list.value.with(|v| match v {
            Some(Ok(all)) => Some((
                all.len(),
                all.iter().filter(|i| i.dangling).count(),
                all.iter().filter(|i| i.containers.is_empty()).count(),
            )),
            _ => None,
        })
    });
    let reload = move || list.reload();

    let pick_archive = move |_| {
        if let Some(input) = file_input.get_untracked() {
            input.click();
        }
    };
    let on_archive = move |ev: ev::Event| {
        let Some(input) = file_input.get_untracked() else {
            return;
        };
        let Some(file) = first_file(&input) else {
            return;
        };
        let name = file_name(&file);
        // The same file can be picked again later.
        input.set_value("");
        let ep = ep.get_untracked();
        ev.prevent_default();
        importing.set(true);
        imported.set(None);
        import_sent.set(None);
        spawn_local(async move {
            let on_sent = move |s| {
                import_sent.try_set(Some(s));
            };
            match api::import_images(&ep, &file, on_sent).await {
                Ok(report) => {
                    let names: Vec<String> = report
                        .images
                        .iter()
                        .map(|i| display_name(&i.id, &i.repo_tags))
                        .collect();
                    app.toasts.success(if names.is_empty() {
                        format!("Imported {name}")
                    } else {
                        format!("Imported {}", names.join(", "))
                    });
                    imported.set(Some(report.images));
                    list.reload();
                }
                Err(e) => app
                    .toasts
                    .error(format!("Could not import {name}: {}", e.message())),
            }
            importing.set(false);
        });
    };

    let row = move |i: ImageSummary| {
        let ep_now = ep.get_untracked();
        let target = ImageTarget::new(&i.id, &i.repo_tags);
        let name = target.name.clone();
        let tag = {
            let target = target.clone();
            move |_| tagging.set(Some(target.clone()))
        };
        let push = {
            let target = target.clone();
            move |_| registry_job.set(Some(RegistryJob::Push(target.clone())))
        };
        let remove = {
            let (ep, target, users) = (ep_now.clone(), target.clone(), i.containers.clone());
            move |_| ask_remove_image(app, ep.clone(), target.clone(), users.clone(), reload)
        };
        let users = i.containers.clone();
        view! {
            <tr data-image=i.id.clone()>
                <td class="cell-primary" data-label="Image">
                    {tag_chips(&ep_now, &i.id, &i.repo_tags, i.dangling)}
                </td>
                <td data-label="Id"><ShortId id=i.id.clone()/></td>
                <td data-label="Size" class="num">{bytes(i.size)}</td>
                <td data-label="Created" class="cell-nowrap">
                    <RelativeTime secs=Some(i.created as f64)/>
                </td>
                <td data-label="Used by">
                    {used_by(&ep_now, users)}
                </td>
                <td class="cell-actions">
                    <div class="row-actions">
                        <button type="button" class="btn-icon" aria-label=format!("Tag {name}") title="Tag" on:click=tag>
                            {line_icon(TAG_ICON)}
                        </button>
                        <button type="button" class="btn-icon" aria-label=format!("Push {name}") title="Push" on:click=push>
                            {line_icon(PUSH_ICON)}
                        </button>
                        <a
                            class="btn-icon"
                            href=api::image_export_url(&ep_now, &export_name(&i.id, &i.repo_tags))
                            download=""
                            aria-label=format!("Export {name}")
                            title="Export as a tar (docker save)"
                        >
                            {line_icon(DOWNLOAD_ICON)}
                        </a>
                        <button
                            type="button"
                            class="btn-icon btn-icon-danger"
                            aria-label=format!("Remove {name}")
                            title="Remove"
                            on:click=remove
                        >
                            {Icon::Trash.view()}
                        </button>
                    </div>
                </td>
            </tr>
        }
    };

    let imported_banner = move || {
        imported.get().filter(|list| !list.is_empty()).map(|images| {
            let ep_now = ep.get_untracked();
            view! {
                <div class="banner banner-success" role="status">
                    {Icon::Check.view()}
                    <div class="banner-text">
                        <strong>"Imported"</strong>
                        <p class="chips">
                            {images.into_iter().map(|i| {
                                let name = display_name(&i.id, &i.repo_tags);
                                view! { <a class="chip mono" href=image_path(&ep_now, &i.id)>{name}</a> }
                            }).collect_view()}
                        </p>
                    </div>
                    <button type="button" class="btn-icon btn-ghost" aria-label="Dismiss" on:click=move |_| imported.set(None)>
                        {Icon::Close.view()}
                    </button>
                </div>
            }
        })
    };

    view! {
        <div class="page">
            <div class="page-head">
                <div>
                    <h1>"Images"</h1>
                    <p class="page-sub">
                        {move || match counts.get() {
                            Some((total, dangling, unused)) => {
                                format!("{total} total · {dangling} dangling · {unused} unused")
                            }
                            None => "\u{a0}".to_owned(),
                        }}
                    </p>
                </div>
                <div class="page-actions">
                    <RefreshButton list=list/>
                    <input
                        node_ref=file_input
                        id="image-import-file"
                        type="file"
                        accept=".tar,.tar.gz,.tgz,application/x-tar,application/gzip"
                        class="sr-only"
                        tabindex="-1"
                        aria-hidden="true"
                        on:change=on_archive
                    />
                    <button
                        type="button"
                        class="btn"
                        class:is-loading=importing
                        disabled=importing
                        title="Load the images of a docker save archive"
                        on:click=pick_archive
                    >
                        {line_icon(UPLOAD_ICON)}
                        <span>{move || if importing.get() { "Importing…" } else { "Import" }}</span>
                    </button>
                    <button type="button" class="btn btn-danger-outline" on:click=move |_| pruning.set(true)>
                        {Icon::Trash.view()}
                        <span>"Prune"</span>
                    </button>
                    <a class="btn" href=move || endpoint_path(&ep.get(), "images/build")>
                        {line_icon(BUILD_ICON)}
                        <span>"Build image"</span>
                    </a>
                    <button type="button" class="btn btn-primary" on:click=move |_| registry_job.set(Some(RegistryJob::Pull))>
                        {line_icon(PULL_ICON)}
                        <span>"Pull image"</span>
                    </button>
                </div>
            </div>
            <Show when=move || importing.get()>
                <section class="card import-progress" aria-label="Import">
                    <UploadProgress sent=import_sent what="the archive"/>
                    {move || import_sent.get().is_some_and(|(sent, total)| sent >= total).then(|| view! {
                        <p class="muted">"The engine is loading the images…"</p>
                    })}
                </section>
            </Show>
            {imported_banner}
            <Loaded remote=list what="images" endpoint=ep>
                <div class="table-wrap">
                    <table
                        class="table table-cards table-images"
                        style:display=move || if counts.get().is_some_and(|(total, _, _)| total > 0) { "" } else { "none" }
                    >
                        <thead>
                            <tr>
                                <SortHeader sort=sort key=Column::Tags label="Repository:tag"/>
                                <th scope="col">"Id"</th>
                                <SortHeader sort=sort key=Column::Size label="Size" class="num"/>
                                <SortHeader sort=sort key=Column::Created label="Created"/>
                                <th scope="col">"Used by"</th>
                                <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || rows.get()
                                key=|i| (i.id.clone(), i.repo_tags.clone(), i.containers.clone(), i.dangling)
                                children=row
                            />
                        </tbody>
                    </table>
                    {move || {
                        let total = counts.get().map_or(0, |(total, _, _)| total);
                        if total == 0 {
                            view! {
                                <EmptyState
                                    title="No images on this host yet"
                                    hint="Pull one from a registry, build one from a Dockerfile, or import a docker save archive."
                                >
                                    <div class="empty-actions">
                                        <button type="button" class="btn btn-primary" on:click=move |_| registry_job.set(Some(RegistryJob::Pull))>
                                            {line_icon(PULL_ICON)}
                                            <span>"Pull image"</span>
                                        </button>
                                        <a class="btn" href=endpoint_path(&ep.get(), "images/build")>
                                            {line_icon(BUILD_ICON)}
                                            <span>"Build image"</span>
                                        </a>
                                    </div>
                                </EmptyState>
                            }
                            .into_any()
                        } else if rows.with(Vec::is_empty) {
                            view! {
                                <EmptyState title=format!("No images match “{}”", app.search.get().trim())>
                                    <button type="button" class="btn" on:click=move |_| app.search.set(String::new())>
                                        "Clear filter"
                                    </button>
                                </EmptyState>
                            }
                            .into_any()
                        } else {
                            ().into_any()
                        }
                    }}
                </div>
            </Loaded>
            <TagDialog target=tagging ep=ep on_done=move || reload()/>
            <RegistryDialog job=registry_job ep=ep on_done=move || reload()/>
            <PruneDialog open=pruning ep=ep counts=counts on_done=move || reload()/>
        </div>
    }
}

/// The containers that use an image, as links: the first few, then how
/// many more (all of them on hover).
fn used_by(ep: &str, users: Vec<String>) -> AnyView {
    const SHOWN: usize = 3;
    if users.is_empty() {
        return view! { <span class="muted">"unused"</span> }.into_any();
    }
    let more = users.len().saturating_sub(SHOWN);
    let all = users.join(", ");
    view! {
        <ul class="users">
            {users.into_iter().take(SHOWN).map(|c| {
                let href = endpoint_path(ep, &format!("containers/{}", String::from(js_sys::encode_uri_component(&c))));
                view! { <li><a href=href>{c}</a></li> }
            }).collect_view()}
            {(more > 0).then(|| view! { <li class="muted" title=all>{format!("and {more} more")}</li> })}
        </ul>
    }
    .into_any()
}

// ------------------------------------------------------------ files

// ------------------------------------------------------------ dialogs

/// "New tag" for an image.
#[component]
pub fn TagDialog(
    target: RwSignal<Option<ImageTarget>>,
    #[prop(into)] ep: Signal<String>,
    on_done: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let app = use_app();
    let dialog = NodeRef::<html::Dialog>::new();
    let value = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    sync_dialog(dialog, move || target.with(Option::is_some));
    Effect::new(move |_| {
        if let Some(t) = target.get() {
            // The repository of its first tag, ready for a new tag.
            let repository = t
                .tags
                .iter()
                .find_map(|tag| ImageRef::parse(tag).ok())
                .map(|r| format!("{}:", r.repository()))
                .unwrap_or_default();
            value.set(repository);
            error.set(None);
        }
    });
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let Some(current) = target.get_untracked() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        let reference = value.get_untracked().trim().to_owned();
        if let Err(e) = ImageRef::parse(&reference) {
            error.set(Some(e));
            return;
        }
        let ep = ep.get_untracked();
        let on_done = on_done.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = api::tag_image(&ep, &current.id, &reference).await;
            busy.set(false);
            match result {
                Ok(tagged) => {
                    app.toasts
                        .success(format!("Tagged {} as {}", current.name, tagged.reference));
                    target.set(None);
                    on_done();
                }
                Err(e) => error.set(Some(e.message())),
            }
        });
    };
    view! {
        <dialog node_ref=dialog class="modal" aria-labelledby="tag-title" on:close=move |_| target.set(None)>
            <form class="form" on:submit=submit novalidate>
                <h2 id="tag-title" class="modal-title">
                    {move || format!("Tag {}", target.with(|t| t.as_ref().map(|t| t.name.clone()).unwrap_or_default()))}
                </h2>
                <div class="field">
                    <label for="tag-reference">"New tag"</label>
                    <input
                        id="tag-reference"
                        class="input mono"
                        type="text"
                        required
                        autofocus
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="app:1.0 or registry.example.com/team/app:1.0"
                        aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                        aria-describedby="tag-error tag-hint"
                        bind:value=value
                    />
                    <p class="field-hint" id="tag-hint">"A name and an optional :tag (latest when left out). The image keeps its other tags."</p>
                    <p class="field-error" id="tag-error" role="alert">{move || error.get()}</p>
                </div>
                <div class="modal-actions">
                    <button type="button" class="btn" on:click=move |_| target.set(None)>"Cancel"</button>
                    <button type="submit" class="btn btn-primary" disabled=busy>"Tag"</button>
                </div>
            </form>
        </dialog>
    }
}

/// A pull, or a push of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryJob {
    Pull,
    Push(ImageTarget),
}

/// The reference a push suggests: a tag naming a registry, else the first.
fn push_suggestion(target: &ImageTarget) -> String {
    target
        .tags
        .iter()
        .find(|t| ImageRef::parse(t).is_ok_and(|r| r.domain.is_some()))
        .or_else(|| target.tags.first())
        .cloned()
        .unwrap_or_default()
}

/// "Pull image" and "Push as": a reference, then per-layer progress. Closing
/// the dialog while it works leaves it working; a toast says how it ended.
#[component]
pub fn RegistryDialog(
    job: RwSignal<Option<RegistryJob>>,
    #[prop(into)] ep: Signal<String>,
    on_done: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let app = use_app();
    let dialog = NodeRef::<html::Dialog>::new();
    let value = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let transfer = Transfer::new();
    // The job being shown (kept while the dialog is closed and it runs).
    let shown = RwSignal::new(None::<RegistryJob>);
    let started = RwSignal::new(false);
    sync_dialog(dialog, move || job.with(Option::is_some));
    Effect::new(move |_| {
        let Some(wanted) = job.get() else { return };
        // Reopened on the job that still runs: show its progress.
        if transfer.running.get_untracked() && shown.get_untracked().as_ref() == Some(&wanted) {
            return;
        }
        if transfer.running.get_untracked() {
            // Another job while one runs: it goes on, unobserved here.
            transfer.stop();
        }
        transfer.reset();
        started.set(false);
        error.set(None);
        value.set(match &wanted {
            RegistryJob::Pull => String::new(),
            RegistryJob::Push(t) => push_suggestion(t),
        });
        shown.set(Some(wanted));
    });
    on_cleanup(move || transfer.stop());
    let is_push = move || shown.with(|s| matches!(s, Some(RegistryJob::Push(_))));

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let Some(current) = shown.get_untracked() else {
            return;
        };
        if transfer.running.get_untracked() {
            return;
        }
        let reference = value.get_untracked().trim().to_owned();
        if let Err(e) = ImageRef::parse(&reference) {
            error.set(Some(e));
            return;
        }
        error.set(None);
        started.set(true);
        let ep_now = ep.get_untracked();
        let on_done = on_done.clone();
        match current {
            RegistryJob::Pull => {
                let r = reference.clone();
                let ep_for = ep_now.clone();
                transfer.start(
                    async move { api::pull_image(&ep_for, &r).await },
                    move |outcome| {
                        match outcome {
                            Outcome::Done { .. } => {
                                app.toasts.success(format!("Pulled {reference}"))
                            }
                            Outcome::Failed { message, .. } => app
                                .toasts
                                .error(format!("Could not pull {reference}: {message}")),
                        }
                        on_done();
                    },
                );
            }
            RegistryJob::Push(target) => {
                let r = reference.clone();
                let id = target.id.clone();
                transfer.start(
                    async move { api::push_image(&ep_now, &id, &r).await },
                    move |outcome| {
                        match outcome {
                            Outcome::Done { .. } => {
                                app.toasts.success(format!("Pushed {reference}"))
                            }
                            Outcome::Failed { message, .. } => app
                                .toasts
                                .error(format!("Could not push {reference}: {message}")),
                        }
                        on_done();
                    },
                );
            }
        }
    };
    let again = move |_| {
        transfer.reset();
        started.set(false);
    };

    let result = move || {
        transfer.outcome.get().map(|outcome| match outcome {
            Outcome::Done { image_id, reference, digest } => {
                let ep_now = ep.get_untracked();
                let reference = reference.unwrap_or_else(|| value.get_untracked());
                let verb = if is_push() { "Pushed" } else { "Pulled" };
                view! {
                    <div class="banner banner-success transfer-result" role="status" data-outcome="done">
                        {Icon::Check.view()}
                        <div class="banner-text">
                            <strong>{format!("{verb} {reference}")}</strong>
                            {digest.map(|d| view! { <p class="mono break">{d}</p> })}
                            <p>
                                <a href=image_path(&ep_now, &image_id) on:click=move |_| job.set(None)>"Open the image"</a>
                            </p>
                        </div>
                    </div>
                }
                .into_any()
            }
            Outcome::Failed { message, status, .. } => {
                let refused = status == Some(401);
                let admin = app.is_admin();
                view! {
                    <div class="banner banner-danger transfer-result" role="alert" data-outcome="error">
                        {Icon::Alert.view()}
                        <div class="banner-text">
                            <strong>{match (refused, is_push()) {
                                (true, _) => "The registry refused the login",
                                (false, true) => "The push failed",
                                (false, false) => "The pull failed",
                            }}</strong>
                            <p class="break">{message}</p>
                            {(refused && admin).then(|| view! {
                                <p><a href="/settings/registries" on:click=move |_| job.set(None)>"Check the login in Settings → Registries"</a></p>
                            })}
                            {(refused && !admin).then(|| view! {
                                <p>"An admin can add or fix the login in Settings → Registries."</p>
                            })}
                        </div>
                    </div>
                }
                .into_any()
            }
        })
    };

    view! {
        <dialog
            node_ref=dialog
            class="modal modal-wide"
            aria-labelledby="registry-job-title"
            on:close=move |_| job.set(None)
        >
            <form class="form" on:submit=submit novalidate>
                <h2 id="registry-job-title" class="modal-title">
                    {move || shown.with(|s| match s {
                        Some(RegistryJob::Push(t)) => format!("Push {}", t.name),
                        _ => "Pull image".to_owned(),
                    })}
                </h2>
                <div class="field">
                    <label for="registry-reference">{move || if is_push() { "Push as" } else { "Image" }}</label>
                    <input
                        id="registry-reference"
                        class="input mono"
                        type="text"
                        required
                        autofocus
                        autocomplete="off"
                        spellcheck="false"
                        placeholder=move || if is_push() { "registry.example.com:5000/team/app:1.0" } else { "nginx:alpine or registry.example.com:5000/team/app:1.0" }
                        readonly=move || started.get()
                        aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                        aria-describedby="registry-reference-error registry-reference-hint"
                        bind:value=value
                    />
                    <p class="field-hint" id="registry-reference-hint">
                        {move || if is_push() {
                            "The registry is the host before the first “/” (Docker Hub when there is none). berth tags the image so, then pushes it with the login it keeps for that registry."
                        } else {
                            "From Docker Hub unless the name starts with a registry host. berth uses the login it keeps for that registry, if any."
                        }}
                    </p>
                    <p class="field-error" id="registry-reference-error" role="alert">{move || error.get()}</p>
                </div>
                <Show when=move || started.get()>
                    <LayerProgress transfer=transfer/>
                    <details class="advanced transfer-details">
                        <summary>"Engine messages"</summary>
                        <ProgressLog transfer=transfer label="Engine messages" failed_step=Signal::derive(|| None)/>
                    </details>
                </Show>
                {result}
                <div class="modal-actions">
                    <button type="button" class="btn" on:click=move |_| job.set(None)>
                        {move || if transfer.running.get() { "Hide" } else { "Close" }}
                    </button>
                    {move || {
                        if transfer.outcome.with(|o| o.as_ref().is_some_and(|o| !o.is_done())) {
                            view! { <button type="button" class="btn" on:click=again>"Change and retry"</button> }.into_any()
                        } else {
                            ().into_any()
                        }
                    }}
                    <button
                        type="submit"
                        class="btn btn-primary"
                        class:is-loading=move || transfer.running.get()
                        disabled=move || started.get()
                    >
                        {move || if is_push() { line_icon(PUSH_ICON).into_any() } else { line_icon(PULL_ICON).into_any() }}
                        <span>{move || match (is_push(), transfer.running.get()) {
                            (true, true) => "Pushing…",
                            (true, false) => "Push",
                            (false, true) => "Pulling…",
                            (false, false) => "Pull",
                        }}</span>
                    </button>
                </div>
            </form>
        </dialog>
    }
}

/// Prune: dangling images only, or every image no container uses.
#[component]
fn PruneDialog(
    open: RwSignal<bool>,
    ep: Memo<String>,
    counts: Memo<Option<(usize, usize, usize)>>,
    on_done: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let app = use_app();
    let dialog = NodeRef::<html::Dialog>::new();
    let all = RwSignal::new(false);
    let busy = RwSignal::new(false);
    sync_dialog(dialog, move || open.get());
    Effect::new(move |_| {
        if open.get() {
            all.set(false);
        }
    });
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (ep, every) = (ep.get_untracked(), all.get_untracked());
        let on_done = on_done.clone();
        busy.set(true);
        spawn_local(async move {
            let result = api::prune_images(&ep, every).await;
            busy.set(false);
            open.set(false);
            match result {
                Ok(report) => {
                    let n = report.deleted.len();
                    if n == 0 && report.untagged.is_empty() {
                        app.toasts.success("Nothing to prune");
                    } else {
                        app.toasts.success(format!(
                            "Pruned images: {} deleted, {} reclaimed",
                            n,
                            bytes(report.space_reclaimed)
                        ));
                    }
                }
                Err(e) => app
                    .toasts
                    .error(format!("Could not prune images: {}", e.message())),
            }
            on_done();
        });
    };
    let choice = move |every: bool, title: String, hint: &'static str| {
        view! {
            <label class="choice">
                <input
                    type="radio"
                    name="prune-scope"
                    value=if every { "all" } else { "dangling" }
                    prop:checked=move || all.get() == every
                    on:change=move |_| all.set(every)
                />
                <span class="choice-text">
                    <strong>{title}</strong>
                    <span class="muted">{hint}</span>
                </span>
            </label>
        }
    };
    view! {
        <dialog node_ref=dialog class="modal" aria-labelledby="prune-title" on:close=move |_| open.set(false)>
            <form class="form" on:submit=submit>
                <h2 id="prune-title" class="modal-title">"Prune images?"</h2>
                <fieldset class="choices">
                    <legend class="sr-only">"What to remove"</legend>
                    {move || {
                        let (dangling, unused) = counts.get().map_or((0, 0), |(_, d, u)| (d, u));
                        view! {
                            {choice(false, format!("Dangling images ({})", dangling), "Untagged leftovers of rebuilds and pulls.")}
                            {choice(true, format!("All unused images ({})", images_count(unused)), "Every image no container uses, tagged or not: they must be pulled or built again.")}
                        }
                    }}
                </fieldset>
                <p class="modal-body">"This cannot be undone."</p>
                <div class="modal-actions">
                    <button type="button" class="btn" on:click=move |_| open.set(false)>"Cancel"</button>
                    <button type="submit" class="btn btn-danger" disabled=busy>"Prune"</button>
                </div>
            </form>
        </dialog>
    }
}
