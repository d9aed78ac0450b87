//! The resolved compose file, as `docker compose config` prints it: the
//! stack's files after interpolation, the override file, `include`,
//! `extends`, anchors and merge keys, written back as YAML.

use super::load::{load, Source};
use super::yaml::{Node, Value};
use protocol::ComposeIssue;

/// Loads the stack's files and writes the result as YAML.
pub fn resolved(src: &Source<'_>) -> Result<String, Vec<ComposeIssue>> {
    let loaded = load(src)?;
    let mut out = String::new();
    write_node(&mut out, &loaded.root, 0);
    let mut out = out.trim_start_matches('\n').to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

fn write_node(out: &mut String, node: &Node, indent: usize) {
    match &node.value {
        Value::Scalar(s) => {
            out.push(' ');
            out.push_str(&scalar(&s.text, s.plain));
            out.push('\n');
        }
        Value::Sequence(items) if items.is_empty() => out.push_str(" []\n"),
        Value::Mapping(m) if m.is_empty() => out.push_str(" {}\n"),
        Value::Sequence(items) => {
            out.push('\n');
            for item in items {
                out.push_str(&" ".repeat(indent));
                out.push('-');
                match &item.value {
                    Value::Mapping(m) if !m.is_empty() => {
                        // The first key on the dash's line, the rest under it.
                        write_mapping(out, item, indent + 2, true);
                    }
                    _ => write_node(out, item, indent + 2),
                }
            }
        }
        Value::Mapping(_) => {
            out.push('\n');
            write_mapping(out, node, indent, false);
        }
    }
}

fn write_mapping(out: &mut String, node: &Node, indent: usize, after_dash: bool) {
    let Value::Mapping(m) = &node.value else {
        return;
    };
    for (i, (k, v)) in m.iter().enumerate() {
        if i == 0 && after_dash {
            out.push(' ');
        } else {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&scalar(&k.text, true));
        out.push(':');
        write_node(out, v, indent + 2);
    }
}

/// A scalar as YAML: plain when it reads back as the same string (or when
/// it was plain in the file: numbers and booleans stay what they were),
/// double-quoted otherwise.
fn scalar(text: &str, was_plain: bool) -> String {
    let plain_safe = !text.is_empty()
        && !text.starts_with(|c: char| " -?:,[]{}#&*!|>'\"%@`~".contains(c))
        && !text.ends_with(' ')
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.contains('\n')
        && text.chars().all(|c| !c.is_control());
    let looks_special = matches!(
        text,
        "null"
            | "Null"
            | "NULL"
            | "~"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "Yes"
            | "No"
            | "On"
            | "Off"
    ) || text.parse::<f64>().is_ok();
    if plain_safe && (!looks_special || was_plain) {
        return text.to_string();
    }
    let mut q = String::with_capacity(text.len() + 2);
    q.push('"');
    for c in text.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            c if c.is_control() => q.push_str(&format!("\\u{:04x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may panic on a wrong result")]
mod tests {
    use super::*;

    fn src<'a>(compose: &'a str, env: &'a str) -> Source<'a> {
        Source {
            compose,
            env,
            project_dir: "/",
            read_files: false,
            home: None,
        }
    }

    #[test]
    fn prints_what_interpolation_and_anchors_made_and_reads_back_the_same() {
        let compose = "x-env: &env\n  A: ${A:-one}\n  QUOTE: 'say \"hi\": now'\nservices:\n  web:\n    image: busybox:${TAG}\n    environment: *env\n    command: [sh, -c, 'echo $$HOME']\n    ports: [\"8080:80\"]\n    healthcheck:\n      disable: true\n    labels: {}\n";
        let text = resolved(&src(compose, "TAG=1.36\n")).unwrap();
        assert!(text.contains("image: busybox:1.36"), "{text}");
        assert!(text.contains("A: one"), "{text}");
        assert!(text.contains("echo $HOME"), "{text}");
        // What it prints parses to the same tree (no `$` left to expand).
        let again = resolved(&src(&text.replace('$', "$$"), "")).unwrap();
        assert_eq!(again, text);
        let file = super::super::parse(&text.replace('$', "$$"), "", "/").unwrap();
        assert_eq!(file.services["web"].environment["QUOTE"], "say \"hi\": now");
        assert_eq!(file.services["web"].ports.len(), 1);
    }
}
