//! Deploying a stack: the plan as a list, `up`/`down` runs with their
//! streamed progress (JSON lines read from the response body as they come),
//! and the panel that shows a run: a progress bar counting the steps done
//! against the steps planned, the lines beneath it, the failure up front.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::{prelude::*, task::spawn_local};
use protocol::{
    ComposeIssue, DownOptions, PlanAction, PlanStep, StackInput, StackPlan, StackProgress,
    UpOptions,
};
use wasm_bindgen::JsCast;

use crate::api::{self, ApiError};
use crate::components::{
    icons::Icon,
    layout::endpoint_path,
    progress::PromiseFuture,
    yaml_editor::{issue_text, warning_count},
};
use crate::live::js_message;
use crate::state::AppState;

// ------------------------------------------------------------ reading a streamed body

/// Calls `on_line` with each complete line of the response body as it
/// arrives (the last one too when the body ends without a newline). The
/// JSON lines of `up`/`down` are [`StackProgress`]; the images' streams have
/// their own reader in `components/progress.rs`, whose promise future this
/// shares.
pub async fn read_lines(
    response: gloo_net::http::Response,
    mut on_line: impl FnMut(&str),
) -> Result<(), String> {
    let body = response
        .body()
        .ok_or_else(|| "the answer has no body".to_owned())?;
    let reader = body.get_reader();
    let read: js_sys::Function = js_sys::Reflect::get(&reader, &"read".into())
        .map_err(|e| js_message(&e))?
        .dyn_into()
        .map_err(|_| "the browser cannot read streamed answers".to_owned())?;
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let promise: js_sys::Promise = read
            .call0(&reader)
            .map_err(|e| js_message(&e))?
            .dyn_into()
            .map_err(|_| "the browser cannot read streamed answers".to_owned())?;
        let chunk = PromiseFuture::new(&promise)
            .await
            .map_err(|e| format!("the connection to berth broke: {}", js_message(&e)))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) {
            if let Ok(bytes) = value.dyn_into::<js_sys::Uint8Array>() {
                pending.extend(bytes.to_vec());
            }
        }
        while let Some(at) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=at).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            if !text.trim().is_empty() {
                on_line(text.trim());
            }
        }
        if done {
            let text = String::from_utf8_lossy(&pending);
            if !text.trim().is_empty() {
                on_line(text.trim());
            }
            return Ok(());
        }
    }
}

// ------------------------------------------------------------ runs

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Up,
    /// `down`; `true` removes the volumes too.
    Down(bool),
    /// `up` of an older revision.
    Rollback(i64),
    /// Pull the services' images.
    Pull,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    Done(usize),
    Failed {
        service: Option<String>,
        message: String,
    },
}

/// One `up` or `down`, as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub stack: String,
    pub kind: RunKind,
    /// Steps the plan expects, when known.
    pub planned: Option<usize>,
    /// Steps, waits and the end; build and pull output goes to `logs`.
    pub lines: Vec<StackProgress>,
    /// (service, text) of the build and pull output, the last [`MAX_LOGS`].
    pub logs: Vec<(String, String)>,
    pub end: Option<RunEnd>,
}

/// Build and pull output lines kept on screen.
const MAX_LOGS: usize = 400;

/// The layer id a pull line is about (`0123456789ab: Downloading`), so a
/// layer's line is updated in place rather than repeated.
fn layer_of(text: &str) -> Option<&str> {
    let (id, _) = text.split_once(": ")?;
    (id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit())).then_some(id)
}

impl Run {
    fn push(&mut self, item: StackProgress) {
        match item {
            StackProgress::Log { service, text } => {
                if let Some(layer) = layer_of(&text) {
                    let prefix = format!("{layer}: ");
                    if let Some(line) = self
                        .logs
                        .iter_mut()
                        .rev()
                        .take(40)
                        .find(|(s, t)| *s == service && t.starts_with(&prefix))
                    {
                        line.1 = text;
                        return;
                    }
                }
                self.logs.push((service, text));
                if self.logs.len() > MAX_LOGS {
                    let extra = self.logs.len() - MAX_LOGS;
                    self.logs.drain(..extra);
                }
            }
            other => self.lines.push(other),
        }
    }
}

