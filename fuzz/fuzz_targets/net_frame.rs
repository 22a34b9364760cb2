//! Feeds arbitrary bytes to the network frame decoders (`spec/net.md` §4):
//! requests, responses and announcements. Nothing may panic, and encoding
//! is unique (§4.11): whatever decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use setu_proto::message::{Announcement, Request, Response};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Request::decode(data) {
        assert_eq!(r.encode(), data, "a request re-encodes to itself");
    }
    if let Ok(r) = Response::decode(data) {
        assert_eq!(r.encode(), data, "a response re-encodes to itself");
    }
    if let Ok(a) = Announcement::decode(data) {
        assert_eq!(a.encode(), data, "an announcement re-encodes to itself");
    }
});
