//! Turns a `docker run ...` line into a [`ContainerSpec`](crate::ContainerSpec).
//!
//! The same code runs in the browser (to fill the "Run container" form while
//! a command is pasted) and on the server (`POST .../containers/from-command`),
//! so it never runs a shell and has no dependencies.
//!
//! * [`split_words`] splits a line like a POSIX shell would, without running
//!   one: quotes, backslashes, `\`-newline continuations and `#` comments work;
//!   anything that needs a real shell (`|`, `;`, `&`, `>`, `<`, `$VAR`,
//!   `$(...)`, backticks, `~`) is refused with a message saying why.
//! * [`parse_run_command`] reads `[sudo] docker [container] run [flags] image
//!   [command...]` with the flags berth takes, refusing every other flag by name.
//! * [`to_run_command`] writes a spec back as a canonical `docker run` line.
//!
//! A few leniencies over a real shell, for pasted text: a `$ ` prompt before
//! `docker` is skipped, spaces between a trailing `\` and the end of its line
//! are ignored, and any Unicode white space separates words.

use std::fmt;
use std::net::IpAddr;

use crate::options::{BlkioDeviceRate, ContainerOptions, DeviceMapping, DeviceRequest, Ulimit};
use crate::{ContainerSpec, GpuRequest, MountKind, MountSpec, PortSpec};

/// Why a `docker run` line was refused, in words meant for the person who
/// typed it. The message names the offending flag or value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCommandError {
    pub message: String,
}

impl RunCommandError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for RunCommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunCommandError {}

type Result<T> = std::result::Result<T, RunCommandError>;

macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(RunCommandError::new(format!($($arg)*)))
    };
}

// ---------------------------------------------------------------- word splitting

/// Splits a command line into words the way a POSIX shell would, without
/// running one.
///
/// White space separates words; `'...'` is literal; `"..."` is literal except
/// for the escapes `\"`, `\\`, `\$`, `` \` `` and `\`-newline; outside quotes a
/// backslash escapes the next character, and a backslash at the end of a line
/// continues the command on the next one. A `#` that starts a word begins a
/// comment that runs to the end of the line.
///
/// Refused, because they would need a shell: unquoted `|`, `;`, `&`, `<`, `>`,
/// `(`, `)`, `$VAR`/`${VAR}` expansion (also inside double quotes), `$(...)` and
/// backtick command substitution, a `~` home directory, and a second command
/// on a later line.
pub fn split_words(line: &str) -> Result<Vec<String>> {
    Splitter {
        chars: line.chars().collect(),
        i: 0,
        line: 1,
        words: Vec::new(),
        word: String::new(),
        in_word: false,
        ended_on: None,
    }
    .run()
}

struct Splitter {
    chars: Vec<char>,
    i: usize,
    /// The current line, counted from 1, for messages.
    line: usize,
    words: Vec<String>,
    word: String,
    /// A word has begun (it may still be empty: `''`).
    in_word: bool,
    /// The line whose unescaped newline ended the command.
    ended_on: Option<usize>,
}

impl Splitter {
    fn run(mut self) -> Result<Vec<String>> {
        while let Some(&c) = self.chars.get(self.i) {
            match c {
                '\n' => {
                    self.finish();
                    if !self.words.is_empty() && self.ended_on.is_none() {
                        self.ended_on = Some(self.line);
                    }
                    self.line += 1;
                    self.i += 1;
                }
                c if c.is_whitespace() => {
                    self.finish();
                    self.i += 1;
                }
                '\\' => self.backslash()?,
                '\'' => self.single_quoted()?,
                '"' => self.double_quoted()?,
                '#' if !self.in_word => {
                    while self.chars.get(self.i).is_some_and(|&c| c != '\n') {
                        self.i += 1;
                    }
                }
                '$' => self.dollar(false)?,
                '`' => bail!("berth does not run `...` command substitution; write the value"),
                '|' | '&' | ';' | '<' | '>' | '(' | ')' => {
                    let op: String = self.chars[self.i..]
                        .iter()
                        .take_while(|c| "|&;<>()".contains(**c))
                        .collect();
                    bail!(
                        "`{op}` needs a shell, and berth does not run one: paste a single \
                         docker run command (quote the `{op}` if it is part of a value)"
                    )
                }
                '~' if !self.in_word => {
                    bail!("berth does not expand ~ (your home directory); write the full path")
                }
                '\u{201C}' | '\u{201D}' | '\u{2018}' | '\u{2019}' => bail!(
                    "the typographic quote {c} is not a shell quote; use plain ' or \" \
                     (text copied from a web page often has them)"
                ),
                _ => self.push(c)?,
            }
        }
        self.finish();
        Ok(self.words)
    }

    /// Marks the start of a word, refusing words after the command ended.
    fn begin(&mut self) -> Result<()> {
        if !self.in_word {
            if let Some(ended) = self.ended_on {
                bail!(
                    "line {} starts a second command, but berth runs one docker run command; \
                     to continue the command, end line {ended} with \\",
                    self.line
                );
            }
            self.in_word = true;
        }
        Ok(())
    }

    fn push(&mut self, c: char) -> Result<()> {
        self.begin()?;
        self.word.push(c);
        self.i += 1;
        Ok(())
    }

    fn finish(&mut self) {
        if self.in_word {
            self.words.push(std::mem::take(&mut self.word));
            self.in_word = false;
        }
    }

    /// A backslash outside quotes: a line continuation or an escaped character.
    fn backslash(&mut self) -> Result<()> {
        self.i += 1;
        // Continuation; spaces pasted after the `\` are forgiven.
        let mut j = self.i;
        while self
            .chars
            .get(j)
            .is_some_and(|&c| c == ' ' || c == '\t' || c == '\r')
        {
            j += 1;
        }
        match self.chars.get(j) {
            // A `\` at the very end continues into nothing.
            None => self.i = j,
            Some('\n') => {
                self.i = j + 1;
                self.line += 1;
            }
            Some(_) => {
                let c = self.chars[self.i];
                self.push(c)?;
            }
        }
        Ok(())
    }

    fn single_quoted(&mut self) -> Result<()> {
        self.begin()?;
        let start = self.i + 1;
        let Some(len) = self.chars[start..].iter().position(|&c| c == '\'') else {
            bail!("unterminated single quote");
        };
        for &c in &self.chars[start..start + len] {
            if c == '\n' {
                self.line += 1;
            }
            self.word.push(c);
        }
        self.i = start + len + 1;
        Ok(())
    }

