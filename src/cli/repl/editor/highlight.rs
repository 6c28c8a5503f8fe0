//! Syntax highlighting: commands, keywords, built-ins, numbers and dates,
//! strings and comments in ANSI colours, and the coloured prompt and hints.

use std::borrow::Cow;

use rustyline::highlight::{CmdKind, Highlighter};

use cascade::syntax::{BUILTIN_FUNCTIONS, BUILTIN_NAMES, KEYWORDS};

use super::ReplHelper;

pub(super) const RESET: &str = "\x1b[0m";
pub(super) const KEYWORD: &str = "\x1b[35m";
pub(super) const BUILTIN: &str = "\x1b[36m";
pub(super) const NUMBER: &str = "\x1b[33m";
pub(super) const STRING: &str = "\x1b[32m";
pub(super) const COMMENT: &str = "\x1b[90m";
pub(super) const COMMAND: &str = "\x1b[1;34m";
pub(super) const HINT: &str = "\x1b[2m";
pub(super) const PROMPT: &str = "\x1b[1;32m";

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.colour { Cow::Owned(highlight(line)) } else { Cow::Borrowed(line) }
    }

    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(&'s self, prompt: &'p str, default: bool) -> Cow<'b, str> {
        if self.colour && default {
            Cow::Owned(format!("{PROMPT}{prompt}{RESET}"))
        } else {
            Cow::Borrowed(prompt)
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.colour { Cow::Owned(format!("{HINT}{hint}{RESET}")) } else { Cow::Borrowed(hint) }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        self.colour && kind != CmdKind::MoveCursor
    }
}

/// `line` with ANSI colours: commands, keywords, built-ins, numbers and dates,
/// strings, comments. The visible text is unchanged.
pub fn highlight(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let mut rest = line;
    let mut at_line_start = true;
    while let Some(c) = rest.chars().next() {
        let (len, colour) = if at_line_start && c == ':' {
            let len = 1 + rest[1..].find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len() - 1);
            (len, Some(COMMAND))
        } else if c == '#' {
            (rest.find('\n').unwrap_or(rest.len()), Some(COMMENT))
        } else if c == '"' {
            (string_len(rest), Some(STRING))
        } else if c.is_ascii_digit() || (c == '$' && rest[1..].starts_with(|d: char| d.is_ascii_digit())) {
            (number_len(rest), Some(NUMBER))
        } else if c.is_ascii_alphabetic() || c == '_' {
            let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            let word = &rest[..len];
            let colour = if KEYWORDS.contains(&word) {
                Some(KEYWORD)
            } else if BUILTIN_FUNCTIONS.contains(&word) || BUILTIN_NAMES.contains(&word) {
                Some(BUILTIN)
            } else {
                None
            };
            (len, colour)
        } else {
            (c.len_utf8(), None)
        };
        let (token, tail) = rest.split_at(len.max(c.len_utf8()));
        match colour {
            Some(colour) => {
                out.push_str(colour);
                out.push_str(token);
                out.push_str(RESET);
            }
            None => out.push_str(token),
        }
        at_line_start = token.ends_with('\n') || (at_line_start && token.trim().is_empty());
        rest = tail;
    }
    out
}

/// The length of the number or date at the start of `text` (`$1.5bn`, `45%`,
/// `1_000`, `2026-01-31`).
fn number_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let date_dash = b == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        if !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'%' | b'$') || date_dash) {
            break;
        }
        i += 1;
    }
    i
}

/// The length of the string literal at the start of `text` (to its closing
/// quote, or the end of the line if it has none).
fn string_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' => return i,
            _ => i += 1,
        }
    }
    text.len()
}
