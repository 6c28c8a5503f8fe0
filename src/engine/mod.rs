//! The public face of the library: [`Engine`] compiles scripts into
//! [`Program`]s; a program starts any number of independent [`Run`]s.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rust_decimal::Decimal;

use crate::codes;
use crate::diagnostic::{Diagnostics, Problem, did_you_mean};
use crate::eval::{Evaluator, Limits, Machine, RunFault, Stepper, derived_owners, display_value};
use crate::host::HostFn;
use crate::ir::{HostFunction, Ir};
use crate::source::SourceFile;
use crate::syntax::SyntaxLimits;
use crate::value::{Date, Type, Value};

mod error;
mod program;
mod read;
mod run;
mod world;

pub use error::{Error, MergeError, SweepError};
pub use program::{Checkpoint, Declaration, DeclarationKind, ParamInfo, Program, RuleInfo};
pub(crate) use run::parse_literal;
pub(crate) use run::read_target;
pub use run::{Run, RunStart, StepSummary};
pub use world::World;

/// Compiles scripts, with the limits and host functions that runs of them get.
///
/// ```
/// use cascade::Engine;
/// let engine = Engine::new().max_steps(1_000);
/// let program = engine.compile("var x = 1\nwhile x < 5 then x += 1", "count.cascade").unwrap();
/// let mut run = program.run().unwrap();
/// run.run_to_end().unwrap();
/// assert_eq!(run.value("x").unwrap().to_string(), "5");
/// ```
#[derive(Clone)]
pub struct Engine {
    limits: Limits,
    syntax: SyntaxLimits,
    max_entities: usize,
    max_exposures: usize,
    max_source_bytes: usize,
    max_data_bytes: usize,
    host: Vec<HostFunction>,
    provenance: bool,
    problems: Vec<(String, String)>,
    loader: Option<Arc<dyn crate::data::DataLoader>>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.limits)
            .field("syntax", &self.syntax)
            .field("max_entities", &self.max_entities)
            .field("max_exposures", &self.max_exposures)
            .field("max_source_bytes", &self.max_source_bytes)
            .field("max_data_bytes", &self.max_data_bytes)
            .field("host", &self.host)
            .field("loader", &self.loader.is_some())
            .finish()
    }
}

impl Engine {
    /// An engine with generous but finite limits.
    pub fn new() -> Engine {
        Engine {
            limits: Limits {
                max_steps: 1_000_000,
                max_firings_per_step: 10_000_000,
                // About a minute of work on a 2-core machine (BENCHMARKS.md).
                max_fuel: 400_000_000,
                max_instances: 10_000_000,
                max_trace: 10_000_000,
                max_solve_iterations: crate::eval::DEFAULT_SOLVE_ITERATIONS,
            },
            syntax: SyntaxLimits::default(),
            max_entities: 1_000_000,
            max_exposures: 10_000_000,
            max_source_bytes: 16 << 20,
            max_data_bytes: crate::data::DataFile::DEFAULT_MAX_BYTES,
            host: Vec::new(),
            provenance: true,
            problems: Vec::new(),
            loader: None,
        }
    }

    /// At most this many steps per run (a longer horizon is cut short).
    pub fn max_steps(mut self, steps: u64) -> Engine {
        self.limits.max_steps = steps;
        self
    }

    /// At most this many rule firings in one step.
    pub fn max_firings_per_step(mut self, firings: u64) -> Engine {
        self.limits.max_firings_per_step = firings;
        self
    }

    /// At most this many simultaneous updates (sweeps) of a `solve` system
    /// whose fields state no `limit` (default 10,000). A system still changing
    /// after them stops the run with `cascade::run::not_settled`.
    pub fn max_solve_iterations(mut self, sweeps: u64) -> Engine {
        self.limits.max_solve_iterations = sweeps;
        self
    }

    /// At most this many records in a run's trace (default 10,000,000, about
    /// 600 MB): each rule firing, each value it read (with provenance on) and
    /// each of its effects counts one. Over it, the run stops with
    /// `cascade::limit::trace`. The trace is what `explain` reads.
    pub fn max_trace(mut self, records: u64) -> Engine {
        self.limits.max_trace = records;
        self
    }

    /// At most this many evaluation operations per run.
    pub fn max_fuel(mut self, fuel: u64) -> Engine {
        self.limits.max_fuel = fuel;
        self
    }

