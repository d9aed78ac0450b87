//! Container logs, as lines.

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::{Stream, StreamExt};
use protocol::{LogLine, LogStream};

use super::{Engine, EngineError, EngineResult};

/// The longest line passed on; longer ones are cut (and say so).
pub const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// `all` or a number of lines.
    pub tail: Option<String>,
    /// Unix seconds.
    pub since: Option<i64>,
    pub timestamps: bool,
    pub follow: bool,
}

impl Engine {
    /// The container's log as a stream of lines. Splits the engine's chunks
    /// at newlines, keeping stdout and stderr apart.
    pub async fn log_lines(
        &self,
        id: &str,
        q: &LogQuery,
    ) -> EngineResult<impl Stream<Item = EngineResult<LogLine>> + Send + 'static> {
        let docker = self.docker().await?;
        // Fail early (404) rather than inside the stream.
        if let Err(e) = docker.inspect_container(id, None).await {
            return Err(self.fail(e, &format!("container {id}")).await);
        }
        let options = LogsOptions {
            follow: q.follow,
            stdout: true,
            stderr: true,
            timestamps: true,
            since: q.since.unwrap_or(0).clamp(0, i64::from(i32::MAX)) as i32,
            tail: q.tail.clone().unwrap_or_else(|| "all".into()),
            ..Default::default()
        };
        let keep_ts = q.timestamps;
        let endpoint = self.id.clone();
        let raw = docker.logs(id, Some(options));
        let mut splitter = Splitter::default();
        let lines = raw
            .map(move |chunk| match chunk {
                Ok(out) => Ok(splitter.push(out, keep_ts)),
                Err(e) => Err(EngineError::Unavailable {
                    endpoint: endpoint.clone(),
                    reason: format!("the log stream broke: {e}"),
                }),
            })
            .flat_map(|r| {
                futures_util::stream::iter(match r {
                    Ok(lines) => lines.into_iter().map(Ok).collect::<Vec<_>>(),
                    Err(e) => vec![Err(e)],
                })
            });
        Ok(lines)
    }
}

/// Turns log chunks into whole lines, per stream.
#[derive(Default)]
struct Splitter {
    partial: [Vec<u8>; 3],
}

impl Splitter {
    fn push(&mut self, out: LogOutput, keep_ts: bool) -> Vec<LogLine> {
        let (stream, slot, bytes) = match out {
            LogOutput::StdOut { message } => (LogStream::Stdout, 0, message),
            LogOutput::StdErr { message } => (LogStream::Stderr, 1, message),
            LogOutput::Console { message } => (LogStream::Console, 2, message),
            LogOutput::StdIn { .. } => return Vec::new(),
        };
        let buf = &mut self.partial[slot];
        buf.extend_from_slice(&bytes);
        let mut lines = Vec::new();
        while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            lines.push(make_line(stream, &line[..line.len() - 1], keep_ts));
        }
        // A runaway line without a newline is flushed in pieces.
        if buf.len() > MAX_LINE {
            let line: Vec<u8> = std::mem::take(buf);
            lines.push(make_line(stream, &line, keep_ts));
        }
        lines
    }
}

fn make_line(stream: LogStream, raw: &[u8], keep_ts: bool) -> LogLine {
    let text = String::from_utf8_lossy(raw);
    let text = text.strip_suffix('\r').unwrap_or(&text);
    // The engine puts `2024-01-01T00:00:00.000000000Z ` before each line.
    let (ts, body) = match text.split_once(' ') {
        Some((ts, body))
            if ts.len() >= 20 && ts.as_bytes().get(4) == Some(&b'-') && ts.ends_with('Z') =>
        {
            (Some(ts), body)
        }
        _ => (None, text),
    };
    let mut body = body.to_string();
    if body.len() > MAX_LINE {
        let mut cut = MAX_LINE;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
        body.push_str(" [line cut by berth]");
    }
    LogLine {
        container: None,
        stream,
        ts: ts.filter(|_| keep_ts).map(str::to_string),
        text: body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn chunks_become_lines_per_stream() {
        let mut s = Splitter::default();
        let a = s.push(
            LogOutput::StdOut {
                message: Bytes::from("2024-05-01T10:00:00.123456789Z hel"),
            },
            true,
        );
        assert!(a.is_empty());
        let b = s.push(
            LogOutput::StdErr {
                message: Bytes::from("2024-05-01T10:00:00.2Z oops\n"),
            },
            true,
        );
        assert_eq!(b[0].stream, LogStream::Stderr);
        assert_eq!(b[0].text, "oops");
        let c = s.push(
            LogOutput::StdOut {
                message: Bytes::from("lo\n2024-05-01T10:00:01.0Z world\n"),
            },
            false,
        );
        assert_eq!(
            c.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
            ["hello", "world"]
        );
        assert_eq!(c[0].ts, None);
    }
}
