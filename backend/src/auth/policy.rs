//! The one policy function every API route goes through, and the audit
//! trail of every mutating call.
//!
//! Each route declares its [`Access`] next to its handler (see `api/`); the
//! router is built from those declarations, and [`enforce`] looks the matched
//! route up again on every request. A route with no declaration is refused:
//! deny is the default.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use protocol::{Role, TokenScope};
use tokio::sync::oneshot;

use super::access;
use super::client::ClientInfo;
use super::principal::identify_throttled;
use crate::error::AppError;
use crate::policy::ownership;
use crate::store::{NewAudit, UserRow};
use crate::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (health, setup, login).
    Public,
    /// Signed-in users with at least this role.
    AtLeast(Role),
}

/// What a route declares about itself for the policy and the audit log.
#[derive(Debug, Clone, Copy)]
pub struct RoutePolicy {
    pub access: Access,
    /// The audit log's name for the call, such as `container.stop`.
    pub action: &'static str,
    /// Whether a call that is not a GET is written to the audit log: all
    /// but the checks that only answer (validate, policy check), which the
    /// editors call as the user types.
    pub audited: bool,
}

/// Route declarations, keyed by path template, then method: one hash
/// lookup per request.
#[derive(Debug, Default)]
pub struct PolicyTable(HashMap<&'static str, HashMap<Method, RoutePolicy>>);

impl PolicyTable {
    pub fn insert(&mut self, method: Method, path: &'static str, policy: RoutePolicy) {
        self.0.entry(path).or_default().insert(method, policy);
    }

    fn get(&self, method: &Method, path: &str) -> Option<RoutePolicy> {
        // HEAD is answered by GET routes and needs what GET needs.
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.0
            .get(path)
            .and_then(|by_method| by_method.get(method))
            .copied()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session,
    Token,
}

/// The signed-in user a request acts for.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    /// On a route under `{ep}`, the role there (see `auth::access`);
    /// elsewhere the user's own role, or less through a read-only token.
    pub role: Role,
    /// The user's own role, which says whether they reach every endpoint.
    pub user_role: Role,
    pub credential: Credential,
    /// The endpoint of the route the role is for, under `{ep}`.
    pub endpoint: Option<String>,
}

impl Principal {
    pub fn new(user: &UserRow, credential: Credential) -> Self {
        Principal {
            user_id: user.id,
            username: user.username.clone(),
            role: user.role(),
            user_role: user.role(),
            credential,
            endpoint: None,
        }
    }

    /// The owner of a token, acting through it: never above a viewer when
    /// the token is read-only, never above the owner's role now.
    pub fn for_token(owner: &UserRow, scope: &TokenScope) -> Self {
        let mut p = Principal::new(owner, Credential::Token);
        if scope.read_only {
            p.role = p.role.min(Role::Viewer);
        }
        p
    }
}

/// What the API token a request came with allows, beyond what its owner's
/// role does: always less or the same. In the request's extensions when
/// the request came with a token.
#[derive(Debug, Clone, Default)]
pub struct TokenLimits {
    pub scope: TokenScope,
    /// The token's expiry, in the stored format; `None` for never.
    pub expires_at: Option<String>,
}

impl TokenLimits {
    /// May this token reach endpoint `ep`?
    pub fn reaches(&self, ep: &str) -> bool {
        self.scope
            .endpoints
            .as_ref()
            .is_none_or(|eps| eps.iter().any(|e| e == ep))
    }
}

/// The token part of the policy, after [`authorize`]: a read-only token
/// only reads (its role is a viewer's already, see
/// [`Principal::for_token`]; this refuses the viewer-level writes too), and
/// an endpoint-scoped token finds no other endpoint: 404, as if it did not
/// exist. `endpoint` is the route's `{ep}`.
pub fn authorize_token(
    limits: Option<&TokenLimits>,
    method: &Method,
    endpoint: Option<&str>,
) -> Result<(), AppError> {
    let Some(limits) = limits else {
        return Ok(());
    };
    if let Some(ep) = endpoint {
        if !limits.reaches(ep) {
            return Err(AppError::NotFound(format!("no endpoint with id {ep:?}")));
        }
    }
    let reads = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if limits.scope.read_only && !reads {
        return Err(AppError::Forbidden("this API token is read-only".into()));
    }
    Ok(())
}

/// THE policy: may `principal` call a route that declares `access`?
pub fn authorize(access: Access, principal: Option<&Principal>) -> Result<(), AppError> {
    match (access, principal) {
        (Access::Public, _) => Ok(()),
        (Access::AtLeast(_), None) => Err(AppError::Unauthorized("sign in first".into())),
        (Access::AtLeast(needed), Some(p)) if p.role >= needed => Ok(()),
        (Access::AtLeast(needed), Some(p)) => Err(AppError::Forbidden(format!(
            "this needs the {} role; {} is {}",
            needed.as_str(),
            p.username,
            p.role.as_str()
        ))),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| AppError::Unauthorized("sign in first".into()))
    }
}

