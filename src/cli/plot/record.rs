//! What a chart draws: the values of chosen names at every step of a run, and
//! the run's events. Names are chosen by the analyst (`h100_price`,
//! `coreweave.*`, `*.cash`) or by [`default_names`].

use cascade::{Date, Error, Event, Program, Run, Value};
use rust_decimal::prelude::ToPrimitive;

/// At most this many lines in one chart; a pattern that matches more draws the
/// first ones and says so.
pub const MAX_LINES: usize = 24;

/// With at most this many entities, the default chart adds their cash-like fields.
const FEW_ENTITIES: usize = 8;

/// One drawn quantity: its name and its value at each recorded step (`None`
/// where it has no number, e.g. `defaulted_at` before a default).
#[derive(Clone, Debug)]
pub struct Line {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// The values of a run step by step, and its events.
#[derive(Clone, Debug)]
pub struct Recording {
    /// The scenario's title, or the file's name.
    pub title: String,
    /// The step of each recorded row (0, 1, 2, ...).
    pub steps: Vec<u64>,
    /// The date of each recorded row, when the scenario has a start.
    pub dates: Vec<Option<Date>>,
    pub lines: Vec<Line>,
    /// The run's defaults and `emit`s (and its `stop`), in order.
    pub events: Vec<Event>,
}

impl Recording {
    /// An empty recording of `names`; call [`Recording::record`] after each step.
    pub fn new(program: &Program, names: &[String]) -> Recording {
        let title = program.title().map_or_else(|| program.source().name().to_string(), str::to_string);
        Recording {
            title,
            steps: Vec::new(),
            dates: Vec::new(),
            lines: names.iter().map(|n| Line { name: n.clone(), values: Vec::new() }).collect(),
            events: Vec::new(),
        }
    }

    /// Records the run's current values (and its events so far).
    pub fn record(&mut self, run: &mut Run) -> Result<(), Error> {
        self.steps.push(run.current_step());
        self.dates.push(run.current_date());
        for line in &mut self.lines {
            let value = run.value(&line.name)?;
            line.values.push(number(&value));
        }
        self.events = run.events();
        Ok(())
    }

    /// Runs `run` to its end, recording every step from the current one.
    pub fn record_to_end(&mut self, run: &mut Run) -> Result<(), Error> {
        self.record(run)?;
        while run.step()?.is_some() {
            self.record(run)?;
        }
        Ok(())
    }

    /// Drops the lines that never had a number (booleans, entities, dates).
    pub fn keep_numbers(&mut self) {
        self.lines.retain(|l| l.values.iter().any(Option::is_some));
    }
}

/// A value as a number to draw: numbers as they are, nothing else.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.to_f64().filter(|x| x.is_finite()),
        _ => None,
    }
}

/// Every name a chart can draw: vars, lets, series, then each entity's fields
/// (`entity.field`, with `defaulted_at`), in declaration order. Params are
/// drawable when named but are not listed (they do not change).
pub fn drawable_names(program: &Program) -> Vec<String> {
    let mut names = Vec::new();
    let declarations = program.declarations();
    for d in &declarations {
        if d.what.is_value() {
            names.push(d.name.clone());
        }
    }
    for d in declarations.iter().filter(|d| d.what == cascade::DeclarationKind::Entity) {
        for field in program.fields(&d.name).unwrap_or_default() {
            if field != "defaulted" {
                names.push(format!("{}.{field}", d.name));
            }
        }
    }
    names
}

/// The names a pattern stands for: `*` matches any run of characters
/// (`coreweave.*`, `*.cash`, `h100_*`); a name without `*` stands for itself
/// (params included). Matches keep the order of [`drawable_names`].
pub fn expand(program: &Program, patterns: &[String]) -> Result<Vec<String>, String> {
    let all = drawable_names(program);
    let params: Vec<String> = program.params().into_iter().map(|p| p.name).collect();
    let mut out: Vec<String> = Vec::new();
    for pattern in patterns {
        if pattern.contains('*') {
            let found: Vec<&String> = all.iter().filter(|n| glob(pattern, n)).collect();
            if found.is_empty() {
                return Err(format!("`{pattern}` matches no var, let, series or field"));
            }
            out.extend(found.into_iter().filter(|n| !out.contains(n)).cloned().collect::<Vec<_>>());
        } else if all.contains(pattern) || params.contains(pattern) {
            if !out.contains(pattern) {
                out.push(pattern.clone());
            }
        } else {
            let hint =
                cascade::diagnostic::did_you_mean(pattern, all.iter().chain(&params).map(String::as_str))
                    .unwrap_or_else(|| {
                        String::from("`cascade plot FILE` with no names draws the vars and lets")
                    });
            return Err(format!("`{pattern}` is not a var, let, series, param or `entity.field`; {hint}"));
        }
    }
    Ok(out)
}

/// The default chart: every var and let (and series), plus the cash-like
/// fields (`cash`, `capital`, `equity`, `reserves`) of each entity when the
/// scenario has at most a few entities.
pub fn default_names(program: &Program) -> Vec<String> {
    let declarations = program.declarations();
    let mut names: Vec<String> =
        declarations.iter().filter(|d| d.what.is_value()).map(|d| d.name.clone()).collect();
    let entities: Vec<&str> = declarations
        .iter()
        .filter(|d| d.what == cascade::DeclarationKind::Entity)
        .map(|d| d.name.as_str())
        .collect();
    if entities.len() <= FEW_ENTITIES {
        for entity in entities {
            for field in program.fields(entity).unwrap_or_default() {
                if ["cash", "capital", "equity", "reserves"].iter().any(|c| field.contains(c)) {
                    names.push(format!("{entity}.{field}"));
                }
            }
        }
    }
    names
}

/// Does `name` match `pattern`, where `*` is any run of characters?
pub fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == name;
    }
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// The entity an event is about, for its marker's label: the defaulted
/// entity, or the entities bound by the rule that emitted (`margin_call [l =
/// coreweave]` → `coreweave`), or else the rule's name.
pub fn event_label(event: &Event) -> String {
    if event.kind == cascade::EventKind::Default {
        return event.text.clone();
    }
    if let (Some(open), true) = (event.rule.find('['), event.rule.ends_with(']')) {
        let bound: Vec<&str> = event.rule[open + 1..event.rule.len() - 1]
            .split(", ")
            .filter_map(|b| b.split_once(" = ").map(|(_, e)| e))
            .collect();
        if !bound.is_empty() {
            return bound.join(", ");
        }
    }
    if event.rule.starts_with("rule at line") {
        let text: String = event.text.chars().take(24).collect();
        if text.len() < event.text.len() { format!("{text}…") } else { text }
    } else {
        event.rule.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches_prefixes_suffixes_and_middles() {
        assert!(glob("*.cash", "coreweave.cash"));
        assert!(!glob("*.cash", "coreweave.cashflow"));
        assert!(glob("coreweave.*", "coreweave.ltv"));
        assert!(!glob("coreweave.*", "neocloud.ltv"));
        assert!(glob("h100_*", "h100_price"));
        assert!(glob("*", "anything"));
        assert!(glob("a*b*c", "a-x-b-y-c"));
        assert!(!glob("a*b*c", "a-x-c"));
        assert!(!glob("ab*ba", "aba"));
        assert!(glob("x", "x"));
    }
}
