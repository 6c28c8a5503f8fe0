//! The standard models: `clearing Kind MODEL { ... }` and `debtrank Kind`, and
//! the built-ins that read them (`clearing_payment(e)`, `distress(e)`, ...).

use crate::builtins::{ModelOutput, Place};
use crate::codes;
use crate::diagnostic::{Problem, list_words};
use crate::ir::*;
use crate::source::Span;
use crate::syntax::{self, Expr, ExprKind, ModelKind};
use crate::value::Type;

use super::expr::*;
use super::{Checker, Decl};

/// The fields a clearing reads of every entity of its kind.
pub(crate) const CLEARING_FIELDS: [&str; 2] = ["external_assets", "external_liabilities"];
/// The fields DebtRank reads.
pub(crate) const DEBTRANK_FIELDS: [&str; 3] = ["equity", "shock", "value"];

impl<'a> Checker<'a> {
    /// Checks every model declaration, in source order (the ids the built-ins use).
    pub(super) fn lower_models(&mut self) {
        let file = self.file;
        for item in &file.items {
            let syntax::Item::Model(decl) = item else { continue };
            if let Some(model) = self.lower_model(decl) {
                self.models.push(model);
            } else {
                // Keep the ids in step with the declarations; the script does not compile.
                self.models.push(ModelDef {
                    kind: u32::MAX,
                    spec: ModelSpec::DebtRank { fields: [FieldRef::Defaulted; 3], differential: false },
                    span: decl.span,
                    cell: 0,
                });
            }
        }
    }

    fn lower_model(&mut self, decl: &syntax::ModelDecl) -> Option<ModelDef> {
        let kind = match self.names.get(decl.kind.name.as_str()) {
            Some((Decl::Kind(k), _)) => *k,
            _ => {
                self.error(
                    Problem::error(codes::check::unknown_kind, format!("`{}` is not a kind", decl.kind.name))
                        .label(decl.kind.span, "not a kind")
                        .help("a model is declared for a kind: `clearing Bank eisenberg_noe { ... }`"),
                );
                return None;
            }
        };
        let earlier = self.models.iter().find(|m| {
            m.kind == kind
                && matches!(m.spec, ModelSpec::Clearing { .. }) == (decl.model == ModelKind::Clearing)
        });
        if let Some(first) = earlier {
            let first = first.span;
            self.error(
                Problem::error(
                    codes::check::duplicate,
                    format!("`{}` has this model declared twice", decl.kind.name),
                )
                .label(decl.span, "second declaration")
                .label(first, "first one here")
                .help("a kind has at most one clearing and one DebtRank"),
            );
            return None;
        }
        let wanted: &[&str] = match decl.model {
            ModelKind::Clearing => &CLEARING_FIELDS,
            ModelKind::DebtRank => &DEBTRANK_FIELDS,
        };
        let mut fields = Vec::new();
        let mut missing = Vec::new();
        for name in wanted {
            let found = self.kinds[kind as usize].fields.iter().find(|f| f.ast.name.name == *name);
            match found {
                Some(f) => fields.push(if f.ast.derived {
                    FieldRef::Derived(f.index)
                } else {
                    FieldRef::Stored(f.index)
                }),
                None => missing.push(*name),
            }
        }
        let what = match decl.model {
            ModelKind::Clearing => "a clearing",
            ModelKind::DebtRank => "DebtRank",
        };
        if !missing.is_empty() {
            self.error(
                Problem::error(
                    codes::check::missing_fields,
                    format!(
                        "kind `{}` lacks the fields {what} reads: {}",
                        decl.kind.name,
                        list_words(&missing)
                    ),
                )
                .label(decl.kind.span, format!("missing {}", list_words(&missing)))
                .help(format!(
                    "{what} reads {} of every entity of the kind (stored or `let` fields, numbers)",
                    list_words(wanted)
                )),
            );
            return None;
        }
        for f in &fields {
            self.used.push(GraphNode::Field(kind, *f));
        }
        let spec = match decl.model {
            ModelKind::DebtRank => {
                self.no_settings(decl, &[]);
                let differential = match &decl.method {
                    None => false,
                    Some(v) if v.name == "differential" => true,
                    Some(v) => {
                        self.error(
                            Problem::error(codes::check::bad_setting, format!("`{}` is not a DebtRank variant", v.name))
                                .label(v.span, "unknown variant")
                                .help("write `debtrank Bank` (Battiston et al.: each bank passes on its distress once) or `debtrank Bank differential` (Bardoscia et al.: every increase is passed on)"),
                        );
                        return None;
                    }
                };
                ModelSpec::DebtRank { fields: [fields[0], fields[1], fields[2]], differential }
            }
            ModelKind::Clearing => {
                let method = self.clearing_method(decl)?;
                ModelSpec::Clearing { method, fields: [fields[0], fields[1]] }
            }
        };
        Some(ModelDef { kind, spec, span: decl.span, cell: 0 })
    }

