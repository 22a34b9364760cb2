//! Cross-crate tests, one module per area.

mod suite {
    pub mod attachment_vectors;
    pub mod attachments;
    pub mod browser;
    pub mod chaos;
    pub mod crash;
    pub mod daemon;
    pub mod faults;
    pub mod hostile;
    pub mod membership;
    pub mod net_vectors;
    pub mod netns;
    pub mod network;
    pub mod sim;
    pub mod sync_vectors;
    pub mod vectors;
}
