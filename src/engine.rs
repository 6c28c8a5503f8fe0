//! The public face of the library: [`Engine`] compiles scripts into
//! [`Program`]s; a program starts any number of independent [`Run`]s.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rust_decimal::Decimal;

use crate::diagnostic::{Diagnostics, Problem, did_you_mean};
use crate::eval::{Evaluator, Limits, Machine, RunFault, Stepper, derived_owners, display_value};
use crate::host::HostFn;
use crate::ir::{HostFunction, Ir};
use crate::source::SourceFile;
use crate::syntax::SyntaxLimits;
use crate::value::{Date, Type, Value};

/// An entity from host data: name, kind, initial values of stored fields.
type HostEntity = (String, String, Vec<(String, Value)>);

/// Entities and exposures that a host supplies from its own data; see
/// [`Engine::compile_with_data`].
#[derive(Clone, Debug, Default)]
pub struct World {
    entities: Vec<HostEntity>,
    exposures: Vec<(String, String, Decimal, Decimal)>,
}

impl World {
    /// An empty world.
    pub fn new() -> World {
        World::default()
    }

    /// Adds an entity of a kind the script declares, with initial values of
    /// some of its stored fields (numbers, bools, dates or strings).
    pub fn entity(&mut self, name: &str, kind: &str, fields: &[(&str, Value)]) -> &mut World {
        let fields = fields.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
        self.entities.push((name.to_string(), kind.to_string(), fields));
        self
    }

    /// Adds an exposure: `creditor` loses `amount × (1 − recovery)` if `debtor` defaults.
    pub fn exposure(
        &mut self,
        creditor: &str,
        debtor: &str,
        amount: Decimal,
        recovery: Decimal,
    ) -> &mut World {
        self.exposures.push((creditor.to_string(), debtor.to_string(), amount, recovery));
        self
    }

    /// Appends the host's entities and exposures to a parsed script as AST items.
    fn append_to(&self, file: &mut crate::syntax::File) -> Result<(), Error> {
        use crate::source::Span;
        use crate::syntax::{Entity, Expr, ExprKind, FieldInit, Ident, Item, Template, TemplatePart};
        let bad = |name: &str, reason: String| Error::BadValue { name: name.to_string(), reason };
        let ident = |name: &str| Ident { name: name.to_string(), span: Span::default() };
        let literal = |value: &Value| -> Option<Expr> {
            let kind = match value {
                Value::Number(n) => ExprKind::Number(*n),
                Value::Bool(b) => ExprKind::Bool(*b),
                Value::Date(d) => ExprKind::Date(*d),
                Value::Str(s) => ExprKind::Str(Template {
                    parts: vec![TemplatePart::Text(s.to_string())],
                    span: Span::default(),
                }),
                _ => return None,
            };
            Some(Expr { kind, span: Span::default() })
        };
        let is_name = |s: &str| {
            s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !crate::syntax::KEYWORDS.contains(&s)
        };
        for (name, kind, fields) in &self.entities {
            if !is_name(name) {
                return Err(bad(name, String::from("not a valid entity name")));
            }
            let mut inits = Vec::new();
            for (field, value) in fields {
                let value = literal(value).ok_or_else(|| {
                    bad(name, format!("field `{field}`: only numbers, bools, dates and strings"))
                })?;
                inits.push(FieldInit { name: ident(field), value });
            }
            file.items.push(Item::Entity(Entity {
                name: ident(name),
                kind: ident(kind),
                fields: inits,
                span: Span::default(),
            }));
        }
        for (creditor, debtor, amount, recovery) in &self.exposures {
            let number = |n: &Decimal| Expr { kind: ExprKind::Number(*n), span: Span::default() };
            file.items.push(Item::Exposure(crate::syntax::Exposure {
                creditor: ident(creditor),
                debtor: ident(debtor),
                amount: number(amount),
                recovery: Some(number(recovery)),
                span: Span::default(),
            }));
        }
        Ok(())
    }
}

