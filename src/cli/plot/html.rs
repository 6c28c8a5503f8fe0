//! `cascade report`: one HTML file that needs nothing else to be read: the
//! chart is inline SVG, the style sheet is inline, there is no script and no
//! link to fetch. It reads well on a laptop, on a phone (the chart scales to
//! the width, wide tables and texts scroll sideways inside their box) and on
//! paper (a print style sheet).

use std::fmt::Write;

use cascade::{Polarity, Program, Run};

use super::record::Recording;

const STYLE: &str = r#"
:root { --ink: #1d1d1f; --muted: #5f6368; --rule: #dadce0; --paper: #ffffff; --tint: #f6f7f9; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--paper); color: var(--ink);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 64rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.7rem; line-height: 1.2; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; padding-bottom: .2rem; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
p.sub { color: var(--muted); margin: 0 0 1rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { background: var(--tint); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.code { overflow-wrap: anywhere; }
td.code, code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .88em; }
tr.default td { font-weight: 600; }
.failed { color: var(--bad); font-weight: 600; }
figure { margin: 1rem 0; }
figure svg { display: block; width: 100%; height: auto; border: 1px solid var(--rule); border-radius: 4px; }
figcaption { color: var(--muted); font-size: .88rem; margin-top: .3rem; }
pre { background: var(--tint); border: 1px solid var(--rule); border-radius: 4px; padding: .7rem .9rem;
  overflow-x: auto; font: .82rem/1.45 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
ol.loops li { margin: .3rem 0; }
.tag { display: inline-block; font-size: .78rem; padding: 0 .4rem; border-radius: 3px; border: 1px solid var(--rule); background: var(--tint); }
footer { color: var(--muted); font-size: .8rem; margin-top: 3rem; }
@media (max-width: 40rem) {
  body { font-size: 15px; }
  main { padding: 1rem .6rem 2rem; }
  h1 { font-size: 1.35rem; }
  th, td { padding: .25rem .4rem; }
}
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  .scroll { overflow: visible; }
  pre { white-space: pre-wrap; overflow: visible; word-break: break-word; }
  figure, pre, tr { break-inside: avoid; }
  h2 { break-after: avoid; }
  figure svg { border: none; }
}
"#;

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole page for a run that has ended.
pub fn page(
    program: &Program,
    run: &mut Run,
    recording: &Recording,
    chart: Option<&str>,
    monte_carlo: Option<&str>,
) -> String {
    let mut out = String::new();
    let title = esc(&recording.title);
    let trace = run.trace().to_json();
    let provenance = &trace["provenance"];
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n"
    );
    let last = run.current_step();
    let end = match run.stop_reason() {
        Some(reason) => format!("stopped at step {last}: {}", esc(reason)),
        None => format!("ran to step {last}"),
    };
    let _ = writeln!(out, "<p class=\"sub\">{} · {end}</p>", esc(program.source().name()));

    provenance_section(&mut out, provenance);
    expectations_section(&mut out, run);
    timeline_section(&mut out, run, recording);
    if let Some(svg) = chart {
        let names: Vec<&str> = recording.lines.iter().map(|l| l.name.as_str()).collect();
        let _ = writeln!(
            out,
            "<h2>Chart</h2>\n<figure>\n{}\n<figcaption>{} over the steps; dashed lines mark defaults, \
             dotted lines <code>emit</code>s.</figcaption>\n</figure>",
            svg.trim_start_matches(|c| c != '<'),
            esc(&names.join(", "))
        );
    }
    if let Some(section) = monte_carlo {
        out.push_str(section);
    }
    defaults_section(&mut out, run);
    loops_section(&mut out, program);
    let _ = writeln!(
        out,
        "<footer>Made by {} from {} (sha256 {}).</footer>\n</main>\n</body>\n</html>",
        esc(provenance["engine"].as_str().unwrap_or("cascade")),
        esc(provenance["file"].as_str().unwrap_or("")),
        esc(provenance["sha256"].as_str().unwrap_or(""))
    );
    out
}

/// The Monte Carlo section: each entity's probability of default with its
/// interval and the percentiles of its default step, then the chart.
pub fn monte_carlo_section(summary: &cascade::Summary, svg: &str, seed: u64, failures: u64) -> String {
    let mut out = String::new();
    let rows = summary.default_table(0);
    let paths = summary.paths();
    let failed = if failures == 0 {
        String::new()
    } else {
        format!(" <span class=\"failed\">{failures} ended in an error.</span>")
    };
    let _ = writeln!(
        out,
        "<h2>Monte Carlo</h2>\n<p>{paths} paths with seed {seed}: uncertain params drawn and every random \
         draw made anew on each path (<code>cascade sweep --runs {paths} --seed {seed} --summary</code>).{failed}</p>\n\
         <div class=\"scroll\"><table>\n<tr><th>entity</th><th class=\"num\">defaults</th>\
         <th class=\"num\">probability</th><th class=\"num\">95% interval</th>\
         <th class=\"num\">step p10</th><th class=\"num\">p50</th><th class=\"num\">p90</th></tr>"
    );
    let step = |s: Option<u64>| match s {
        None => String::from("–"),
        Some(s) => match summary.date_of_step(s).filter(|_| s > 0) {
            Some(date) => format!("{s} ({date})"),
            None => s.to_string(),
        },
    };
    for row in &rows {
        let _ = writeln!(
            out,
            "<tr><td class=\"code\">{}</td><td class=\"num\">{} of {}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}–{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&row.entity),
            row.count,
            row.paths,
            esc(&row.probability),
            esc(&row.ci_low),
            esc(&row.ci_high),
            step(row.steps[0]),
            step(row.steps[1]),
            step(row.steps[2])
        );
    }
    let _ = writeln!(
        out,
        "</table></div>\n<figure>\n{}\n<figcaption>The share of paths in which each entity had defaulted \
         by each step, and the spread of the vars over the paths (10–90% and 25–75% bands, median).\
         </figcaption>\n</figure>",
        svg.trim_start_matches(|c| c != '<')
    );
    out
}

fn provenance_section(out: &mut String, provenance: &serde_json::Value) {
    let _ = writeln!(out, "<h2>Scenario</h2>\n<div class=\"scroll\"><table>");
    let row = |out: &mut String, key: &str, value: &str| {
        let _ = writeln!(out, "<tr><th>{}</th><td class=\"code\">{}</td></tr>", esc(key), esc(value));
    };
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    row(out, "file", &text(&provenance["file"]));
    row(out, "sha256", &text(&provenance["sha256"]));
    row(out, "engine", &text(&provenance["engine"]));
    if !provenance["start"].is_null() {
        row(out, "start", &text(&provenance["start"]));
    }
    row(out, "step", &text(&provenance["step_unit"]));
    row(out, "horizon", &text(&provenance["horizon"]));
    let _ = writeln!(out, "</table></div>");
    if let Some(params) = provenance["params"].as_object().filter(|p| !p.is_empty()) {
        let _ = writeln!(
            out,
            "<h3>Params</h3>\n<div class=\"scroll\"><table>\n<tr><th>param</th><th class=\"num\">value</th></tr>"
        );
        for (name, value) in params {
            let _ = writeln!(
                out,
                "<tr><td class=\"code\">{}</td><td class=\"num code\">{}</td></tr>",
                esc(name),
                esc(&text(value))
            );
        }
        let _ = writeln!(out, "</table></div>");
    }
}

fn expectations_section(out: &mut String, run: &Run) {
    let results = run.expectations();
    if results.is_empty() {
        return;
    }
    let failed = results.iter().filter(|e| !e.passed).count();
    let summary = if failed == 0 {
        format!("all {} hold", results.len())
    } else {
        format!("<span class=\"failed\">{failed} of {} failed</span>", results.len())
    };
    let _ = writeln!(
        out,
        "<h2>Expectations</h2>\n<p>{summary}</p>\n<div class=\"scroll\"><table>\n\
         <tr><th class=\"num\">line</th><th></th><th>expectation</th></tr>"
    );
    for e in &results {
        let mark = if e.passed { "ok".to_string() } else { "<span class=\"failed\">FAIL</span>".to_string() };
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td>{mark}</td><td class=\"code\">{}</td></tr>",
            e.line,
            esc(e.text.lines().next().unwrap_or(""))
        );
    }
    let _ = writeln!(out, "</table></div>");
}

