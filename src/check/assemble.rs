//! Pass 3 of the checker: the graph, and the tables assembled into an [`Ir`].

use super::*;

impl<'a> Checker<'a> {
    // ---------------------------------------------------------------------
    // Pass 3: assemble

    pub(super) fn finish(mut self) -> (Option<Ir>, Vec<Problem>) {
        let graph = self.build_graph();
        let schedule = self.schedule(&graph);
        self.check_warnings(&graph);
        // A file with syntax errors has no program, even when what did parse is
        // clean: names of the missing items are left unresolved, not reported.
        let has_errors = self.file.incomplete || self.problems.iter().any(Problem::is_error);
        if has_errors {
            return (None, self.problems);
        }
        let ir = self.assemble(graph, schedule);
        (Some(ir), self.problems)
    }

    pub(super) fn assemble(&mut self, graph: DependencyGraph, schedule: Vec<RuleGroup>) -> Ir {
        let globals = |slots: &mut Vec<GlobalSlot<'a>>| -> Vec<Global> {
            slots
                .iter_mut()
                .map(|s| Global {
                    name: s.ast.name.name.clone(),
                    span: s.ast.name.span,
                    ty: match s.state {
                        Lowered::Done(ty) => ty,
                        _ => Type::Number,
                    },
                    expr: s.root.take().unwrap_or_else(|| Root::constant(Value::None)),
                    uncertain: s.uncertain.take(),
                })
                .collect()
        };
        let params = globals(&mut self.params);
        let vars = globals(&mut self.vars);
        let lets = globals(&mut self.lets);
        let mut kinds: Vec<KindDef> = self
            .kinds
            .iter_mut()
            .map(|k| KindDef {
                name: k.ast.name.name.clone(),
                span: k.ast.name.span,
                stored_count: k.stored_count,
                derived_count: k.derived_count,
                entities: k.entities.clone(),
                solve: None,
                fields: k
                    .fields
                    .iter_mut()
                    .map(|f| FieldDef {
                        name: f.ast.name.name.clone(),
                        span: f.ast.name.span,
                        ty: match f.state {
                            Lowered::Done(ty) => ty,
                            _ => Type::Number,
                        },
                        derived: f.ast.derived,
                        index: f.index,
                        expr: f.root.take().unwrap_or_else(|| Root::constant(Value::None)),
                        solved: None,
                    })
                    .collect(),
            })
            .collect();
        let mut slot = vars.len() as u32;
        let mut derived = lets.len() as u32;
        let mut entities = Vec::with_capacity(self.entities.len());
        let mut layout = Vec::with_capacity(self.entities.len());
        for (e, slot_info) in self.entities.iter().enumerate() {
            let kind = slot_info.kind.unwrap_or(0);
            let k = &kinds[kind as usize];
            entities.push(EntityDef {
                name: slot_info.name.to_string(),
                span: slot_info.ast.map_or(Span::default(), |a| a.name.span),
                inits: std::mem::take(&mut self.entity_inits[e]),
            });
            layout.push(Layout { kind, slot_base: slot, derived_base: derived, stored: k.stored_count });
            slot += k.stored_count + 2;
            derived += k.derived_count;
        }
        let as_creditor = by_entity(entities.len(), self.exposures.iter().map(|x| x.creditor));
        let as_debtor = by_entity(entities.len(), self.exposures.iter().map(|x| x.debtor));
        let literal_exposures = literal_exposures(&self.exposures, &self.exposure_terms);
        let mut models = std::mem::take(&mut self.models);
        for model in &mut models {
            model.cell = derived;
            derived += 1;
        }
        let mut solves = std::mem::take(&mut self.solves);
        for (s, solve) in solves.iter_mut().enumerate() {
            solve.cell = derived;
            derived += 1;
            let kind = &mut kinds[solve.kind as usize];
            kind.solve = Some(s as Id);
            for (i, solved) in solve.fields.iter().enumerate() {
                if let Some(f) = kind.fields.iter_mut().find(|f| f.derived && f.index == solved.field) {
                    f.solved = Some(i as u32);
                }
            }
        }
        let mut ir = Ir {
            source: self.source.clone(),
            scenario: self.scenario.clone(),
            params,
            vars,
            lets,
            series: self.series.iter_mut().filter_map(|(_, s)| s.take()).collect(),
            kinds,
            entities,
            layout,
            as_creditor,
            as_debtor,
            exposure_fields: {
                let count = self.exposures.len();
                let mut columns = std::mem::take(&mut self.exposure_fields);
                for column in &mut columns {
                    column.values.resize(count, ConstValue::Literal(Value::None));
                }
                columns
            },
            exposures: std::mem::take(&mut self.exposures),
            exposure_terms: std::mem::take(&mut self.exposure_terms),
            literal_exposures,
            creditor_kind: self.creditor_kind,
            debtor_kind: self.debtor_kind,
            rules: self.rules.drain(..).map(|(r, _, _)| r).collect(),
            schedule,
            expects_due: ExpectsDue::of(&self.expects),
            expects: std::mem::take(&mut self.expects),
            asserts: std::mem::take(&mut self.asserts),
            graph,
            host: self.host.clone(),
            models,
            solves,
            slot_count: slot,
            derived_count: derived,
            code: Code::default(),
        };
        ir.code = Code::of(&ir);
        ir
    }
}

/// The exposures of each of `count` entities, given each exposure's entity
/// in order: where each entity's list starts (and the end, last), and the
/// lists one after another, each in the exposures' order. A counting sort:
/// a million exposures are placed in one array, not pushed onto a hundred
/// thousand vectors at random.
fn by_entity(count: usize, ends: impl Iterator<Item = Id> + Clone) -> ByEntity {
    let mut starts = vec![0u32; count + 1];
    for e in ends.clone() {
        starts[e as usize + 1] += 1;
    }
    for e in 0..count {
        starts[e + 1] += starts[e];
    }
    let mut next = starts.clone();
    let mut lists = vec![0; starts[count] as usize];
    for (x, e) in ends.enumerate() {
        let at = &mut next[e as usize];
        lists[*at as usize] = x as Id;
        *at += 1;
    }
    ByEntity { starts, exposures: lists }
}

/// What a run needs to know of exposures that are all literals (see [`Ir`]).
pub(super) fn literal_exposures(
    exposures: &[ExposureDef],
    terms: &[ExposureTerms],
) -> Option<LiteralExposures> {
    if terms.iter().any(|t| t.amount.is_some() || t.recovery.is_some()) {
        return None;
    }
    let mut fuel = 0u64;
    let mut bad_recovery = None;
    for (x, exposure) in exposures.iter().enumerate() {
        fuel += 1;
        if let Some(r) = exposure.recovery {
            fuel += 1;
            if bad_recovery.is_none() && (r < rust_decimal::Decimal::ZERO || r > rust_decimal::Decimal::ONE) {
                bad_recovery = Some(x as Id);
            }
        }
    }
    Some(LiteralExposures { fuel, bad_recovery })
}
