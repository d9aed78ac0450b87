//! What a viewer may not read: environment values. Viewers see every
//! variable's name and `••••••` in place of its value, wherever berth would
//! show one:
//!
//! - a container's env (`KEY=value` items) and its spec's env map, and the
//!   compose service made from a container;
//! - an image's `ENV` (its config, and the `ENV` steps and build arguments
//!   in its history);
//! - a stack's `.env`: every `KEY=value` line's value (lines that are not
//!   blank, a comment or `KEY=...` are masked whole);
//! - a stack's compose file, its revisions, their diff and the resolved
//!   config: the values under every `environment:` (block or flow, mapping
//!   or list), and, anywhere in the text, any value (4 characters or more)
//!   the `.env` or a service's resolved environment holds, which catches
//!   anchors (`x-env: &env`), `${VAR}` interpolated into other keys, and the
//!   config's printed `x-` blocks.
//!
//! Operators and admins see everything.

use std::collections::{BTreeMap, BTreeSet};

use protocol::{
    ComposeSnippet, ContainerDetail, ContainerSpec, ImageDetail, Role, StackConfig, StackDetail,
    StackRevision,
};

use crate::auth::Principal;

/// What a viewer sees in place of a value.
pub const MASK: &str = "••••••";

/// Shorter values are not searched for in free text: masking every `1`
/// or `yes` would garble the file and hide nothing worth hiding.
const MIN_SEARCHED: usize = 4;

/// Whether `me` must not see environment values.
pub fn hides_values(me: &Principal) -> bool {
    me.role < Role::Operator
}

/// `KEY=value` items as `KEY=••••••`; a bare `KEY` stays as it is.
pub fn env_list(env: &mut [String]) {
    for item in env.iter_mut() {
        if let Some((key, _)) = item.split_once('=') {
            *item = format!("{key}={MASK}");
        }
    }
}

/// Every value of a name-to-value map.
pub fn env_map(env: &mut BTreeMap<String, String>) {
    for value in env.values_mut() {
        *value = MASK.to_string();
    }
}

pub fn container_detail(detail: &mut ContainerDetail) {
    env_list(&mut detail.config.env);
}

pub fn container_spec(spec: &mut ContainerSpec) {
    env_map(&mut spec.env);
}

/// The compose service made from a container: its `environment:` values.
pub fn snippet(snippet: &mut ComposeSnippet) {
    snippet.yaml = compose_text(&snippet.yaml, &BTreeSet::new());
}

/// An image's `ENV`, and the `ENV` steps and build arguments its history
/// records.
pub fn image_detail(detail: &mut ImageDetail) {
    env_list(&mut detail.config.env);
    for layer in &mut detail.layers {
        layer.instruction = instruction(&layer.instruction);
        layer.created_by = instruction(&layer.created_by);
    }
}

/// One history step: `ENV A=1 B=2` as `ENV A=•••••• B=••••••` (the legacy
/// `ENV A 1` as `ENV A ••••••`), and a `RUN` step's build arguments
/// (`|2 A=1 B=2 /bin/sh -c ...`) likewise.
fn instruction(text: &str) -> String {
    let mut text = text.to_string();
    if let Some(rest) = text.strip_prefix('|') {
        let (count, args) = rest.split_once(' ').unwrap_or((rest, ""));
        if let Ok(n) = count.parse::<usize>() {
            let mut words = args.splitn(n + 1, ' ');
            let mut out = format!("|{count}");
            for _ in 0..n {
                match words.next() {
                    Some(w) => {
                        out.push(' ');
                        out.push_str(&mask_assignment(w));
                    }
                    None => break,
                }
            }
            if let Some(tail) = words.next() {
                out.push(' ');
                out.push_str(tail);
            }
            text = out;
        }
    }
    let Some(at) = find_word(&text, "ENV") else {
        return text;
    };
    let (head, rest) = text.split_at(at + 3);
    let rest = rest.trim_start();
    let first = rest.split_whitespace().next().unwrap_or("");
    if first.is_empty() {
        return text;
    }
    let masked = if first.contains('=') {
        // Names are the words that look like `NAME=`; a value with a space
        // in it cannot make a name appear where there was a value.
        rest.split_whitespace()
            .filter_map(|w| w.split_once('=').map(|(k, _)| k))
            .filter(|k| is_name(k))
            .map(|k| format!("{k}={MASK}"))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        format!("{first} {MASK}")
    };
    format!("{head} {masked}")
}

