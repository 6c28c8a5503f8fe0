//! Syntax: script text → [`File`] (the untyped AST).
//!
//! This is the only module that sees pest. It parses one top-level item at a
//! time so that a syntax error in one item does not hide the errors in the
//! next: after an error it resumes at the next line that starts (in column 0)
//! with a declaration keyword. Pest's errors are converted here into
//! [`Problem`]s with byte spans and plain words (`describe_rule`).
//!
//! Before pest, each item is offered to the fast path (`fast.rs`), which reads
//! `entity` and `exposure` declarations with number literals by hand and gives
//! the same item pest would, or declines; large generated files are almost all
//! such lines.
//!
//! Naming: `parse_*` take text, `build_*` (in `build.rs`) turn pest pairs into
//! AST nodes.

mod ast;
mod build;
mod errors;
mod fast;

mod keywords;

use errors::{check_nesting, convert_error, token_at};

use pest::Parser;

pub use ast::*;
pub use keywords::{
    BUILTIN_FUNCTIONS, BUILTIN_NAMES, CONTEXTUAL_WORDS, ITEM_STARTERS, KEYWORDS, WORDS, Word, WordClass,
    class_of,
};

use crate::codes;
use crate::diagnostic::Problem;
use crate::source::{SourceFile, Span};

mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "grammar/cascade.pest"]
    pub struct CascadeParser;
}

use grammar::{CascadeParser, Rule};

/// Brackets (`( [ {`, including `{` of string interpolation) may nest this
/// deep by default.
pub const MAX_NESTING: usize = 64;

/// An expression tree may be this deep by default (a long chain `a + b + c + ...`
/// counts one level per operator).
pub const MAX_EXPR_DEPTH: usize = 512;

/// How deep a script may nest. An embedder lowers these for untrusted scripts
/// (`Engine::max_nesting`, `Engine::max_expression_depth`); raising them is
/// allowed up to [`NESTING_CEILING`] and [`EXPR_DEPTH_CEILING`], because the
/// parser recurses on the native stack once per bracket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntaxLimits {
    /// How deep brackets may nest (default [`MAX_NESTING`]).
    pub max_nesting: usize,
    /// How deep an expression tree may be (default [`MAX_EXPR_DEPTH`]).
    pub max_expression_depth: usize,
}

/// The most bracket nesting any engine accepts, whatever its settings.
pub const NESTING_CEILING: usize = 256;

/// The deepest expression any engine accepts, whatever its settings.
pub const EXPR_DEPTH_CEILING: usize = 1024;

impl Default for SyntaxLimits {
    fn default() -> SyntaxLimits {
        SyntaxLimits { max_nesting: MAX_NESTING, max_expression_depth: MAX_EXPR_DEPTH }
    }
}

impl SyntaxLimits {
    /// The limits actually applied: each at least 1 and at most its ceiling.
    pub fn clamped(self) -> SyntaxLimits {
        SyntaxLimits {
            max_nesting: self.max_nesting.clamp(1, NESTING_CEILING),
            max_expression_depth: self.max_expression_depth.clamp(1, EXPR_DEPTH_CEILING),
        }
    }

    fn cx(self, base: usize) -> build::Cx {
        build::Cx { base, max_depth: self.max_expression_depth }
    }
}

/// Parsing stops after this many syntax errors. (Each costs time in proportion
/// to the rest of the file: pest looks up the line of an error from the end.)
pub const MAX_SYNTAX_ERRORS: usize = 100;

/// Parses a whole script with the default [`SyntaxLimits`]. Returns the items
/// that parsed and a problem for each item that did not.
pub fn parse_file(source: &SourceFile) -> (File, Vec<Problem>) {
    parse_file_with(source, SyntaxLimits::default())
}

/// The value of a number literal whose text has the grammar's `number` shape
/// (`1.5bn`, `45%`, `$1_000`), or `None` if it is out of range.
pub(crate) fn parse_number_literal(text: &str) -> Option<rust_decimal::Decimal> {
    build::parse_number(text, Span::default()).ok()
}

/// Parses a whole script within `limits`.
pub fn parse_file_with(source: &SourceFile, limits: SyntaxLimits) -> (File, Vec<Problem>) {
    parse_items(source, limits, true)
}

