//! Variable interpolation and `.env` reading exactly as Docker Compose v2
//! does them: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
//! `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}`, `$$` for
//! a literal `$`, nested templates, and compose's dotenv syntax.

use std::collections::BTreeMap;

/// One value may not expand to more than this: a short file can reference a
/// long variable many times, and the file comes from the user.
const MAX_OUTPUT: usize = 1 << 20;
/// Nested defaults deeper than this are refused rather than recursed into.
const MAX_DEPTH: usize = 16;
/// A `.env` longer than this is not a settings file.
const MAX_ENV_LINES: usize = 10_000;
/// All the values of one `.env` together, after interpolation: each value is
/// bounded by `MAX_OUTPUT`, but ten thousand of them would not be.
const MAX_ENV_TOTAL: usize = 8 << 20;

/// Why a template could not be expanded; turned into words at the top so the
/// message can quote the whole value once.
enum Failure {
    /// `${` that is not a valid `${NAME...}`; holds where it starts.
    Invalid(usize),
    /// `${NAME:?reason}` or `${NAME?reason}` with NAME missing.
    Missing {
        name: String,
        reason: String,
    },
    TooLarge,
    TooDeep,
}

/// Expands `text` from `vars`; an error names the variable and why.
///
/// Compose's rules, including its corners: an unbraced name is the longest
/// run of `[A-Za-z0-9_]` after a `$` that starts with a letter or `_`; a `$`
/// that starts neither a name, `{` nor `$` stays as it is (`$1`, `$ `, a
/// trailing `$`); every `${` must form a valid template; the text of a
/// default, alternative or message runs to its balancing `}` and cannot span
/// lines; a variable that is not set expands to nothing.
pub fn interpolate(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    if !text.contains('$') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    match expand(text, vars, 0, &mut out) {
        Ok(()) => Ok(out),
        Err(Failure::Invalid(at)) => Err(format!(
            "invalid interpolation format for {}: {} is not ${{NAME}} or ${{NAME}} with \
             one of :- - :? ? :+ + and a closing brace on the same line \
             (write $$ for a literal $)",
            quoted(text),
            quoted(invalid_fragment(&text[at..])),
        )),
        Err(Failure::Missing { name, reason }) if reason.is_empty() => {
            Err(format!("{name} is required but not set"))
        }
        Err(Failure::Missing { name, reason }) => Err(format!("{name} is required: {reason}")),
        Err(Failure::TooLarge) => Err(format!(
            "interpolating {} makes more than 1 MiB",
            quoted(text)
        )),
        Err(Failure::TooDeep) => Err(format!(
            "interpolation in {} is nested deeper than {MAX_DEPTH} levels",
            quoted(text)
        )),
    }
}

/// `text` in quotes, cut short: the value may be long, the message should not.
fn quoted(text: &str) -> String {
    const SHOWN: usize = 80;
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{:?}...", &text[..end]),
        None => format!("{text:?}"),
    }
}

/// The bad `${...` itself: up to its first `}` on the line, or the line.
fn invalid_fragment(from: &str) -> &str {
    let line = from.split('\n').next().unwrap_or(from);
    match line.find('}') {
        Some(i) => &line[..=i],
        None => line,
    }
}

fn is_name_start(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphabetic()
}

fn is_name_char(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric()
}

fn push_checked(out: &mut String, s: &str) -> Result<(), Failure> {
    if out.len() + s.len() > MAX_OUTPUT {
        return Err(Failure::TooLarge);
    }
    out.push_str(s);
    Ok(())
}

/// The operators compose knows, longest first so `:-` wins over `-`.
const OPERATORS: [&str; 6] = [":-", ":?", ":+", "-", "?", "+"];

/// Appends the expansion of `text` to `out`. `depth` counts the defaults,
/// alternatives and messages being expanded around this one.
fn expand(
    text: &str,
    vars: &BTreeMap<String, String>,
    depth: usize,
    out: &mut String,
) -> Result<(), Failure> {
    if depth > MAX_DEPTH {
        return Err(Failure::TooDeep);
    }
    let bytes = text.as_bytes();
    // The last `}` of the line being scanned, found once per line: looking it
    // up again for every `${` would make a long line quadratic.
    let mut line_cache: Option<(usize, Option<usize>)> = None;
    let mut i = 0;
    while let Some(off) = text[i..].find('$') {
        let dollar = i + off;
        push_checked(out, &text[i..dollar])?;
        match bytes.get(dollar + 1) {
            Some(b'$') => {
                push_checked(out, "$")?;
                i = dollar + 2;
            }
            Some(b'{') => {
                i = braced(text, dollar, vars, depth, out, &mut line_cache)?;
            }
            Some(&b) if is_name_start(b) => {
                let start = dollar + 1;
                let end = bytes[start..]
                    .iter()
                    .position(|&b| !is_name_char(b))
                    .map_or(bytes.len(), |p| start + p);
                if let Some(value) = vars.get(&text[start..end]) {
                    push_checked(out, value)?;
                }
                i = end;
            }
            // Compose leaves a `$` it cannot read as the start of anything.
            _ => {
                push_checked(out, "$")?;
                i = dollar + 1;
            }
        }
    }
    push_checked(out, &text[i..])
}

