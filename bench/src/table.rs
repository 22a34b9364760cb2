//! Plain-text tables and small statistics helpers.

use std::time::Duration;

/// Prints a Markdown table (so it can be pasted into BENCHMARKS.md).
pub fn print(title: &str, header: &[&str], rows: &[Vec<String>]) {
    println!("\n### {title}\n");
    println!("| {} |", header.join(" | "));
    println!("|{}", " --- |".repeat(header.len()));
    for r in rows {
        println!("| {} |", r.join(" | "));
    }
}

/// Records per second.
pub fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// Formats a rate with thousands separators.
pub fn per_sec(r: f64) -> String {
    let n = r.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The p-th percentile (0..=100) of sorted durations, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], percent: u8) -> f64 {
    assert!(percent <= 100, "a percentile is 0 to 100, not {percent}");
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((f64::from(percent) / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1_000.0
}

/// Bytes used by the files under `dir`.
pub use setu_store::replica::dir_size as dir_bytes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_a_whole_percent() {
        let d: Vec<Duration> = (1..=101).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&d, 0), 1.0);
        assert_eq!(percentile_ms(&d, 50), 51.0);
        assert_eq!(percentile_ms(&d, 99), 100.0);
        assert_eq!(percentile_ms(&d, 100), 101.0);
        assert_eq!(percentile_ms(&[], 50), 0.0);
    }
}