fn timeline_section(out: &mut String, run: &Run, recording: &Recording) {
    let events = run.events();
    let _ = writeln!(out, "<h2>Timeline</h2>");
    if events.is_empty() {
        let _ = writeln!(out, "<p>Nothing happened: no default, <code>emit</code> or <code>stop</code>.</p>");
        return;
    }
    let dated = recording.dates.iter().any(Option::is_some);
    let date_head = if dated { "<th>date</th>" } else { "" };
    let _ = writeln!(
        out,
        "<div class=\"scroll\"><table>\n<tr><th class=\"num\">step</th>{date_head}<th>event</th><th>rule</th></tr>"
    );
    for event in &events {
        let date = if dated {
            let d = recording.dates.get(event.step as usize).copied().flatten();
            format!("<td class=\"num\">{}</td>", d.map(|d| d.to_string()).unwrap_or_default())
        } else {
            String::new()
        };
        let (class, text) = match event.kind {
            cascade::EventKind::Default => (" class=\"default\"", format!("{} DEFAULTS", esc(&event.text))),
            cascade::EventKind::Stop => ("", format!("stop: {}", esc(&event.text))),
            cascade::EventKind::Emit => ("", esc(&event.text)),
        };
        let _ = writeln!(
            out,
            "<tr{class}><td class=\"num\">{}</td>{date}<td>{text}</td><td class=\"code\">{}</td></tr>",
            event.step,
            esc(&event.rule)
        );
    }
    let _ = writeln!(out, "</table></div>");
}

