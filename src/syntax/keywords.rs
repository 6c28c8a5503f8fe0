//! The one table of reserved words, and the lists derived from it.
//!
//! Each [`Word`] has a [`WordClass`]; from the table come [`KEYWORDS`], the
//! words that start an item ([`ITEM_STARTERS`]: where the parser resumes after
//! an error, and what makes REPL input a declaration), the words of "expected
//! ..." messages ([`WordClass::expected`]), and the REPL's completion and
//! highlighting. Every editor grammar in `editors/` is tested against these
//! lists (`tests/editors.rs`), so adding a word here fails CI until every
//! editor knows it; the pest grammar's `keyword` rule is tested the same way.
//!
//! Built-in function names come from the table in `crate::builtins`.

/// What a reserved word does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordClass {
    /// Starts an item that declares the name after it: `param x = 1`.
    Declaration,
    /// Starts an item that declares no name: `scenario`, `exposure`,
    /// `entities`, `exposures`, `rule`, `expect`, `assert`.
    Item,
    /// Starts a rule, and is also a clause inside items: `when`, `while`, `at`, `for`.
    RuleStart,
    /// A clause inside an item: `then`, `in`, `where`, `priority`, `from`.
    Clause,
    /// How a series is interpolated: `linear`, `hold`.
    Interpolation,
    /// Starts an effect: `after`, `default`, `emit`, `stop`.
    Effect,
    /// An operator between two expressions: `and`, `or`.
    Operator,
    /// An operator before an expression: `not`.
    Prefix,
    /// A value: `true`, `false`, `self`.
    Literal,
}

impl WordClass {
    /// True if a word of this class starts a top-level item.
    pub const fn starts_item(self) -> bool {
        matches!(self, WordClass::Declaration | WordClass::Item | WordClass::RuleStart)
    }

    /// How "expected ..." messages name a word of this class: the word itself
    /// (`` `then` ``), its group ("an effect"), or nothing (`None`: the message
    /// names what the word starts, such as "an expression").
    pub fn expected(self, word: &str) -> Option<String> {
        Some(match self {
            WordClass::Declaration | WordClass::Item => String::from("a declaration or rule"),
            WordClass::RuleStart | WordClass::Clause => format!("`{word}`"),
            WordClass::Interpolation => String::from("`linear` or `hold`"),
            WordClass::Effect => String::from("an effect"),
            WordClass::Operator => String::from("an operator"),
            WordClass::Prefix | WordClass::Literal => return None,
        })
    }
}

/// A reserved word: none of them can name a declaration, field or binder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word {
    /// The word.
    pub text: &'static str,
    /// What it does.
    pub class: WordClass,
}

const fn word(text: &'static str, class: WordClass) -> Word {
    Word { text, class }
}

/// Every reserved word.
pub const WORDS: &[Word] = {
    use WordClass::*;
    &[
        word("scenario", Item),
        word("param", Declaration),
        word("var", Declaration),
        word("let", Declaration),
        word("series", Declaration),
        word("kind", Declaration),
        word("entity", Declaration),
        word("exposure", Item),
        word("entities", Item),
        word("exposures", Item),
        word("from", Clause),
        word("rule", Item),
        word("when", RuleStart),
        word("while", RuleStart),
        word("then", Clause),
        word("for", RuleStart),
        word("in", Clause),
        word("where", Clause),
        word("priority", Clause),
        word("after", Effect),
        word("at", RuleStart),
        word("emit", Effect),
        word("default", Effect),
        word("stop", Effect),
        word("expect", Item),
        word("assert", Item),
        word("linear", Interpolation),
        word("hold", Interpolation),
        word("and", Operator),
        word("or", Operator),
        word("not", Prefix),
        word("true", Literal),
        word("false", Literal),
        word("self", Literal),
        // `if COND then A else B`: `if` starts an expression, `else` is a clause of it.
        word("if", Prefix),
        word("else", Clause),
        // `clearing Bank eisenberg_noe { ... }`, `debtrank Bank`: the standard models.
        word("clearing", Item),
        word("debtrank", Item),
        // `for f: Fund together when ...`: every instance acts on the state before the rule.
        word("together", Clause),
        // `solve p from pbar = ...` in a kind: fields solved together as simultaneous equations.
        word("solve", Clause),
    ]
};

