//! Widgets shared by the pages: the frame around them, badges, tables,
//! dialogs, toasts, loading and error states, and formatting helpers.

pub mod badge;
pub mod config_cards;
pub mod copy;
pub mod diff;
pub mod format;
pub mod icons;
pub mod layout;
pub mod logs;
pub mod modal;
pub mod progress;
pub mod remote;
pub mod stats;
pub mod table;
pub mod tabs;
pub mod terminal;
pub mod toast;
pub mod upload;
pub mod yaml_editor;
