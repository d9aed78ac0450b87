//! The compose corpus: real files from well-known apps and the compose
//! project's samples (`backend/tests/compose-corpus/`), each parsed and
//! planned as a user pasting it would see it.
//!
//! The test pins which folders fail today, so it breaks both when a file
//! newly fails and when one starts passing: the list below shrinks as the
//! parser grows, and no regression slips in silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::plan::active_services;

/// Folders whose file berth refuses today. Remove a name when its file
/// starts to validate; never add one without a reason in the commit.
const EXPECTED_FAILURES: &[&str] = &[];

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/compose-corpus");

/// What parsing and planning one folder gave.
enum Outcome {
    /// Validated; the services `up` would start, in start order.
    Planned(Vec<String>),
    /// Refused; the first issue as `line:column message`, and every
    /// issue's message with the file's own names blanked (see [`kind`]).
    Refused(String, Vec<String>),
}

/// An issue's message with the names that differ per file (services,
/// files, paths) blanked, so the same missing key groups as one row.
/// A message that opens with a quoted key keeps that key.
fn kind(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(start) = rest.find(['`', '"']) {
        let quote = &rest[start..=start];
        let opens_message = out.is_empty() && start == 0;
        out.push_str(&rest[..=start]);
        let inside = &rest[start + 1..];
        let Some(end) = inside.find(quote) else {
            rest = inside;
            break;
        };
        if opens_message {
            out.push_str(&inside[..end]);
        } else {
            out.push('…');
        }
        out.push_str(quote);
        rest = &inside[end + 1..];
    }
    out.push_str(rest);
    out
}

fn folders() -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(CORPUS) {
        Ok(entries) => entries,
        Err(e) => panic!("cannot read the corpus at {CORPUS}: {e}"),
    };
    let mut folders: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("compose.yaml").is_file())
        .collect();
    folders.sort();
    folders
}

fn run(folder: &Path) -> Outcome {
    let compose = match std::fs::read_to_string(folder.join("compose.yaml")) {
        Ok(text) => text,
        Err(e) => panic!("cannot read {}/compose.yaml: {e}", folder.display()),
    };
    // A folder without `.env` is a stack whose user left it empty.
    let env = std::fs::read_to_string(folder.join(".env")).unwrap_or_default();
    let dir = folder.to_string_lossy();
    // As a saved stack: its folder holds the files the compose file names.
    let src = super::Source {
        compose: &compose,
        env: &env,
        project_dir: &dir,
        read_files: true,
        home: Some("/root".into()),
    };
    match super::parse_source(&src) {
        Ok(file) => {
            // Planning must not panic on anything the parser accepted.
            let active = active_services(&file, &[], &[]);
            let order = file.start_order();
            assert_eq!(
                order.len(),
                file.services.len(),
                "{}: start order lost services",
                folder.display()
            );
            Outcome::Planned(active)
        }
        Err(issues) => {
            let first = issues
                .first()
                .map(|i| format!("{}:{} {}", i.line, i.column, i.message))
                .unwrap_or_else(|| "refused without an issue".to_string());
            let mut kinds: Vec<String> = issues.iter().map(|i| kind(&i.message)).collect();
            kinds.sort();
            kinds.dedup();
            Outcome::Refused(first, kinds)
        }
    }
}

fn print_groups(title: &str, groups: &BTreeMap<String, Vec<String>>) {
    let mut rows: Vec<(&String, &Vec<String>)> = groups.iter().collect();
    rows.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    println!("| {title} | files | which |\n| --- | --- | --- |");
    for (message, names) in rows {
        println!("| {message} | {} | {} |", names.len(), names.join(", "));
    }
    println!();
}

#[test]
fn corpus_validates_as_expected() {
    let folders = folders();
    assert!(!folders.is_empty(), "the corpus at {CORPUS} is empty");

    let mut failing: Vec<String> = Vec::new();
    // Files grouped by their first error, and by every error they carry
    // (what each missing feature blocks once the ones before it land).
    let mut by_first: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut by_any: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut table = String::new();
    for folder in &folders {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match run(folder) {
            Outcome::Planned(active) => {
                table.push_str(&format!("| {name} | ok ({} services) |\n", active.len()));
            }
            Outcome::Refused(first, kinds) => {
                table.push_str(&format!("| {name} | {first} |\n"));
                let message = first.split_once(' ').map_or(first.as_str(), |(_, m)| m);
                by_first
                    .entry(kind(message))
                    .or_default()
                    .push(name.clone());
                for k in kinds {
                    by_any.entry(k).or_default().push(name.clone());
                }
                failing.push(name);
            }
        }
    }

    let total = folders.len();
    println!("| folder | result |\n| --- | --- |\n{table}");
    println!("{} of {total} validate\n", total - failing.len());
    print_groups("first error", &by_first);
    print_groups("any error", &by_any);

    let expected: Vec<&str> = EXPECTED_FAILURES.to_vec();
    let newly_failing: Vec<&String> = failing
        .iter()
        .filter(|f| !expected.contains(&f.as_str()))
        .collect();
    let newly_passing: Vec<&&str> = expected
        .iter()
        .filter(|e| !failing.iter().any(|f| f == *e))
        .collect();
    assert!(
        newly_failing.is_empty() && newly_passing.is_empty(),
        "the corpus moved: newly failing {newly_failing:?}; now passing (remove from \
         EXPECTED_FAILURES) {newly_passing:?}"
    );
}
