//! A pricelist's rules and the price they give one unit of a variant, as Odoo 18 computes it
//! (`product.pricelist.item._is_applicable_for` and `_compute_price`). Odoo has no RPC method
//! that returns these prices, and a pricelist item's change moves no product `write_date`, so the
//! rules are synced and applied here.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// What a rule applies to, from the most to the least specific (Odoo's `applied_on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AppliesTo {
    Variant(i64),
    Template(i64),
    /// The category and all its descendants.
    Category(i64),
    All,
}

/// What the rule's price is computed from (Odoo's `base`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PriceBase {
    /// The variant's sales price (`lst_price`: the template's price plus attribute extras).
    ListPrice,
    /// A base odoo-sync does not sync (the cost, another pricelist): no price is computed.
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PriceComputation {
    Fixed(f64),
    /// A discount in percent off the base.
    Percentage(f64),
    Formula {
        discount: f64,
        round_to: f64,
        surcharge: f64,
        min_margin: f64,
        max_margin: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricelistRule {
    pub id: i64,
    pub applies_to: AppliesTo,
    pub min_quantity: f64,
    pub valid_from: Option<NaiveDateTime>,
    pub valid_until: Option<NaiveDateTime>,
    pub base: PriceBase,
    pub computation: PriceComputation,
    pub write_date: NaiveDateTime,
}

/// What a rule needs to know about the variant it prices.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedVariant {
    pub variant_id: i64,
    pub template_id: i64,
    /// The template's category, then its parents up to the root.
    pub categories: Vec<i64>,
    pub list_price: f64,
}

/// The price of a variant under a pricelist: the price of its first applicable rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Priced {
    /// No rule applies: the sales price.
    ListPrice(f64),
    ByRule {
        rule_id: i64,
        price: f64,
    },
    /// The applicable rule computes from a base that is not synced.
    NotComputable {
        rule_id: i64,
    },
}

impl Priced {
    pub fn price(self) -> Option<f64> {
        match self {
            Priced::ListPrice(price) | Priced::ByRule { price, .. } => Some(price),
            Priced::NotComputable { .. } => None,
        }
    }
}

impl PricelistRule {
    fn applies(&self, variant: &PricedVariant, quantity: f64, at: NaiveDateTime) -> bool {
        let in_time = self.valid_from.is_none_or(|from| from <= at)
            && self.valid_until.is_none_or(|until| at <= until);
        let matches = match self.applies_to {
            AppliesTo::Variant(id) => id == variant.variant_id,
            AppliesTo::Template(id) => id == variant.template_id,
            AppliesTo::Category(id) => variant.categories.contains(&id),
            AppliesTo::All => true,
        };
        in_time && matches && (self.min_quantity <= 0.0 || quantity >= self.min_quantity)
    }

    fn compute(&self, base: f64) -> f64 {
        match self.computation {
            PriceComputation::Fixed(price) => price,
            PriceComputation::Percentage(percent) => base - base * percent / 100.0,
            PriceComputation::Formula {
                discount,
                round_to,
                surcharge,
                min_margin,
                max_margin,
            } => {
                let mut price = base - base * discount / 100.0;
                if round_to > 0.0 {
                    price = (price / round_to).round() * round_to;
                }
                price += surcharge;
                if min_margin != 0.0 {
                    price = price.max(base + min_margin);
                }
                if max_margin != 0.0 {
                    price = price.min(base + max_margin);
                }
                price
            }
        }
    }

    fn rank(&self) -> (u8, i64) {
        match self.applies_to {
            AppliesTo::Variant(_) => (0, 0),
            AppliesTo::Template(_) => (1, 0),
            AppliesTo::Category(id) => (2, id),
            AppliesTo::All => (3, 0),
        }
    }
}

/// Sorts rules in the order Odoo tries them (`applied_on, min_quantity desc, categ_id desc,
/// id desc`): the most specific first.
pub fn sort_rules(rules: &mut [PricelistRule]) {
    rules.sort_by(|a, b| {
        let ((a_rank, a_category), (b_rank, b_category)) = (a.rank(), b.rank());
        a_rank
            .cmp(&b_rank)
            .then_with(|| b.min_quantity.total_cmp(&a.min_quantity))
            .then_with(|| b_category.cmp(&a_category))
            .then_with(|| b.id.cmp(&a.id))
    });
}

