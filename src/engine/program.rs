//! [`Program`]: a checked script, what it declares, and resuming saved runs.

use super::*;

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
    /// True for an uncertain param (`param x = 2 ~ normal(2, 0.2)`), which a
    /// path of a sweep draws.
    pub uncertain: bool,
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

    /// The data files loaded by `entities ... from` and `exposures from`, with
    /// their SHA-256, in the order of the script's declarations.
    pub fn data_sources(&self) -> &[crate::data::DataSource] {
        &self.inner.data
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
        self.inner
            .ir
            .params
            .iter()
            .map(|p| ParamInfo { name: p.name.clone(), ty: p.ty, uncertain: p.uncertain.is_some() })
            .collect()
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
            field_overrides: Vec::new(),
            horizon: None,
            cancel: None,
            provenance: None,
            seed: 0,
            path: None,
            recycled: None,
        }
    }

    /// The slot of stored field `entity.field` and its type, or an error that
    /// says what the entity or its kind has.
    pub(super) fn field_slot(&self, name: &str) -> Result<(u32, Type), Error> {
        let ir = &self.inner.ir;
        let (entity_name, field_name) = name.split_once('.').unwrap_or((name, ""));
        let unknown = |help: Option<String>| Error::UnknownName { name: name.to_string(), help };
        let Some(e) = ir.entities.iter().position(|e| e.name == entity_name) else {
            return Err(unknown(
                did_you_mean(entity_name, ir.entities.iter().map(|e| e.name.as_str()))
                    .map(|d| format!("{d} (an entity)"))
                    .or_else(|| Some(format!("no entity is called `{entity_name}`"))),
            ));
        };
        let kind = &ir.kinds[ir.kind_of(e as u32) as usize];
        let stored: Vec<&str> = kind.fields.iter().filter(|f| !f.derived).map(|f| f.name.as_str()).collect();
        match kind.field(field_name) {
            Some((_, f)) if !f.derived => Ok((ir.layout[e].slot_base + f.index, f.ty)),
            Some(_) => Err(Error::BadValue {
                name: name.to_string(),
                reason: format!(
                    "`{field_name}` is a derived field of `{}`; set one of its stored fields: {}",
                    kind.name,
                    crate::diagnostic::list_words(&stored)
                ),
            }),
            None => Err(unknown(did_you_mean(field_name, stored.iter().copied()).or_else(|| {
                Some(if stored.is_empty() {
                    format!("`{}` has no stored fields", kind.name)
                } else {
                    format!(
                        "the stored fields of `{}` are {}",
                        kind.name,
                        crate::diagnostic::list_words(&stored)
                    )
                })
            }))),
        }
    }

    /// The id of the param called `name`, or an error with "did you mean".
    pub(crate) fn param_id(&self, name: &str) -> Result<u32, Error> {
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

/// A saved run: see [`Run::checkpoint`] and [`Program::resume`].
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub(super) sha256: String,
    pub(super) machine: Machine,
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

/// What a [`Declaration`] declares: serialised as `param`, `var`, `let`,
/// `series`, `kind` or `entity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclarationKind {
    /// `param NAME = ...`
    Param,
    /// `var NAME = ...`
    Var,
    /// `let NAME = ...`
    Let,
    /// `series NAME = ...`
    Series,
    /// `kind NAME { ... }`
    Kind,
    /// `entity NAME: Kind { ... }` (in the script, a data file or the host's `World`).
    Entity,
}

impl DeclarationKind {
    /// The keyword that declares it.
    pub fn as_str(self) -> &'static str {
        match self {
            DeclarationKind::Param => "param",
            DeclarationKind::Var => "var",
            DeclarationKind::Let => "let",
            DeclarationKind::Series => "series",
            DeclarationKind::Kind => "kind",
            DeclarationKind::Entity => "entity",
        }
    }

    /// A value read by name in outputs: a var, a let or a series.
    pub fn is_value(self) -> bool {
        matches!(self, DeclarationKind::Var | DeclarationKind::Let | DeclarationKind::Series)
    }
}

impl std::fmt::Display for DeclarationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A declared name, for completion and `:show`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declaration {
    /// The name.
    pub name: String,
    /// A param, var, let, series, kind or entity.
    pub what: DeclarationKind,
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
        let simple = |list: &[crate::ir::Global], what: DeclarationKind, out: &mut Vec<Declaration>| {
            out.extend(list.iter().map(|g| Declaration {
                name: g.name.clone(),
                what,
                detail: String::new(),
            }));
        };
        simple(&ir.params, DeclarationKind::Param, &mut out);
        simple(&ir.vars, DeclarationKind::Var, &mut out);
        simple(&ir.lets, DeclarationKind::Let, &mut out);
        out.extend(ir.series.iter().map(|s| Declaration {
            name: s.name.clone(),
            what: DeclarationKind::Series,
            detail: String::new(),
        }));
        for kind in &ir.kinds {
            let fields: Vec<&str> = kind.fields.iter().map(|f| f.name.as_str()).collect();
            out.push(Declaration {
                name: kind.name.clone(),
                what: DeclarationKind::Kind,
                detail: fields.join(", "),
            });
        }
        for (e, entity) in ir.entities.iter().enumerate() {
            let kind = ir.kinds[ir.kind_of(e as u32) as usize].name.clone();
            out.push(Declaration { name: entity.name.clone(), what: DeclarationKind::Entity, detail: kind });
        }
        out
    }

    /// The fields of an entity or a kind (with `defaulted` and `defaulted_at`).
    pub fn fields(&self, entity_or_kind: &str) -> Option<Vec<String>> {
        let ir = &self.inner.ir;
        let kind = match ir.kinds.iter().find(|k| k.name == entity_or_kind) {
            Some(k) => k,
            None => {
                &ir.kinds
                    [ir.kind_of(ir.entities.iter().position(|e| e.name == entity_or_kind)? as u32) as usize]
            }
        };
        let mut fields: Vec<String> = kind.fields.iter().map(|f| f.name.clone()).collect();
        fields.extend(["defaulted", "defaulted_at"].map(String::from));
        Some(fields)
    }

    /// The fields an exposure `x` has: `creditor`, `debtor`, `amount`,
    /// `recovery`, then its extra fields (`x.maturity`), in the order first given.
    pub fn exposure_fields(&self) -> Vec<String> {
        let ir = &self.inner.ir;
        let mut fields: Vec<String> = ["creditor", "debtor", "amount", "recovery"].map(String::from).into();
        fields.extend(ir.exposure_fields.iter().map(|c| c.name.clone()));
        fields
    }

    /// The fields that `x.debtor.FIELD` (or, with `debtor` false,
    /// `x.creditor.FIELD`) can read: those of the kind of every exposure's
    /// debtor (creditor) when they share one, else `defaulted` and
    /// `defaulted_at`, which every entity has.
    pub fn exposure_side_fields(&self, debtor: bool) -> Vec<String> {
        let ir = &self.inner.ir;
        let kind = if debtor { ir.debtor_kind } else { ir.creditor_kind };
        match kind.and_then(|k| ir.kinds.get(k as usize)) {
            Some(kind) => self.fields(&kind.name).unwrap_or_default(),
            None => ["defaulted", "defaulted_at"].map(String::from).into(),
        }
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
