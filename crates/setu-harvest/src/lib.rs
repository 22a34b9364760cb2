//! OAI-PMH and DCAT (work in progress).
