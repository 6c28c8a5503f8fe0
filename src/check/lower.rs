//! Pass 2 of the checker: lowering params, vars, lets, fields, series,
//! entities, exposures, expects and asserts into IR.

use crate::builtins::Place;
use crate::codes;

use super::*;

impl<'a> Checker<'a> {
    // ---------------------------------------------------------------------
    // Pass 2: lowering

    pub(super) fn lower_all(&mut self) {
        self.lower_params_and_vars();
        // Exposures read only params; the kinds of their creditors and debtors,
        // and their extra fields, are then known to every formula.
        self.lower_exposures();
        self.lower_models();
        for id in 0..self.lets.len() {
            self.lower_let(id as Id);
        }
        for index in 0..self.series.len() {
            self.lower_series(index);
        }
        for k in 0..self.kinds.len() {
            for f in 0..self.kinds[k].fields.len() {
                self.lower_field(k as Id, f);
            }
        }
        self.lower_solves();
        self.lower_entities();
        for item in &self.file.items {
            match item {
                Item::Rule(rule) => self.lower_rule(rule),
                Item::Expect(e) => self.lower_expect(e),
                Item::Assert(a) => self.lower_assert(a),
                _ => {}
            }
        }
    }

    pub(super) fn lower_params_and_vars(&mut self) {
        for id in 0..self.params.len() {
            let ast = self.params[id].ast;
            let mut ctx = Ctx::new(Mode::Param { before: id as Id });
            let (node, ty) = self.lower_expr(&ast.value, &mut ctx);
            self.params[id].state = ty.map_or(Lowered::Failed, Lowered::Done);
            if let Some(ty) = ty {
                self.require_scalar(ty, ast.value.span, "a param");
            }
            self.params[id].root = Some(ctx.root(node));
            if let Some(distribution) = &ast.uncertain {
                self.lower_uncertainty(id, distribution, ty);
            }
        }
        for id in 0..self.vars.len() {
            let ast = self.vars[id].ast;
            let mut ctx = Ctx::new(Mode::Init { vars_before: id as Id, fields_before: None });
            let (node, ty) = self.lower_expr(&ast.value, &mut ctx);
            self.vars[id].state = ty.map_or(Lowered::Failed, Lowered::Done);
            if let Some(ty) = ty {
                self.require_scalar(ty, ast.value.span, "a var");
            }
            self.vars[id].root = Some(ctx.root(node));
        }
    }

    /// Lowers a `let` (once); returns its type.
    pub(super) fn lower_let(&mut self, id: Id) -> Option<Type> {
        let slot = &mut self.lets[id as usize];
        match slot.state {
            Lowered::Done(ty) => return Some(ty),
            Lowered::Failed | Lowered::InProgress => return None,
            Lowered::Pending => slot.state = Lowered::InProgress,
        }
        let ast = slot.ast;
        if self.lowering_depth > MAX_FORWARD_DEPTH {
            self.error(too_many_forward_references(ast.name.span));
            self.lets[id as usize].state = Lowered::Failed;
            return None;
        }
        self.lowering_depth += 1;
        let mut ctx = Ctx::new(Mode::Dynamic);
        let (node, ty) = self.lower_expr(&ast.value, &mut ctx);
        self.lowering_depth -= 1;
        if let Some(ty) = ty {
            self.require_scalar(ty, ast.value.span, "a let");
        }
        let slot = &mut self.lets[id as usize];
        slot.reads = std::mem::take(&mut ctx.reads);
        slot.root = Some(ctx.root(node));
        slot.state = ty.map_or(Lowered::Failed, Lowered::Done);
        ty
    }

