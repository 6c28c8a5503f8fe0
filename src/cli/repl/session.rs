//! A REPL session: the world (source text), its compiled program, the run's
//! timeline, and what was set in the REPL.
//!
//! **Invariant:** a command that fails leaves the session exactly as it was.
//! Every change is computed on the side (new world text → new program → new
//! run replayed to the current step) and committed only when all of it worked.

use std::cell::OnceCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use cascade::source::SourceFile;
use cascade::syntax::{self, Item};
use cascade::{Diagnostics, Engine, Error, GraphFormat, Program, RenderStyle, Type, Value};

use super::commands::{COMMANDS, Command, command_help, help_text};
use super::editor::{InputKind, Names, input_kind, split_trailing_command};
use super::interrupt;
use super::timeline::{HandSet, Timeline};
use super::world;

mod load;
mod plot;
mod random;

/// What the loop does after a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// A command failed; its diagnostic has been printed.
pub struct Failed;

pub type Outcome = Result<(), Failed>;

/// Writes a line of output; a closed output is noticed by the loop.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}
pub(super) use say;

pub struct Session {
    engine: Engine,
    cancel: Arc<AtomicBool>,
    pub colour: bool,
    /// The script loaded with `:load` or on the command line.
    file: Option<PathBuf>,
    /// Its text as read.
    file_text: String,
    /// The world: the script plus the items typed in.
    pub(super) world: String,
    /// The world's items, parsed when first needed (`:show`).
    world_items: OnceCell<Vec<Item>>,
    pub(super) program: Program,
    pub(super) timeline: Timeline,
    /// Params set with `:set`.
    pub(super) params: Vec<(String, Value)>,
    /// Values set with `:set`, at the steps they were set.
    hand_set: Vec<HandSet>,
    /// Did any input fail? (The exit code of a piped session.)
    pub failed: bool,
    /// Changes whenever the program does (completion refreshes its names then).
    pub revision: u64,
    /// The seed and (as in a sweep) the path that runs draw from.
    pub random: (u64, Option<u64>),
}

impl Session {
    /// A session with an empty world, compiling with `engine` (its limits).
    pub fn new(engine: Engine, cancel: Arc<AtomicBool>, colour: bool) -> Result<Session, Error> {
        let program = engine.compile("", "<repl>")?;
        let run = program.start().cancel_flag(cancel.clone()).begin()?;
        let (timeline, _) = Timeline::replay(run, 0, &[], &mut Vec::new())?;
        Ok(Session {
            engine,
            cancel,
            colour,
            file: None,
            file_text: String::new(),
            world: String::new(),
            world_items: OnceCell::new(),
            program,
            timeline,
            params: Vec::new(),
            hand_set: Vec::new(),
            failed: false,
            revision: 0,
            random: (0, None),
        })
    }

    /// The prompt: `cascade[12 2026-12]> `, or `cascade[0]> ` before the first step.
    pub fn prompt(&self) -> String {
        let run = &self.timeline.current;
        match (run.current_step(), run.current_date()) {
            (0, _) | (_, None) => format!("cascade[{}]> ", run.current_step()),
            (step, Some(date)) => format!("cascade[{step} {date}]> "),
        }
    }

    /// The names completion offers.
    pub fn names(&self) -> Names {
        let mut names = Names::default();
        for d in self.program.declarations() {
            match d.what {
                cascade::DeclarationKind::Kind => {
                    let fields = self.program.fields(&d.name).unwrap_or_default();
                    names.kinds.insert(d.name.clone(), fields);
                }
                cascade::DeclarationKind::Entity => {
                    names.entity_kind.insert(d.name.clone(), d.detail);
                }
                _ => {}
            }
            names.names.push(d.name);
        }
        names.exposure = self.program.exposure_fields();
        names.debtor = self.program.exposure_side_fields(true);
        names.creditor = self.program.exposure_side_fields(false);
        names.rules =
            self.program.rules().into_iter().map(|r| r.label).filter(|l| !l.contains(' ')).collect();
        names
    }

    /// The world's items (for `:show`).
    pub(super) fn world_items(&self) -> &[Item] {
        self.world_items.get_or_init(|| world::items(&self.world))
    }

    pub(super) fn style(&self) -> RenderStyle {
        if self.colour { RenderStyle::Colour } else { RenderStyle::Plain }
    }

