//! The line editor's helper: "is this input complete?", tab completion, hints
//! and syntax highlighting.
//!
//! [`input_state`] is a plain function (unit-tested below) that both the
//! rustyline [`Validator`] and the piped-input reader call: a declaration or
//! rule goes on while the parser says it stops in the middle of an item
//! (`cascade::syntax::completeness`); an expression while it stops in the middle
//! of an expression; a `:command` is always one line.

use std::collections::HashMap;

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::hint::{Hint, Hinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use cascade::syntax::{
    BUILTIN_FUNCTIONS, BUILTIN_NAMES, Completeness, ITEM_STARTERS, KEYWORDS, completeness,
};

use super::commands::{COMMANDS, Command};

mod highlight;

/// Whether the text typed so far can be run, or needs more lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputState {
    /// Run it (it may still be wrong: then its diagnostic is printed).
    Complete,
    /// It stops in the middle of an item or expression: read another line.
    Incomplete,
}

/// What kind of input a text is, by its first word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// Only spaces and comments.
    Empty,
    /// `:name args`
    Command,
    /// Declarations or rules.
    Items,
    /// An expression to evaluate.
    Expression,
}

/// Classifies input by its first word (comments and blank lines skipped).
pub fn input_kind(text: &str) -> InputKind {
    let code = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
    let Some(first_line) = code else { return InputKind::Empty };
    if first_line.starts_with(':') {
        return InputKind::Command;
    }
    let word_end =
        first_line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(first_line.len());
    if ITEM_STARTERS.contains(&&first_line[..word_end]) { InputKind::Items } else { InputKind::Expression }
}

/// Is `text` ready to run? See the module docs. A line that starts with `:`
/// after the first ends an unfinished item (whose error then shows) and runs
/// as a command: see [`split_trailing_command`].
pub fn input_state(text: &str) -> InputState {
    if split_trailing_command(text).is_some() {
        return InputState::Complete;
    }
    let incomplete = match input_kind(text) {
        InputKind::Empty | InputKind::Command => false,
        InputKind::Items => completeness(text) == Completeness::Incomplete,
        InputKind::Expression => {
            completeness(&format!("let repl_input__ = {text}")) == Completeness::Incomplete
        }
    };
    if incomplete { InputState::Incomplete } else { InputState::Complete }
}

/// `(unfinished input, command)` when a line after the first starts with `:`.
pub fn split_trailing_command(text: &str) -> Option<(&str, &str)> {
    if input_kind(text) == InputKind::Command {
        return None;
    }
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if offset > 0 && line.trim_start().starts_with(':') {
            return Some((&text[..offset], &text[offset..]));
        }
        offset += line.len();
    }
    None
}

/// What completion and hints know about the session; refreshed after each
/// change to the world.
#[derive(Default)]
pub struct Names {
    /// Declared names (params, vars, lets, series, kinds, entities).
    pub names: Vec<String>,
    /// The fields of each kind.
    pub kinds: HashMap<String, Vec<String>>,
    /// The kind of each entity.
    pub entity_kind: HashMap<String, String>,
    /// Rule names.
    pub rules: Vec<String>,
    /// The fields of an exposure (`x.`), and of its debtor and creditor
    /// (`x.debtor.`, `x.creditor.`).
    pub exposure: Vec<String>,
    pub debtor: Vec<String>,
    pub creditor: Vec<String>,
}

impl Names {
    /// The fields of an entity or a kind.
    fn fields(&self, name: &str) -> Option<&Vec<String>> {
        self.kinds.get(name).or_else(|| self.entity_kind.get(name).and_then(|k| self.kinds.get(k)))
    }
}

/// The rustyline helper.
pub struct ReplHelper {
    /// What can be completed.
    pub names: Names,
    /// Colour the input, hints and prompt.
    pub colour: bool,
    files: FilenameCompleter,
}

impl ReplHelper {
    pub fn new(colour: bool) -> ReplHelper {
        ReplHelper { names: Names::default(), colour, files: FilenameCompleter::new() }
    }

