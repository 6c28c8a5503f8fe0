//! Syntax: script text → [`File`] (the untyped AST).
//!
//! This is the only module that sees pest. It parses one top-level item at a
//! time so that a syntax error in one item does not hide the errors in the
//! next: after an error it resumes at the next line that starts (in column 0)
//! with a declaration keyword. Pest's errors are converted here into
//! [`Problem`]s with byte spans and plain words (`describe_rule`).
//!
//! Naming: `parse_*` take text, `build_*` (in `build.rs`) turn pest pairs into
//! AST nodes.

mod ast;
mod build;
mod keywords;

use pest::Parser;

pub use ast::*;
pub use keywords::{BUILTIN_FUNCTIONS, BUILTIN_NAMES, CONTEXTUAL_WORDS, KEYWORDS};

use crate::diagnostic::Problem;
use crate::source::{SourceFile, Span};

mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "grammar/cascade.pest"]
    pub struct CascadeParser;
}

use grammar::{CascadeParser, Rule};

/// Brackets (`( [ {`, including `{` of string interpolation) may nest this deep.
pub const MAX_NESTING: usize = 64;

/// An expression tree may be this deep (a long chain `a + b + c + ...` counts
/// one level per operator).
pub const MAX_EXPR_DEPTH: usize = 512;

/// Parses a whole script. Returns the items that parsed and a problem for each
/// item that did not.
pub fn parse_file(source: &SourceFile) -> (File, Vec<Problem>) {
    let text = source.text();
    if let Some(problem) = check_nesting(text) {
        return (File::default(), vec![problem]);
    }
    let mut file = File::default();
    let mut problems = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        if CascadeParser::parse(Rule::only_trivia, rest).is_ok() {
            break;
        }
        match CascadeParser::parse(Rule::item_start, rest) {
            Ok(mut pairs) => {
                let Some(start) = pairs.next() else { break };
                let end = start.as_span().end();
                match start.into_inner().next().map(|item| build::build_item(item, pos)) {
                    Some(Ok(item)) => file.items.push(item),
                    Some(Err(problem)) => problems.push(problem),
                    None => {}
                }
                if end == 0 {
                    break;
                }
                pos += end;
            }
            Err(error) => {
                let problem = convert_error(Rule::item_start, rest, &error, pos, text);
                problems.push(problem);
                match resync(text, pos) {
                    Some(next) => pos = next,
                    None => break,
                }
            }
        }
    }
    (file, problems)
}

