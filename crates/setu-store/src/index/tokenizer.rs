//! Word segmentation for the languages of the South.
//!
//! tantivy's default tokenizer splits on anything that is not alphanumeric,
//! so it cuts Bangla words at the hasanta (U+09CD) and at vowel signs, and
//! cannot find them. This tokenizer uses Unicode word segmentation (UAX #29,
//! the `unicode-segmentation` crate), which keeps a word whole with its
//! combining marks and conjuncts (সেন্টার, ডিজিটাল, التحول). Lower-casing and,
//! where a stemmer exists for the language, stemming are added as filters
//! when the analyzers are built (see [`super::analyzers`]).

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use unicode_segmentation::UnicodeSegmentation;

/// Longest token kept, in bytes; longer "words" (base64, hashes) are dropped.
pub const MAX_TOKEN_BYTES: usize = 64;

/// Splits text into UAX #29 words (those with at least one letter or digit).
#[derive(Debug, Clone, Default)]
pub struct Uax29;

/// The token stream of [`Uax29`].
#[derive(Debug)]
pub struct Uax29Stream<'a> {
    words: unicode_segmentation::UnicodeWordIndices<'a>,
    token: Token,
}

impl Tokenizer for Uax29 {
    type TokenStream<'a> = Uax29Stream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Uax29Stream<'a> {
        Uax29Stream {
            words: text.unicode_word_indices(),
            token: Token {
                position: usize::MAX,
                ..Token::default()
            },
        }
    }
}

impl TokenStream for Uax29Stream<'_> {
    fn advance(&mut self) -> bool {
        for (offset, word) in self.words.by_ref() {
            if word.len() > MAX_TOKEN_BYTES {
                continue;
            }
            self.token.text.clear();
            self.token.text.push_str(word);
            self.token.offset_from = offset;
            self.token.offset_to = offset + word.len();
            self.token.position = self.token.position.wrapping_add(1);
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let mut t = Uax29;
        let mut s = t.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            out.push(s.token().text.clone());
        }
        out
    }

    #[test]
    fn bangla_conjuncts_stay_whole() {
        assert_eq!(words("ইউনিয়ন ডিজিটাল সেন্টার"), ["ইউনিয়ন", "ডিজিটাল", "সেন্টার"]);
    }

    #[test]
    fn arabic_and_latin() {
        assert_eq!(
            words("مراكز الخدمات الرقمية"),
            ["مراكز", "الخدمات", "الرقمية"]
        );
        assert_eq!(
            words("Centros de atención, ¡rápido!"),
            ["Centros", "de", "atención", "rápido"]
        );
    }
}