/// Errors of the library API.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// Problems in the script: syntax, check or run time. Render them with
    /// [`Diagnostics::render`].
    #[error("{0}")]
    #[diagnostic(transparent)]
    Script(Box<Diagnostics>),
    /// A name the program does not declare.
    #[error("unknown name `{name}`")]
    #[diagnostic(code(cascade::api::unknown_name))]
    UnknownName {
        /// The name asked for.
        name: String,
        /// "did you mean ...?" or the list of names.
        #[help]
        help: Option<String>,
    },
    /// A value of the wrong type or form for a param.
    #[error("invalid value for `{name}`: {reason}")]
    #[diagnostic(code(cascade::api::bad_value))]
    BadValue {
        /// The param.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A host function registered with a name that cannot be used.
    #[error("cannot register host function `{name}`: {reason}")]
    #[diagnostic(code(cascade::api::bad_function))]
    BadFunction {
        /// The function's name.
        name: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// The script's diagnostics, if this is a script error.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self {
            Error::Script(d) => Some(d),
            _ => None,
        }
    }
}

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
    host: Vec<HostFunction>,
    provenance: bool,
    problems: Vec<(String, String)>,
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
            .field("host", &self.host)
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
                max_fuel: 10_000_000_000,
                max_instances: 10_000_000,
            },
            syntax: SyntaxLimits::default(),
            max_entities: 1_000_000,
            max_exposures: 10_000_000,
            host: Vec::new(),
            provenance: true,
            problems: Vec::new(),
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

    /// Reads and compiles a file. A file that is not valid UTF-8 is a diagnostic.
    pub fn compile_file(&self, path: &std::path::Path) -> Result<Program, Error> {
        let name = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                // The file's text is freed before parsing: only the source's copy stays.
                Ok(text) => self.compile_text(SourceFile::new(name.as_str(), text)),
                Err(e) => {
                    let valid = e.utf8_error().valid_up_to();
                    let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                    let source = SourceFile::new(name.as_str(), text.as_str());
                    let at = crate::source::Span::new(valid, valid + 1);
                    let problem =
                        Problem::error("cascade::syntax::not_utf8", "the file is not valid UTF-8 text")
                            .label(at, "this byte is not UTF-8")
                            .help("save the script as UTF-8");
                    Err(Error::Script(Box::new(Diagnostics::new(&source, vec![problem]))))
                }
            },
            Err(e) => {
                let source = SourceFile::new(name.as_str(), "");
                let problem = Problem::error("cascade::io::read", format!("cannot read `{name}`: {e}"));
                Err(Error::Script(Box::new(Diagnostics::new(&source, vec![problem]))))
            }
        }
    }
}

fn compile_source(engine: &Engine, source: &SourceFile, world: Option<&World>) -> Result<Program, Error> {
    let (mut file, mut problems) = crate::syntax::parse_file_with(source, engine.syntax);
    if let Some(problem) = engine.over_size_limits(&file, world) {
        problems.push(problem);
        return Err(Error::Script(Box::new(Diagnostics::new(source, problems))));
    }
    if let Some(world) = world {
        world.append_to(&mut file)?;
    }
    let (limits, provenance) = (engine.limits.clone(), engine.provenance);
    let (ir, check_problems) = crate::check::check(&file, source, Arc::from(engine.host.as_slice()));
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
                inner: Arc::new(Compiled { ir, owners, limits, syntax, provenance, warnings, scope }),
            })
        }
        _ => Err(Error::Script(Box::new(Diagnostics::new(source, problems)))),
    }
}