    /// Runs one input (a command, items or an expression).
    pub fn execute(&mut self, input: &str, out: &mut dyn Write) -> Flow {
        // A command typed while an item was unfinished ends it (see `input_state`).
        if let Some((unfinished, command)) = split_trailing_command(input) {
            self.execute(unfinished, out);
            return self.execute(command, out);
        }
        interrupt::clear();
        let result = match input_kind(input) {
            InputKind::Empty => Ok(Flow::Continue),
            InputKind::Command => self.command(input.trim(), out),
            InputKind::Items => self.add_items(input, out).map(|()| Flow::Continue),
            InputKind::Expression => self.evaluate(input, out).map(|()| Flow::Continue),
        };
        result.unwrap_or_else(|Failed| {
            self.failed = true;
            Flow::Continue
        })
    }

    fn command(&mut self, line: &str, out: &mut dyn Write) -> Result<Flow, Failed> {
        let body = line.trim_start_matches(':');
        let (name, args) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
        let args = args.trim();
        let Some(command) = Command::find(name) else {
            let names = COMMANDS.iter().map(|c| c.name);
            let help = cascade::diagnostic::did_you_mean(name, names)
                .unwrap_or_else(|| String::from("type :help for the list"));
            return self.fail(out, &format!("unknown command `:{name}`: {help}"));
        };
        match command.name {
            "load" => {
                if args.is_empty() {
                    return self.fail(out, "`:load` needs a file: `:load examples/hello.cascade`");
                }
                self.load(Path::new(args), out)?;
            }
            "reload" => self.reload(out)?,
            "step" => {
                let n = self.count(args, "steps", out)?.unwrap_or(1);
                self.run_steps(n, out)?;
            }
            "run" => self.run_steps(u64::MAX, out)?,
            "back" => {
                let n = self.count(args, "steps", out)?.unwrap_or(1);
                self.back(n, out);
            }
            "reset" => self.reset(out)?,
            "seed" => self.seed(args, out)?,
            "path" => self.path(args, out)?,
            "show" => self.show(args, out)?,
            "set" => self.set(args, out)?,
            "why" => self.why(args, out)?,
            "graph" => self.graph(args, out)?,
            "plot" => self.plot(args, out)?,
            "rules" => self.rules(out),
            "events" => {
                let n = self.count(args, "events", out)?;
                self.events(n, out);
            }
            "help" => match args {
                "" => say!(out, "{}", help_text().trim_end()),
                name => match Command::find(name.trim_start_matches(':')) {
                    Some(c) => say!(out, "{}", command_help(c).trim_end()),
                    None => return self.fail(out, &format!("there is no command `:{name}`; type :help")),
                },
            },
            "quit" => return Ok(Flow::Quit),
            _ => {}
        }
        Ok(Flow::Continue)
    }

