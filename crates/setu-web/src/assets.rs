//! The stylesheet and the script, compiled in (no build step, nothing
//! fetched).

/// The stylesheet.
pub const CSS: &str = include_str!("../assets/setu.css");
/// The script: the citation's copy button, and the filters folded on a
/// phone. The pages work without it.
pub const JS: &str = include_str!("../assets/setu.js");
/// Where pages link the stylesheet.
pub const CSS_PATH: &str = "/assets/setu.css";
/// Where pages load the script.
pub const JS_PATH: &str = "/assets/setu.js";

/// An asset by its file name under `/assets/`: its content type and body.
pub fn get(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "setu.css" => Some(("text/css; charset=utf-8", CSS)),
        "setu.js" => Some(("text/javascript; charset=utf-8", JS)),
        _ => None,
    }
}