    /// Candidates for the word `prefix` that ends at the cursor, in the
    /// context of `line[..start]`.
    fn candidates(&self, before: &str, prefix: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let trimmed = before.trim_start();
        // `:comm<TAB>`: the command names.
        if trimmed == ":" {
            return COMMANDS.iter().map(|c| c.name.to_string()).filter(|n| n.starts_with(prefix)).collect();
        }
        // `coreweave.<TAB>`: the fields of an entity or kind; `x.` of an
        // exposure bound by `for x in exposures_of(...)`, `x.debtor.` of its debtor.
        if let Some(base) = before.strip_suffix('.') {
            let word = &base[word_start(base, base.len())..];
            let bound = bound_variables(before);
            let fields = match self.names.fields(word) {
                Some(fields) => Some(fields),
                None => match bound.iter().find(|(v, _)| *v == word) {
                    Some((_, over)) if over.starts_with("exposures") => Some(&self.names.exposure),
                    Some((_, over)) => self.names.kinds.get(*over),
                    None => self.side_fields(base, word),
                },
            };
            if let Some(fields) = fields {
                out.extend(fields.iter().filter(|f| f.starts_with(prefix)).cloned());
            }
            return out;
        }
        let command = trimmed.strip_prefix(':').map(|rest| rest.split_whitespace().next().unwrap_or(""));
        match command.and_then(Command::find) {
            Some(c) if c.name == "help" => {
                out.extend(COMMANDS.iter().map(|c| c.name.to_string()));
            }
            Some(c) if c.name == "graph" => {
                out.extend(["text", "dot", "mermaid"].map(String::from));
            }
            Some(c) if matches!(c.name, "show" | "set" | "why") => {
                out.extend(self.names.names.iter().cloned());
                if c.name == "show" {
                    out.extend(self.names.rules.iter().cloned());
                }
                out.extend(["step", "date"].map(String::from));
            }
            Some(_) => {}
            None => {
                out.extend(self.names.names.iter().cloned());
                out.extend(
                    KEYWORDS.iter().chain(BUILTIN_FUNCTIONS).chain(BUILTIN_NAMES).map(|s| s.to_string()),
                );
            }
        }
        out.retain(|c| c.starts_with(prefix));
        out.sort();
        out.dedup();
        out
    }
}

impl ReplHelper {
    /// `x.debtor.` or `x.creditor.` where `x` is not a declared name (so an
    /// exposure, in `sum(x.amount * x.debtor.pay ... for x in exposures_of(b))`,
    /// whose `for` comes after): the fields of that side.
    fn side_fields(&self, base: &str, word: &str) -> Option<&Vec<String>> {
        let side = match word {
            "debtor" => &self.names.debtor,
            "creditor" => &self.names.creditor,
            _ => return None,
        };
        let owner = base[..base.len() - word.len()].strip_suffix('.')?;
        let variable = &owner[word_start(owner, owner.len())..];
        let declared = self.names.names.iter().any(|n| n == variable);
        (!variable.is_empty() && !declared).then_some(side)
    }
}

/// The names that `for V in X` or `for V: X` bind in `line`, with what they
/// range over: `exposures_of`, `exposures_to`, or a kind.
fn bound_variables(line: &str) -> Vec<(&str, &str)> {
    let words: Vec<&str> =
        line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    let mut bound = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if *w != "for" {
            continue;
        }
        match (words.get(i + 1), words.get(i + 2), words.get(i + 3)) {
            (Some(v), Some(&"in"), Some(over)) => bound.push((*v, *over)),
            // `for b: Bank` (the `:` is not a word).
            (Some(v), Some(over), _) => bound.push((*v, *over)),
            _ => {}
        }
    }
    bound
}