/// Where `word` starts as a whole word (after a space or at the start).
fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(word) {
        let at = from + i;
        let before = at == 0 || text[..at].ends_with(char::is_whitespace);
        let after = text[at + word.len()..]
            .chars()
            .next()
            .is_some_and(char::is_whitespace);
        if before && after {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn mask_assignment(word: &str) -> String {
    match word.split_once('=') {
        Some((k, _)) => format!("{k}={MASK}"),
        None => word.to_string(),
    }
}

/// `.env` text: every `KEY=value` line as `KEY=••••••`. Blank lines and
/// comments stay; any other line (a quoted value's second line) is masked
/// whole.
pub fn env_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, eol) = split_eol(line);
        let trimmed = body.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            out.push_str(line);
            continue;
        }
        match body.split_once('=') {
            Some((key, _)) => {
                out.push_str(key);
                out.push('=');
                out.push_str(MASK);
            }
            None => out.push_str(MASK),
        }
        out.push_str(eol);
    }
    out
}

/// The values a stack's texts may show in clear: the `.env`'s, and each
/// service's resolved environment (when the file parses).
pub fn stack_values(compose: &str, env: &str, dir: &str) -> BTreeSet<String> {
    let mut values = BTreeSet::new();
    for line in env.lines() {
        let line = line.trim_start();
        if line.starts_with('#') {
            continue;
        }
        if let Some((_, v)) = line.split_once('=') {
            let v = v.trim();
            values.insert(v.to_string());
            values.insert(v.trim_matches(|c| c == '"' || c == '\'').to_string());
        }
    }
    if let Ok(file) = crate::stacks::parse(compose, env, dir) {
        for service in file.services.values() {
            values.extend(service.environment.values().cloned());
        }
    }
    values.retain(|v| v.chars().count() >= MIN_SEARCHED);
    values
}

pub fn stack_detail(detail: &mut StackDetail, dir: &str) {
    let values = stack_values(&detail.compose, &detail.env, dir);
    detail.compose = compose_text(&detail.compose, &values);
    detail.env = env_text(&detail.env);
}

pub fn revision(rev: &mut StackRevision, dir: &str) {
    let values = stack_values(&rev.compose, &rev.env, dir);
    rev.compose = compose_text(&rev.compose, &values);
    rev.env = env_text(&rev.env);
}

/// The resolved config; `values` from [`stack_values`] of the stack's
/// current file.
pub fn config(config: &mut StackConfig, values: &BTreeSet<String>) {
    config.config = compose_text(&config.config, values);
}

/// Compose text with the values under every `environment:` masked, and
/// then every one of `values` wherever else it appears.
pub fn compose_text(text: &str, values: &BTreeSet<String>) -> String {
    let mut out = String::with_capacity(text.len());
    // Inside an `environment:` block: the key's indent, and its entries'.
    let mut block: Option<(usize, Option<usize>)> = None;
    for line in text.split_inclusive('\n') {
        let (body, eol) = split_eol(line);
        let indent = body.len() - body.trim_start_matches(' ').len();
        let rest = &body[indent..];
        if rest.trim().is_empty() || rest.starts_with('#') {
            out.push_str(line);
            continue;
        }
        if let Some((key_indent, entries)) = &mut block {
            // YAML lets a list sit at its key's own indent.
            let same_indent_item = indent == *key_indent
                && rest.starts_with('-')
                && entries.is_none_or(|e| e == indent);
            if indent > *key_indent || same_indent_item {
                let entry = *entries.get_or_insert(indent);
                if indent <= entry {
                    out.push_str(&env_entry(body, indent));
                } else {
                    // A block scalar's or a flow's next line.
                    out.push_str(&body[..indent]);
                    out.push_str(MASK);
                }
                out.push_str(eol);
                continue;
            }
            block = None;
        }
        // `- environment:` is not compose, but costs nothing to cover.
        let (dash, key_at) = match rest.strip_prefix("- ") {
            Some(after) => (true, indent + 2 + (after.len() - after.trim_start().len())),
            None => (false, indent),
        };
        let Some(value) = key_value(&body[key_at..], "environment") else {
            out.push_str(line);
            continue;
        };
        let value_at = body.len() - value.len();
        let v = value.trim();
        if v.is_empty() || v.starts_with('#') || (v.starts_with('&') && !v.contains(' ')) {
            block = Some((if dash { key_at } else { indent }, None));
            out.push_str(line);
            continue;
        }
        out.push_str(&body[..value_at]);
        if v.starts_with('*') {
            // An alias: the anchored values are masked where they stand,
            // by value.
            out.push_str(value);
        } else if v.starts_with('{') || v.starts_with('[') {
            out.push(' ');
            out.push_str(&flow(v));
            if !(v.ends_with('}') || v.ends_with(']')) {
                block = Some((indent, None));
            }
        } else {
            out.push(' ');
            out.push_str(MASK);
        }
        out.push_str(eol);
    }
    mask_values(out, values)
}