    fn clearing_method(&mut self, decl: &syntax::ModelDecl) -> Option<ClearingIr> {
        let method = decl.method.as_ref()?;
        match method.name.as_str() {
            "eisenberg_noe" => {
                self.no_settings(decl, &["external"]);
                let setting = decl.settings.iter().find(|s| s.name.name == "external");
                let senior = match setting.map(|s| &s.value.kind) {
                    Some(ExprKind::Name(n)) if n == "pari_passu" => false,
                    Some(ExprKind::Name(n)) if n == "senior" => true,
                    found => {
                        let span = setting.map_or(method.span, |s| s.value.span);
                        let label = if found.is_some() {
                            "expected `pari_passu` or `senior`"
                        } else {
                            "say how external liabilities rank"
                        };
                        self.error(
                            Problem::error(
                                codes::check::bad_setting,
                                "an Eisenberg–Noe clearing states how external liabilities rank",
                            )
                            .label(span, label)
                            .help("add `{ external = pari_passu }` (paid in the same proportion as banks) or `{ external = senior }` (paid first)"),
                        );
                        return None;
                    }
                };
                Some(ClearingIr::EisenbergNoe { senior })
            }
            "rogers_veraart" => {
                self.no_settings(decl, &["alpha", "beta"]);
                let alpha = self.model_rate(decl, "alpha")?;
                let beta = self.model_rate(decl, "beta")?;
                Some(ClearingIr::RogersVeraart { alpha, beta })
            }
            other => {
                self.error(
                    Problem::error(codes::check::bad_setting, format!("`{other}` is not a clearing model"))
                        .label(method.span, "unknown model")
                        .help("the clearing models are `eisenberg_noe` and `rogers_veraart`"),
                );
                None
            }
        }
    }

    /// `alpha = 50%`: a number of params, checked to be within 0 to 1 when a run starts.
    fn model_rate(&mut self, decl: &syntax::ModelDecl, name: &str) -> Option<(Root, Span)> {
        let Some(setting) = decl.settings.iter().find(|s| s.name.name == name) else {
            self.error(
                Problem::error(codes::check::bad_setting, format!("a Rogers–Veraart clearing needs `{name}`"))
                    .label(decl.span, format!("no `{name}`"))
                    .help("`{ alpha = 50%, beta = 90% }`: the fractions of external (alpha) and interbank (beta) assets a defaulted bank realises"),
            );
            return None;
        };
        let mut ctx = Ctx::new(Mode::Constant).at(Place::Constant);
        let (node, ty) = self.lower_expr(&setting.value, &mut ctx);
        if !ty.is_some_and(|ty| self.require(ty, Type::Number, setting.value.span, &format!("`{name}`"))) {
            return None;
        }
        Some((ctx.root(node), setting.value.span))
    }

