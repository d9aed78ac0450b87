//! Variable interpolation as compose does it: `$VAR`, `${VAR}`,
//! `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`,
//! `${VAR:+alt}`, `${VAR+alt}` and `$$` for a literal `$`.

use std::collections::BTreeMap;

/// Expands `text` from `vars`; an error names the variable and why.
pub fn interpolate(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    if !text.contains('$') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek().map(|(_, c)| *c) {
            Some('$') => {
                chars.next();
                out.push('$');
            }
            Some('{') => {
                chars.next();
                let mut inner = String::new();
                let mut depth = 1;
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                closed = true;
                                break;
                            }
                        }
                        _ => {}
                    }
                    inner.push(c);
                }
                if !closed {
                    return Err(format!("`${{{inner}` is missing its closing brace"));
                }
                out.push_str(&expand_braced(&inner, vars)?);
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let mut name = String::new();
                while let Some((_, c)) = chars.peek() {
                    if *c == '_' || c.is_ascii_alphanumeric() {
                        name.push(*c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push_str(vars.get(&name).map(String::as_str).unwrap_or(""));
            }
            // A lone `$` stays as it is, as compose leaves it.
            _ => out.push('$'),
        }
    }
    Ok(out)
}

fn expand_braced(inner: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let name_end = inner
        .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
        .unwrap_or(inner.len());
    let (name, rest) = inner.split_at(name_end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("`${{{inner}}}` is not a valid variable"));
    }
    let value = vars.get(name);
    let set_and_non_empty = value.is_some_and(|v| !v.is_empty());
    let op = |p: &str| rest.strip_prefix(p);
    if rest.is_empty() {
        return Ok(value.cloned().unwrap_or_default());
    }
    if let Some(default) = op(":-") {
        return if set_and_non_empty {
            Ok(value.cloned().unwrap_or_default())
        } else {
            interpolate(default, vars)
        };
    }
    if let Some(default) = op("-") {
        return match value {
            Some(v) => Ok(v.clone()),
            None => interpolate(default, vars),
        };
    }
    if let Some(message) = op(":?") {
        return if set_and_non_empty {
            Ok(value.cloned().unwrap_or_default())
        } else {
            Err(required(name, message, vars))
        };
    }
    if let Some(message) = op("?") {
        return match value {
            Some(v) => Ok(v.clone()),
            None => Err(required(name, message, vars)),
        };
    }
    if let Some(alt) = op(":+") {
        return if set_and_non_empty {
            interpolate(alt, vars)
        } else {
            Ok(String::new())
        };
    }
    if let Some(alt) = op("+") {
        return if value.is_some() {
            interpolate(alt, vars)
        } else {
            Ok(String::new())
        };
    }
    Err(format!(
        "`${{{inner}}}` uses an operator compose does not have"
    ))
}

fn required(name: &str, message: &str, vars: &BTreeMap<String, String>) -> String {
    let message = interpolate(message, vars).unwrap_or_else(|_| message.to_string());
    if message.is_empty() {
        format!("{name} is required but not set")
    } else {
        format!("{name} is required: {message}")
    }
}

/// Reads a `.env` file: `KEY=value` lines, `#` comments, optional `export `,
/// single or double quotes around the value.
pub fn parse_env_file(text: &str) -> Result<BTreeMap<String, String>, (usize, String)> {
    let mut vars = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err((i + 1, format!("line {} of .env is not KEY=value", i + 1)));
        };
        let key = key.trim();
        if key.is_empty()
            || !key.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
            || key.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err((
                i + 1,
                format!("line {} of .env: {key:?} is not a variable name", i + 1),
            ));
        }
        let value = value.trim();
        let value = if value.len() >= 2
            && ((value.starts_with('"') && value.ends_with('"'))
                || (value.starts_with('\'') && value.ends_with('\'')))
        {
            value[1..value.len() - 1].to_string()
        } else {
            // An unquoted value ends at ` #`.
            value
                .split(" #")
                .next()
                .unwrap_or("")
                .trim_end()
                .to_string()
        };
        vars.insert(key.to_string(), value);
    }
    Ok(vars)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may panic on a wrong result")]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [("TAG", "1.2"), ("EMPTY", ""), ("NAME", "web")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_form_expands_as_compose_does() {
        let v = vars();
        let cases = [
            ("nginx:${TAG}", "nginx:1.2"),
            ("nginx:$TAG", "nginx:1.2"),
            ("${MISSING:-latest}", "latest"),
            ("${EMPTY:-fallback}", "fallback"),
            ("${EMPTY-fallback}", ""),
            ("${MISSING-fallback}", "fallback"),
            ("${TAG:+set}", "set"),
            ("${EMPTY:+set}", ""),
            ("${EMPTY+set}", "set"),
            ("cost $$5", "cost $5"),
            ("${MISSING:-${NAME}-x}", "web-x"),
            ("plain", "plain"),
            ("$MISSING/path", "/path"),
            ("100$", "100$"),
        ];
        for (input, want) in cases {
            assert_eq!(interpolate(input, &v).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn required_variables_say_what_is_missing() {
        let v = vars();
        assert_eq!(
            interpolate("${DB_PASSWORD:?set it in .env}", &v),
            Err("DB_PASSWORD is required: set it in .env".to_string())
        );
        assert_eq!(
            interpolate("${EMPTY:?}", &v),
            Err("EMPTY is required but not set".to_string())
        );
        assert_eq!(interpolate("${EMPTY?}", &v), Ok(String::new()));
        assert!(interpolate("${TAG", &v)
            .unwrap_err()
            .contains("closing brace"));
        assert!(interpolate("${1X}", &v).is_err());
    }

    #[test]
    fn env_files_read_like_compose() {
        let env = parse_env_file(
            "# db\nexport DB=postgres\nPASS='s3cr=t'\nQ=\"two words\"\nNOTE=x # comment\n\n",
        )
        .expect("env");
        assert_eq!(env["DB"], "postgres");
        assert_eq!(env["PASS"], "s3cr=t");
        assert_eq!(env["Q"], "two words");
        assert_eq!(env["NOTE"], "x");
        assert_eq!(parse_env_file("JUSTTEXT").unwrap_err().0, 1);
    }
}