impl Engine {
    /// A problem if the script and the host's data declare more entities or
    /// exposures than this engine allows: at the first declaration over the
    /// limit, or without a label when the host's data goes over it.
    fn over_size_limits(&self, file: &crate::syntax::File, world: Option<&World>) -> Option<Problem> {
        use crate::syntax::Item;
        let entities = file.items.iter().filter(|item| matches!(item, Item::Entity(_)));
        let exposures = file.items.iter().filter(|item| matches!(item, Item::Exposure(_)));
        let (host_entities, host_exposures) = world.map_or((0, 0), |w| (w.entities.len(), w.exposures.len()));
        over_limit("entities", "cascade::limit::entities", self.max_entities, entities, host_entities)
            .or_else(|| {
                over_limit(
                    "exposures",
                    "cascade::limit::exposures",
                    self.max_exposures,
                    exposures,
                    host_exposures,
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
            "cascade::limit::steps",
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
        Err(other) => {
            Diagnostics::new(&source, vec![Problem::error("cascade::api::error", other.to_string())])
        }
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
}

/// A checked script, ready to run. Cheap to clone and `Send + Sync`: share it
/// between threads and start independent runs from each.
#[derive(Clone)]
pub struct Program {
    pub(crate) inner: Arc<Compiled>,
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Program({})", self.inner.ir.source.name())
    }
}

/// A param of a program and its default value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamInfo {
    /// The param's name.
    pub name: String,
    /// Its type.
    pub ty: Type,
}

impl Program {
    /// Warnings found while checking (there are no errors in a compiled program).
    pub fn warnings(&self) -> &Diagnostics {
        &self.inner.warnings
    }

    /// The script.
    pub fn source(&self) -> &SourceFile {
        &self.inner.ir.source
    }

    /// The scenario's title, if it has one.
    pub fn title(&self) -> Option<&str> {
        self.inner.ir.scenario.title.as_deref()
    }

    /// The number of steps a run takes unless it stops early.
    pub fn horizon(&self) -> u64 {
        self.inner.ir.scenario.horizon.min(self.inner.limits.max_steps)
    }

    /// The params a run can override.
    pub fn params(&self) -> Vec<ParamInfo> {
        self.inner.ir.params.iter().map(|p| ParamInfo { name: p.name.clone(), ty: p.ty }).collect()
    }

    /// Starts a run with the declared param values.
    pub fn run(&self) -> Result<Run, Error> {
        self.start().begin()
    }

    /// Starts a run with some params set to numbers.
    pub fn run_with(&self, params: &[(&str, Decimal)]) -> Result<Run, Error> {
        let mut start = self.start();
        for (name, value) in params {
            start = start.set(name, Value::Number(*value))?;
        }
        start.begin()
    }

    /// A run to configure before it begins (params, horizon, cancellation).
    pub fn start(&self) -> RunStart {
        RunStart {
            program: self.clone(),
            overrides: Vec::new(),
            horizon: None,
            cancel: None,
            provenance: None,
        }
    }

    /// The id of the param called `name`, or an error with "did you mean".
    fn param_id(&self, name: &str) -> Result<u32, Error> {
        let params = &self.inner.ir.params;
        params.iter().position(|p| p.name == name).map(|p| p as u32).ok_or_else(|| Error::UnknownName {
            name: name.to_string(),
            help: did_you_mean(name, params.iter().map(|p| p.name.as_str())).or_else(|| {
                let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                Some(if names.is_empty() {
                    String::from("the script declares no params")
                } else {
                    format!("the params are {}", crate::diagnostic::list_words(&names))
                })
            }),
        })
    }
}

/// The settings of a run before it begins; see [`Program::start`].
pub struct RunStart {
    program: Program,
    overrides: Vec<(u32, Value)>,
    horizon: Option<u64>,
    cancel: Option<Arc<AtomicBool>>,
    provenance: Option<bool>,
}

impl RunStart {
    /// Sets a param. The value must have the param's type.
    pub fn set(mut self, name: &str, value: Value) -> Result<RunStart, Error> {
        let id = self.program.param_id(name)?;
        let ty = self.program.inner.ir.params[id as usize].ty;
        let fits = matches!(
            (&value, ty),
            (Value::Number(_), Type::Number)
                | (Value::Bool(_), Type::Bool)
                | (Value::Date(_), Type::Date)
                | (Value::Str(_), Type::Str)
        );
        if !fits {
            return Err(Error::BadValue {
                name: name.to_string(),
                reason: format!("the param is {}", ty.describe()),
            });
        }
        self.overrides.retain(|(p, _)| *p != id);
        self.overrides.push((id, value));
        Ok(self)
    }

    /// Sets a param from text as written in a script (`2.8`, `45%`, `1.5bn`,
    /// `true`, `2026-06`, `"text"`), as `--set NAME=VALUE` does.
    pub fn set_text(self, name: &str, text: &str) -> Result<RunStart, Error> {
        let id = self.program.param_id(name)?;
        let ty = self.program.inner.ir.params[id as usize].ty;
        let value = parse_literal(text.trim(), ty)
            .map_err(|reason| Error::BadValue { name: name.to_string(), reason })?;
        self.set(name, value)
    }

    /// Runs this many steps instead of the scenario's horizon.
    pub fn horizon(mut self, steps: u64) -> RunStart {
        self.horizon = Some(steps);
        self
    }

    /// Another thread can stop the run by setting this flag: the run looks at it
    /// before each step and every 1,024 rule firings within a step, and stops
    /// with a `cascade::limit::cancelled` diagnostic. A deadline is a thread
    /// (or timer) that sets the flag.
    pub fn cancel_flag(mut self, flag: Arc<AtomicBool>) -> RunStart {
        self.cancel = Some(flag);
        self
    }

    /// Overrides the engine's provenance setting for this run.
    pub fn provenance(mut self, on: bool) -> RunStart {
        self.provenance = Some(on);
        self
    }

    /// Computes the initial state. Errors in initial values are diagnostics.
    pub fn begin(self) -> Result<Run, Error> {
        let inner = &self.program.inner;
        let provenance = self.provenance.unwrap_or(inner.provenance);
        let machine = Machine::start(
            &inner.ir,
            &inner.owners,
            &inner.limits,
            &self.overrides,
            self.horizon,
            provenance,
        )
        .map_err(|fault| script_error(&inner.ir, fault))?;
        Ok(Run { program: self.program, machine, cancel: self.cancel })
    }
}

fn script_error(ir: &Ir, fault: RunFault) -> Error {
    Error::Script(Box::new(Diagnostics::new(&ir.source, vec![fault.into_problem()])))
}

/// Parses a literal of type `ty` as a script would.
pub(crate) fn parse_literal(text: &str, ty: Type) -> Result<Value, String> {
    match ty {
        Type::Bool => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("`{text}` is not `true` or `false`")),
        },
        Type::Date => Date::parse(text)
            .map(Value::Date)
            .ok_or_else(|| format!("`{text}` is not a date (YYYY-MM or YYYY-MM-DD)")),
        Type::Str => Ok(Value::Str(Arc::from(text.trim_matches('"')))),
        _ => {
            let source = SourceFile::new("<value>", text);
            match crate::syntax::parse_expression(&source) {
                Ok(expr) => constant_number(&expr)
                    .ok_or_else(|| format!("`{text}` is not a number literal (e.g. `2.8`, `45%`, `1.5bn`)")),
                Err(problem) => Err(format!("`{text}` is not a number: {}", problem.message)),
            }
        }
    }
}