/// Expands the `${...}` starting at `dollar` into `out` and returns where
/// scanning resumes.
fn braced(
    text: &str,
    dollar: usize,
    vars: &BTreeMap<String, String>,
    depth: usize,
    out: &mut String,
    line_cache: &mut Option<(usize, Option<usize>)>,
) -> Result<usize, Failure> {
    let bytes = text.as_bytes();
    let invalid = Failure::Invalid(dollar);
    let name_start = dollar + 2;
    if !bytes.get(name_start).copied().is_some_and(is_name_start) {
        return Err(invalid);
    }
    let name_end = bytes[name_start..]
        .iter()
        .position(|&b| !is_name_char(b))
        .map_or(bytes.len(), |p| name_start + p);
    let name = &text[name_start..name_end];
    let after = &text[name_end..];
    if after.starts_with('}') {
        if let Some(value) = vars.get(name) {
            push_checked(out, value)?;
        }
        return Ok(name_end + 1);
    }
    let Some(op) = OPERATORS.iter().find(|op| after.starts_with(**op)) else {
        return Err(invalid);
    };
    let arg_start = name_end + op.len();
    // The template as a whole reaches the last `}` of its line...
    let last_brace = match *line_cache {
        Some((line_end, last)) if arg_start < line_end => last.filter(|&b| b >= arg_start),
        _ => {
            let line_end = text[arg_start..]
                .find('\n')
                .map_or(text.len(), |p| arg_start + p);
            let last = text[arg_start..line_end].rfind('}').map(|p| arg_start + p);
            *line_cache = Some((line_end, last));
            last
        }
    };
    let Some(last_brace) = last_brace else {
        return Err(invalid);
    };
    // ...and its argument ends at the brace that balances the opening one,
    // counting each `{` and stepping over the character after it as compose
    // does; without one, the argument runs to that last brace.
    let close = balancing_brace(&bytes[dollar..=last_brace]).map_or(last_brace, |c| dollar + c);
    let arg = &text[arg_start..close];
    let value = vars.get(name);
    let non_empty = value.is_some_and(|v| !v.is_empty());
    match *op {
        ":-" | "-" => {
            let use_value = if *op == ":-" {
                non_empty
            } else {
                value.is_some()
            };
            match value {
                Some(v) if use_value => push_checked(out, v)?,
                _ => expand(arg, vars, depth + 1, out)?,
            }
        }
        ":?" | "?" => {
            let present = if *op == ":?" {
                non_empty
            } else {
                value.is_some()
            };
            match value {
                Some(v) if present => push_checked(out, v)?,
                _ => {
                    let mut reason = String::new();
                    expand(arg, vars, depth + 1, &mut reason)?;
                    return Err(Failure::Missing {
                        name: name.to_string(),
                        reason,
                    });
                }
            }
        }
        _ => {
            let present = if *op == ":+" {
                non_empty
            } else {
                value.is_some()
            };
            if present {
                expand(arg, vars, depth + 1, out)?;
            }
        }
    }
    Ok(close + 1)
}

/// Index of the `}` that closes the `{` at index 1 of `s` (which starts with
/// `${`), or `None`.
fn balancing_brace(s: &[u8]) -> Option<usize> {
    let mut open = 0usize;
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'}' {
            open = open.saturating_sub(1);
            if open == 0 {
                return Some(i);
            }
        }
        if s[i] == b'{' {
            open += 1;
            i += 1;
        }
        i += 1;
    }
    None
}