/// Set on a response by a handler to name the actor when nobody is signed in
/// yet (setup, login): the audit row then says who tried.
#[derive(Debug, Clone)]
pub struct AuditActor(pub String);

/// Set on a response by a handler to name the target better than the path does.
#[derive(Debug, Clone)]
pub struct AuditTarget(pub String);

/// Set on a streamed response (build, pull, push, deploy): its audit row is
/// written when the answer starts, as `ok`, and turns `failed` if the stream
/// then reports a failure. See [`audit_stream`].
#[derive(Debug, Clone)]
pub struct AuditLater(Arc<std::sync::Mutex<Option<oneshot::Receiver<bool>>>>);

impl AuditLater {
    fn take(&self) -> Option<oneshot::Receiver<bool>> {
        self.0.lock().ok().and_then(|mut r| r.take())
    }
}

/// Sends the stream's outcome when the stream is dropped: at its end, or
/// when the client goes away (then what was seen so far counts).
struct Finisher {
    tx: Option<oneshot::Sender<bool>>,
    failed: bool,
}

impl Finisher {
    fn fail(&mut self) {
        self.failed = true;
    }
}

impl Drop for Finisher {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(!self.failed);
        }
    }
}

/// `stream`, watched for an item that `is_failure` says ends the work in
/// failure; the [`AuditLater`] goes on the response.
pub fn audit_stream<S, T>(
    stream: S,
    is_failure: fn(&T) -> bool,
) -> (impl Stream<Item = T> + Send + 'static, AuditLater)
where
    S: Stream<Item = T> + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let mut finisher = Finisher {
        tx: Some(tx),
        failed: false,
    };
    // A method call, so that the closure owns the whole finisher (and drops
    // it with the stream), not a copy of its flag.
    let watched = stream.map(move |item| {
        if is_failure(&item) {
            finisher.fail();
        }
        item
    });
    (
        watched,
        AuditLater(Arc::new(std::sync::Mutex::new(Some(rx)))),
    )
}

/// What [`enforce`] needs: the app, and the table the router was built from.
#[derive(Clone)]
pub struct Gate {
    pub state: AppState,
    pub table: Arc<PolicyTable>,
}

