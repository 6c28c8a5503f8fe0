//! [`RunStart`] and [`Run`]: setting up a run, stepping it, reading and
//! setting its values, saving it.

use super::*;
use crate::codes;

/// The settings of a run before it begins; see [`Program::start`].
pub struct RunStart {
    pub(super) program: Program,
    pub(super) overrides: Vec<(u32, Value)>,
    /// Initial values of stored fields, by slot.
    pub(super) field_overrides: Vec<(u32, Value)>,
    pub(super) horizon: Option<u64>,
    pub(super) cancel: Option<Arc<AtomicBool>>,
    pub(super) provenance: Option<bool>,
    pub(super) seed: u64,
    pub(super) path: Option<u64>,
    /// The machine of an earlier run of the same program, whose memory the
    /// new run reuses (a sweep's paths; see [`RunStart::reusing`]).
    pub(super) recycled: Option<Box<Machine>>,
}

impl RunStart {
    /// The seed of the run's random draws (default 0).
    pub fn seed(mut self, seed: u64) -> RunStart {
        self.seed = seed;
        self
    }

    /// Runs as path `path` of a sweep with this seed: uncertain params are
    /// drawn (not their base values), and every draw is the one that path
    /// makes. Without it, draws come from path 0's stream and uncertain
    /// params keep their base values.
    pub fn path(mut self, path: u64) -> RunStart {
        self.path = Some(path);
        self
    }

    /// Sets a param by id to a value already of its type.
    pub(crate) fn set_id(mut self, id: u32, value: Value) -> RunStart {
        self.overrides.retain(|(p, _)| *p != id);
        self.overrides.push((id, value));
        self
    }

    /// Sets a param, or the initial value of an entity's stored field
    /// (`"alpha.capital"`). The value must have the param's or field's type.
    /// Initial values declared after the field are computed from the new value.
    pub fn set(mut self, name: &str, value: Value) -> Result<RunStart, Error> {
        if name.contains('.') {
            let (slot, ty) = self.program.field_slot(name)?;
            if !fits(&value, ty) {
                return Err(Error::BadValue {
                    name: name.to_string(),
                    reason: format!("the field is {}", ty.describe()),
                });
            }
            self.field_overrides.retain(|(s, _)| *s != slot);
            self.field_overrides.push((slot, value));
            return Ok(self);
        }
        let id = self.program.param_id(name)?;
        let ty = self.program.inner.ir.params[id as usize].ty;
        if !fits(&value, ty) {
            return Err(Error::BadValue {
                name: name.to_string(),
                reason: format!("the param is {}", ty.describe()),
            });
        }
        self.overrides.retain(|(p, _)| *p != id);
        self.overrides.push((id, value));
        Ok(self)
    }

    /// Sets a param or a stored field's initial value from text as written in
    /// a script (`2.8`, `45%`, `1.5bn`, `$3`, `true`, `2026-06`, `"text"`) or in
    /// scientific notation (`5e-05`, converted exactly), as `--set NAME=VALUE`
    /// does.
    pub fn set_text(self, name: &str, text: &str) -> Result<RunStart, Error> {
        let ty = if name.contains('.') {
            self.program.field_slot(name)?.1
        } else {
            let id = self.program.param_id(name)?;
            self.program.inner.ir.params[id as usize].ty
        };
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

    /// Reuses the memory of a finished run of the same program (its lists of
    /// readers, instances, log and frames) instead of allocating them again:
    /// what a sweep does from one path to the next. The new run is the same
    /// as one started afresh.
    pub(crate) fn reusing(mut self, machine: Machine) -> RunStart {
        self.recycled = Some(Box::new(machine));
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
        if let Some(horizon) = self.horizon
            && horizon > inner.limits.max_steps
        {
            // The script's own horizon over the limit is a warning at compile
            // time; a horizon asked for here is refused rather than cut short.
            let max = inner.limits.max_steps;
            let problem = crate::diagnostic::Problem::error(
                crate::codes::limit::steps,
                format!("a horizon of {horizon} steps is more than this engine runs (at most {max})"),
            )
            .help("raise the limit (`Engine::max_steps`, `--max-steps`) or ask for a shorter horizon");
            return Err(Error::Script(Box::new(Diagnostics::new(&inner.ir.source, vec![problem]))));
        }
        let machine = Machine::start(
            &inner.ir,
            &inner.owners,
            &inner.limits,
            &self.overrides,
            &self.field_overrides,
            self.horizon,
            provenance,
            (self.seed, self.path),
            self.recycled.map(|m| *m),
        )
        .map_err(|fault| script_error(&inner.ir, fault))?;
        Ok(Run { program: self.program, machine, cancel: self.cancel })
    }
}

fn script_error(ir: &Ir, fault: RunFault) -> Error {
    Error::Script(Box::new(Diagnostics::new(&ir.source, vec![fault.into_problem()])))
}

/// The name of `value`'s type in messages ("a number").
fn describe_type(value: &Value) -> &'static str {
    match value {
        Value::Number(_) => Type::Number.describe(),
        Value::Bool(_) => Type::Bool.describe(),
        Value::Date(_) => Type::Date.describe(),
        Value::Str(_) => Type::Str.describe(),
        Value::Entity(_) => Type::Entity(None).describe(),
        Value::Exposure(_) => Type::Exposure.describe(),
        Value::None => "no value",
    }
}

