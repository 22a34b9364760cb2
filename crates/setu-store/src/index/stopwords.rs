//! Words dropped from a ranked any-word query: they occur in nearly every
//! practice and would match everything. tantivy's lists cover English,
//! Spanish, French and Portuguese; the short lists here cover the other
//! languages of the catalogue that separate words by spaces.

use tantivy::tokenizer::{Language, LowerCaser, StopWordFilter, TextAnalyzer};

use super::tokenizer::Uax29;

/// English words beyond Lucene's short list that a ministry's sentence
/// is full of ("our people have to ...").
const ENGLISH: &[&str] = &[
    "our", "we", "us", "you", "your", "its", "has", "have", "had", "do", "does", "did", "can",
    "could", "would", "should", "must", "may", "many", "much", "very", "too", "also", "so", "from",
    "than", "more", "most", "some", "all", "any", "each", "other", "only", "own", "same", "just",
    "how", "what", "when", "where", "which", "who", "why", "because", "about", "over", "after",
    "before", "still", "even", "often", "get", "gets", "need", "needs", "want", "been", "being",
    "were", "them", "he", "she", "his", "her", "one", "two", "up", "out", "new",
];
/// Swahili function words.
const SWAHILI: &[&str] = &[
    "na", "ya", "wa", "za", "la", "kwa", "katika", "ni", "cha", "vya", "kama", "hii", "hiyo",
    "huu", "hizi", "kuwa", "pia", "au", "lakini", "sana", "bila", "kila", "zetu", "wetu", "yetu",
    "letu", "kwenye", "hadi", "tena", "sisi", "wao", "yake", "zao", "kuna", "kutoka",
];
/// Indonesian function words.
const INDONESIAN: &[&str] = &[
    "dan", "yang", "di", "ke", "dari", "untuk", "dengan", "ini", "itu", "atau", "pada", "kami",
    "kita", "mereka", "tidak", "ada", "adalah", "dalam", "oleh", "akan", "juga", "sudah", "lebih",
];
/// Bangla function words.
const BANGLA: &[&str] = &[
    "এবং",
    "ও",
    "এ",
    "এই",
    "সেই",
    "আমাদের",
    "আমরা",
    "তার",
    "যে",
    "জন্য",
    "থেকে",
    "করে",
    "হয়",
    "না",
    "একটি",
    "কিন্তু",
    "বা",
    "সঙ্গে",
    "সাথে",
    "হচ্ছে",
    "করা",
    "হয়ে",
    "আছে",
    "নেই",
];

/// The analyzer that splits a query into the words that matter.
pub fn query_analyzer() -> TextAnalyzer {
    let extra: Vec<String> = ENGLISH
        .iter()
        .chain(SWAHILI)
        .chain(INDONESIAN)
        .chain(BANGLA)
        .map(|w| w.to_string())
        .collect();
    let mut b = TextAnalyzer::builder(Uax29)
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(extra))
        .dynamic();
    for lang in [
        Language::English,
        Language::Spanish,
        Language::French,
        Language::Portuguese,
    ] {
        if let Some(f) = StopWordFilter::new(lang) {
            b = b.filter_dynamic(f);
        }
    }
    b.build()
}
