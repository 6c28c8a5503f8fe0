//! Host data: entities and exposures a host supplies from its own records.

use super::*;

/// An entity from host data: name, kind, initial values of stored fields.
type HostEntity = (String, String, Vec<(String, Value)>);

/// Entities and exposures that a host supplies from its own data; see
/// [`Engine::compile_with_data`].
#[derive(Clone, Debug, Default)]
pub struct World {
    pub(super) entities: Vec<HostEntity>,
    pub(super) exposures: Vec<(String, String, Decimal, Decimal)>,
}

impl World {
    /// An empty world.
    pub fn new() -> World {
        World::default()
    }

    /// Adds an entity of a kind the script declares, with initial values of
    /// some of its stored fields (numbers, bools, dates or strings).
    pub fn entity(&mut self, name: &str, kind: &str, fields: &[(&str, Value)]) -> &mut World {
        let fields = fields.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
        self.entities.push((name.to_string(), kind.to_string(), fields));
        self
    }

    /// Adds an exposure: `creditor` loses `amount × (1 − recovery)` if `debtor` defaults.
    pub fn exposure(
        &mut self,
        creditor: &str,
        debtor: &str,
        amount: Decimal,
        recovery: Decimal,
    ) -> &mut World {
        self.exposures.push((creditor.to_string(), debtor.to_string(), amount, recovery));
        self
    }

    /// Appends the host's entities and exposures to a parsed script as AST items.
    pub(super) fn append_to(&self, file: &mut crate::syntax::File) -> Result<(), Error> {
        use crate::source::Span;
        use crate::syntax::{Entity, Expr, ExprKind, FieldInit, Ident, Item, Template, TemplatePart};
        let bad = |name: &str, reason: String| Error::BadValue { name: name.to_string(), reason };
        let ident = |name: &str| Ident { name: name.to_string(), span: Span::default() };
        let literal = |value: &Value| -> Option<Expr> {
            let kind = match value {
                Value::Number(n) => ExprKind::Number(*n),
                Value::Bool(b) => ExprKind::Bool(*b),
                Value::Date(d) => ExprKind::Date(*d),
                Value::Str(s) => ExprKind::Str(Template {
                    parts: vec![TemplatePart::Text(s.to_string())],
                    span: Span::default(),
                }),
                _ => return None,
            };
            Some(Expr { kind, span: Span::default() })
        };
        let is_name = |s: &str| {
            s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !crate::syntax::KEYWORDS.contains(&s)
        };
        for (name, kind, fields) in &self.entities {
            if !is_name(name) {
                return Err(bad(name, String::from("not a valid entity name")));
            }
            let mut inits = Vec::new();
            for (field, value) in fields {
                let value = literal(value).ok_or_else(|| {
                    bad(name, format!("field `{field}`: only numbers, bools, dates and strings"))
                })?;
                inits.push(FieldInit { name: ident(field), value });
            }
            file.items.push(Item::Entity(Entity {
                name: ident(name),
                kind: ident(kind),
                fields: inits,
                span: Span::default(),
            }));
        }
        for (creditor, debtor, amount, recovery) in &self.exposures {
            let number = |n: &Decimal| Expr { kind: ExprKind::Number(*n), span: Span::default() };
            file.items.push(Item::Exposure(crate::syntax::Exposure {
                creditor: ident(creditor),
                debtor: ident(debtor),
                amount: number(amount),
                recovery: Some(number(recovery)),
                fields: None,
                span: Span::default(),
            }));
        }
        Ok(())
    }
}
