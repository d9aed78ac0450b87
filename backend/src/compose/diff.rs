//! A unified line diff between two revisions of a file.

/// `-`/`+`/` ` prefixed lines, with `@@` hunk headers and 3 lines of context.
pub fn unified(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence table; files here are small (a compose file).
    let (n, m) = (a.len(), b.len());
    if n * m > 4_000_000 {
        return "the files are too large to compare line by line".into();
    }
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, (c, _))| *c != ' ')
        .map(|(k, _)| k)
        .collect();
    if changed.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(3);
        let mut end = (changed[k] + 3).min(ops.len() - 1);
        while k + 1 < changed.len() && changed[k + 1] <= end + 4 {
            k += 1;
            end = (changed[k] + 3).min(ops.len() - 1);
        }
        let old_start = ops[..start].iter().filter(|(c, _)| *c != '+').count() + 1;
        let new_start = ops[..start].iter().filter(|(c, _)| *c != '-').count() + 1;
        let old_len = ops[start..=end].iter().filter(|(c, _)| *c != '+').count();
        let new_len = ops[start..=end].iter().filter(|(c, _)| *c != '-').count();
        out.push_str(&format!(
            "@@ -{old_start},{old_len} +{new_start},{new_len} @@\n"
        ));
        for (c, line) in &ops[start..=end] {
            out.push(*c);
            out.push_str(line);
            out.push('\n');
        }
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn shows_changed_lines_with_context() {
        let d = super::unified("a\nb\nc\n", "a\nB\nc\nd\n");
        assert_eq!(d, "@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n");
        assert_eq!(super::unified("same\n", "same\n"), "");
    }
}
