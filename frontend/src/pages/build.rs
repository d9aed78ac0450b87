//! `/endpoints/{ep}/images/build`: build an image from a Dockerfile typed
//! here and a build context uploaded as files, a folder, or a tar/tar.gz
//! archive; with a tag, build args, no-cache and a target stage. Files and
//! folders are packed into a tar here, in the browser (the headers written
//! by `components::upload`, the file contents read by the browser as the upload goes);
//! an archive is sent as it is. The build log streams live under a
//! "Step n/m" bar; a failed build marks its failing step.

use std::collections::{BTreeMap, HashMap};

use leptos::{ev, html, prelude::*, task::spawn_local};
use leptos_router::hooks::use_params_map;
use protocol::{BuildOptions, ImageRef};
use wasm_bindgen::{JsCast, JsValue};

use crate::api;
use crate::components::upload::{
    self, files_of, picked_path, prop, ARCHIVE_ICON, FILE_ICON, FOLDER_ICON,
};
use crate::components::{
    format::bytes,
    icons::Icon,
    layout::{endpoint_path, line_icon},
    progress::{js_error, Outcome, ProgressLog, PromiseFuture, StepProgress, Transfer},
};
use crate::pages::images::{image_path, run_path, BUILD_ICON};
use crate::state::use_app;

/// Spaces a Tab key puts in the editor.
const INDENT: &str = "    ";

/// The Dockerfile the editor starts with; `{base}` is a local image when
/// there is one.
fn starter(base: &str) -> String {
    format!(
        "# Build steps, top to bottom. The files you add below are the build context.\n\
         FROM {base}\n\
         WORKDIR /app\n\
         COPY . /app/\n\
         ENV GREETING=\"built with berth\"\n\
         RUN echo \"$GREETING\" > /app/built.txt\n\
         CMD [\"sh\", \"-c\", \"cat /app/built.txt && ls /app\"]\n"
    )
}

/// A base image for the starter: a small local one when there is one.
fn pick_base(tags: &[String]) -> String {
    ["busybox", "alpine"]
        .iter()
        .find_map(|want| tags.iter().find(|t| t.contains(want)))
        .or_else(|| tags.first())
        .cloned()
        .unwrap_or_else(|| "busybox:latest".to_owned())
}

// ------------------------------------------------------------ files

/// A `File`'s text (a Dockerfile found among the picked files).
async fn file_text(file: &JsValue) -> Result<String, String> {
    let read: js_sys::Function = prop(file, "text")
        .dyn_into()
        .map_err(|_| "the browser cannot read files".to_owned())?;
    let promise: js_sys::Promise = read
        .call0(file)
        .map_err(|e| js_error(&e))?
        .dyn_into()
        .map_err(|_| "the browser cannot read files".to_owned())?;
    PromiseFuture::new(&promise)
        .await
        .map_err(|e| js_error(&e))?
        .as_string()
        .ok_or_else(|| "the file is not text".to_owned())
}

/// A file of the build context, as listed.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    id: u64,
    path: String,
    size: f64,
}

/// Whether `path` is the Dockerfile at the context's root.
fn is_root_dockerfile(path: &str) -> bool {
    path == "Dockerfile"
}

/// The tar of the context: the editor's Dockerfile, then the picked files
/// (a root Dockerfile among them gives way to the editor's).
fn pack(
    dockerfile: &str,
    entries: &[Entry],
    files: &HashMap<u64, JsValue>,
) -> Result<web_sys::Blob, String> {
    let picked: Vec<(String, JsValue)> = entries
        .iter()
        .filter(|e| !is_root_dockerfile(&e.path))
        .filter_map(|e| files.get(&e.id).map(|f| (e.path.clone(), f.clone())))
        .collect();
    upload::pack(&[("Dockerfile", dockerfile.as_bytes())], &picked)
}

// ------------------------------------------------------------ page