fn constant_number(expr: &crate::syntax::Expr) -> Option<Value> {
    use crate::syntax::{ExprKind, UnaryOp};
    match &expr.kind {
        ExprKind::Number(n) => Some(Value::Number(*n)),
        ExprKind::Unary(UnaryOp::Neg, inner) => match constant_number(inner)? {
            Value::Number(n) => Some(Value::Number(-n)),
            _ => None,
        },
        _ => None,
    }
}

/// One run of a program: its state, its trace and its step machine.
///
/// Cloning a run copies its whole state: the clone continues independently
/// (the REPL keeps clones to step back in time).
#[derive(Clone)]
pub struct Run {
    pub(crate) program: Program,
    pub(crate) machine: Machine,
    cancel: Option<Arc<AtomicBool>>,
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Run({}, step {})", self.program.inner.ir.source.name(), self.machine.st.step)
    }
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepSummary {
    /// The step number.
    pub step: u64,
    /// Its date, if the scenario has a start.
    pub date: Option<Date>,
    /// Rule instances that fired.
    pub firings: usize,
    /// Stored values that changed.
    pub changes: usize,
}

impl Run {
    /// The program this run belongs to.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Runs one step; `Ok(None)` once the run has ended (horizon or `stop`).
    pub fn step(&mut self) -> Result<Option<StepSummary>, Error> {
        let inner = &self.program.inner;
        let mut stepper = Stepper {
            ir: &inner.ir,
            derived_owner: &inner.owners,
            limits: &inner.limits,
            m: &mut self.machine,
            cancel: self.cancel.as_deref(),
        };
        match stepper.step() {
            Ok(true) => {
                let log = &self.machine.log;
                let index = log.steps.len() - 1;
                let (firings, changes, _) = log.ranges(index);
                Ok(Some(StepSummary {
                    step: self.machine.st.step,
                    date: self.machine.st.date,
                    firings: firings.len(),
                    changes: changes.len(),
                }))
            }
            Ok(false) => Ok(None),
            Err(fault) => Err(script_error(&inner.ir, fault)),
        }
    }

    /// Runs one step and shows `observer` each event of it as it is recorded
    /// (defaults, `emit`s, `stop`), in order.
    pub fn step_observed(
        &mut self,
        observer: &mut dyn FnMut(&crate::Event),
    ) -> Result<Option<StepSummary>, Error> {
        let before = self.machine.log.events.len();
        let summary = self.step()?;
        if summary.is_some() {
            for event in self.events_since(before) {
                observer(&event);
            }
        }
        Ok(summary)
    }

