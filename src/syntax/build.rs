//! Pest pairs → AST nodes. Every function takes a [`Cx`]: the byte offset of
//! the text the pairs came from, so spans are offsets into the whole file, and
//! the expression depth allowed.

use pest::iterators::{Pair, Pairs};
use rust_decimal::Decimal;

use super::ast::*;
use super::grammar::Rule;
use crate::codes;
use crate::diagnostic::Problem;
use crate::source::Span;
use crate::value::Date;

mod expr;

pub(super) use expr::{build_expr, parse_number};

type Built<T> = Result<T, Problem>;

/// What every builder needs to know besides the pairs.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cx {
    /// Where the parsed text starts in the file.
    pub base: usize,
    /// How deep an expression tree may be (see [`super::Limits`]).
    pub max_depth: usize,
}

/// The span of a pair, without the whitespace and comments that pest may have
/// taken at its end.
fn span(pair: &Pair<Rule>, cx: Cx) -> Span {
    let start = pair.as_span().start();
    Span::new(cx.base + start, cx.base + start + super::trim_trivia_end(pair.as_str()))
}

fn ident(pair: Pair<Rule>, cx: Cx) -> Ident {
    Ident { span: span(&pair, cx), name: unquote(pair.as_str()).to_string() }
}

/// A quoted name (`` `1st Bank` ``) is the text between the backticks.
fn unquote(text: &str) -> &str {
    text.strip_prefix('`').and_then(|t| t.strip_suffix('`')).unwrap_or(text)
}

/// The inner pairs without keyword tokens and other punctuation rules.
fn significant(pair: Pair<Rule>) -> impl Iterator<Item = Pair<Rule>> {
    pair.into_inner().filter(|p| !is_keyword_token(p.as_rule()))
}

fn is_keyword_token(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        kw_scenario
            | kw_param
            | kw_var
            | kw_let
            | kw_series
            | kw_kind
            | kw_entity
            | kw_exposure
            | kw_entities
            | kw_exposures
            | kw_from
            | kw_rule
            | kw_when
            | kw_while
            | kw_then
            | kw_for
            | kw_in
            | kw_where
            | kw_priority
            | kw_after
            | kw_at
            | kw_emit
            | kw_default
            | kw_stop
            | kw_expect
            | kw_assert
            | kw_recovery
            | kw_steps
            | kw_if
            | kw_else
            | kw_local
            | kw_clearing
            | kw_debtrank
            | kw_within
            | kw_limit
            | arrow
    )
}

fn missing(what: &str, at: Span) -> Problem {
    // The grammar guarantees the shape; this only guards against a grammar change.
    Problem::error(codes::syntax::internal, format!("internal error: missing {what}"))
        .label(at, "while reading this")
}

struct Cursor<'i> {
    pairs: Box<dyn Iterator<Item = Pair<'i, Rule>> + 'i>,
    at: Span,
}

impl<'i> Cursor<'i> {
    fn new(pair: Pair<'i, Rule>, cx: Cx) -> Cursor<'i> {
        let at = span(&pair, cx);
        Cursor { pairs: Box::new(significant(pair)), at }
    }

    fn next(&mut self, what: &str) -> Built<Pair<'i, Rule>> {
        self.pairs.next().ok_or_else(|| missing(what, self.at))
    }

    fn next_if(&mut self, rule: Rule) -> Option<Pair<'i, Rule>>
    where
        Self: Sized,
    {
        // Peek by buffering one pair.
        let pair = self.pairs.next()?;
        if pair.as_rule() == rule {
            Some(pair)
        } else {
            let rest = std::mem::replace(&mut self.pairs, Box::new(std::iter::empty()));
            self.pairs = Box::new(std::iter::once(pair).chain(rest));
            None
        }
    }

    fn rest(self) -> Box<dyn Iterator<Item = Pair<'i, Rule>> + 'i> {
        self.pairs
    }
}