/// Every occurrence of each value (longest first, so a value inside
/// another does not leave the rest of the longer one), also as compose
/// writes it with `$` doubled.
fn mask_values(mut text: String, values: &BTreeSet<String>) -> String {
    let mut all: Vec<String> = values
        .iter()
        .flat_map(|v| [v.clone(), v.replace('$', "$$")])
        .filter(|v| v.chars().count() >= MIN_SEARCHED && !v.contains(MASK))
        .collect();
    all.sort_by_key(|v| std::cmp::Reverse(v.len()));
    all.dedup();
    for v in all {
        if text.contains(&v) {
            text = text.replace(&v, MASK);
        }
    }
    text
}

/// One entry of an `environment:` block at `indent`: `KEY: value`,
/// `- KEY=value` (quoted or not), or `<<: *alias`.
fn env_entry(body: &str, indent: usize) -> String {
    let (lead, item) = body.split_at(indent);
    if let Some(after) = item.strip_prefix('-') {
        let after = after.trim_start();
        let (quote, inner) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &after[1..]),
            _ => (None, after),
        };
        return match inner.split_once('=') {
            Some((key, _)) => {
                let q = quote.map(String::from).unwrap_or_default();
                format!("{lead}- {q}{key}={MASK}{q}")
            }
            // A bare name takes its value from berth's own environment.
            None if is_name(after) => body.to_string(),
            None => format!("{lead}- {MASK}"),
        };
    }
    if item.starts_with("<<:") {
        return body.to_string();
    }
    match mapping_key(item) {
        Some((key, value)) => {
            let v = value.trim();
            if v.is_empty() || v.starts_with('#') || v == "null" || v == "~" {
                body.to_string()
            } else {
                format!("{lead}{key} {MASK}")
            }
        }
        None => format!("{lead}{MASK}"),
    }
}

/// `key:` and what follows it, when `text` starts with the mapping key
/// `key` (plain or quoted).
fn key_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let (found, rest) = mapping_key(text)?;
    let name = found
        .trim_end_matches(':')
        .trim_matches(|c| c == '"' || c == '\'');
    (name == key).then_some(rest)
}

/// Splits `KEY: value` into `KEY:` and ` value`. The key may be quoted.
fn mapping_key(text: &str) -> Option<(&str, &str)> {
    let end_of_key = match text.chars().next()? {
        q @ ('"' | '\'') => text[1..].find(q)? + 2,
        _ => text.find(':')?,
    };
    let after = &text[end_of_key..];
    let after = after.strip_prefix(':')?;
    if !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    Some((&text[..=end_of_key], after))
}

/// A flow `{A: 1, B: 2}` or `[A=1, B]` with the values masked.
fn flow(v: &str) -> String {
    let (open, close) = if v.starts_with('{') {
        ('{', '}')
    } else {
        ('[', ']')
    };
    let inner = v.trim_start_matches(open).trim_end_matches(close).trim();
    let items: Vec<String> = inner
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|item| {
            let (quote, bare) = match item.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    (q.to_string(), item.trim_matches(|c| c == '"' || c == '\''))
                }
                _ => (String::new(), item),
            };
            if open == '{' {
                match mapping_key(item) {
                    Some((key, _)) => format!("{key} {MASK}"),
                    None => MASK.to_string(),
                }
            } else {
                match bare.split_once('=') {
                    Some((key, _)) => format!("{quote}{key}={MASK}{quote}"),
                    None if is_name(bare) => item.to_string(),
                    None => MASK.to_string(),
                }
            }
        })
        .collect();
    format!("{open}{}{close}", items.join(", "))
}