    /// Runs until the horizon or a `stop`.
    pub fn run_to_end(&mut self) -> Result<(), Error> {
        while self.step()?.is_some() {}
        Ok(())
    }

    /// True once the run has reached its horizon or stopped.
    pub fn is_finished(&self) -> bool {
        self.machine.end.is_some()
    }

    /// The reason given to `stop`, if the run stopped that way.
    pub fn stop_reason(&self) -> Option<&str> {
        match &self.machine.end {
            Some(crate::eval::End::Stopped(reason)) => Some(reason),
            _ => None,
        }
    }

    /// The number of the last step that ran (0 before the first).
    pub fn current_step(&self) -> u64 {
        self.machine.st.step
    }

    /// The date of the last step that ran.
    pub fn current_date(&self) -> Option<Date> {
        self.machine.st.date
    }

    /// The horizon of this run.
    pub fn horizon(&self) -> u64 {
        self.machine.horizon
    }

    /// The current value of a param, var, let, series, `step`, `date`, or
    /// `entity.field` (stored, derived, `defaulted`, `defaulted_at`).
    pub fn value(&mut self, name: &str) -> Result<Value, Error> {
        let inner = self.program.inner.clone();
        let ir = &inner.ir;
        let target = crate::report::resolve_target(ir, name)?;
        let mut ev = Evaluator { ir, st: &mut self.machine.st, derived_owner: &inner.owners };
        crate::report::read_target(&mut ev, target).map_err(|f| {
            script_error(ir, RunFault { fault: f, context: vec![format!("while reading `{name}`")] })
        })
    }

    /// A value as an analyst reads it (entity names, rounded numbers).
    pub fn display(&self, value: &Value) -> String {
        display_value(&self.program.inner.ir, value)
    }

    /// Evaluates an expression (`coreweave.ltv * 2`, `sum(b.capital for b in Bank)`)
    /// against the current state. Problems in it are diagnostics about `text`.
    pub fn evaluate(&mut self, text: &str) -> Result<Value, Error> {
        let inner = self.program.inner.clone();
        let source = SourceFile::new("<expression>", text);
        let expr = crate::syntax::parse_expression_with(&source, inner.syntax)
            .map_err(|p| Error::Script(Box::new(Diagnostics::new(&source, vec![p]))))?;
        let root =
            crate::check::check_expression(&inner.scope, &inner.ir, &expr).map_err(|mut problems| {
                if problems.is_empty() {
                    problems.push(Problem::error("cascade::check::invalid", "this expression has no value"));
                }
                Error::Script(Box::new(Diagnostics::new(&source, problems)))
            })?;
        let mut frame = vec![Value::None; root.locals as usize];
        let mut ev = Evaluator { ir: &inner.ir, st: &mut self.machine.st, derived_owner: &inner.owners };
        ev.eval(&root.node, &mut frame).map_err(|fault| {
            let problem =
                RunFault { fault, context: vec![format!("at step {}", self.machine.st.step)] }.into_problem();
            Error::Script(Box::new(Diagnostics::new(&source, vec![problem])))
        })
    }

    /// Sets a var or a stored field of an entity between steps (`"h100_price"`,
    /// `"coreweave.cash"`). The change is recorded as made by hand; rules see it
    /// in the next step. Params are fixed for a run: start a new one instead.
    pub fn set_value(&mut self, name: &str, value: Value) -> Result<(), Error> {
        let inner = self.program.inner.clone();
        let ir = &inner.ir;
        let bad = |reason: &str| Error::BadValue { name: name.to_string(), reason: reason.to_string() };
        let slot = match crate::report::resolve_target(ir, name)? {
            crate::report::Target::Slot(slot) => slot,
            crate::report::Target::Param(_) => {
                return Err(bad("params are fixed for a run; start a new run with the param set"));
            }
            _ => {
                return Err(bad(
                    "only vars and stored fields can be set; derived values follow their formula",
                ));
            }
        };
        if crate::report::slot_name(ir, slot).ends_with(".defaulted")
            || crate::report::slot_name(ir, slot).ends_with(".defaulted_at")
        {
            return Err(bad("`defaulted` is set only by `default(...)`"));
        }
        let current = &self.machine.st.slots[slot as usize];
        let same_type = std::mem::discriminant(current) == std::mem::discriminant(&value);
        if !same_type {
            return Err(bad(&format!("it holds {}", display_value(ir, current))));
        }
        if let Some(from) = self.machine.st.write_slot(slot, value.clone()) {
            let step = self.machine.st.step;
            self.machine.log.changes.push(crate::eval::trace::ChangeRecord {
                step,
                slot,
                from,
                to: value,
                cause: crate::eval::BY_HAND,
                delayed: false,
            });
        }
        Ok(())
    }