/// The middleware in front of every API route: work out who the client is,
/// authenticate, apply the policy, run the handler, audit mutating calls,
/// and mark cookies `Secure` for clients on HTTPS.
pub async fn enforce(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let Gate { state, table } = gate;
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let client = ClientInfo::from_request(peer, request.headers(), &state.config.trusted_proxies);
    let address = client.address;
    let secure_cookies = state.config.secure_cookies || client.https;
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let writes = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let target = path.strip_prefix("/api/v1/").unwrap_or(&path).to_string();

    let Some(policy) = table.get(&method, &template) else {
        tracing::error!(%method, %template, "route has no policy; refused");
        return AppError::Forbidden("no policy allows this route".into()).into_response();
    };
    let mutating = writes && policy.audited;

    let identified = identify_throttled(
        &state.store,
        &state.login_throttle,
        address,
        request.headers(),
    )
    .await;
    let (mut principal, limits) = match identified {
        Ok(Some((p, limits))) => (Some(p), limits),
        Ok(None) => (None, None),
        Err(e) => {
            if mutating {
                let status = e.status_code();
                audit(&state, address, "anonymous", policy.action, &target, status).await;
            }
            return e.into_response();
        }
    };
    let actor = principal.as_ref().map(|p| p.username.clone());

    // A WebSocket is not covered by SameSite for every browser, and it
    // carries the session cookie: its Origin is checked like a write's.
    let upgrade = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let decision = if (writes || upgrade) && !same_origin(request.headers(), &client) {
        Err(AppError::Forbidden(
            "cross-origin requests are refused".into(),
        ))
    } else {
        let params = match principal {
            Some(_) if template.contains("{ep}") => path_params(&mut request).await,
            _ => Vec::new(),
        };
        let endpoint = params
            .iter()
            .find(|(name, _)| name == "ep")
            .map(|(_, value)| value.clone());
        match authorize_token(limits.as_ref(), &method, endpoint.as_deref()) {
            Err(e) => Err(e),
            // Under `{ep}`, the caller acts with their role there, or finds
            // no such endpoint; and on an endpoint that keeps operators to
            // their own, a container or stack they did not create is not
            // theirs to change.
            Ok(()) => match (principal.take(), endpoint) {
                (Some(p), Some(ep)) => match access::on_endpoint(&state.store, &p, &ep).await {
                    Ok(there) => {
                        principal = Some(there);
                        let needs_operator = policy.access == Access::AtLeast(Role::Operator);
                        match (authorize(policy.access, principal.as_ref()), &principal) {
                            (Ok(()), Some(p)) => {
                                ownership::check_route(
                                    &state,
                                    p,
                                    &template,
                                    needs_operator,
                                    &params,
                                )
                                .await
                            }
                            (other, _) => other,
                        }
                    }
                    Err(e) => {
                        principal = Some(p);
                        Err(e)
                    }
                },
                (p, _) => {
                    principal = p;
                    authorize(policy.access, principal.as_ref())
                }
            },
        }
    };
    if let Err(e) = decision {
        if mutating {
            let who = actor.as_deref().unwrap_or("anonymous");
            let status = e.status_code();
            audit(&state, address, who, policy.action, &target, status).await;
        }
        return e.into_response();
    }

    if let Some(p) = principal {
        request.extensions_mut().insert(p);
    }
    if let Some(limits) = limits {
        request.extensions_mut().insert(limits);
    }
    request.extensions_mut().insert(client);
    let mut response = next.run(request).await;
    if secure_cookies {
        mark_cookies_secure(response.headers_mut());
    }

    if mutating {
        let who = response
            .extensions()
            .get::<AuditActor>()
            .map(|a| a.0.clone())
            .or(actor)
            .unwrap_or_else(|| "anonymous".into());
        let target = response
            .extensions()
            .get::<AuditTarget>()
            .map(|t| t.0.clone())
            .unwrap_or(target);
        let status = response.status();
        let id = audit(&state, address, &who, policy.action, &target, status).await;
        let later = response
            .extensions()
            .get::<AuditLater>()
            .and_then(AuditLater::take);
        if let (Some(id), Some(later)) = (id, later) {
            let state = state.clone();
            tokio::spawn(async move {
                if let Ok(false) = later.await {
                    if let Err(e) = state.store.set_audit_outcome(id, "failed").await {
                        tracing::error!(error = %e, id, "cannot update the audit log");
                    }
                }
            });
        }
    }
    response
}

