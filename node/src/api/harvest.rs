//! The harvesting routes: OAI-PMH at `/oai`, DCAT at `/catalog.jsonld`.

use axum::Router;

use super::State;

/// The harvesting routes.
pub fn routes() -> Router<State> {
    Router::new()
}
