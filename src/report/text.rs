//! The text report, in pieces that can be written as the run goes: the
//! heading, the timeline lines of each step, and the final state.

use std::fmt::Write as _;

use crate::engine::Run;
use crate::eval::Evaluator;
use crate::eval::display_value;
use crate::eval::trace::EventKind;

use crate::names::slot_name;

impl Run {
    /// A readable report: the event timeline, the final values and the
    /// expectations. With `changes`, every change of a stored value too.
    pub fn text_report(&mut self, changes: bool) -> String {
        let mut out = self.text_heading();
        let mut any = false;
        for index in 0..self.machine.log.steps.len() {
            for line in self.text_timeline(index, changes) {
                if !std::mem::replace(&mut any, true) {
                    out.push_str("\nTimeline\n");
                }
                out.push_str(&line);
            }
        }
        out.push_str(&self.text_final(any));
        out
    }

    /// The report's title and its underline.
    pub fn text_heading(&self) -> String {
        let ir = &self.program.inner.ir;
        let title = ir.scenario.title.clone().unwrap_or_else(|| ir.source.name().to_string());
        format!("{title}\n{}\n", "=".repeat(title.chars().count()))
    }

    /// The timeline lines of the step at `index` in the log (0 is the first
    /// step that ran), each ending in a newline: its events and, with `changes`,
    /// every change of a stored value, in the order they happened.
    pub fn text_timeline(&self, index: usize, changes: bool) -> Vec<String> {
        let ir = &self.program.inner.ir;
        let log = &self.machine.log;
        let Some(mark) = log.steps.get(index) else { return Vec::new() };
        let (_, change_range, event_range) = log.ranges(index);
        // (cause, changes before events, order) keeps each firing's records together.
        let mut lines: Vec<(u32, u8, usize, String)> = Vec::new();
        for n in event_range {
            let e = &log.events[n];
            let text = match &e.kind {
                EventKind::Default(entity) => format!("{} DEFAULTS", ir.entities[*entity as usize].name),
                EventKind::Emit(text) => text.clone(),
                EventKind::Stop(reason) => format!("STOP: {reason}"),
            };
            lines.push((e.cause, 1, n, format!("{text}  ({})", self.firing_label(e.cause))));
        }
        if changes {
            for n in change_range {
                let c = &log.changes[n];
                let text = format!(
                    "{} {} -> {}",
                    slot_name(ir, c.slot),
                    display_value(ir, &c.from),
                    display_value(ir, &c.to)
                );
                lines.push((c.cause, 0, n, format!("{text}  ({})", self.firing_label(c.cause))));
            }
        }
        lines.sort_by_key(|(cause, kind, n, _)| (*cause, *kind, *n));
        let step = mark.step;
        let date = ir.scenario.date_of(step).map(|d| d.to_string());
        lines
            .into_iter()
            .map(|(_, _, _, text)| match &date {
                Some(date) => format!("  {step:>4}  {date}  {text}\n"),
                None => format!("  {step:>4}  {text}\n"),
            })
            .collect()
    }

    /// The end of the report: "No events." if the timeline was empty (`any`
    /// false), the final values of vars and entities, and the expectations.
    pub fn text_final(&mut self, any: bool) -> String {
        let inner = self.program.inner.clone();
        let ir = &inner.ir;
        let mut out = String::new();
        let when = |step: u64| ir.scenario.date_of(step).map_or_else(String::new, |d| d.to_string());
        if !any {
            let _ = writeln!(out, "\nNo events.");
        }
        let step = self.machine.st.step;
        let end = match self.stop_reason() {
            Some(reason) => format!("stopped at step {step}: {reason}"),
            None => format!("after step {step}"),
        };
        let dated = ir.scenario.start.is_some();
        let date = if dated { format!(" ({})", when(step)) } else { String::new() };
        let _ = writeln!(out, "\nFinal state, {end}{date}");
        if !ir.vars.is_empty() {
            let width = ir.vars.iter().map(|v| v.name.len()).max().unwrap_or(0);
            for (v, var) in ir.vars.iter().enumerate() {
                let _ =
                    writeln!(out, "  {:<width$}  {}", var.name, display_value(ir, &self.machine.st.slots[v]));
            }
        }
        let mut ev = Evaluator { ir, st: &mut self.machine.st, derived_owner: &inner.owners };
        for kind in &ir.kinds {
            if kind.entities.is_empty() {
                continue;
            }
            let mut table: Vec<Vec<String>> = Vec::new();
            let mut header = vec![kind.name.clone()];
            header.extend(kind.fields.iter().map(|f| f.name.clone()));
            header.push(String::from("defaulted"));
            table.push(header);
            for &e in &kind.entities {
                let entity = &ir.entities[e as usize];
                let mut row = vec![entity.name.clone()];
                for field in &kind.fields {
                    let value = if field.derived {
                        ev.derived(ir.layout[e as usize].derived_base + field.index, field.span)
                            .map_or_else(|f| format!("<{}>", f.message), |v| display_value(ir, &v))
                    } else {
                        display_value(
                            ir,
                            &ev.st.slots[(ir.layout[e as usize].slot_base + field.index) as usize],
                        )
                    };
                    row.push(value);
                }
                let at = &ev.st.slots[ir.defaulted_slot(e) as usize + 1];
                row.push(match at.as_number() {
                    Some(n) => {
                        let s: u64 = n.try_into().unwrap_or(0);
                        if dated { format!("step {s} ({})", when(s)) } else { format!("step {s}") }
                    }
                    None => String::from("no"),
                });
                table.push(row);
            }
            out.push('\n');
            out.push_str(&format_table(&table));
        }
        let results = self.expectations();
        if !results.is_empty() {
            let passed = results.iter().filter(|r| r.passed).count();
            let _ = writeln!(out, "\nExpectations: {passed} passed, {} failed", results.len() - passed);
        }
        out
    }
}

fn format_table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> =
            row.iter()
                .enumerate()
                .map(|(c, s)| {
                    if c == 0 { format!("{s:<w$}", w = widths[c]) } else { format!("{s:>w$}", w = widths[c]) }
                })
                .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
        if i == 0 {
            let _ =
                writeln!(out, "  {}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
        }
    }
    out
}