/// The start of the word that ends at `pos`.
fn word_start(line: &str, pos: usize) -> usize {
    // The names are ASCII: the byte after a non-name character starts the word
    // (`i + 1` would be inside a multi-byte character).
    line[..pos]
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let pos = pos.min(line.len());
        if !line.is_char_boundary(pos) {
            return Ok((pos, Vec::new()));
        }
        if line.trim_start().starts_with(":load ") {
            return self.files.complete(line, pos, ctx);
        }
        let start = word_start(line, pos);
        let candidates = self.candidates(&line[..start], &line[start..pos]);
        // A command name is followed by its argument: add the space.
        let space = if line[..start].trim_start() == ":" { " " } else { "" };
        let pairs =
            candidates.into_iter().map(|c| Pair { replacement: format!("{c}{space}"), display: c }).collect();
        Ok((start, pairs))
    }
}

/// A hint shown after the cursor: the rest of a command with its usage, or the
/// one name that the word being typed can complete to.
pub struct ReplHint {
    display: String,
    /// What the right arrow inserts (the rest of the word, not the usage).
    completion: Option<String>,
}

impl Hint for ReplHint {
    fn display(&self) -> &str {
        &self.display
    }

    fn completion(&self) -> Option<&str> {
        self.completion.as_deref()
    }
}

impl Hinter for ReplHelper {
    type Hint = ReplHint;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<ReplHint> {
        if pos != line.len() || line.contains('\n') {
            return None;
        }
        if let Some(rest) = line.strip_prefix(':') {
            // `:st` → `ep [N]`; `:step` → ` [N]`.
            if rest.contains(' ') {
                return None;
            }
            let matches: Vec<&Command> = COMMANDS.iter().filter(|c| c.name.starts_with(rest)).collect();
            let [command] = matches.as_slice() else { return None };
            let tail = &command.name[rest.len()..];
            let usage = if command.usage.is_empty() { String::new() } else { format!(" {}", command.usage) };
            return Some(ReplHint {
                display: format!("{tail}{usage}"),
                completion: (!tail.is_empty()).then(|| tail.to_string()),
            });
        }
        // `clamp(` → how `clamp` is called.
        if let Some(before) = line.strip_suffix('(')
            && let Some(builtin) = cascade::builtins::find(&before[word_start(before, before.len())..])
        {
            return Some(ReplHint { display: format!("  # {}", builtin.usage), completion: None });
        }
        let start = word_start(line, pos);
        let prefix = &line[start..];
        if prefix.len() < 2 {
            return None;
        }
        let candidates = self.candidates(&line[..start], prefix);
        let [only] = candidates.as_slice() else { return None };
        let tail = &only[prefix.len()..];
        (!tail.is_empty()).then(|| ReplHint { display: tail.to_string(), completion: Some(tail.to_string()) })
    }
}
impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(match input_state(ctx.input()) {
            InputState::Incomplete => ValidationResult::Incomplete,
            InputState::Complete => ValidationResult::Valid(None),
        })
    }
}

impl Helper for ReplHelper {}
#[cfg(test)]
mod tests {
    use super::highlight::{BUILTIN, COMMAND, COMMENT, KEYWORD, NUMBER, RESET, highlight};
    use super::*;

    #[test]
    fn open_items_and_expressions_are_incomplete() {
        assert_eq!(input_state("kind Bank {\n  capital = 1"), InputState::Incomplete);
        assert_eq!(input_state("rule r \"d\":"), InputState::Incomplete);
        assert_eq!(input_state("rule r:\n  for l: Lessor where not l.defaulted"), InputState::Incomplete);
        assert_eq!(input_state("when x > 1 {\n  emit \"a\""), InputState::Incomplete);
        assert_eq!(input_state("max(1,"), InputState::Incomplete);
        assert_eq!(input_state("sum(b.capital for b in Bank"), InputState::Incomplete);
    }