impl Run {
    fn steps(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| matches!(l, StackProgress::Step { .. }))
            .count()
    }

    /// Steps finished: each step line starts one, so the last is still
    /// running until the run ends well.
    pub fn completed(&self) -> usize {
        let steps = self.steps();
        match self.end {
            Some(RunEnd::Done(_)) => steps,
            _ => steps.saturating_sub(1),
        }
    }

    /// The bar's maximum: the plan's count, or more if more steps came.
    pub fn total(&self) -> Option<usize> {
        match (self.planned, &self.end) {
            (_, Some(RunEnd::Done(_))) => Some(self.steps().max(self.planned.unwrap_or(0))),
            (Some(p), _) => Some(p.max(self.steps())),
            (None, _) => None,
        }
    }

    pub fn running(&self) -> bool {
        self.end.is_none()
    }
}

/// What the progress bar counts against, found before the run starts.
#[derive(Debug, Clone)]
pub enum Planned {
    Known(usize),
    /// Ask the server for the plan of the saved file.
    Saved,
    /// The plan of this file (a rollback's revision).
    Of(StackInput),
    Unknown,
}

/// The steps a plan will carry out (everything but `keep`).
pub fn planned_steps(plan: &StackPlan) -> usize {
    plan.steps
        .iter()
        .filter(|s| s.action != PlanAction::Keep)
        .count()
}

fn verb_words(kind: RunKind) -> (&'static str, &'static str, &'static str) {
    // (doing, done, failed)
    match kind {
        RunKind::Up => ("Deploying", "Deployed", "Deploy"),
        RunKind::Down(_) => ("Taking down", "Took down", "Down"),
        RunKind::Rollback(_) => ("Rolling back", "Rolled back", "Rollback"),
        RunKind::Pull => ("Pulling the images of", "Pulled the images of", "Pull"),
    }
}