    /// An optional positive count argument.
    fn count(&mut self, args: &str, what: &str, out: &mut dyn Write) -> Result<Option<u64>, Failed> {
        if args.is_empty() {
            return Ok(None);
        }
        match args.parse::<u64>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => {
                self.fail(out, &format!("expected a number of {what}, e.g. `3`, not `{args}`"))?;
                Ok(None)
            }
        }
    }

    /// Prints an error message (not a diagnostic) and fails.
    pub(super) fn fail<T>(&self, out: &mut dyn Write, message: &str) -> Result<T, Failed> {
        say!(out, "error: {message}");
        Err(Failed)
    }

    /// Prints an API error and fails.
    pub(super) fn fail_with<T>(&self, out: &mut dyn Write, error: &Error) -> Result<T, Failed> {
        self.print_error(out, error);
        Err(Failed)
    }

    pub(super) fn print_error(&self, out: &mut dyn Write, error: &Error) {
        let text = match error {
            Error::Script(diagnostics) => diagnostics.render(self.style()),
            Error::Data(files) => files.iter().map(|d| d.render(self.style())).collect(),
            other => {
                let theme = if self.colour {
                    miette::GraphicalTheme::unicode()
                } else {
                    miette::GraphicalTheme::unicode_nocolor()
                };
                let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(80);
                let mut text = String::new();
                if handler.render_report(&mut text, other).is_err() {
                    text = format!("error: {other}\n");
                }
                text
            }
        };
        let _ = write!(out, "{text}");
    }

    fn print_diagnostics(&self, out: &mut dyn Write, diagnostics: &Diagnostics) {
        if !diagnostics.is_empty() {
            let _ = write!(out, "{}", diagnostics.render(self.style()));
        }
    }

    /// The first few problems; a change can break many places at once.
    fn print_capped(&self, out: &mut dyn Write, diagnostics: &Diagnostics, place: &str) {
        const SHOWN: usize = 3;
        let problems = diagnostics.problems();
        if problems.len() <= SHOWN {
            return self.print_diagnostics(out, diagnostics);
        }
        self.print_diagnostics(out, &Diagnostics::new(diagnostics.source(), problems[..SHOWN].to_vec()));
        say!(out, "... and {} more errors in {place}", problems.len() - SHOWN);
    }

    // -------------------------------------------------------------------------
    // Time

    /// `:step N` and `:run` (N = all).
    fn run_steps(&mut self, n: u64, out: &mut dyn Write) -> Outcome {
        let start = self.timeline.step();
        if self.timeline.current.is_finished() {
            say!(out, "the run has ended at step {start}; `:back` or `:reset` to go again");
            return Ok(());
        }
        let target = start.saturating_add(n).min(self.timeline.current.horizon());
        let mut summaries = Vec::new();
        let mut failure = None;
        let mut interrupted = false;
        while self.timeline.step() < target {
            if interrupt::raised() {
                interrupted = true;
                break;
            }
            match self.timeline.advance(&self.hand_set) {
                Ok(Some(summary)) => summaries.push(summary),
                Ok(None) => break,
                Err(e) => {
                    interrupted = interrupt::raised();
                    failure = (!interrupted).then_some(e);
                    break;
                }
            }
        }
        self.print_steps(&summaries, out);
        let now = self.timeline.step();
        if interrupted {
            say!(out, "interrupted at step {now}");
        }
        if let Some(error) = failure {
            self.print_error(out, &error);
            say!(out, "the step failed; the session stays at step {now}");
            return Err(Failed);
        }
        if self.timeline.current.is_finished() {
            self.print_end(out);
        }
        Ok(())
    }

    /// `:back N`.
    fn back(&mut self, n: u64, out: &mut dyn Write) {
        let now = self.timeline.step();
        if now == 0 {
            say!(out, "already at step 0");
            return;
        }
        let to = now.saturating_sub(n);
        self.timeline.go_back(to, &self.hand_set);
        let at = self.timeline.step();
        self.hand_set.retain(|h| h.step <= at);
        say!(out, "back to {}", self.step_name(at));
    }

    /// `:reset`.
    fn reset(&mut self, out: &mut dyn Write) -> Outcome {
        let Restarted { timeline, .. } =
            self.restart(&self.program, &[], &[], 0, &mut Vec::new()).or_else(|e| self.fail_with(out, &e))?;
        self.timeline = timeline;
        self.params.clear();
        self.hand_set.clear();
        say!(out, "back to step 0, with the script's own params");
        Ok(())
    }

    /// `:set NAME = VALUE`.
    fn set(&mut self, args: &str, out: &mut dyn Write) -> Outcome {
        let Some((name, expr)) =
            args.split_once('=').filter(|(n, e)| !n.trim().is_empty() && !e.trim().is_empty())
        else {
            return self.fail(out, "write `:set NAME = VALUE`, e.g. `:set holding_cost = 2.8`");
        };
        let (name, expr) = (name.trim(), expr.trim());
        let value = self.timeline.current.evaluate(expr).or_else(|e| self.fail_with(out, &e))?;
        let old = self.timeline.current.value(name).or_else(|e| self.fail_with(out, &e))?;
        let shown = |s: &Session, v: &Value| s.timeline.current.display(v);
        // Before the first step, `entity.field` sets the field's initial value, so
        // that the initial values computed from it follow (as `--set` does).
        let initial_field = name.contains('.') && self.timeline.step() == 0;
        if initial_field || self.program.params().iter().any(|p| p.name == name) {
            // The type must fit (the library says so if it does not).
            self.program.start().set(name, value.clone()).map(drop).or_else(|e| self.fail_with(out, &e))?;
            let mut params = self.params.clone();
            params.retain(|(n, _)| n != name);
            params.push((name.to_string(), value.clone()));
            let again = self.replay(&params, out)?;
            let what = if initial_field { "initial value of" } else { "param" };
            say!(out, "{what} {name} = {} (was {}){again}", shown(self, &value), shown(self, &old));
        } else {
            self.timeline.current.set_value(name, value.clone()).or_else(|e| self.fail_with(out, &e))?;
            let step = self.timeline.step();
            self.hand_set.retain(|h| !(h.step == step && h.name == name));
            self.hand_set.push(HandSet { step, name: name.to_string(), value: value.clone() });
            say!(out, "{name} = {} (was {})", shown(self, &value), shown(self, &old));
        }
        Ok(())
    }

    /// An expression, evaluated now.
    fn evaluate(&mut self, input: &str, out: &mut dyn Write) -> Outcome {
        let text = input.trim();
        match self.timeline.current.evaluate(text) {
            Ok(value) => {
                say!(out, "{}", super::view::value_text(&mut self.timeline.current, &value));
                Ok(())
            }
            Err(e) => {
                self.print_error(out, &e);
                if looks_like_assignment(text) {
                    say!(out, "help: to change a value between steps, write `:set {text}`");
                }
                Err(Failed)
            }
        }
    }

    /// `step 9 (2026-09)`
    pub(super) fn step_name(&self, step: u64) -> String {
        if step == self.timeline.step()
            && let Some(date) = self.timeline.current.current_date()
            && step > 0
        {
            return format!("step {step} ({date})");
        }
        format!("step {step}")
    }

    /// `:why TARGET`.
    fn why(&mut self, args: &str, out: &mut dyn Write) -> Outcome {
        if args.is_empty() {
            return self.fail(out, "`:why` needs a target: an entity, `entity.field` or a var");
        }
        let text = self.timeline.current.explain(args).or_else(|e| self.fail_with(out, &e))?;
        say!(out, "{}", text.trim_end());
        Ok(())
    }

    /// `:graph [text|dot|mermaid]`: the graph of the world as it is now.
    fn graph(&mut self, args: &str, out: &mut dyn Write) -> Outcome {
        let format = if args.is_empty() { Ok(GraphFormat::Text) } else { args.parse::<GraphFormat>() };
        let format = format.or_else(|message| self.fail(out, &message))?;
        say!(out, "{}", self.program.graph(format).trim_end());
        Ok(())
    }
}