/// One top-level item.
pub(super) fn build_item(pair: Pair<Rule>, cx: Cx) -> Built<Item> {
    let item_span = span(&pair, cx);
    let rule = pair.as_rule();
    let mut c = Cursor::new(pair, cx);
    Ok(match rule {
        Rule::scenario_decl => {
            let title = build_template(c.next("title")?, cx)?;
            let mut settings = Vec::new();
            for setting in c.rest() {
                let mut s = Cursor::new(setting, cx);
                let name = ident(s.next("setting name")?, cx);
                let value = build_expr(s.next("setting value")?, cx)?;
                settings.push(Setting { name, value });
            }
            Item::Scenario(Scenario { title, settings, span: item_span })
        }
        Rule::clearing_decl | Rule::debtrank_decl => {
            let kind = ident(c.next("kind")?, cx);
            let clearing = rule == Rule::clearing_decl;
            let method = if clearing {
                Some(ident(c.next("model")?, cx))
            } else {
                c.next_if(Rule::ident).map(|p| ident(p, cx))
            };
            let mut settings = Vec::new();
            if let Some(block) = c.next_if(Rule::model_settings) {
                for setting in block.into_inner() {
                    let mut s = Cursor::new(setting, cx);
                    let name = ident(s.next("setting name")?, cx);
                    let value = build_expr(s.next("setting value")?, cx)?;
                    settings.push(Setting { name, value });
                }
            }
            let model = if clearing { ModelKind::Clearing } else { ModelKind::DebtRank };
            Item::Model(ModelDecl { model, kind, method, settings, span: item_span })
        }
        Rule::param_decl | Rule::var_decl | Rule::let_decl => {
            let name = ident(c.next("name")?, cx);
            let value = build_expr(c.next("value")?, cx)?;
            let uncertain = match c.next_if(Rule::uncertainty) {
                Some(pair) => Some(build_expr(Cursor::new(pair, cx).next("distribution")?, cx)?),
                None => None,
            };
            let decl = ValueDecl { name, value, uncertain, span: item_span };
            match rule {
                Rule::param_decl => Item::Param(decl),
                Rule::var_decl => Item::Var(decl),
                _ => Item::Let(decl),
            }
        }
        Rule::series_decl => {
            let name = ident(c.next("name")?, cx);
            let mode = c.next_if(Rule::series_mode).map(|m| {
                let mode = if m.as_str() == "hold" { Interpolation::Hold } else { Interpolation::Linear };
                (mode, span(&m, cx))
            });
            let mut points = Vec::new();
            for point in c.rest() {
                let mut p = Cursor::new(point, cx);
                let at = build_time_point(p.next("time")?, cx)?;
                let value = build_expr(p.next("value")?, cx)?;
                points.push(SeriesPoint { at, value });
            }
            Item::Series(Series { name, mode, points, span: item_span })
        }
        Rule::kind_decl => {
            let name = ident(c.next("name")?, cx);
            let mut fields = Vec::new();
            for field in c.rest() {
                let field_span = span(&field, cx);
                let mut f = Cursor::new(field, cx);
                let solving = f.next_if(Rule::solve_mark).is_some();
                let derived = solving || f.next_if(Rule::derived_mark).is_some();
                let name = ident(f.next("field name")?, cx);
                let solve = if solving {
                    let start = build_expr(f.next("start value")?, cx)?;
                    let clause = |rule: Rule, f: &mut Cursor| -> Built<Option<Expr>> {
                        match f.next_if(rule) {
                            Some(p) => Ok(Some(build_expr(Cursor::new(p, cx).next("clause value")?, cx)?)),
                            None => Ok(None),
                        }
                    };
                    let within = clause(Rule::solve_within, &mut f)?;
                    let limit = clause(Rule::solve_limit, &mut f)?;
                    Some(SolveSpec { start, within, limit })
                } else {
                    None
                };
                let value = build_expr(f.next("field value")?, cx)?;
                fields.push(FieldDecl { derived, name, value, solve, span: field_span });
            }
            Item::Kind(Kind { name, fields, span: item_span })
        }
        Rule::entity_decl => {
            let name = ident(c.next("name")?, cx);
            let kind = ident(c.next("kind")?, cx);
            let mut fields = Vec::new();
            for field in c.rest() {
                fields.push(build_field_init(field, cx)?);
            }
            // One entity of a large file has a few fields: no spare capacity.
            fields.shrink_to_fit();
            Item::Entity(Entity { name, kind, fields, span: item_span })
        }
        Rule::exposure_decl => {
            let creditor = ident(c.next("creditor")?, cx);
            let debtor = ident(c.next("debtor")?, cx);
            let amount = build_expr(c.next("amount")?, cx)?;
            let mut recovery = None;
            let mut fields = None;
            for part in c.rest() {
                if part.as_rule() == Rule::exposure_fields {
                    fields = Some(Box::new(build_field_inits(part, cx)?));
                } else {
                    recovery = Some(build_expr(part, cx)?);
                }
            }
            Item::Exposure(Exposure { creditor, debtor, amount, recovery, fields, span: item_span })
        }
        Rule::entities_decl | Rule::exposures_decl => {
            let kind = if rule == Rule::entities_decl { Some(ident(c.next("kind")?, cx)) } else { None };
            let file = build_template(c.next("file name")?, cx)?;
            let Some(name) = file.as_plain() else {
                return Err(Problem::error(
                    codes::syntax::data_file_name,
                    "a data file's name is plain text",
                )
                .label(file.span, "no `{...}` in a file name")
                .help(
                    "write the name as it is, e.g. `\"banks.csv\"`; `--data NAME=PATH` points it elsewhere",
                ));
            };
            Item::Data(DataDecl { kind, file: name, file_span: file.span, span: item_span })
        }
        Rule::expect_decl => {
            let cond = build_expr(c.next("condition")?, cx)?;
            let at = c.rest().next().map(|p| build_time_point(p, cx)).transpose()?;
            Item::Expect(Expect { cond, at, span: item_span })
        }
        Rule::assert_decl => {
            let cond = build_expr(c.next("condition")?, cx)?;
            let message = c.rest().next().map(|p| build_template(p, cx)).transpose()?;
            Item::Assert(Assert { cond, message, span: item_span })
        }
        Rule::rule_decl => Item::Rule(Box::new(build_rule(c, item_span, cx)?)),
        _ => return Err(missing("a declaration", item_span)),
    })
}

