//! What the REPL prints: values, steps and their events, `:show`, `:rules`
//! and `:events`.

use std::io::Write;

use cascade::syntax::Item;
use cascade::{Event, Run, StepSummary, Value};

use super::session::{Outcome, Session, say};
use super::world;

/// A value as the analyst reads it, with its exact form when the short form
/// rounds: `1.473bn (exactly 1473012345.5)`.
pub fn value_text(run: &mut Run, value: &Value) -> String {
    let shown = run.display(value);
    if let Value::Number(_) = value {
        // Read the short form back as a number: if it is the same value, it is exact.
        let same = run.evaluate(&shown).is_ok_and(|v| v == *value);
        if !same {
            return format!("{shown} (exactly {value})");
        }
    }
    if let Value::Str(_) = value {
        return format!("{shown:?}");
    }
    shown
}

/// A step with more events than this shows only the first ones.
const EVENTS_PER_STEP: usize = 12;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn event_text(e: &Event) -> String {
    format!("{}: {}  ({})", e.kind, e.text, e.rule)
}

impl Session {
    /// One line per step that had events (and for the last step), with its events.
    pub(super) fn print_steps(&self, summaries: &[StepSummary], out: &mut dyn Write) {
        let Some(last) = summaries.last().map(|s| s.step) else { return };
        let events = self.timeline.current.events();
        for s in summaries {
            let from = events.partition_point(|e| e.step < s.step);
            let to = events.partition_point(|e| e.step <= s.step);
            let these = &events[from..to.max(from)];
            if these.is_empty() && s.step != last {
                continue;
            }
            let when = match s.date {
                Some(date) => format!("step {} ({date})", s.step),
                None => format!("step {}", s.step),
            };
            say!(
                out,
                "{when}: {}, {}",
                plural(s.firings, "rule fired", "rules fired"),
                plural(s.changes, "value changed", "values changed")
            );
            for e in these.iter().take(EVENTS_PER_STEP) {
                say!(out, "  {}", event_text(e));
            }
            if these.len() > EVENTS_PER_STEP {
                say!(out, "  ... and {} more events (`:events` lists them)", these.len() - EVENTS_PER_STEP);
            }
        }
    }

    /// How the run ended, and its expectations.
    pub(super) fn print_end(&self, out: &mut dyn Write) {
        let run = &self.timeline.current;
        let step = run.current_step();
        match run.stop_reason() {
            Some(reason) => say!(out, "the run stopped at step {step}: {reason}"),
            None => say!(out, "the run reached its horizon (step {step})"),
        }
        let expectations = run.expectations();
        if expectations.is_empty() {
            return;
        }
        let failed = expectations.iter().filter(|e| !e.passed).count();
        say!(out, "expectations: {} passed, {failed} failed", expectations.len() - failed);
        for e in expectations.iter().filter(|e| !e.passed) {
            let text = e.text.lines().next().unwrap_or("");
            let detail = if e.detail.is_empty() { String::new() } else { format!("  ({})", e.detail) };
            say!(out, "  failed: line {}: {text}{detail}", e.line);
        }
    }

    /// `:rules`.
    pub(super) fn rules(&self, out: &mut dyn Write) {
        let rules = self.program.rules();
        if rules.is_empty() {
            say!(out, "no rules");
            return;
        }
        let name =
            |label: &str| if label.contains(' ') { String::from("(unnamed)") } else { label.to_string() };
        let width = rules.iter().map(|r| name(&r.label).len()).max().unwrap_or(0);
        for r in &rules {
            let mut line = format!("  line {:>4}  {:<width$}", r.line, name(&r.label));
            if r.priority != 0 {
                line.push_str(&format!("  priority {}", r.priority));
            }
            if let Some(description) = &r.description {
                line.push_str(&format!("  \"{description}\""));
            }
            say!(out, "{}", line.trim_end());
        }
    }

    /// `:events [N]`.
    pub(super) fn events(&self, n: Option<u64>, out: &mut dyn Write) {
        let events = self.timeline.current.events();
        if events.is_empty() {
            say!(out, "no events yet");
            return;
        }
        let n = n.map_or(events.len(), |n| usize::try_from(n).unwrap_or(usize::MAX).min(events.len()));
        for e in &events[events.len() - n..] {
            say!(out, "step {:<4} {}", e.step, event_text(e));
        }
    }

