//! The IR of the standard models and of `solve` systems: what the checker
//! lowers a `clearing`, a `debtrank` or a kind's `solve` fields to.

use super::*;

/// The `solve` fields of a kind: one system of equations, solved together for
/// every entity of the kind and cached in derived cell `cell` (after the
/// models'). Each entity's solved field reads that cell.
#[derive(Clone, Debug)]
pub(crate) struct SolveDef {
    pub kind: Id,
    pub fields: Vec<SolvedField>,
    /// The first `solve` field's declaration.
    pub span: Span,
    pub cell: u32,
}

/// One field of a system: the equation is the field's formula (`FieldDef::expr`).
#[derive(Clone, Debug)]
pub(crate) struct SolvedField {
    /// Index among the kind's derived fields.
    pub field: u32,
    pub name: String,
    /// The value each entity starts from (local 0 is `self`).
    pub start: Root,
    /// `within TOL` and `limit N`: numbers of params.
    pub within: Option<(Root, Span)>,
    pub limit: Option<(Root, Span)>,
}

/// A standard model declared for a kind. Its results are computed together,
/// for every entity of the kind, and cached in derived cell `cell` (after the
/// lets and the entities' derived fields): reading a result reads that cell.
#[derive(Clone, Debug)]
pub(crate) struct ModelDef {
    pub kind: Id,
    pub spec: ModelSpec,
    pub span: Span,
    pub cell: u32,
}

#[derive(Clone, Debug)]
pub(crate) enum ModelSpec {
    /// `external_assets`, `external_liabilities`.
    Clearing { method: ClearingIr, fields: [FieldRef; 2] },
    /// `equity`, `shock`, `value`; Bardoscia et al.'s variant if `differential`.
    DebtRank { fields: [FieldRef; 3], differential: bool },
}

impl ModelSpec {
    /// The fields of its kind that the model reads.
    pub fn fields(&self) -> &[FieldRef] {
        match self {
            ModelSpec::Clearing { fields, .. } => fields,
            ModelSpec::DebtRank { fields, .. } => fields,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum ClearingIr {
    EisenbergNoe {
        senior: bool,
    },
    /// α and β: expressions of params, with their spans.
    RogersVeraart {
        alpha: (Root, Span),
        beta: (Root, Span),
    },
}