/// The matched route's path parameters (`{ep}`, `{id}`, ...),
/// percent-decoded.
async fn path_params(request: &mut Request) -> Vec<(String, String)> {
    let (mut parts, body) = std::mem::take(request).into_parts();
    let params = RawPathParams::from_request_parts(&mut parts, &()).await;
    let out = params
        .map(|params| {
            params
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect()
        })
        .unwrap_or_default();
    *request = Request::from_parts(parts, body);
    out
}

/// Adds `Secure` to every cookie the response sets that lacks it. Deciding
/// here, for every route, covers each place that sets a cookie (sign-in,
/// first setup, sign-out) from the one [`ClientInfo`].
fn mark_cookies_secure(headers: &mut HeaderMap) {
    let header::Entry::Occupied(entry) = headers.entry(header::SET_COOKIE) else {
        return;
    };
    let (_, cookies) = entry.remove_entry_mult();
    let cookies: Vec<HeaderValue> = cookies.collect();
    for cookie in cookies {
        let secure = cookie
            .as_bytes()
            .split(|b| *b == b';')
            .skip(1)
            .any(|attr| attr.trim_ascii().eq_ignore_ascii_case(b"secure"));
        let cookie = if secure {
            cookie
        } else {
            let mut bytes = cookie.as_bytes().to_vec();
            bytes.extend_from_slice(b"; Secure");
            HeaderValue::from_bytes(&bytes).unwrap_or(cookie)
        };
        headers.append(header::SET_COOKIE, cookie);
    }
}

async fn audit(
    state: &AppState,
    address: Option<IpAddr>,
    actor: &str,
    action: &str,
    target: &str,
    status: StatusCode,
) -> Option<i64> {
    let outcome = match status.as_u16() {
        // 429: a login, setup or token held back by the throttle.
        401 | 403 | 429 => "denied",
        s if s < 400 => "ok",
        _ => "failed",
    };
    let entry = NewAudit {
        actor,
        action,
        target,
        outcome,
        status: status.as_u16(),
        address,
    };
    // Anonymous clients can send as many refused calls as they like: those
    // collapse into one row a minute. A 429's actor is whatever name the
    // client sent, so those collapse whatever the name.
    let written = match status.as_u16() {
        401 | 429 => {
            let any_actor = status == StatusCode::TOO_MANY_REQUESTS;
            state.store.write_audit_collapsing(entry, any_actor).await
        }
        s if s >= 400 && actor == "anonymous" => {
            state.store.write_audit_collapsing(entry, false).await
        }
        _ => state.store.write_audit(entry).await,
    };
    match written {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::error!(error = %e, action, target, "cannot write the audit log");
            None
        }
    }
}

