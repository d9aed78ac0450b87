//! Image references in paths the way the engine takes them: raw, slashes
//! and all (`/images/127.0.0.1:5000/ns/app:1/push`). Before routing, such a
//! path is rewritten to the one form the route table knows, the reference
//! as one percent-encoded segment (`/images/127.0.0.1:5000%2Fns%2Fapp:1/push`),
//! so the request meets the same route, the same access check and the same
//! audit action as if it had been sent encoded. Nothing here decides who may
//! do what.
//!
//! The rules, in order, for a path under `/api/v1/endpoints/{ep}/images/`:
//! - a `.` or `..` part, raw or encoded, is refused with 400: a reference
//!   has none, and a path that walks is not taken;
//! - a trailing slash is left alone: no route ends with one, so it is a 404
//!   as everywhere else in the API;
//! - an empty part inside (`ns//app`) is refused with 400;
//! - the last part is an action (`push`, `tag`, `export`, read from the
//!   image routes) only when the route of that action takes the request's
//!   method: `POST .../ns/push` pushes `ns`, while `GET` and `DELETE` of
//!   `.../ns/push` inspect and remove the image `ns/push`, as the engine
//!   decides by method too (push `ns/push` with `POST .../ns/push/push`);
//! - every part before that is the reference, joined with `%2F`; parts
//!   already encoded stay as they are, so encoded and raw slashes mix.
//!
//! Container names cannot hold a slash (the engine refuses them), so only
//! image paths are rewritten.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::uri::PathAndQuery;
use axum::http::{Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::Route;
use crate::error::AppError;

const ENDPOINTS: &str = "/api/v1/endpoints/";
/// The route of one image, as the image routes spell it.
const ONE_IMAGE: &str = "/api/v1/endpoints/{ep}/images/{id}";

/// The actions that follow an image's reference in a path, with the method
/// each takes.
#[derive(Debug, Clone, Default)]
pub struct ImageActions(Vec<(Method, String)>);

impl ImageActions {
    /// The suffixes of the routes under [`ONE_IMAGE`] in `routes`.
    pub fn from_routes(routes: &[Route]) -> ImageActions {
        let prefix = format!("{ONE_IMAGE}/");
        ImageActions(
            routes
                .iter()
                .filter_map(|r| {
                    let action = r.path.strip_prefix(&prefix)?;
                    (!action.contains('/')).then(|| (r.method.clone(), action.to_string()))
                })
                .collect(),
        )
    }

    fn takes(&self, method: &Method, segment: &str) -> bool {
        // A GET route answers HEAD too.
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.0.iter().any(|(m, a)| m == method && a == segment)
    }
}

/// What [`rewrite`] makes of a path.
#[derive(Debug, PartialEq, Eq)]
pub enum Rewrite {
    /// Routed as it is.
    Unchanged,
    /// Routed as this path instead.
    To(String),
    /// Refused with 400 and this detail.
    Refused(&'static str),
}

/// The path an image route knows for `path`, requested with `method`.
pub fn rewrite(path: &str, method: &Method, actions: &ImageActions) -> Rewrite {
    let Some(rest) = path.strip_prefix(ENDPOINTS) else {
        return Rewrite::Unchanged;
    };
    let Some((ep, rest)) = rest.split_once('/') else {
        return Rewrite::Unchanged;
    };
    let Some(tail) = rest.strip_prefix("images/") else {
        return Rewrite::Unchanged;
    };
    let segments: Vec<&str> = tail.split('/').collect();
    if segments.iter().any(|s| walks(s)) {
        return Rewrite::Refused(
            "an image reference in a path has no `.` or `..` parts; send it as the engine names it (`registry:5000/ns/app:1`)",
        );
    }
    let Some((last, inner)) = segments.split_last() else {
        return Rewrite::Unchanged;
    };
    if segments.len() < 2 || last.is_empty() {
        return Rewrite::Unchanged;
    }
    if segments.iter().any(|s| s.is_empty()) {
        return Rewrite::Refused("an image reference in a path has no empty parts (`ns//app`)");
    }
    let (reference, action) = if actions.takes(method, last) {
        (inner, Some(*last))
    } else {
        (segments.as_slice(), None)
    };
    if reference.len() < 2 {
        return Rewrite::Unchanged;
    }
    let mut to = format!("{ENDPOINTS}{ep}/images/{}", reference.join("%2F"));
    if let Some(action) = action {
        to.push('/');
        to.push_str(action);
    }
    Rewrite::To(to)
}

/// Whether a path part, once decoded, is or holds a `.` or `..` part.
fn walks(segment: &str) -> bool {
    let decoded = percent_decode(segment);
    decoded.split(['/', '\\']).any(|p| p == "." || p == "..")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes.get(i), bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(b'%'), Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 3;
            }
            (Some(&b), _, _) => {
                out.push(b);
                i += 1;
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `routed`, with image paths rewritten before its routes see them.
pub fn before_routing(routed: Router) -> Router {
    let actions = Arc::new(ImageActions::from_routes(&super::all_routes()));
    Router::new()
        .fallback_service(routed)
        .layer(axum::middleware::from_fn_with_state(actions, image_paths))
}

async fn image_paths(
    State(actions): State<Arc<ImageActions>>,
    mut request: Request,
    next: Next,
) -> Response {
    match rewrite(request.uri().path(), request.method(), &actions) {
        Rewrite::Unchanged => {}
        Rewrite::Refused(detail) => return AppError::BadRequest(detail.into()).into_response(),
        Rewrite::To(path) => {
            let with_query = match request.uri().query() {
                Some(q) => format!("{path}?{q}"),
                None => path,
            };
            let mut parts = request.uri().clone().into_parts();
            match PathAndQuery::try_from(with_query) {
                Ok(pq) => parts.path_and_query = Some(pq),
                Err(_) => return AppError::BadRequest("not a valid path".into()).into_response(),
            }
            match Uri::from_parts(parts) {
                Ok(uri) => *request.uri_mut() = uri,
                Err(_) => return AppError::BadRequest("not a valid path".into()).into_response(),
            }
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions() -> ImageActions {
        ImageActions::from_routes(&crate::api::all_routes())
    }

    fn to(path: &str, method: Method) -> Rewrite {
        rewrite(path, &method, &actions())
    }

    const I: &str = "/api/v1/endpoints/local/images";

    #[test]
    fn the_actions_are_read_from_the_image_routes() {
        let mut found: Vec<String> = actions()
            .0
            .iter()
            .map(|(m, a)| format!("{m} {a}"))
            .collect();
        found.sort();
        assert_eq!(found, ["GET export", "POST push", "POST tag"]);
    }

    #[test]
    fn a_reference_with_slashes_becomes_one_segment() {
        let r = "127.0.0.1:5000/ns/app:1";
        let e = "127.0.0.1:5000%2Fns%2Fapp:1";
        assert_eq!(
            to(&format!("{I}/{r}/push"), Method::POST),
            Rewrite::To(format!("{I}/{e}/push"))
        );
        assert_eq!(
            to(&format!("{I}/{r}/tag"), Method::POST),
            Rewrite::To(format!("{I}/{e}/tag"))
        );
        assert_eq!(
            to(&format!("{I}/{r}/export"), Method::GET),
            Rewrite::To(format!("{I}/{e}/export"))
        );
        assert_eq!(
            to(&format!("{I}/{r}"), Method::GET),
            Rewrite::To(format!("{I}/{e}"))
        );
        assert_eq!(
            to(&format!("{I}/{r}"), Method::DELETE),
            Rewrite::To(format!("{I}/{e}"))
        );
    }

    #[test]
    fn paths_the_routes_know_already_are_left_alone() {
        for (path, method) in [
            (I.to_string(), Method::GET),
            (format!("{I}/busybox:1"), Method::GET),
            (format!("{I}/ns%2Fapp:1/push"), Method::POST),
            (format!("{I}/ns/push"), Method::POST),
            (format!("{I}/build"), Method::POST),
            (
                "/api/v1/endpoints/local/containers/a/b".to_string(),
                Method::GET,
            ),
            ("/images/ns/app".to_string(), Method::GET),
        ] {
            assert_eq!(
                to(&path, method.clone()),
                Rewrite::Unchanged,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn an_action_name_is_an_action_only_for_its_method() {
        assert_eq!(
            to(&format!("{I}/ns/push"), Method::GET),
            Rewrite::To(format!("{I}/ns%2Fpush"))
        );
        assert_eq!(
            to(&format!("{I}/ns/push"), Method::DELETE),
            Rewrite::To(format!("{I}/ns%2Fpush"))
        );
        assert_eq!(
            to(&format!("{I}/ns/push/push"), Method::POST),
            Rewrite::To(format!("{I}/ns%2Fpush/push"))
        );
        assert_eq!(
            to(&format!("{I}/ns/export"), Method::HEAD),
            Rewrite::Unchanged
        );
        assert_eq!(
            to(&format!("{I}/a/ns/export"), Method::POST),
            Rewrite::To(format!("{I}/a%2Fns%2Fexport"))
        );
    }

    #[test]
    fn walking_and_empty_parts_are_refused_and_a_trailing_slash_is_not_taken() {
        for path in [
            format!("{I}/ns/../app"),
            format!("{I}/../containers"),
            format!("{I}/ns/%2e%2E/app/push"),
            format!("{I}/ns%2F..%2Fapp"),
            format!("{I}/./app"),
        ] {
            assert!(
                matches!(to(&path, Method::GET), Rewrite::Refused(_)),
                "{path}"
            );
        }
        assert!(matches!(
            to(&format!("{I}/ns//app"), Method::GET),
            Rewrite::Refused(_)
        ));
        assert_eq!(to(&format!("{I}/ns/app/"), Method::GET), Rewrite::Unchanged);
        assert_eq!(
            to(&format!("{I}/ns/app:1/push/"), Method::POST),
            Rewrite::Unchanged
        );
    }

    #[test]
    fn encoded_and_raw_slashes_mix() {
        assert_eq!(
            to(&format!("{I}/127.0.0.1:5000%2Fns/app:1/push"), Method::POST),
            Rewrite::To(format!("{I}/127.0.0.1:5000%2Fns%2Fapp:1/push"))
        );
    }
}
