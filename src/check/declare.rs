//! Pass 1 of the checker: every name into the one namespace, kinds with
//! their field tables, and resolving kind and entity names.

use super::*;
use crate::codes;

impl<'a> Checker<'a> {
    // ---------------------------------------------------------------------
    // Pass 1: declarations

    pub(super) fn declare_all(&mut self) {
        let mut scenario_seen: Option<Span> = None;
        for item in &self.file.items {
            match item {
                Item::Scenario(s) => {
                    if let Some(first) = scenario_seen {
                        self.error(
                            Problem::error(
                                codes::check::duplicate,
                                "a script has at most one `scenario` block",
                            )
                            .label(s.span, "second scenario block")
                            .label(first, "first one here")
                            .help("merge the two blocks"),
                        );
                    } else {
                        scenario_seen = Some(s.span);
                        self.declare_scenario(s);
                    }
                }
                Item::Param(d) => {
                    let id = self.params.len() as Id;
                    if self.declare_name(&d.name, Decl::Param(id)) {
                        self.params.push(GlobalSlot::new(d));
                    }
                }
                Item::Var(d) => {
                    let id = self.vars.len() as Id;
                    if self.declare_name(&d.name, Decl::Var(id)) {
                        self.vars.push(GlobalSlot::new(d));
                    }
                }
                Item::Let(d) => {
                    let id = self.lets.len() as Id;
                    if self.declare_name(&d.name, Decl::Let(id)) {
                        self.lets.push(GlobalSlot::new(d));
                    }
                }
                Item::Series(s) => {
                    let id = self.series.len() as Id;
                    if self.declare_name(&s.name, Decl::Series(id)) {
                        self.series.push((s, None));
                    }
                }
                Item::Kind(k) => {
                    let id = self.kinds.len() as Id;
                    if self.declare_name(&k.name, Decl::Kind(id)) {
                        let slot = self.declare_kind(k);
                        self.kinds.push(slot);
                    }
                }
                _ => {}
            }
        }
        // Entities after kinds, so an entity may come before its kind.
        for item in &self.file.items {
            if let Item::Entity(e) = item {
                let id = self.entities.len() as Id;
                if self.declare_name(&e.name, Decl::Entity(id)) {
                    let kind = self.resolve_kind(&e.kind);
                    if let Some(k) = kind {
                        self.kinds[k as usize].entities.push(id);
                    }
                    self.entities.push(EntitySlot { name: &e.name.name, ast: Some(e), kind, data: None });
                }
            }
        }
        self.declare_data_entities();
    }

    /// Adds a name to the global namespace; reports a duplicate or a reserved word.
    pub(super) fn declare_name(&mut self, name: &'a syntax::Ident, decl: Decl) -> bool {
        if syntax::BUILTIN_NAMES.contains(&name.name.as_str())
            || syntax::BUILTIN_FUNCTIONS.contains(&name.name.as_str())
        {
            self.error(
                Problem::error(codes::check::reserved_name, format!("`{}` is a built-in name", name.name))
                    .label(name.span, "cannot be declared")
                    .help("choose another name"),
            );
            return false;
        }
        if let Some(&(previous, previous_span)) = self.names.get(name.name.as_str()) {
            // Names are declared by category (globals before entities), not in
            // the order of the text: "first" is whichever comes first in the file.
            let ((first, first_span), (again, again_span)) = if previous_span.start <= name.span.start {
                ((previous, previous_span), (decl, name.span))
            } else {
                ((decl, name.span), (previous, previous_span))
            };
            self.error(
                Problem::error(codes::check::duplicate, format!("`{}` is declared twice", name.name))
                    .label(again_span, format!("declared again here as {}", again.a_what()))
                    .label(first_span, format!("first declared here as {}", first.a_what()))
                    .help("rename one of them"),
            );
            return false;
        }
        self.names.insert(name.name.as_str().into(), (decl, name.span));
        true
    }

    pub(super) fn declare_scenario(&mut self, s: &'a syntax::Scenario) {
        self.scenario.title = s.title.as_plain();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for setting in &s.settings {
            let name = setting.name.name.as_str();
            if let Some(&first) = seen.get(name) {
                self.error(
                    Problem::error(codes::check::duplicate, format!("`{name}` is set twice"))
                        .label(setting.name.span, "set again here")
                        .label(first, "first set here"),
                );
                continue;
            }
            seen.insert(name, setting.name.span);
            let value = &setting.value;
            match name {
                "start" => match value.kind {
                    ExprKind::Date(d) => self.scenario.start = Some(d),
                    _ => self.error(
                        Problem::error(codes::check::bad_setting, "`start` must be a date")
                            .label(value.span, "not a date")
                            .help("write it as `start = 2026-01` or `start = 2026-01-31`"),
                    ),
                },
                "step" => match &value.kind {
                    ExprKind::Name(unit) if StepUnit::from_name(unit).is_some() => {
                        self.scenario.unit = StepUnit::from_name(unit).unwrap_or(StepUnit::Month);
                    }
                    _ => {
                        let units: Vec<&str> = StepUnit::ALL.iter().map(|(n, _)| *n).collect();
                        let written = value.span.text(self.source.text());
                        self.error(
                            Problem::error(
                                codes::check::bad_setting,
                                format!("`{written}` is not a step unit"),
                            )
                            .label(value.span, "unknown unit")
                            .help(
                                self.did_you_mean(written, units.iter().copied()).unwrap_or_else(|| {
                                    format!("a step is one {}", list_words(&units).replace(" and ", " or "))
                                }),
                            ),
                        );
                    }
                },
                "horizon" => {
                    let steps = match value.kind {
                        ExprKind::Number(n) if n.is_integer() && n > rust_decimal::Decimal::ZERO => {
                            u64::try_from(n).ok()
                        }
                        _ => None,
                    };
                    match steps {
                        Some(h) => self.scenario.horizon = h,
                        None => self.error(
                            Problem::error(
                                codes::check::bad_setting,
                                "`horizon` must be a positive whole number of steps",
                            )
                            .label(value.span, "not a positive whole number")
                            .help("for example `horizon = 48`"),
                        ),
                    }
                }
                other => {
                    let known = ["start", "step", "horizon"];
                    self.error(
                        Problem::error(
                            codes::check::bad_setting,
                            format!("`{other}` is not a scenario setting"),
                        )
                        .label(setting.name.span, "unknown setting")
                        .help(
                            self.did_you_mean(other, known)
                                .unwrap_or_else(|| format!("the settings are {}", list_words(&known))),
                        ),
                    );
                }
            }
        }
    }

