//! A plain-text editor for compose files and `.env`: a monospace textarea
//! beside a line-number gutter that scrolls with it. Tab indents by two
//! spaces (Escape, then Tab, leaves the field), Enter keeps the indentation.
//! With a [`CheckState`] it shows the server's validation: the lines with a
//! problem turn red in the gutter (the message on hover) and the problems are
//! listed under the editor; a click on one puts the cursor there. Warnings
//! (keys berth takes but cannot honour; the file still deploys) show the
//! same way in amber, each labelled "Warning".

use std::time::Duration;

use leptos::{ev, html, prelude::*, task::spawn_local};
use protocol::{ComposeCheck, ComposeIssue};
use wasm_bindgen::JsCast;

use crate::api;
use crate::components::icons::Icon;

/// Height of one line in px: `.yaml-editor` in style.css says the same.
const LINE_HEIGHT: f64 = 20.0;
/// How long typing must rest before the file is checked.
const CHECK_DELAY: Duration = Duration::from_millis(400);
const INDENT: &str = "  ";

/// Where the check of the text in an editor stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckState {
    /// Nothing to check (the editor is empty).
    Idle,
    Checking,
    Checked(ComposeCheck),
    /// The check itself failed (berth did not answer).
    Failed(String),
}

impl CheckState {
    /// The problems found, if the file was checked.
    pub fn issues(&self) -> &[ComposeIssue] {
        match self {
            CheckState::Checked(c) => &c.errors,
            _ => &[],
        }
    }

    /// The warnings found, if the file was checked.
    pub fn warnings(&self) -> &[ComposeIssue] {
        match self {
            CheckState::Checked(c) => &c.warnings,
            _ => &[],
        }
    }

    /// Whether the last check found the file valid.
    pub fn is_valid(&self) -> bool {
        matches!(self, CheckState::Checked(c) if c.ok)
    }
}

/// Checks `compose` (with `env`) on the server whenever either changes and
/// typing has rested for [`CHECK_DELAY`]; answers to older texts are dropped.
pub fn use_compose_check(
    ep: Signal<String>,
    compose: RwSignal<String>,
    env: RwSignal<String>,
) -> RwSignal<CheckState> {
    let state = RwSignal::new(CheckState::Idle);
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let (ep, compose, env) = (ep.get(), compose.get(), env.get());
        let this = generation.get_value().wrapping_add(1);
        generation.set_value(this);
        if compose.trim().is_empty() {
            state.set(CheckState::Idle);
            return;
        }
        let current = move || generation.try_get_value() == Some(this);
        set_timeout(
            move || {
                if !current() {
                    return;
                }
                // Keep showing the last problems while the new check runs,
                // so the list does not flicker on every keystroke.
                if !matches!(state.get_untracked(), CheckState::Checked(_)) {
                    state.set(CheckState::Checking);
                }
                spawn_local(async move {
                    let result = api::validate_stack(&ep, &compose, &env).await;
                    if current() {
                        state.try_set(match result {
                            Ok(check) => CheckState::Checked(check),
                            Err(e) => CheckState::Failed(e.message()),
                        });
                    }
                });
            },
            CHECK_DELAY,
        );
    });
    state
}

/// "Line 4, column 5: unknown key ..." (or the message alone for the file
/// as a whole).
pub fn issue_text(issue: &ComposeIssue) -> String {
    match (issue.line, issue.column) {
        (0, _) => issue.message.clone(),
        (line, 0) => format!("Line {line}: {}", issue.message),
        (line, column) => format!("Line {line}, column {column}: {}", issue.message),
    }
}

/// The status line of a valid file: "Valid · 2 services: db, web", and
/// " · 1 warning" after it when there are warnings.
pub fn valid_text(check: &ComposeCheck) -> String {
    let services = match check.services.len() {
        0 => "no services".to_owned(),
        n => format!(
            "{n} {}: {}",
            if n == 1 { "service" } else { "services" },
            check.services.join(", ")
        ),
    };
    match check.warnings.len() {
        0 => format!("Valid · {services}"),
        n => format!("Valid · {services} · {}", warning_count(n)),
    }
}