/// A new run replayed to the current step, and what still applies to it.
struct Restarted {
    timeline: Timeline,
    params: Vec<(String, Value)>,
    hand_set: Vec<HandSet>,
}

/// The type of a param value.
fn type_of(value: &Value) -> Option<Type> {
    match value {
        Value::Number(_) => Some(Type::Number),
        Value::Bool(_) => Some(Type::Bool),
        Value::Date(_) => Some(Type::Date),
        Value::Str(_) => Some(Type::Str),
        _ => None,
    }
}

/// `x = 5`, `coreweave.cash += 1`: an assignment typed as an expression.
fn looks_like_assignment(text: &str) -> bool {
    let name_end =
        text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(text.len());
    let rest = text[name_end..].trim_start();
    name_end > 0 && rest.starts_with('=') && !rest.starts_with("==")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn session() -> Session {
        let mut session = Session::new(Engine::new(), Arc::new(AtomicBool::new(false)), false)
            .expect("an empty session starts");
        let hello = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello.cascade");
        assert!(session.load(&hello, &mut Vec::new()).is_ok());
        session
    }

    fn input() -> impl Strategy<Value = String> {
        prop_oneof![
            "(:step|:back|:set|:show|:why|:events|:graph|:help|:rules|:reset|:reload|:run|:load) ?[a-z0-9 .=_\"()*-]{0,14}",
            "(price|miner|loss_line|miner\\.cash|step|date) ?[-+*/<>=! .0-9a-z()]{0,12}",
            "(param|var|let|kind|entity|rule|when|while|at|expect) [a-z0-9 .=_:{}\"]{0,20}",
            "\\PC{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn nothing_typed_panics_or_breaks_the_session(lines in proptest::collection::vec(input(), 1..10)) {
            let mut session = session();
            for line in &lines {
                let mut out = Vec::new();
                let _ = session.execute(line, &mut out);
            }
            // Whatever happened, the session still answers.
            let mut out = Vec::new();
            session.execute("1 + 1", &mut out);
            prop_assert_eq!(String::from_utf8_lossy(&out), "2\n");
        }
    }

    #[test]
    fn a_failed_change_leaves_the_session_exactly_as_it_was() {
        let mut s = session();
        s.execute(":step 3", &mut Vec::new());
        s.execute(":set price = 1.55", &mut Vec::new());
        let before = (s.world.clone(), s.timeline.step(), s.params.clone(), s.hand_set.len(), s.revision);
        for bad in ["var y = nope", "kind Supplier { size = 1 }", ":set loss_line = true", "param = 1"] {
            s.failed = false;
            s.execute(bad, &mut Vec::new());
            assert!(s.failed, "`{bad}` should fail");
            let after = (s.world.clone(), s.timeline.step(), s.params.clone(), s.hand_set.len(), s.revision);
            assert_eq!(after, before, "after `{bad}`");
            let price = s.timeline.current.value("price").expect("price");
            assert_eq!(price.to_string(), "1.55");
        }
    }
}
