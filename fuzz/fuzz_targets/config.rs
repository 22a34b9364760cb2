//! Feeds arbitrary bytes to the config loader's parser,
//! `setu_config::Config::parse` (what `setu` does with `setu.toml` after
//! reading it): as UTF-8 when they are, and as lossy UTF-8. Nothing may
//! panic, and a configuration that is accepted, written back out with toml
//! and parsed again, must be the same configuration.
#![no_main]

use libfuzzer_sys::fuzz_target;
use setu_config::Config;

fn check(text: &str) {
    let cfg = match Config::parse(text) {
        Ok(cfg) => cfg,
        Err(e) => {
            // The message is shown to the operator: making it must not panic.
            let _ = e.to_string();
            return;
        }
    };
    let again = toml::to_string(&cfg).expect("an accepted configuration writes out");
    if again.len() as u64 > setu_config::MAX_FILE_BYTES {
        // Escapes can make it longer than the file it came from.
        return;
    }
    let reparsed = Config::parse(&again)
        .unwrap_or_else(|e| panic!("written back out, it is refused: {e}\n{again}"));
    assert_eq!(reparsed, cfg, "written back out:\n{again}");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    } else {
        check(&String::from_utf8_lossy(data));
    }
});
