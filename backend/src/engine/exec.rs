//! Interactive exec sessions with a TTY.

use std::pin::Pin;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::ResizeExecOptions;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWrite;

use super::{Engine, EngineError, EngineResult};

/// The command when none is asked for: bash if the image has it, else sh.
/// A fixed string, never built from input.
pub const DEFAULT_SHELL: [&str; 3] = [
    "/bin/sh",
    "-c",
    "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi",
];

pub struct ExecSession {
    pub exec_id: String,
    pub output: Pin<Box<dyn Stream<Item = EngineResult<Bytes>> + Send>>,
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}

impl Engine {
    /// Makes an exec in a running container; a stopped one is a conflict
    /// that says so.
    pub(super) async fn create_exec(
        &self,
        docker: &bollard::Docker,
        id: &str,
        options: CreateExecOptions<String>,
    ) -> EngineResult<bollard::exec::CreateExecResults> {
        match docker.create_exec(id, options).await {
            Ok(c) => Ok(c),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => Err(EngineError::Conflict(format!(
                "container {id} is not running"
            ))),
            Err(e) => Err(self.fail(e, &format!("container {id}")).await),
        }
    }

    pub async fn start_exec(
        &self,
        id: &str,
        cmd: Vec<String>,
        cols: u16,
        rows: u16,
    ) -> EngineResult<ExecSession> {
        let docker = self.docker().await?;
        let options = CreateExecOptions {
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(true),
            cmd: Some(cmd),
            env: Some(vec!["TERM=xterm-256color".to_string()]),
            ..Default::default()
        };
        let created = self.create_exec(&docker, id, options).await?;
        let started = docker
            .start_exec(
                &created.id,
                Some(StartExecOptions {
                    detach: false,
                    tty: true,
                    output_capacity: None,
                }),
            )
            .await;
        let (output, input) = match started {
            Ok(StartExecResults::Attached { output, input }) => (output, input),
            Ok(StartExecResults::Detached) => {
                return Err(EngineError::Other("the exec session detached".into()))
            }
            Err(e) => return Err(self.fail(e, &format!("container {id}")).await),
        };
        let _ = docker
            .resize_exec(
                &created.id,
                ResizeExecOptions {
                    h: i32::from(rows),
                    w: i32::from(cols),
                },
            )
            .await;
        let endpoint = self.id.clone();
        let output = output.map(move |chunk| match chunk {
            Ok(
                LogOutput::StdOut { message }
                | LogOutput::StdErr { message }
                | LogOutput::Console { message },
            ) => Ok(message),
            Ok(LogOutput::StdIn { .. }) => Ok(Bytes::new()),
            Err(e) => Err(EngineError::Unavailable {
                endpoint: endpoint.clone(),
                reason: format!("the exec stream broke: {e}"),
            }),
        });
        Ok(ExecSession {
            exec_id: created.id,
            output: Box::pin(output),
            input,
        })
    }

    pub async fn resize_exec(&self, exec_id: &str, cols: u16, rows: u16) -> EngineResult<()> {
        let docker = self.docker().await?;
        match docker
            .resize_exec(
                exec_id,
                ResizeExecOptions {
                    h: i32::from(rows),
                    w: i32::from(cols),
                },
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e, "exec session").await),
        }
    }

    /// The exit code of a finished exec session.
    pub async fn exec_exit_code(&self, exec_id: &str) -> EngineResult<Option<i64>> {
        let docker = self.docker().await?;
        match docker.inspect_exec(exec_id).await {
            Ok(i) => Ok(if i.running.unwrap_or(false) {
                None
            } else {
                i.exit_code
            }),
            Err(e) => Err(self.fail(e, "exec session").await),
        }
    }
}
