//! Run-time errors inside expressions, and the faults every evaluator raises.

use crate::codes;
use crate::source::Span;

/// A run-time error inside an expression. Boxed: evaluation returns
/// `Result<Value, Fault>` at every node, and the error is rare and large.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fault(Box<FaultData>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FaultData {
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
    /// True when the fault arose computing one of the script's derived
    /// values, so its span is in the script even when the evaluation began in
    /// an expression typed later (`Run::evaluate`).
    pub in_script: bool,
}

impl std::ops::Deref for Fault {
    type Target = FaultData;
    fn deref(&self) -> &FaultData {
        &self.0
    }
}

impl std::ops::DerefMut for Fault {
    fn deref_mut(&mut self) -> &mut FaultData {
        &mut self.0
    }
}

impl Fault {
    pub fn new(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Fault {
        Fault(Box::new(FaultData {
            code,
            message: message.into(),
            span,
            label: label.into(),
            help: None,
            in_script: false,
        }))
    }

    pub fn help(mut self, help: impl Into<String>) -> Fault {
        self.0.help = Some(help.into());
        self
    }

    /// Marks the fault as one whose span is in the script.
    pub fn in_script(mut self) -> Fault {
        self.0.in_script = true;
        self
    }

    pub fn into_data(self) -> FaultData {
        *self.0
    }
}

pub(crate) type Eval<T> = Result<T, Fault>;

/// The fuel ran out while evaluating at `span`.
pub(crate) fn out_of_fuel(span: Span) -> Fault {
    Fault::new(
        codes::limit::fuel,
        "the run used up its evaluation budget (fuel)",
        span,
        "the budget ran out while evaluating this",
    )
    .help("the host limits how much work a run may do; raise it with `--max-fuel` or `Engine::max_fuel`")
}

pub(super) fn overflow(span: Span, doing: &str) -> Fault {
    Fault::new(
        codes::run::overflow,
        format!("arithmetic overflow while {doing}"),
        span,
        "the result is beyond the range of exact decimals (about 7.9e28)",
    )
}

/// `mean`, `min` or `max` of nothing; `why` says where the elements went.
pub(super) fn empty(span: Span, name: &str, why: &str) -> Fault {
    Fault::new(codes::run::empty_aggregate, format!("`{name}` of no elements"), span, why)
        .help(format!("guard it, e.g. `count(...) > 0 and {name}(...) > x`"))
}

pub(super) fn no_value(span: Span) -> Fault {
    Fault::new(
        codes::run::no_value,
        "this has no value",
        span,
        "no value here (e.g. `defaulted_at` of an entity that has not defaulted)",
    )
    .help("check `e.defaulted` first, or compare with `==` which treats no value as unequal")
}

pub(super) fn internal(span: Span) -> Fault {
    Fault::new(
        codes::run::internal,
        "internal error: a value of an unexpected type",
        span,
        "while evaluating this",
    )
    .help("this is a bug in Cascade; please report it with the script")
}

/// A divisor that is 0. The label is on the divisor itself: it names it
/// whatever the source (a script, or an expression typed in the REPL).
pub(super) fn division_by_zero(span: Span) -> Fault {
    Fault::new(codes::run::division_by_zero, "division by zero", span, "this divisor is 0")
        .help("guard the division, e.g. `x / max(y, 1)`, or use a `where` filter")
}