fn split_eol(line: &str) -> (&str, &str) {
    let body = line.trim_end_matches(['\n', '\r']);
    (body, &line[body.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> BTreeSet<String> {
        BTreeSet::new()
    }

    #[test]
    fn masks_env_text_keeping_names_and_comments() {
        let text = "# the db\nDB_PASSWORD=hunter22\n\nexport TOKEN = abc\nnot an assignment\n";
        assert_eq!(
            env_text(text),
            "# the db\nDB_PASSWORD=••••••\n\nexport TOKEN =••••••\n••••••\n"
        );
    }

    #[test]
    fn masks_environment_blocks_in_every_form() {
        let compose = "services:\n  web:\n    image: busybox\n    environment:\n      A: secret-a\n      \"B\": 'secret b'\n      EMPTY:\n      LONG: |\n        line one\n        line two\n    command: [sleep, '1']\n  db:\n    environment:\n      - C=secret-c\n      - \"D=secret d\"\n      - FROM_HOST\n  z:\n    environment:\n    - Z=secret-z\n    image: z\n  x:\n    environment: {E: secret-e, F: f}\n  y:\n    environment: [G=secret-g, H]\n";
        let out = compose_text(compose, &none());
        for secret in [
            "secret-a", "secret b", "line one", "secret-c", "secret d", "secret-e", "secret-g",
            "secret-z",
        ] {
            assert!(!out.contains(secret), "{secret} leaked:\n{out}");
        }
        for kept in [
            "A: ••••••",
            "\"B\": ••••••",
            "EMPTY:\n",
            "LONG: ••••••",
            "- C=••••••",
            "- \"D=••••••\"",
            "- FROM_HOST",
            "{E: ••••••, F: ••••••}",
            "[G=••••••, H]",
            "    - Z=••••••\n    image: z",
            "command: [sleep, '1']",
            "image: busybox",
        ] {
            assert!(out.contains(kept), "{kept} missing:\n{out}");
        }
    }

    #[test]
    fn masks_anchored_and_interpolated_values_by_value() {
        let compose = "x-env: &env\n  PASSWORD: topsecret-anchor\nservices:\n  web:\n    image: busybox\n    environment: *env\n    command: [\"--token=${TOKEN}\"]\n";
        let env = "TOKEN=topsecret-token\n";
        let values = stack_values(compose, env, "/");
        let out = compose_text(compose, &values);
        assert!(!out.contains("topsecret-anchor"), "{out}");
        assert!(out.contains("PASSWORD: ••••••"), "{out}");
        // The config prints the resolved text: the token appears in clear
        // there unless masked by value.
        let resolved = "services:\n  web:\n    command:\n      - --token=topsecret-token\n";
        let out = compose_text(resolved, &values);
        assert!(!out.contains("topsecret-token"), "{out}");
    }

    #[test]
    fn masks_image_env_steps_and_build_arguments() {
        assert_eq!(
            instruction("/bin/sh -c #(nop)  ENV A=1 PASSWORD=hunter2"),
            "/bin/sh -c #(nop)  ENV A=•••••• PASSWORD=••••••"
        );
        assert_eq!(instruction("ENV KEY some value"), "ENV KEY ••••••");
        assert_eq!(
            instruction("|2 TOKEN=abc B=2 /bin/sh -c echo hi"),
            "|2 TOKEN=•••••• B=•••••• /bin/sh -c echo hi"
        );
        assert_eq!(instruction("RUN echo ENVIRONMENT"), "RUN echo ENVIRONMENT");
    }

    #[test]
    fn masks_env_lists_keeping_bare_names() {
        let mut env = vec!["A=1".to_string(), "B".to_string(), "C=x=y".to_string()];
        env_list(&mut env);
        assert_eq!(env, ["A=••••••", "B", "C=••••••"]);
    }
}