/// The price of one unit of `variant` at `at`, with `rules` sorted by [`sort_rules`].
pub fn price_of(rules: &[PricelistRule], variant: &PricedVariant, at: NaiveDateTime) -> Priced {
    let Some(rule) = rules.iter().find(|rule| rule.applies(variant, 1.0, at)) else {
        return Priced::ListPrice(variant.list_price);
    };
    match rule.base {
        PriceBase::ListPrice => Priced::ByRule {
            rule_id: rule.id,
            price: rule.compute(variant.list_price),
        },
        PriceBase::Unsupported(_) => Priced::NotComputable { rule_id: rule.id },
    }
}

/// The next moment after `at` when a rule starts or ends applying: prices must be computed
/// again then, though nothing in Odoo was written.
pub fn next_boundary(rules: &[PricelistRule], at: NaiveDateTime) -> Option<NaiveDateTime> {
    rules
        .iter()
        .flat_map(|rule| {
            let after_end = rule
                .valid_until
                .map(|until| until + chrono::Duration::seconds(1));
            [rule.valid_from, after_end]
        })
        .flatten()
        .filter(|moment| *moment > at)
        .min()
}

/// The category and its parents up to the root (a cycle, which Odoo forbids, ends the walk).
pub fn category_chain(parents: &HashMap<i64, Option<i64>>, start: Option<i64>) -> Vec<i64> {
    let mut chain = Vec::new();
    let mut next = start;
    while let Some(id) = next {
        if chain.contains(&id) {
            break;
        }
        chain.push(id);
        next = parents.get(&id).copied().flatten();
    }
    chain
}

/// A pricelist the catalog carries prices of (`SYNC_PRICELIST_IDS`), as Odoo names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pricelist {
    pub id: i64,
    pub name: String,
    /// ISO code of the pricelist's currency.
    pub currency: Option<String>,
}

/// A variant's price under one pricelist.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VariantPrice {
    pub variant_id: i64,
    pub template_id: i64,
    /// `None` when the applicable rule computes from a base that is not synced.
    pub price: Option<f64>,
    /// `None` when no rule applies (the sales price).
    pub rule_id: Option<i64>,
}

