//! The web catalogue's routes: HTML pages at `/`.

use axum::Router;

use super::State;

/// The routes of the web catalogue.
pub fn routes() -> Router<State> {
    Router::new()
}
