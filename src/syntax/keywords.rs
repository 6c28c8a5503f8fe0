//! The one list of reserved words and built-in names.
//!
//! Every editor grammar in `editors/` is tested against these lists
//! (`tests/editors.rs`), so adding a keyword here fails CI until every editor
//! knows it.

/// Reserved words: none of them can name a declaration, field or binder.
pub const KEYWORDS: &[&str] = &[
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
    "from",
    "rule",
    "when",
    "while",
    "then",
    "for",
    "in",
    "where",
    "priority",
    "after",
    "at",
    "emit",
    "default",
    "stop",
    "expect",
    "assert",
    "linear",
    "hold",
    "and",
    "or",
    "not",
    "true",
    "false",
    "self",
];

/// True if `word` is one of [`KEYWORDS`] (a `match`: faster than a search of the list).
pub fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "scenario"
            | "param"
            | "var"
            | "let"
            | "series"
            | "kind"
            | "entity"
            | "exposure"
            | "entities"
            | "exposures"
            | "from"
            | "rule"
            | "when"
            | "while"
            | "then"
            | "for"
            | "in"
            | "where"
            | "priority"
            | "after"
            | "at"
            | "emit"
            | "default"
            | "stop"
            | "expect"
            | "assert"
            | "linear"
            | "hold"
            | "and"
            | "or"
            | "not"
            | "true"
            | "false"
            | "self"
    )
}

/// Words with a meaning in one position only (`exposure a -> b = 1, recovery 40%`,
/// `after 2 steps`, `step = month`); elsewhere they are ordinary names.
pub const CONTEXTUAL_WORDS: &[&str] =
    &["recovery", "steps", "day", "week", "month", "quarter", "year", "start", "horizon"];

/// Built-in functions, including the aggregates.
pub const BUILTIN_FUNCTIONS: &[&str] = &[
    "min",
    "max",
    "abs",
    "clamp",
    "round",
    "floor",
    "ceil",
    "sum",
    "count",
    "any",
    "all",
    "mean",
    "exposures_of",
    "exposures_to",
    "exposure_losses",
];

/// Built-in names that read the state of the run or of an entity.
pub const BUILTIN_NAMES: &[&str] = &["step", "date", "defaulted", "defaulted_at"];

#[cfg(test)]
mod tests {
    #[test]
    fn is_keyword_matches_the_list() {
        for word in super::KEYWORDS {
            assert!(super::is_keyword(word), "{word}");
        }
        for word in ["", "b0", "lets", "le", "recovery", "steps", "Self", "entity_", "exposures_of"] {
            assert!(!super::is_keyword(word), "{word}");
        }
    }
}