/// How far pricing has gone: products changed after `seq` are not priced yet, and prices must
/// all be computed again at `next_boundary` (a rule starts or ends).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PricingState {
    pub seq: i64,
    pub priced_at: chrono::NaiveDateTime,
    pub next_boundary: Option<chrono::NaiveDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn rule(id: i64, applies_to: AppliesTo, computation: PriceComputation) -> PricelistRule {
        PricelistRule {
            id,
            applies_to,
            min_quantity: 0.0,
            valid_from: None,
            valid_until: None,
            base: PriceBase::ListPrice,
            computation,
            write_date: at("2026-11-24 10:00:00"),
        }
    }

    fn chair() -> PricedVariant {
        PricedVariant {
            variant_id: 31,
            template_id: 9,
            categories: vec![8, 2, 1],
            list_price: 200.0,
        }
    }

    const NOW: &str = "2026-11-24 12:00:00";

    fn priced(mut rules: Vec<PricelistRule>) -> Priced {
        sort_rules(&mut rules);
        price_of(&rules, &chair(), at(NOW))
    }

    #[test]
    fn without_an_applicable_rule_the_price_is_the_sales_price() {
        let other = rule(1, AppliesTo::Template(10), PriceComputation::Fixed(5.0));
        assert_eq!(priced(vec![other]), Priced::ListPrice(200.0));
    }

    #[test]
    fn the_most_specific_rule_wins_whatever_the_order_odoo_returned() {
        let rules = vec![
            rule(1, AppliesTo::All, PriceComputation::Percentage(10.0)),
            rule(
                2,
                AppliesTo::Category(1),
                PriceComputation::Percentage(20.0),
            ),
            rule(3, AppliesTo::Template(9), PriceComputation::Fixed(150.0)),
            rule(4, AppliesTo::Variant(31), PriceComputation::Fixed(99.0)),
        ];
        let expected = Priced::ByRule {
            rule_id: 4,
            price: 99.0,
        };
        assert_eq!(priced(rules.clone()), expected);
        assert_eq!(
            priced(rules[..3].to_vec()),
            Priced::ByRule {
                rule_id: 3,
                price: 150.0
            }
        );
        assert_eq!(
            priced(rules[..2].to_vec()),
            Priced::ByRule {
                rule_id: 2,
                price: 160.0
            }
        );
    }

    #[test]
    fn a_category_rule_covers_the_subcategories() {
        let parent = rule(
            2,
            AppliesTo::Category(2),
            PriceComputation::Percentage(50.0),
        );
        assert_eq!(priced(vec![parent]).price(), Some(100.0));
        let unrelated = rule(
            3,
            AppliesTo::Category(5),
            PriceComputation::Percentage(50.0),
        );
        assert_eq!(priced(vec![unrelated]).price(), Some(200.0));
    }

    #[test]
    fn a_rule_outside_its_dates_or_above_one_unit_does_not_apply() {
        let mut expired = rule(1, AppliesTo::All, PriceComputation::Fixed(1.0));
        expired.valid_until = Some(at("2026-11-24 11:59:59"));
        let mut future = rule(2, AppliesTo::All, PriceComputation::Fixed(2.0));
        future.valid_from = Some(at("2026-11-24 12:00:01"));
        let mut bulk = rule(3, AppliesTo::All, PriceComputation::Fixed(3.0));
        bulk.min_quantity = 10.0;
        let mut current = rule(4, AppliesTo::All, PriceComputation::Fixed(4.0));
        current.valid_from = Some(at("2026-11-24 12:00:00"));
        current.valid_until = Some(at("2026-11-24 12:00:00"));
        assert_eq!(
            priced(vec![expired, future, bulk, current]).price(),
            Some(4.0)
        );
    }

    #[test]
    fn a_formula_discounts_rounds_adds_the_surcharge_then_bounds_the_margin() {
        let formula = |discount, round_to, surcharge, min_margin, max_margin| {
            let computation = PriceComputation::Formula {
                discount,
                round_to,
                surcharge,
                min_margin,
                max_margin,
            };
            priced(vec![rule(1, AppliesTo::All, computation)]).price()
        };
        // 200 - 12.5 % = 175, rounded to 10 = 180, minus 0.01 = 179.99 (the "x.99" idiom).
        let price = formula(12.5, 10.0, -0.01, 0.0, 0.0).unwrap();
        assert!((price - 179.99).abs() < 1e-9, "{price}");
        assert_eq!(formula(50.0, 0.0, 0.0, -20.0, 0.0), Some(180.0));
        assert_eq!(formula(-50.0, 0.0, 0.0, 0.0, 30.0), Some(230.0));
    }

    #[test]
    fn a_rule_on_an_unsynced_base_gives_no_price_rather_than_a_wrong_one() {
        let mut on_cost = rule(7, AppliesTo::All, PriceComputation::Percentage(10.0));
        on_cost.base = PriceBase::Unsupported("standard_price".into());
        assert_eq!(priced(vec![on_cost]), Priced::NotComputable { rule_id: 7 });
    }

    #[test]
    fn prices_must_be_computed_again_when_a_rule_starts_or_ends() {
        let mut sale = rule(1, AppliesTo::All, PriceComputation::Percentage(30.0));
        sale.valid_from = Some(at("2026-11-27 00:00:00"));
        sale.valid_until = Some(at("2026-11-30 23:59:59"));
        let rules = [sale];
        assert_eq!(
            next_boundary(&rules, at(NOW)),
            Some(at("2026-11-27 00:00:00"))
        );
        assert_eq!(
            next_boundary(&rules, at("2026-11-28 00:00:00")),
            Some(at("2026-12-01 00:00:00"))
        );
        assert_eq!(next_boundary(&rules, at("2026-12-02 00:00:00")), None);
    }

    #[test]
    fn a_category_chain_runs_to_the_root_and_survives_a_cycle() {
        let parents = HashMap::from([
            (8, Some(2)),
            (2, Some(1)),
            (1, None),
            (5, Some(6)),
            (6, Some(5)),
        ]);
        assert_eq!(category_chain(&parents, Some(8)), vec![8, 2, 1]);
        assert_eq!(category_chain(&parents, None), Vec::<i64>::new());
        assert_eq!(category_chain(&parents, Some(5)), vec![5, 6]);
    }
}