fn defaults_section(out: &mut String, run: &Run) {
    let defaulted: Vec<String> =
        run.events().into_iter().filter(|e| e.kind == cascade::EventKind::Default).map(|e| e.text).collect();
    let _ = writeln!(out, "<h2>Why each default happened</h2>");
    if defaulted.is_empty() {
        let _ = writeln!(out, "<p>No entity defaulted.</p>");
        return;
    }
    for entity in defaulted {
        let story = run.explain(&entity).unwrap_or_else(|e| format!("could not be explained: {e}"));
        let _ = writeln!(out, "<h3>{}</h3>\n<pre>{}</pre>", esc(&entity), esc(story.trim_end()));
    }
}

fn loops_section(out: &mut String, program: &Program) {
    let found = program.feedback_loops();
    let _ = writeln!(out, "<h2>Feedback loops</h2>");
    if found.loops.is_empty() {
        let _ = writeln!(out, "<p>The dependency graph has no feedback loop through a rule.</p>");
        return;
    }
    let _ = writeln!(
        out,
        "<p>{} reinforcing, {} balancing, {} of unknown polarity{}.</p>\n<ol class=\"loops\">",
        found.count(Polarity::Reinforcing),
        found.count(Polarity::Balancing),
        found.count(Polarity::Unknown),
        if found.capped { " (there may be more)" } else { "" }
    );
    for l in &found.loops {
        let mut path = String::new();
        for (i, name) in l.path.iter().enumerate() {
            let sign = l.signs.get(i).map_or("?", |s| s.symbol());
            let _ = write!(path, "{} <sub>{}</sub>→ ", esc(name), esc(sign));
        }
        path.push_str(&esc(l.path.first().map_or("", String::as_str)));
        let _ = writeln!(out, "<li><span class=\"tag\">{}</span> <code>{path}</code></li>", l.polarity);
    }
    let _ = writeln!(out, "</ol>");
}