/// Reads a `.env` file as compose does: `KEY=value` or `KEY: value`
/// statements, `#` comments, an optional `export `, single quotes taken
/// literally, double quotes with escapes and interpolation, unquoted values
/// cut at ` #` and trimmed, values spanning lines inside quotes, and
/// interpolation of the variables defined above. A `KEY` alone would take
/// the value from the shell compose runs in; berth has none, so it stays
/// unset. Errors carry the line they were found on.
pub fn parse_env_file(text: &str) -> Result<BTreeMap<String, String>, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = text.lines().count();
    if lines > MAX_ENV_LINES {
        return Err((
            MAX_ENV_LINES + 1,
            format!(".env has {lines} lines; at most {MAX_ENV_LINES} are read"),
        ));
    }
    let mut vars = BTreeMap::new();
    let mut total = 0usize;
    let mut line = 1;
    let mut rest = text;
    loop {
        rest = statement_start(rest, &mut line);
        if rest.is_empty() {
            break;
        }
        let at = line;
        let fail = |message: String| (at, format!("line {at} of .env: {message}"));
        if let Some(after) = rest.strip_prefix("export") {
            if after.starts_with([' ', '\t']) {
                rest = after.trim_start_matches(is_space);
            }
        }
        let (key, terminator, after_key) = key_end(rest).map_err(&fail)?;
        let key = key.trim_end();
        if key.contains(char::is_whitespace) {
            return Err(fail(format!("the variable name {key:?} contains a space")));
        }
        if key.is_empty() {
            return Err(fail("a variable name is missing".to_string()));
        }
        if terminator != Some('=') && terminator != Some(':') {
            // `KEY` alone: inherited from an environment berth does not have.
            if terminator == Some('\n') {
                line += 1;
            }
            rest = after_key;
            continue;
        }
        let value_src = after_key.trim_start_matches(is_space);
        let (value, left) = match value_src.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let (raw, left, newlines) =
                    quoted_value(&value_src[1..], quote).ok_or_else(|| {
                        let first = value_src.split('\n').next().unwrap_or(value_src);
                        fail(format!("the quoted value {first} is not closed"))
                    })?;
                line += newlines;
                let value = if quote == '"' {
                    interpolate(&unescape(&raw), &vars).map_err(&fail)?
                } else {
                    raw
                };
                (value, left)
            }
            _ => {
                let (raw, left) = match value_src.split_once('\n') {
                    Some((raw, left)) => {
                        line += 1;
                        (raw, left)
                    }
                    None => (value_src, ""),
                };
                let raw = raw.split(" #").next().unwrap_or(raw).trim_end();
                (interpolate(raw, &vars).map_err(&fail)?, left)
            }
        };
        total += value.len();
        if total > MAX_ENV_TOTAL {
            return Err(fail(
                "the values of .env add up to more than 8 MiB".to_string(),
            ));
        }
        vars.insert(key.to_string(), value);
        rest = left;
    }
    Ok(vars)
}

/// Spaces that do not end a line, as compose's dotenv counts them.
fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

/// Skips blank space and comment lines, counting the lines passed.
fn statement_start<'a>(mut rest: &'a str, line: &mut usize) -> &'a str {
    loop {
        let trimmed = rest.trim_start_matches(char::is_whitespace);
        *line += rest[..rest.len() - trimmed.len()].matches('\n').count();
        rest = trimmed;
        if !rest.starts_with('#') {
            return rest;
        }
        match rest.find('\n') {
            Some(i) => rest = &rest[i..],
            None => return "",
        }
    }
}

/// Splits a statement at the end of its key: the key, what ended it (`=`,
/// `:`, a newline, or the end of the file) and what follows.
fn key_end(rest: &str) -> Result<(&str, Option<char>, &str), String> {
    for (i, c) in rest.char_indices() {
        match c {
            '=' | ':' | '\n' => return Ok((&rest[..i], Some(c), &rest[i + 1..])),
            _ if is_space(c) => {}
            '_' | '.' | '-' | '[' | ']' => {}
            _ if c.is_alphanumeric() => {}
            _ => {
                let first = rest.split('\n').next().unwrap_or(rest);
                return Err(format!(
                    "unexpected character {c:?} in variable name {first:?}"
                ));
            }
        }
    }
    Ok((rest, None, ""))
}

/// The text of a quoted value up to its closing `quote`, what follows it,
/// and how many newlines it spans. A backslash before the quote character
/// keeps the quote and drops the backslash; before anything else both stay.
fn quoted_value(src: &str, quote: char) -> Option<(String, &str, usize)> {
    let mut value = String::new();
    let mut newlines = 0;
    let mut escaped = false;
    for (i, c) in src.char_indices() {
        if c == '\n' {
            newlines += 1;
        }
        if escaped {
            escaped = false;
            if c != quote {
                value.push('\\');
            }
            value.push(c);
            continue;
        }
        if c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some((value, &src[i + 1..], newlines));
        } else {
            value.push(c);
        }
    }
    None
}