/// "1 warning", "3 warnings".
pub fn warning_count(n: usize) -> String {
    if n == 1 {
        "1 warning".to_owned()
    } else {
        format!("{n} warnings")
    }
}

/// The byte index of the `utf16`-th UTF-16 unit of `s` (the browser counts
/// selections in those).
fn byte_index(s: &str, utf16: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in s.char_indices() {
        if units >= utf16 {
            return i;
        }
        units += c.len_utf16() as u32;
    }
    s.len()
}

fn utf16_len(s: &str) -> u32 {
    s.chars().map(|c| c.len_utf16() as u32).sum()
}

/// The UTF-16 offset of 1-based `line` and `column` in `text`, clamped to
/// the line's end.
fn offset_of(text: &str, line: usize, column: usize) -> u32 {
    let mut offset = 0u32;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line {
            let col: u32 = l
                .chars()
                .take(column.saturating_sub(1))
                .map(|c| c.len_utf16() as u32)
                .sum();
            return offset + col;
        }
        offset += utf16_len(l) + 1;
    }
    utf16_len(text)
}

/// Inserts `text` at the selection as if typed, so the browser's undo keeps
/// working; falls back to splicing the value.
fn insert_text(area: &web_sys::HtmlTextAreaElement, text: &str, value: RwSignal<String>) {
    let typed = document()
        .unchecked_ref::<web_sys::HtmlDocument>()
        .exec_command_with_show_ui_and_value("insertText", false, text)
        .unwrap_or(false);
    if typed {
        return;
    }
    let current = area.value();
    let start = area.selection_start().ok().flatten().unwrap_or(0);
    let end = area.selection_end().ok().flatten().unwrap_or(start);
    let (a, b) = (byte_index(&current, start), byte_index(&current, end));
    let next = format!("{}{text}{}", &current[..a], &current[b..]);
    area.set_value(&next);
    let caret = start + utf16_len(text);
    let _ = area.set_selection_range(caret, caret);
    value.set(next);
}

/// Replaces the whole lines from `first` to `last` (byte indices of their
/// starts/ends) with `lines`, selecting them again.
fn replace_lines(
    area: &web_sys::HtmlTextAreaElement,
    current: &str,
    first: usize,
    last: usize,
    replacement: &str,
    value: RwSignal<String>,
) {
    let start16 = utf16_len(&current[..first]);
    let end16 = utf16_len(&current[..last]);
    let _ = area.set_selection_range(start16, end16);
    let typed = document()
        .unchecked_ref::<web_sys::HtmlDocument>()
        .exec_command_with_show_ui_and_value("insertText", false, replacement)
        .unwrap_or(false);
    if !typed {
        let next = format!("{}{replacement}{}", &current[..first], &current[last..]);
        area.set_value(&next);
        value.set(next);
    }
    let _ = area.set_selection_range(start16, start16 + utf16_len(replacement));
}

/// Indents (or with `outdent`, un-indents) every line the selection touches.
fn shift_lines(area: &web_sys::HtmlTextAreaElement, outdent: bool, value: RwSignal<String>) {
    let current = area.value();
    let start = area.selection_start().ok().flatten().unwrap_or(0);
    let end = area.selection_end().ok().flatten().unwrap_or(start);
    let (a, b) = (byte_index(&current, start), byte_index(&current, end));
    let first = current[..a].rfind('\n').map_or(0, |i| i + 1);
    // A selection ending right after a newline does not take the next line.
    let b = if b > a && current[..b].ends_with('\n') {
        b - 1
    } else {
        b
    };
    let last = current[b..].find('\n').map_or(current.len(), |i| b + i);
    let block = &current[first..last];
    let replaced: Vec<String> = block
        .split('\n')
        .map(|line| {
            if outdent {
                let spaces = line.len() - line.trim_start_matches(' ').len();
                line[spaces.min(INDENT.len())..].to_owned()
            } else {
                format!("{INDENT}{line}")
            }
        })
        .collect();
    let replaced = replaced.join("\n");
    if replaced != block {
        replace_lines(area, &current, first, last, &replaced, value);
    }
}

