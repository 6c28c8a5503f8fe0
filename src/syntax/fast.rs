//! A hand-written fast path for the two declarations that make up large
//! generated scripts:
//!
//! ```text
//! entity NAME: Kind { field = LITERAL, ... }
//! exposure CREDITOR -> DEBTOR = LITERAL[, recovery LITERAL]
//! ```
//!
//! where every LITERAL is a number (`3`, `1_000`, `$1.50`, `45%`, `1.5bn`).
//! Pest spends tens of thousands of instructions on such a line (a literal goes
//! through `expr`, `operand`, `primary`, the operator look-ahead ...); this reads it
//! directly. It gives exactly the item, the spans and the end position that the
//! pest path gives, or `None`, and then the caller parses the item with pest as
//! before. It says `None` whenever anything is unusual: a keyword where a name is
//! expected, a literal that is not a plain number or is followed by anything that
//! could continue an expression, a byte-order mark in the whitespace, any syntax
//! error. So diagnostics always come from pest. The unit tests below compare the
//! two paths on generated input.

use super::ast::*;
use super::build::parse_number;
use super::keywords::is_keyword;
use crate::source::Span;

/// An item read by the fast path.
pub(super) struct FastItem {
    pub item: Item,
    /// Where pest's item would end (after the trivia that follows an optional
    /// part that is absent), as an offset in `text`.
    pub end: usize,
    /// Where the item's last token ends, as an offset in `text`.
    pub token_end: usize,
}

/// Reads an `entity` or `exposure` item at the start of `text[from..]` (after
/// whitespace and comments). Spans in the item are `base` + offsets in `text`.
pub(super) fn item(text: &str, from: usize, base: usize) -> Option<FastItem> {
    let mut p = Reader { text, b: text.as_bytes(), i: from, base };
    p.skip()?;
    let start = p.i;
    match p.word()? {
        "exposure" => p.exposure(start),
        "entity" => p.entity(start),
        _ => None,
    }
}