    fn double_quoted(&mut self) -> Result<()> {
        self.begin()?;
        self.i += 1;
        loop {
            match self.chars.get(self.i) {
                None => bail!("unterminated double quote"),
                Some('"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some('\\') => match self.chars.get(self.i + 1) {
                    Some(&c) if matches!(c, '"' | '\\' | '$' | '`') => {
                        self.word.push(c);
                        self.i += 2;
                    }
                    Some('\n') => {
                        self.line += 1;
                        self.i += 2;
                    }
                    Some('\r') if self.chars.get(self.i + 2) == Some(&'\n') => {
                        self.line += 1;
                        self.i += 3;
                    }
                    _ => {
                        self.word.push('\\');
                        self.i += 1;
                    }
                },
                Some('$') => self.dollar(true)?,
                Some('`') => {
                    bail!("berth does not run `...` command substitution; write the value")
                }
                Some(&c) => {
                    if c == '\n' {
                        self.line += 1;
                    }
                    self.word.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// A `$`: refused when a shell would expand it, else a literal `$`.
    fn dollar(&mut self, in_double: bool) -> Result<()> {
        let rest = &self.chars[self.i + 1..];
        match rest.first() {
            Some('(') => {
                bail!("berth does not run $(...) command substitution; write the value")
            }
            Some('{') => {
                let name: String = match rest.iter().position(|&c| c == '}') {
                    Some(end) => rest[..=end].iter().collect(),
                    None => "{".into(),
                };
                bail!("berth does not expand ${name}; write the value")
            }
            Some(&c) if c.is_ascii_alphabetic() || c == '_' => {
                let name: String = rest
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .collect();
                bail!("berth does not expand ${name}; write the value")
            }
            Some(&c) if c.is_ascii_digit() || "?$!@*#-".contains(c) => {
                bail!("berth does not expand ${c}; write the value")
            }
            Some('\'') if !in_double => {
                bail!("berth does not take $'...' quoting; use plain '...' quotes")
            }
            Some('"') if !in_double => {
                bail!("berth does not take $\"...\" quoting; use plain \"...\" quotes")
            }
            _ if in_double => {
                self.word.push('$');
                self.i += 1;
                Ok(())
            }
            _ => self.push('$'),
        }
    }
}

// ---------------------------------------------------------------- parsing

/// Reads a `docker run` line (`docker run`, `docker container run` or
/// `sudo docker run`, then flags, the image, and the command) into a spec
/// with `start` set.
pub fn parse_run_command(line: &str) -> Result<ContainerSpec> {
    let words = split_words(line)?;
    let mut i = skip_docker_run(&words)?;
    let mut parser = Parser {
        spec: ContainerSpec {
            start: true,
            ..ContainerSpec::default()
        },
        seen: Vec::new(),
    };
    let mut image = None;
    while let Some(word) = words.get(i) {
        i += 1;
        if word == "--" {
            image = words.get(i);
            i += 1;
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            let typed = format!("--{name}");
            let Some(flag) = Flag::long(name) else {
                bail!("unknown flag {typed}: berth does not take it");
            };
            if flag.is_bool() {
                let on = match attached {
                    Some(value) => parse_bool(&typed, value)?,
                    None => true,
                };
                parser.set_bool(flag, on);
            } else {
                let value = match attached {
                    Some(value) => value.to_string(),
                    None => next_value(&words, &mut i, &typed)?,
                };
                parser.set_value(flag, &typed, &value)?;
            }
        } else if word.len() > 1 && word.starts_with('-') {
            // One or more short flags: `-d`, `-dit`, `-p8080:80`, `-dp 80:80`, `-p=80`.
            let shorts: Vec<char> = word.chars().skip(1).collect();
            let mut k = 0;
            while let Some(&c) = shorts.get(k) {
                let typed = format!("-{c}");
                let Some(flag) = Flag::short(c) else {
                    if shorts.len() == 1 {
                        bail!("unknown flag {typed}: berth does not take it");
                    }
                    bail!("unknown flag {typed} in {word}: berth does not take it");
                };
                let rest: String = shorts[k + 1..].iter().collect();
                if flag.is_bool() {
                    if let Some(value) = rest.strip_prefix('=') {
                        let on = parse_bool(&typed, value)?;
                        parser.set_bool(flag, on);
                        break;
                    }
                    parser.set_bool(flag, true);
                    k += 1;
                } else {
                    let value = if rest.is_empty() {
                        next_value(&words, &mut i, &typed)?
                    } else {
                        rest.strip_prefix('=').unwrap_or(&rest).to_string()
                    };
                    parser.set_value(flag, &typed, &value)?;
                    break;
                }
            }
        } else if word.starts_with(['\u{2013}', '\u{2014}']) {
            bail!(
                "{word} starts with a typographic dash, not a plain - \
                 (text copied from a web page often has them)"
            );
        } else {
            image = Some(word);
            break;
        }
    }
    let Some(image) = image else {
        bail!("no image given");
    };
    check_image(image)?;
    let mut spec = parser.spec;
    spec.image = image.clone();
    if let Some(cmd) = words.get(i..).filter(|cmd| !cmd.is_empty()) {
        spec.cmd = Some(cmd.to_vec());
    }
    if let Some(restart) = spec.restart.as_deref().filter(|r| *r != "no") {
        if spec.auto_remove {
            bail!(
                "--rm and --restart {restart} conflict: a container removed when it exits \
                 cannot be restarted"
            );
        }
    }
    Ok(spec)
}

/// The index of the first word after `[$] [sudo] docker [container] run`.
fn skip_docker_run(words: &[String]) -> Result<usize> {
    let word = |i: usize| words.get(i).map(String::as_str);
    let mut i = 0;
    // A shell prompt pasted with the command.
    if word(i) == Some("$") {
        i += 1;
    }
    if word(i) == Some("sudo") {
        i += 1;
    }
    match (word(i), word(i + 1), word(i + 2)) {
        (Some("docker"), Some("run"), _) => Ok(i + 2),
        (Some("docker"), Some("container"), Some("run")) => Ok(i + 3),
        (None, _, _) => bail!("expected a `docker run` command, but the line is empty"),
        _ => {
            let shown = if word(i + 1) == Some("container") {
                3
            } else {
                2
            };
            let got: Vec<String> = words[i..].iter().take(shown).map(|w| quote(w)).collect();
            bail!("expected a `docker run` command, not `{}`", got.join(" "))
        }
    }
}

/// The word after a flag, as its value.
fn next_value(words: &[String], i: &mut usize, typed: &str) -> Result<String> {
    match words.get(*i) {
        // A negative number is a value (`--oom-score-adj -500`), not a flag.
        Some(word) if word.len() > 1 && word.starts_with('-') && word.parse::<i64>().is_err() => {
            bail!("{typed} needs a value, but {word} follows it")
        }
        Some(word) => {
            *i += 1;
            Ok(word.clone())
        }
        None => bail!("{typed} needs a value"),
    }
}

fn parse_bool(typed: &str, value: &str) -> Result<bool> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => bail!("{typed}={value}: write true or false"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Detach,
    Interactive,
    Tty,
    Rm,
    PublishAll,
    Name,
    Env,
    EnvFile,
    Label,
    LabelFile,
    Publish,
    Volume,
    Mount,
    Network,
    Restart,
    Workdir,
    User,
    Hostname,
    Memory,
    Cpus,
    Gpus,
    Entrypoint,
    /// A flag that sets one of the [`ContainerOptions`].
    Opt(Opt),
}

impl Flag {
    fn long(name: &str) -> Option<Flag> {
        Some(match name {
            "detach" => Flag::Detach,
            "interactive" => Flag::Interactive,
            "tty" => Flag::Tty,
            "rm" => Flag::Rm,
            "publish-all" => Flag::PublishAll,
            "name" => Flag::Name,
            "env" => Flag::Env,
            "env-file" => Flag::EnvFile,
            "label" => Flag::Label,
            "label-file" => Flag::LabelFile,
            "publish" => Flag::Publish,
            "volume" => Flag::Volume,
            "mount" => Flag::Mount,
            "network" | "net" => Flag::Network,
            "restart" => Flag::Restart,
            "workdir" => Flag::Workdir,
            "user" => Flag::User,
            "hostname" => Flag::Hostname,
            "memory" => Flag::Memory,
            "cpus" => Flag::Cpus,
            "gpus" => Flag::Gpus,
            "entrypoint" => Flag::Entrypoint,
            _ => return Opt::long(name).map(Flag::Opt),
        })
    }

    fn short(c: char) -> Option<Flag> {
        Some(match c {
            'd' => Flag::Detach,
            'i' => Flag::Interactive,
            't' => Flag::Tty,
            'P' => Flag::PublishAll,
            'e' => Flag::Env,
            'l' => Flag::Label,
            'p' => Flag::Publish,
            'v' => Flag::Volume,
            'w' => Flag::Workdir,
            'u' => Flag::User,
            'h' => Flag::Hostname,
            'm' => Flag::Memory,
            'c' => Flag::Opt(Opt::CpuShares),
            _ => return None,
        })
    }

    fn is_bool(self) -> bool {
        match self {
            Flag::Opt(o) => o.is_bool(),
            _ => matches!(
                self,
                Flag::Detach | Flag::Interactive | Flag::Tty | Flag::Rm | Flag::PublishAll
            ),
        }
    }

    /// Flags that set one value, and may be given once.
    fn is_single(self) -> bool {
        if let Flag::Opt(o) = self {
            return o.is_single();
        }
        matches!(
            self,
            Flag::Name
                | Flag::Network
                | Flag::Restart
                | Flag::Workdir
                | Flag::User
                | Flag::Hostname
                | Flag::Memory
                | Flag::Cpus
                | Flag::Gpus
                | Flag::Entrypoint
        )
    }
}

struct Parser {
    spec: ContainerSpec,
    /// The single-value flags given so far.
    seen: Vec<Flag>,
}

impl Parser {
    fn set_bool(&mut self, flag: Flag, on: bool) {
        match flag {
            Flag::Interactive => self.spec.interactive = on,
            Flag::Tty => self.spec.tty = on,
            Flag::Rm => self.spec.auto_remove = on,
            Flag::PublishAll => self.spec.publish_all = on,
            Flag::Opt(o) => set_option_bool(&mut self.spec.options, o, on),
            // berth always runs containers in the background.
            _ => {}
        }
    }

    fn set_value(&mut self, flag: Flag, typed: &str, value: &str) -> Result<()> {
        match flag {
            Flag::EnvFile => {
                bail!("{typed}: berth cannot read your files; paste the variables as -e KEY=value")
            }
            Flag::LabelFile => {
                bail!("{typed}: berth cannot read your files; paste the labels as -l KEY=value")
            }
            _ => {}
        }
        if value.is_empty() && flag != Flag::Entrypoint {
            bail!("{typed} needs a value");
        }
        if flag.is_single() {
            if self.seen.contains(&flag) {
                bail!("{typed} given twice");
            }
            self.seen.push(flag);
        }
        let ctx = format!("{typed} {}", quote(value));
        let spec = &mut self.spec;
        match flag {
            Flag::Name => {
                if !is_name(value, 2) {
                    bail!(
                        "{ctx}: a container name is letters, digits, _ . and -, \
                         starts with a letter or digit, and is at least 2 characters"
                    );
                }
                spec.name = Some(value.into());
            }
            Flag::Env => match value.split_once('=') {
                None => {
                    bail!("{typed} {value} takes the value from your shell; write {value}=value")
                }
                Some(("", _)) => bail!("{ctx}: the variable name before = is empty"),
                Some((key, _)) if key.chars().any(char::is_whitespace) => {
                    bail!("{ctx}: a variable name has no spaces")
                }
                Some((key, val)) => {
                    spec.env.insert(key.into(), val.into());
                }
            },
            Flag::Label => {
                let (key, val) = value.split_once('=').unwrap_or((value, ""));
                if key.is_empty() {
                    bail!("{ctx}: the label name before = is empty");
                }
                spec.labels.insert(key.into(), val.into());
            }
            Flag::Publish => spec.ports.extend(parse_publish(&ctx, value)?),
            Flag::Volume => spec.mounts.push(parse_volume(&ctx, value)?),
            Flag::Mount if value.split(',').any(|f| f == "type=tmpfs") => {
                let (path, options) = parse_tmpfs_mount(&ctx, value)?;
                spec.options.tmpfs.insert(path, options);
            }
            Flag::Mount => spec.mounts.push(parse_mount(&ctx, value)?),
            Flag::Network => {
                if let Some(other) = value.strip_prefix("container:") {
                    bail!("{ctx}: berth does not share the network of another container ({other})");
                }
                if !is_name(value, 1) {
                    bail!("{ctx}: a network name is letters, digits, _ . and -");
                }
                spec.network = Some(value.into());
            }
            Flag::Restart => spec.restart = Some(parse_restart(&ctx, value)?),
            Flag::Workdir => {
                if !value.starts_with('/') {
                    bail!("{ctx}: the working directory must be an absolute path");
                }
                spec.workdir = Some(value.into());
            }
            Flag::User => {
                let ok = !value.chars().any(char::is_whitespace)
                    && value.split(':').count() <= 2
                    && value.split(':').all(|part| !part.is_empty());
                if !ok {
                    bail!("{ctx}: write a user name or uid, and optionally :group, like 1000:1000");
                }
                spec.user = Some(value.into());
            }
            Flag::Hostname => {
                let ok = value.len() <= 253
                    && value.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
                if !ok {
                    bail!(
                        "{ctx}: a host name is letters, digits, - and ., \
                         starting with a letter or digit"
                    );
                }
                spec.hostname = Some(value.into());
            }
            Flag::Memory => spec.memory_bytes = Some(parse_memory(&ctx, value)?),
            Flag::Cpus => spec.nano_cpus = Some(parse_cpus(&ctx, value)?),
            Flag::Gpus => match parse_gpus(&ctx, value)? {
                Gpus::Simple(g) => spec.gpus = Some(g),
                Gpus::Request(r) => spec.options.device_requests.push(r),
            },
            Flag::Opt(o) => set_option(&mut spec.options, o, &ctx, value)?,
            Flag::Entrypoint => {
                if value.chars().any(char::is_whitespace) {
                    bail!(
                        "{ctx}: --entrypoint takes one program; \
                         put its arguments after the image"
                    );
                }
                spec.entrypoint = Some(if value.is_empty() {
                    Vec::new()
                } else {
                    vec![value.into()]
                });
            }
            Flag::Detach
            | Flag::Interactive
            | Flag::Tty
            | Flag::Rm
            | Flag::PublishAll
            | Flag::EnvFile
            | Flag::LabelFile => {}
        }
        Ok(())
    }
}

/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at least `min` characters: docker's rule for
/// container and volume names (min 2) and network names (min 1).
fn is_name(s: &str, min: usize) -> bool {
    s.len() >= min
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

pub fn parse_restart(ctx: &str, value: &str) -> Result<String> {
    match value {
        "no" | "always" | "unless-stopped" | "on-failure" => Ok(value.into()),
        _ => {
            let Some(count) = value.strip_prefix("on-failure:") else {
                bail!(
                    "{ctx}: the restart policy must be no, always, unless-stopped, \
                     on-failure or on-failure:N"
                );
            };
            match count.parse::<u32>() {
                Ok(n) if count.bytes().all(|b| b.is_ascii_digit()) => Ok(format!("on-failure:{n}")),
                _ => bail!(
                    "{ctx}: the retry count N in on-failure:N must be a whole number, 0 or more"
                ),
            }
        }
    }
}

fn parse_port(ctx: &str, s: &str) -> Result<u16> {
    if s.is_empty() {
        bail!("{ctx}: a port number is missing");
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        bail!("{ctx}: {s} is not a port number");
    }
    match s.parse::<u32>().ok().and_then(|n| u16::try_from(n).ok()) {
        Some(port) if port != 0 => Ok(port),
        _ => bail!("{ctx}: port {s} is not between 1 and 65535"),
    }
}

/// `80` or `8000-8010`.
fn parse_port_range(ctx: &str, s: &str) -> Result<(u16, u16)> {
    match s.split_once('-') {
        None => {
            let port = parse_port(ctx, s)?;
            Ok((port, port))
        }
        Some((start, end)) => {
            let (start, end) = (parse_port(ctx, start)?, parse_port(ctx, end)?);
            if end < start {
                bail!("{ctx}: the range {s} ends before it starts");
            }
            Ok((start, end))
        }
    }
}

/// `-p [ip:][host_port[-end]:]container_port[-end][/protocol]`; an IPv6
/// address goes in brackets.
pub fn parse_publish(ctx: &str, value: &str) -> Result<Vec<PortSpec>> {
    let (addr, protocol) = match value.rsplit_once('/') {
        Some((addr, protocol)) => (addr, protocol),
        None => (value, "tcp"),
    };
    let protocol = protocol.to_ascii_lowercase();
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        bail!("{ctx}: the protocol {protocol} is not tcp, udp or sctp");
    }
    let (ip, host, container) = if let Some(bracketed) = addr.strip_prefix('[') {
        let Some((ip, rest)) = bracketed.split_once(']') else {
            bail!("{ctx}: the [ has no matching ]");
        };
        let Some((host, container)) = rest.strip_prefix(':').and_then(|r| r.split_once(':')) else {
            bail!("{ctx}: after [{ip}] write :host_port:container_port, like [::1]:8080:80");
        };
        (Some(ip), Some(host), container)
    } else {
        match addr.split(':').collect::<Vec<_>>().as_slice() {
            [container] => (None, None, *container),
            [host, container] => (None, Some(*host), *container),
            [ip, host, container] => (
                Some(*ip).filter(|ip| !ip.is_empty()),
                Some(*host),
                *container,
            ),
            _ => bail!("{ctx}: write an IPv6 host address in brackets, like [::1]:8080:80"),
        }
    };
    if let Some(ip) = ip {
        if ip.parse::<IpAddr>().is_err() {
            bail!("{ctx}: {ip} is not an IP address");
        }
    }
    let host = match host.filter(|h| !h.is_empty()) {
        Some(host) => Some(parse_port_range(ctx, host)?),
        None => None,
    };
    let (c_start, c_end) = parse_port_range(ctx, container)?;
    let one = |host_port: Option<u16>, host_port_end: Option<u16>, container_port: u16| PortSpec {
        host_ip: ip.map(str::to_string),
        host_port,
        host_port_end,
        container_port,
        protocol: protocol.clone(),
    };
    Ok(match host {
        None => (c_start..=c_end).map(|c| one(None, None, c)).collect(),
        Some((h_start, h_end)) if c_start == c_end => {
            vec![one(
                Some(h_start),
                Some(h_end).filter(|e| *e != h_start),
                c_start,
            )]
        }
        Some((h_start, h_end)) if h_end - h_start == c_end - c_start => (c_start..=c_end)
            .zip(h_start..=h_end)
            .map(|(c, h)| one(Some(h), None, c))
            .collect(),
        Some(_) => {
            bail!("{ctx}: the host ports and the container ports must be ranges of the same length")
        }
    })
}

fn check_target(ctx: &str, target: &str) -> Result<()> {
    if !target.starts_with('/') {
        bail!("{ctx}: the container path {target} must be absolute");
    }
    if target.trim_end_matches('/').is_empty() {
        bail!("{ctx}: berth cannot mount over the container's /");
    }
    Ok(())
}

/// A bind mount's host path or a named volume.
fn source_kind(ctx: &str, source: &str) -> Result<MountKind> {
    if source.starts_with('/') {
        Ok(MountKind::Bind)
    } else if source.starts_with(['.', '~']) || source.contains(['/', '\\']) {
        bail!("{ctx}: bind mounts need an absolute host path ({source} is relative)")
    } else if is_name(source, 2) {
        Ok(MountKind::Volume)
    } else {
        bail!(
            "{ctx}: {source} is neither an absolute host path nor a volume name \
             (letters, digits, _ . and -, at least 2 characters)"
        )
    }
}

fn is_mode_list(s: &str) -> bool {
    s.split(',').all(|o| matches!(o, "ro" | "rw" | "z" | "Z"))
}

/// `-v` options: returns whether the mount is read-only.
fn parse_mode(ctx: &str, options: &str) -> Result<bool> {
    let (mut ro, mut rw) = (false, false);
    for option in options.split(',') {
        match option {
            "ro" => ro = true,
            "rw" => rw = true,
            "z" | "Z" => {}
            "" => bail!("{ctx}: an option after ':' is empty"),
            _ => bail!("{ctx}: berth takes only the options ro, rw, z and Z, not {option}"),
        }
    }
    if ro && rw {
        bail!("{ctx}: ro and rw contradict each other");
    }
    Ok(ro)
}

/// `-v /host:/cont[:opts]`, `-v name:/cont[:opts]` or `-v /cont`.
fn parse_volume(ctx: &str, value: &str) -> Result<MountSpec> {
    let b = value.as_bytes();
    if b.len() >= 3
        && b[0].is_ascii_alphabetic()
        && b[1] == b':'
        && (b[2] == b'\\' || (b[2] == b'/' && b[0].is_ascii_uppercase()))
    {
        bail!("{ctx}: that is a Windows path; berth's hosts run Linux, so write a Linux host path");
    }
    let (source, target, options) = match value.split(':').collect::<Vec<_>>().as_slice() {
        [target] => {
            check_target(ctx, target)?;
            return Ok(MountSpec {
                kind: MountKind::Anonymous,
                source: String::new(),
                target: (*target).into(),
                read_only: false,
            });
        }
        [source, target] => (*source, *target, None),
        [source, target, options] => (*source, *target, Some(*options)),
        _ => bail!("{ctx}: too many ':'; write source:/container/path[:options]"),
    };
    if source.is_empty() {
        bail!("{ctx}: the source before ':' is empty");
    }
    if source.starts_with('/') && options.is_none() && is_mode_list(target) {
        bail!(
            "{ctx}: an anonymous volume takes no options; give a volume name \
             or a host path first, like data:{source}:{target}"
        );
    }
    let read_only = match options {
        Some(options) => parse_mode(ctx, options)?,
        None => false,
    };
    let kind = source_kind(ctx, source)?;
    check_target(ctx, target)?;
    Ok(MountSpec {
        kind,
        source: source.into(),
        target: target.into(),
        read_only,
    })
}

/// `--mount type=tmpfs,target=/path[,tmpfs-size=64m][,tmpfs-mode=1777]`, as
/// the mount point and the options `--tmpfs` would give it.
fn parse_tmpfs_mount(ctx: &str, value: &str) -> Result<(String, String)> {
    let mut target = None;
    let mut options = Vec::new();
    for field in value.split(',') {
        match field.split_once('=') {
            Some(("type", _)) => {}
            Some(("target" | "dst" | "destination", t)) => target = Some(t),
            Some(("tmpfs-size", size)) => options.push(format!("size={}", parse_size(ctx, size)?)),
            Some(("tmpfs-mode", mode)) if u32::from_str_radix(mode, 8).is_ok() => {
                options.push(format!("mode={mode}"))
            }
            None if matches!(field, "readonly" | "ro") => options.push("ro".into()),
            _ => bail!("{ctx}: a tmpfs mount takes target=, tmpfs-size=, tmpfs-mode= and readonly, not {field}"),
        }
    }
    let Some(target) = target else {
        bail!("{ctx}: the target is missing; add target=/path/in/container");
    };
    check_target(ctx, target)?;
    Ok((target.into(), options.join(",")))
}

/// `--mount type=bind|volume,source=...,target=...,readonly`.
fn parse_mount(ctx: &str, value: &str) -> Result<MountSpec> {
    let mut kind = MountKind::Volume;
    let (mut source, mut target, mut read_only) = ("", None, false);
    for field in value.split(',') {
        let (key, val) = match field.split_once('=') {
            Some((key, val)) => (key, Some(val)),
            None => (field, None),
        };
        match (key.to_ascii_lowercase().as_str(), val) {
            ("type", Some(t)) => {
                kind = match t {
                    "bind" => MountKind::Bind,
                    "volume" => MountKind::Volume,
                    _ => bail!("{ctx}: the mount type {t} is not bind or volume"),
                }
            }
            ("source" | "src", Some(s)) => source = s,
            ("target" | "dst" | "destination", Some(t)) => target = Some(t),
            ("readonly" | "ro", None) => read_only = true,
            ("readonly" | "ro", Some(v)) => {
                read_only = match v.to_ascii_lowercase().as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => bail!("{ctx}: {key}={v}: write true or false"),
                }
            }
            ("", None) => bail!("{ctx}: a field between commas is empty"),
            ("type" | "source" | "src" | "target" | "dst" | "destination", None) => {
                bail!("{ctx}: {key} needs a value, like {key}=...")
            }
            _ => bail!("{ctx}: berth does not take the --mount option {key}"),
        }
    }
    let Some(target) = target else {
        bail!("{ctx}: the target is missing; add target=/path/in/container");
    };
    check_target(ctx, target)?;
    let kind = match kind {
        MountKind::Bind if source.is_empty() => {
            bail!("{ctx}: a bind mount needs source=/absolute/host/path")
        }
        MountKind::Bind if !source.starts_with('/') => {
            bail!("{ctx}: bind mounts need an absolute host path ({source} is relative)")
        }
        MountKind::Volume if source.is_empty() => MountKind::Anonymous,
        MountKind::Volume if source.starts_with('/') => {
            bail!("{ctx}: {source} is a host path; write type=bind")
        }
        MountKind::Volume => source_kind(ctx, source)?,
        other => other,
    };
    Ok(MountSpec {
        kind,
        source: source.into(),
        target: target.into(),
        read_only,
    })
}

/// `512m`, `1.5g`, `2048k`, `1073741824`, `512mb`: bytes, at least 6 MiB.
pub fn parse_memory(ctx: &str, value: &str) -> Result<i64> {
    let bytes = parse_size(ctx, value)?;
    if bytes < 6 << 20 {
        bail!("{ctx}: the memory limit must be at least 6m (6 MiB), as docker requires");
    }
    Ok(bytes)
}

/// `64m`, `1.5g`, `2048k`, `1073741824`, `512mb`: bytes.
pub fn parse_size(ctx: &str, value: &str) -> Result<i64> {
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let unit_bytes: u128 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => bail!("{ctx}: the unit {unit} is not b, k, m or g"),
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
        bail!("{ctx}: write a size like 512m or 1.5g");
    }
    if whole.len() > 19 || frac.len() > 9 {
        bail!("{ctx}: the number is too long");
    }
    let digits = |s: &str| -> u128 { s.parse().unwrap_or(0) };
    let bytes =
        digits(whole) * unit_bytes + digits(frac) * unit_bytes / 10u128.pow(frac.len() as u32);
    let Ok(bytes) = i64::try_from(bytes) else {
        bail!("{ctx}: that is too large");
    };
    Ok(bytes)
}

/// `1.5` CPUs: billionths of a CPU.
pub fn parse_cpus(ctx: &str, value: &str) -> Result<i64> {
    let (whole, frac) = value.split_once('.').unwrap_or((value, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !all_digits(whole) || !all_digits(frac) {
        bail!("{ctx}: write a number of CPUs, like 1.5");
    }
    if frac.len() > 3 {
        bail!("{ctx}: write at most 3 decimals");
    }
    if whole.len() > 6 {
        bail!("{ctx}: that is too many CPUs");
    }
    let whole: i64 = whole.parse().unwrap_or(0);
    let frac: i64 = format!("{frac:0<9}").parse().unwrap_or(0);
    let nano = whole * 1_000_000_000 + frac;
    if nano == 0 {
        bail!("{ctx}: the CPU limit must be more than 0");
    }
    Ok(nano)
}

enum Gpus {
    Simple(GpuRequest),
    Request(DeviceRequest),
}

/// `all`, `2`, `count=2` or `count=all` (the simple forms), or the CSV form
/// `"device=0,1",capabilities=compute,driver=nvidia`.
fn parse_gpus(ctx: &str, value: &str) -> Result<Gpus> {
    let count = value.strip_prefix("count=").unwrap_or(value);
    if count == "all" {
        return Ok(Gpus::Simple(GpuRequest::All("all".into())));
    }
    let is_count = |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
    if is_count(count) {
        let n: i64 = count.parse().unwrap_or(0);
        if n == 0 {
            bail!("{ctx}: ask for at least 1 GPU");
        }
        return Ok(Gpus::Simple(GpuRequest::Count(n)));
    }
    let mut request = DeviceRequest {
        capabilities: vec![vec!["gpu".into()]],
        ..Default::default()
    };
    for field in split_csv(value) {
        match field.split_once('=') {
            Some(("count", "all")) => request.count = -1,
            Some(("count", n)) if is_count(n) => request.count = n.parse().unwrap_or(0),
            Some(("device", ids)) if !ids.is_empty() => {
                request.device_ids = ids.split(',').map(str::to_string).collect();
            }
            Some(("driver", d)) if !d.is_empty() => request.driver = d.into(),
            Some(("capabilities", caps)) if !caps.is_empty() => {
                let mut list = vec!["gpu".to_string()];
                list.extend(caps.split(',').filter(|c| *c != "gpu").map(str::to_string));
                request.capabilities = vec![list];
            }
            _ if field == "all" => request.count = -1,
            _ => bail!(
                "{ctx}: write all, a count, or count=, device=, driver= and capabilities= \
                 separated by commas (quote a list: '\"device=0,1\"')"
            ),
        }
    }
    if request.count == 0 && request.device_ids.is_empty() {
        bail!("{ctx}: ask for at least 1 GPU, or name them with device=");
    }
    Ok(Gpus::Request(request))
}

/// Splits `a,"b,c",d` at the commas outside double quotes, dropping the quotes.
fn split_csv(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

/// `[domain[:port]/]path[:tag][@sha256:hex]`, checked loosely: no white
/// space, a lower-case repository path, a valid tag and digest.
fn check_image(image: &str) -> Result<()> {
    let ctx = format!("image {}", quote(image));
    if image.is_empty() {
        bail!("no image given (the image name is empty)");
    }
    if image.chars().any(char::is_whitespace) {
        bail!("{ctx}: an image name has no spaces");
    }
    let (name_tag, digest) = match image.split_once('@') {
        Some((name_tag, digest)) => (name_tag, Some(digest)),
        None => (image, None),
    };
    if let Some(digest) = digest {
        let hex = digest.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            bail!("{ctx}: the digest after @ must be sha256: and 64 hex digits");
        }
    }
    let (name, tag) = match name_tag.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(tag)),
        _ => (name_tag, None),
    };
    if let Some(tag) = tag {
        let ok = tag.len() <= 128
            && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            bail!("{ctx}: the tag after : must be letters, digits, _ . and -");
        }
    }
    let mut components: Vec<&str> = name.split('/').collect();
    if components.len() > 1 && (components[0].contains(['.', ':']) || components[0] == "localhost")
    {
        let domain = components.remove(0);
        if !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            bail!("{ctx}: {domain} is not a registry host name");
        }
    }
    for component in components {
        if component.chars().any(|c| c.is_ascii_uppercase()) {
            bail!("{ctx}: repository names must be lowercase");
        }
        let ok = component.starts_with(|c: char| c.is_ascii_alphanumeric())
            && component.ends_with(|c: char| c.is_ascii_alphanumeric())
            && component
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            bail!(
                "{ctx}: each part of a repository name is lowercase letters, digits, _ . and -, \
                 and starts and ends with a letter or digit"
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- options

/// The flags that set [`ContainerOptions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    Privileged,
    Init,
    ReadOnly,
    OomKillDisable,
    CapAdd,
    CapDrop,
    Device,
    DeviceCgroupRule,
    Sysctl,
    Security,
    Pid,
    Ipc,
    Uts,
    Userns,
    Cgroupns,
    CgroupParent,
    VolumesFrom,
    Link,
    StopSignal,
    StopTimeout,
    Ulimit,
    GroupAdd,
    OomScoreAdj,
    PidsLimit,
    ShmSize,
    Tmpfs,
    Storage,
    Runtime,
    Platform,
    Isolation,
    Annotation,
    AddHost,
    Dns,
    DnsSearch,
    DnsOption,
    Domainname,
    MacAddress,
    Ip,
    Ip6,
    Expose,
    LogDriver,
    LogOption,
    CpuShares,
    CpuPeriod,
    CpuQuota,
    CpuRtPeriod,
    CpuRtRuntime,
    CpusetCpus,
    CpusetMems,
    MemoryReservation,
    MemorySwap,
    MemorySwappiness,
    BlkioWeight,
    BlkioWeightDevice,
    DeviceReadBps,
    DeviceWriteBps,
    DeviceReadIops,
    DeviceWriteIops,
}

impl Opt {
    fn long(name: &str) -> Option<Opt> {
        Some(match name {
            "privileged" => Opt::Privileged,
            "init" => Opt::Init,
            "read-only" => Opt::ReadOnly,
            "oom-kill-disable" => Opt::OomKillDisable,
            "cap-add" => Opt::CapAdd,
            "cap-drop" => Opt::CapDrop,
            "device" => Opt::Device,
            "device-cgroup-rule" => Opt::DeviceCgroupRule,
            "sysctl" => Opt::Sysctl,
            "security-opt" => Opt::Security,
            "pid" => Opt::Pid,
            "ipc" => Opt::Ipc,
            "uts" => Opt::Uts,
            "userns" => Opt::Userns,
            "cgroupns" => Opt::Cgroupns,
            "cgroup-parent" => Opt::CgroupParent,
            "volumes-from" => Opt::VolumesFrom,
            "link" => Opt::Link,
            "stop-signal" => Opt::StopSignal,
            "stop-timeout" => Opt::StopTimeout,
            "ulimit" => Opt::Ulimit,
            "group-add" => Opt::GroupAdd,
            "oom-score-adj" => Opt::OomScoreAdj,
            "pids-limit" => Opt::PidsLimit,
            "shm-size" => Opt::ShmSize,
            "tmpfs" => Opt::Tmpfs,
            "storage-opt" => Opt::Storage,
            "runtime" => Opt::Runtime,
            "platform" => Opt::Platform,
            "isolation" => Opt::Isolation,
            "annotation" => Opt::Annotation,
            "add-host" => Opt::AddHost,
            "dns" => Opt::Dns,
            "dns-search" => Opt::DnsSearch,
            "dns-option" | "dns-opt" => Opt::DnsOption,
            "domainname" => Opt::Domainname,
            "mac-address" => Opt::MacAddress,
            "ip" => Opt::Ip,
            "ip6" => Opt::Ip6,
            "expose" => Opt::Expose,
            "log-driver" => Opt::LogDriver,
            "log-opt" => Opt::LogOption,
            "cpu-shares" => Opt::CpuShares,
            "cpu-period" => Opt::CpuPeriod,
            "cpu-quota" => Opt::CpuQuota,
            "cpu-rt-period" => Opt::CpuRtPeriod,
            "cpu-rt-runtime" => Opt::CpuRtRuntime,
            "cpuset-cpus" => Opt::CpusetCpus,
            "cpuset-mems" => Opt::CpusetMems,
            "memory-reservation" => Opt::MemoryReservation,
            "memory-swap" => Opt::MemorySwap,
            "memory-swappiness" => Opt::MemorySwappiness,
            "blkio-weight" => Opt::BlkioWeight,
            "blkio-weight-device" => Opt::BlkioWeightDevice,
            "device-read-bps" => Opt::DeviceReadBps,
            "device-write-bps" => Opt::DeviceWriteBps,
            "device-read-iops" => Opt::DeviceReadIops,
            "device-write-iops" => Opt::DeviceWriteIops,
            _ => return None,
        })
    }

    fn is_bool(self) -> bool {
        matches!(
            self,
            Opt::Privileged | Opt::Init | Opt::ReadOnly | Opt::OomKillDisable
        )
    }

    /// The options that take one value; the others may be repeated.
    fn is_single(self) -> bool {
        !self.is_bool()
            && !matches!(
                self,
                Opt::CapAdd
                    | Opt::CapDrop
                    | Opt::Device
                    | Opt::DeviceCgroupRule
                    | Opt::Sysctl
                    | Opt::Security
                    | Opt::VolumesFrom
                    | Opt::Link
                    | Opt::Ulimit
                    | Opt::GroupAdd
                    | Opt::Tmpfs
                    | Opt::Storage
                    | Opt::Annotation
                    | Opt::AddHost
                    | Opt::Dns
                    | Opt::DnsSearch
                    | Opt::DnsOption
                    | Opt::Expose
                    | Opt::LogOption
                    | Opt::BlkioWeightDevice
                    | Opt::DeviceReadBps
                    | Opt::DeviceWriteBps
                    | Opt::DeviceReadIops
                    | Opt::DeviceWriteIops
            )
    }
}

fn set_option_bool(o: &mut ContainerOptions, flag: Opt, on: bool) {
    match flag {
        Opt::Privileged => o.privileged = on,
        Opt::Init => o.init = Some(on),
        Opt::ReadOnly => o.read_only = on,
        Opt::OomKillDisable => o.oom_kill_disable = Some(on),
        _ => {}
    }
}

fn parse_int(ctx: &str, value: &str) -> Result<i64> {
    match value.parse::<i64>() {
        Ok(n) => Ok(n),
        Err(_) => bail!("{ctx}: write a whole number"),
    }
}

/// `key=value`, the key not empty.
fn key_value<'a>(ctx: &str, value: &'a str, example: &str) -> Result<(&'a str, &'a str)> {
    match value.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.chars().any(char::is_whitespace) => Ok((k, v)),
        _ => bail!("{ctx}: write name=value, like {example}"),
    }
}

