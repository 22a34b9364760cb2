//! The web catalogue (work in progress).