    /// Lowers a kind's field (once); returns its type.
    pub(super) fn lower_field(&mut self, kind: Id, field: usize) -> Option<Type> {
        let slot = &mut self.kinds[kind as usize].fields[field];
        match slot.state {
            Lowered::Done(ty) => return Some(ty),
            Lowered::Failed | Lowered::InProgress => return None,
            Lowered::Pending => slot.state = Lowered::InProgress,
        }
        let ast = slot.ast;
        let index = slot.index;
        if self.lowering_depth > MAX_FORWARD_DEPTH {
            self.error(too_many_forward_references(ast.name.span));
            self.kinds[kind as usize].fields[field].state = Lowered::Failed;
            return None;
        }
        self.lowering_depth += 1;
        let mode = if ast.derived {
            Mode::Dynamic
        } else {
            Mode::Init { vars_before: self.vars.len() as Id, fields_before: Some(index) }
        };
        let mut ctx = Ctx::new(mode).with_self(kind);
        let (node, ty) = self.lower_expr(&ast.value, &mut ctx);
        self.lowering_depth -= 1;
        if let Some(ty) = ty {
            self.require_scalar(ty, ast.value.span, "a field");
        }
        let slot = &mut self.kinds[kind as usize].fields[field];
        slot.reads = std::mem::take(&mut ctx.reads);
        slot.root = Some(ctx.root(node));
        slot.state = ty.map_or(Lowered::Failed, Lowered::Done);
        ty
    }

    pub(super) fn field_type(&mut self, kind: Id, field: usize) -> Option<Type> {
        let slot = &self.kinds[kind as usize].fields[field];
        match slot.state {
            Lowered::Done(ty) => Some(ty),
            // A solved field reads itself (on other entities): it is a number.
            Lowered::InProgress if slot.ast.solve.is_some() => Some(Type::Number),
            _ => self.lower_field(kind, field),
        }
    }

    pub(super) fn lower_series(&mut self, index: usize) {
        let ast = self.series[index].0;
        let mut points: Vec<(i64, Root)> = Vec::new();
        let mut previous: Option<(i64, Span)> = None;
        // Dates without a scenario start: one problem for the whole series.
        let is_date = |point: &&syntax::SeriesPoint| matches!(point.at.kind, TimePointKind::Date(_));
        let dates: Vec<Span> = ast.points.iter().filter(is_date).map(|p| p.at.span).collect();
        let dates_unplaced = self.scenario.start.is_none() && !dates.is_empty();
        if dates_unplaced {
            let mut problem = Problem::error(
                codes::check::date_without_start,
                format!(
                    "the points of series `{}` are dates, but the scenario has no start date",
                    ast.name.name
                ),
            )
            .label(dates[0], "a date needs `start` in the scenario block");
            for &at in &dates[1..] {
                problem = problem.label(at, "another date");
            }
            self.error(
                problem.help("add `scenario \"...\" { start = 2026-01, step = month }`, or use step numbers"),
            );
        }
        for point in &ast.points {
            let step = if dates_unplaced && is_date(&point) {
                None
            } else {
                self.time_point_step(&point.at, "a series point")
            };
            let mut ctx = Ctx::new(Mode::Constant);
            let (node, ty) = self.lower_expr(&point.value, &mut ctx);
            if let Some(ty) = ty {
                self.require(ty, Type::Number, point.value.span, "a series value");
            }
            if let Some(step) = step {
                if let Some((before, before_span)) = previous
                    && step <= before
                {
                    self.error(
                        Problem::error(
                            codes::check::series_order,
                            format!("the points of series `{}` are out of order", ast.name.name),
                        )
                        .label(point.at.span, format!("this point is step {step}"))
                        .label(before_span, format!("but this earlier point is step {before}"))
                        .help("list the points from the earliest to the latest, each once"),
                    );
                }
                previous = Some((step, point.at.span));
                points.push((step, ctx.root(node)));
            }
        }
        if ast.points.is_empty() {
            self.error(
                Problem::error(
                    codes::check::empty_series,
                    format!("series `{}` has no points", ast.name.name),
                )
                .label(ast.name.span, "needs at least one point")
                .help("for example `{ 2026-01: 2.00, 2026-12: 1.40 }`"),
            );
        }
        let mode = ast.mode.map_or(syntax::Interpolation::Linear, |(m, _)| m);
        self.series[index].1 =
            Some(SeriesDef { name: ast.name.name.clone(), span: ast.name.span, mode, points });
    }