/// `name`, optionally `:suffix`, where name is a container name.
fn container_ref<'a>(ctx: &str, value: &'a str) -> Result<(&'a str, Option<&'a str>)> {
    let (name, rest) = match value.split_once(':') {
        Some((n, r)) => (n, Some(r)),
        None => (value, None),
    };
    if !is_name(name.trim_start_matches('/'), 1) {
        bail!("{ctx}: {name} is not a container name");
    }
    Ok((name, rest))
}

/// `/dev/sda:1mb` for the block-IO rate flags.
fn device_rate(ctx: &str, value: &str, bytes: bool) -> Result<BlkioDeviceRate> {
    let Some((path, rate)) = value.rsplit_once(':') else {
        bail!("{ctx}: write /dev/device:rate, like /dev/sda:10mb");
    };
    if !path.starts_with('/') {
        bail!("{ctx}: the device {path} must be an absolute path");
    }
    let rate = if bytes {
        parse_size(ctx, rate)?
    } else {
        parse_int(ctx, rate)?
    };
    if rate < 0 {
        bail!("{ctx}: the rate must not be negative");
    }
    Ok(BlkioDeviceRate {
        path: path.into(),
        rate,
    })
}

fn namespace(ctx: &str, value: &str, allowed: &[&str], container: bool) -> Result<String> {
    let ok = allowed.contains(&value)
        || (container
            && value
                .strip_prefix("container:")
                .is_some_and(|c| is_name(c, 1)));
    if !ok {
        let mut choices = allowed.join(", ");
        if container {
            choices.push_str(", container:<name>");
        }
        bail!("{ctx}: write one of {choices}");
    }
    Ok(value.into())
}