fn build_field_init(pair: Pair<Rule>, cx: Cx) -> Built<FieldInit> {
    let mut f = Cursor::new(pair, cx);
    let name = ident(f.next("field name")?, cx);
    let value = build_expr(f.next("field value")?, cx)?;
    Ok(FieldInit { name, value })
}

fn build_field_inits(pair: Pair<Rule>, cx: Cx) -> Built<Vec<FieldInit>> {
    significant(pair).map(|p| build_field_init(p, cx)).collect()
}

fn build_rule(mut c: Cursor, item_span: Span, cx: Cx) -> Built<RuleDecl> {
    let mut name = None;
    let mut description = None;
    let mut priority = None;
    if let Some(header) = c.next_if(Rule::rule_header) {
        for part in significant(header) {
            match part.as_rule() {
                Rule::ident => name = Some(ident(part, cx)),
                Rule::string => description = Some(build_template(part, cx)?),
                Rule::signed_integer => {
                    let at = span(&part, cx);
                    let value = part.as_str().parse::<i64>().map_err(|_| {
                        Problem::error(codes::syntax::bad_number, "priority is too large")
                            .label(at, "does not fit in a priority")
                            .help("use a whole number between -10^18 and 10^18")
                    })?;
                    priority = Some((value, at));
                }
                _ => {}
            }
        }
    }
    let mut binders = Vec::new();
    let mut filter = None;
    let mut together = None;
    if let Some(list) = c.next_if(Rule::binders) {
        for part in significant(list) {
            match part.as_rule() {
                Rule::kw_together => together = Some(span(&part, cx)),
                Rule::binder => {
                    let mut b = Cursor::new(part, cx);
                    let name = ident(b.next("binder")?, cx);
                    let kind = ident(b.next("kind")?, cx);
                    binders.push(Binder { name, kind });
                }
                _ => filter = Some(build_expr(part, cx)?),
            }
        }
    }
    let trigger_pair = c.next("trigger")?;
    let trigger_rule = trigger_pair.as_rule();
    let mut t = Cursor::new(trigger_pair, cx);
    let head = t.next("condition")?;
    let trigger = match trigger_rule {
        Rule::when_trigger => Trigger::When(build_expr(head.clone(), cx)?),
        Rule::while_trigger => Trigger::While(build_expr(head.clone(), cx)?),
        _ if head.as_rule() == Rule::expr => Trigger::AtExpr(build_expr(head.clone(), cx)?),
        _ => Trigger::At(build_time_point(head.clone(), cx)?),
    };
    let head_span = span(&head, cx);
    let trigger_span = Span::new(t.at.start as usize, head_span.end as usize);
    let body = t.next("body")?;
    let effects = build_body(body, cx)?;
    Ok(RuleDecl {
        name,
        description,
        priority,
        binders,
        together,
        filter,
        trigger,
        trigger_span,
        effects,
        span: item_span,
    })
}

