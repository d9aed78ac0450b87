//! Non-interactive exec: run one command in a running container, collect
//! the tail of its output and its exit code (compose's lifecycle hooks).

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt;

use super::{Engine, EngineError, EngineResult};

/// How much of a command's output is kept: its last 64 KiB, enough to say
/// why it failed without holding a chatty command's whole log.
pub const EXEC_OUTPUT_LIMIT: usize = 64 * 1024;

/// How long a command may run when the caller does not say.
pub const EXEC_DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What to run, and as whom.
#[derive(Debug, Clone)]
pub struct ExecCommand {
    pub cmd: Vec<String>,
    pub user: Option<String>,
    pub privileged: bool,
    pub working_dir: Option<String>,
    /// `KEY=value` lines added to the container's environment.
    pub env: Vec<String>,
    pub timeout: Duration,
}

impl ExecCommand {
    pub fn new(cmd: Vec<String>) -> Self {
        ExecCommand {
            cmd,
            user: None,
            privileged: false,
            working_dir: None,
            env: Vec::new(),
            timeout: EXEC_DEFAULT_TIMEOUT,
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecOutcome {
    pub exit_code: i64,
    /// stdout and stderr interleaved as they came; only the last
    /// [`EXEC_OUTPUT_LIMIT`] bytes, decoded leniently.
    pub output: String,
    /// Whether earlier output was dropped.
    pub truncated: bool,
}

impl ExecOutcome {
    /// The last `n` non-empty lines of the output, for an error message.
    pub fn last_lines(&self, n: usize) -> String {
        let lines: Vec<&str> = self
            .output
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// Keeps the last `limit` bytes pushed into it.
struct Tail {
    buf: Vec<u8>,
    limit: usize,
    truncated: bool,
}

impl Tail {
    fn new(limit: usize) -> Self {
        Tail {
            buf: Vec::new(),
            limit,
            truncated: false,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        // Trim only once twice the limit is held, so a stream of small
        // chunks does not shift the buffer on every push.
        if self.buf.len() > 2 * self.limit {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.buf.len() > self.limit {
            let cut = self.buf.len() - self.limit;
            self.buf.drain(..cut);
            self.truncated = true;
        }
    }

    fn finish(mut self) -> (String, bool) {
        self.trim();
        (
            String::from_utf8_lossy(&self.buf).into_owned(),
            self.truncated,
        )
    }
}

impl Engine {
    /// Runs `command` in running container `id` and waits for it (at most
    /// `command.timeout`). A command that cannot start (not found in the
    /// image, container not running) is an error; one that runs and exits
    /// non-zero is an outcome the caller judges.
    pub async fn exec_run(&self, id: &str, command: &ExecCommand) -> EngineResult<ExecOutcome> {
        if command.cmd.is_empty() {
            return Err(EngineError::BadRequest("an exec needs a command".into()));
        }
        let docker = self.docker().await?;
        let options = CreateExecOptions {
            attach_stdin: Some(false),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            cmd: Some(command.cmd.clone()),
            env: (!command.env.is_empty()).then(|| command.env.clone()),
            user: command.user.clone(),
            privileged: Some(command.privileged),
            working_dir: command.working_dir.clone(),
            ..Default::default()
        };
        let created = self.create_exec(&docker, id, options).await?;
        let run = async {
            let started = docker
                .start_exec(
                    &created.id,
                    Some(StartExecOptions {
                        detach: false,
                        tty: false,
                        output_capacity: None,
                    }),
                )
                .await;
            let mut output = match started {
                Ok(StartExecResults::Attached { output, .. }) => output,
                Ok(StartExecResults::Detached) => {
                    return Err(EngineError::Other("the exec detached".into()))
                }
                Err(e) => return Err(self.fail(e, &format!("container {id}")).await),
            };
            let mut tail = Tail::new(EXEC_OUTPUT_LIMIT);
            while let Some(chunk) = output.next().await {
                match chunk {
                    Ok(
                        LogOutput::StdOut { message }
                        | LogOutput::StdErr { message }
                        | LogOutput::Console { message },
                    ) => tail.push(&message),
                    Ok(LogOutput::StdIn { .. }) => {}
                    Err(e) => {
                        return Err(EngineError::Unavailable {
                            endpoint: self.id.clone(),
                            reason: format!("the exec stream broke: {e}"),
                        })
                    }
                }
            }
            // The stream ends when the process closes its output; the
            // engine may note the exit a moment later.
            for _ in 0..50 {
                match docker.inspect_exec(&created.id).await {
                    Ok(i) if !i.running.unwrap_or(false) => {
                        let (output, truncated) = tail.finish();
                        return Ok(ExecOutcome {
                            exit_code: i.exit_code.unwrap_or(-1),
                            output,
                            truncated,
                        });
                    }
                    Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    Err(e) => return Err(self.fail(e, "exec session").await),
                }
            }
            Err(EngineError::Conflict(format!(
                "the command in container {id} closed its output but did not exit"
            )))
        };
        match tokio::time::timeout(command.timeout, run).await {
            Ok(result) => result,
            // The engine offers no way to end an exec; the process is left
            // to the container.
            Err(_) => Err(EngineError::Conflict(format!(
                "the command in container {id} did not finish within {} s",
                command.timeout.as_secs()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes() {
        let mut t = Tail::new(4);
        t.push(b"ab");
        t.push(b"cdefghijk");
        t.push(b"lm");
        assert_eq!(t.finish(), ("jklm".to_string(), true));
        let mut t = Tail::new(4);
        t.push(b"abc");
        assert_eq!(t.finish(), ("abc".to_string(), false));
    }

    #[test]
    fn last_lines_skip_blank_ones() {
        let o = ExecOutcome {
            exit_code: 1,
            output: "one\ntwo\n\nthree\n\n".into(),
            truncated: false,
        };
        assert_eq!(o.last_lines(2), "two\nthree");
        assert_eq!(o.last_lines(10), "one\ntwo\nthree");
    }
}