fn set_option(o: &mut ContainerOptions, flag: Opt, ctx: &str, value: &str) -> Result<()> {
    let no_spaces = |what: &str| -> Result<String> {
        if value.chars().any(char::is_whitespace) {
            bail!("{ctx}: {what} has no spaces");
        }
        Ok(value.to_string())
    };
    match flag {
        Opt::CapAdd | Opt::CapDrop => {
            if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                bail!("{ctx}: write a capability name like NET_ADMIN");
            }
            let cap = value.to_ascii_uppercase();
            let cap = cap.strip_prefix("CAP_").unwrap_or(&cap).to_string();
            if flag == Opt::CapAdd {
                o.cap_add.push(cap);
            } else {
                o.cap_drop.push(cap);
            }
        }
        Opt::Device => {
            let parts: Vec<&str> = value.split(':').collect();
            let perms = |s: &str| !s.is_empty() && s.chars().all(|c| matches!(c, 'r' | 'w' | 'm'));
            let (host, container, permissions) = match parts.as_slice() {
                [h] => (*h, "", ""),
                [h, p] if perms(p) => (*h, "", *p),
                [h, c] => (*h, *c, ""),
                [h, c, p] if perms(p) => (*h, *c, *p),
                _ => bail!("{ctx}: write /dev/host[:/dev/container[:rwm]]"),
            };
            if !host.starts_with('/') || !(container.is_empty() || container.starts_with('/')) {
                bail!("{ctx}: device paths must be absolute, like /dev/fuse");
            }
            o.devices.push(DeviceMapping {
                host: host.into(),
                container: if container == host {
                    String::new()
                } else {
                    container.into()
                },
                permissions: if permissions == "rwm" {
                    String::new()
                } else {
                    permissions.into()
                },
            });
        }
        Opt::DeviceCgroupRule => o.device_cgroup_rules.push(value.into()),
        Opt::Sysctl => {
            let (k, v) = key_value(ctx, value, "net.ipv4.ip_forward=1")?;
            o.sysctls.insert(k.into(), v.into());
        }
        Opt::Security => {
            let (key, rest) = value.split_once(['=', ':']).unwrap_or((value, ""));
            if key == "seccomp" && rest != "unconfined" {
                bail!(
                    "{ctx}: berth cannot read your seccomp profile file; \
                     only seccomp=unconfined can be pasted"
                );
            }
            o.security_opt.push(value.into());
        }
        Opt::Pid => o.pid = Some(namespace(ctx, value, &["host"], true)?),
        Opt::Ipc => {
            o.ipc = Some(namespace(
                ctx,
                value,
                &["host", "private", "shareable", "none"],
                true,
            )?)
        }
        Opt::Uts => o.uts = Some(namespace(ctx, value, &["host"], false)?),
        Opt::Userns => o.userns_mode = Some(namespace(ctx, value, &["host"], false)?),
        Opt::Cgroupns => o.cgroupns = Some(namespace(ctx, value, &["host", "private"], false)?),
        Opt::CgroupParent => o.cgroup_parent = Some(no_spaces("a cgroup")?),
        Opt::VolumesFrom => {
            let (_, mode) = container_ref(ctx, value)?;
            if mode.is_some_and(|m| !matches!(m, "ro" | "rw")) {
                bail!("{ctx}: write a container name, optionally with :ro or :rw");
            }
            o.volumes_from.push(value.into());
        }
        Opt::Link => {
            let (_, alias) = container_ref(ctx, value)?;
            if alias.is_some_and(|a| !is_name(a, 1)) {
                bail!("{ctx}: write a container name, optionally with :alias");
            }
            o.links.push(value.into());
        }
        Opt::StopSignal => o.stop_signal = Some(no_spaces("a signal")?),
        Opt::StopTimeout => o.stop_timeout = Some(parse_int(ctx, value)?),
        Opt::Ulimit => {
            let (name, limits) = key_value(ctx, value, "nofile=1024:2048")?;
            let (soft, hard) = limits.split_once(':').unwrap_or((limits, limits));
            let limit = |s: &str| -> Result<i64> {
                if s == "unlimited" {
                    Ok(-1)
                } else {
                    parse_int(ctx, s)
                }
            };
            let (soft, hard) = (limit(soft)?, limit(hard)?);
            if hard != -1 && (soft == -1 || soft > hard) {
                bail!("{ctx}: the soft limit {soft} is above the hard limit {hard}");
            }
            o.ulimits.push(Ulimit {
                name: name.into(),
                soft,
                hard,
            });
        }
        Opt::GroupAdd => o.group_add.push(no_spaces("a group")?),
        Opt::OomScoreAdj => {
            let n = parse_int(ctx, value)?;
            if !(-1000..=1000).contains(&n) {
                bail!("{ctx}: write a number between -1000 and 1000");
            }
            o.oom_score_adj = Some(n);
        }
        Opt::PidsLimit => o.pids_limit = Some(parse_int(ctx, value)?),
        Opt::ShmSize => o.shm_size = Some(parse_size(ctx, value)?),
        Opt::Tmpfs => {
            let (path, options) = value.split_once(':').unwrap_or((value, ""));
            if !path.starts_with('/') {
                bail!("{ctx}: the tmpfs mount point must be an absolute path");
            }
            o.tmpfs.insert(path.into(), options.into());
        }
        Opt::Storage => {
            let (k, v) = key_value(ctx, value, "size=20G")?;
            o.storage_opt.insert(k.into(), v.into());
        }
        Opt::Runtime => o.runtime = Some(no_spaces("a runtime name")?),
        Opt::Platform => o.platform = Some(no_spaces("a platform")?),
        Opt::Isolation => {
            o.isolation = Some(namespace(
                ctx,
                value,
                &["default", "process", "hyperv"],
                false,
            )?)
        }
        Opt::Annotation => {
            let (k, v) = key_value(ctx, value, "org.example.owner=ops")?;
            o.annotations.insert(k.into(), v.into());
        }
        Opt::AddHost => {
            let (host, ip) = value
                .split_once('=')
                .or_else(|| value.split_once(':'))
                .unwrap_or((value, ""));
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() || (ip != "host-gateway" && ip.parse::<IpAddr>().is_err()) {
                bail!("{ctx}: write host:ip, like db:10.0.0.2 or gw:host-gateway");
            }
            o.extra_hosts.push(format!("{host}:{ip}"));
        }
        Opt::Dns => {
            if value.parse::<IpAddr>().is_err() {
                bail!("{ctx}: a DNS server is an IP address");
            }
            o.dns.push(value.into());
        }
        Opt::DnsSearch => o.dns_search.push(no_spaces("a domain")?),
        Opt::DnsOption => o.dns_opt.push(no_spaces("a resolver option")?),
        Opt::Domainname => o.domainname = Some(no_spaces("a domain name")?),
        Opt::MacAddress => o.mac_address = Some(no_spaces("a MAC address")?),
        Opt::Ip => {
            if value.parse::<std::net::Ipv4Addr>().is_err() {
                bail!("{ctx}: write an IPv4 address");
            }
            o.ipv4_address = Some(value.into());
        }
        Opt::Ip6 => {
            if value.parse::<std::net::Ipv6Addr>().is_err() {
                bail!("{ctx}: write an IPv6 address");
            }
            o.ipv6_address = Some(value.into());
        }
        Opt::Expose => {
            let (ports, proto) = value.split_once('/').unwrap_or((value, "tcp"));
            parse_port_range(ctx, ports)?;
            if !matches!(proto, "tcp" | "udp" | "sctp") {
                bail!("{ctx}: the protocol {proto} is not tcp, udp or sctp");
            }
            o.expose
                .push(value.strip_suffix("/tcp").unwrap_or(value).to_string());
        }
        Opt::LogDriver => o.log_driver = Some(no_spaces("a logging driver")?),
        Opt::LogOption => {
            let (k, v) = key_value(ctx, value, "max-size=10m")?;
            o.log_opts.insert(k.into(), v.into());
        }
        Opt::CpuShares => o.cpu_shares = Some(parse_int(ctx, value)?),
        Opt::CpuPeriod => o.cpu_period = Some(parse_int(ctx, value)?),
        Opt::CpuQuota => o.cpu_quota = Some(parse_int(ctx, value)?),
        Opt::CpuRtPeriod => o.cpu_rt_period = Some(parse_int(ctx, value)?),
        Opt::CpuRtRuntime => o.cpu_rt_runtime = Some(parse_int(ctx, value)?),
        Opt::CpusetCpus => o.cpuset_cpus = Some(no_spaces("a CPU list")?),
        Opt::CpusetMems => o.cpuset_mems = Some(no_spaces("a memory node list")?),
        Opt::MemoryReservation => o.memory_reservation = Some(parse_size(ctx, value)?),
        Opt::MemorySwap => {
            o.memory_swap = Some(if value == "-1" {
                -1
            } else {
                parse_size(ctx, value)?
            })
        }
        Opt::MemorySwappiness => {
            let n = parse_int(ctx, value)?;
            if !(-1..=100).contains(&n) {
                bail!("{ctx}: write a number between 0 and 100");
            }
            o.memory_swappiness = Some(n);
        }
        Opt::BlkioWeight => match value.parse::<u16>() {
            Ok(w) if w == 0 || (10..=1000).contains(&w) => o.blkio_weight = Some(w),
            _ => bail!("{ctx}: write a weight between 10 and 1000"),
        },
        Opt::BlkioWeightDevice => o.blkio_weight_device.push(device_rate(ctx, value, false)?),
        Opt::DeviceReadBps => o.device_read_bps.push(device_rate(ctx, value, true)?),
        Opt::DeviceWriteBps => o.device_write_bps.push(device_rate(ctx, value, true)?),
        Opt::DeviceReadIops => o.device_read_iops.push(device_rate(ctx, value, false)?),
        Opt::DeviceWriteIops => o.device_write_iops.push(device_rate(ctx, value, false)?),
        Opt::Privileged | Opt::Init | Opt::ReadOnly | Opt::OomKillDisable => {}
    }
    Ok(())
}