fn build_body(body: Pair<Rule>, cx: Cx) -> Built<Vec<Effect>> {
    let mut effects = Vec::new();
    for part in significant(body) {
        if part.as_rule() == Rule::block {
            for effect in significant(part) {
                effects.push(build_effect(effect, cx)?);
            }
        } else {
            effects.push(build_effect(part, cx)?);
        }
    }
    Ok(effects)
}

fn build_effect(pair: Pair<Rule>, cx: Cx) -> Built<Effect> {
    let at = span(&pair, cx);
    let rule = pair.as_rule();
    let mut c = Cursor::new(pair, cx);
    let kind = match rule {
        Rule::after_effect => {
            let delay = build_expr(c.next("delay")?, cx)?;
            let effect = build_effect(c.next("effect")?, cx)?;
            EffectKind::After { delay, effect: Box::new(effect) }
        }
        Rule::default_effect => EffectKind::Default(build_expr(c.next("entity")?, cx)?),
        Rule::emit_effect => EffectKind::Emit(build_template(c.next("text")?, cx)?),
        Rule::local_decl => {
            let name = ident(c.next("name")?, cx);
            let value = build_expr(c.next("value")?, cx)?;
            EffectKind::Let { name, value }
        }
        Rule::stop_effect => EffectKind::Stop(c.rest().next().map(|p| build_template(p, cx)).transpose()?),
        Rule::assignment => {
            let target_pair = c.next("target")?;
            let target_span = span(&target_pair, cx);
            let mut t = Cursor::new(target_pair, cx);
            let target_base = ident(t.next("name")?, cx);
            let field = t.rest().next().map(|p| ident(p, cx));
            let target = Target { base: target_base, field, span: target_span };
            let op = match c.next("operator")?.as_str() {
                "+=" => AssignOp::Add,
                "-=" => AssignOp::Sub,
                "*=" => AssignOp::Mul,
                "/=" => AssignOp::Div,
                _ => AssignOp::Set,
            };
            let value = build_expr(c.next("value")?, cx)?;
            EffectKind::Assign { target, op, value }
        }
        _ => return Err(missing("an effect", at)),
    };
    Ok(Effect { kind, span: at })
}

fn build_time_point(pair: Pair<Rule>, cx: Cx) -> Built<TimePoint> {
    let pair = if pair.as_rule() == Rule::time_point {
        let at = span(&pair, cx);
        pair.into_inner().next().ok_or_else(|| missing("a time", at))?
    } else {
        pair
    };
    let at = span(&pair, cx);
    let kind = match pair.as_rule() {
        Rule::date => TimePointKind::Date(parse_date(pair.as_str(), at)?),
        _ => TimePointKind::Step(pair.as_str().parse::<u64>().map_err(|_| {
            Problem::error(codes::syntax::bad_number, "step number is too large")
                .label(at, "this step can never be reached")
        })?),
    };
    Ok(TimePoint { kind, span: at })
}

fn parse_date(text: &str, at: Span) -> Built<Date> {
    let mut parts = text.split('-').map(|p| p.parse::<u32>().unwrap_or(0));
    let year = parts.next().unwrap_or(0) as i32;
    let month = parts.next().unwrap_or(0);
    let date = match parts.next() {
        Some(day) => Date::ymd(year, month, day),
        None => Date::ym(year, month),
    };
    date.ok_or_else(|| {
        Problem::error(codes::syntax::bad_date, format!("`{text}` is not a date"))
            .label(at, "no such month or day")
            .help("a date is `YYYY-MM` or `YYYY-MM-DD`, e.g. `2026-01` or `2026-01-31`")
    })
}

fn build_template(pair: Pair<Rule>, cx: Cx) -> Built<Template> {
    let at = span(&pair, cx);
    let mut parts: Vec<TemplatePart> = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::str_text | Rule::str_escape => {
                let text = match part.as_str() {
                    "\\n" => "\n",
                    "\\t" => "\t",
                    "\\\"" => "\"",
                    "\\\\" => "\\",
                    "\\{" => "{",
                    "\\}" => "}",
                    other => other,
                };
                if let Some(TemplatePart::Text(last)) = parts.last_mut() {
                    last.push_str(text);
                } else {
                    parts.push(TemplatePart::Text(text.to_string()));
                }
            }
            Rule::str_interp => {
                let inner_at = span(&part, cx);
                let expr = part.into_inner().next().ok_or_else(|| missing("an expression", inner_at))?;
                parts.push(TemplatePart::Expr(build_expr(expr, cx)?));
            }
            _ => {}
        }
    }
    Ok(Template { parts, span: at })
}