/// Parses a whole script; `fast_path` false parses every item with pest (the
/// tests compare the two).
fn parse_items(source: &SourceFile, limits: SyntaxLimits, fast_path: bool) -> (File, Vec<Problem>) {
    let limits = limits.clamped();
    let text = source.text();
    if let Some(problem) = check_nesting(text, limits.max_nesting) {
        let file = File { incomplete: true, ..File::default() };
        return (file, vec![problem]);
    }
    let mut file = File::default();
    let mut problems = Vec::new();
    let mut pos = 0;
    // Where the last item that parsed starts and where its last token ends.
    let mut previous: Option<(usize, usize)> = None;
    while pos < text.len() {
        let rest = &text[pos..];
        // Checked by hand: a failed pest parse builds an error whose line
        // lookup scans the rest of the input, which would make parsing quadratic.
        if only_trivia(rest) {
            break;
        }
        if fast_path && let Some(fast) = fast::item(text, pos, 0) {
            file.items.push(fast.item);
            previous = Some((pos, fast.token_end));
            pos = fast.end;
            continue;
        }
        match CascadeParser::parse(Rule::item_start, rest) {
            Ok(mut pairs) => {
                let Some(start) = pairs.next() else { break };
                let end = start.as_span().end();
                previous = None;
                match start.into_inner().next().map(|item| build::build_item(item, limits.cx(pos))) {
                    Some(Ok(item)) => {
                        file.items.push(item);
                        previous = Some((pos, pos + trim_trivia_end(&rest[..end])));
                    }
                    Some(Err(problem)) => {
                        // It follows the grammar but cannot be built (a number out
                        // of range): missing from the file all the same.
                        problems.push(problem);
                        file.incomplete = true;
                        file.unparsed_names.extend(declared_name(rest));
                    }
                    None => {}
                }
                if end == 0 {
                    break;
                }
                pos += end;
            }
            Err(error) => {
                let mut from = pos;
                let mut problem = None;
                // An item that fails on the line where the previous one ended
                // usually means the previous one was cut short: `let x = max(a b)`
                // parses as `let x = max` followed by `(a b)`. Report the error of
                // the two together, and drop the first.
                let item_start = pos + skip_trivia(rest);
                if let Some((previous_start, previous_end)) = previous
                    && !text[previous_end..item_start].contains('\n')
                    && let Err(error) = CascadeParser::parse(Rule::file, &text[previous_start..])
                {
                    file.items.pop();
                    from = previous_start;
                    problem = Some(convert_error(Rule::file, &text[from..], &error, from, text));
                }
                let problem =
                    problem.unwrap_or_else(|| convert_error(Rule::item_start, rest, &error, pos, text));
                problems.push(problem);
                file.incomplete = true;
                file.unparsed_names.extend(declared_name(&text[from..]));
                previous = None;
                match resync(text, from) {
                    Some(next) => pos = next,
                    None => break,
                }
                if problems.len() >= MAX_SYNTAX_ERRORS {
                    let at = pos + skip_trivia(&text[pos..]);
                    let span = Span::new(at, at + token_at(&text[at..]).len());
                    problems.push(
                        Problem::error(
                            codes::syntax::too_many_errors,
                            format!("too many syntax errors: stopped after {MAX_SYNTAX_ERRORS}"),
                        )
                        .label(span, "the rest of the file was not read")
                        .help("fix the errors above and check again"),
                    );
                    break;
                }
            }
        }
    }
    (file, problems)
}

/// The length of the whitespace and comments at the start of `text`.
fn skip_trivia(text: &str) -> usize {
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        if let Some(comment) = trimmed.strip_prefix('#') {
            rest = comment.find('\n').map_or("", |i| &comment[i..]);
        } else {
            return text.len() - trimmed.len();
        }
    }
}

/// The length of `text` without the whitespace and comments at its end. (Pest
/// lets a rule that ends in an optional part, such as an expression, take the
/// trivia before that part even when the part is absent.)
pub(crate) fn trim_trivia_end(text: &str) -> usize {
    let mut end = text.trim_end().len();
    loop {
        // A comment runs to the end of its line: look for a `#` outside a string
        // on the last line.
        let line_start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[line_start..end];
        if !line.contains('#') {
            return end;
        }
        let Some(comment) = comment_start(line) else { return end };
        end = text[..line_start + comment].trim_end().len();
    }
}

/// Where a comment starts in one line of code, if it has one.
fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