/// A browser always sends `Origin` on a mutating request; when it is there it
/// must name the host the client asked for: `Host`, or the
/// `X-Forwarded-Host` of a trusted proxy (see [`ClientInfo`]). Scripts send
/// no Origin and use bearer tokens.
pub fn same_origin(headers: &HeaderMap, client: &ClientInfo) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    !authority.is_empty()
        && client
            .host
            .as_deref()
            .is_some_and(|host| host.eq_ignore_ascii_case(authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_reports_its_outcome_when_it_ends() {
        let failure = |x: &i32| *x < 0;
        let (s, later) = audit_stream(futures_util::stream::iter(vec![1, -1, 2]), failure);
        assert_eq!(s.collect::<Vec<_>>().await, vec![1, -1, 2]);
        assert_eq!(later.take().expect("receiver").await, Ok(false));

        let (s, later) = audit_stream(futures_util::stream::iter(vec![1, 2]), failure);
        assert_eq!(s.collect::<Vec<_>>().await.len(), 2);
        assert_eq!(later.take().expect("receiver").await, Ok(true));

        // Dropped early (the client went away): what it saw so far counts.
        let (s, later) = audit_stream(futures_util::stream::iter(vec![1, -1]), failure);
        let mut s = Box::pin(s);
        assert_eq!(s.next().await, Some(1));
        drop(s);
        assert_eq!(later.take().expect("receiver").await, Ok(true));
        assert!(later.take().is_none(), "taken once");
    }
    use crate::auth::client::TrustedProxies;

    fn principal(role: Role) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            role,
            user_role: role,
            credential: Credential::Session,
            endpoint: None,
        }
    }

    #[test]
    fn the_policy_orders_roles() {
        let op = Access::AtLeast(Role::Operator);
        assert!(authorize(op, None).is_err());
        assert!(authorize(op, Some(&principal(Role::Viewer))).is_err());
        assert!(authorize(op, Some(&principal(Role::Operator))).is_ok());
        assert!(authorize(op, Some(&principal(Role::Admin))).is_ok());
        assert!(authorize(Access::Public, None).is_ok());
    }

    #[test]
    fn a_token_scope_narrows_what_its_owner_may() {
        let get = &Method::GET;
        let post = &Method::POST;
        assert!(authorize_token(None, post, Some("local")).is_ok());
        let read_only = TokenLimits {
            scope: TokenScope {
                read_only: true,
                endpoints: None,
            },
            expires_at: None,
        };
        assert!(authorize_token(Some(&read_only), get, Some("local")).is_ok());
        assert!(matches!(
            authorize_token(Some(&read_only), post, None),
            Err(AppError::Forbidden(_))
        ));
        let elsewhere = TokenLimits {
            scope: TokenScope {
                read_only: false,
                endpoints: Some(vec!["other".into()]),
            },
            expires_at: None,
        };
        assert!(matches!(
            authorize_token(Some(&elsewhere), get, Some("local")),
            Err(AppError::NotFound(_))
        ));
        assert!(authorize_token(Some(&elsewhere), post, Some("other")).is_ok());
        assert!(authorize_token(Some(&elsewhere), post, None).is_ok());
    }

    fn client_of(h: &HeaderMap, trusted: &[&str]) -> ClientInfo {
        let trusted =
            TrustedProxies::new(trusted.iter().map(|s| s.parse().expect("net")).collect());
        ClientInfo::from_request(Some([127, 0, 0, 1].into()), h, &trusted)
    }

    #[test]
    fn origin_must_match_host() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, &client_of(&h, &[])));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h, &client_of(&h, &[])));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h, &client_of(&h, &[])));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h, &client_of(&h, &[])));
    }

    #[test]
    fn forwarded_host_counts_only_from_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(
            "x-forwarded-host",
            HeaderValue::from_static("berth.example"),
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://berth.example"),
        );
        assert!(!same_origin(&h, &client_of(&h, &[])));
        assert!(same_origin(&h, &client_of(&h, &["127.0.0.1"])));
        // Through the proxy, the internal Host is not the client's origin.
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(!same_origin(&h, &client_of(&h, &["127.0.0.1"])));
        assert!(same_origin(&h, &client_of(&h, &[])));
    }

    #[test]
    fn cookies_are_marked_secure_once() {
        let mut h = HeaderMap::new();
        h.append(
            header::SET_COOKIE,
            HeaderValue::from_static("berth_session=abc; Path=/; HttpOnly"),
        );
        h.append(
            header::SET_COOKIE,
            HeaderValue::from_static("other=1; secure; Path=/"),
        );
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        mark_cookies_secure(&mut h);
        let cookies: Vec<_> = h
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("ascii"))
            .collect();
        assert_eq!(
            cookies,
            [
                "berth_session=abc; Path=/; HttpOnly; Secure",
                "other=1; secure; Path=/"
            ]
        );
        assert!(h.contains_key(header::CONTENT_TYPE));
        let mut none = HeaderMap::new();
        mark_cookies_secure(&mut none);
        assert!(none.is_empty());
    }
}