/// Where the build context comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Files and folders picked here, packed with the typed Dockerfile.
    Files,
    /// A tar or tar.gz sent as it is (it holds the Dockerfile).
    Archive,
}

/// A build argument row.
#[derive(Clone, Copy)]
struct ArgRow {
    id: u64,
    key: RwSignal<String>,
    value: RwSignal<String>,
}

/// The step number of "Step 3/7 : RUN make".
fn step_number(step: &str) -> Option<u32> {
    step.trim()
        .strip_prefix("Step ")?
        .split('/')
        .next()?
        .trim()
        .parse()
        .ok()
}

#[component]
pub fn BuildPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    app.search.set(String::new());
    app.crumb.set(Some("Build".into()));
    on_cleanup(move || app.crumb.set(None));

    let dockerfile = RwSignal::new(starter("busybox:latest"));
    let touched = StoredValue::new(false);
    let source = RwSignal::new(Source::Files);
    let entries = RwSignal::new(Vec::<Entry>::new());
    let files = StoredValue::new_local(HashMap::<u64, JsValue>::new());
    let archive = RwSignal::new(None::<(String, f64)>);
    let archive_file = StoredValue::new_local(None::<JsValue>);
    let next_id = StoredValue::new(0u64);
    // A Dockerfile found among the picked files, while the editor has
    // text of its own.
    let found = RwSignal::new(None::<String>);

    let tag = RwSignal::new(String::new());
    let tag_error = RwSignal::new(None::<String>);
    let args = RwSignal::new(Vec::<ArgRow>::new());
    let args_error = RwSignal::new(None::<String>);
    let nocache = RwSignal::new(false);
    let target = RwSignal::new(String::new());
    let dockerfile_path = RwSignal::new("Dockerfile".to_owned());
    let form_error = RwSignal::new(None::<String>);

    let transfer = Transfer::new();
    on_cleanup(move || transfer.stop());
    let started = RwSignal::new(false);
    // The tag of the build under way, for the result.
    let building = RwSignal::new(String::new());
    let progress_ref = NodeRef::<html::Section>::new();

    // The starter's base: a small local image, while the text is untouched.
    Effect::new(move |_| {
        let ep = ep.get();
        spawn_local(async move {
            if let Ok(tags) = api::image_tags(&ep).await {
                if !touched.get_value() {
                    dockerfile.try_set(starter(&pick_base(&tags)));
                }
            }
        });
    });

    let new_id = move || {
        let id = next_id.get_value();
        next_id.set_value(id + 1);
        id
    };

    let add_files = move |picked: Vec<JsValue>| {
        let mut added = Vec::new();
        for file in picked {
            let path = picked_path(&file, false);
            if path.is_empty() {
                continue;
            }
            if is_root_dockerfile(&path) {
                // The Dockerfile goes to the editor, not the list.
                let file = file.clone();
                spawn_local(async move {
                    match file_text(&file).await {
                        Ok(text) if !touched.get_value() => {
                            dockerfile.try_set(text);
                            touched.set_value(true);
                            app.toasts.success("Loaded your Dockerfile into the editor");
                        }
                        Ok(text) => {
                            found.try_set(Some(text));
                        }
                        Err(e) => app
                            .toasts
                            .error(format!("Could not read the Dockerfile: {e}")),
                    }
                });
                continue;
            }
            let id = new_id();
            let size = prop(&file, "size").as_f64().unwrap_or(0.0);
            files.update_value(|f| {
                f.insert(id, file);
            });
            added.push(Entry { id, path, size });
        }
        entries.update(|list| {
            for entry in added {
                // A file at the same path replaces the one there.
                if let Some(old) = list.iter().position(|e| e.path == entry.path) {
                    let old_id = list[old].id;
                    files.update_value(|f| {
                        f.remove(&old_id);
                    });
                    list.remove(old);
                }
                list.push(entry);
            }
            list.sort_by(|a, b| a.path.cmp(&b.path));
        });
    };

    let files_input = NodeRef::<html::Input>::new();
    let folder_input = NodeRef::<html::Input>::new();
    let archive_input = NodeRef::<html::Input>::new();
    let click = move |input: NodeRef<html::Input>| {
        move |_| {
            if let Some(input) = input.get_untracked() {
                input.click();
            }
        }
    };
    let on_picked = move |input: NodeRef<html::Input>| {
        move |_: ev::Event| {
            if let Some(el) = input.get_untracked() {
                add_files(files_of(&el));
                el.set_value("");
            }
        }
    };
    let on_archive = move |_: ev::Event| {
        let Some(el) = archive_input.get_untracked() else {
            return;
        };
        if let Some(file) = files_of(&el).into_iter().next() {
            let name = prop(&file, "name").as_string().unwrap_or_default();
            let size = prop(&file, "size").as_f64().unwrap_or(0.0);
            archive_file.set_value(Some(file));
            archive.set(Some((name, size)));
        }
        el.set_value("");
    };
    // `webkitdirectory` (pick a folder) is set on the element itself.
    Effect::new(move |_| {
        if let Some(el) = folder_input.get() {
            let _ = el.set_attribute("webkitdirectory", "");
            let _ = el.set_attribute("directory", "");
        }
    });

    let context_summary = move || {
        entries.with(|list| {
            let total: f64 = list.iter().map(|e| e.size).sum();
            (list.len(), total)
        })
    };

    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        if transfer.running.get_untracked() {
            return;
        }
        form_error.set(None);
        let wanted = tag.get_untracked().trim().to_owned();
        if wanted.is_empty() {
            tag_error.set(Some("Give the image a tag, such as myapp:1.0".into()));
            return;
        }
        if let Err(e) = ImageRef::parse(&wanted) {
            tag_error.set(Some(e));
            return;
        }
        tag_error.set(None);
        let mut build_args = BTreeMap::new();
        for row in args.get_untracked() {
            let (k, v) = (row.key.get_untracked(), row.value.get_untracked());
            let k = k.trim();
            if k.is_empty() {
                if v.trim().is_empty() {
                    continue;
                }
                args_error.set(Some(format!("The value “{v}” needs a name")));
                return;
            }
            build_args.insert(k.to_owned(), v);
        }
        args_error.set(None);
        let options = BuildOptions {
            tag: Some(wanted.clone()),
            dockerfile: match source.get_untracked() {
                Source::Files => None,
                Source::Archive => Some(dockerfile_path.get_untracked().trim().to_owned())
                    .filter(|p| !p.is_empty() && p != "Dockerfile"),
            },
            nocache: nocache.get_untracked(),
            target: Some(target.get_untracked().trim().to_owned()).filter(|t| !t.is_empty()),
            buildargs: (!build_args.is_empty())
                .then(|| serde_json::to_string(&build_args).unwrap_or_default()),
            pull: false,
            ..BuildOptions::default()
        };
        let body: JsValue = match source.get_untracked() {
            Source::Archive => match archive_file.get_value() {
                Some(file) => file,
                None => {
                    form_error.set(Some(
                        "Choose a tar or tar.gz archive of the build context".into(),
                    ));
                    return;
                }
            },
            Source::Files => {
                let text = dockerfile.get_untracked();
                if text.trim().is_empty() {
                    form_error.set(Some(
                        "The Dockerfile is empty: write its steps in the editor".into(),
                    ));
                    return;
                }
                let packed =
                    entries.with_untracked(|list| files.with_value(|f| pack(&text, list, f)));
                match packed {
                    Ok(blob) => blob.into(),
                    Err(e) => {
                        form_error.set(Some(format!("Could not pack the build context: {e}")));
                        return;
                    }
                }
            }
        };
        started.set(true);
        building.set(wanted.clone());
        let ep_now = ep.get_untracked();
        let on_end = move |outcome: Outcome| match outcome {
            Outcome::Done { .. } => app.toasts.success(format!("Built {wanted}")),
            Outcome::Failed { step, message, .. } => app.toasts.error(match step {
                Some(step) => format!("The build failed at {step}"),
                None => format!("The build failed: {message}"),
            }),
        };
        transfer.start(
            {
                let on_sent = transfer.on_sent();
                async move { api::build_image(&ep_now, &options, &body, on_sent).await }
            },
            on_end,
        );
        // Bring the progress into view.
        request_animation_frame(move || {
            if let Some(section) = progress_ref.get_untracked() {
                section.scroll_into_view();
            }
        });
    };

    let failed_step = Signal::derive(move || {
        transfer.outcome.with(|o| match o {
            Some(Outcome::Failed {
                step: Some(step), ..
            }) => step_number(step),
            _ => None,
        })
    });

    let result = move || {
        transfer.outcome.get().map(|outcome| match outcome {
            Outcome::Done { image_id, reference, .. } => {
                let ep_now = ep.get_untracked();
                let name = reference.unwrap_or_else(|| building.get_untracked());
                view! {
                    <div class="banner banner-success build-result" role="status" data-outcome="done">
                        {Icon::Check.view()}
                        <div class="banner-text">
                            <strong>{format!("Built {name}")}</strong>
                            <p>
                                <a id="build-image-link" href=image_path(&ep_now, &image_id)>"Open the image"</a>
                                <span class="mono muted">{format!(" {}", crate::components::copy::short_id(&image_id))}</span>
                            </p>
                        </div>
                        <a id="build-run" class="btn btn-primary" href=run_path(&ep_now, &name)>
                            {Icon::Play.view()}
                            <span>"Run it"</span>
                        </a>
                    </div>
                }
                .into_any()
            }
            Outcome::Failed { message, step, .. } => {
                // The message repeats the step's title; it is the heading already.
                let message = match &step {
                    Some(step) => message
                        .strip_prefix(&format!("{step} failed: "))
                        .map(str::to_owned)
                        .unwrap_or(message),
                    None => message,
                };
                view! {
                <div class="banner banner-danger build-result" role="alert" data-outcome="error">
                    {Icon::Alert.view()}
                    <div class="banner-text">
                        <strong>{match &step {
                            Some(step) => format!("Failed at {step}"),
                            None => "The build failed".to_owned(),
                        }}</strong>
                        <p class="mono break build-error">{message}</p>
                    </div>
                </div>
                }
                .into_any()
            }
        })
    };

    view! {
        <div class="page">
            <div class="page-head">
                <div>
                    <h1>"Build image"</h1>
                    <p class="page-sub">"From a Dockerfile and a build context, with the engine's classic builder."</p>
                </div>
                <div class="page-actions">
                    <a class="btn" href=move || endpoint_path(&ep.get(), "images")>"Back to images"</a>
                </div>
            </div>
            <form class="build-layout" on:submit=submit novalidate>
                <div class="build-main">
                    <section class="card form-section">
                        <div class="card-head">
                            <h2 class="card-title"><label for="build-dockerfile">"Dockerfile"</label></h2>
                            {move || (source.get() == Source::Archive).then(|| view! {
                                <span class="muted">"Not used: the archive's Dockerfile is"</span>
                            })}
                        </div>
                        {move || found.get().map(|text| view! {
                            <div class="banner run-note" role="status">
                                {Icon::Alert.view()}
                                <div class="banner-text">
                                    <strong>"Your files hold a Dockerfile too"</strong>
                                    <p>"The editor's text is built. Load the file's to use it instead."</p>
                                </div>
                                <button type="button" class="btn btn-sm" on:click=move |_| {
                                    dockerfile.set(text.clone());
                                    found.set(None);
                                }>"Load it"</button>
                                <button type="button" class="btn-icon btn-ghost" aria-label="Dismiss" on:click=move |_| found.set(None)>
                                    {Icon::Close.view()}
                                </button>
                            </div>
                        })}
                        <DockerfileEditor
                            text=dockerfile
                            touched=touched
                            disabled=Signal::derive(move || source.get() == Source::Archive)
                        />
                        <p class="field-hint">"Tab indents; Esc then Tab leaves the editor. FROM, ENV, WORKDIR, COPY, RUN, CMD and the rest: the engine's classic builder reads it."</p>
                    </section>

                    <section class="card form-section">
                        <div class="card-head">
                            <h2 class="card-title">"Build context"</h2>
                            <div class="segmented" role="radiogroup" aria-label="Build context from">
                                <button
                                    type="button"
                                    role="radio"
                                    class="segment"
                                    aria-checked=move || if source.get() == Source::Files { "true" } else { "false" }
                                    on:click=move |_| source.set(Source::Files)
                                >
                                    "Files and folders"
                                </button>
                                <button
                                    type="button"
                                    role="radio"
                                    class="segment"
                                    aria-checked=move || if source.get() == Source::Archive { "true" } else { "false" }
                                    on:click=move |_| source.set(Source::Archive)
                                >
                                    "Archive"
                                </button>
                            </div>
                        </div>
                        <input node_ref=files_input id="build-files" type="file" multiple class="sr-only" tabindex="-1" aria-hidden="true" on:change=on_picked(files_input)/>
                        <input node_ref=folder_input id="build-folder" type="file" multiple class="sr-only" tabindex="-1" aria-hidden="true" on:change=on_picked(folder_input)/>
                        <input node_ref=archive_input id="build-archive" type="file" accept=".tar,.tar.gz,.tgz,application/x-tar,application/gzip" class="sr-only" tabindex="-1" aria-hidden="true" on:change=on_archive/>
                        {move || match source.get() {
                            Source::Files => view! {
                                <p class="field-hint">
                                    "The files COPY and ADD can use. They are packed with the Dockerfile above into a tar here, in your browser; a .dockerignore among them is honoured."
                                </p>
                                <div class="context-actions">
                                    <button type="button" class="btn" on:click=click(files_input)>
                                        {line_icon(FILE_ICON)}
                                        <span>"Add files"</span>
                                    </button>
                                    <button type="button" class="btn" on:click=click(folder_input)>
                                        {line_icon(FOLDER_ICON)}
                                        <span>"Add a folder"</span>
                                    </button>
                                    <span class="spacer"></span>
                                    {move || {
                                        let (n, total) = context_summary();
                                        (n > 0).then(|| view! {
                                            <span class="muted">{format!("{n} {} · {}", if n == 1 { "file" } else { "files" }, bytes(total as i64))}</span>
                                            <button type="button" class="btn btn-sm btn-ghost" on:click=move |_| {
                                                entries.set(Vec::new());
                                                files.set_value(HashMap::new());
                                            }>"Clear"</button>
                                        })
                                    }}
                                </div>
                                <ul class="context-files" aria-label="Build context files">
                                    <li class="context-file context-dockerfile" data-path="Dockerfile">
                                        {line_icon(FILE_ICON)}
                                        <span class="mono">"Dockerfile"</span>
                                        <span class="muted">"from the editor"</span>
                                    </li>
                                    <For each=move || entries.get() key=|e| e.id let(entry)>
                                        {
                                            let id = entry.id;
                                            view! {
                                                <li class="context-file" data-path=entry.path.clone()>
                                                    {line_icon(FILE_ICON)}
                                                    <span class="mono break">{entry.path.clone()}</span>
                                                    <span class="muted">{bytes(entry.size as i64)}</span>
                                                    <button
                                                        type="button"
                                                        class="btn-icon btn-xs btn-icon-danger"
                                                        aria-label=format!("Remove {} from the context", entry.path)
                                                        title="Remove"
                                                        on:click=move |_| {
                                                            entries.update(|l| l.retain(|e| e.id != id));
                                                            files.update_value(|f| { f.remove(&id); });
                                                        }
                                                    >
                                                        {Icon::Close.view()}
                                                    </button>
                                                </li>
                                            }
                                        }
                                    </For>
                                </ul>
                            }
                            .into_any(),
                            Source::Archive => view! {
                                <p class="field-hint">
                                    "A tar or tar.gz of the build context, sent as it is. It holds the Dockerfile."
                                </p>
                                <div class="context-actions">
                                    <button type="button" class="btn" on:click=click(archive_input)>
                                        {line_icon(ARCHIVE_ICON)}
                                        <span>{move || if archive.with(Option::is_some) { "Choose another archive" } else { "Choose an archive" }}</span>
                                    </button>
                                    {move || archive.get().map(|(name, size)| view! {
                                        <span class="mono context-archive">{name}</span>
                                        <span class="muted">{bytes(size as i64)}</span>
                                    })}
                                </div>
                                <div class="field">
                                    <label for="build-dockerfile-path">"Dockerfile in the archive"</label>
                                    <input id="build-dockerfile-path" class="input mono" type="text" autocomplete="off" spellcheck="false" bind:value=dockerfile_path/>
                                </div>
                            }
                            .into_any(),
                        }}
                    </section>
                </div>

                <aside class="build-side">
                    <section class="card form-section">
                        <h2 class="card-title">"Image"</h2>
                        <div class="field">
                            <label for="build-tag">"Tag"</label>
                            <input
                                id="build-tag"
                                class="input mono"
                                type="text"
                                required
                                autocomplete="off"
                                spellcheck="false"
                                placeholder="myapp:1.0"
                                aria-invalid=move || if tag_error.with(Option::is_some) { "true" } else { "false" }
                                aria-describedby="build-tag-error"
                                bind:value=tag
                            />
                            <p class="field-error" id="build-tag-error" role="alert">{move || tag_error.get()}</p>
                        </div>
                        <div class="kv-rows" role="group" aria-labelledby="build-args-title">
                            <div class="card-head">
                                <h3 class="card-title" id="build-args-title">"Build args"</h3>
                                <button type="button" class="btn btn-sm" on:click=move |_| {
                                    let row = ArgRow { id: new_id(), key: RwSignal::new(String::new()), value: RwSignal::new(String::new()) };
                                    args.update(|r| r.push(row));
                                }>
                                    {Icon::Plus.view()}
                                    <span>"Add arg"</span>
                                </button>
                            </div>
                            <div class="rows">
                                <For each=move || args.get() key=|r| r.id let(row)>
                                    <div class="row-fields rows-kv" role="group" aria-label="Build arg">
                                        <input class="input mono" type="text" aria-label="Build arg name" placeholder="KEY" autocomplete="off" spellcheck="false" bind:value=row.key/>
                                        <input class="input mono" type="text" aria-label="Build arg value" placeholder="value" autocomplete="off" spellcheck="false" bind:value=row.value/>
                                        <button type="button" class="btn-icon btn-icon-danger" aria-label="Remove build arg" title="Remove" on:click=move |_| args.update(|list| list.retain(|r| r.id != row.id))>
                                            {Icon::Trash.view()}
                                        </button>
                                    </div>
                                </For>
                            </div>
                            <p class="field-error" role="alert">{move || args_error.get()}</p>
                        </div>
                        <div class="field">
                            <label for="build-target">"Target stage"</label>
                            <input id="build-target" class="input mono" type="text" autocomplete="off" spellcheck="false" placeholder="the last stage" bind:value=target/>
                            <p class="field-hint">"Builds a multi-stage Dockerfile up to this stage (FROM … AS name)."</p>
                        </div>
                        <label class="check">
                            <input id="build-nocache" type="checkbox" bind:checked=nocache/>
                            <span>"No cache: run every step again"</span>
                        </label>
                        {move || form_error.get().map(|e| view! { <div class="form-error" role="alert">{e}</div> })}
                        <button
                            id="build-submit"
                            type="submit"
                            class="btn btn-primary btn-block"
                            class:is-loading=move || transfer.running.get()
                            disabled=move || transfer.running.get()
                        >
                            {line_icon(BUILD_ICON)}
                            <span>{move || if transfer.running.get() { "Building…" } else { "Build" }}</span>
                        </button>
                    </section>
                </aside>
            </form>

            <Show when=move || started.get()>
                <section class="card form-section build-progress" node_ref=progress_ref aria-label="Build progress">
                    <div class="card-head">
                        <h2 class="card-title">{move || format!("Building {}", building.get())}</h2>
                        {move || transfer.running.get().then(|| view! { <span class="spinner" role="status" aria-label="Building"></span> })}
                    </div>
                    <StepProgress transfer=transfer/>
                    {result}
                    <ProgressLog transfer=transfer label="Build log" failed_step=failed_step/>
                </section>
            </Show>
        </div>
    }
}