    /// At most this many rule instances (one per rule and tuple of bound entities).
    pub fn max_instances(mut self, instances: u64) -> Engine {
        self.limits.max_instances = instances;
        self
    }

    /// Brackets may nest at most this deep (default 64). Values above
    /// 256 count as 256: the parser recurses once per bracket on the
    /// native stack.
    pub fn max_nesting(mut self, depth: usize) -> Engine {
        self.syntax.max_nesting = depth;
        self
    }

    /// An expression may be at most this many operations deep (default 512;
    /// a chain `a + b + c` is two deep). Values above 1024 count as 1024.
    pub fn max_expression_depth(mut self, depth: usize) -> Engine {
        self.syntax.max_expression_depth = depth;
        self
    }

    /// At most this many entities, declared by the script and supplied by the
    /// host together (default 1,000,000).
    pub fn max_entities(mut self, entities: usize) -> Engine {
        self.max_entities = entities;
        self
    }

    /// At most this many exposures, declared by the script and supplied by the
    /// host together (default 10,000,000).
    pub fn max_exposures(mut self, exposures: usize) -> Engine {
        self.max_exposures = exposures;
        self
    }

    /// Registers the loader that supplies the data files a script names in
    /// `entities Kind from "NAME"` and `exposures from "NAME"` (see
    /// [`DataLoader`](crate::DataLoader)). Without one, such a script is refused
    /// with a `cascade::data::no_loader` diagnostic: the engine never opens files.
    pub fn loader(mut self, loader: impl crate::data::DataLoader + 'static) -> Engine {
        self.loader = Some(Arc::new(loader));
        self
    }

    /// Record the values each firing read (on by default; `explain` needs it).
    pub fn provenance(mut self, on: bool) -> Engine {
        self.provenance = on;
        self
    }

    /// Registers a host function that scripts can call by `name`.
    ///
    /// Arguments and results are [`Decimal`], `bool`, [`Date`] or `String`; a
    /// function may also return `Result<T, E>` with `E: Display`, whose error
    /// becomes a run-time diagnostic at the call.
    ///
    /// ```
    /// use cascade::Engine;
    /// use rust_decimal::Decimal;
    /// let engine = Engine::new().function("haircut", |x: Decimal| x * Decimal::new(8, 1));
    /// let program = engine.compile("var x = 0\nat 1 then x = haircut(10)", "h.cascade").unwrap();
    /// let mut run = program.run().unwrap();
    /// run.run_to_end().unwrap();
    /// assert_eq!(run.value("x").unwrap().to_string(), "8");
    /// ```
    pub fn function<F, Args>(mut self, name: &str, f: F) -> Engine
    where
        F: HostFn<Args> + Send + Sync + 'static,
    {
        let reserved = crate::syntax::BUILTIN_FUNCTIONS.contains(&name)
            || crate::random::Distribution::from_name(name).is_some()
            || crate::syntax::KEYWORDS.contains(&name)
            || crate::syntax::BUILTIN_NAMES.contains(&name);
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if reserved || !valid {
            let reason = if reserved { "the name is reserved" } else { "not a valid name" };
            self.problems.push((name.to_string(), reason.to_string()));
            return self;
        }
        let (params, ret) = F::signature();
        let f = Arc::new(f);
        let call = Arc::new(move |args: &[Value]| f.call(args));
        self.host.retain(|h| h.name != name);
        self.host.push(HostFunction { name: name.to_string(), params, ret, call });
        self
    }

    /// Parses and checks a script. Returns every problem at once on failure;
    /// warnings of a program that compiles are in [`Program::warnings`].
    pub fn compile(&self, text: &str, name: &str) -> Result<Program, Error> {
        self.compile_text(SourceFile::new(name, text))
    }

    fn compile_text(&self, source: SourceFile) -> Result<Program, Error> {
        if let Some((name, reason)) = self.problems.first() {
            return Err(Error::BadFunction { name: name.clone(), reason: reason.clone() });
        }
        compile_source(self, &source, None)
    }

