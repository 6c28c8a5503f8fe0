//! Diagnostics: every problem the syntax, check and run phases find.
//!
//! A [`Problem`] is plain data: a stable code (`cascade::check::unknown_name`), a
//! message, labelled spans and an optional help line. [`Diagnostics`] holds the
//! source file once and every problem found in it, so one run reports all of
//! them. Both implement [`miette::Diagnostic`].
//!
//! We use one data type rather than an enum with a variant per error: several
//! problems carry a variable number of labels (every member of a cycle, both
//! places of a duplicate), and the codes are what callers match on. The list of
//! codes is in `docs/language.md`.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};

use crate::source::{SourceFile, Span};

pub use miette::Severity;

/// A labelled span of a problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is wrong at that spot.
    pub text: String,
}

/// One error or warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Stable code, e.g. `cascade::check::unknown_name`.
    pub code: &'static str,
    /// One-line description.
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
    /// Labelled spans; the first is the primary one.
    pub labels: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Problem {
    /// An error with a code and a message.
    pub fn error(code: &'static str, message: impl Into<String>) -> Problem {
        Problem { code, message: message.into(), severity: Severity::Error, labels: Vec::new(), help: None }
    }

    /// A warning with a code and a message.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Problem {
        Problem { severity: Severity::Warning, ..Problem::error(code, message) }
    }

    /// Adds a labelled span.
    pub fn label(mut self, span: Span, text: impl Into<String>) -> Problem {
        self.labels.push(Label { span, text: text.into() });
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }

    /// Sets the help line if there is one.
    pub fn maybe_help(mut self, help: Option<String>) -> Problem {
        self.help = help.or(self.help);
        self
    }

    /// True for errors (not warnings).
    pub fn is_error(&self) -> bool {
        matches!(self.severity, Severity::Error)
    }

    /// The primary span, if the problem has one.
    pub fn span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().enumerate().map(|(i, l)| {
            let text = (!l.text.is_empty()).then(|| l.text.clone());
            if i == 0 {
                LabeledSpan::new_primary_with_span(text, l.span)
            } else {
                LabeledSpan::new_with_span(text, l.span)
            }
        })))
    }
}

/// Every problem found in one source file.
#[derive(Clone)]
pub struct Diagnostics {
    source: SourceFile,
    named: NamedSource<Arc<str>>,
    problems: Vec<Problem>,
}

impl fmt::Debug for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnostics")
            .field("file", &self.source.name())
            .field("problems", &self.problems)
            .finish()
    }
}

/// How [`Diagnostics::render`] draws problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenderStyle {
    /// Unicode boxes with colour (for a terminal).
    Colour,
    /// Unicode boxes without colour, 80 columns wide (stable: used by snapshot tests).
    Plain,
    /// ASCII only, no colour.
    Ascii,
}

impl Diagnostics {
    /// The problems found in `source` (may be empty).
    pub fn new(source: &SourceFile, problems: Vec<Problem>) -> Diagnostics {
        let mut problems = problems;
        // Keep the file order, errors before warnings at the same spot.
        problems.sort_by_key(|p| (p.span().map(|s| s.start), !p.is_error()));
        Diagnostics { named: source.to_miette(), source: source.clone(), problems }
    }

    /// Moves the problems without a label after the others (a closing count).
    pub(crate) fn move_unlabelled_last(&mut self) {
        self.problems.sort_by_key(|p| p.span().is_none());
    }

    /// The file the problems are about.
    pub fn source(&self) -> &SourceFile {
        &self.source
    }

