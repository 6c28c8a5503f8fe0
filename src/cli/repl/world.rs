//! The world as source text: the loaded script plus the items typed in the
//! REPL. An item that declares a name the world already declares replaces the
//! earlier item's text in place (so its position, and with it the order rules
//! run in, stays the same); anything else is appended.
//!
//! Problems found when the edited world is checked are shown against the
//! input they came from where they can be: [`World::edit`] records where each
//! typed item landed, and [`Edit::split`] maps spans back.

use cascade::source::{SourceFile, Span};
use cascade::syntax::{self, Item, ModelKind};
use cascade::{Diagnostics, Problem};

/// What a declaration is known by: an item with the same key replaces it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Key {
    /// Params, vars, lets, series, kinds and entities share one namespace.
    Name(String),
    Scenario,
    Rule(String),
    Exposure(String, String),
    /// `entities Kind from "file"` (with the kind) or `exposures from "file"`.
    Data(Option<String>, String),
    /// `clearing Kind ...` or `debtrank Kind`: one of each per kind.
    Model(bool, String),
}

fn key(item: &Item) -> Option<Key> {
    Some(match item {
        Item::Scenario(_) => Key::Scenario,
        Item::Param(d) | Item::Var(d) | Item::Let(d) => Key::Name(d.name.name.clone()),
        Item::Series(s) => Key::Name(s.name.name.clone()),
        Item::Kind(k) => Key::Name(k.name.name.clone()),
        Item::Entity(e) => Key::Name(e.name.name.clone()),
        Item::Exposure(x) => Key::Exposure(x.creditor.name.clone(), x.debtor.name.clone()),
        Item::Data(d) => Key::Data(d.kind.as_ref().map(|k| k.name.clone()), d.file.clone()),
        Item::Rule(r) => Key::Rule(r.name.as_ref()?.name.clone()),
        Item::Model(m) => Key::Model(m.model == ModelKind::Clearing, m.kind.name.clone()),
        Item::Expect(_) | Item::Assert(_) => return None,
    })
}

/// Does `item` declare the global name `name` (a param, var, let, series, kind or entity)?
pub fn declares(item: &Item, name: &str) -> bool {
    key(item) == Some(Key::Name(name.to_string()))
}

