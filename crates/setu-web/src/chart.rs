//! The TCV chart (`spec/record.md` §6.6): for each time, cost or visits
//! metric, its value before and after as two bars, in an inline SVG. No
//! script and no `style` attribute (the Content-Security-Policy forbids
//! inline styles): the colours come from the stylesheet's classes.
//!
//! Raw values are drawn as published, in their unit. A metric published
//! only as a change (`change_bp`) is drawn as an index: before = 100,
//! after = 100 plus the change.

use maud::{Markup, html};
use setu_core::practice::Metric;

use crate::fmt;

/// The chart's width in SVG units (it scales to its box).
pub const WIDTH: u32 = 380;
/// Most metrics drawn in one chart (a body may hold 64; the table beside
/// the chart lists them all).
pub const MAX_METRICS_DRAWN: usize = 12;
/// Width of the "Before"/"After" labels.
const LABEL_W: u32 = 52;
/// Width kept right of the longest bar for its value.
const VALUE_W: u32 = 130;
/// Height of a bar.
const BAR_H: u32 = 18;
/// Space between the two bars of a metric.
const BAR_GAP: u32 = 4;
/// Height of a metric's heading line.
const HEAD_H: u32 = 22;
/// Space after each metric.
const GROUP_GAP: u32 = 14;
/// The index a change-only metric starts from.
const INDEX_BASE: f64 = 100.0;

/// One metric, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    /// `Time: −78.1 %`.
    pub heading: String,
    /// How it was measured: `digital, survey, n = 120`.
    pub how: String,
    /// The value before.
    pub before: f64,
    /// The value after.
    pub after: f64,
    /// The value before, as text with its unit.
    pub before_text: String,
    /// The value after, as text with its unit.
    pub after_text: String,
    /// True when drawn as an index from a published change.
    pub index: bool,
}

/// A metric kind for a person.
pub fn kind_name(kind: &str) -> String {
    match kind {
        "time" => "Time".into(),
        "cost" => "Cost".into(),
        "visits" => "Visits".into(),
        other => fmt::word(other),
    }
}

/// A raw value with its unit.
fn with_unit(v: u64, m: &Metric) -> String {
    match m.unit.as_deref() {
        Some("minutes") => format!("{}\u{a0}min", fmt::thousands(v)),
        Some("days") => format!("{}\u{a0}days", fmt::thousands(v)),
        Some("minor_currency") => fmt::money(v, m.currency.as_deref().unwrap_or("")),
        Some("count") => fmt::thousands(v),
        Some(u) => format!("{} {u}", fmt::thousands(v)),
        None => fmt::thousands(v),
    }
}

/// What a metric draws as.
pub fn bars(m: &Metric) -> Bars {
    let change = m
        .change_bp()
        .map_or_else(|| "no change computed".to_string(), fmt::percent);
    let mut how = vec![fmt::word(&m.stage), fmt::word(&m.method).to_lowercase()];
    if let Some(n) = m.sample_n {
        how.push(format!("n\u{a0}=\u{a0}{}", fmt::thousands(n)));
    }
    if let Some(y) = m.price_year {
        how.push(format!("{y} prices"));
    }
    let heading = format!("{}: {change}", kind_name(&m.kind));
    match (m.baseline, m.after) {
        (Some(b), Some(a)) => Bars {
            heading,
            how: how.join(", "),
            before: b as f64,
            after: a as f64,
            before_text: with_unit(b, m),
            after_text: with_unit(a, m),
            index: false,
        },
        _ => {
            let bp = m.change_bp().unwrap_or(0);
            let after = (INDEX_BASE + bp as f64 / 100.0).max(0.0);
            Bars {
                heading,
                how: how.join(", "),
                before: INDEX_BASE,
                after,
                before_text: "100 (index)".into(),
                after_text: format!("{after:.1}"),
                index: true,
            }
        }
    }
}

/// The length of a bar for `v` when `max` fills `full`.
fn length(v: f64, max: f64, full: f64) -> f64 {
    if max <= 0.0 || v <= 0.0 {
        return 0.0;
    }
    (v / max * full).max(1.0)
}

