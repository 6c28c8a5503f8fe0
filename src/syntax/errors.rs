//! Syntax errors: the bracket-depth guard, and pest's errors converted into
//! [`Problem`]s with byte spans, plain words and help.

use super::*;
use crate::codes;

/// Rejects brackets nested deeper than `max` before pest sees them.
pub(super) fn check_nesting(text: &str, max: usize) -> Option<Problem> {
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
                    codes::syntax::too_deep,
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
pub(super) fn convert_error(
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
        return Problem::error(codes::syntax::too_deep, "the script is nested too deeply to parse")
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
        return Problem::error(codes::syntax::unexpected, "unexpected end of line")
            .label(span, label)
            .maybe_help(
                in_string.then(|| String::from("close the string with `\"` on the line where it starts")),
            );
    }
    let item_start = base + input.len() - input.trim_start().len();
    if offset == item_start && is_operator(token) {
        return Problem::error(codes::syntax::unexpected, format!("unexpected `{token}`"))
            .label(span, "expected an expression after this operator");
    }
    if (token == "-" || token == "not") && prefix_run_before(&whole[..offset]) >= MAX_PREFIX_OPERATORS {
        return Problem::error(
            codes::syntax::unexpected,
            format!("more than {MAX_PREFIX_OPERATORS} `-` or `not` in a row"),
        )
        .label(span, format!("a prefix operator after {MAX_PREFIX_OPERATORS} others"))
        .help("an operand takes at most four prefix operators: put brackets around the rest, e.g. `- - (- -x)`, or cancel them out (`not not x` is `x`, `- -x` is `x`)");
    }
    let token_text: String = token.chars().take(30).collect();
    Problem::error(codes::syntax::unexpected, format!("unexpected `{}`", token_text.escape_debug()))
        .label(span, expectation)
        .maybe_help(syntax_help(token, &all, &shown).or_else(|| unclosed_help(whole, offset, token, &shown)))
}

/// How many prefix operators an operand may have (`operand` in the grammar:
/// `{, 4}`, which keeps the parser from recursing without bound).
const MAX_PREFIX_OPERATORS: usize = 4;

/// How many `-` and `not` end `text`, ignoring whitespace between them.
fn prefix_run_before(text: &str) -> usize {
    let mut rest = text.trim_end();
    let mut count = 0;
    loop {
        if let Some(before) = rest.strip_suffix('-') {
            rest = before.trim_end();
        } else if let Some(before) = rest.strip_suffix("not")
            && !before.ends_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            rest = before.trim_end();
        } else {
            return count;
        }
        count += 1;
    }
}

/// The words worth showing of what the parser expected.
pub(super) fn helpful_words(mut expected: Vec<String>) -> Vec<String> {
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
pub(super) fn expectation(expected: &[String]) -> String {
    // "a date or step number, or `}`": a comma when a word has its own "or".
    let or = if expected.iter().any(|w| w.contains(" or ")) { ", or " } else { " or " };
    match expected.len() {
        0 => String::from("not expected here"),
        1 => format!("expected {}", expected[0]),
        n => format!("expected {}{or}{}", expected[..n - 1].join(", "), expected[n - 1]),
    }
}

pub(super) fn is_operator(token: &str) -> bool {
    matches!(token, "+" | "-" | "*" | "/" | "<" | ">" | "=" | "!" | "and" | "or")
}

/// Pest's detailed error tracking is a global switch: one detailed re-parse at a
/// time, so that two threads reporting errors do not turn it off for each other.
static ERROR_DETAIL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Re-parses with pest's detailed error tracking, which also records literal
/// tokens (`=`, `{`, `:`, keywords ...). Returns the farthest position where a
/// token was expected and those tokens in words. Only runs after an error.
pub(super) fn detailed_expectation(rule: Rule, input: &str) -> Option<(usize, Vec<String>)> {
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
pub(super) fn describe_token(token: &str) -> Option<String> {
    // `let` starts a declaration and a local of an effect block alike, and
    // `let` and `solve` a field: the other words say which is meant.
    if token == "let" || token == "solve" {
        return None;
    }
    if let Some(class) = class_of(token) {
        return class.expected(token);
    }
    Some(match token {
        "=" | "{" | "}" | "(" | ")" | ":" | "," | "->" | "\"" | "recovery" => format!("`{token}`"),
        "steps" | "step" => String::from("`steps`"),
        "+" | "-" | "*" | "/" | "^" | "<" | "<=" | ">" | ">=" | "==" | "!=" => String::from("an operator"),
        _ => return None,
    })
}

/// The start of the last token of `text` (which has no trailing whitespace).
pub(super) fn last_token_start(text: &str) -> usize {
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
pub(super) fn token_at(rest: &str) -> &str {
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

pub(super) fn char_len(text: &str, offset: usize) -> usize {
    text.get(offset..).and_then(|s| s.chars().next()).map_or(0, char::len_utf8)
}

/// A help line for common mistakes.
/// `all` is everything the parser expected, `shown` what the label says.
pub(super) fn syntax_help(token: &str, all: &[String], shown: &[String]) -> Option<String> {
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
pub(super) fn unclosed_help(whole: &str, offset: usize, token: &str, shown: &[String]) -> Option<String> {
    let line_start = offset == 0 || whole.as_bytes().get(offset - 1) == Some(&b'\n');
    let starts_item = matches!(class_of(token), Some(WordClass::Declaration | WordClass::Item));
    if !(line_start && starts_item) {
        return None;
    }
    ["}", ")"]
        .into_iter()
        .find(|bracket| shown.iter().any(|w| w.contains(&format!("`{bracket}`"))))
        .map(|bracket| format!("is a `{bracket}` missing before this line?"))
}

/// Plain words for a grammar rule, or `None` to leave it out of messages.
pub(super) fn describe_rule(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        expr | operand | paren | date | number | string | boolean | self_ref | call | name | neg | not_op
        | primary | if_expr | kw_if => "an expression",
        or_op | and_op | le | ge | ne | eq | lt | gt | add | sub | mul | div | pow | infix => "an operator",
        kw_else => "`else`",
        exposure_fields => "`{`",
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
        uncertainty => "`~` and a distribution",
        binder | binders => "a binder such as `x: Kind`",
        comprehension => "`for`",
        scenario_decl | param_decl | var_decl | let_decl | series_decl | kind_decl | entity_decl
        | exposure_decl | entities_decl | exposures_decl | expect_decl | assert_decl | rule_decl
        | rule_header | item | clearing_decl | debtrank_decl => "a declaration or rule",
        model_settings => "`{`",
        when_trigger | while_trigger | at_trigger | trigger => "`when`, `while` or `at`",
        derived_mark => "`let`",
        solve_mark | kw_solve => "a field or `}`",
        solve_within | kw_within => "`within`",
        solve_limit | kw_limit => "`limit`",
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
        kw_from => "`from`",
        kw_steps => "`steps`",
        kw_priority => "`priority`",
        kw_together => "`together`",
        kw_and | kw_or => "an operator",
        kw_after | kw_default | kw_emit | kw_stop | kw_local | local_decl => "an effect",
        kw_scenario | kw_param | kw_var | kw_let | kw_series | kw_kind | kw_entity | kw_exposure
        | kw_entities | kw_exposures | kw_rule | kw_expect | kw_assert | kw_clearing | kw_debtrank => {
            "a declaration or rule"
        }
        _ => return None,
    })
}
