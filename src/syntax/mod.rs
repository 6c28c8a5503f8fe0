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
mod fast;
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
                            "cascade::syntax::too_many_errors",
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
    if !matches!(keyword, "param" | "var" | "let" | "series" | "kind" | "entity") {
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
    // Skip the rest of the line the item starts on (after leading whitespace and
    // comments, which may be on lines of their own).
    let mut offset = pos + skip_trivia(&text[pos..]);
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

/// Rejects brackets nested deeper than `max` before pest sees them.
fn check_nesting(text: &str, max: usize) -> Option<Problem> {
    // Modes: code (brackets count) or string text; `{` in a string opens code.
    // Each open bracket remembers its offset and whether it opened in a string
    // (an interpolation), to return to the string when it closes.
    let mut stack: Vec<(usize, bool)> = Vec::new();
    let mut in_string = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let mut pushed = false;
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' | b'\n' => in_string = false,
                b'{' => {
                    stack.push((i, true));
                    pushed = true;
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
                b'(' | b'[' | b'{' => {
                    stack.push((i, false));
                    pushed = true;
                }
                b')' | b']' => {
                    stack.pop();
                }
                b'}' => {
                    // Closing an interpolation returns to the string around it.
                    if let Some((_, interpolation)) = stack.pop() {
                        in_string = interpolation;
                    }
                }
                _ => {
                    // Most bytes of code mean nothing here: skip to the next one that may.
                    while bytes.get(i + 1).is_some_and(|&b| !CODE_SPECIAL[b as usize]) {
                        i += 1;
                    }
                }
            }
        }
        if pushed && stack.len() > max {
            let (at, _) = stack[stack.len() - 1];
            return Some(
                Problem::error(
                    "cascade::syntax::too_deep",
                    format!(
                        "brackets are nested more than {max} level{} deep",
                        if max == 1 { "" } else { "s" }
                    ),
                )
                .label(Span::new(at, at + 1), "this bracket is one level too deep")
                .help("split the expression with `let` declarations"),
            );
        }
        i += 1;
    }
    None
}

/// The bytes that `check_nesting` acts on outside strings.
static CODE_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut k = 0;
    let special = b"#\"([{)]}";
    while k < special.len() {
        table[special[k] as usize] = true;
        k += 1;
    }
    table
};

/// Turns a pest error into a problem with a byte span and plain words.
///
/// Pest reports the farthest position where a *rule* failed, but a literal such
/// as the `:` of `entity name: Kind` is not a rule, so on its own it would point
/// at the start of the item. The detailed re-parse also tracks literals: when it
/// got farther, its position and tokens are the ones to report.
fn convert_error(
    rule: Rule,
    input: &str,
    error: &pest::error::Error<Rule>,
    base: usize,
    whole: &str,
) -> Problem {
    let rule_at = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    if let pest::error::ErrorVariant::CustomError { message } = &error.variant
        && message.contains("limit")
    {
        let span = Span::new(base + rule_at, base + rule_at + char_len(whole, base + rule_at));
        return Problem::error("cascade::syntax::too_deep", "the script is nested too deeply to parse")
            .label(span, "parsing gave up here")
            .help("split the expression with `let` declarations");
    }
    // The detailed position is trusted only when it comes with tokens to name:
    // pest also records the characters that a lookahead such as `!ident_char`
    // (after a keyword or a number) tried, which explain nothing.
    let detail = detailed_expectation(rule, input).filter(|(_, words)| !words.is_empty());
    let at = match &detail {
        Some((position, _)) if *position > rule_at => *position,
        _ => rule_at,
    };
    let mut expected: Vec<String> = Vec::new();
    let mut push = |word: String| {
        if !expected.contains(&word) {
            expected.push(word);
        }
    };
    if at == rule_at
        && let pest::error::ErrorVariant::ParsingError { positives, .. } = &error.variant
    {
        for rule in positives {
            if let Some(word) = describe_rule(*rule) {
                push(word.to_string());
            }
        }
    }
    if let Some((position, words)) = detail
        && position == at
    {
        for word in words {
            push(word);
        }
    }
    let all = expected.clone();
    let shown = helpful_words(expected);
    let expectation = expectation(&shown);
    let offset = base + at;
    let rest = &whole[offset.min(whole.len())..];
    if rest.trim_start().is_empty() {
        // miette hides a label at the very end of the file: point at the last token.
        let last = whole.trim_end().len();
        let start = last_token_start(&whole[..last]);
        let span = Span::new(start, last.max(start));
        return Problem::error(END_OF_FILE_CODE, "unexpected end of file")
            .label(span, format!("the file ends after this; {expectation}"));
    }
    let token = token_at(rest);
    let span = Span::new(offset, offset + token.len());
    if token == "\n" || token == "\r" {
        let in_string = all.iter().any(|w| w == "`\"`");
        let label = if in_string { "the string is not closed" } else { expectation.as_str() };
        return Problem::error("cascade::syntax::unexpected", "unexpected end of line")
            .label(span, label)
            .maybe_help(
                in_string.then(|| String::from("close the string with `\"` on the line where it starts")),
            );
    }
    let item_start = base + input.len() - input.trim_start().len();
    if offset == item_start && is_operator(token) {
        return Problem::error("cascade::syntax::unexpected", format!("unexpected `{token}`"))
            .label(span, "expected an expression after this operator");
    }
    let token_text: String = token.chars().take(30).collect();
    Problem::error("cascade::syntax::unexpected", format!("unexpected `{}`", token_text.escape_debug()))
        .label(span, expectation)
        .maybe_help(syntax_help(token, &all, &shown).or_else(|| unclosed_help(whole, offset, token, &shown)))
}