/// The name an item declares, read from its first two words (`param x = ...`,
/// `kind Bank {`, `entity hsbc: Bank`), even if the rest does not parse.
fn declared_name(item: &str) -> Option<String> {
    let item = &item[skip_trivia(item)..];
    let word = |s: &str| s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    let keyword_len = word(item);
    let keyword = &item[..keyword_len];
    if class_of(keyword) != Some(WordClass::Declaration) {
        return None;
    }
    let rest = &item[keyword_len..];
    let rest = &rest[skip_trivia(rest)..];
    let name = &rest[..word(rest)];
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && !KEYWORDS.contains(&name);
    valid.then(|| name.to_string())
}

/// True if `text` holds only whitespace and comments.
fn only_trivia(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\r', '\n', '\u{FEFF}']);
        match rest.strip_prefix('#') {
            Some(comment) => rest = comment.find('\n').map_or("", |i| &comment[i..]),
            None => return rest.is_empty(),
        }
    }
}

/// Parses one expression (used by the REPL and the embedding API).
pub fn parse_expression(source: &SourceFile) -> Result<Expr, Problem> {
    parse_expression_with(source, SyntaxLimits::default())
}

/// Parses one expression within `limits`.
pub fn parse_expression_with(source: &SourceFile, limits: SyntaxLimits) -> Result<Expr, Problem> {
    let limits = limits.clamped();
    let text = source.text();
    if let Some(problem) = check_nesting(text, limits.max_nesting) {
        return Err(problem);
    }
    match CascadeParser::parse(Rule::expr_only, text) {
        Ok(mut pairs) => {
            let pair = pairs.next().and_then(|p| p.into_inner().next());
            match pair {
                Some(expr) => build::build_expr(expr, limits.cx(0)),
                None => Err(Problem::error(codes::syntax::empty, "expected an expression")),
            }
        }
        Err(error) => Err(convert_error(Rule::expr_only, text, &error, 0, text)),
    }
}

/// What a piece of input is, for a front end that reads line by line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// It parses as a sequence of items (or is empty).
    Complete,
    /// It stops in the middle of an item: read another line.
    Incomplete,
    /// It has a syntax error before its end.
    Invalid,
}

/// Is `text` a complete sequence of items, the beginning of one, or wrong?
/// (The REPL keeps reading lines while the answer is `Incomplete`.)
pub fn completeness(text: &str) -> Completeness {
    let source = SourceFile::new("<input>", text);
    let (_, problems) = parse_file(&source);
    if problems.is_empty() {
        return Completeness::Complete;
    }
    let at_end = problems.iter().any(|p| p.code == END_OF_FILE_CODE);
    if at_end { Completeness::Incomplete } else { Completeness::Invalid }
}

const END_OF_FILE_CODE: &str = codes::syntax::unexpected_end;

/// Where to resume after a syntax error in the item that starts at `pos`: the
/// next line that begins, in column 0, with a word that starts an item.
fn resync(text: &str, pos: usize) -> Option<usize> {
    // Skip the rest of the line the item starts on (after leading whitespace and
    // comments, which may be on lines of their own).
    let mut offset = pos + skip_trivia(&text[pos..]);
    loop {
        let newline = text[offset..].find('\n')?;
        offset += newline + 1;
        let line = &text[offset..];
        let word_len = line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(line.len());
        if ITEM_STARTERS.contains(&&line[..word_len]) {
            return Some(offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(text: &str) -> Completeness {
        completeness(text)
    }

    #[test]
    fn open_braces_are_incomplete() {
        assert_eq!(complete("kind Bank {\n  capital = 1"), Completeness::Incomplete);
        assert_eq!(complete("when x > 1 {"), Completeness::Incomplete);
        assert_eq!(complete("rule r:"), Completeness::Incomplete);
        assert_eq!(complete("param x ="), Completeness::Incomplete);
    }

    #[test]
    fn finished_items_are_complete() {
        assert_eq!(complete("param x = 1"), Completeness::Complete);
        assert_eq!(complete("kind Bank { capital = 1 }"), Completeness::Complete);
        assert_eq!(complete(""), Completeness::Complete);
    }

    #[test]
    fn errors_before_the_end_are_invalid() {
        assert_eq!(complete("param = 1"), Completeness::Invalid);
        assert_eq!(complete("kind { }"), Completeness::Invalid);
    }

    #[test]
    fn nesting_inside_strings_is_counted_only_in_interpolations() {
        let deep_text = format!("emit \"{}\"", "(".repeat(200));
        assert!(check_nesting(&deep_text, MAX_NESTING).is_none());
        let deep_code = format!("let x = {}1", "(".repeat(200));
        assert!(check_nesting(&deep_code, MAX_NESTING).is_some());
    }
}