/// Writes the options a command line can say, in the order of
/// [`ContainerOptions`]; `files` cannot be said.
fn push_options(out: &mut String, o: &ContainerOptions) {
    // Switches are written bare (`--init`), or `--init=false` when turned off.
    let switch = |out: &mut String, long: &str, on: bool| {
        out.push_str(&format!(" --{long}"));
        if !on {
            out.push_str("=false");
        }
    };
    if o.privileged {
        switch(out, "privileged", true);
    }
    if let Some(init) = o.init {
        switch(out, "init", init);
    }
    if o.read_only {
        switch(out, "read-only", true);
    }
    if let Some(d) = o.oom_kill_disable {
        switch(out, "oom-kill-disable", d);
    }
    let mut flag = |long: &str, value: &str| push_flag(out, &format!("--{long}"), long, value);
    for c in &o.cap_add {
        flag("cap-add", c);
    }
    for c in &o.cap_drop {
        flag("cap-drop", c);
    }
    for d in &o.devices {
        let mut text = d.host.clone();
        if !d.container.is_empty() || !d.permissions.is_empty() {
            text.push(':');
            text.push_str(if d.container.is_empty() {
                &d.host
            } else {
                &d.container
            });
        }
        if !d.permissions.is_empty() {
            text.push(':');
            text.push_str(&d.permissions);
        }
        flag("device", &text);
    }
    for r in &o.device_cgroup_rules {
        flag("device-cgroup-rule", r);
    }
    for r in &o.device_requests {
        if let Some(text) = gpus_text(r) {
            flag("gpus", &text);
        }
    }
    for (k, v) in &o.sysctls {
        flag("sysctl", &format!("{k}={v}"));
    }
    for s in &o.security_opt {
        flag("security-opt", s);
    }
    for (long, value) in [
        ("pid", &o.pid),
        ("ipc", &o.ipc),
        ("uts", &o.uts),
        ("userns", &o.userns_mode),
        ("cgroupns", &o.cgroupns),
        ("cgroup-parent", &o.cgroup_parent),
    ] {
        if let Some(v) = value {
            flag(long, v);
        }
    }
    for v in &o.volumes_from {
        flag("volumes-from", v);
    }
    for l in &o.links {
        flag("link", l);
    }
    if let Some(s) = &o.stop_signal {
        flag("stop-signal", s);
    }
    if let Some(t) = o.stop_timeout {
        flag("stop-timeout", &t.to_string());
    }
    for u in &o.ulimits {
        flag("ulimit", &format!("{}={}:{}", u.name, u.soft, u.hard));
    }
    for g in &o.group_add {
        flag("group-add", g);
    }
    if let Some(n) = o.oom_score_adj {
        flag("oom-score-adj", &n.to_string());
    }
    if let Some(n) = o.pids_limit {
        flag("pids-limit", &n.to_string());
    }
    if let Some(n) = o.shm_size {
        flag("shm-size", &memory_text(n));
    }
    for (path, options) in &o.tmpfs {
        if options.is_empty() {
            flag("tmpfs", path);
        } else {
            flag("tmpfs", &format!("{path}:{options}"));
        }
    }
    for (k, v) in &o.storage_opt {
        flag("storage-opt", &format!("{k}={v}"));
    }
    for (long, value) in [
        ("runtime", &o.runtime),
        ("platform", &o.platform),
        ("isolation", &o.isolation),
    ] {
        if let Some(v) = value {
            flag(long, v);
        }
    }
    for (k, v) in &o.annotations {
        flag("annotation", &format!("{k}={v}"));
    }
    for h in &o.extra_hosts {
        flag("add-host", h);
    }
    for d in &o.dns {
        flag("dns", d);
    }
    for d in &o.dns_search {
        flag("dns-search", d);
    }
    for d in &o.dns_opt {
        flag("dns-option", d);
    }
    for (long, value) in [
        ("domainname", &o.domainname),
        ("mac-address", &o.mac_address),
        ("ip", &o.ipv4_address),
        ("ip6", &o.ipv6_address),
    ] {
        if let Some(v) = value {
            flag(long, v);
        }
    }
    for e in &o.expose {
        flag("expose", e);
    }
    if let Some(d) = &o.log_driver {
        flag("log-driver", d);
    }
    for (k, v) in &o.log_opts {
        flag("log-opt", &format!("{k}={v}"));
    }
    for (long, value) in [
        ("cpu-shares", o.cpu_shares),
        ("cpu-period", o.cpu_period),
        ("cpu-quota", o.cpu_quota),
        ("cpu-rt-period", o.cpu_rt_period),
        ("cpu-rt-runtime", o.cpu_rt_runtime),
    ] {
        if let Some(v) = value {
            flag(long, &v.to_string());
        }
    }
    for (long, value) in [
        ("cpuset-cpus", &o.cpuset_cpus),
        ("cpuset-mems", &o.cpuset_mems),
    ] {
        if let Some(v) = value {
            flag(long, v);
        }
    }
    if let Some(n) = o.memory_reservation {
        flag("memory-reservation", &memory_text(n));
    }
    if let Some(n) = o.memory_swap {
        flag(
            "memory-swap",
            &if n == -1 { "-1".into() } else { memory_text(n) },
        );
    }
    if let Some(n) = o.memory_swappiness {
        flag("memory-swappiness", &n.to_string());
    }
    if let Some(w) = o.blkio_weight {
        flag("blkio-weight", &w.to_string());
    }
    for (long, list) in [
        ("blkio-weight-device", &o.blkio_weight_device),
        ("device-read-bps", &o.device_read_bps),
        ("device-write-bps", &o.device_write_bps),
        ("device-read-iops", &o.device_read_iops),
        ("device-write-iops", &o.device_write_iops),
    ] {
        for d in list {
            flag(long, &format!("{}:{}", d.path, d.rate));
        }
    }
}

/// A device request as `--gpus` says it, when it can.
fn gpus_text(r: &DeviceRequest) -> Option<String> {
    let [caps] = r.capabilities.as_slice() else {
        return None;
    };
    if caps.first().map(String::as_str) != Some("gpu") || !r.options.is_empty() {
        return None;
    }
    let mut fields = Vec::new();
    if !r.device_ids.is_empty() {
        fields.push(format!("\"device={}\"", r.device_ids.join(",")));
    } else if r.count == -1 {
        fields.push("count=all".into());
    } else {
        fields.push(format!("count={}", r.count));
    }
    if !r.driver.is_empty() {
        fields.push(format!("driver={}", r.driver));
    }
    if caps.len() > 1 {
        fields.push(format!("\"capabilities={}\"", caps[1..].join(",")));
    }
    Some(fields.join(","))
}

// ---------------------------------------------------------------- writing

/// Writes a spec as a canonical `docker run` line that parses back to the
/// same spec (with `start` set).
///
/// What a command line cannot say is written as closely as it can:
/// an entrypoint of several words becomes `--entrypoint` with the first and
/// the rest put before the command (the container runs the same program);
/// an empty `cmd` is left out; `start` is not written.
pub fn to_run_command(spec: &ContainerSpec) -> String {
    let mut out = String::from("docker run -d");
    if spec.interactive {
        out.push('i');
    }
    if spec.tty {
        out.push('t');
    }
    if spec.auto_remove {
        out.push_str(" --rm");
    }
    if let Some(name) = &spec.name {
        push_flag(&mut out, "--name", "name", name);
    }
    for (key, value) in &spec.env {
        push_flag(&mut out, "-e", "env", &format!("{key}={value}"));
    }
    for port in &spec.ports {
        push_flag(&mut out, "-p", "publish", &port_text(port));
    }
    if spec.publish_all {
        out.push_str(" -P");
    }
    for mount in &spec.mounts {
        push_mount(&mut out, mount);
    }
    if let Some(network) = &spec.network {
        push_flag(&mut out, "--network", "network", network);
    }
    if let Some(restart) = &spec.restart {
        push_flag(&mut out, "--restart", "restart", restart);
    }
    for (key, value) in &spec.labels {
        push_flag(&mut out, "-l", "label", &format!("{key}={value}"));
    }
    if let Some(workdir) = &spec.workdir {
        push_flag(&mut out, "-w", "workdir", workdir);
    }
    if let Some(user) = &spec.user {
        push_flag(&mut out, "-u", "user", user);
    }
    if let Some(hostname) = &spec.hostname {
        push_flag(&mut out, "-h", "hostname", hostname);
    }
    if let Some(bytes) = spec.memory_bytes {
        push_flag(&mut out, "-m", "memory", &memory_text(bytes));
    }
    if let Some(nano) = spec.nano_cpus {
        push_flag(&mut out, "--cpus", "cpus", &cpus_text(nano));
    }
    match &spec.gpus {
        Some(GpuRequest::All(all)) => push_flag(&mut out, "--gpus", "gpus", all),
        Some(GpuRequest::Count(n)) => push_flag(&mut out, "--gpus", "gpus", &n.to_string()),
        None => {}
    }
    push_options(&mut out, &spec.options);
    let mut cmd: Vec<&str> = Vec::new();
    match spec.entrypoint.as_deref() {
        Some([]) => out.push_str(" --entrypoint ''"),
        Some([program, args @ ..]) => {
            push_flag(&mut out, "--entrypoint", "entrypoint", program);
            cmd.extend(args.iter().map(String::as_str));
        }
        None => {}
    }
    cmd.extend(spec.cmd.iter().flatten().map(String::as_str));
    out.push(' ');
    if spec.image.starts_with('-') {
        out.push_str("-- ");
    }
    out.push_str(&quote(&spec.image));
    for word in cmd {
        out.push(' ');
        out.push_str(&quote(word));
    }
    out
}

/// ` -e value`, or ` --env=-value` when the value looks like a flag.
fn push_flag(out: &mut String, flag: &str, long: &str, value: &str) {
    out.push(' ');
    if value.starts_with('-') {
        out.push_str("--");
        out.push_str(long);
        out.push('=');
    } else {
        out.push_str(flag);
        out.push(' ');
    }
    out.push_str(&quote(value));
}

fn push_mount(out: &mut String, mount: &MountSpec) {
    let needs_long_form = mount.source.contains(':')
        || mount.target.contains(':')
        || (mount.kind == MountKind::Anonymous && mount.read_only);
    if needs_long_form {
        let mut value = match mount.kind {
            MountKind::Bind => format!("type=bind,source={},", mount.source),
            MountKind::Volume => format!("type=volume,source={},", mount.source),
            MountKind::Anonymous => "type=volume,".into(),
        };
        value.push_str("target=");
        value.push_str(&mount.target);
        if mount.read_only {
            value.push_str(",readonly");
        }
        push_flag(out, "--mount", "mount", &value);
    } else {
        let mut value = match mount.kind {
            MountKind::Anonymous => mount.target.clone(),
            _ => format!("{}:{}", mount.source, mount.target),
        };
        if mount.read_only {
            value.push_str(":ro");
        }
        push_flag(out, "-v", "volume", &value);
    }
}

fn port_text(port: &PortSpec) -> String {
    let mut text = String::new();
    let ip = port.host_ip.as_deref().filter(|ip| !ip.is_empty());
    match ip {
        Some(ip) if ip.contains(':') => text.push_str(&format!("[{ip}]:")),
        Some(ip) => text.push_str(&format!("{ip}:")),
        None => {}
    }
    match port.host_port {
        Some(host) => {
            text.push_str(&host.to_string());
            if let Some(end) = port.host_port_end.filter(|end| *end != host) {
                text.push_str(&format!("-{end}"));
            }
            text.push(':');
        }
        None if ip.is_some() => text.push(':'),
        None => {}
    }
    text.push_str(&port.container_port.to_string());
    if !port.protocol.is_empty() && port.protocol != "tcp" {
        text.push('/');
        text.push_str(&port.protocol);
    }
    text
}

