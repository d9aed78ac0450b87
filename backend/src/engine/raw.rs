//! A minimal read-only HTTP client for the few engine answers whose shape
//! changed across API versions in ways bollard's current models cannot read
//! (such as `/system/df` on API 1.41). GET only, JSON only, bounded in size.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{Engine, EngineError, EngineResult};

/// The most a raw answer may hold.
const MAX_BODY: usize = 16 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(60);

impl Engine {
    /// `GET /v{api}{path}` as JSON.
    pub(crate) async fn raw_get_json(&self, path: &str) -> EngineResult<serde_json::Value> {
        let api = self.docker().await?.client_version();
        let request = format!(
            "GET /v{}.{}{path} HTTP/1.1\r\nHost: docker\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
            api.major_version, api.minor_version
        );
        let fut = async {
            if let Some(socket) = self.url.strip_prefix("unix://") {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                exchange(stream, &request).await
            } else {
                let addr = self
                    .url
                    .trim_start_matches("tcp://")
                    .trim_start_matches("http://");
                let stream = tokio::net::TcpStream::connect(addr).await?;
                exchange(stream, &request).await
            }
        };
        let (status, body) = match tokio::time::timeout(TIMEOUT, fut).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                return Err(self.unavailable(format!("cannot read {path} from the engine: {e}")))
            }
            Err(_) => return Err(self.unavailable("the engine did not answer in time".into())),
        };
        if !(200..300).contains(&status) {
            return Err(EngineError::Other(format!(
                "GET {path}: engine answered {status}"
            )));
        }
        serde_json::from_slice(&body)
            .map_err(|e| EngineError::Other(format!("GET {path}: bad JSON: {e}")))
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> std::io::Result<(u16, Vec<u8>)> {
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    let mut limited = (&mut stream).take((MAX_BODY + 64 * 1024) as u64);
    limited.read_to_end(&mut raw).await?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed HTTP answer")
    })
}

/// Splits an HTTP/1.1 answer into status and (de-chunked) body.
fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let body = &raw[split + 4..];
    let status: u16 = head
        .lines()
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Some((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some((status, out));
        }
        if rest.len() < size + 2 || out.len() + size > MAX_BODY {
            return None;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::parse_response;

    #[test]
    fn reads_plain_and_chunked_answers() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}";
        assert_eq!(parse_response(plain), Some((200, b"{\"a\":1}".to_vec())));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), Some((200, b"{\"a\":1}".to_vec())));
        assert_eq!(parse_response(b"garbage"), None);
    }
}
