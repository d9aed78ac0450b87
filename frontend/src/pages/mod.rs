//! One module per page of the app.

pub mod audit;
pub mod build;
pub mod container;
pub mod containers;
pub mod endpoint_settings;
pub mod home;
pub mod host;
pub mod image;
pub mod images;
pub mod login;
pub mod networks;
pub mod not_found;
pub mod ports;
pub mod registries;
pub mod run;
pub mod setup;
pub mod stack;
pub mod stack_config;
pub mod stack_deploy;
pub mod stack_files;
pub mod stack_new;
pub mod stacks;
pub mod teams;
pub mod tokens;
pub mod users;
pub mod volumes;

use leptos::prelude::*;

use crate::components::remote::Remote;

/// Reloads `remote` whenever the engine reports a change to one of `kinds`
/// (see [`crate::live::use_changes`]). A reload keeps the rows on screen
/// until the new list arrives, so keyed rows update in place.
pub fn reload_on_changes<T: Send + Sync + 'static>(
    remote: Remote<T>,
    kinds: &'static [&'static str],
) {
    let changes = crate::live::use_changes(kinds);
    Effect::new(move |seen: Option<u64>| {
        let now = changes.get();
        if seen.is_some_and(|seen| seen != now) {
            remote.reload();
        }
        now
    });
}