/// The indentation a new line after the caret's line gets: the same, and
/// one step more after a `key:` that opens a block.
fn next_indent(area: &web_sys::HtmlTextAreaElement) -> String {
    let current = area.value();
    let caret = byte_index(&current, area.selection_start().ok().flatten().unwrap_or(0));
    let line_start = current[..caret].rfind('\n').map_or(0, |i| i + 1);
    let line = &current[line_start..caret];
    let mut indent: String = line.chars().take_while(|c| *c == ' ').collect();
    let trimmed = line.trim_end();
    let opens = trimmed.ends_with(':') && !trimmed.trim_start().starts_with('#');
    if opens {
        indent.push_str(INDENT);
    } else if let Some(rest) = trimmed.trim_start().strip_prefix("- ") {
        // A list item: continue the list at the item's text.
        if rest.ends_with(':') {
            indent.push_str("    ");
        }
    }
    indent
}

/// A code editor for YAML (and `.env`): label, gutter, textarea, and with
/// `check` the validation status and problem list.
#[component]
pub fn YamlEditor(
    /// The textarea's id (the label points at it).
    #[prop(into)]
    id: String,
    /// The visible label: "Compose file", ".env".
    #[prop(into)]
    label: String,
    text: RwSignal<String>,
    /// The server's check of the text; without it no validation is shown.
    #[prop(optional)]
    check: Option<RwSignal<CheckState>>,
    /// Visible lines.
    #[prop(default = 22)]
    rows: usize,
    #[prop(optional, into)] placeholder: Option<String>,
    /// A line under the label.
    #[prop(optional, into)]
    hint: Option<String>,
    #[prop(optional)] readonly: bool,
) -> impl IntoView {
    let area = NodeRef::<html::Textarea>::new();
    let gutter = NodeRef::<html::Div>::new();
    // After Escape the next Tab leaves the field instead of indenting.
    let tab_leaves = StoredValue::new(false);
    let issues_id = format!("{id}-issues");
    let warnings_id = format!("{id}-warnings");
    let hint_id = format!("{id}-hint");

    let issues = Memo::new(move |_| {
        check
            .map(|c| c.with(|c| c.issues().to_vec()))
            .unwrap_or_default()
    });
    let warnings = Memo::new(move |_| {
        check
            .map(|c| c.with(|c| c.warnings().to_vec()))
            .unwrap_or_default()
    });
    // One entry per line: its number, the problems on it, and when it has
    // none, its warnings.
    let lines = Memo::new(move |_| {
        let count = text.with(|t| t.split('\n').count()).max(1);
        let on_line = |list: &[ComposeIssue], n: usize| {
            let messages: Vec<&str> = list
                .iter()
                .filter(|i| i.line == n)
                .map(|i| i.message.as_str())
                .collect();
            (!messages.is_empty()).then(|| messages.join("\n"))
        };
        issues.with(|issues| {
            warnings.with(|warnings| {
                (1..=count)
                    .map(|n| match on_line(issues, n) {
                        Some(m) => (n, Some(m), false),
                        None => match on_line(warnings, n) {
                            Some(m) => (n, Some(format!("Warning: {m}")), true),
                            None => (n, None, false),
                        },
                    })
                    .collect::<Vec<_>>()
            })
        })
    });

    let sync_scroll = move || {
        if let (Some(area), Some(gutter)) = (area.get_untracked(), gutter.get_untracked()) {
            gutter.set_scroll_top(area.scroll_top());
        }
    };
    let go_to = move |line: usize, column: usize| {
        let Some(el) = area.get_untracked() else {
            return;
        };
        let offset = text.with_untracked(|t| offset_of(t, line, column.max(1)));
        let _ = el.focus();
        let _ = el.set_selection_range(offset, offset);
        let view_height = el.client_height() as f64;
        let top = (line.saturating_sub(1)) as f64 * LINE_HEIGHT;
        let scroll = el.scroll_top() as f64;
        if top < scroll || top + LINE_HEIGHT > scroll + view_height {
            el.set_scroll_top((top - view_height / 3.0).max(0.0) as i32);
        }
        sync_scroll();
    };

    let on_key = move |ev: ev::KeyboardEvent| {
        if readonly {
            return;
        }
        let Some(el) = area.get_untracked() else {
            return;
        };
        let plain = !ev.ctrl_key() && !ev.meta_key() && !ev.alt_key();
        match ev.key().as_str() {
            "Escape" => tab_leaves.set_value(true),
            "Tab" if plain && !tab_leaves.get_value() => {
                ev.prevent_default();
                let start = el.selection_start().ok().flatten().unwrap_or(0);
                let end = el.selection_end().ok().flatten().unwrap_or(start);
                let multi_line = start != end && {
                    let v = el.value();
                    let (a, b) = (byte_index(&v, start), byte_index(&v, end));
                    v[a..b].contains('\n')
                };
                if ev.shift_key() {
                    shift_lines(&el, true, text);
                } else if multi_line {
                    shift_lines(&el, false, text);
                } else {
                    insert_text(&el, INDENT, text);
                }
            }
            "Enter" if plain && !ev.shift_key() => {
                let indent = next_indent(&el);
                if !indent.is_empty() {
                    ev.prevent_default();
                    insert_text(&el, &format!("\n{indent}"), text);
                }
                tab_leaves.set_value(false);
            }
            "Tab" => tab_leaves.set_value(false),
            _ => tab_leaves.set_value(false),
        }
    };

    let status = move || {
        let check = check?;
        Some(match check.get() {
            CheckState::Idle => view! {
                <span class="yaml-status muted">"Checked as you type."</span>
            }
            .into_any(),
            CheckState::Checking => view! {
                <span class="yaml-status muted">
                    <span class="spinner spinner-sm" aria-hidden="true"></span>
                    "Checking…"
                </span>
            }
            .into_any(),
            CheckState::Checked(c) if c.ok => view! {
                <span class="yaml-status yaml-status-ok" class:yaml-status-warn=!c.warnings.is_empty()>
                    {Icon::Check.view()}
                    {valid_text(&c)}
                </span>
            }
            .into_any(),
            CheckState::Checked(c) => {
                let n = c.errors.len();
                view! {
                    <span class="yaml-status yaml-status-bad">
                        {Icon::Alert.view()}
                        {if n == 1 { "1 problem".to_owned() } else { format!("{n} problems") }}
                    </span>
                }
                .into_any()
            }
            CheckState::Failed(message) => view! {
                <span class="yaml-status muted">{format!("Could not check the file: {message}")}</span>
            }
            .into_any(),
        })
    };

    let issue_list = {
        let issues_id = issues_id.clone();
        move || {
            let list = issues.get();
            (!list.is_empty()).then(|| {
                view! {
                    <ul class="yaml-issues" id=issues_id.clone() aria-label="Problems in the file">
                        {list.into_iter().map(|i| issue_item(i, false, go_to)).collect_view()}
                    </ul>
                }
            })
        }
    };
    let warning_list = {
        let warnings_id = warnings_id.clone();
        move || {
            let list = warnings.get();
            (!list.is_empty()).then(|| {
                view! {
                    <ul class="yaml-issues yaml-warnings" id=warnings_id.clone() aria-label="Warnings about the file">
                        {list.into_iter().map(|i| issue_item(i, true, go_to)).collect_view()}
                    </ul>
                }
            })
        }
    };

    let described_by = {
        let (issues_id, hint_id, has_hint) = (issues_id.clone(), hint_id.clone(), hint.is_some());
        move || {
            let mut ids = Vec::new();
            if has_hint {
                ids.push(hint_id.clone());
            }
            if issues.with(|i| !i.is_empty()) {
                ids.push(issues_id.clone());
            }
            if warnings.with(|w| !w.is_empty()) {
                ids.push(warnings_id.clone());
            }
            ids.join(" ")
        }
    };
    let height = format!("{}px", rows as f64 * LINE_HEIGHT + 2.0 * 8.0 + 2.0);

    view! {
        <div class="yaml-field">
            <div class="yaml-head">
                <label for=id.clone()>{label}</label>
                {status}
            </div>
            {hint.map(|h| view! { <p class="field-hint" id=hint_id.clone()>{h}</p> })}
            <div class="yaml-editor" class:yaml-has-errors=move || issues.with(|i| !i.is_empty()) style:height=height>
                <div class="yaml-gutter" node_ref=gutter aria-hidden="true">
                    <div class="yaml-lines">
                        <For
                            each=move || lines.get()
                            key=|entry| entry.clone()
                            let(entry)
                        >
                            {
                                let (n, message, warning) = entry;
                                let marked = message.is_some();
                                let bad = marked && !warning;
                                let find = |list: &[ComposeIssue]| {
                                    list.iter().find(|x| x.line == n).map_or(1, |x| x.column)
                                };
                                let column = if warning {
                                    warnings.with_untracked(|w| find(w))
                                } else {
                                    issues.with_untracked(|i| find(i))
                                };
                                view! {
                                    <div
                                        class="yaml-ln"
                                        class:yaml-ln-error=bad
                                        class:yaml-ln-warning=warning
                                        title=message
                                        data-line=n
                                        on:click=move |_| if marked { go_to(n, column) }
                                    >
                                        {n}
                                    </div>
                                }
                            }
                        </For>
                    </div>
                </div>
                <textarea
                    id=id
                    node_ref=area
                    class="yaml-text"
                    wrap="off"
                    spellcheck="false"
                    autocomplete="off"
                    autocapitalize="off"
                    readonly=readonly
                    placeholder=placeholder
                    aria-invalid=move || issues.with(|i| !i.is_empty()).then_some("true")
                    aria-describedby=described_by
                    bind:value=text
                    on:keydown=on_key
                    on:scroll=move |_| sync_scroll()
                    on:input=move |_| sync_scroll()
                ></textarea>
            </div>
            {issue_list}
            {warning_list}
        </div>
    }
}

