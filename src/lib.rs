//! Cascade: an embeddable, rules-based language for contagion scenarios.
//!
//! An analyst writes a `.cascade` script that declares actors, their balance
//! sheets, who is exposed to whom, and rules such as
//! `when h100_price < 1.50 then default(applied_digital)`. This crate parses and
//! checks the script, runs it step by step in exact decimal arithmetic, and
//! explains what happened.
//!
//! ```
//! use cascade::Engine;
//! use rust_decimal::Decimal;
//!
//! let script = r#"
//!     param loss_line = 1.50
//!     var price = 2.00
//!     kind Supplier { cash = 0 }
//!     entity miner: Supplier { cash = 300m }
//!     while price > 1 then price -= 0.25
//!     when price < loss_line then default(miner)
//!     expect miner.defaulted_at == 3      # 1.75, 1.50, 1.25
//! "#;
//! let program = Engine::new().compile(script, "hello.cascade")?;
//! let mut run = program.run_with(&[("loss_line", Decimal::new(150, 2))])?;
//! run.run_to_end()?;
//! assert_eq!(run.value("miner.defaulted")?.to_string(), "true");
//! assert!(run.expectations().iter().all(|e| e.passed));
//! # Ok::<(), cascade::Error>(())
//! ```
//!
//! The pipeline and its invariants are described in `ARCHITECTURE.md`; the
//! language in `docs/language.md`.
#![warn(missing_docs)]

pub mod builtins;
mod check;
pub mod codes;
mod data;
pub mod diagnostic;
mod engine;
mod eval;
mod explain;
mod host;
mod ir;
mod loops;
pub mod models;
mod names;
mod random;
mod report;
pub mod source;
mod stress;
mod sweep;
pub mod syntax;
pub mod value;

pub use data::{DataFile, DataLoader, DataSource};
pub use diagnostic::{Diagnostics, Problem, RenderStyle};
pub use engine::{
    Checkpoint, Declaration, DeclarationKind, Engine, Error, ParamInfo, Program, RuleInfo, Run, RunStart,
    StepSummary, World, check_source,
};
pub use explain::{Approach, Candidate, Cause, CauseKind, Explanation, Loss, MAX_EXPLAIN_DEPTH, Read};
pub use host::{HostFn, HostReturn, HostValue};
pub use loops::{FeedbackLoop, FeedbackLoops, GraphFormat, LinkSign, MAX_FEEDBACK_LOOPS, Polarity};
pub use report::{Column, Event, EventKind, Expectation, ExpectationKind, Trace};
pub use rust_decimal::Decimal;
pub use stress::{
    Boundary, Effect, Explained, MAX_GRID, Method, ReverseStress, Sensitivity, SensitivityOptions, Threshold,
    ThresholdOptions, TornadoRow, Verdict,
};
pub use sweep::{
    BLOCK, DefaultCurve, DefaultRow, EXACT_VALUES, FAN_PERCENTILES, FanStep, MAX_ENTITY_COLUMNS, MAX_POINTS,
    MergeError, Merged, OutputFormat, PathEnd, PathResult, RowWriter, Sample, Shard, ShardOutput, Summary,
    Sweep, SweepEnd, SweepError, SweepOptions, merge_outputs,
};
pub use value::{Date, StepUnit, Type, Value};

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The Rust example of `docs/sweep.md`, compiled and run as a doctest.
#[doc = include_str!("../docs/sweep.md")]
#[cfg(doctest)]
pub struct SweepDoctests;

/// The Rust example of `docs/sensitivity.md`, compiled and run as a doctest.
#[doc = include_str!("../docs/sensitivity.md")]
#[cfg(doctest)]
pub struct SensitivityDoctests;