/// The words worth showing of what the parser expected.
fn helpful_words(mut expected: Vec<String>) -> Vec<String> {
    let has = |expected: &[String], word: &str| expected.iter().any(|w| w == word);
    // A rule can start with `at`, `for`, `when` or `while`.
    if has(&expected, "a declaration or rule") {
        expected.retain(|w| {
            !matches!(w.as_str(), "`at`" | "`for`" | "`when`" | "`while`" | "the end of the file")
        });
    }
    // A name, a parenthesis or a string starts an expression; a name starts an
    // effect (an assignment).
    if has(&expected, "an expression") {
        expected.retain(|w| !matches!(w.as_str(), "a name" | "`(`" | "`\"`"));
    }
    if has(&expected, "an effect") {
        expected.retain(|w| w != "a name");
    }
    // An operator and `.field` may follow almost every expression, and `(` every
    // name (a call): mention them only when nothing else fits.
    if expected.len() > 1 {
        expected.retain(|w| !matches!(w.as_str(), "an operator" | "`.field`" | "`(`"));
    }
    // A word that is part of a longer one: `{` of "`then` or `{`".
    let phrases = expected.clone();
    expected.retain(|w| !phrases.iter().any(|longer| longer != w && longer.contains(w.as_str())));
    expected
}

/// "expected X, Y or Z".
fn expectation(expected: &[String]) -> String {
    // "a date or step number, or `}`": a comma when a word has its own "or".
    let or = if expected.iter().any(|w| w.contains(" or ")) { ", or " } else { " or " };
    match expected.len() {
        0 => String::from("not expected here"),
        1 => format!("expected {}", expected[0]),
        n => format!("expected {}{or}{}", expected[..n - 1].join(", "), expected[n - 1]),
    }
}

fn is_operator(token: &str) -> bool {
    matches!(token, "+" | "-" | "*" | "/" | "<" | ">" | "=" | "!" | "and" | "or")
}

