//! Widgets shared by the pages: the frame around them, badges, tables,
//! dialogs, toasts, loading and error states, and formatting helpers.

pub mod badge;
pub mod copy;
pub mod format;
pub mod icons;
pub mod layout;
pub mod modal;
pub mod remote;
pub mod table;
pub mod toast;