/// Starts a run of `kind` on stack `name`, shown in `run`; `done` is called
/// with whether it succeeded once it ended. A run already going is left alone.
pub fn start_run(
    app: AppState,
    run: RwSignal<Option<Run>>,
    ep: String,
    name: String,
    kind: RunKind,
    planned: Planned,
    done: impl FnOnce(bool) + 'static,
) {
    if run.with_untracked(|r| r.as_ref().is_some_and(Run::running)) {
        app.toasts
            .error("Another deploy is still running: wait for it to finish.");
        return;
    }
    run.set(Some(Run {
        stack: name.clone(),
        kind,
        planned: match planned {
            Planned::Known(n) => Some(n),
            _ => None,
        },
        lines: Vec::new(),
        logs: Vec::new(),
        end: None,
    }));
    spawn_local(async move {
        let count = match planned {
            Planned::Saved => api::plan_stack(&ep, &name, None)
                .await
                .ok()
                .map(|p| planned_steps(&p)),
            Planned::Of(input) => api::plan_stack(&ep, &name, Some(&input))
                .await
                .ok()
                .map(|p| planned_steps(&p)),
            Planned::Known(n) => Some(n),
            Planned::Unknown => None,
        };
        run.try_update(|r| {
            if let Some(r) = r {
                r.planned = count;
            }
        });
        let opened = match kind {
            RunKind::Up | RunKind::Rollback(_) => {
                let opts = UpOptions {
                    revision: match kind {
                        RunKind::Rollback(n) => Some(n),
                        _ => None,
                    },
                    services: Vec::new(),
                    remove_orphans: true,
                };
                api::stack_stream(&ep, &name, "up", &opts).await
            }
            RunKind::Down(volumes) => {
                api::stack_stream(&ep, &name, "down", &DownOptions { volumes }).await
            }
            RunKind::Pull => api::stack_stream(&ep, &name, "pull", &serde_json::json!({})).await,
        };
        let end = match opened {
            Err(e) => RunEnd::Failed {
                service: None,
                message: e.message(),
            },
            Ok(response) => {
                let end = Rc::new(RefCell::new(None::<RunEnd>));
                let seen = end.clone();
                let read = read_lines(response, move |line| {
                    let Ok(item) = serde_json::from_str::<StackProgress>(line) else {
                        return;
                    };
                    match &item {
                        StackProgress::Done { changed } => {
                            *seen.borrow_mut() = Some(RunEnd::Done(*changed));
                        }
                        StackProgress::Error { service, message } => {
                            *seen.borrow_mut() = Some(RunEnd::Failed {
                                service: service.clone(),
                                message: message.clone(),
                            });
                        }
                        _ => {}
                    }
                    run.try_update(|r| {
                        if let Some(r) = r {
                            r.push(item);
                        }
                    });
                })
                .await;
                let ended = end.borrow_mut().take();
                match (ended, read) {
                    (Some(end), _) => end,
                    (None, Err(message)) => RunEnd::Failed {
                        service: None,
                        message,
                    },
                    (None, Ok(())) => RunEnd::Failed {
                        service: None,
                        message:
                            "the answer ended before the work did; reload to see where it stands"
                                .to_owned(),
                    },
                }
            }
        };
        let ok = matches!(end, RunEnd::Done(_));
        let (_, done_word, failed_word) = verb_words(kind);
        match &end {
            RunEnd::Done(_) => app.toasts.success(format!("{done_word} {name}")),
            RunEnd::Failed { service, message } => app.toasts.error(match service {
                Some(s) => format!("{failed_word} of {name} failed at {s}: {message}"),
                None => format!("{failed_word} of {name} failed: {message}"),
            }),
        }
        run.try_update(|r| {
            if let Some(r) = r {
                r.end = Some(end);
            }
        });
        done(ok);
    });
}

// ------------------------------------------------------------ views

/// The badge colour of a plan action.
pub fn action_tone(action: PlanAction) -> &'static str {
    match action {
        PlanAction::Create => "green",
        PlanAction::Recreate => "amber",
        PlanAction::Start => "blue",
        PlanAction::Remove => "red",
        PlanAction::Keep => "grey",
    }
}

pub fn action_word(action: PlanAction) -> &'static str {
    match action {
        PlanAction::Create => "create",
        PlanAction::Recreate => "recreate",
        PlanAction::Start => "start",
        PlanAction::Remove => "remove",
        PlanAction::Keep => "keep",
    }
}

#[component]
pub fn ActionBadge(action: PlanAction) -> impl IntoView {
    view! {
        <span class=format!("badge badge-{} plan-action", action_tone(action))>{action_word(action)}</span>
    }
}

fn kind_title(kind: &str) -> &'static str {
    match kind {
        "container" => "Containers",
        "network" => "Networks",
        "volume" => "Volumes",
        _ => "Other",
    }
}

/// "2 to create · 1 to recreate · 3 unchanged".
pub fn plan_summary(plan: &StackPlan) -> String {
    let count = |a: PlanAction| plan.steps.iter().filter(|s| s.action == a).count();
    let parts: Vec<String> = [
        (PlanAction::Create, "to create"),
        (PlanAction::Recreate, "to recreate"),
        (PlanAction::Start, "to start"),
        (PlanAction::Remove, "to remove"),
        (PlanAction::Keep, "unchanged"),
    ]
    .into_iter()
    .filter_map(|(a, words)| {
        let n = count(a);
        (n > 0).then(|| format!("{n} {words}"))
    })
    .collect();
    if parts.is_empty() {
        "Nothing in the file".to_owned()
    } else {
        parts.join(" · ")
    }
}