    /// Compiles a script together with entities and exposures the host supplies
    /// from its own data (no script text is generated). The script declares
    /// the kinds; `world` adds entities of those kinds and exposures between
    /// any entities.
    ///
    /// ```
    /// use cascade::{Engine, Value, World, Decimal};
    /// let mut world = World::new();
    /// for i in 0..100 {
    ///     world.entity(&format!("bank{i}"), "Bank", &[("capital", Value::Number(Decimal::from(10 + i)))]);
    /// }
    /// world.exposure("bank1", "bank0", Decimal::from(50), Decimal::new(4, 1));
    /// let script = "kind Bank { capital = 0, let losses = exposure_losses(self) }
    ///               at 1 then default(bank0)
    ///               for b: Bank when b.losses > b.capital then default(b)";
    /// let program = Engine::new().compile_with_data(script, "banks.cascade", &world)?;
    /// let mut run = program.run()?;
    /// run.run_to_end()?;
    /// assert_eq!(run.value("bank1.defaulted")?.to_string(), "true"); // 50 x 60% = 30 > 11
    /// assert_eq!(run.value("bank2.defaulted")?.to_string(), "false");
    /// # Ok::<(), cascade::Error>(())
    /// ```
    pub fn compile_with_data(&self, text: &str, name: &str, world: &World) -> Result<Program, Error> {
        if let Some((name, reason)) = self.problems.first() {
            return Err(Error::BadFunction { name: name.clone(), reason: reason.clone() });
        }
        let source = SourceFile::new(name, text);
        compile_source(self, &source, Some(world))
    }

    /// Reads (see [`Engine::read_file`]) and compiles a file.
    pub fn compile_file(&self, path: &std::path::Path) -> Result<Program, Error> {
        let text = self.read_file(path)?;
        // The file's text is freed before parsing: only the source's copy stays.
        self.compile_text(SourceFile::new(path.display().to_string(), text))
    }
}

fn compile_source(engine: &Engine, source: &SourceFile, world: Option<&World>) -> Result<Program, Error> {
    if let Some(problem) = engine.over_source_limit(source.text()) {
        return Err(Error::Script(Box::new(Diagnostics::new(
            &SourceFile::new(source.name(), ""),
            vec![problem],
        ))));
    }
    let (file, mut problems) = crate::syntax::parse_file_with(source, engine.syntax);
    use crate::data::LoadError;
    let limits = crate::data::Limits {
        max_entities: engine.max_entities,
        max_exposures: engine.max_exposures,
        max_bytes: engine.max_data_bytes,
    };
    let script_problems = |mut problems: Vec<Problem>, found: Vec<Problem>| {
        problems.extend(found);
        Err(Error::Script(Box::new(Diagnostics::new(source, problems))))
    };
    let mut loaded = crate::data::Loaded::default();
    if !problems.iter().any(Problem::is_error) {
        loaded = match crate::data::load_files(&file, source, engine.loader.as_ref(), limits) {
            Ok(loaded) => loaded,
            Err(LoadError::Script(found)) => return script_problems(problems, found),
            Err(LoadError::Data(files)) => return Err(Error::Data(files)),
        };
    }
    if let Some(problem) = engine.over_size_limits(&file, loaded.counts(), world) {
        return script_problems(problems, vec![problem]);
    }
    if let Some(world) = world {
        match loaded.host(&file, source, limits, world) {
            Ok(()) => {}
            Err(LoadError::Script(found)) => return script_problems(problems, found),
            Err(LoadError::Data(files)) => return Err(Error::Data(files)),
        }
    }
    let (data_items, data) = match loaded.finish() {
        Ok(finished) => finished,
        Err(LoadError::Script(found)) => return script_problems(problems, found),
        Err(LoadError::Data(files)) => return Err(Error::Data(files)),
    };
    let (limits, provenance) = (engine.limits.clone(), engine.provenance);
    let check = || crate::check::check(&file, data_items, source, Arc::from(engine.host.as_slice()));
    let (data, (ir, check_problems)) = beside(check, data);
    problems.extend(check_problems);
    let has_errors = problems.iter().any(Problem::is_error);
    match ir {
        Some(ir) if !has_errors => {
            let owners = derived_owners(&ir);
            problems.extend(horizon_over_limit(&file, ir.scenario.horizon, limits.max_steps));
            problems.extend(crate::eval::lint::rules_that_never_fire(&ir, &owners, &limits));
            let warnings = Diagnostics::new(source, problems);
            let scope = crate::check::expression_scope(file);
            let syntax = engine.syntax;
            Ok(Program {
                inner: Arc::new(Compiled { ir, owners, limits, syntax, provenance, warnings, scope, data }),
            })
        }
        _ => Err(Error::Script(Box::new(Diagnostics::new(source, problems)))),
    }
}