    /// `:show NAME`.
    pub(super) fn show(&mut self, name: &str, out: &mut dyn Write) -> Outcome {
        if name.is_empty() {
            return self.fail(out, "`:show` needs a name: a var, an entity, a kind or a rule");
        }
        let declarations = self.program.declarations();
        if let Some(d) = declarations.iter().find(|d| d.name == name) {
            let what = d.what;
            match what {
                cascade::DeclarationKind::Entity => self.show_entity(name, &d.detail.clone(), out),
                cascade::DeclarationKind::Kind => self.show_kind(name, out),
                _ => self.show_global(what.as_str(), name, out),
            }
        } else if let Some(rule) = self.program.rules().into_iter().find(|r| r.label == name) {
            let mut head = format!("rule {} (line {}", rule.label, rule.line);
            if rule.priority != 0 {
                head.push_str(&format!(", priority {}", rule.priority));
            }
            say!(out, "{head})");
            for line in rule.text.lines() {
                say!(out, "  {line}");
            }
            Ok(())
        } else if name.contains('.') || name == "step" || name == "date" {
            let run = &mut self.timeline.current;
            let value = run.value(name).or_else(|e| self.fail_with(out, &e))?;
            let run = &mut self.timeline.current;
            say!(out, "{name} = {}", value_text(run, &value));
            Ok(())
        } else {
            let rules = self.program.rules();
            let candidates =
                declarations.iter().map(|d| d.name.as_str()).chain(rules.iter().map(|r| r.label.as_str()));
            let help = cascade::diagnostic::did_you_mean(name, candidates)
                .map(|h| format!(": {h}"))
                .unwrap_or_else(|| String::from(" (the world has no such var, entity, kind or rule)"));
            self.fail(out, &format!("unknown name `{name}`{help}"))
        }
    }

    fn item_named(&self, name: &str) -> Option<(Item, usize)> {
        self.world_items().iter().find(|item| world::declares(item, name)).map(|item| {
            let line = world::line_of(&self.world, item.span().start as usize);
            (item.clone(), line)
        })
    }

    fn show_global(&mut self, what: &str, name: &str, out: &mut dyn Write) -> Outcome {
        let run = &mut self.timeline.current;
        let value = run.value(name).or_else(|e| self.fail_with(out, &e))?;
        let run = &mut self.timeline.current;
        let mut head = format!("{what} {name} = {}", value_text(run, &value));
        if self.params.iter().any(|(n, _)| n == name) {
            head.push_str("  (set in the REPL)");
        }
        say!(out, "{head}");
        if let Some((item, line)) = self.item_named(name) {
            let span = item.span();
            let text = self.world.get(span.start as usize..span.end as usize).unwrap_or("");
            let mut lines = text.lines();
            say!(out, "  line {line}: {}", lines.next().unwrap_or(""));
            for more in lines {
                say!(out, "  {more}");
            }
        }
        Ok(())
    }

    fn show_entity(&mut self, name: &str, kind: &str, out: &mut dyn Write) -> Outcome {
        let fields = self.program.fields(name).unwrap_or_default();
        let derived: Vec<String> = match self.item_named(kind) {
            Some((Item::Kind(k), _)) => {
                k.fields.iter().filter(|f| f.derived).map(|f| f.name.name.clone()).collect()
            }
            _ => Vec::new(),
        };
        let labels: Vec<String> =
            fields.iter().map(|f| if derived.contains(f) { format!("let {f}") } else { f.clone() }).collect();
        let width = labels.iter().map(String::len).max().unwrap_or(0);
        say!(out, "entity {name}: {kind}");
        for (field, label) in fields.iter().zip(&labels) {
            let run = &mut self.timeline.current;
            let value = match run.value(&format!("{name}.{field}")) {
                Ok(v) => run.display(&v),
                Err(e) => format!("(cannot be computed: {})", first_problem(&e)),
            };
            say!(out, "  {label:<width$} = {value}");
        }
        Ok(())
    }

    fn show_kind(&mut self, name: &str, out: &mut dyn Write) -> Outcome {
        if let Some((item, line)) = self.item_named(name) {
            let span = item.span();
            let text = self.world.get(span.start as usize..span.end as usize).unwrap_or("");
            say!(out, "line {line}:");
            for l in text.lines() {
                say!(out, "  {l}");
            }
        }
        let entities: Vec<String> = self
            .program
            .declarations()
            .into_iter()
            .filter(|d| d.what == cascade::DeclarationKind::Entity && d.detail == name)
            .map(|d| d.name)
            .collect();
        if entities.is_empty() {
            say!(out, "no entities of kind {name}");
        } else {
            say!(out, "entities: {}", entities.join(", "));
        }
        Ok(())
    }
}

/// What stops a value being computed, in a few words: the first problem's
/// message and line ("arithmetic overflow: ... (line 54)"), not a count.
fn first_problem(error: &cascade::Error) -> String {
    let Some(diagnostics) = error.diagnostics() else { return error.to_string() };
    let Some(problem) = diagnostics.problems().first() else { return error.to_string() };
    match problem.span() {
        Some(span) => format!("{} (line {})", problem.message, diagnostics.source().line_of(span.start)),
        None => problem.message.clone(),
    }
}