/// The text of every reserved word, in table order.
pub const KEYWORDS: &[&str] = &{
    let mut texts = [""; WORDS.len()];
    let mut i = 0;
    while i < WORDS.len() {
        texts[i] = WORDS[i].text;
        i += 1;
    }
    texts
};

const STARTER_COUNT: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < WORDS.len() {
        if WORDS[i].class.starts_item() {
            n += 1;
        }
        i += 1;
    }
    n
};

/// The words that start a top-level item, in table order.
pub const ITEM_STARTERS: &[&str] = &{
    let mut texts = [""; STARTER_COUNT];
    let (mut i, mut n) = (0, 0);
    while i < WORDS.len() {
        if WORDS[i].class.starts_item() {
            texts[n] = WORDS[i].text;
            n += 1;
        }
        i += 1;
    }
    texts
};

/// The class of `word`, if it is reserved.
pub fn class_of(word: &str) -> Option<WordClass> {
    WORDS.iter().find(|w| w.text == word).map(|w| w.class)
}

/// True if `word` is one of [`KEYWORDS`]. Called for every name the fast path
/// reads, so it first rules out lengths no keyword has.
pub fn is_keyword(word: &str) -> bool {
    (SHORTEST..=LONGEST).contains(&word.len()) && KEYWORDS.contains(&word)
}

const SHORTEST: usize = {
    let mut n = usize::MAX;
    let mut i = 0;
    while i < WORDS.len() {
        if WORDS[i].text.len() < n {
            n = WORDS[i].text.len();
        }
        i += 1;
    }
    n
};

const LONGEST: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < WORDS.len() {
        if WORDS[i].text.len() > n {
            n = WORDS[i].text.len();
        }
        i += 1;
    }
    n
};

/// Words with a meaning in one position only (`exposure a -> b = 1, recovery 40%`,
/// `after 2 steps`, `step = month`); elsewhere they are ordinary names.
pub const CONTEXTUAL_WORDS: &[&str] = &[
    "recovery",
    "steps",
    "day",
    "week",
    "month",
    "quarter",
    "year",
    "start",
    "horizon",
    "eisenberg_noe",
    "rogers_veraart",
    "differential",
];

/// Built-in functions, including the aggregates: the names of
/// [`crate::builtins::BUILTINS`].
pub const BUILTIN_FUNCTIONS: &[&str] = &crate::builtins::NAMES;

/// Built-in names that read the state of the run or of an entity.
pub const BUILTIN_NAMES: &[&str] = &["step", "date", "defaulted", "defaulted_at"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_keyword_matches_the_table() {
        for word in KEYWORDS {
            assert!(is_keyword(word), "{word}");
        }
        for word in ["", "b0", "lets", "le", "recovery", "steps", "Self", "entity_", "exposures_of"] {
            assert!(!is_keyword(word), "{word}");
        }
    }

    #[test]
    fn words_are_unique_and_item_starters_come_from_their_class() {
        for (i, w) in WORDS.iter().enumerate() {
            assert!(!WORDS[..i].iter().any(|o| o.text == w.text), "{} twice", w.text);
        }
        let starters: Vec<&str> = WORDS.iter().filter(|w| w.class.starts_item()).map(|w| w.text).collect();
        assert_eq!(ITEM_STARTERS, starters.as_slice());
        assert_eq!(
            ITEM_STARTERS,
            [
                "scenario",
                "param",
                "var",
                "let",
                "series",
                "kind",
                "entity",
                "exposure",
                "entities",
                "exposures",
                "rule",
                "when",
                "while",
                "for",
                "at",
                "expect",
                "assert",
                "clearing",
                "debtrank"
            ]
        );
    }
}
