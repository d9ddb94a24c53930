//! `Domain`: an Odoo search domain in prefix (Polish) notation, built from leaves with `and`, `or`
//! and `not`. A built domain is always empty or exactly one expression, so combining two domains
//! never depends on Odoo's implicit "and" of top-level terms.

use serde_json::Value;

/// A search domain, e.g. `[["id", ">", 5]]`. Empty means "every record".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Domain {
    /// Empty, or the terms of exactly one prefix-notation expression.
    terms: Vec<Value>,
}

impl Domain {
    /// Matches every record.
    pub fn all() -> Self {
        Domain::default()
    }

    /// Matches no record.
    pub fn none() -> Self {
        Domain::leaf("id", "in", Vec::<i64>::new())
    }

    /// `[field, operator, value]`, e.g. `Domain::leaf("write_date", ">=", "2026-11-24 13:20:18")`.
    pub fn leaf(field: &str, operator: &str, value: impl Into<Value>) -> Self {
        let leaf = Value::Array(vec![field.into(), operator.into(), value.into()]);
        Domain { terms: vec![leaf] }
    }

    /// Takes a domain as Odoo writes it, where top-level expressions are implicitly and-ed.
    /// `None` when it is not a well-formed prefix-notation list.
    pub fn from_terms(terms: Vec<Value>) -> Option<Self> {
        let expressions = count_expressions(&terms)?;
        let mut normalized = vec![Value::from("&"); expressions.saturating_sub(1)];
        normalized.extend(terms);
        Some(Domain { terms: normalized })
    }

    pub fn and(self, other: Domain) -> Self {
        self.combine("&", other)
    }

    pub fn or(self, other: Domain) -> Self {
        // Anything or "every record" is every record.
        if self.is_all() || other.is_all() {
            return Domain::all();
        }
        self.combine("|", other)
    }

    // Inherent so that `.not()` works without importing `std::ops::Not` (also implemented).
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        if self.is_all() {
            return Domain::none();
        }
        let mut terms = vec![Value::from("!")];
        terms.extend(self.terms);
        Domain { terms }
    }

    pub fn is_all(&self) -> bool {
        self.terms.is_empty()
    }

    /// The domain as sent to Odoo: `[["id", ">", 5], ...]`.
    pub fn to_value(&self) -> Value {
        Value::Array(self.terms.clone())
    }

    /// `operator` applied to both, where "every record" is neutral.
    fn combine(self, operator: &str, other: Domain) -> Self {
        if self.is_all() {
            return other;
        }
        if other.is_all() {
            return self;
        }
        let mut terms = Vec::with_capacity(1 + self.terms.len() + other.terms.len());
        terms.push(Value::from(operator));
        terms.extend(self.terms);
        terms.extend(other.terms);
        Domain { terms }
    }
}

impl std::ops::Not for Domain {
    type Output = Domain;

    fn not(self) -> Domain {
        Domain::not(self)
    }
}

impl serde::Serialize for Domain {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.terms.serialize(serializer)
    }
}

/// How many complete expressions a prefix-notation list holds, reading it from the end: a leaf
/// pushes one, `!` replaces one, `&` and `|` merge two.
fn count_expressions(terms: &[Value]) -> Option<usize> {
    let mut stack: usize = 0;
    for term in terms.iter().rev() {
        match term.as_str() {
            Some("!") if stack == 0 => return None,
            Some("!") => {}
            Some("&" | "|") => stack = stack.checked_sub(2)? + 1,
            Some(_) => return None,
            None if term.is_array() => stack += 1,
            None => return None,
        }
    }
    Some(stack)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id_gt(n: i64) -> Domain {
        Domain::leaf("id", ">", n)
    }

    #[test]
    fn all_is_the_empty_domain() {
        assert_eq!(Domain::all().to_value(), json!([]));
    }

    #[test]
    fn a_leaf_is_a_three_element_list() {
        assert_eq!(id_gt(5).to_value(), json!([["id", ">", 5]]));
        let in_list = Domain::leaf("id", "in", vec![31, 32]);
        assert_eq!(in_list.to_value(), json!([["id", "in", [31, 32]]]));
    }

    #[test]
    fn and_or_not_prefix_their_operands() {
        let a = id_gt(1);
        let b = Domain::leaf("active", "=", true);
        assert_eq!(
            a.clone().and(b.clone()).to_value(),
            json!(["&", ["id", ">", 1], ["active", "=", true]])
        );
        assert_eq!(
            a.clone().or(b).to_value(),
            json!(["|", ["id", ">", 1], ["active", "=", true]])
        );
        assert_eq!(a.not().to_value(), json!(["!", ["id", ">", 1]]));
    }

    #[test]
    fn multi_term_operands_keep_their_grouping() {
        let left = id_gt(1).and(id_gt(2));
        let right = id_gt(3).or(id_gt(4));
        assert_eq!(
            left.or(right).not().to_value(),
            json!([
                "!",
                "|",
                "&",
                ["id", ">", 1],
                ["id", ">", 2],
                "|",
                ["id", ">", 3],
                ["id", ">", 4]
            ])
        );
    }

    #[test]
    fn every_record_is_neutral_for_and_and_absorbing_for_or() {
        assert_eq!(Domain::all().and(id_gt(1)), id_gt(1));
        assert_eq!(id_gt(1).and(Domain::all()), id_gt(1));
        assert_eq!(id_gt(1).or(Domain::all()), Domain::all());
        assert_eq!(Domain::all().not(), Domain::none());
        assert_eq!(!id_gt(1), id_gt(1).not());
    }

    #[test]
    fn implicit_and_of_odoo_domains_is_made_explicit() {
        let terms = vec![json!(["id", ">", 1]), json!(["active", "=", true])];
        let domain = Domain::from_terms(terms).expect("well formed");
        assert_eq!(
            domain.clone().or(id_gt(9)).to_value(),
            json!([
                "|",
                "&",
                ["id", ">", 1],
                ["active", "=", true],
                ["id", ">", 9]
            ])
        );
        assert!(Domain::from_terms(vec![json!("&"), json!(["id", ">", 1])]).is_none());
        assert!(Domain::from_terms(vec![json!("bogus")]).is_none());
        assert_eq!(Domain::from_terms(vec![]), Some(Domain::all()));
    }

    #[test]
    fn serializes_as_its_terms() {
        let text = serde_json::to_string(&id_gt(5)).expect("serializes");
        assert_eq!(text, r#"[["id",">",5]]"#);
    }
}