    /// The whole state of the run, to save (serde) and [`Program::resume`] later.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint { sha256: self.program.inner.ir.source.sha256(), machine: self.machine.clone() }
    }
}

/// A saved run: see [`Run::checkpoint`] and [`Program::resume`].
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    sha256: String,
    machine: Machine,
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Checkpoint(step {}, script {})",
            self.machine.st.step,
            &self.sha256[..12.min(self.sha256.len())]
        )
    }
}

/// A declared name, for completion and `:show`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declaration {
    /// The name.
    pub name: String,
    /// `param`, `var`, `let`, `series`, `kind` or `entity`.
    pub what: &'static str,
    /// For an entity, its kind; for a kind, its fields.
    pub detail: String,
}

/// A rule, for `:rules` and `:show`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    /// Its name, or `rule at line N`.
    pub label: String,
    /// Its description.
    pub description: Option<String>,
    /// The line it starts on.
    pub line: usize,
    /// Its priority.
    pub priority: i64,
    /// Its source text.
    pub text: String,
}

impl Program {
    /// Continues a saved run. The checkpoint must come from this same script.
    pub fn resume(&self, checkpoint: &Checkpoint) -> Result<Run, Error> {
        if checkpoint.sha256 != self.inner.ir.source.sha256() {
            return Err(Error::BadValue {
                name: String::from("checkpoint"),
                reason: String::from("it was saved from a different script"),
            });
        }
        let mut machine = checkpoint.machine.clone();
        machine.rebuild(&self.inner.ir);
        Ok(Run { program: self.clone(), machine, cancel: None })
    }

    /// Every declared name.
    pub fn declarations(&self) -> Vec<Declaration> {
        let ir = &self.inner.ir;
        let mut out = Vec::new();
        let simple = |list: &[crate::ir::Global], what: &'static str, out: &mut Vec<Declaration>| {
            out.extend(list.iter().map(|g| Declaration {
                name: g.name.clone(),
                what,
                detail: String::new(),
            }));
        };
        simple(&ir.params, "param", &mut out);
        simple(&ir.vars, "var", &mut out);
        simple(&ir.lets, "let", &mut out);
        out.extend(ir.series.iter().map(|s| Declaration {
            name: s.name.clone(),
            what: "series",
            detail: String::new(),
        }));
        for kind in &ir.kinds {
            let fields: Vec<&str> = kind.fields.iter().map(|f| f.name.as_str()).collect();
            out.push(Declaration { name: kind.name.clone(), what: "kind", detail: fields.join(", ") });
        }
        for entity in &ir.entities {
            let kind = ir.kinds[entity.kind as usize].name.clone();
            out.push(Declaration { name: entity.name.clone(), what: "entity", detail: kind });
        }
        out
    }

    /// The fields of an entity or a kind (with `defaulted` and `defaulted_at`).
    pub fn fields(&self, entity_or_kind: &str) -> Option<Vec<String>> {
        let ir = &self.inner.ir;
        let kind = match ir.kinds.iter().find(|k| k.name == entity_or_kind) {
            Some(k) => k,
            None => &ir.kinds[ir.entities.iter().find(|e| e.name == entity_or_kind)?.kind as usize],
        };
        let mut fields: Vec<String> = kind.fields.iter().map(|f| f.name.clone()).collect();
        fields.extend(["defaulted", "defaulted_at"].map(String::from));
        Some(fields)
    }

    /// Every rule, in source order.
    pub fn rules(&self) -> Vec<RuleInfo> {
        let ir = &self.inner.ir;
        ir.rules
            .iter()
            .map(|r| RuleInfo {
                label: r.label.clone(),
                description: r.description.clone(),
                line: r.line,
                priority: r.priority,
                text: r.span.text(ir.source.text()).to_string(),
            })
            .collect()
    }
}