    #[test]
    fn finished_input_is_complete() {
        assert_eq!(input_state("param x = 1"), InputState::Complete);
        assert_eq!(input_state("kind Bank {\n  capital = 1\n}"), InputState::Complete);
        assert_eq!(input_state("when x > 1 {\n  emit \"a\"\n}"), InputState::Complete);
        assert_eq!(input_state("coreweave.cash * 2"), InputState::Complete);
        assert_eq!(input_state(":step 3"), InputState::Complete);
        assert_eq!(input_state(":set x = ("), InputState::Complete);
        assert_eq!(input_state(""), InputState::Complete);
        assert_eq!(input_state("   # just a comment"), InputState::Complete);
    }

    #[test]
    fn a_command_ends_an_unfinished_item() {
        assert_eq!(input_state("kind Bank {\n  capital = 1\n:show Bank"), InputState::Complete);
        assert_eq!(
            split_trailing_command("kind Bank {\n  capital = 1\n:show Bank"),
            Some(("kind Bank {\n  capital = 1\n", ":show Bank"))
        );
        assert_eq!(split_trailing_command(":show Bank"), None);
        assert_eq!(split_trailing_command("rule r:\n  while x > 1 then x -= 1"), None);
    }

    #[test]
    fn wrong_input_is_complete_so_that_its_error_shows() {
        assert_eq!(input_state("param = 1"), InputState::Complete);
        assert_eq!(input_state("1 + + )"), InputState::Complete);
        assert_eq!(input_state("kind { }"), InputState::Complete);
    }

    #[test]
    fn input_is_classified_by_its_first_word() {
        assert_eq!(input_kind("  :step"), InputKind::Command);
        assert_eq!(input_kind("# note\nparam x = 1"), InputKind::Items);
        assert_eq!(input_kind("for l: Lessor when l.cash < 0 then default(l)"), InputKind::Items);
        assert_eq!(input_kind("not coreweave.defaulted"), InputKind::Expression);
        assert_eq!(input_kind("variance"), InputKind::Expression);
        assert_eq!(input_kind("\n  # nothing\n"), InputKind::Empty);
    }

    #[test]
    fn highlighting_keeps_the_text() {
        let line = ":show x  # c\nparam p = $1.5bn + max(\"a{b}\", 2026-01) and ünïcode";
        let coloured = highlight(line);
        assert_eq!(strip_ansi(&coloured), line);
        assert!(coloured.contains(&format!("{KEYWORD}param{RESET}")));
        assert!(coloured.contains(&format!("{NUMBER}$1.5bn{RESET}")));
        assert!(coloured.contains(&format!("{NUMBER}2026-01{RESET}")));
        assert!(coloured.contains(&format!("{COMMAND}:show{RESET}")));
        assert!(coloured.contains(&format!("{BUILTIN}max{RESET}")));
        assert!(coloured.contains(&format!("{COMMENT}# c{RESET}")));
        assert!(highlight("1-x").starts_with(&format!("{NUMBER}1{RESET}-")));
    }

    fn strip_ansi(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                chars.by_ref().find(|&c| c == 'm');
            } else {
                out.push(c);
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn editing_helpers_never_panic(
            line in proptest::prop_oneof!["\\PC{0,40}", "[:a-zé. \n\"#{}$0-9%=(-]{0,30}"],
            cut in 0usize..60,
        ) {
            let h = helper();
            let history = rustyline::history::DefaultHistory::new();
            let ctx = Context::new(&history);
            let mut pos = cut.min(line.len());
            while !line.is_char_boundary(pos) {
                pos -= 1;
            }
            let _ = h.complete(&line, pos, &ctx);
            let _ = h.hint(&line, pos, &ctx);
            let _ = h.hint(&line, line.len(), &ctx);
            proptest::prop_assert_eq!(strip_ansi(&highlight(&line)), line.clone());
            let _ = input_state(&line);
            let _ = split_trailing_command(&line);
        }
    }

