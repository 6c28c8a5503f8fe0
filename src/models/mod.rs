//! The standard contagion models, computed over a kind's entities and the
//! exposures between them: clearing vectors (`clearing.rs`: Eisenberg–Noe,
//! Rogers–Veraart, with the solve of one round in `round.rs`) and DebtRank
//! (`debtrank.rs`).
//!
//! These are plain functions of decimals and index lists, with no knowledge of
//! scripts: the evaluator (`eval/models.rs`) reads a model's inputs through the
//! cells of the run (so the result is cached like a derived value and computed
//! again only when an input changes), checks them, and calls these.

pub mod clearing;
pub mod debtrank;
mod round;