/// How an item is named in messages: "param `x`", "rule `margin_call`".
pub fn describe(item: &Item) -> String {
    match item {
        Item::Scenario(_) => String::from("the scenario block"),
        Item::Param(d) => format!("param `{}`", d.name.name),
        Item::Var(d) => format!("var `{}`", d.name.name),
        Item::Let(d) => format!("let `{}`", d.name.name),
        Item::Series(s) => format!("series `{}`", s.name.name),
        Item::Kind(k) => format!("kind `{}`", k.name.name),
        Item::Entity(e) => format!("entity `{}`", e.name.name),
        Item::Exposure(x) => format!("exposure `{} -> {}`", x.creditor.name, x.debtor.name),
        Item::Data(d) => match &d.kind {
            Some(kind) => format!("entities `{}` from \"{}\"", kind.name, d.file),
            None => format!("exposures from \"{}\"", d.file),
        },
        Item::Rule(r) => match &r.name {
            Some(name) => format!("rule `{}`", name.name),
            None => String::from("a rule"),
        },
        Item::Expect(_) => String::from("an expect"),
        Item::Assert(_) => String::from("an assert"),
        Item::Model(m) => match m.model {
            ModelKind::Clearing => format!("the clearing of `{}`", m.kind.name),
            ModelKind::DebtRank => format!("the DebtRank of `{}`", m.kind.name),
        },
    }
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The parsed items of a text (the world always parses: it compiled).
pub fn items(text: &str) -> Vec<Item> {
    syntax::parse_file(&SourceFile::new("<world>", text)).0.items
}

/// Where one typed item landed in the edited world.
#[derive(Clone, Copy, Debug)]
struct Region {
    world_start: usize,
    world_end: usize,
    input_start: usize,
}

/// The world after typed items were put into it.
pub struct Edit {
    /// The new world text.
    pub text: String,
    /// One line per item: "added var `x`", "replaced param `y` (line 29)".
    pub notes: Vec<String>,
    regions: Vec<Region>,
}

/// Puts `input`'s items into `world`. `input` must parse (its items are taken
/// as written, comments inside them included).
pub fn edit(world: &str, input: &str, parsed: &[Item]) -> Edit {
    let mut text = world.to_string();
    let mut regions: Vec<Region> = Vec::new();
    let mut notes = Vec::new();
    for item in parsed {
        let span = item.span();
        let (start, end) = (span.start as usize, span.end as usize);
        let Some(new) = input.get(start..end) else { continue };
        let existing = key(item).and_then(|k| {
            items(&text).into_iter().find(|old| key(old).as_ref() == Some(&k)).map(|old| (old.span(), old))
        });
        match existing {
            Some((old_span, old)) => {
                let (a, b) = (old_span.start as usize, old_span.end as usize);
                let line = line_of(&text, a);
                text.replace_range(a..b, new);
                let shift = |x: usize| if x >= b { x + new.len() - (b - a) } else { x };
                // A typed item replaced earlier in the same input is gone.
                regions.retain(|r| r.world_end <= a || r.world_start >= b);
                for r in &mut regions {
                    r.world_start = shift(r.world_start);
                    r.world_end = shift(r.world_end);
                }
                regions.push(Region { world_start: a, world_end: a + new.len(), input_start: start });
                let was = describe(&old);
                let now = describe(item);
                notes.push(if was == now {
                    format!("replaced {was} (line {line})")
                } else {
                    format!("replaced {was} (line {line}) by {now}")
                });
            }
            None => {
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                let at = text.len();
                text.push_str(new);
                text.push('\n');
                regions.push(Region { world_start: at, world_end: at + new.len(), input_start: start });
                notes.push(format!("added {}", describe(item)));
            }
        }
    }
    Edit { text, notes, regions }
}

impl Edit {
    /// Splits the problems found in the edited world into those about the
    /// typed input (every label inside a typed item: shown against the input)
    /// and the others (shown against the world).
    pub fn split(&self, input: &SourceFile, world: &Diagnostics) -> (Diagnostics, Diagnostics) {
        let mut mine = Vec::new();
        let mut theirs = Vec::new();
        for problem in world.problems() {
            match self.to_input(problem) {
                Some(p) => mine.push(p),
                None => theirs.push(problem.clone()),
            }
        }
        (Diagnostics::new(input, mine), Diagnostics::new(world.source(), theirs))
    }

    fn to_input(&self, problem: &Problem) -> Option<Problem> {
        if problem.labels.is_empty() {
            return None;
        }
        let mut mapped = problem.clone();
        for label in &mut mapped.labels {
            let (s, e) = (label.span.start as usize, label.span.end as usize);
            let region = self.regions.iter().find(|r| r.world_start <= s && e <= r.world_end)?;
            let start = region.input_start + (s - region.world_start);
            label.span = Span::new(start, start + (e - s));
        }
        Some(mapped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Vec<Item> {
        let (file, problems) = syntax::parse_file(&SourceFile::new("<input>", input));
        assert!(problems.is_empty(), "{problems:?}");
        file.items
    }

    #[test]
    fn new_items_are_appended_and_redefinitions_replace_in_place() {
        let world = "param a = 1   # note\nvar b = a\nwhen b > 0 then b -= 1\n";
        let input = "param a = 2\nvar c = 3";
        let e = edit(world, input, &parse(input));
        assert_eq!(e.text, "param a = 2   # note\nvar b = a\nwhen b > 0 then b -= 1\nvar c = 3\n");
        assert_eq!(e.notes, vec!["replaced param `a` (line 1)", "added var `c`"]);
    }

    #[test]
    fn a_name_keeps_its_place_when_it_changes_what_it_is() {
        let world = "param a = 1\nvar b = 2\n";
        let input = "var a = 5";
        let e = edit(world, input, &parse(input));
        assert_eq!(e.text, "var a = 5\nvar b = 2\n");
        assert_eq!(e.notes, vec!["replaced param `a` (line 1) by var `a`"]);
    }

    #[test]
    fn rules_are_replaced_by_name_and_unnamed_rules_added() {
        let world = "var x = 1\nrule r: while x > 0 then x -= 1\n";
        let input = "rule r: while x > 1 then x -= 2\nwhen x == 0 then stop \"done\"";
        let e = edit(world, input, &parse(input));
        assert_eq!(e.text, "var x = 1\nrule r: while x > 1 then x -= 2\nwhen x == 0 then stop \"done\"\n");
        assert_eq!(e.notes, vec!["replaced rule `r` (line 2)", "added a rule"]);
    }

    #[test]
    fn problems_in_typed_items_point_into_the_input() {
        let world = "param a = 1\n";
        let input = "var b = nope";
        let e = edit(world, input, &parse(input));
        let at = e.text.find("nope").unwrap();
        let problem = Problem::error("x", "unknown").label(Span::new(at, at + 4), "here");
        let file = Problem::error("y", "in the file").label(Span::new(0, 5), "there");
        let diagnostics = Diagnostics::new(&SourceFile::new("w", e.text.as_str()), vec![problem, file]);
        let (mine, theirs) = e.split(&SourceFile::new("<input>", input), &diagnostics);
        assert_eq!(mine.problems().len(), 1);
        assert_eq!(mine.problems()[0].labels[0].span, Span::new(8, 12));
        assert_eq!(theirs.problems().len(), 1);
    }
}