/// Runs `check` on this thread while the data files are hashed on another
/// (if one cannot be started, this thread hashes them after the check).
fn beside<T>(check: impl FnOnce() -> T, data: crate::data::Unhashed) -> (Vec<crate::data::DataSource>, T) {
    if data.is_empty() {
        return (Vec::new(), check());
    }
    let slot = std::sync::Mutex::new(Some(data));
    let hash = || {
        let data = slot.lock().ok().and_then(|mut data| data.take());
        data.map_or_else(Vec::new, crate::data::Unhashed::hash)
    };
    std::thread::scope(|scope| {
        let hashing = std::thread::Builder::new().name("cascade-sha256".into()).spawn_scoped(scope, hash);
        let checked = check();
        let sources = match hashing {
            Ok(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => hash(),
        };
        (sources, checked)
    })
}

impl Engine {
    /// A problem if the script, its data files (`data`: entities and
    /// exposures) and the host's data declare more entities or exposures than
    /// this engine allows: at the first declaration over the limit, or
    /// without a label when the data goes over it.
    fn over_size_limits(
        &self,
        file: &crate::syntax::File,
        data: (usize, usize),
        world: Option<&World>,
    ) -> Option<Problem> {
        use crate::syntax::Item;
        let entities = file.items.iter().filter(|item| matches!(item, Item::Entity(_)));
        let exposures = file.items.iter().filter(|item| matches!(item, Item::Exposure(_)));
        let (host_entities, host_exposures) = world.map_or((0, 0), |w| (w.entities.len(), w.exposures.len()));
        over_limit("entities", codes::limit::entities, self.max_entities, entities, data.0 + host_entities)
            .or_else(|| {
                over_limit(
                    "exposures",
                    codes::limit::exposures,
                    self.max_exposures,
                    exposures,
                    data.1 + host_exposures,
                )
            })
    }
}

/// A warning when the scenario's horizon is beyond the engine's `max_steps`:
/// runs will stop early.
fn horizon_over_limit(file: &crate::syntax::File, horizon: u64, max_steps: u64) -> Option<Problem> {
    use crate::syntax::Item;
    if horizon <= max_steps {
        return None;
    }
    let setting = file.items.iter().find_map(|item| match item {
        Item::Scenario(s) => s.settings.iter().find(|s| s.name.name == "horizon"),
        _ => None,
    })?;
    Some(
        Problem::warning(
            codes::limit::steps,
            format!("the horizon is {horizon} steps but this engine runs at most {max_steps}"),
        )
        .label(setting.value.span, "runs stop at the step limit before this")
        .help("raise the limit (`Engine::max_steps`, `--max-steps`) or shorten the horizon"),
    )
}

/// A problem if `declared` and `from_host` together are more than `max`.
fn over_limit<'a>(
    what: &str,
    code: &'static str,
    max: usize,
    declared: impl Iterator<Item = &'a crate::syntax::Item> + Clone,
    from_host: usize,
) -> Option<Problem> {
    let problem = Problem::error(code, format!("more than {max} {what}: this engine allows at most {max}"));
    if let Some(item) = declared.clone().nth(max) {
        return Some(
            problem.label(item.span(), format!("{what} beyond the limit start here")).help(format!(
                "raise the limit (`Engine::max_{what}`, `--max-{what}`) or split the scenario"
            )),
        );
    }
    let count = declared.count();
    (count.saturating_add(from_host) > max).then(|| {
        problem.help(format!(
            "the script declares {count} and the host's data adds {from_host}; \
             raise the limit (`Engine::max_{what}`) or supply fewer"
        ))
    })
}

/// Checks a script and returns every problem (errors and warnings), without running it.
pub fn check_source(text: &str, name: &str) -> Diagnostics {
    let source = SourceFile::new(name, text);
    match compile_source(&Engine::new().provenance(false), &source, None) {
        Ok(program) => program.inner.warnings.clone(),
        Err(Error::Script(d)) => *d,
        Err(other) => Diagnostics::new(&source, vec![Problem::error(codes::api::error, other.to_string())]),
    }
}

pub(crate) struct Compiled {
    pub ir: Ir,
    pub owners: Vec<(u32, u32)>,
    pub limits: Limits,
    /// The parser's limits, for expressions parsed later (`Run::evaluate`).
    pub syntax: SyntaxLimits,
    pub provenance: bool,
    pub warnings: Diagnostics,
    /// The declarations of the syntax tree that expressions checked against the
    /// program later can name (see [`crate::check::expression_scope`]).
    pub scope: crate::syntax::File,
    /// The data files the program was compiled with.
    pub data: Vec<crate::data::DataSource>,
}