/// The chart, or nothing when there are no metrics. `id` prefixes the ids
/// of its title and description (unique on the page).
pub fn tcv(metrics: &[Metric], id: &str) -> Markup {
    if metrics.is_empty() {
        return html! {};
    }
    let drawn: Vec<Bars> = metrics.iter().take(MAX_METRICS_DRAWN).map(bars).collect();
    let group_h = HEAD_H + 2 * BAR_H + BAR_GAP + GROUP_GAP;
    let height = group_h * drawn.len() as u32;
    let full = f64::from(WIDTH - LABEL_W - VALUE_W);
    let desc = drawn
        .iter()
        .map(|b| {
            format!(
                "{}; before {}, after {}.",
                b.heading, b.before_text, b.after_text
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    html! {
        svg class="tcv-chart" id=(id) xmlns="http://www.w3.org/2000/svg"
            viewBox=(format!("0 0 {WIDTH} {height}")) role="img"
            aria-labelledby=(format!("{title_id} {desc_id}")) {
            title id=(title_id) { "Time, cost and visits: before and after" }
            desc id=(desc_id) { (desc) }
            @for (i, b) in drawn.iter().enumerate() {
                @let y = group_h * i as u32;
                @let max = b.before.max(b.after);
                @let wb = length(b.before, max, full);
                @let wa = length(b.after, max, full);
                @let yb = y + HEAD_H;
                @let ya = yb + BAR_H + BAR_GAP;
                g class=(format!("tcv-metric tcv-{}", if b.after <= b.before { "down" } else { "up" })) {
                    text class="tcv-head" x="0" y=(y + 15) { (b.heading) }
                    text class="tcv-label" x="0" y=(yb + 14) { "Before" }
                    rect class="bar-before" x=(LABEL_W) y=(yb) width=(format!("{wb:.1}")) height=(BAR_H) rx="2" {}
                    text class="tcv-value" x=(format!("{:.1}", f64::from(LABEL_W) + wb + 6.0)) y=(yb + 14) { (b.before_text) }
                    text class="tcv-label" x="0" y=(ya + 14) { "After" }
                    rect class="bar-after" x=(LABEL_W) y=(ya) width=(format!("{wa:.1}")) height=(BAR_H) rx="2" {}
                    text class="tcv-value" x=(format!("{:.1}", f64::from(LABEL_W) + wa + 6.0)) y=(ya + 14) { (b.after_text) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A metric from `key=value` pairs (stage digital, method survey).
    fn metric(spec: &str) -> Metric {
        let mut m = Metric {
            kind: String::new(),
            stage: "digital".into(),
            method: "survey".into(),
            sample_n: None,
            source: None,
            baseline: None,
            after: None,
            unit: None,
            currency: None,
            price_year: None,
            change_bp: None,
        };
        for kv in spec.split(',') {
            let (k, v) = kv.split_once('=').expect("key=value");
            match k {
                "kind" => m.kind = v.into(),
                "baseline" => m.baseline = v.parse().ok(),
                "after" => m.after = v.parse().ok(),
                "unit" => m.unit = Some(v.into()),
                "currency" => m.currency = Some(v.into()),
                "price_year" => m.price_year = v.parse().ok(),
                "change_bp" => m.change_bp = v.parse().ok(),
                "sample_n" => m.sample_n = v.parse().ok(),
                other => panic!("unknown key {other}"),
            }
        }
        m
    }

    #[test]
    fn a_published_change_is_drawn_as_an_index() {
        let b = bars(&metric("kind=time,change_bp=-7814"));
        assert!(b.index);
        assert_eq!(b.before, 100.0);
        assert!((b.after - 21.86).abs() < 1e-9, "{}", b.after);
        assert_eq!(b.heading, "Time: \u{2212}78.1\u{a0}%");
    }

    #[test]
    fn raw_values_keep_their_unit() {
        let b = bars(&metric(
            "kind=cost,baseline=30000,after=4500,unit=minor_currency,currency=BDT,price_year=2019,sample_n=1200",
        ));
        assert!(!b.index);
        assert_eq!(b.before_text, "BDT\u{a0}300.00");
        assert_eq!(b.after_text, "BDT\u{a0}45.00");
        assert!(b.how.contains("2019 prices"), "{}", b.how);
        assert_eq!(b.heading, "Cost: \u{2212}85.0\u{a0}%");
        assert!(b.how.contains("n\u{a0}=\u{a0}1,200"), "{}", b.how);
    }

    #[test]
    fn the_svg_has_two_bars_per_metric_and_the_longer_fills_the_width() {
        let ms = vec![
            metric("kind=time,change_bp=-7814"),
            metric("kind=visits,baseline=3,after=1,unit=count"),
            metric("kind=cost,baseline=0,after=0,unit=minor_currency,currency=BDT,price_year=2020"),
        ];
        let svg = tcv(&ms, "tcv").into_string();
        assert_eq!(svg.matches("<rect").count(), 6, "{svg}");
        assert_eq!(svg.matches("class=\"bar-before\"").count(), 3);
        assert_eq!(svg.matches("class=\"bar-after\"").count(), 3);
        let full = format!("width=\"{:.1}\"", f64::from(WIDTH - LABEL_W - VALUE_W));
        assert!(svg.contains(&full), "{svg}");
        // Zero is drawn as no bar at all, not as a division by zero.
        assert!(svg.contains("width=\"0.0\""), "{svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=\"tcv-title\">"));
        assert!(svg.contains("\u{2212}78.1"));
        assert!(!svg.contains("style="), "no inline style under the CSP");
    }

    #[test]
    fn no_metrics_no_chart() {
        assert_eq!(tcv(&[], "tcv").into_string(), "");
    }

    #[test]
    fn draws_at_most_the_limit() {
        let ms: Vec<Metric> = (0..20)
            .map(|_| metric("kind=time,change_bp=-100"))
            .collect();
        let svg = tcv(&ms, "tcv").into_string();
        assert_eq!(svg.matches("<rect").count(), 2 * MAX_METRICS_DRAWN);
    }
}