/// Whether `value` has type `ty`.
fn fits(value: &Value, ty: Type) -> bool {
    matches!(
        (value, ty),
        (Value::Number(_), Type::Number)
            | (Value::Bool(_), Type::Bool)
            | (Value::Date(_), Type::Date)
            | (Value::Str(_), Type::Str)
    )
}

/// `5e-05`, `-1.25E+3`: scientific notation, converted exactly (`None` when the
/// text is not in it, or the value has no exact decimal).
fn scientific(text: &str) -> Option<Result<Decimal, String>> {
    let (mantissa, exponent) = text.split_once(['e', 'E'])?;
    let digits = mantissa.strip_prefix(['-', '+']).unwrap_or(mantissa);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let exponent_digits = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let shaped = !(whole.is_empty() && fraction.is_empty())
        && is_digits(whole)
        && is_digits(fraction)
        && !exponent_digits.is_empty()
        && is_digits(exponent_digits);
    if !shaped {
        return None;
    }
    let out_of_range = || format!("`{text}` is out of range: at most 28 significant digits, below 7.9e28");
    let exact = || -> Option<Decimal> {
        let power: i64 = exponent.parse().ok()?;
        let mut value = Decimal::from_str_exact(mantissa.strip_prefix('+').unwrap_or(mantissa)).ok()?;
        let ten = Decimal::TEN;
        if power >= 0 {
            for _ in 0..power.min(60) {
                value = value.checked_mul(ten)?;
            }
            (power <= 60 || value.is_zero()).then_some(value)
        } else {
            // Dividing by ten is exact while the scale stays within 28 places.
            let scale = i64::from(value.scale()) - power;
            if scale > 28 {
                return None;
            }
            value.set_scale(u32::try_from(scale).ok()?).ok()?;
            Some(value)
        }
    };
    Some(exact().ok_or_else(out_of_range))
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
            if let Some(number) = scientific(text) {
                return number.map(Value::Number);
            }
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
    pub(super) cancel: Option<Arc<AtomicBool>>,
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
        let target = crate::names::resolve_target(ir, name)?;
        let mut ev = Evaluator { ir, st: &mut self.machine.st, derived_owner: &inner.owners };
        read_target(&mut ev, target).map_err(|f| {
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
                    problems.push(Problem::error(codes::check::invalid, "this expression has no value"));
                }
                Error::Script(Box::new(Diagnostics::new(&source, problems)))
            })?;
        let mut frame = vec![Value::None; root.locals as usize];
        let mut ev = Evaluator { ir: &inner.ir, st: &mut self.machine.st, derived_owner: &inner.owners };
        ev.eval(&root.node, &mut frame).map_err(|fault| {
            // A fault in a derived value of the script is shown in the script.
            let (shown, context) = if fault.in_script {
                (&inner.ir.source, vec![format!("at step {}, evaluating `{text}`", self.machine.st.step)])
            } else {
                (&source, vec![format!("at step {}", self.machine.st.step)])
            };
            let problem = RunFault { fault, context }.into_problem();
            Error::Script(Box::new(Diagnostics::new(shown, vec![problem])))
        })
    }

    /// Sets a var or a stored field of an entity between steps (`"h100_price"`,
    /// `"coreweave.cash"`). The change is recorded as made by hand; rules see it
    /// in the next step. Params are fixed for a run: start a new one instead.
    pub fn set_value(&mut self, name: &str, value: Value) -> Result<(), Error> {
        let inner = self.program.inner.clone();
        let ir = &inner.ir;
        let bad = |reason: &str| Error::BadValue { name: name.to_string(), reason: reason.to_string() };
        let slot = match crate::names::resolve_target(ir, name)? {
            crate::names::Target::Slot(slot) => slot,
            crate::names::Target::Param(_) => {
                return Err(bad("params are fixed for a run; start a new run with the param set"));
            }
            _ => {
                return Err(bad(
                    "only vars and stored fields can be set; derived values follow their formula",
                ));
            }
        };
        if crate::names::slot_name(ir, slot).ends_with(".defaulted")
            || crate::names::slot_name(ir, slot).ends_with(".defaulted_at")
        {
            return Err(bad("`defaulted` is set only by `default(...)`"));
        }
        let current = &self.machine.st.slots[slot as usize];
        let same_type = std::mem::discriminant(current) == std::mem::discriminant(&value);
        if !same_type {
            return Err(bad(&format!(
                "it holds {} (now {}), and `{}` is {}",
                describe_type(current),
                display_value(ir, current),
                display_value(ir, &value),
                describe_type(&value)
            )));
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
                set: true,
            });
        }
        Ok(())
    }

    /// The whole state of the run, to save (serde) and [`Program::resume`] later.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint { sha256: self.program.inner.ir.source.sha256(), machine: self.machine.clone() }
    }
}

/// The value of `target` in the evaluator's state.
pub(crate) fn read_target(
    ev: &mut Evaluator,
    target: crate::names::Target,
) -> Result<Value, crate::eval::Fault> {
    Ok(match target {
        crate::names::Target::Param(p) => ev.st.params[p as usize].clone(),
        crate::names::Target::Slot(s) => ev.st.slots[s as usize].clone(),
        crate::names::Target::Derived(d) => ev.derived(d, crate::source::Span::default())?,
        crate::names::Target::Series(s) => ev.st.series[s as usize].clone(),
        crate::names::Target::Step => Value::Number(ev.st.step.into()),
        crate::names::Target::Date => ev.st.date.map_or(Value::None, Value::Date),
    })
}