fn step_item(step: PlanStep) -> impl IntoView {
    let label = format!("{} {} {}", action_word(step.action), step.kind, step.name);
    view! {
        <li class="plan-step" data-action=action_word(step.action) aria-label=label>
            <ActionBadge action=step.action/>
            <span class="mono plan-name">{step.name.clone()}</span>
            {step.service.clone().filter(|s| *s != step.name).map(|s| view! { <span class="tag" title="Service">{s}</span> })}
            {(!step.reasons.is_empty()).then(|| view! {
                <span class="plan-reasons" aria-label="Why">
                    {step.reasons.iter().map(|r| view! { <span class="plan-reason">{r.clone()}</span> }).collect_view()}
                </span>
            })}
        </li>
    }
}

/// The plan, grouped by kind (containers, networks, volumes), each step
/// with its action badge and, for a recreate, the reasons.
#[component]
pub fn PlanSteps(plan: StackPlan) -> impl IntoView {
    let summary = plan_summary(&plan);
    let unchanged = plan.unchanged;
    let groups: Vec<(&'static str, Vec<PlanStep>)> = ["container", "network", "volume"]
        .into_iter()
        .map(|kind| {
            let mut steps: Vec<PlanStep> = plan
                .steps
                .iter()
                .filter(|s| s.kind == kind)
                .cloned()
                .collect();
            // Changes first, what stays last.
            steps.sort_by_key(|s| s.action == PlanAction::Keep);
            (kind_title(kind), steps)
        })
        .chain(std::iter::once((
            "Other",
            plan.steps
                .iter()
                .filter(|s| !matches!(s.kind.as_str(), "container" | "network" | "volume"))
                .cloned()
                .collect(),
        )))
        .filter(|(_, steps)| !steps.is_empty())
        .collect();
    let warnings = warnings_banner(plan.warnings.clone());
    view! {
        <div class="plan">
            {warnings}
            {if unchanged {
                view! {
                    <div class="banner plan-same" role="status">
                        {Icon::Check.view()}
                        <div class="banner-text">
                            <strong>"Nothing to do — the stack matches the file"</strong>
                            <p>{summary.clone()}</p>
                        </div>
                    </div>
                }
                .into_any()
            } else {
                view! { <p class="plan-summary" role="status">{summary.clone()}</p> }.into_any()
            }}
            {groups
                .into_iter()
                .map(|(title, steps)| {
                    view! {
                        <section class="plan-group" aria-label=title>
                            <h3 class="plan-group-title">{title}</h3>
                            <ul class="plan-list">{steps.into_iter().map(step_item).collect_view()}</ul>
                        </section>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// One line of a run; `current` is the line of the work going on now.
fn line_view(line: &StackProgress, current: bool) -> AnyView {
    match line {
        StackProgress::Step {
            action,
            kind,
            name,
            service,
        } => {
            let service = service.clone().filter(|s| s != name);
            view! {
                <li class="run-step">
                    <ActionBadge action=*action/>
                    <span class="muted">{kind.clone()}</span>
                    <span class="mono">{name.clone()}</span>
                    {service.map(|s| view! { <span class="tag" title="Service">{s}</span> })}
                </li>
            }
            .into_any()
        }
        StackProgress::Waiting { service, condition } if current => view! {
            <li class="run-step run-step-waiting">
                <span class="spinner spinner-sm" aria-hidden="true"></span>
                <span>{format!("Waiting for {service} ({condition})…")}</span>
            </li>
        }
        .into_any(),
        StackProgress::Waiting { service, condition } => view! {
            <li class="run-step run-step-waited">
                {Icon::Check.view()}
                <span>{format!("Waited for {service} ({condition})")}</span>
            </li>
        }
        .into_any(),
        StackProgress::Log { service, text } => view! {
            <li class="run-step mono">{format!("{service} | {text}")}</li>
        }
        .into_any(),
        StackProgress::Done { changed } => view! {
            <li class="run-step run-step-done">
                {Icon::Check.view()}
                <span>{match changed {
                    0 => "Done · nothing changed".to_owned(),
                    1 => "Done · 1 change".to_owned(),
                    n => format!("Done · {n} changes"),
                }}</span>
            </li>
        }
        .into_any(),
        StackProgress::Error { service, message } => view! {
            <li class="run-step run-step-error">
                {Icon::Alert.view()}
                <span>{match service {
                    Some(s) => format!("{s}: {message}"),
                    None => message.clone(),
                }}</span>
            </li>
        }
        .into_any(),
    }
}

/// The panel of the current run: heading, progress bar, the failure if any,
/// and the streamed lines. Hidden when there is no run; closable once over.
#[component]
pub fn RunPanel(
    run: RwSignal<Option<Run>>,
    /// The endpoint, for the link to the stack (shown on list pages).
    #[prop(optional, into)]
    link_ep: Option<String>,
) -> impl IntoView {
    move || {
        let r = run.get()?;
        let (doing, done_word, failed_word) = verb_words(r.kind);
        let name = r.stack.clone();
        let what = match r.kind {
            RunKind::Rollback(n) => format!("{name} to revision {n}"),
            _ => name.clone(),
        };
        let heading = match &r.end {
            None => format!("{doing} {what}…"),
            Some(RunEnd::Done(_)) => format!("{done_word} {what}"),
            Some(RunEnd::Failed { .. }) => format!("{failed_word} of {what} failed"),
        };
        let completed = r.completed();
        let total = r.total();
        let (value_text, pct) = match total {
            Some(0) => ("nothing to do".to_owned(), 100.0),
            Some(t) => (
                format!("{completed} of {t} steps"),
                completed as f64 * 100.0 / t as f64,
            ),
            None if r.running() => (format!("{completed} steps done"), -1.0),
            None => (format!("{completed} steps"), 100.0),
        };
        let failure = match &r.end {
            Some(RunEnd::Failed { service, message }) => Some(view! {
                <div class="banner banner-danger run-failure" role="alert">
                    {Icon::Alert.view()}
                    <div class="banner-text">
                        <strong>{match service {
                            Some(s) => format!("Service {s} failed"),
                            None => "What went wrong".to_owned(),
                        }}</strong>
                        <p>{message.clone()}</p>
                    </div>
                </div>
            }),
            _ => None,
        };
        let link = link_ep.clone().map(|ep| {
            endpoint_path(
                &ep,
                &format!(
                    "stacks/{}",
                    String::from(js_sys::encode_uri_component(&name))
                ),
            )
        });
        let running = r.running();
        let tone = match &r.end {
            None => "run-going",
            Some(RunEnd::Done(_)) => "run-ok",
            Some(RunEnd::Failed { .. }) => "run-failed",
        };
        let label = match r.kind {
            RunKind::Down(_) => "Down progress",
            RunKind::Rollback(_) => "Rollback progress",
            RunKind::Pull => "Pull progress",
            RunKind::Up => "Deploy progress",
        };
        let logs = (!r.logs.is_empty()).then(|| {
            let text: String = r
                .logs
                .iter()
                .map(|(service, text)| format!("{service} | {text}\n"))
                .collect();
            view! {
                <details class="run-logs" open=running>
                    <summary>{format!("Build and pull output ({} lines)", r.logs.len())}</summary>
                    <pre class="code run-log" tabindex="0" aria-label="Build and pull output">{text}</pre>
                </details>
            }
        });
        Some(view! {
            <section class=format!("card run-card {tone}") aria-label=label aria-busy=running.then_some("true")>
                <div class="card-head">
                    <h2 class="card-title run-title">
                        {running.then(|| view! { <span class="spinner spinner-sm" aria-hidden="true"></span> })}
                        {heading}
                    </h2>
                    <div class="page-actions">
                        {link.map(|href| view! { <a class="btn btn-sm" href=href>"Open stack"</a> })}
                        {(!running).then(|| view! {
                            <button type="button" class="btn-icon" aria-label="Close the progress panel" title="Close" on:click=move |_| run.set(None)>
                                {Icon::Close.view()}
                            </button>
                        })}
                    </div>
                </div>
                <div
                    class="run-bar"
                    class:run-bar-busy=pct < 0.0
                    role="progressbar"
                    aria-label=label
                    aria-valuemin="0"
                    aria-valuemax=total.map(|t| t.max(1).to_string())
                    aria-valuenow=total.map(|_| completed.to_string())
                    aria-valuetext=value_text.clone()
                >
                    <div class="run-bar-fill" style:width=if pct < 0.0 { "30%".to_owned() } else { format!("{pct:.1}%") }></div>
                </div>
                <p class="run-count muted">{value_text}</p>
                {failure}
                <ol class="run-steps" aria-label="Steps" aria-live="polite">
                    {
                        let last = r.lines.len().saturating_sub(1);
                        r.lines
                            .iter()
                            .enumerate()
                            .map(|(i, line)| line_view(line, running && i == last))
                            .collect_view()
                    }
                </ol>
                {logs}
            </section>
        })
    }
}

/// The keys of a stack's file berth takes but cannot honour on this engine,
/// in an amber banner above a plan or the resolved file (nothing when there
/// are none): the file still deploys, without them.
pub fn warnings_banner(warnings: Vec<ComposeIssue>) -> Option<impl IntoView> {
    if warnings.is_empty() {
        return None;
    }
    let title = format!(
        "{}: berth cannot honour these keys here; the rest of the file deploys",
        warning_count(warnings.len())
    );
    Some(view! {
        <div class="banner banner-warning compose-warnings-banner" role="note" aria-label="Warnings">
            {Icon::Alert.view()}
            <div class="banner-text">
                <strong>{title}</strong>
                <ul class="compose-warnings">
                    {warnings
                        .iter()
                        .map(|w| view! { <li>{format!("Warning: {}", issue_text(w))}</li> })
                        .collect_view()}
                </ul>
            </div>
        </div>
    })
}

/// The error of a failed call, for a banner.
pub fn error_banner(title: &'static str, error: ApiError) -> impl IntoView {
    view! {
        <div class="banner banner-danger" role="alert">
            {Icon::Alert.view()}
            <div class="banner-text">
                <strong>{title}</strong>
                <p>{error.message()}</p>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str) -> StackProgress {
        StackProgress::Step {
            action: PlanAction::Create,
            kind: "container".into(),
            name: name.into(),
            service: None,
        }
    }

    #[test]
    fn the_bar_counts_finished_steps() {
        let mut run = Run {
            stack: "shop".into(),
            kind: RunKind::Up,
            planned: Some(3),
            lines: Vec::new(),
            logs: Vec::new(),
            end: None,
        };
        assert_eq!((run.completed(), run.total()), (0, Some(3)));
        run.push(step("a"));
        run.push(step("b"));
        assert_eq!((run.completed(), run.total()), (1, Some(3)));
        run.push(step("c"));
        run.push(StackProgress::Done { changed: 3 });
        run.end = Some(RunEnd::Done(3));
        assert_eq!((run.completed(), run.total()), (3, Some(3)));
    }

    #[test]
    fn pull_lines_of_a_layer_update_in_place() {
        let mut run = Run {
            stack: "shop".into(),
            kind: RunKind::Pull,
            planned: None,
            lines: Vec::new(),
            logs: Vec::new(),
            end: None,
        };
        let log = |text: &str| StackProgress::Log {
            service: "web".into(),
            text: text.into(),
        };
        run.push(log("Pulling from library/nginx"));
        run.push(log("0123456789ab: Downloading"));
        run.push(log("0123456789ab: Pull complete"));
        assert_eq!(run.logs.len(), 2);
        assert_eq!(run.logs[1].1, "0123456789ab: Pull complete");
        assert!(run.lines.is_empty());
    }
}