/// The escapes a double-quoted `.env` value understands. `\$` becomes `$$`
/// so interpolation then leaves a literal `$`; `\0` with three octal digits
/// is that byte; any other backslash stays as written.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&(_, next)) = chars.peek() else {
            out.push('\\');
            continue;
        };
        let simple = match next {
            'a' => Some("\u{7}"),
            'b' => Some("\u{8}"),
            'f' => Some("\u{c}"),
            'n' => Some("\n"),
            'r' => Some("\r"),
            't' => Some("\t"),
            'v' => Some("\u{b}"),
            '$' => Some("$$"),
            '"' => Some("\""),
            '\\' => Some("\\"),
            _ => None,
        };
        if let Some(s) = simple {
            out.push_str(s);
            chars.next();
            continue;
        }
        if next == '0' {
            chars.next();
            let digits_start = i + 2;
            let digits: String = raw[digits_start..]
                .chars()
                .take(3)
                .take_while(char::is_ascii_digit)
                .collect();
            for _ in 0..digits.len() {
                chars.next();
            }
            match u8::from_str_radix(&digits, 8) {
                Ok(byte) if digits.len() == 3 => out.push(char::from(byte)),
                // Compose drops the `0` and keeps the rest as written.
                _ => {
                    out.push('\\');
                    out.push_str(&digits);
                }
            }
            continue;
        }
        out.push('\\');
    }
    out
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may panic on a wrong result")]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The variables of compose's own template tests: FOO set, BAR set but
    /// empty, anything else unset.
    fn compose_vars() -> BTreeMap<String, String> {
        map(&[("FOO", "first"), ("BAR", "")])
    }

    /// (template, expected) rows: the compose specification's interpolation
    /// examples and compose's template tests, with FOO=first and BAR empty.
    const EXPANSIONS: &[(&str, &str)] = &[
        // Plain forms.
        ("foo", "foo"),
        ("This $FOO var", "This first var"),
        ("This ${FOO} var", "This first var"),
        ("This ${missing} var", "This  var"),
        ("This ${BAR} var", "This  var"),
        ("$missing/path", "/path"),
        // `$$` is a literal `$`, and stops interpolation of what follows.
        ("$${foo}", "${foo}"),
        (
            "$$VAR_NOT_INTERPOLATED_BY_COMPOSE",
            "$VAR_NOT_INTERPOLATED_BY_COMPOSE",
        ),
        ("cost $$5", "cost $5"),
        ("$$$FOO", "$first"),
        // A `$` that starts nothing stays.
        ("a $ string", "a $ string"),
        ("^REGEX$", "^REGEX$"),
        ("$}", "$}"),
        ("$", "$"),
        ("100$", "100$"),
        ("$1", "$1"),
        ("$-x", "$-x"),
        ("$.", "$."),
        // Unbraced names end at the first character outside [A-Za-z0-9_].
        ("$FOO-bar", "first-bar"),
        ("$FOO.bar", "first.bar"),
        ("$FOO_bar", ""),
        ("$FOO1", ""),
        ("$FOO:-x", "first:-x"),
        ("${FOO}-bar", "first-bar"),
        // Defaults.
        ("ok ${missing:-def}", "ok def"),
        ("ok ${missing-def}", "ok def"),
        ("ok ${BAR:-def}", "ok def"),
        ("ok ${FOO:-def}", "ok first"),
        ("ok ${BAR-def}", "ok "),
        ("ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric"),
        ("${missing:-}", ""),
        ("${missing:-a b  c}", "a b  c"),
        // Alternatives.
        ("ok ${UNSET_VAR:+presence_value}", "ok "),
        ("ok ${UNSET_VAR+presence_value}", "ok "),
        ("ok ${FOO:+presence_value}", "ok presence_value"),
        ("ok ${FOO+presence_value}", "ok presence_value"),
        ("ok ${BAR+presence_value}", "ok presence_value"),
        ("ok ${BAR:+presence_value}", "ok "),
        // Required variables that are there.
        ("ok ${FOO:?err}", "ok first"),
        ("ok ${FOO?err}", "ok first"),
        ("ok ${BAR?err}", "ok "),
        ("${FOO?bar-baz}", "first"),
        // The first operator after the name is the one that counts.
        ("${UNSET_VAR-myerror?msg}", "myerror?msg"),
        (
            "${BAR:-default_value_for_empty_var}",
            "default_value_for_empty_var",
        ),
        (
            "${UNSET_VAR-default_value_for_unset_var}",
            "default_value_for_unset_var",
        ),
        ("${missing-a:-b}", "a:-b"),
        ("${missing:-a-b}", "a-b"),
        // Text around a template does not change it.
        ("-ok ${BAR:-defaultValue}", "-ok defaultValue"),
        ("+ok ${UNSET:-${BAR-defaultValue}}", "+ok "),
        ("-ok ${FOO:-defaultValue}", "-ok first"),
        (":-ok ${UNSET-defaultValue}", ":-ok defaultValue"),
        (":-ok ${BAR-defaultValue}", ":-ok "),
        (":?ok ${BAR-defaultValue}", ":?ok "),
        (":?ok ${BAR:-defaultValue}", ":?ok defaultValue"),
        (":+ok ${BAR:-defaultValue}", ":+ok defaultValue"),
        ("+ok ${BAR-defaultValue}", "+ok "),
        ("?ok ${BAR:-defaultValue}", "?ok defaultValue"),
        // Nesting, from the specification and compose's tests.
        ("${VARIABLE:-${FOO}}", "first"),
        ("${VARIABLE:-${FOO:-default}}", "first"),
        ("${VARIABLE:-${missing:-default}}", "default"),
        ("ok ${UNSET_VAR-$FOO}", "ok first"),
        ("ok ${UNSET_VAR-${FOO}}", "ok first"),
        ("ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first"),
        ("ok ${BAR:-$FOO}", "ok first"),
        ("ok ${BAR:-${FOO}}", "ok first"),
        ("ok ${BAR:-${FOO} ${FOO}}", "ok first first"),
        ("ok ${BAR+$FOO}", "ok first"),
        ("ok ${BAR+$FOO ${FOO:+second}}", "ok first second"),
        ("${FOO:+${BAR}x}", "x"),
        ("${FOO:+${FOO}x}", "firstx"),
        ("${missing:+${FOO}x}", ""),
        ("${missing:-${BAR:-${FOO}}}", "first"),
        ("${missing:-$$}", "$"),
        ("${missing:-${FOO}}-${missing-${FOO}}", "first-first"),
        ("${FOO:-x} ${missing:-y} $FOO", "first y first"),
        // A `}` ends a default whether or not it is quoted: compose knows
        // no quoting inside templates.
        ("${missing:-a}b}", "ab}"),
        ("${missing:-\"a}b\"}", "\"ab\"}"),
        ("${missing:-'a}'}", "'a'}"),
        ("${FOO:-a}b}", "firstb}"),
        // Braces inside a default balance, as compose counts them.
        ("${missing:-{x}}", "{x}"),
        ("${missing:-{}}", "{}"),
        ("${missing:-{x}", "{x"),
        ("${missing:-x}}", "x}"),
        // `$` inside a default follows the same rules.
        ("${missing:-$1}", "$1"),
        ("${missing:-a$}", "a$"),
    ];

    #[test]
    fn every_template_expands_as_compose_does() {
        let vars = compose_vars();
        for (template, want) in EXPANSIONS {
            assert_eq!(
                interpolate(template, &vars).as_deref(),
                Ok(*want),
                "{template}"
            );
        }
    }

    /// (template, what the error must say) rows.
    const FAILURES: &[(&str, &str)] = &[
        (
            "not ok ${UNSET_VAR:?Mandatory Variable Unset}",
            "UNSET_VAR is required: Mandatory Variable Unset",
        ),
        (
            "not ok ${BAR:?Mandatory Variable Empty}",
            "BAR is required: Mandatory Variable Empty",
        ),
        ("not ok ${UNSET_VAR:?}", "UNSET_VAR is required but not set"),
        (
            "not ok ${UNSET_VAR?Mandatory Variable Unset}",
            "UNSET_VAR is required: Mandatory Variable Unset",
        ),
        ("not ok ${UNSET_VAR?}", "UNSET_VAR is required but not set"),
        (
            "not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}",
            "UNSET_VAR is required: Mandatory Variable first",
        ),
        (
            "not ok ${UNSET_VAR?Mandatory Variable ${FOO}}",
            "UNSET_VAR is required: Mandatory Variable first",
        ),
        ("${UNSET_VAR?bar-baz}", "UNSET_VAR is required: bar-baz"),
        (
            "${missing:-${DB:?set DB in .env}}",
            "DB is required: set DB in .env",
        ),
        // Invalid templates quote the value and the bad part.
        ("${", "invalid interpolation format for \"${\""),
        ("${}", "invalid interpolation format for \"${}\": \"${}\""),
        (
            "${ }",
            "invalid interpolation format for \"${ }\": \"${ }\"",
        ),
        ("${ foo}", "invalid interpolation format for \"${ foo}\""),
        ("${foo }", "invalid interpolation format for \"${foo }\""),
        ("${foo!}", "invalid interpolation format for \"${foo!}\""),
        ("${foo:x}", "invalid interpolation format for \"${foo:x}\""),
        ("${foo", "invalid interpolation format for \"${foo\""),
        (
            "${foo:-bar",
            "invalid interpolation format for \"${foo:-bar\"",
        ),
        ("${1X}", "invalid interpolation format"),
        ("${foo::-x}", "invalid interpolation format"),
        ("${foo/a/b}", "invalid interpolation format"),
        ("a ${FOO} b ${foo!} c", "\"${foo!}\" is not ${NAME}"),
        // A template cannot span lines.
        ("${foo:-a\nb}", "invalid interpolation format"),
        ("${foo:-${bar}", "invalid interpolation format"),
    ];

    #[test]
    fn failures_say_what_and_where() {
        let vars = compose_vars();
        for (template, want) in FAILURES {
            let err = interpolate(template, &vars).unwrap_err();
            assert!(err.contains(want), "{template}: {err}");
        }
    }

    #[test]
    fn a_default_is_only_expanded_when_it_is_used() {
        let vars = compose_vars();
        assert_eq!(
            interpolate("${FOO:-${NEEDED:?never asked}}", &vars).as_deref(),
            Ok("first")
        );
        assert_eq!(
            interpolate("${missing:+${NEEDED:?never asked}}", &vars).as_deref(),
            Ok("")
        );
    }

    #[test]
    fn expansion_is_bounded() {
        let big = "x".repeat(300 * 1024);
        let vars = map(&[("BIG", &big)]);
        assert_eq!(
            interpolate("$BIG$BIG$BIG", &vars).unwrap().len(),
            900 * 1024
        );
        let err = interpolate("$BIG$BIG$BIG$BIG", &vars).unwrap_err();
        assert!(err.contains("more than 1 MiB"), "{err}");
        assert!(err.len() < 300, "the message quotes a short prefix: {err}");
        let err = interpolate("${A:-${BIG}${BIG}${BIG}${BIG}}", &vars).unwrap_err();
        assert!(err.contains("more than 1 MiB"), "{err}");

        let nested = |levels: usize| {
            let mut t = "x".to_string();
            for _ in 0..levels {
                t = format!("${{U:-{t}}}");
            }
            t
        };
        assert_eq!(interpolate(&nested(16), &vars).as_deref(), Ok("x"));
        let err = interpolate(&nested(17), &vars).unwrap_err();
        assert!(err.contains("nested deeper than 16"), "{err}");
        // Deep nesting that is never expanded costs nothing.
        assert_eq!(
            interpolate(&format!("${{BIG:+ok}}{}", "$$".repeat(1000)), &vars).unwrap(),
            format!("ok{}", "$".repeat(1000))
        );
    }

    #[test]
    fn a_long_line_of_templates_stays_linear() {
        let vars = compose_vars();
        let line = format!("{}{}", "${FOO:-x}".repeat(20_000), "-".repeat(200_000));
        let start = std::time::Instant::now();
        let out = interpolate(&line, &vars).unwrap();
        assert_eq!(out.len(), 5 * 20_000 + 200_000);
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    /// (.env text, expected variables) rows from compose's dotenv tests and
    /// fixtures.
    const ENV_FILES: &[(&str, &[(&str, &str)])] = &[
        (
            "OPTION_A=1\nOPTION_B=2\nOPTION_C= 3\nOPTION_D =4\nOPTION_E = 5\nOPTION_F = \nOPTION_G=\nOPTION_H = my string # Inline comment\n",
            &[
                ("OPTION_A", "1"),
                ("OPTION_B", "2"),
                ("OPTION_C", "3"),
                ("OPTION_D", "4"),
                ("OPTION_E", "5"),
                ("OPTION_F", ""),
                ("OPTION_G", ""),
                ("OPTION_H", "my string"),
            ],
        ),
        (
            "OPTION_A='1'\nOPTION_B='2'\nOPTION_C=''\nOPTION_D='\\n'\nOPTION_E=\"1\"\nOPTION_F=\"2\"\nOPTION_G=\"\"\nOPTION_H=\"\\n\"\nOPTION_I = \"echo 'asd'\"\nOPTION_J = 'first line\nsecond line\nthird line\nand so on'\nOPTION_Z = \"last value\"\n",
            &[
                ("OPTION_A", "1"),
                ("OPTION_B", "2"),
                ("OPTION_C", ""),
                ("OPTION_D", "\\n"),
                ("OPTION_E", "1"),
                ("OPTION_F", "2"),
                ("OPTION_G", ""),
                ("OPTION_H", "\n"),
                ("OPTION_I", "echo 'asd'"),
                ("OPTION_J", "first line\nsecond line\nthird line\nand so on"),
                ("OPTION_Z", "last value"),
            ],
        ),
        ("ONE=1\nTWO='2'\nTHREE = \"3\"", &[("ONE", "1"), ("TWO", "2"), ("THREE", "3")]),
        ("FOO=bar", &[("FOO", "bar")]),
        ("FOO =bar", &[("FOO", "bar")]),
        ("FOO= bar", &[("FOO", "bar")]),
        ("FOO=\"bar\"", &[("FOO", "bar")]),
        ("FOO='bar'", &[("FOO", "bar")]),
        ("FOO=\"escaped\\\"bar\"", &[("FOO", "escaped\"bar")]),
        ("FOO=\"'d'\"", &[("FOO", "'d'")]),
        ("OPTION_A: 1", &[("OPTION_A", "1")]),
        ("OPTION_A: Foo=bar", &[("OPTION_A", "Foo=bar")]),
        ("OPTION_A=1:B", &[("OPTION_A", "1:B")]),
        ("export OPTION_A=2", &[("OPTION_A", "2")]),
        ("export OPTION_B='\\n'", &[("OPTION_B", "\\n")]),
        ("export exportFoo=2", &[("exportFoo", "2")]),
        ("exportFOO=2", &[("exportFOO", "2")]),
        ("export_FOO =2", &[("export_FOO", "2")]),
        ("export.FOO= 2", &[("export.FOO", "2")]),
        ("export\tOPTION_A=2", &[("OPTION_A", "2")]),
        ("  export OPTION_A=2", &[("OPTION_A", "2")]),
        ("\texport OPTION_A=2", &[("OPTION_A", "2")]),
        ("FOO=\"bar\\nbaz\"", &[("FOO", "bar\nbaz")]),
        ("FOO.BAR=foobar", &[("FOO.BAR", "foobar")]),
        ("FOO=foobar=", &[("FOO", "foobar=")]),
        ("FOO=bar ", &[("FOO", "bar")]),
        ("FOO=bar # this is foo", &[("FOO", "bar")]),
        // Only ` #` starts a comment in an unquoted value.
        ("FOO=bar#baz", &[("FOO", "bar#baz")]),
        ("FOO=\"bar#baz\" # comment", &[("FOO", "bar#baz")]),
        ("FOO='bar#baz' # comment", &[("FOO", "bar#baz")]),
        ("FOO=\"bar#baz#bang\" # comment", &[("FOO", "bar#baz#bang")]),
        ("FOO=\"ba#r\"", &[("FOO", "ba#r")]),
        ("FOO='ba#r'", &[("FOO", "ba#r")]),
        // Escapes in double quotes; an unknown one keeps its backslash.
        ("FOO=\"bar\\n\\ b\\az\"", &[("FOO", "bar\n\\ b\u{7}z")]),
        ("FOO=\"bar\\\\\\n\\ b\\az\"", &[("FOO", "bar\\\n\\ b\u{7}z")]),
        ("FOO=\"bar\\\\r\\ b\\az\"", &[("FOO", "bar\\r\\ b\u{7}z")]),
        ("FOO=\"a\\tb\\\\c\"", &[("FOO", "a\tb\\c")]),
        ("FOO=\"\\0101\\0\\01\\q\"", &[("FOO", "A\\\\1\\q")]),
        ("KEY=\"\\0123\"", &[("KEY", "S")]),
        ("KEY=\"\\x07\"", &[("KEY", "\\x07")]),
        ("KEY=\"\\u12e4\"", &[("KEY", "\\u12e4")]),
        // A backslash before the quote keeps the quote, in single quotes too.
        ("FOO='it\\'s'", &[("FOO", "it's")]),
        ("FOO='a\\nb'", &[("FOO", "a\\nb")]),
        // Blank lines, comments, Windows line ends, a byte-order mark.
        ("\n\n# comment\n\t # indented comment\nA=1\r\nB=\"2\"\r\n", &[("A", "1"), ("B", "2")]),
        ("\u{feff}A=1", &[("A", "1")]),
        // Names compose accepts beyond [A-Za-z0-9_].
        (
            "a=b\na[1]=c\na.propertyKey=d\nárvíztűrő-TÜKÖRFÚRÓGÉP=ÁRVÍZTŰRŐ-tükörfúrógép\n",
            &[
                ("a", "b"),
                ("a[1]", "c"),
                ("a.propertyKey", "d"),
                ("árvíztűrő-TÜKÖRFÚRÓGÉP", "ÁRVÍZTŰRŐ-tükörfúrógép"),
            ],
        ),
        // A key alone inherits from a shell berth does not have: unset.
        ("INHERITED\nA=1\nLAST", &[("A", "1")]),
        // Values interpolate the variables above them.
        ("FOO=test\nBAR=$FOO", &[("FOO", "test"), ("BAR", "test")]),
        ("FOO=test\nBAR=${FOO}bar", &[("FOO", "test"), ("BAR", "testbar")]),
        ("BAR=$FOO", &[("BAR", "")]),
        ("BAR=$FOO\nFOO=later", &[("BAR", ""), ("FOO", "later")]),
        ("FOO=test\nBAR=\"quote $FOO\"", &[("FOO", "test"), ("BAR", "quote test")]),
        ("BAR='quote $FOO'", &[("BAR", "quote $FOO")]),
        ("FOO=\"foo\\$BAR\"", &[("FOO", "foo$BAR")]),
        ("FOO=\"foo\\${BAR}\"", &[("FOO", "foo${BAR}")]),
        (
            "FOO=test\nBAR=\"foo\\${FOO} ${FOO}\"",
            &[("FOO", "test"), ("BAR", "foo${FOO} test")],
        ),
        ("FOO=$$bar", &[("FOO", "$bar")]),
        (
            "EMPTY_VAR=\nTEST_VAR=Test Value\nA=${UNSET_VAR:-Default Value}\nB=${EMPTY_VAR:-Default Value}\nC=${TEST_VAR:-Default Value}\nD=${UNSET_VAR-Default Value}\nE=${EMPTY_VAR-Default Value}\nF=${EMPTY_VAR?Test error}",
            &[
                ("EMPTY_VAR", ""),
                ("TEST_VAR", "Test Value"),
                ("A", "Default Value"),
                ("B", "Default Value"),
                ("C", "Test Value"),
                ("D", "Default Value"),
                ("E", ""),
                ("F", ""),
            ],
        ),
        (
            "TEST_URLS=\"stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443\"",
            &[(
                "TEST_URLS",
                "stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443",
            )],
        ),
        (
            "OPTION_A=postgres://localhost:5432/database?sslmode=disable",
            &[("OPTION_A", "postgres://localhost:5432/database?sslmode=disable")],
        ),
        ("COMPOSE_PROFILES=a,b", &[("COMPOSE_PROFILES", "a,b")]),
    ];

    #[test]
    fn env_files_read_like_compose() {
        for (text, want) in ENV_FILES {
            assert_eq!(parse_env_file(text), Ok(map(want)), "{text:?}");
        }
    }

    /// (.env text, line of the error, what the error must say) rows.
    const ENV_FAILURES: &[(&str, usize, &str)] = &[
        (
            "%!(EXTRA string)=foo",
            1,
            "unexpected character '%' in variable name \"%!(EXTRA string)=foo\"",
        ),
        ("GOOD=1\nnot a line\n", 2, "line 2 of .env"),
        ("A=1\n\nFOO BAR=1", 3, "contains a space"),
        ("lol$wut", 1, "unexpected character '$'"),
        (
            "A=1\nKEY=\"value\nB=2",
            2,
            "the quoted value \"value is not closed",
        ),
        ("KEY='", 1, "is not closed"),
        ("KEY=\"value\\\"", 1, "is not closed"),
        ("KEY='value\\'", 1, "is not closed"),
        ("KEY='value\"", 1, "is not closed"),
        ("=value", 1, "a variable name is missing"),
        ("A='x\ny'\nB=${C:?set C}", 3, "C is required: set C"),
        ("A=\"${\"", 1, "invalid interpolation format"),
    ];

    #[test]
    fn env_file_errors_carry_their_line() {
        for (text, line, want) in ENV_FAILURES {
            let (at, message) = parse_env_file(text).unwrap_err();
            assert_eq!(at, *line, "{text:?}: {message}");
            assert!(message.contains(want), "{text:?}: {message}");
        }
    }

    #[test]
    fn env_files_are_bounded() {
        let long = "A=1\n".repeat(MAX_ENV_LINES + 1);
        assert!(parse_env_file(&long).is_err());
        let fits = "A=1\n".repeat(MAX_ENV_LINES);
        assert_eq!(parse_env_file(&fits).unwrap()["A"], "1");
        let big = "x".repeat(512 * 1024);
        let text = format!(
            "B={big}\n{}",
            (0..20).map(|i| format!("C{i}=$B$B\n")).collect::<String>()
        );
        let (_, message) = parse_env_file(&text).unwrap_err();
        assert!(message.contains("more than 8 MiB"), "{message}");
    }
}