    fn helper() -> ReplHelper {
        let mut helper = ReplHelper::new(false);
        helper.names.names = vec!["coreweave".into(), "contract_share".into(), "h100_price".into()];
        helper.names.kinds.insert("Lessor".into(), vec!["cash".into(), "collateral".into(), "gpus".into()]);
        helper.names.entity_kind.insert("coreweave".into(), "Lessor".into());
        helper.names.rules = vec!["margin_call".into()];
        helper.names.exposure =
            ["creditor", "debtor", "amount", "recovery", "maturity"].map(String::from).into();
        helper.names.debtor =
            ["cash", "collateral", "gpus", "defaulted", "defaulted_at"].map(String::from).into();
        helper.names.creditor = ["defaulted", "defaulted_at"].map(String::from).into();
        helper
    }

    #[test]
    fn completion_knows_the_fields_of_exposures_and_their_debtors() {
        let h = helper();
        let line = "let owed = sum(x.amount for x in exposures_of(coreweave) where x.";
        assert_eq!(h.candidates(line, "m"), vec!["maturity"]);
        assert_eq!(h.candidates(line, "").len(), 5);
        // `x.debtor.` before its `for x in ...` is typed: `x` is no declared name.
        let line = "let cash = sum(x.amount * x.debtor.";
        assert_eq!(h.candidates(line, "g"), vec!["gpus"]);
        assert!(h.candidates("coreweave.debtor.", "").is_empty(), "an entity has no debtor");
        // `for b: Lessor` binds `b` to a kind.
        assert_eq!(h.candidates("for b: Lessor when b.", "c"), vec!["cash", "collateral"]);
        assert_eq!(h.candidates("let s = sum(l.gpus for l in Lessor where l.", "g"), vec!["gpus"]);
        let line = "let cash = sum(x.amount for x in exposures_to(coreweave) where x.debtor.";
        assert_eq!(h.candidates(line, "c"), vec!["cash", "collateral"]);
        let line = "let c = count(x for x in exposures_to(coreweave) where x.creditor.";
        assert_eq!(h.candidates(line, "d"), vec!["defaulted", "defaulted_at"]);
        let history = rustyline::history::DefaultHistory::new();
        let ctx = Context::new(&history);
        let line = "let s = sum(x.amount for x in exposures_of(coreweave) where x.debtor.gp";
        let hint = h.hint(line, line.len(), &ctx).expect("one field completes `gp`");
        assert_eq!(hint.display(), "us");
        let line = "let s = sum(x.amount for x in exposures_of(coreweave) where x.matu";
        assert_eq!(h.hint(line, line.len(), &ctx).map(|h| h.display().to_string()).as_deref(), Some("rity"));
    }

    #[test]
    fn completion_knows_commands_names_and_fields() {
        let h = helper();
        assert_eq!(h.candidates(":", "st"), vec!["step"]);
        assert_eq!(h.candidates("coreweave.", "c"), vec!["cash", "collateral"]);
        assert_eq!(h.candidates("x + coreweave.", ""), vec!["cash", "collateral", "gpus"]);
        assert_eq!(h.candidates("", "co"), vec!["contract_share", "coreweave", "count"]);
        assert_eq!(h.candidates(":show ", "ma"), vec!["margin_call"]);
        assert_eq!(h.candidates(":help ", "ba"), vec!["back"]);
        assert_eq!(h.candidates(":graph ", "m"), vec!["mermaid"]);
        assert_eq!(h.candidates("Lessor.", "g"), vec!["gpus"]);
        assert!(h.candidates("nobody.", "").is_empty());
        assert!(h.candidates("é.", "").is_empty());
        assert_eq!(word_start("x + éco", "x + éco".len()), "x + é".len());
    }

    #[test]
    fn an_open_builtin_call_hints_its_usage() {
        let h = helper();
        let history = rustyline::history::DefaultHistory::new();
        let ctx = Context::new(&history);
        let hint = h.hint("x + clamp(", 10, &ctx).expect("a hint after `clamp(`");
        assert_eq!(hint.display(), "  # `clamp(x, lo, hi)` keeps x between lo and hi");
        assert_eq!(hint.completion(), None);
        assert!(h.hint("x + nothing(", 12, &ctx).is_none());
    }
}
