//! Placeholder: the network frame vectors are being written.