/// One entry of the problem or warning list: a button that puts the cursor
/// on the line, or plain text for the file as a whole. A warning says
/// "Warning" in words, so colour is not the only sign.
fn issue_item(
    issue: ComposeIssue,
    warning: bool,
    go_to: impl Fn(usize, usize) + 'static,
) -> AnyView {
    let text_line = if warning {
        format!("Warning: {}", issue_text(&issue))
    } else {
        issue_text(&issue)
    };
    if issue.line == 0 {
        return view! {
            <li class="yaml-issue yaml-issue-file" class:yaml-warning=warning>
                {Icon::Alert.view()}
                <span>{text_line}</span>
            </li>
        }
        .into_any();
    }
    let (line, column) = (issue.line, issue.column);
    view! {
        <li>
            <button
                type="button"
                class="yaml-issue"
                class:yaml-warning=warning
                title="Go to this place in the file"
                on:click=move |_| go_to(line, column)
            >
                {Icon::Alert.view()}
                <span>{text_line}</span>
            </button>
        </li>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_utf16_units() {
        let text = "a: 1\nbé: 2\n  c: 3";
        assert_eq!(offset_of(text, 1, 1), 0);
        assert_eq!(offset_of(text, 2, 1), 5);
        assert_eq!(offset_of(text, 2, 3), 7);
        assert_eq!(offset_of(text, 3, 3), 13);
        assert_eq!(offset_of(text, 9, 1), utf16_len(text));
        assert_eq!(byte_index("bé:", 2), 3);
    }

    fn check(services: &[&str], warnings: usize) -> ComposeCheck {
        ComposeCheck {
            ok: true,
            errors: Vec::new(),
            warnings: (0..warnings)
                .map(|n| ComposeIssue {
                    line: n + 1,
                    column: 1,
                    message: "not honoured here".into(),
                })
                .collect(),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn the_status_counts_services_and_warnings() {
        assert_eq!(valid_text(&check(&[], 0)), "Valid · no services");
        assert_eq!(valid_text(&check(&["web"], 0)), "Valid · 1 service: web");
        assert_eq!(
            valid_text(&check(&["db", "web"], 1)),
            "Valid · 2 services: db, web · 1 warning"
        );
        assert_eq!(
            valid_text(&check(&["web"], 3)),
            "Valid · 1 service: web · 3 warnings"
        );
    }

    #[test]
    fn issues_read_like_sentences() {
        let issue = ComposeIssue {
            line: 4,
            column: 5,
            message: "unknown key `portz` in service `web`".into(),
        };
        assert_eq!(
            issue_text(&issue),
            "Line 4, column 5: unknown key `portz` in service `web`"
        );
    }
}