/// Parses one expression (used by the REPL and the embedding API).
pub fn parse_expression(source: &SourceFile) -> Result<Expr, Problem> {
    let text = source.text();
    if let Some(problem) = check_nesting(text) {
        return Err(problem);
    }
    match CascadeParser::parse(Rule::expr_only, text) {
        Ok(mut pairs) => {
            let pair = pairs.next().and_then(|p| p.into_inner().next());
            match pair {
                Some(expr) => build::build_expr(expr, 0),
                None => Err(Problem::error("cascade::syntax::empty", "expected an expression")),
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

const END_OF_FILE_CODE: &str = "cascade::syntax::unexpected_end";

/// Where to resume after a syntax error in the item that starts at `pos`: the
/// next line that begins, in column 0, with a word that starts an item.
fn resync(text: &str, pos: usize) -> Option<usize> {
    const STARTERS: &[&str] = &[
        "scenario", "param", "var", "let", "series", "kind", "entity", "exposure", "rule", "for", "when",
        "while", "at", "expect", "assert",
    ];
    let mut offset = pos;
    // Skip the rest of the line the item starts on (after leading trivia).
    let first = text[pos..].find(|c: char| !c.is_whitespace()).map_or(text.len(), |i| pos + i);
    offset = offset.max(first);
    loop {
        let newline = text[offset..].find('\n')?;
        offset += newline + 1;
        let line = &text[offset..];
        let word_len = line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(line.len());
        if STARTERS.contains(&&line[..word_len]) {
            return Some(offset);
        }
    }
}

/// Rejects brackets nested deeper than [`MAX_NESTING`] before pest sees them.
fn check_nesting(text: &str) -> Option<Problem> {
    // Modes: code (brackets count) or string text; `{` in a string opens code.
    let mut stack: Vec<(u8, usize)> = Vec::new(); // (opening byte, offset)
    let mut in_string = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' | b'\n' => in_string = false,
                b'{' => {
                    stack.push((b'{', i));
                    in_string = false;
                }
                _ => {}
            }
        } else {
            match b {
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'"' => in_string = true,
                b'(' | b'[' | b'{' => stack.push((b, i)),
                b')' | b']' => {
                    stack.pop();
                }
                b'}' => {
                    // Closing an interpolation returns to the string around it.
                    if let Some((_, open)) = stack.pop() {
                        in_string = is_interpolation(bytes, open);
                    }
                }
                _ => {}
            }
        }
        if stack.len() > MAX_NESTING {
            let (_, at) = stack[stack.len() - 1];
            return Some(
                Problem::error(
                    "cascade::syntax::too_deep",
                    format!("brackets are nested more than {MAX_NESTING} levels deep"),
                )
                .label(Span::new(at, at + 1), "this bracket is one level too deep")
                .help("split the expression with `let` declarations"),
            );
        }
        i += 1;
    }
    None
}

/// Is the `{` at `open` inside a string (an interpolation)? Counts unescaped
/// quotes on its line before it.
fn is_interpolation(bytes: &[u8], open: usize) -> bool {
    let line_start = bytes[..open].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let mut quotes = 0;
    let mut i = line_start;
    while i < open {
        match bytes[i] {
            b'\\' => i += 1,
            b'"' => quotes += 1,
            _ => {}
        }
        i += 1;
    }
    quotes % 2 == 1
}

/// Turns a pest error into a problem with a byte span and plain words.
fn convert_error(
    rule: Rule,
    input: &str,
    error: &pest::error::Error<Rule>,
    base: usize,
    whole: &str,
) -> Problem {
    let at = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let mut expected: Vec<String> = Vec::new();
    let mut push = |word: String| {
        if !expected.contains(&word) {
            expected.push(word);
        }
    };
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &error.variant {
        for rule in positives {
            if let Some(word) = describe_rule(*rule) {
                push(word.to_string());
            }
        }
    }
    for token in detailed_expected_tokens(rule, input) {
        push(token);
    }
    if let pest::error::ErrorVariant::CustomError { message } = &error.variant
        && message.contains("limit")
    {
        let span = Span::new(base + at, base + at + char_len(whole, base + at));
        return Problem::error("cascade::syntax::too_deep", "the script is nested too deeply to parse")
            .label(span, "parsing gave up here")
            .help("split the expression with `let` declarations");
    }
    let all = expected.clone();
    // "an operator" and `.field` are possible after almost every expression:
    // mention them only when nothing else fits. Punctuation that starts an
    // expression is covered by "an expression"; `{` by "`then` or `{`".
    if expected.len() > 1 {
        expected.retain(|w| w != "an operator" && w != "`.field`");
    }
    if expected.iter().any(|w| w == "an expression") {
        expected.retain(|w| w != "`(`" && w != "`\"`");
    }
    if expected.iter().any(|w| w == "`then` or `{`") {
        expected.retain(|w| w != "`{`" && w != "`(`");
    }
    let expectation = match expected.len() {
        0 => String::from("not expected here"),
        1 => format!("expected {}", expected[0]),
        n => format!("expected {} or {}", expected[..n - 1].join(", "), expected[n - 1]),
    };
    let offset = base + at;
    let rest = &whole[offset.min(whole.len())..];
    let trimmed = rest.trim_start();
    if trimmed.is_empty() || offset >= whole.len() {
        // miette hides a label at the very end of the file: point at the last character.
        let last = whole.trim_end().len();
        let start = whole[..last].char_indices().last().map_or(0, |(i, _)| i);
        let span = Span::new(start, last.max(start));
        return Problem::error(END_OF_FILE_CODE, "unexpected end of file")
            .label(span, format!("the file ends after this; {expectation}"));
    }
    let token = token_at(rest);
    let span = Span::new(offset, offset + token.len());
    let item_start = base + input.len() - input.trim_start().len();
    if offset == item_start && is_operator(token) {
        return Problem::error("cascade::syntax::unexpected", format!("unexpected `{token}`"))
            .label(span, "expected an expression after this operator");
    }
    let shown: String = token.chars().take(30).collect();
    Problem::error("cascade::syntax::unexpected", format!("unexpected `{}`", shown.escape_debug()))
        .label(span, expectation)
        .maybe_help(syntax_help(token, &all))
}

fn is_operator(token: &str) -> bool {
    matches!(token, "+" | "-" | "*" | "/" | "<" | ">" | "=" | "!" | "and" | "or")
}

/// Re-parses with pest's detailed error tracking to learn which literal tokens
/// (`=`, `{`, `:` ...) would have fitted. Only runs after an error.
fn detailed_expected_tokens(rule: Rule, input: &str) -> Vec<String> {
    pest::set_error_detail(true);
    let result = CascadeParser::parse(rule, input);
    pest::set_error_detail(false);
    let Err(error) = result else { return Vec::new() };
    let Some(attempts) = error.parse_attempts() else { return Vec::new() };
    attempts
        .expected_tokens()
        .into_iter()
        .map(|token| token.to_string())
        .filter(|token| is_punctuation(token))
        .map(|token| format!("`{token}`"))
        .collect()
}

fn is_punctuation(token: &str) -> bool {
    matches!(token, "=" | "{" | "}" | "(" | ")" | ":" | "," | "->" | "\"")
}

/// The token that starts `rest`: a word, a number, or one character.
fn token_at(rest: &str) -> &str {
    let word = rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.' || *c == '%' || *c == '$'))
        .map_or(rest.len(), |(i, _)| i);
    if word > 0 {
        return &rest[..word];
    }
    let first = rest.chars().next().map_or(0, char::len_utf8);
    &rest[..first]
}

fn char_len(text: &str, offset: usize) -> usize {
    text.get(offset..).and_then(|s| s.chars().next()).map_or(0, char::len_utf8)
}

/// A help line for common mistakes.
fn syntax_help(token: &str, expected: &[String]) -> Option<String> {
    if KEYWORDS.contains(&token) && expected.iter().any(|w| w == "a name") {
        return Some(format!("`{token}` is a keyword and cannot be used as a name"));
    }
    if token == "=" && expected.iter().any(|w| w == "an operator") {
        return Some(String::from("to compare, write `==`"));
    }
    if token.starts_with(|c: char| !c.is_ascii()) {
        return Some(String::from("names use ASCII letters, digits and `_`"));
    }
    None
}

/// Plain words for a grammar rule, or `None` to leave it out of messages.
fn describe_rule(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        expr | operand | paren | date | number | string | boolean | self_ref | call | name | neg | not_op
        | primary => "an expression",
        or_op | and_op | le | ge | ne | eq | lt | gt | add | sub | mul | div | infix => "an operator",
        field_access | postfix => "`.field`",
        ident => "a name",
        integer => "a step number",
        signed_integer => "a whole number",
        time_point => "a date or step number",
        assign_op => "`=`, `+=`, `-=`, `*=` or `/=`",
        arrow => "`->`",
        body => "`then` or `{`",
        block => "`{`",
        after_effect | default_effect | emit_effect | stop_effect | assignment | target | effect => {
            "an effect"
        }
        setting => "a setting (`start`, `step` or `horizon`)",
        field_decl | field_init => "a field",
        series_point => "a point such as `2026-06: 1.50`",
        series_mode => "`linear` or `hold`",
        binder | binders => "a binder such as `x: Kind`",
        comprehension => "`for`",
        scenario_decl | param_decl | var_decl | let_decl | series_decl | kind_decl | entity_decl
        | exposure_decl | expect_decl | assert_decl | rule_decl | rule_header | item => {
            "a declaration or rule"
        }
        when_trigger | while_trigger | at_trigger | trigger => "`when`, `while` or `at`",
        derived_mark => "`let`",
        str_text | str_escape | str_interp => return None,
        EOI => "the end of the file",
        kw_then => "`then`",
        kw_for => "`for`",
        kw_in => "`in`",
        kw_where => "`where`",
        kw_at => "`at`",
        kw_when => "`when`",
        kw_while => "`while`",
        kw_recovery => "`recovery`",
        kw_steps => "`steps`",
        kw_priority => "`priority`",
        kw_and | kw_or => "an operator",
        kw_scenario | kw_param | kw_var | kw_let | kw_series | kw_kind | kw_entity | kw_exposure
        | kw_rule | kw_expect | kw_assert => "a declaration or rule",
        _ => return None,
    })
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
        assert!(check_nesting(&deep_text).is_none());
        let deep_code = format!("let x = {}1", "(".repeat(200));
        assert!(check_nesting(&deep_code).is_some());
    }
}
