//! Section 2, incremental sync on the catalog the full sync left: nothing changed, then 1% of
//! the templates written through the simulator's RPC just before the run.

use odoo_sim::Sim;
use serde::Serialize;
use serde_json::{json, Map};

use crate::case::{Case, Target};
use crate::full_sync::{measure, Measured};
use crate::table::{ms, num, Row};

#[derive(Debug, Clone, Serialize)]
pub struct Incremental {
    /// `sqlite` or `postgres`.
    pub store: &'static str,
    pub templates: usize,
    pub unchanged: Measured,
    pub changed_templates: usize,
    pub one_percent_changed: Measured,
}

/// Both rows on each store's catalog (all in step with the simulator): every "nothing changed"
/// first, then one change, then every "1% changed", so that no store sees another's change.
pub async fn run(
    sim: &Sim,
    templates: usize,
    targets: &[&Target],
) -> anyhow::Result<Vec<Incremental>> {
    let case = |target: &Target| Case::Engine {
        target: target.clone(),
        full: false,
    };
    let mut unchanged = Vec::new();
    for target in targets {
        eprintln!(
            "incremental, {templates} templates, {}: nothing changed…",
            target.store()
        );
        unchanged.push(measure(sim, &case(target)).await?);
    }
    let changed = change_one_percent(&targets[0].sim_url, templates).await?;
    let mut measured = Vec::new();
    for (target, unchanged) in targets.iter().zip(unchanged) {
        eprintln!(
            "incremental, {templates} templates, {}: {changed} changed…",
            target.store()
        );
        measured.push(Incremental {
            store: target.store(),
            templates,
            unchanged,
            changed_templates: changed,
            one_percent_changed: measure(sim, &case(target)).await?,
        });
    }
    Ok(measured)
}

/// Writes a new price on every 100th template, 100 templates per call.
async fn change_one_percent(sim_url: &str, templates: usize) -> anyhow::Result<usize> {
    let odoo = crate::sim::client(sim_url).await?;
    let ids: Vec<i64> = (1..=templates as i64).step_by(100).collect();
    for (n, chunk) in ids.chunks(100).enumerate() {
        let mut values = Map::new();
        values.insert("list_price".to_string(), json!(1000.0 + n as f64));
        odoo.write("product.template", chunk, values, &Default::default())
            .await?;
    }
    Ok(ids.len())
}

impl Incremental {
    pub fn rows(&self) -> Vec<Row> {
        let section = Target::section(
            self.store,
            &format!("incremental {}", num(self.templates as f64)),
        );
        let row = |case: &str, m: &Measured| {
            Row::new(&section, case)
                .set("wall", ms(m.wall_s * 1000.0))
                .set("Odoo calls", m.odoo_calls.to_string())
                .set("peak RSS", format!("{:.0} MB", m.peak_rss_mb))
                .set(
                    "note",
                    format!(
                        "{} products processed; calls: {}",
                        num(m.products as f64),
                        m.odoo_calls_by_method
                            .iter()
                            .map(|(method, n)| format!("{method}×{n}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                )
        };
        vec![
            row("nothing changed", &self.unchanged),
            row(
                &format!(
                    "1% changed ({} templates)",
                    num(self.changed_templates as f64)
                ),
                &self.one_percent_changed,
            ),
        ]
    }
}
