//! Images and registries over HTTP.

use super::Route;

pub fn routes() -> Vec<Route> {
    Vec::new()
}