    /// Reports settings other than `allowed`, and any given twice.
    fn no_settings(&mut self, decl: &syntax::ModelDecl, allowed: &[&str]) {
        for (i, s) in decl.settings.iter().enumerate() {
            if !allowed.contains(&s.name.name.as_str()) {
                let help = if allowed.is_empty() {
                    String::from("this model has no settings")
                } else {
                    format!("its settings are {}", list_words(allowed))
                };
                self.error(
                    Problem::error(codes::check::bad_setting, format!("unknown setting `{}`", s.name.name))
                        .label(s.name.span, "unknown setting")
                        .help(help),
                );
            } else if decl.settings[..i].iter().any(|o| o.name.name == s.name.name) {
                self.error(
                    Problem::error(codes::check::bad_setting, format!("`{}` is set twice", s.name.name))
                        .label(s.name.span, "set again here"),
                );
            }
        }
    }

    /// `clearing_payment(e)`, `distress(e)`, `debt_rank(Kind)`, ...
    pub(super) fn lower_model_read(
        &mut self,
        output: ModelOutput,
        func: &syntax::Ident,
        args: &[Expr],
        usage: &str,
        span: Span,
        ctx: &mut Ctx,
    ) -> Typed {
        let name = func.name.as_str();
        if args.len() != 1 {
            self.error(
                Problem::error(codes::check::arity, format!("`{name}` takes 1 argument"))
                    .label(span, format!("called with {}", args.len()))
                    .help(usage),
            );
            return error_node(span);
        }
        if !matches!(ctx.mode, Mode::Dynamic) {
            return self.not_allowed(name, func.span, ctx);
        }
        let clearing = output.of_clearing();
        let (kind, object) = if output == ModelOutput::DebtRank {
            let kind = match &args[0].kind {
                ExprKind::Name(n) => match self.names.get(n.as_str()) {
                    Some((Decl::Kind(k), _)) => Some(*k),
                    _ => None,
                },
                _ => None,
            };
            let Some(kind) = kind else {
                self.error(
                    Problem::error(
                        codes::check::type_mismatch,
                        format!("the argument of `{name}` must be a kind"),
                    )
                    .label(args[0].span, "not a kind")
                    .help(usage),
                );
                return error_node(span);
            };
            (kind, None)
        } else {
            let (n, ty) = self.lower_expr(&args[0], ctx);
            let Some(ty) = ty else { return error_node(span) };
            if !self.require(ty, Type::Entity(None), args[0].span, &format!("the argument of `{name}`")) {
                return error_node(span);
            }
            let Type::Entity(Some(kind)) = ty else {
                self.error(
                    Problem::error(
                        codes::check::type_mismatch,
                        format!("`{name}` needs an entity of a known kind"),
                    )
                    .label(args[0].span, "its kind is not known here")
                    .help(usage),
                );
                return error_node(span);
            };
            (kind, Some(Box::new(n)))
        };
        let found = self
            .models
            .iter()
            .position(|m| m.kind == kind && matches!(m.spec, ModelSpec::Clearing { .. }) == clearing);
        let Some(model) = found else {
            let kind_name = &self.kinds[kind as usize].ast.name.name;
            // A declaration for the kind that was refused has its own error.
            let refused = self.file.items.iter().any(|item| {
                matches!(item, syntax::Item::Model(d)
                    if d.kind.name == *kind_name && (d.model == ModelKind::Clearing) == clearing)
            });
            if refused {
                return error_node(span);
            }
            let declare = if clearing {
                format!("clearing {kind_name} eisenberg_noe {{ external = pari_passu }}")
            } else {
                format!("debtrank {kind_name}")
            };
            self.error(
                Problem::error(
                    codes::check::no_model,
                    format!("`{name}` needs a model declared for `{kind_name}`"),
                )
                .label(span, "no model for this kind")
                .help(format!("declare it once: `{declare}`")),
            );
            return error_node(span);
        };
        let fields: Vec<FieldRef> = match &self.models[model].spec {
            ModelSpec::Clearing { fields, .. } => fields.to_vec(),
            ModelSpec::DebtRank { fields, .. } => fields.to_vec(),
        };
        for f in fields {
            ctx.read(GraphNode::Field(kind, f));
        }
        let ty = match output {
            ModelOutput::Defaulted => Type::Bool,
            _ => Type::Number,
        };
        (node(NodeKind::Model { model: model as Id, output, object }, span), Some(ty))
    }
}
