//! How times and sizes read: relative times ("3 min ago") with the exact
//! time on hover, sizes in KB/MB/GB.

use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::state::use_app;

/// Unix seconds of an RFC 3339 time; `None` for the engine's zero time
/// ("0001-01-01T00:00:00Z") or anything unreadable.
pub fn parse_time(rfc3339: &str) -> Option<f64> {
    if rfc3339.is_empty() || rfc3339.starts_with("0001-") {
        return None;
    }
    let ms = js_sys::Date::parse(rfc3339);
    (!ms.is_nan()).then_some(ms / 1000.0)
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

/// "just now", "42 sec ago", "3 min ago", "5 hours ago", "2 days ago", ...
pub fn relative(secs: f64, now: f64) -> String {
    let d = (now - secs).max(0.0) as i64;
    match d {
        0..=9 => "just now".to_owned(),
        10..=59 => format!("{d} sec ago"),
        60..=3599 => format!("{} min ago", d / 60),
        3600..=86_399 => plural(d / 3600, "hour"),
        86_400..=2_591_999 => plural(d / 86_400, "day"),
        2_592_000..=31_535_999 => plural(d / 2_592_000, "month"),
        _ => plural(d / 31_536_000, "year"),
    }
}

/// The local time, "2026-11-29 18:12:03".
pub fn exact(secs: f64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(secs * 1000.0));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds()
    )
}

/// ISO form for `<time datetime>`.
pub fn iso(secs: f64) -> String {
    String::from(js_sys::Date::new(&JsValue::from_f64(secs * 1000.0)).to_iso_string())
}

/// Decimal units, as Docker's own tools print them: "1.5 GB".
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut value = n.max(0) as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// A relative time that moves on by itself, the exact time on hover.
#[component]
pub fn RelativeTime(
    /// Unix seconds; `None` shows `never`.
    secs: Option<f64>,
    #[prop(optional, into)] never: Option<String>,
) -> impl IntoView {
    let now = use_app().now;
    match secs {
        Some(secs) => view! {
            <time datetime=iso(secs) title=exact(secs)>
                {move || relative(secs, now.get())}
            </time>
        }
        .into_any(),
        None => view! { <span class="muted">{never.unwrap_or_else(|| "never".to_owned())}</span> }
            .into_any(),
    }
}
