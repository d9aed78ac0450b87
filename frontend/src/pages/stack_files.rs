//! The Files tab of a stack: the stack's folder on the host, where its
//! build contexts and the files it mounts by relative path live. Upload
//! files, a folder or an archive (into a sub-folder if asked), see which
//! build contexts the compose file still misses, remove what is no longer
//! needed. `compose.yaml` and `.env` are the Editor's and never listed.

use leptos::{ev, html, prelude::*, task::spawn_local};
use protocol::{BuildContextState, StackFile, StackFiles};
use wasm_bindgen::JsValue;

use crate::api;
use crate::components::{
    format::{bytes, RelativeTime},
    icons::Icon,
    layout::line_icon,
    modal::ConfirmRequest,
    progress::UploadProgress,
    remote::{EmptyState, Loaded, Remote},
    upload::{self, files_of, picked_path, ARCHIVE_ICON, FILE_ICON, FOLDER_ICON},
};
use crate::state::use_app;

/// What an upload sends: picked files (packed into a tar here) or an
/// archive as it is.
enum Upload {
    Files(Vec<JsValue>, bool),
    Archive(JsValue),
}

#[component]
pub fn FilesTab(ep: Memo<String>, name: Memo<String>) -> impl IntoView {
    let app = use_app();
    let listing: Remote<StackFiles> = Remote::new(move || {
        let (ep, name) = (ep.get(), name.get());
        async move { api::stack_files(&ep, &name).await }
    });
    let into = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let sent = RwSignal::new(None::<crate::xhr::Sent>);

    let files_input = NodeRef::<html::Input>::new();
    let folder_input = NodeRef::<html::Input>::new();
    let archive_input = NodeRef::<html::Input>::new();
    // `webkitdirectory` (pick a folder) is set on the element itself.
    Effect::new(move |_| {
        if let Some(el) = folder_input.get() {
            let _ = el.set_attribute("webkitdirectory", "");
            let _ = el.set_attribute("directory", "");
        }
    });
    let click = move |input: NodeRef<html::Input>| {
        move |_| {
            if let Some(input) = input.get_untracked() {
                input.click();
            }
        }
    };

    let send = move |what: Upload| {
        let folder = into.get_untracked().trim().trim_matches('/').to_owned();
        let body: Result<(JsValue, usize), String> = match what {
            Upload::Archive(file) => Ok((file, 0)),
            Upload::Files(picked, keep_folder) => {
                let named: Vec<(String, JsValue)> = picked
                    .into_iter()
                    .map(|f| (picked_path(&f, keep_folder), f))
                    .filter(|(path, _)| !path.is_empty())
                    .collect();
                let n = named.len();
                upload::pack(&[], &named).map(|blob| (blob.into(), n))
            }
        };
        let (body, _) = match body {
            Ok(b) => b,
            Err(e) => {
                app.toasts.error(format!("Could not pack the files: {e}"));
                return;
            }
        };
        busy.set(true);
        sent.set(None);
        let (ep, name) = (ep.get_untracked(), name.get_untracked());
        spawn_local(async move {
            let on_sent = move |s| {
                sent.try_set(Some(s));
            };
            match api::upload_stack_files(&ep, &name, &folder, &body, on_sent).await {
                Ok(done) => {
                    let place = if folder.is_empty() {
                        "the stack's folder".to_owned()
                    } else {
                        folder.clone()
                    };
                    let mut text = format!(
                        "Uploaded {} {} into {place}",
                        done.files,
                        if done.files == 1 { "file" } else { "files" }
                    );
                    if !done.skipped.is_empty() {
                        text.push_str(&format!(
                            "; kept the stack's own {} (change it in the Editor)",
                            done.skipped.join(" and ")
                        ));
                    }
                    app.toasts.success(text);
                }
                Err(e) => app
                    .toasts
                    .error(format!("Could not upload: {}", e.message())),
            }
            busy.try_set(false);
            listing.reload();
        });
    };
    let on_picked = move |input: NodeRef<html::Input>, keep_folder: bool| {
        move |_: ev::Event| {
            if let Some(el) = input.get_untracked() {
                let picked = files_of(&el);
                el.set_value("");
                if !picked.is_empty() {
                    send(Upload::Files(picked, keep_folder));
                }
            }
        }
    };
    let on_archive = move |_: ev::Event| {
        if let Some(el) = archive_input.get_untracked() {
            let file = files_of(&el).into_iter().next();
            el.set_value("");
            if let Some(file) = file {
                send(Upload::Archive(file));
            }
        }
    };

    let remove = move |path: String| {
        let folder = path.ends_with('/');
        let shown = path.trim_end_matches('/').to_owned();
        let title = format!("Remove {shown}?");
        let body = if folder {
            format!("The folder {shown} and everything in it are deleted from the stack's folder on the host.")
        } else {
            format!("{shown} is deleted from the stack's folder on the host.")
        };
        app.ask(ConfirmRequest::new(title, body, "Remove", move || {
            let (ep, name, shown) = (ep.get_untracked(), name.get_untracked(), shown.clone());
            spawn_local(async move {
                match api::remove_stack_file(&ep, &name, &shown).await {
                    Ok(()) => app.toasts.success(format!("Removed {shown}")),
                    Err(e) => app
                        .toasts
                        .error(format!("Could not remove {shown}: {}", e.message())),
                }
                listing.reload();
            });
        }));
    };

    let contexts = move || {
        let list: Vec<BuildContextState> = listing.value.with(|v| match v {
            Some(Ok(f)) => f.contexts.clone(),
            _ => Vec::new(),
        });
        (!list.is_empty()).then(|| {
            view! {
                <section class="card form-section" aria-label="Build contexts">
                    <h2 class="card-title">"Build contexts"</h2>
                    <p class="field-hint">"The folders the compose file builds images from. Upload a folder with the same name (or files into it) before you deploy."</p>
                    <ul class="context-files build-contexts">
                        {list
                            .into_iter()
                            .map(|c| {
                                let (class, state) = if c.ready {
                                    ("badge badge-green", "ready".to_owned())
                                } else if c.present {
                                    ("badge badge-amber", "no Dockerfile".to_owned())
                                } else {
                                    ("badge badge-red", "missing".to_owned())
                                };
                                let path = c.path.clone();
                                view! {
                                    <li class="context-file" data-service=c.service.clone()>
                                        {line_icon(FOLDER_ICON)}
                                        <span class="mono break">{c.context.clone()}</span>
                                        <span class="muted">{format!("for {}", c.service)}</span>
                                        <span class=class>{state}</span>
                                        {(!c.present).then(|| view! {
                                            <button
                                                type="button"
                                                class="btn btn-sm"
                                                on:click=move |_| {
                                                    into.set(path.clone());
                                                    if let Some(input) = files_input.get_untracked() {
                                                        input.click();
                                                    }
                                                }
                                            >
                                                "Upload files into it"
                                            </button>
                                        })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </section>
            }
        })
    };

    let table = move || {
        let (files, total, truncated) = listing.value.with(|v| match v {
            Some(Ok(f)) => (f.files.clone(), f.total_bytes, f.truncated),
            _ => (Vec::new(), 0, false),
        });
        if files.is_empty() {
            return view! {
                <EmptyState
                    title="No files yet"
                    hint="Build contexts and files the stack mounts by a relative path (./config/app.conf) go here."
                />
            }
            .into_any();
        }
        let n = files.len();
        view! {
            <p class="muted files-summary">
                {format!("{n} {} · {}", if n == 1 { "file" } else { "files" }, bytes(total as i64))}
                {truncated.then_some(" · only the first ones are listed")}
            </p>
            <div class="table-wrap">
                <table class="table stack-files" aria-label="Files in the stack's folder">
                    <thead>
                        <tr>
                            <th scope="col">"Path"</th>
                            <th scope="col" class="num">"Size"</th>
                            <th scope="col">"Changed"</th>
                            <th scope="col" class="cell-actions"><span class="sr-only">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows(&files)
                            .into_iter()
                            .map(|row| match row {
                                Row::Folder { path, depth, files, size } => {
                                    let shown = path.clone();
                                    view! {
                                        <tr class="row-folder" data-path=format!("{path}/")>
                                            <td class="cell-primary" data-label="Path">
                                                <span class="file-path" style=format!("--depth:{depth}")>
                                                    {line_icon(FOLDER_ICON)}
                                                    <span class="mono break">{format!("{}/", path.rsplit('/').next().unwrap_or_default())}</span>
                                                    <span class="muted">{format!("{files} {}", if files == 1 { "file" } else { "files" })}</span>
                                                </span>
                                            </td>
                                            <td class="num" data-label="Size">{bytes(size as i64)}</td>
                                            <td data-label="Changed"></td>
                                            <td class="cell-actions">
                                                <button
                                                    type="button"
                                                    class="btn-icon btn-icon-danger"
                                                    aria-label=format!("Remove the folder {shown}")
                                                    title="Remove the folder"
                                                    on:click=move |_| remove(format!("{shown}/"))
                                                >
                                                    {Icon::Trash.view()}
                                                </button>
                                            </td>
                                        </tr>
                                    }
                                    .into_any()
                                }
                                Row::File { file, depth } => {
                                    let path = file.path.clone();
                                    let label = format!("Remove {path}");
                                    view! {
                                        <tr data-path=file.path.clone()>
                                            <td class="cell-primary" data-label="Path">
                                                <span class="file-path" style=format!("--depth:{depth}")>
                                                    {line_icon(FILE_ICON)}
                                                    <span class="mono break">{file.path.rsplit('/').next().unwrap_or_default().to_owned()}</span>
                                                </span>
                                            </td>
                                            <td class="num" data-label="Size">{bytes(file.size as i64)}</td>
                                            <td class="cell-nowrap" data-label="Changed">
                                                <RelativeTime secs=file.modified.map(|s| s as f64) never="—"/>
                                            </td>
                                            <td class="cell-actions">
                                                <button
                                                    type="button"
                                                    class="btn-icon btn-icon-danger"
                                                    aria-label=label
                                                    title="Remove"
                                                    on:click=move |_| remove(path.clone())
                                                >
                                                    {Icon::Trash.view()}
                                                </button>
                                            </td>
                                        </tr>
                                    }
                                    .into_any()
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };

    view! {
        <div class="stack-files-tab">
            {contexts}
            <section class="card form-section" aria-label="Upload">
                <h2 class="card-title">"Upload"</h2>
                <p class="field-hint">
                    "Files, a whole folder (it keeps its name), or a tar / tar.gz archive (unpacked). A file at the same path is replaced."
                </p>
                <input node_ref=files_input id="stack-files" type="file" multiple class="sr-only" tabindex="-1" aria-hidden="true" on:change=on_picked(files_input, false)/>
                <input node_ref=folder_input id="stack-folder" type="file" multiple class="sr-only" tabindex="-1" aria-hidden="true" on:change=on_picked(folder_input, true)/>
                <input node_ref=archive_input id="stack-archive" type="file" accept=".tar,.tar.gz,.tgz,application/x-tar,application/gzip" class="sr-only" tabindex="-1" aria-hidden="true" on:change=on_archive/>
                <div class="field">
                    <label for="stack-files-into">"Into folder"</label>
                    <input
                        id="stack-files-into"
                        class="input mono"
                        type="text"
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="the stack's folder itself"
                        bind:value=into
                    />
                </div>
                <div class="context-actions">
                    <button type="button" class="btn" disabled=move || busy.get() on:click=click(files_input)>
                        {line_icon(FILE_ICON)}
                        <span>"Upload files"</span>
                    </button>
                    <button type="button" class="btn" disabled=move || busy.get() on:click=click(folder_input)>
                        {line_icon(FOLDER_ICON)}
                        <span>"Upload a folder"</span>
                    </button>
                    <button type="button" class="btn" disabled=move || busy.get() on:click=click(archive_input)>
                        {line_icon(ARCHIVE_ICON)}
                        <span>"Upload an archive"</span>
                    </button>
                </div>
                <Show when=move || busy.get()>
                    <UploadProgress sent=sent what="the files"/>
                </Show>
            </section>
            <section class="card" aria-label="Files">
                <h2 class="card-title">"Files"</h2>
                <Loaded remote=listing what="files" endpoint=ep>
                    {table}
                </Loaded>
            </section>
        </div>
    }
}

/// A row of the files table: a folder (with what it holds) or a file, each
/// at its depth.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    Folder {
        path: String,
        depth: usize,
        files: usize,
        size: u64,
    },
    File {
        file: StackFile,
        depth: usize,
    },
}

/// The table's rows for `files` (sorted by path): each folder once, before
/// what it holds.
fn rows(files: &[StackFile]) -> Vec<Row> {
    let mut out = Vec::new();
    let mut open: Vec<String> = Vec::new();
    for file in files {
        let parts: Vec<&str> = file.path.split('/').collect();
        let folders = &parts[..parts.len() - 1];
        // Close the folders this file is not in.
        let mut keep = 0;
        while keep < open.len() && keep < folders.len() && open[keep] == folders[keep] {
            keep += 1;
        }
        open.truncate(keep);
        for (depth, name) in folders.iter().enumerate().skip(keep) {
            open.push((*name).to_owned());
            let path = folders[..=depth].join("/");
            let prefix = format!("{path}/");
            let inside = files.iter().filter(|f| f.path.starts_with(&prefix));
            let (count, size) = inside.fold((0, 0), |(n, s), f| (n + 1, s + f.size));
            out.push(Row::Folder {
                path,
                depth,
                files: count,
                size,
            });
        }
        out.push(Row::File {
            file: file.clone(),
            depth: folders.len(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64) -> StackFile {
        StackFile {
            path: path.into(),
            size,
            modified: None,
        }
    }

    #[test]
    fn folders_come_once_before_what_they_hold() {
        let files = [
            file("notes.txt", 1),
            file("web/css/site.css", 2),
            file("web/index.html", 3),
            file("worker/Dockerfile", 4),
        ];
        let shown: Vec<String> = rows(&files)
            .into_iter()
            .map(|r| match r {
                Row::Folder {
                    path,
                    depth,
                    files,
                    size,
                } => format!("{depth} {path}/ {files} {size}"),
                Row::File { file, depth } => format!("{depth} {}", file.path),
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                "0 notes.txt",
                "0 web/ 2 5",
                "1 web/css/ 1 2",
                "2 web/css/site.css",
                "1 web/index.html",
                "0 worker/ 1 4",
                "1 worker/Dockerfile",
            ]
        );
    }
}