    /// All problems, in file order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// True if at least one problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.problems.iter().filter(|p| p.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.problems.len() - self.error_count()
    }

    /// True when there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// Renders the problems, one after another, as text: the first
    /// [`MAX_RENDERED`] of them, then a line that counts the rest.
    pub fn render(&self, style: RenderStyle) -> String {
        let handler = match style {
            RenderStyle::Colour => GraphicalReportHandler::new_themed(GraphicalTheme::unicode()),
            RenderStyle::Plain => {
                GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(80)
            }
            RenderStyle::Ascii => GraphicalReportHandler::new_themed(GraphicalTheme::ascii()).with_width(80),
        };
        let mut out = String::new();
        for problem in self.problems.iter().take(MAX_RENDERED) {
            // A long line, labelled or next to a label, is not echoed whole.
            if !self.fits_snippet(problem) || !self.neighbours_fit(problem) {
                self.render_without_snippet(problem, style, &mut out);
                continue;
            }
            let one = WithSource { problem, source: &self.named };
            if handler.render_report(&mut out, &one).is_err() {
                // Rendering only fails on a span outside the file; say it plainly.
                out.push_str(&format!("{}: {}\n", self.source.name(), problem.message));
            }
        }
        if self.problems.len() > MAX_RENDERED {
            let more = self.problems.len() - MAX_RENDERED;
            out.push_str(&format!(
                "... and {more} more problem{} not shown (the first {MAX_RENDERED} are above)\n",
                if more == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

/// `render` shows at most this many problems (drawing each costs time in
/// proportion to its lines); `problems()` has them all.
pub const MAX_RENDERED: usize = 200;

/// A label on a line longer than this (in bytes) is shown without the source
/// snippet, and a longer line next to a label is not shown: miette draws every
/// line of a snippet whole (and pads an underline with `format!("{:width$}")`,
/// which panics above a width of 65,535).
const MAX_SNIPPET_COLUMN: usize = 1_000;

impl Diagnostics {
    /// Whether every label of `problem` is on lines short enough for miette
    /// to draw (and for a person to read).
    fn fits_snippet(&self, problem: &Problem) -> bool {
        let short_line = |offset: u32| {
            let (start, end) = self.source.line_bounds(offset);
            end - start <= MAX_SNIPPET_COLUMN
        };
        problem.labels.iter().all(|l| short_line(l.span.start) && short_line(l.span.end))
    }

    /// Whether the lines just before and after each label (miette's context)
    /// are short enough to echo.
    fn neighbours_fit(&self, problem: &Problem) -> bool {
        let text = self.source.text();
        let short = |(start, end): (usize, usize)| end - start <= MAX_SNIPPET_COLUMN;
        problem.labels.iter().all(|l| {
            let (start, _) = self.source.line_bounds(l.span.start);
            let (_, end) = self.source.line_bounds(l.span.end);
            let before = start.checked_sub(1).map(|s| self.source.line_bounds(s as u32));
            let after = (end < text.len()).then(|| self.source.line_bounds(end as u32 + 1));
            before.is_none_or(short) && after.is_none_or(short)
        })
    }

    /// The problem with `file:line:column` for each label instead of a snippet.
    fn render_without_snippet(&self, problem: &Problem, style: RenderStyle, out: &mut String) {
        let text = self.source.text();
        let mark = match (style, problem.is_error()) {
            (RenderStyle::Ascii, true) => "x",
            (RenderStyle::Ascii, false) => "!",
            (_, true) => "×",
            (_, false) => "⚠",
        };
        out.push_str(&format!("{}\n\n  {mark} {}\n", problem.code, problem.message));
        for label in &problem.labels {
            let offset = (label.span.start as usize).min(text.len());
            let (line_start, _) = self.source.line_bounds(label.span.start);
            // Count characters, not bytes; a label never splits a character.
            let column = text.get(line_start..offset).map_or(offset - line_start, |t| t.chars().count()) + 1;
            let line = self.source.line_of(label.span.start);
            out.push_str(&format!("  at {}:{line}:{column}: {}\n", self.source.name(), label.text));
        }
        if let Some(help) = &problem.help {
            out.push_str(&format!("  help: {help}\n"));
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.error_count();
        let warnings = self.warning_count();
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        match (errors, warnings) {
            (0, 0) => write!(f, "{}: no problems", self.source.name()),
            (0, w) => write!(f, "{}: {w} warning{}", self.source.name(), plural(w)),
            (e, 0) => write!(f, "{}: {e} error{}", self.source.name(), plural(e)),
            (e, w) => {
                write!(f, "{}: {e} error{} and {w} warning{}", self.source.name(), plural(e), plural(w))
            }
        }
    }
}

impl std::error::Error for Diagnostics {}

impl Diagnostic for Diagnostics {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.named)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.problems.iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// One problem together with its file, for rendering on its own.
struct WithSource<'a> {
    problem: &'a Problem,
    source: &'a NamedSource<Arc<str>>,
}

impl fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.problem.fmt(f)
    }
}

impl fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.problem.fmt(f)
    }
}

impl std::error::Error for WithSource<'_> {}

impl Diagnostic for WithSource<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem.code()
    }
    fn severity(&self) -> Option<Severity> {
        self.problem.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem.help()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.problem.labels()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.source)
    }
}

/// "did you mean `x`?" for the closest of `candidates`, if any is close enough.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    did_you_mean_within(name, candidates, &std::cell::Cell::new(usize::MAX))
}

/// [`did_you_mean`] comparing with at most `budget` candidates, and taking
/// what it compared from the budget: a checker shares one budget among all its
/// problems, so that a script of n unknown names among n declared ones is
/// checked in linear time (the suggestions stop when the budget is spent).
pub fn did_you_mean_within<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    budget: &std::cell::Cell<usize>,
) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        if budget.get() == 0 {
            return None;
        }
        budget.set(budget.get() - 1);
        let score = strsim::jaro_winkler(name, candidate);
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

/// The help for an unknown kind when no declared kind is near its name: how
/// to declare one when there is none, the kinds when they are few.
pub(crate) fn kinds_help(name: &str, kinds: &[&str]) -> String {
    match kinds.len() {
        0 => format!("the script declares no kind: declare it with `kind {name} {{ ... }}`"),
        1..=20 => format!("the kinds are {}", list_words(kinds)),
        n => format!("the script declares {n} kinds, none of them like this"),
    }
}

/// `a, b and c`, each in backticks.
pub fn list_words<S: AsRef<str>>(words: &[S]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{}`", w.as_ref())).collect();
    match quoted.len() {
        0 => String::from("none"),
        1 => quoted[0].clone(),
        n => format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}