    /// The step number of a time point (a date needs the scenario's start).
    pub(super) fn time_point_step(&mut self, at: &TimePoint, what: &str) -> Option<i64> {
        match at.kind {
            TimePointKind::Step(n) => match i64::try_from(n) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.error(
                        Problem::error(codes::check::bad_time, "step number is too large")
                            .label(at.span, "never reached"),
                    );
                    None
                }
            },
            TimePointKind::Date(date) => {
                match self.scenario.start {
                    Some(start) => Some(self.scenario.unit.step_of_date(start, date)),
                    None => {
                        self.error(
                        Problem::error(
                            codes::check::date_without_start,
                            format!("{what} is a date, but the scenario has no start date"),
                        )
                        .label(at.span, "a date needs `start` in the scenario block")
                        .help("add `scenario \"...\" { start = 2026-01, step = month }`, or use a step number"),
                    );
                        None
                    }
                }
            }
        }
    }

    pub(super) fn lower_entities(&mut self) {
        for e in 0..self.entities.len() {
            let EntitySlot { ast, kind, data, .. } = self.entities[e];
            if let (Some(d), Some(kind)) = (data, kind) {
                let inits = self.lower_data_entity(d, kind);
                self.entity_inits.push(inits);
                continue;
            }
            let (Some(ast), Some(kind)) = (ast, kind) else {
                self.entity_inits.push(Vec::new());
                continue;
            };
            // Overrides must name stored fields of the kind.
            let mut overrides: HashMap<&str, &syntax::Expr> = HashMap::new();
            for init in &ast.fields {
                let name = init.name.name.as_str();
                let kind_slot = &self.kinds[kind as usize];
                match kind_slot.fields.iter().find(|f| f.ast.name.name == name) {
                    Some(f) if f.ast.derived => {
                        let kind_name = kind_slot.ast.name.name.clone();
                        self.error(
                            Problem::error(
                                codes::check::assign_derived,
                                format!("`{name}` is a derived field of `{kind_name}`"),
                            )
                            .label(init.name.span, "cannot be given an initial value")
                            .label(f.ast.span, "it is computed by this formula")
                            .help("set the stored fields it is computed from instead"),
                        );
                    }
                    Some(_) => {
                        if overrides.insert(name, &init.value).is_some() {
                            let first = ast.fields.iter().find(|f| f.name.name == name).map(|f| f.name.span);
                            self.error(
                                Problem::error(
                                    codes::check::duplicate,
                                    format!("`{name}` is set twice for `{}`", ast.name.name),
                                )
                                .label(init.name.span, "set again here")
                                .label(first.unwrap_or(init.name.span), "first set here")
                                .help("keep one of them"),
                            );
                        }
                    }
                    None => {
                        let problem = self.unknown_field(kind, &init.name);
                        self.error(problem);
                    }
                }
            }
            let mut inits = Vec::new();
            for f in 0..self.kinds[kind as usize].fields.len() {
                let field = &self.kinds[kind as usize].fields[f];
                if field.ast.derived {
                    continue;
                }
                let root = match overrides.get(field.ast.name.name.as_str()) {
                    Some(expr) => {
                        let index = field.index;
                        let declared = self.field_type(kind, f);
                        let mode =
                            Mode::Init { vars_before: self.vars.len() as Id, fields_before: Some(index) };
                        let mut ctx = Ctx::new(mode).with_self(kind);
                        let (node, ty) = self.lower_expr(expr, &mut ctx);
                        if let (Some(ty), Some(declared)) = (ty, declared) {
                            self.require(ty, declared, expr.span, "this field");
                        }
                        ctx.root(node)
                    }
                    None => field.root.clone().unwrap_or_else(|| Root::constant(Value::None)),
                };
                inits.push(Init::of(root));
            }
            self.entity_inits.push(inits);
        }
        self.report_data_mismatches();
    }

    pub(super) fn lower_exposures(&mut self) {
        let mut debtor_kinds: Vec<Id> = Vec::new();
        let mut creditor_kinds: Vec<Id> = Vec::new();
        // A large world has a million: no doubling on top of the syntax tree.
        let count = self.file.items.iter().filter(|item| matches!(item, Item::Exposure(_))).count();
        self.exposures.reserve_exact(count);
        self.exposure_terms.reserve_exact(count);
        // Data exposures (of files, then of a host's `World`) come after the script's.
        for item in &self.file.items {
            let Item::Exposure(x) = item else { continue };
            let creditor = self.resolve_entity(&x.creditor);
            let debtor = self.resolve_entity(&x.debtor);
            let mut ctx = Ctx::new(Mode::Constant);
            let (amount, ty) = self.lower_expr(&x.amount, &mut ctx);
            if let Some(ty) = ty {
                self.require(ty, Type::Number, x.amount.span, "an exposure amount");
            }
            let amount = ConstNumber::fold(ctx.root(amount));
            let recovery = x.recovery.as_ref().map(|r| {
                let mut ctx = Ctx::new(Mode::Constant);
                let (node, ty) = self.lower_expr(r, &mut ctx);
                if let Some(ty) = ty {
                    self.require(ty, Type::Number, r.span, "a recovery rate");
                }
                let folded = ConstNumber::fold(ctx.root(node));
                // A literal out of range would fail every run: say so now.
                if let ConstNumber::Literal(rate) = &folded
                    && (*rate < rust_decimal::Decimal::ZERO || *rate > rust_decimal::Decimal::ONE)
                {
                    self.error(
                        Problem::error(
                            codes::check::bad_recovery,
                            format!("a recovery rate of {}% is outside 0% to 100%", (*rate * rust_decimal::Decimal::ONE_HUNDRED).normalize()),
                        )
                        .label(r.span, "not between 0% and 100%")
                        .help("a recovery is the share of the amount the creditor gets back, e.g. `recovery 40%`"),
                    );
                }
                folded
            });
            let recovery_span = x.recovery.as_ref().map_or(x.span, |r| r.span);
            let extras = x.fields.as_deref().map_or(&[][..], |f| &f[..]);
            let index = self.exposures.len();
            let known = creditor.is_some() && debtor.is_some() && creditor != debtor;
            self.lower_exposure_fields(extras, index, known);
            if let (Some(c), Some(d)) = (creditor, debtor) {
                if c == d {
                    self.error(
                        Problem::error(
                            codes::check::self_exposure,
                            format!("`{}` cannot be exposed to itself", x.creditor.name),
                        )
                        .label(x.creditor.span.to(x.debtor.span), "creditor and debtor are the same"),
                    );
                    continue;
                }
                for (kinds, e) in [(&mut creditor_kinds, c), (&mut debtor_kinds, d)] {
                    if let Some(k) = self.entities[e as usize].kind
                        && !kinds.contains(&k)
                    {
                        kinds.push(k);
                    }
                }
                let (amount, amount_expr) = amount.split();
                let (recovery, recovery_expr) = match recovery.map(ConstNumber::split) {
                    Some((rate, expr)) => (Some(rate), expr),
                    None => (None, None),
                };
                self.exposures.push(ExposureDef { creditor: c, debtor: d, amount, recovery });
                let terms = ExposureTerms { amount: amount_expr, recovery: recovery_expr, recovery_span };
                self.exposure_terms.push(terms);
            }
        }
        self.lower_data_exposures(&mut creditor_kinds, &mut debtor_kinds);
        self.debtor_kind = (debtor_kinds.len() == 1).then(|| debtor_kinds[0]);
        self.creditor_kind = (creditor_kinds.len() == 1).then(|| creditor_kinds[0]);
    }

    /// An uncertain param's distribution: it may draw (as an initial value
    /// may), and read earlier params.
    fn lower_uncertainty(&mut self, id: usize, distribution: &syntax::Expr, base: Option<Type>) {
        let name = &self.params[id].ast.name.name;
        let base_span = self.params[id].ast.value.span;
        let mut ctx = Ctx::new(Mode::Param { before: id as Id }).at(Place::Initial);
        let (node, drawn) = self.lower_expr(distribution, &mut ctx);
        if let (Some(base), Some(drawn)) = (base, drawn)
            && base != drawn
        {
            let message =
                format!("`{name}` is {} but its distribution gives {}", base.describe(), drawn.describe());
            self.error(
                Problem::error(codes::check::type_mismatch, message)
                    .label(distribution.span, format!("this is {}", drawn.describe()))
                    .label(base_span, format!("the base value is {}", base.describe()))
                    .help("draw the same type as the base value, e.g. `param p = 2.00 ~ normal(2.00, 0.20)`"),
            );
        }
        self.params[id].uncertain = Some(ctx.root(node));
    }

    /// The extra fields of exposure number `index` (pushed only when `keep`):
    /// each fills its column, which every exposure has.
    pub(super) fn lower_exposure_fields(&mut self, fields: &[syntax::FieldInit], index: usize, keep: bool) {
        for (n, field) in fields.iter().enumerate() {
            let name = field.name.name.as_str();
            if let Some(first) = fields[..n].iter().find(|f| f.name.name == name) {
                self.error(
                    Problem::error(
                        codes::check::duplicate,
                        format!("`{name}` is set twice for this exposure"),
                    )
                    .label(field.name.span, "set again here")
                    .label(first.name.span, "first set here"),
                );
                continue;
            }
            if matches!(name, "creditor" | "debtor" | "amount" | "recovery") {
                self.error(
                    Problem::error(
                        codes::check::reserved_name,
                        format!("`{name}` is a built-in field of every exposure"),
                    )
                    .label(field.name.span, "cannot be declared")
                    .help("write the amount after `=` and the rate after `recovery`; choose another name"),
                );
                continue;
            }
            let mut ctx = Ctx::new(Mode::Constant);
            let (node, ty) = self.lower_expr(&field.value, &mut ctx);
            let Some(ty) = ty else { continue };
            self.require_scalar(ty, field.value.span, "an exposure's field");
            let column = match self.exposure_fields.iter().position(|c| c.name == name) {
                Some(c) => c,
                None => {
                    self.exposure_fields.push(ExposureColumn {
                        name: name.to_string(),
                        span: field.name.span,
                        ty,
                        values: Vec::new(),
                        computed: false,
                    });
                    self.exposure_fields.len() - 1
                }
            };
            let declared = &self.exposure_fields[column];
            if declared.ty != ty {
                let (first, first_ty) = (declared.span, declared.ty);
                self.error(
                    Problem::error(
                        codes::check::type_mismatch,
                        format!(
                            "`{name}` is {} here but {} on an earlier exposure",
                            ty.describe(),
                            first_ty.describe()
                        ),
                    )
                    .label(field.value.span, format!("this is {}", ty.describe()))
                    .label(first, format!("first given as {}", first_ty.describe()))
                    .help("every exposure's field has one type"),
                );
                continue;
            }
            if !keep {
                continue;
            }
            let value = match node.kind {
                NodeKind::Const(v) => ConstValue::Literal(v),
                _ => {
                    self.exposure_fields[column].computed = true;
                    ConstValue::Expr(Box::new(ctx.root(node)))
                }
            };
            let values = &mut self.exposure_fields[column].values;
            values.resize(index, ConstValue::Literal(Value::None));
            values.push(value);
        }
    }

    pub(super) fn lower_expect(&mut self, e: &syntax::Expect) {
        let at = e.at.as_ref().and_then(|t| self.time_point_step(t, "an expectation"));
        let mut ctx = Ctx::new(Mode::Dynamic).at(Place::Check);
        let (node, ty) = self.lower_expr(&e.cond, &mut ctx);
        if let Some(ty) = ty {
            self.require(ty, Type::Bool, e.cond.span, "an expectation");
        }
        self.used.append(&mut ctx.reads);
        self.expects.push(ExpectDef { cond: ctx.root(node), at, span: e.span });
    }

    pub(super) fn lower_assert(&mut self, a: &syntax::Assert) {
        let mut ctx = Ctx::new(Mode::Dynamic).at(Place::Check);
        let (node, ty) = self.lower_expr(&a.cond, &mut ctx);
        if let Some(ty) = ty {
            self.require(ty, Type::Bool, a.cond.span, "an assertion");
        }
        let message = a.message.as_ref().map(|m| self.lower_template(m, &mut ctx)).unwrap_or_default();
        self.used.append(&mut ctx.reads);
        self.asserts.push(AssertDef { cond: ctx.root(node), message, span: a.span });
    }
}