/// The Dockerfile editor: a monospace textarea with a line-number gutter;
/// Tab inserts spaces (Esc then Tab moves on, so the keyboard never gets
/// stuck).
#[component]
fn DockerfileEditor(
    text: RwSignal<String>,
    touched: StoredValue<bool>,
    #[prop(into)] disabled: Signal<bool>,
) -> impl IntoView {
    let area = NodeRef::<html::Textarea>::new();
    let gutter = NodeRef::<html::Div>::new();
    let escaped = StoredValue::new(false);
    let numbers = move || {
        let lines = text.with(|t| t.split('\n').count()).max(1);
        (1..=lines)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let sync_scroll = move || {
        if let (Some(area), Some(gutter)) = (area.get_untracked(), gutter.get_untracked()) {
            gutter.set_scroll_top(area.scroll_top());
        }
    };
    let on_key = move |ev: ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            escaped.set_value(true);
            return;
        }
        let plain = !ev.shift_key() && !ev.ctrl_key() && !ev.alt_key() && !ev.meta_key();
        if ev.key() != "Tab" || !plain {
            escaped.set_value(false);
            return;
        }
        let leaving = escaped.get_value();
        escaped.set_value(false);
        if leaving {
            return;
        }
        ev.prevent_default();
        let Some(el) = area.get_untracked() else {
            return;
        };
        // insertText keeps the browser's undo history.
        let inserted = document()
            .unchecked_ref::<web_sys::HtmlDocument>()
            .exec_command_with_show_ui_and_value("insertText", false, INDENT)
            .unwrap_or(false);
        if !inserted {
            let value: Vec<u16> = el.value().encode_utf16().collect();
            let start = el.selection_start().ok().flatten().unwrap_or(0) as usize;
            let end = el.selection_end().ok().flatten().unwrap_or(start as u32) as usize;
            let (start, end) = (start.min(value.len()), end.min(value.len()).max(start));
            let mut next: Vec<u16> = value[..start].to_vec();
            next.extend(INDENT.encode_utf16());
            next.extend_from_slice(&value[end..]);
            let next = String::from_utf16_lossy(&next);
            el.set_value(&next);
            let caret = (start + INDENT.len()) as u32;
            let _ = el.set_selection_range(caret, caret);
            text.set(next);
        }
        touched.set_value(true);
    };
    view! {
        <div class="dockerfile-editor" class:is-disabled=move || disabled.get()>
            <div class="editor-gutter mono" node_ref=gutter aria-hidden="true">{numbers}</div>
            <textarea
                id="build-dockerfile"
                node_ref=area
                class="editor-text mono"
                spellcheck="false"
                autocomplete="off"
                autocapitalize="off"
                wrap="off"
                rows="16"
                disabled=disabled
                prop:value=move || text.get()
                on:input=move |ev| {
                    touched.set_value(true);
                    text.set(event_target_value(&ev));
                    sync_scroll();
                }
                on:keydown=on_key
                on:scroll=move |_| sync_scroll()
            ></textarea>
        </div>
    }
}
