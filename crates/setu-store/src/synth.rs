//! A deterministic generator of synthetic practice bodies, for tests and
//! benchmarks: the same `(seed, index)` always gives the same body, valid
//! under `spec/record.md` §6, about 1.5–2.5 KiB once signed.

use serde_json::{Value, json};

/// SplitMix64: tiny, fast, and the same on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for this seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// One item of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const COUNTRIES: &[&str] = &[
    "BGD", "IND", "NPL", "LKA", "PAK", "BTN", "IDN", "PHL", "VNM", "KEN", "RWA", "TZA", "UGA",
    "GHA", "NGA", "SEN", "ETH", "ZAF", "MAR", "TUN", "EGY", "BRA", "MEX", "COL", "PER", "CHL",
    "URY", "ARG", "BOL", "ECU",
];
const TARGETS: &[&str] = &[
    "16.6", "16.7", "16.9", "16.10", "1.3", "1.4", "3.8", "4.4", "5.b", "8.10", "9.c", "10.2",
    "11.3", "17.8", "17.9",
];
const DAC: &[&str] = &[
    "15110", "15111", "15112", "15113", "15125", "16010", "22040",
];
const COFOG: &[&str] = &["01.1", "01.3", "03.1", "07.2", "09.1", "10.9"];
const EN: &[&str] = &[
    "citizens",
    "service",
    "digital",
    "centre",
    "village",
    "office",
    "application",
    "certificate",
    "land",
    "record",
    "online",
    "payment",
    "mobile",
    "health",
    "school",
    "permit",
    "registration",
    "grievance",
    "portal",
    "one-stop",
    "process",
    "simplification",
    "visits",
    "time",
    "cost",
    "reduced",
    "local",
    "government",
    "union",
    "district",
    "agents",
    "queue",
    "farmers",
    "pension",
    "identity",
    "birth",
    "women",
    "youth",
    "rural",
    "access",
];
const ES: &[&str] = &[
    "ciudadanos",
    "servicio",
    "trámite",
    "ventanilla",
    "única",
    "digital",
    "municipio",
    "atención",
    "registro",
    "pago",
];
const BN: &[&str] = &[
    "নাগরিক",
    "সেবা",
    "ডিজিটাল",
    "সেন্টার",
    "ইউনিয়ন",
    "আবেদন",
    "সনদ",
    "ভূমি",
    "অনলাইন",
    "সময়",
];
const SW: &[&str] = &[
    "huduma", "wananchi", "kituo", "maombi", "malipo", "usajili", "serikali", "haraka",
];

fn sentence(rng: &mut Rng, words: &[&str], n: u64) -> String {
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        let w: &str = rng.pick::<&str>(words);
        s.push_str(w);
    }
    s
}

/// Body number `index` of the synthetic catalogue `seed`.
pub fn body(seed: u64, index: u64) -> Value {
    let mut rng = Rng::new(seed.wrapping_mul(0x1000_0000_01b3) ^ index);
    let country = *rng.pick(COUNTRIES);
    let (lang, words): (&str, &[&str]) = match rng.below(4) {
        0 => ("es", ES),
        1 => ("bn", BN),
        2 => ("sw", SW),
        _ => ("en", EN),
    };
    let lt = |rng: &mut Rng, n: u64| {
        let mut text = serde_json::Map::new();
        text.insert("en".into(), json!(sentence(rng, EN, n)));
        if lang != "en" {
            text.insert(lang.into(), json!(sentence(rng, words, n)));
        }
        json!({"original": lang, "text": text})
    };
    let mut countries = vec![json!({"iso3": country, "role": "originating"})];
    for _ in 0..rng.below(3) {
        let c = *rng.pick(COUNTRIES);
        if c != country && !countries.iter().any(|x| x["iso3"] == c) {
            countries.push(json!({"iso3": c, "role": *rng.pick(&["adopting", "partner"])}));
        }
    }
    let mut targets: Vec<&str> = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let t = *rng.pick(TARGETS);
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    let start_year = 2000 + rng.below(25);
    let mut b = json!({
        "practice_id": format!("{country}-SYN{seed}-{index:07}"),
        "revision": 1,
        "state": "active",
        "title": lt(&mut rng, 6),
        "summary": lt(&mut rng, 40),
        "challenge": lt(&mut rng, 30),
        "solution": lt(&mut rng, 40),
        "countries": countries,
        "sdg_targets": targets,
        "status": 1 + rng.below(6),
        "period": {"start": format!("{start_year}-{:02}", 1 + rng.below(12))},
        "gov_level": *rng.pick(&["national", "subnational", "local"]),
        "keywords": [rng.pick(EN), "synthetic"],
    });
    if rng.below(2) == 0 {
        b["sectors"] = json!([{"vocabulary": "dac5", "code": rng.pick(DAC)}]);
    } else {
        b["sectors"] = json!([{"vocabulary": "cofog", "code": rng.pick(COFOG)}]);
    }
    if rng.below(3) == 0 {
        b["metrics"] = json!([{"kind": "time", "stage": "digital", "method": "survey",
                               "change_bp": -(rng.below(9_000) as i64)}]);
    }
    if rng.below(4) == 0 {
        b["period"]["end"] = json!(format!("{}", start_year + 1 + rng.below(5)));
    }
    b
}

/// Bodies `0..count` of catalogue `seed`.
pub fn bodies(seed: u64, count: u64) -> impl Iterator<Item = Value> {
    (0..count).map(move |i| body(seed, i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use setu_core::practice::{Practice, validate};

    #[test]
    fn deterministic_and_valid() {
        assert_eq!(body(1, 5), body(1, 5));
        assert_ne!(body(1, 5), body(1, 6));
        for b in bodies(42, 300) {
            let mut p: Practice = serde_json::from_value(b).unwrap();
            p.fill_defaults();
            assert_eq!(validate(&p), vec![], "{}", p.practice_id);
        }
    }
}