struct Reader<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    base: usize,
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.base + start, self.base + end)
    }

    /// Whitespace and comments, as pest's implicit `WHITESPACE` and `COMMENT`.
    /// `None` for a byte-order mark (the span trimming of the pest path treats it
    /// differently from other whitespace: not worth copying).
    fn skip(&mut self) -> Option<()> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.i += 1,
                b'#' => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.i += 1;
                    }
                }
                0xEF => return None,
                _ => break,
            }
        }
        Some(())
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`
    fn word(&mut self) -> Option<&'a str> {
        let start = self.i;
        if !self.peek().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_') {
            return None;
        }
        while self.peek().is_some_and(is_ident_char) {
            self.i += 1;
        }
        // Only ASCII bytes were taken: both ends are character boundaries.
        self.text.get(start..self.i)
    }

    /// A name that is not a keyword.
    fn ident(&mut self) -> Option<Ident> {
        let start = self.i;
        let name = self.word()?;
        if is_keyword(name) {
            return None;
        }
        Some(Ident { name: name.to_string(), span: self.span(start, self.i) })
    }

    fn punct(&mut self, token: &[u8]) -> Option<()> {
        self.skip()?;
        if self.b[self.i..].starts_with(token) {
            self.i += token.len();
            Some(())
        } else {
            None
        }
    }

    /// A number literal as the grammar's `number`, built as the pest path builds it.
    fn number(&mut self) -> Option<Expr> {
        let start = self.i;
        if self.peek() == Some(b'$') {
            self.i += 1;
        }
        self.digits()?;
        if self.peek() == Some(b'.') && self.b.get(self.i + 1).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
            self.digits()?;
        }
        let rest = &self.b[self.i..];
        let ends_word = |n: usize| !rest.get(n).copied().is_some_and(is_ident_char);
        if rest.first() == Some(&b'%') {
            self.i += 1;
        } else if (rest.starts_with(b"bn") || rest.starts_with(b"tn")) && ends_word(2) {
            self.i += 2;
        } else if matches!(rest.first(), Some(b'k' | b'm')) && ends_word(1) {
            self.i += 1;
        }
        if self.peek().is_some_and(is_ident_char) {
            return None;
        }
        let literal = self.text.get(start..self.i)?;
        let span = self.span(start, self.i);
        let value = parse_number(literal, span).ok()?;
        Some(Expr { kind: ExprKind::Number(value), span })
    }

    /// `ASCII_DIGIT ~ (ASCII_DIGIT | "_")*`
    fn digits(&mut self) -> Option<()> {
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return None;
        }
        while self.peek().is_some_and(|b| b.is_ascii_digit() || b == b'_') {
            self.i += 1;
        }
        Some(())
    }

    /// After a literal and the trivia after it: true if the next token could
    /// not continue the expression (the literal is the whole expression). Only a
    /// name (not `and`/`or`) or the end of the input qualify; the caller checks
    /// for its own punctuation (`,` `}`) first.
    fn at_item_boundary(&self) -> bool {
        let Some(b) = self.peek() else { return true };
        if !(b.is_ascii_alphabetic() || b == b'_') {
            return false;
        }
        let mut end = self.i;
        while self.b.get(end).copied().is_some_and(is_ident_char) {
            end += 1;
        }
        !matches!(&self.b[self.i..end], b"and" | b"or")
    }

    /// `exposure` has been read; `start` is where it starts.
    fn exposure(mut self, start: usize) -> Option<FastItem> {
        self.skip()?;
        let creditor = self.ident()?;
        self.punct(b"->")?;
        self.skip()?;
        let debtor = self.ident()?;
        self.punct(b"=")?;
        self.skip()?;
        let amount = self.number()?;
        let mut token_end = self.i;
        self.skip()?;
        let mut recovery = None;
        if self.peek() == Some(b',') {
            self.i += 1;
            self.skip()?;
            if self.word()? != "recovery" {
                return None;
            }
            self.skip()?;
            recovery = Some(self.number()?);
            token_end = self.i;
            self.skip()?;
        }
        if !self.at_item_boundary() {
            return None;
        }
        let span = self.span(start, token_end);
        let item = Item::Exposure(Exposure { creditor, debtor, amount, recovery, fields: None, span });
        Some(FastItem { item, end: self.i, token_end })
    }

    /// `entity` has been read; `start` is where it starts.
    fn entity(mut self, start: usize) -> Option<FastItem> {
        self.skip()?;
        let name = self.ident()?;
        self.punct(b":")?;
        self.skip()?;
        let kind = self.ident()?;
        let mut token_end = self.i;
        self.skip()?;
        let mut fields = Vec::new();
        if self.peek() == Some(b'{') {
            self.i += 1;
            loop {
                self.skip()?;
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    break;
                }
                let name = self.ident()?;
                self.punct(b"=")?;
                // `==` is not an assignment.
                if self.peek() == Some(b'=') {
                    return None;
                }
                self.skip()?;
                let value = self.number()?;
                fields.push(FieldInit { name, value });
                self.skip()?;
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b'}') => {}
                    _ if self.at_item_boundary() && self.peek().is_some() => {}
                    _ => return None,
                }
            }
            token_end = self.i;
            fields.shrink_to_fit();
        } else if !self.at_item_boundary() {
            return None;
        }
        let span = self.span(start, token_end);
        let end = self.i;
        Some(FastItem { item: Item::Entity(Entity { name, kind, fields, span }), end, token_end })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{SyntaxLimits, parse_items};
    use crate::source::SourceFile;

    /// Parses `text` with and without the fast path: the items, their spans and
    /// the problems must be the same.
    fn same(text: &str) {
        let source = SourceFile::new("test", text);
        let fast = parse_items(&source, SyntaxLimits::default(), true);
        let pest = parse_items(&source, SyntaxLimits::default(), false);
        assert_eq!(format!("{fast:#?}"), format!("{pest:#?}"), "input: {text:?}");
    }

    fn read(text: &str) -> bool {
        super::item(text, 0, 0).is_some()
    }

    #[test]
    fn generated_lines_take_the_fast_path() {
        assert!(read("exposure b0 -> b588 = 900k, recovery 30%\n"));
        assert!(read("entity b0: Bank { capital = 13083k }\n"));
        assert!(read("  # comment\n entity l0: Lessor { units = 26000, debt = 1612000, max_ltv = 79% }"));
        assert!(read("entity x: K\nentity y: K"));
        assert!(read("entity x: K"));
        assert!(read("exposure a -> b = $1.50"));
        for text in [
            "exposure a -> b = 1 + 2",
            "exposure a -> let = 1",
            "entity x: K { a = 1 and 2 }",
            "entity x: K { a = -1 }",
            "entity x: K { a = 2026-01 }",
            "exposure a -> b = 1, recovery 2\n + 3",
            "entity x: K (",
        ] {
            assert!(!read(text), "{text:?}");
            same(text);
        }
    }

    #[test]
    fn edge_cases_agree() {
        for text in [
            "exposure a -> b = 1\n\n# trailing\n",
            "exposure a -> b = 1 # note\nexposure b -> a = 2, recovery 5% # x\n",
            "entity x: K {}\nentity y: K { a = 1, }\nentity z : K{a=1 b=2}",
            "entity x: K\n{ a = 1 }",
            "exposure a -> b = 99999999999999999999999999999999",
            "exposure a -> b = 1,recovery2",
            "exposure a -> b = 1 exposure",
            "exposure a -> b = 1 x = 2",
            "entity x: K { a = 1 }.y",
            "exposure a -> b = 1\u{FEFF}",
            "entity x: K { a = 1 } }",
            "exposure a -> b = 1.",
            "exposure a -> b = 1 order",
        ] {
            same(text);
        }
    }

    fn pick(items: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
        prop::sample::select(items)
    }

    /// Mostly what generated scripts hold, with odd cases mixed in.
    fn usual_or(
        usual: &'static [&'static str],
        odd: &'static [&'static str],
    ) -> impl Strategy<Value = &'static str> {
        prop_oneof![4 => pick(usual), 1 => pick(odd)]
    }

    fn trivia() -> impl Strategy<Value = &'static str> {
        usual_or(
            &[" ", " ", "", "\n"],
            &["", " ", " ", " ", "  ", "\t", "\n", "\r\n", " # c\n", "#x\n", "\n\n", "\u{FEFF}", " #\"q\n"],
        )
    }

    fn name() -> impl Strategy<Value = &'static str> {
        usual_or(
            &["b0", "b588", "capital", "x_1", "_x", "B9"],
            &[
                "b0", "b0", "b588", "capital", "_x", "B9", "recovery", "steps", "let", "and", "or", "entity",
                "exposure", "\u{e9}", "9a", "x_1", "self",
            ],
        )
    }

    fn number() -> impl Strategy<Value = &'static str> {
        usual_or(
            &["1", "900k", "30%", "1_000", "$1.50", "1.5bn", "2tn", "3m", "0.25"],
            &[
                "1",
                "900k",
                "900k",
                "30%",
                "1_000",
                "$1.50",
                "45%",
                "1.5bn",
                "2tn",
                "3m",
                "0",
                "1.",
                "1.5.3",
                "2026-01",
                "2026-01-31",
                "2026",
                "5kx",
                "5b",
                "5km",
                "-1",
                "1e5",
                "99999999999999999999999999999",
                "79228162514264337593543950335",
                "0.0000000000000000000000000001",
                "(1)",
                "true",
                "x",
                "1 + 2",
                "1 and x",
                "1 or",
                "1.x",
                "5%%",
                "$",
                "1__0",
                "1_.5",
                "\"s\"",
                "1 == 2",
                "1 - 2",
                "1 ->",
            ],
        )
    }

    fn follow() -> impl Strategy<Value = &'static str> {
        usual_or(
            &["", "\n", "\nentity z: K", "\nexposure a -> b = 1"],
            &[
                "",
                "\n",
                "\n",
                "\nentity z: K",
                "\nexposure a -> b = 1",
                "\nparam p = 1",
                " + 1",
                " * 2",
                ".x",
                "\n  and y",
                "\"s\"",
                " 5",
                ",",
                "\nrule r: when 1 > 0 then stop",
                " }",
                "{",
                " = 2",
                "\n# end",
            ],
        )
    }

    fn exposure() -> impl Strategy<Value = String> {
        let recovery = prop_oneof![
            Just(String::new()),
            (trivia(), trivia(), trivia(), number())
                .prop_map(|(a, b, c, n)| format!("{a},{b}recovery{c}{n}")),
            (trivia(), pick(&["recoveryx 1", "x 1", "recovery", ",recovery 1"]))
                .prop_map(|(a, r)| format!("{a},{r}")),
        ];
        (
            (trivia(), name(), trivia(), pick(&["->", "->", "- >", "=>", ""]), trivia(), name()),
            (trivia(), pick(&["=", "=", "==", "", "= ="]), trivia(), number(), recovery, follow()),
        )
            .prop_map(|((t1, c, t2, arrow, t3, d), (t4, eq, t5, amount, recovery, follow))| {
                format!("exposure{t1}{c}{t2}{arrow}{t3}{d}{t4}{eq}{t5}{amount}{recovery}{follow}")
            })
    }

    fn field() -> impl Strategy<Value = String> {
        (
            trivia(),
            name(),
            trivia(),
            pick(&["=", "=", "==", ""]),
            trivia(),
            number(),
            trivia(),
            pick(&[",", "", ",,", " ,"]),
        )
            .prop_map(|(t1, n, t2, eq, t3, v, t4, sep)| format!("{t1}{n}{t2}{eq}{t3}{v}{t4}{sep}"))
    }

    fn entity() -> impl Strategy<Value = String> {
        let block = prop_oneof![
            Just(String::new()),
            (trivia(), prop::collection::vec(field(), 0..4), trivia(), pick(&["}", "}", ""]))
                .prop_map(|(t, fields, t2, close)| format!("{t}{{{}{t2}{close}", fields.concat())),
        ];
        (trivia(), name(), trivia(), pick(&[":", ":", "", "::"]), trivia(), name(), block, follow()).prop_map(
            |(t1, n, t2, colon, t3, k, block, follow)| {
                format!("entity{t1}{n}{t2}{colon}{t3}{k}{block}{follow}")
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        #[test]
        fn fast_path_agrees_with_pest(
            lead in pick(&["", "\n", "# c\n", "param p = 1\n", "kind K { a = 0 }\n"]),
            items in prop::collection::vec(prop_oneof![exposure(), entity()], 1..4),
        ) {
            let mut text = String::from(lead);
            for item in items {
                text.push_str(&item);
                text.push('\n');
            }
            same(&text);
        }
    }
}