fn memory_text(bytes: i64) -> String {
    for (unit, size) in [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if bytes > 0 && bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

fn cpus_text(nano: i64) -> String {
    let (whole, frac) = (nano / 1_000_000_000, nano % 1_000_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{:09}", frac.abs());
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// A word as a shell (and [`split_words`]) reads it back: bare when it is
/// plain, else in single quotes.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        word.into()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const DIGEST: &str = "sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31";

    fn spec(image: &str) -> ContainerSpec {
        ContainerSpec {
            image: image.into(),
            start: true,
            ..ContainerSpec::default()
        }
    }

    fn with_options(options: ContainerOptions) -> ContainerSpec {
        ContainerSpec {
            options,
            ..spec("img")
        }
    }

    fn rate(path: &str, rate: i64) -> BlkioDeviceRate {
        BlkioDeviceRate {
            path: path.into(),
            rate,
        }
    }

    fn some(s: &str) -> Option<String> {
        Some(s.into())
    }

    fn words(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|w| w.to_string()).collect())
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn port(
        ip: Option<&str>,
        host: Option<u16>,
        end: Option<u16>,
        cont: u16,
        proto: &str,
    ) -> PortSpec {
        PortSpec {
            host_ip: ip.map(str::to_string),
            host_port: host,
            host_port_end: end,
            container_port: cont,
            protocol: proto.into(),
        }
    }

    fn tcp(host: u16, cont: u16) -> PortSpec {
        port(None, Some(host), None, cont, "tcp")
    }

    fn mount(kind: MountKind, source: &str, target: &str, read_only: bool) -> MountSpec {
        MountSpec {
            kind,
            source: source.into(),
            target: target.into(),
            read_only,
        }
    }

    fn bind(source: &str, target: &str, read_only: bool) -> MountSpec {
        mount(MountKind::Bind, source, target, read_only)
    }

    fn volume(source: &str, target: &str, read_only: bool) -> MountSpec {
        mount(MountKind::Volume, source, target, read_only)
    }

    fn anonymous(target: &str) -> MountSpec {
        mount(MountKind::Anonymous, "", target, false)
    }

    fn good_lines() -> Vec<(String, ContainerSpec)> {
        let cases: Vec<(&str, ContainerSpec)> = vec![
            ("docker run nginx", spec("nginx")),
            (
                "docker run -d --name web -p 8080:80 -v /srv/www:/usr/share/nginx/html:ro \
                 --restart unless-stopped nginx:1.27",
                ContainerSpec {
                    name: some("web"),
                    ports: vec![tcp(8080, 80)],
                    mounts: vec![bind("/srv/www", "/usr/share/nginx/html", true)],
                    restart: some("unless-stopped"),
                    ..spec("nginx:1.27")
                },
            ),
            (
                r#"docker run -it --rm -e "GREETING=hello world" busybox sh -c 'echo $GREETING'"#,
                ContainerSpec {
                    interactive: true,
                    tty: true,
                    auto_remove: true,
                    env: map(&[("GREETING", "hello world")]),
                    cmd: words(&["sh", "-c", "echo $GREETING"]),
                    ..spec("busybox")
                },
            ),
            (
                "docker run -d --gpus all --name llm -p 11434:11434 -v ollama:/root/.ollama ollama/ollama",
                ContainerSpec {
                    gpus: Some(GpuRequest::All("all".into())),
                    name: some("llm"),
                    ports: vec![tcp(11434, 11434)],
                    mounts: vec![volume("ollama", "/root/.ollama", false)],
                    ..spec("ollama/ollama")
                },
            ),
            (
                "docker run -d \\\n  --name db \\\n  -e POSTGRES_USER=app \\\n  \
                 -e POSTGRES_PASSWORD='s3cr3t!' \\\n  -e POSTGRES_DB=app \\\n  \
                 -p 127.0.0.1:5432:5432 \\\n  -v pgdata:/var/lib/postgresql/data \\\n  \
                 --restart=always \\\n  postgres:16-alpine\n",
                ContainerSpec {
                    name: some("db"),
                    env: map(&[
                        ("POSTGRES_USER", "app"),
                        ("POSTGRES_PASSWORD", "s3cr3t!"),
                        ("POSTGRES_DB", "app"),
                    ]),
                    ports: vec![port(Some("127.0.0.1"), Some(5432), None, 5432, "tcp")],
                    mounts: vec![volume("pgdata", "/var/lib/postgresql/data", false)],
                    restart: some("always"),
                    ..spec("postgres:16-alpine")
                },
            ),
            (
                "sudo docker run --rm hello-world",
                ContainerSpec {
                    auto_remove: true,
                    ..spec("hello-world")
                },
            ),
            (
                "docker container run --name=api --network=backend -w /app -u 1000:1000 node:20 node server.js",
                ContainerSpec {
                    name: some("api"),
                    network: some("backend"),
                    workdir: some("/app"),
                    user: some("1000:1000"),
                    cmd: words(&["node", "server.js"]),
                    ..spec("node:20")
                },
            ),
            (
                "docker run -p 80 -p 127.0.0.1::443 nginx",
                ContainerSpec {
                    ports: vec![
                        port(None, None, None, 80, "tcp"),
                        port(Some("127.0.0.1"), None, None, 443, "tcp"),
                    ],
                    ..spec("nginx")
                },
            ),
            (
                "docker run -p 8080:80/udp --publish 53:53/sctp --publish=5353:5353/tcp coredns/coredns",
                ContainerSpec {
                    ports: vec![
                        port(None, Some(8080), None, 80, "udp"),
                        port(None, Some(53), None, 53, "sctp"),
                        tcp(5353, 5353),
                    ],
                    ..spec("coredns/coredns")
                },
            ),
            (
                "docker run -p 8000-8010:80 traefik/whoami",
                ContainerSpec {
                    ports: vec![port(None, Some(8000), Some(8010), 80, "tcp")],
                    ..spec("traefik/whoami")
                },
            ),
            (
                "docker run -p 8000-8002:80-82 img",
                ContainerSpec {
                    ports: vec![tcp(8000, 80), tcp(8001, 81), tcp(8002, 82)],
                    ..spec("img")
                },
            ),
            (
                "docker run -p 127.0.0.1:7000-7001:7000-7001/udp -p 9000-9001 img",
                ContainerSpec {
                    ports: vec![
                        port(Some("127.0.0.1"), Some(7000), None, 7000, "udp"),
                        port(Some("127.0.0.1"), Some(7001), None, 7001, "udp"),
                        port(None, None, None, 9000, "tcp"),
                        port(None, None, None, 9001, "tcp"),
                    ],
                    ..spec("img")
                },
            ),
            (
                "docker run -p [::1]:8080:80 -p '[2001:db8::5]::53/udp' nginx",
                ContainerSpec {
                    ports: vec![
                        port(Some("::1"), Some(8080), None, 80, "tcp"),
                        port(Some("2001:db8::5"), None, None, 53, "udp"),
                    ],
                    ..spec("nginx")
                },
            ),
            (
                "docker run -p8080:80 -eFOO=bar -lapp=web -p=9090:90 img",
                ContainerSpec {
                    ports: vec![tcp(8080, 80), tcp(9090, 90)],
                    env: map(&[("FOO", "bar")]),
                    labels: map(&[("app", "web")]),
                    ..spec("img")
                },
            ),
            (
                "docker run -dit --name shell ubuntu:24.04 bash",
                ContainerSpec {
                    interactive: true,
                    tty: true,
                    name: some("shell"),
                    cmd: words(&["bash"]),
                    ..spec("ubuntu:24.04")
                },
            ),
            (
                "docker run -itd -ti -dp 3000:3000 -P node",
                ContainerSpec {
                    interactive: true,
                    tty: true,
                    ports: vec![tcp(3000, 3000)],
                    publish_all: true,
                    ..spec("node")
                },
            ),
            (
                "docker run --publish-all --interactive --tty --detach nginx",
                ContainerSpec {
                    publish_all: true,
                    interactive: true,
                    tty: true,
                    ..spec("nginx")
                },
            ),
            (
                "docker run -v /cache -v /data:/data:rw -v /etc/ssl:/etc/ssl:ro,z -v logs:/var/log:Z img",
                ContainerSpec {
                    mounts: vec![
                        anonymous("/cache"),
                        bind("/data", "/data", false),
                        bind("/etc/ssl", "/etc/ssl", true),
                        volume("logs", "/var/log", false),
                    ],
                    ..spec("img")
                },
            ),
            (
                "docker run --volume=my_vol.1:/srv:ro --volume /var/run/docker.sock:/var/run/docker.sock \
                 portainer/portainer-ce:2.21.0",
                ContainerSpec {
                    mounts: vec![
                        volume("my_vol.1", "/srv", true),
                        bind("/var/run/docker.sock", "/var/run/docker.sock", false),
                    ],
                    ..spec("portainer/portainer-ce:2.21.0")
                },
            ),
            (
                "docker run --mount type=bind,source=/srv/app,target=/app,readonly img",
                ContainerSpec {
                    mounts: vec![bind("/srv/app", "/app", true)],
                    ..spec("img")
                },
            ),
            (
                "docker run --mount type=volume,src=data,dst=/data --mount 'destination=/scratch' \
                 --mount=type=bind,src=/x,target=/y,ro=false --mount src=cache,target=/c,ro img",
                ContainerSpec {
                    mounts: vec![
                        volume("data", "/data", false),
                        anonymous("/scratch"),
                        bind("/x", "/y", false),
                        volume("cache", "/c", true),
                    ],
                    ..spec("img")
                },
            ),
            (
                "docker run --net host img",
                ContainerSpec {
                    network: some("host"),
                    ..spec("img")
                },
            ),
            (
                "docker run --network none --restart no img",
                ContainerSpec {
                    network: some("none"),
                    restart: some("no"),
                    ..spec("img")
                },
            ),
            (
                "docker run --network=bridge --restart on-failure:5 img",
                ContainerSpec {
                    network: some("bridge"),
                    restart: some("on-failure:5"),
                    ..spec("img")
                },
            ),
            (
                "docker run --restart=on-failure -h box.local img",
                ContainerSpec {
                    restart: some("on-failure"),
                    hostname: some("box.local"),
                    ..spec("img")
                },
            ),
            (
                "docker run -l traefik.enable=true --label com.example.team=infra -l flag \
                 --label=empty= img",
                ContainerSpec {
                    labels: map(&[
                        ("traefik.enable", "true"),
                        ("com.example.team", "infra"),
                        ("flag", ""),
                        ("empty", ""),
                    ]),
                    ..spec("img")
                },
            ),
            (
                "docker run -m 512m --cpus 1.5 img",
                ContainerSpec {
                    memory_bytes: Some(512 << 20),
                    nano_cpus: Some(1_500_000_000),
                    ..spec("img")
                },
            ),
            (
                "docker run --memory=1g --cpus=0.25 img",
                ContainerSpec {
                    memory_bytes: Some(1 << 30),
                    nano_cpus: Some(250_000_000),
                    ..spec("img")
                },
            ),
            (
                "docker run --memory 1.5g --cpus 2 img",
                ContainerSpec {
                    memory_bytes: Some(1_610_612_736),
                    nano_cpus: Some(2_000_000_000),
                    ..spec("img")
                },
            ),
            (
                "docker run -m 8192k --cpus .125 img",
                ContainerSpec {
                    memory_bytes: Some(8 << 20),
                    nano_cpus: Some(125_000_000),
                    ..spec("img")
                },
            ),
            (
                "docker run -m 1073741824 img",
                ContainerSpec {
                    memory_bytes: Some(1 << 30),
                    ..spec("img")
                },
            ),
            (
                "docker run -m512mb img",
                ContainerSpec {
                    memory_bytes: Some(512 << 20),
                    ..spec("img")
                },
            ),
            (
                "docker run --memory 2GB img",
                ContainerSpec {
                    memory_bytes: Some(2 << 30),
                    ..spec("img")
                },
            ),
            (
                "docker run --gpus 2 img",
                ContainerSpec {
                    gpus: Some(GpuRequest::Count(2)),
                    ..spec("img")
                },
            ),
            (
                "docker run --gpus count=2 img",
                ContainerSpec {
                    gpus: Some(GpuRequest::Count(2)),
                    ..spec("img")
                },
            ),
            (
                "docker run --gpus=count=all img",
                ContainerSpec {
                    gpus: Some(GpuRequest::All("all".into())),
                    ..spec("img")
                },
            ),
            (
                "docker run --gpus '\"device=0,1\"',capabilities=compute img",
                with_options(ContainerOptions {
                    device_requests: vec![DeviceRequest {
                        device_ids: vec!["0".into(), "1".into()],
                        capabilities: vec![vec!["gpu".into(), "compute".into()]],
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            ),
            (
                "docker run --gpus count=2,driver=nvidia img",
                with_options(ContainerOptions {
                    device_requests: vec![DeviceRequest {
                        driver: "nvidia".into(),
                        count: 2,
                        capabilities: vec![vec!["gpu".into()]],
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            ),
            (
                "docker run --mount type=tmpfs,target=/cache,tmpfs-size=64m,tmpfs-mode=1770 img",
                with_options(ContainerOptions {
                    tmpfs: map(&[("/cache", "size=67108864,mode=1770")]),
                    ..Default::default()
                }),
            ),
            (
                "docker run --privileged --init --read-only --oom-kill-disable=false img",
                with_options(ContainerOptions {
                    privileged: true,
                    init: Some(true),
                    read_only: true,
                    oom_kill_disable: Some(false),
                    ..Default::default()
                }),
            ),
            (
                "docker run --cap-add NET_ADMIN --cap-add=cap_sys_time --cap-drop ALL \\\n \
                 --device /dev/fuse --device /dev/sda:/dev/xvda:r --device /dev/dri:rw \\\n \
                 --device-cgroup-rule 'c 189:* rmw' --sysctl net.core.somaxconn=1024 \\\n \
                 --security-opt no-new-privileges:true --security-opt seccomp=unconfined img",
                with_options(ContainerOptions {
                    cap_add: vec!["NET_ADMIN".into(), "SYS_TIME".into()],
                    cap_drop: vec!["ALL".into()],
                    devices: vec![
                        DeviceMapping {
                            host: "/dev/fuse".into(),
                            container: String::new(),
                            permissions: String::new(),
                        },
                        DeviceMapping {
                            host: "/dev/sda".into(),
                            container: "/dev/xvda".into(),
                            permissions: "r".into(),
                        },
                        DeviceMapping {
                            host: "/dev/dri".into(),
                            container: String::new(),
                            permissions: "rw".into(),
                        },
                    ],
                    device_cgroup_rules: vec!["c 189:* rmw".into()],
                    sysctls: map(&[("net.core.somaxconn", "1024")]),
                    security_opt: vec![
                        "no-new-privileges:true".into(),
                        "seccomp=unconfined".into(),
                    ],
                    ..Default::default()
                }),
            ),
            (
                "docker run --pid host --ipc=shareable --uts host --userns host --cgroupns private \
                 --cgroup-parent /berth --volumes-from data:ro --link db:database img",
                with_options(ContainerOptions {
                    pid: some("host"),
                    ipc: some("shareable"),
                    uts: some("host"),
                    userns_mode: some("host"),
                    cgroupns: some("private"),
                    cgroup_parent: some("/berth"),
                    volumes_from: vec!["data:ro".into()],
                    links: vec!["db:database".into()],
                    ..Default::default()
                }),
            ),
            (
                "docker run --stop-signal SIGINT --stop-timeout 30 --ulimit nofile=1024:2048 \
                 --ulimit core=-1 --ulimit nproc=unlimited --group-add audio --oom-score-adj -500 \
                 --pids-limit 100 --shm-size 1g --tmpfs /run --tmpfs /tmp:rw,size=64m \
                 --storage-opt size=20G --runtime nvidia --platform linux/arm64 --isolation default \
                 --annotation org.example.owner=ops img",
                with_options(ContainerOptions {
                    stop_signal: some("SIGINT"),
                    stop_timeout: Some(30),
                    ulimits: vec![
                        Ulimit {
                            name: "nofile".into(),
                            soft: 1024,
                            hard: 2048,
                        },
                        Ulimit {
                            name: "core".into(),
                            soft: -1,
                            hard: -1,
                        },
                        Ulimit {
                            name: "nproc".into(),
                            soft: -1,
                            hard: -1,
                        },
                    ],
                    group_add: vec!["audio".into()],
                    oom_score_adj: Some(-500),
                    pids_limit: Some(100),
                    shm_size: Some(1 << 30),
                    tmpfs: map(&[("/run", ""), ("/tmp", "rw,size=64m")]),
                    storage_opt: map(&[("size", "20G")]),
                    runtime: some("nvidia"),
                    platform: some("linux/arm64"),
                    isolation: some("default"),
                    annotations: map(&[("org.example.owner", "ops")]),
                    ..Default::default()
                }),
            ),
            (
                "docker run --add-host db:10.0.0.2 --add-host gw=host-gateway --add-host v6:[::1] \
                 --dns 9.9.9.9 --dns-search example.org --dns-option ndots:2 --dns-opt use-vc \
                 --domainname example.org --mac-address 02:42:ac:11:00:02 --ip 172.20.0.5 \
                 --ip6 fd00::5 --expose 80 --expose 53/udp --expose 8000-8010/tcp \
                 --log-driver json-file --log-opt max-size=10m --log-opt max-file=3 img",
                with_options(ContainerOptions {
                    extra_hosts: vec![
                        "db:10.0.0.2".into(),
                        "gw:host-gateway".into(),
                        "v6:::1".into(),
                    ],
                    dns: vec!["9.9.9.9".into()],
                    dns_search: vec!["example.org".into()],
                    dns_opt: vec!["ndots:2".into(), "use-vc".into()],
                    domainname: some("example.org"),
                    mac_address: some("02:42:ac:11:00:02"),
                    ipv4_address: some("172.20.0.5"),
                    ipv6_address: some("fd00::5"),
                    expose: vec!["80".into(), "53/udp".into(), "8000-8010".into()],
                    log_driver: some("json-file"),
                    log_opts: map(&[("max-size", "10m"), ("max-file", "3")]),
                    ..Default::default()
                }),
            ),
            (
                "docker run -c 512 --cpu-period 100000 --cpu-quota=-1 --cpu-rt-period 1000000 \
                 --cpu-rt-runtime 950000 --cpuset-cpus 0-3,5 --cpuset-mems 0 \
                 --memory-reservation 256m -m 512m --memory-swap=-1 --memory-swappiness 10 \
                 --blkio-weight 300 --blkio-weight-device /dev/sda:200 \
                 --device-read-bps /dev/sda:1mb --device-write-bps /dev/sda:2m \
                 --device-read-iops /dev/sda:100 --device-write-iops /dev/sda:50 img",
                ContainerSpec {
                    memory_bytes: Some(512 << 20),
                    ..with_options(ContainerOptions {
                        cpu_shares: Some(512),
                        cpu_period: Some(100000),
                        cpu_quota: Some(-1),
                        cpu_rt_period: Some(1000000),
                        cpu_rt_runtime: Some(950000),
                        cpuset_cpus: some("0-3,5"),
                        cpuset_mems: some("0"),
                        memory_reservation: Some(256 << 20),
                        memory_swap: Some(-1),
                        memory_swappiness: Some(10),
                        blkio_weight: Some(300),
                        blkio_weight_device: vec![rate("/dev/sda", 200)],
                        device_read_bps: vec![rate("/dev/sda", 1 << 20)],
                        device_write_bps: vec![rate("/dev/sda", 2 << 20)],
                        device_read_iops: vec![rate("/dev/sda", 100)],
                        device_write_iops: vec![rate("/dev/sda", 50)],
                        ..Default::default()
                    })
                },
            ),
            (
                r#"docker run --entrypoint "" img"#,
                ContainerSpec {
                    entrypoint: Some(vec![]),
                    ..spec("img")
                },
            ),
            (
                "docker run --entrypoint= img",
                ContainerSpec {
                    entrypoint: Some(vec![]),
                    ..spec("img")
                },
            ),
            (
                "docker run --entrypoint /bin/sh alpine -c 'echo hi && exit 3'",
                ContainerSpec {
                    entrypoint: Some(vec!["/bin/sh".into()]),
                    cmd: words(&["-c", "echo hi && exit 3"]),
                    ..spec("alpine")
                },
            ),
            (
                "docker run --rm alpine ls -la /",
                ContainerSpec {
                    auto_remove: true,
                    cmd: words(&["ls", "-la", "/"]),
                    ..spec("alpine")
                },
            ),
            (
                "docker run --rm -- alpine:3.20 --help -p 80 --name x",
                ContainerSpec {
                    auto_remove: true,
                    cmd: words(&["--help", "-p", "80", "--name", "x"]),
                    ..spec("alpine:3.20")
                },
            ),
            (
                "# start the cache\n\ndocker run -d redis:7 # in memory only\n   \n# done\n",
                spec("redis:7"),
            ),
            (
                "docker run -e A=1 -e A=2 --env=B=x=y -e EMPTY= img",
                ContainerSpec {
                    env: map(&[("A", "2"), ("B", "x=y"), ("EMPTY", "")]),
                    ..spec("img")
                },
            ),
            (
                "docker run -e 'DATABASE_URL=postgres://u:p@db:5432/app?sslmode=disable&x=1' \
                 -e 'JSON={\"a\": [1, 2]}' img",
                ContainerSpec {
                    env: map(&[
                        ("DATABASE_URL", "postgres://u:p@db:5432/app?sslmode=disable&x=1"),
                        ("JSON", "{\"a\": [1, 2]}"),
                    ]),
                    ..spec("img")
                },
            ),
            (
                r#"docker run -e "MSG=say \"hi\" \$USER \\ok \`x\` a\b" img"#,
                ContainerSpec {
                    env: map(&[("MSG", r#"say "hi" $USER \ok `x` a\b"#)]),
                    ..spec("img")
                },
            ),
            (
                r"docker run -e GREETING=hello\ world -e PRICE='$5' -e IT='it'\''s' img",
                ContainerSpec {
                    env: map(&[("GREETING", "hello world"), ("PRICE", "$5"), ("IT", "it's")]),
                    ..spec("img")
                },
            ),
            (
                "docker run --rm=true --detach=false --tty=false -i=true img",
                ContainerSpec {
                    auto_remove: true,
                    interactive: true,
                    ..spec("img")
                },
            ),
            (
                "docker run ghcr.io/owner/app:v1.2.3",
                spec("ghcr.io/owner/app:v1.2.3"),
            ),
            (
                "docker run localhost:5000/team/app",
                spec("localhost:5000/team/app"),
            ),
            ("docker run nginx@DIGEST", spec("nginx@DIGEST")),
            (
                "docker run registry.Example.com:5000/a/b_c:tag@DIGEST",
                spec("registry.Example.com:5000/a/b_c:tag@DIGEST"),
            ),
            ("$ docker run hello-world", spec("hello-world")),
            (
                "docker run -d \\\r\n  --name web \\\r\n  nginx\r\n",
                ContainerSpec {
                    name: some("web"),
                    ..spec("nginx")
                },
            ),
            (
                "docker run -d \\   \n  --name web \\\t\n  nginx \\",
                ContainerSpec {
                    name: some("web"),
                    ..spec("nginx")
                },
            ),
            (
                "docker run --user=root --workdir=/srv --hostname=db-1 img",
                ContainerSpec {
                    user: some("root"),
                    workdir: some("/srv"),
                    hostname: some("db-1"),
                    ..spec("img")
                },
            ),
            (
                "docker run -e 'PATH_EXTRA=$HOME/bin' -e \"LITERAL=$\" img echo '$(not run)' '`x`'",
                ContainerSpec {
                    env: map(&[("PATH_EXTRA", "$HOME/bin"), ("LITERAL", "$")]),
                    cmd: words(&["echo", "$(not run)", "`x`"]),
                    ..spec("img")
                },
            ),
            (
                "docker run -e COLOR=#fff -e 'A=b c' img echo \"multi\nline\" ''",
                ContainerSpec {
                    env: map(&[("COLOR", "#fff"), ("A", "b c")]),
                    cmd: words(&["echo", "multi\nline", ""]),
                    ..spec("img")
                },
            ),
            (
                "docker run --name web.1 --restart unless-stopped --network my_net \
                 -v /srv/a:/a -p 127.0.0.1:8080:80 -m 256m --cpus 0.5 -e TZ=UTC caddy:2 \
                 caddy run --config /etc/caddy/Caddyfile",
                ContainerSpec {
                    name: some("web.1"),
                    restart: some("unless-stopped"),
                    network: some("my_net"),
                    mounts: vec![bind("/srv/a", "/a", false)],
                    ports: vec![port(Some("127.0.0.1"), Some(8080), None, 80, "tcp")],
                    memory_bytes: Some(256 << 20),
                    nano_cpus: Some(500_000_000),
                    env: map(&[("TZ", "UTC")]),
                    cmd: words(&["caddy", "run", "--config", "/etc/caddy/Caddyfile"]),
                    ..spec("caddy:2")
                },
            ),
        ];
        cases
            .into_iter()
            .map(|(line, mut want)| {
                want.image = want.image.replace("DIGEST", DIGEST);
                (line.replace("DIGEST", DIGEST), want)
            })
            .collect()
    }

    /// Lines that are refused, with a part of the message each must contain.
    #[rustfmt::skip]
    const BAD_LINES: &[(&str, &str)] = &[
        ("", "expected a `docker run` command, but the line is empty"),
        ("   # only a comment", "expected a `docker run` command"),
        ("docker ps -a", "expected a `docker run` command, not `docker ps`"),
        ("podman run nginx", "expected a `docker run` command, not `podman run`"),
        ("docker container ls", "not `docker container ls`"),
        ("docker run --cidfile /tmp/id nginx", "unknown flag --cidfile: berth does not take it"),
        ("docker run --cap-add 'NET ADMIN' nginx", "--cap-add 'NET ADMIN': write a capability name"),
        ("docker run --device sda nginx", "--device sda: device paths must be absolute"),
        ("docker run --device /dev/a:/dev/b:rwx:z nginx", "write /dev/host[:/dev/container[:rwm]]"),
        ("docker run --pid shared nginx", "--pid shared: write one of host, container:<name>"),
        ("docker run --ipc=host --ipc=none nginx", "--ipc given twice"),
        ("docker run --uts container:web nginx", "--uts container:web: write one of host"),
        ("docker run --sysctl net.ipv4.ip_forward nginx", "--sysctl net.ipv4.ip_forward: write name=value"),
        ("docker run --ulimit nofile=4096:1024 nginx", "--ulimit nofile=4096:1024: the soft limit 4096 is above the hard limit 1024"),
        ("docker run --ulimit nofile=many nginx", "--ulimit nofile=many: write a whole number"),
        ("docker run --tmpfs run nginx", "--tmpfs run: the tmpfs mount point must be an absolute path"),
        ("docker run --add-host db nginx", "--add-host db: write host:ip"),
        ("docker run --add-host db:example.com nginx", "write host:ip"),
        ("docker run --dns dns.google nginx", "--dns dns.google: a DNS server is an IP address"),
        ("docker run --ip 10.0.0.300 nginx", "--ip 10.0.0.300: write an IPv4 address"),
        ("docker run --ip6 10.0.0.3 nginx", "--ip6 10.0.0.3: write an IPv6 address"),
        ("docker run --expose http nginx", "--expose http"),
        ("docker run --expose 53/icmp nginx", "the protocol icmp is not tcp, udp or sctp"),
        ("docker run --log-opt max-size nginx", "--log-opt max-size: write name=value"),
        ("docker run --oom-score-adj 5000 nginx", "between -1000 and 1000"),
        ("docker run --shm-size 64x nginx", "--shm-size 64x: the unit x is not b, k, m or g"),
        ("docker run --blkio-weight 5 nginx", "--blkio-weight 5: write a weight between 10 and 1000"),
        ("docker run --device-read-bps /dev/sda nginx", "write /dev/device:rate"),
        ("docker run --device-write-iops sda:100 nginx", "the device sda must be an absolute path"),
        ("docker run --security-opt seccomp=profile.json nginx", "berth cannot read your seccomp profile file"),
        ("docker run --volumes-from db:rx nginx", "optionally with :ro or :rw"),
        ("docker run --link 'my db' nginx", "is not a container name"),
        ("docker run --stop-timeout soon nginx", "--stop-timeout soon: write a whole number"),
        ("docker run --init=maybe nginx", "--init=maybe: write true or false"),
        ("docker run --cgroupns shared nginx", "write one of host, private"),
        ("docker run --isolation vm nginx", "write one of default, process, hyperv"),
        ("docker run -a stdout nginx", "unknown flag -a:"),
        ("docker run -dxt nginx", "unknown flag -x in -dxt"),
        ("docker run --name", "--name needs a value"),
        ("docker run --name -p 80:80 nginx", "--name needs a value, but -p follows it"),
        ("docker run --name= nginx", "--name needs a value"),
        ("docker run -h", "-h needs a value"),
        ("docker run -dp", "-p needs a value"),
        ("docker run --name web --name api nginx", "--name given twice"),
        ("docker run --net a --network b nginx", "--network given twice"),
        ("docker run -m 1g --memory 2g nginx", "--memory given twice"),
        ("docker run --name x nginx", "--name x: a container name"),
        ("docker run --name 'my web' nginx", "--name 'my web'"),
        ("docker run -e FOO nginx", "-e FOO takes the value from your shell; write FOO=value"),
        ("docker run --env TOKEN nginx", "--env TOKEN takes the value from your shell"),
        ("docker run -e =x nginx", "-e =x: the variable name"),
        ("docker run --env-file .env nginx", "--env-file: berth cannot read your files"),
        ("docker run --label-file labels nginx", "--label-file: berth cannot read your files"),
        ("docker run -l =x nginx", "-l =x: the label name"),
        ("docker run -p 99999:80 nginx", "-p 99999:80: port 99999 is not between 1 and 65535"),
        ("docker run -p 0:80 nginx", "-p 0:80: port 0 is not between 1 and 65535"),
        ("docker run --publish 8080:70000 nginx", "--publish 8080:70000: port 70000"),
        ("docker run -p 8080:80/icmp nginx", "-p 8080:80/icmp: the protocol icmp"),
        ("docker run -p abc:80 nginx", "-p abc:80: abc is not a port number"),
        ("docker run -p 8000-8002:80-83 nginx", "-p 8000-8002:80-83: the host ports"),
        ("docker run -p 8080:80-82 nginx", "-p 8080:80-82: the host ports"),
        ("docker run -p 8010-8000:80 nginx", "the range 8010-8000 ends before it starts"),
        ("docker run -p ::1:8080:80 nginx", "IPv6 host address in brackets"),
        ("docker run -p localhost:8080:80 nginx", "localhost is not an IP address"),
        ("docker run -p '[::1:8080:80' nginx", "the [ has no matching ]"),
        ("docker run -p 8080: nginx", "a port number is missing"),
        ("docker run -v ./data:/data nginx", "-v ./data:/data: bind mounts need an absolute host path"),
        ("docker run -v data/sub:/data nginx", "bind mounts need an absolute host path"),
        ("docker run -v /data:data nginx", "the container path data must be absolute"),
        ("docker run -v cache nginx", "-v cache: the container path cache must be absolute"),
        ("docker run -v /data:/ nginx", "cannot mount over"),
        ("docker run -v /a:/b:nocopy nginx", "-v /a:/b:nocopy: berth takes only the options ro, rw, z and Z, not nocopy"),
        ("docker run -v /a:/b:ro,rw nginx", "ro and rw contradict"),
        ("docker run -v /cache:ro nginx", "-v /cache:ro: an anonymous volume takes no options"),
        ("docker run -v ab:/b:ro:x nginx", "too many ':'"),
        ("docker run -v x:/b nginx", "x is neither an absolute host path nor a volume name"),
        ("docker run -v 'C:\\data:/data' nginx", "Windows path"),
        ("docker run -v C:/Users/me:/data nginx", "Windows path"),
        ("docker run --mount type=tmpfs,source=x,target=/tmp nginx", "a tmpfs mount takes target="),
        ("docker run --mount type=bind,target=/x nginx", "a bind mount needs source="),
        ("docker run --mount type=bind,src=data,target=/x nginx", "bind mounts need an absolute host path"),
        ("docker run --mount type=volume,src=/srv,target=/x nginx", "/srv is a host path; write type=bind"),
        ("docker run --mount source=data nginx", "the target is missing"),
        ("docker run --mount type=volume,target=/x,volume-nocopy nginx", "does not take the --mount option volume-nocopy"),
        ("docker run --mount type=npipe,target=/x nginx", "type npipe is not bind or volume"),
        ("docker run --network container:db nginx", "--network container:db: berth does not share"),
        ("docker run --restart sometimes nginx", "--restart sometimes: the restart policy must be"),
        ("docker run --restart always:3 nginx", "--restart always:3"),
        ("docker run --restart on-failure:-1 nginx", "--restart on-failure:-1: the retry count"),
        ("docker run --rm --restart always nginx", "--rm and --restart always conflict"),
        ("docker run -w app nginx", "-w app: the working directory must be an absolute path"),
        ("docker run -u 'a b' nginx", "-u 'a b': write a user name"),
        ("docker run -h -bad nginx", "-h needs a value"),
        ("docker run --hostname=bad_host! nginx", "--hostname 'bad_host!': a host name"),
        ("docker run -m 4m nginx", "-m 4m: the memory limit must be at least 6m"),
        ("docker run -m 2048k nginx", "-m 2048k: the memory limit must be at least 6m"),
        ("docker run -m 12q nginx", "-m 12q: the unit q is not b, k, m or g"),
        ("docker run -m 1.2.3g nginx", "-m 1.2.3g: write a size"),
        ("docker run -m 99999999999g nginx", "-m 99999999999g: that is too large"),
        ("docker run --cpus 0 nginx", "--cpus 0: the CPU limit must be more than 0"),
        ("docker run --cpus 1.2345 nginx", "--cpus 1.2345: write at most 3 decimals"),
        ("docker run --cpus=-1 nginx", "--cpus -1: write a number of CPUs"),
        ("docker run --cpus many nginx", "--cpus many: write a number of CPUs"),
        ("docker run --gpus many nginx", "--gpus many: write all, a count, or count="),
        ("docker run --gpus count=0,driver=nvidia nginx", "ask for at least 1 GPU"),
        ("docker run --gpus 0 nginx", "--gpus 0: ask for at least 1 GPU"),
        ("docker run --entrypoint 'sh -c' nginx", "--entrypoint takes one program"),
        ("docker run --tty=maybe nginx", "--tty=maybe: write true or false"),
        ("docker run -d", "no image given"),
        ("docker run -d --", "no image given"),
        ("docker run ''", "no image given"),
        ("docker run Nginx", "image Nginx: repository names must be lowercase"),
        ("docker run myUser/app:1", "repository names must be lowercase"),
        ("docker run nginx: ", "the tag after : must be"),
        ("docker run nginx@sha256:abc", "the digest after @"),
        ("docker run -- -nginx", "image -nginx"),
        ("docker run nginx | grep x", "`|` needs a shell"),
        ("docker run nginx; echo done", "`;` needs a shell"),
        ("docker run nginx && echo ok", "`&&` needs a shell"),
        ("docker run nginx &", "`&` needs a shell"),
        ("docker run nginx > out.txt", "`>` needs a shell"),
        ("docker run nginx 2>&1", "`>&` needs a shell"),
        ("docker run -e URL=http://x?a=1&b=2 nginx", "quote the `&`"),
        ("docker run nginx < in.txt", "`<` needs a shell"),
        ("docker run -e HOME=$HOME nginx", "berth does not expand $HOME; write the value"),
        ("docker run -e \"HOME=$HOME\" nginx", "berth does not expand $HOME; write the value"),
        ("docker run -e \"X=${HOME}/x\" nginx", "berth does not expand ${HOME}; write the value"),
        ("docker run nginx echo $1", "berth does not expand $1"),
        ("docker run -v $(pwd):/app nginx", "berth does not run $(...) command substitution"),
        ("docker run -v `pwd`:/app nginx", "command substitution"),
        ("docker run -e \"X=`date`\" nginx", "command substitution"),
        ("docker run -e $'A=b' nginx", "$'...' quoting"),
        ("docker run -v ~/data:/data nginx", "berth does not expand ~"),
        ("docker run -e 'unterminated nginx", "unterminated single quote"),
        ("docker run -e \"x nginx", "unterminated double quote"),
        ("docker run -d\n  --name web nginx", "line 2 starts a second command"),
        ("docker run --name \u{201C}web\u{201D} nginx", "typographic quote"),
        ("docker run \u{2013}-name web nginx", "typographic dash"),
    ];

    #[test]
    fn good_lines_parse_to_the_expected_spec() {
        let cases = good_lines();
        assert!(cases.len() >= 35, "only {} good lines", cases.len());
        for (line, want) in &cases {
            match parse_run_command(line) {
                Ok(got) => assert_eq!(&got, want, "line: {line}"),
                Err(e) => panic!("line {line:?} was refused: {e}"),
            }
        }
    }

    #[test]
    fn bad_lines_are_refused_with_a_message_naming_the_problem() {
        assert!(BAD_LINES.len() >= 20);
        for (line, want) in BAD_LINES {
            match parse_run_command(line) {
                Ok(spec) => panic!("line {line:?} was accepted as {spec:?}"),
                Err(e) => assert!(
                    e.message.contains(want),
                    "line {line:?}: message {:?} does not contain {want:?}",
                    e.message
                ),
            }
        }
    }

    #[test]
    fn every_good_line_survives_a_round_trip() {
        for (line, _) in good_lines() {
            let first = parse_run_command(&line).expect("the line parses");
            let written = to_run_command(&first);
            match parse_run_command(&written) {
                Ok(second) => assert_eq!(second, first, "line {line:?} was written as {written:?}"),
                Err(e) => panic!("line {line:?} was written as {written:?}, which is refused: {e}"),
            }
        }
    }

    #[test]
    fn the_written_line_is_canonical() {
        let spec = parse_run_command(
            "docker run -d --name web -p 8080:80 -v /srv/www:/usr/share/nginx/html:ro \
             --restart unless-stopped -e 'A=b c' -m 1536m --cpus 1.5 nginx:1.27 nginx -g 'daemon off;'",
        )
        .expect("parses");
        assert_eq!(
            to_run_command(&spec),
            "docker run -d --name web -e 'A=b c' -p 8080:80 -v /srv/www:/usr/share/nginx/html:ro \
             --restart unless-stopped -m 1536m --cpus 1.5 nginx:1.27 nginx -g 'daemon off;'"
        );
        let ipv6 = parse_run_command("docker run -it --rm -p '[::1]:8000-8010:80/udp' busybox")
            .expect("parses");
        assert_eq!(
            to_run_command(&ipv6),
            "docker run -dit --rm -p '[::1]:8000-8010:80/udp' busybox"
        );
    }

    #[test]
    fn specs_a_command_line_cannot_say_are_written_as_closely_as_possible() {
        let spec = ContainerSpec {
            entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
            cmd: words(&["echo hi"]),
            mounts: vec![
                MountSpec {
                    read_only: true,
                    ..anonymous("/scratch")
                },
                bind("/srv/a:b", "/x", false),
            ],
            env: map(&[("-odd", "v")]),
            ..spec("alpine")
        };
        let line = to_run_command(&spec);
        assert_eq!(
            line,
            "docker run -d --env=-odd=v --mount type=volume,target=/scratch,readonly \
             --mount type=bind,source=/srv/a:b,target=/x --entrypoint /bin/sh alpine -c 'echo hi'"
        );
        let back = parse_run_command(&line).expect("parses");
        assert_eq!(back.mounts, spec.mounts);
        assert_eq!(back.env, spec.env);
        assert_eq!(back.entrypoint, words(&["/bin/sh"]));
        assert_eq!(back.cmd, words(&["-c", "echo hi"]));
    }

    #[test]
    fn split_words_follows_the_shell() {
        let cases: &[(&str, &[&str])] = &[
            ("a b\tc", &["a", "b", "c"]),
            ("  a   b  ", &["a", "b"]),
            ("'a b' \"c d\"", &["a b", "c d"]),
            ("a'b'\"c\"d", &["abcd"]),
            ("'' \"\"", &["", ""]),
            (r"a\ b \'q\' \\", &["a b", "'q'", "\\"]),
            (r#""\"\\\$\`\n""#, &["\"\\$`\\n"]),
            ("a \\\nb", &["a", "b"]),
            ("a\\\nb", &["ab"]),
            ("\"a\\\nb\"", &["ab"]),
            ("'a\\\nb'", &["a\\\nb"]),
            ("a #comment\n", &["a"]),
            ("a#b", &["a#b"]),
            ("#x\n#y\na", &["a"]),
            ("'$HOME' \"$\" $ a$", &["$HOME", "$", "$", "a$"]),
            ("'|;&<>()`'", &["|;&<>()`"]),
            ("a~ '~' \"~\"", &["a~", "~", "~"]),
            ("a\u{a0}b", &["a", "b"]),
            ("trailing \\", &["trailing"]),
        ];
        for (line, want) in cases {
            let got = split_words(line).expect("splits");
            assert_eq!(got, *want, "line {line:?}");
        }
    }

    #[test]
    fn errors_display_their_message() {
        let e = parse_run_command("docker run --cidfile /tmp/id nginx").expect_err("refused");
        assert_eq!(
            e.to_string(),
            "unknown flag --cidfile: berth does not take it"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().contains("--cidfile"));
    }

    #[test]
    fn parsed_specs_start() {
        assert!(parse_run_command("docker run nginx").expect("parses").start);
    }
}
