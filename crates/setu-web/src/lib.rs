//! The node's web catalogue: the HTML pages a running node serves at `/`
//! (search, with facet counts) and `/practices/{id}` (one practice).
//!
//! Every page is a pure function from a view struct to a `String` of HTML,
//! written with [maud], which escapes every value it is given: all text on
//! these pages comes from agencies the node does not control. The pages
//! carry no inline script or style, so a strict Content-Security-Policy
//! holds (the node sends it); the stylesheet and a small script are
//! compiled in ([`assets`]). Each author text carries its `lang`, and
//! `dir="rtl"` for right-to-left languages ([`lang`]).
//!
//! ```
//! use setu_web::practice::{PracticePage, Publisher, render};
//!
//! let body = serde_json::json!({
//!     "practice_id": "X-1", "revision": 1, "state": "active",
//!     "title": {"original": "ar", "text": {"ar": "الشباك الموحد", "en": "<One stop>"}},
//! });
//! let page = PracticePage {
//!     requested: "X-1".into(),
//!     lang: "ar".into(),
//!     practice_id: "X-1".into(),
//!     record_id: "00".repeat(32),
//!     publisher: Publisher { key: "11".repeat(32), ..Publisher::default() },
//!     body: serde_json::from_value(body).ok(),
//!     ..PracticePage::default()
//! };
//! let html = render(&page);
//! assert!(html.contains(r#"<h1 lang="ar" dir="rtl">الشباك الموحد</h1>"#));
//! assert!(setu_web::practice::render(&PracticePage { lang: "en".into(), ..page })
//!     .contains("&lt;One stop&gt;"));
//! ```

#![deny(missing_docs)]

pub mod assets;
pub mod chart;
pub mod error;
mod fmt;
pub mod lang;
mod layout;
pub mod params;
pub mod practice;
pub mod search;