    pub(super) fn declare_kind(&mut self, k: &'a syntax::Kind) -> KindSlot<'a> {
        let mut fields: Vec<FieldSlot<'a>> = Vec::new();
        let (mut stored, mut derived) = (0u32, 0u32);
        for field in &k.fields {
            let name = field.name.name.as_str();
            if let Some(first) = fields.iter().find(|f| f.ast.name.name == name) {
                self.error(
                    Problem::error(
                        codes::check::duplicate,
                        format!("field `{name}` is declared twice in `{}`", k.name.name),
                    )
                    .label(field.name.span, "declared again here")
                    .label(first.ast.name.span, "first declared here"),
                );
                continue;
            }
            if name == "defaulted" || name == "defaulted_at" {
                self.error(
                    Problem::error(
                        codes::check::reserved_name,
                        format!("`{name}` is a built-in field of every entity"),
                    )
                    .label(field.name.span, "cannot be declared")
                    .help("it is set by `default(e)`; choose another name"),
                );
                continue;
            }
            let index = if field.derived { &mut derived } else { &mut stored };
            fields.push(FieldSlot {
                ast: field,
                index: *index,
                state: Lowered::Pending,
                root: None,
                reads: Vec::new(),
            });
            *index += 1;
        }
        KindSlot { ast: k, fields, stored_count: stored, derived_count: derived, entities: Vec::new() }
    }

    /// Counts a reference to a declared value as a use, also when the reference
    /// is wrong and reported: no "never used" warning on top of the error.
    pub(super) fn mark_used(&mut self, decl: Decl) {
        let node = match decl {
            Decl::Param(p) => GraphNode::Param(p),
            Decl::Var(v) => GraphNode::Var(v),
            Decl::Let(l) => GraphNode::Let(l),
            Decl::Series(s) => GraphNode::Series(s),
            Decl::Kind(_) | Decl::Entity(_) => return,
        };
        self.used.push(node);
    }

    /// True for a name that an item with a syntax error declares: the syntax
    /// error is reported, so the name is not also called unknown.
    pub(super) fn declared_by_unparsed_item(&self, name: &str) -> bool {
        self.unparsed.contains(name)
    }

    pub(super) fn resolve_kind(&mut self, name: &syntax::Ident) -> Option<Id> {
        match self.names.get(name.name.as_str()) {
            Some(&(Decl::Kind(k), _)) => Some(k),
            Some(&(other, _)) => {
                self.mark_used(other);
                self.error(
                    Problem::error(
                        codes::check::not_a_kind,
                        format!("`{}` is {}, not a kind", name.name, other.a_what()),
                    )
                    .label(name.span, "expected a kind here"),
                );
                None
            }
            None if self.declared_by_unparsed_item(&name.name) => None,
            None => {
                let kinds: Vec<&str> = self.kinds.iter().map(|k| k.ast.name.name.as_str()).collect();
                let help = self
                    .did_you_mean(&name.name, kinds.iter().copied())
                    .unwrap_or_else(|| crate::diagnostic::kinds_help(&name.name, &kinds));
                self.error(
                    Problem::error(codes::check::unknown_kind, format!("unknown kind `{}`", name.name))
                        .label(name.span, "no kind has this name")
                        .help(help),
                );
                None
            }
        }
    }

    pub(super) fn resolve_entity(&mut self, name: &syntax::Ident) -> Option<Id> {
        match self.names.get(name.name.as_str()) {
            Some(&(Decl::Entity(e), _)) => Some(e),
            Some(&(other, _)) => {
                self.mark_used(other);
                self.error(
                    Problem::error(
                        codes::check::not_an_entity,
                        format!("`{}` is {}, not an entity", name.name, other.a_what()),
                    )
                    .label(name.span, "expected an entity here"),
                );
                None
            }
            None if self.declared_by_unparsed_item(&name.name) => None,
            None => {
                let entities: Vec<&str> = self.entities.iter().map(|e| e.name).collect();
                self.error(
                    Problem::error(codes::check::unknown_name, format!("unknown entity `{}`", name.name))
                        .label(name.span, "no entity has this name")
                        .maybe_help(self.did_you_mean(&name.name, entities)),
                );
                None
            }
        }
    }
}