/// Pest's detailed error tracking is a global switch: one detailed re-parse at a
/// time, so that two threads reporting errors do not turn it off for each other.
static ERROR_DETAIL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Re-parses with pest's detailed error tracking, which also records literal
/// tokens (`=`, `{`, `:`, keywords ...). Returns the farthest position where a
/// token was expected and those tokens in words. Only runs after an error.
fn detailed_expectation(rule: Rule, input: &str) -> Option<(usize, Vec<String>)> {
    let result = {
        let _guard = ERROR_DETAIL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pest::set_error_detail(true);
        let result = CascadeParser::parse(rule, input);
        pest::set_error_detail(false);
        result
    };
    let error = result.err()?;
    let attempts = error.parse_attempts()?;
    let mut words = Vec::new();
    for token in attempts.expected_tokens() {
        if let Some(word) = describe_token(&token.to_string())
            && !words.contains(&word)
        {
            words.push(word);
        }
    }
    Some((attempts.max_position, words))
}

/// Plain words for a literal token of the grammar, or `None` to leave it out.
fn describe_token(token: &str) -> Option<String> {
    Some(match token {
        "=" | "{" | "}" | "(" | ")" | ":" | "," | "->" | "\"" | "then" | "for" | "in" | "where" | "when"
        | "while" | "at" | "priority" | "recovery" => format!("`{token}`"),
        "steps" | "step" => String::from("`steps`"),
        "linear" | "hold" => String::from("`linear` or `hold`"),
        "after" | "default" | "emit" | "stop" => String::from("an effect"),
        "+" | "-" | "*" | "/" | "<" | "<=" | ">" | ">=" | "==" | "!=" | "and" | "or" => {
            String::from("an operator")
        }
        "scenario" | "param" | "var" | "let" | "series" | "kind" | "entity" | "exposure" | "rule"
        | "expect" | "assert" => String::from("a declaration or rule"),
        _ => return None,
    })
}

/// The start of the last token of `text` (which has no trailing whitespace).
fn last_token_start(text: &str) -> usize {
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '%' | '$');
    match text.chars().next_back() {
        Some(c) if is_word(c) => {
            text.char_indices().rev().take_while(|(_, c)| is_word(*c)).last().map_or(0, |(i, _)| i)
        }
        Some(c) => text.len() - c.len_utf8(),
        None => 0,
    }
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
/// `all` is everything the parser expected, `shown` what the label says.
fn syntax_help(token: &str, all: &[String], shown: &[String]) -> Option<String> {
    let has = |words: &[String], word: &str| words.iter().any(|w| w == word);
    if KEYWORDS.contains(&token) && has(shown, "a name") {
        return Some(format!("`{token}` is a keyword and cannot be used as a name"));
    }
    // After an expression (an operator could follow), `=` is a comparison gone wrong.
    if token == "=" && has(all, "an operator") && !has(all, "an expression") {
        return Some(String::from("to compare, write `==`"));
    }
    if token.starts_with(|c: char| c.is_ascii_digit()) && token.contains(|c: char| c.is_ascii_alphabetic()) {
        return Some(String::from("a number may end in `k`, `m`, `bn`, `tn` or `%`, as in `29bn`"));
    }
    if token.starts_with(|c: char| !c.is_ascii()) {
        return Some(String::from("names use ASCII letters, digits and `_`"));
    }
    None
}

/// A help line for a declaration that starts while a bracket is still open.
fn unclosed_help(whole: &str, offset: usize, token: &str, shown: &[String]) -> Option<String> {
    let line_start = offset == 0 || whole.as_bytes().get(offset - 1) == Some(&b'\n');
    let starts_item = matches!(
        token,
        "scenario"
            | "param"
            | "var"
            | "let"
            | "series"
            | "kind"
            | "entity"
            | "exposure"
            | "rule"
            | "expect"
            | "assert"
    );
    if !(line_start && starts_item) {
        return None;
    }
    ["}", ")"]
        .into_iter()
        .find(|bracket| shown.iter().any(|w| w.contains(&format!("`{bracket}`"))))
        .map(|bracket| format!("is a `{bracket}` missing before this line?"))
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
        field_decl | field_init => "a field or `}`",
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
        kw_after | kw_default | kw_emit | kw_stop => "an effect",
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
        assert!(check_nesting(&deep_text, MAX_NESTING).is_none());
        let deep_code = format!("let x = {}1", "(".repeat(200));
        assert!(check_nesting(&deep_code, MAX_NESTING).is_some());
    }
}
