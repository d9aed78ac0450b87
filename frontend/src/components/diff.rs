//! A unified diff, shown with its `+`/`-` signs kept and the added and
//! removed lines coloured (the sign is there, so colour is not the only
//! signal).

use leptos::prelude::*;

/// What a line of a unified diff is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffLine {
    Added,
    Removed,
    Hunk,
    Context,
}

impl DiffLine {
    pub fn of(line: &str) -> DiffLine {
        if line.starts_with("@@") {
            DiffLine::Hunk
        } else if line.starts_with('+') {
            DiffLine::Added
        } else if line.starts_with('-') {
            DiffLine::Removed
        } else {
            DiffLine::Context
        }
    }

    fn class(self) -> &'static str {
        match self {
            DiffLine::Added => "diff-line diff-add",
            DiffLine::Removed => "diff-line diff-del",
            DiffLine::Hunk => "diff-line diff-hunk",
            DiffLine::Context => "diff-line",
        }
    }
}

/// (added, removed) line counts.
pub fn diff_stats(diff: &str) -> (usize, usize) {
    diff.lines()
        .fold((0, 0), |(a, r), line| match DiffLine::of(line) {
            DiffLine::Added => (a + 1, r),
            DiffLine::Removed => (a, r + 1),
            _ => (a, r),
        })
}

#[component]
pub fn DiffView(
    #[prop(into)] diff: String,
    /// Names the region for screen readers: "Changes to the compose file".
    #[prop(into)]
    label: String,
    /// Shown when the diff is empty.
    #[prop(optional, into)]
    same: Option<String>,
) -> impl IntoView {
    if diff.trim().is_empty() {
        let same = same.unwrap_or_else(|| "No differences.".to_owned());
        return view! { <p class="muted diff-same">{same}</p> }.into_any();
    }
    let (added, removed) = diff_stats(&diff);
    view! {
        <div class="diff-wrap">
            <p class="diff-stats">
                <span class="diff-stat-add">{format!("+{added}")}</span>
                " "
                <span class="diff-stat-del">{format!("−{removed}")}</span>
                <span class="sr-only">{format!(" ({added} lines added, {removed} removed)")}</span>
            </p>
            <pre class="code diff" tabindex="0" aria-label=label>
                {diff
                    .lines()
                    .map(|line| {
                        let kind = DiffLine::of(line);
                        view! { <span class=kind.class()>{format!("{line}\n")}</span> }
                    })
                    .collect_view()}
            </pre>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_told_apart() {
        let diff = "@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n";
        assert_eq!(diff_stats(diff), (2, 1));
        assert_eq!(DiffLine::of("@@ -1 +1 @@"), DiffLine::Hunk);
        assert_eq!(DiffLine::of(" same"), DiffLine::Context);
    }
}
