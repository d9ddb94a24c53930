//! The benchmark that proves (or disproves) odoo-sync's speed: one table, every row measured in
//! the same run on the same machine, against the simulator with Odoo 18's latency model.
//!
//! The parent process owns the simulator and the schedule; every measured case runs in a child
//! process (this binary again, with a hidden `--case JSON`), so its peak RSS is its own and the
//! load generator never shares a runtime with the server it loads. No timing is asserted.

mod case;
mod catalog;
mod full_sync;
mod incremental;
mod load;
mod machine;
mod postgres;
mod report;
mod seed;
mod serve;
mod sim;
mod table;
mod webhooks;

use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "odoo-sync-bench",
    about = "Benchmarks odoo-sync against the seed's way and the floor"
)]
struct Cli {
    /// A reduced run (2k/5k products, short load phases) that finishes in under a minute.
    #[arg(long)]
    quick: bool,
    /// Run one section only: `full-sync`, or `incremental`, `webhooks` or `catalog` (after the
    /// sync they need, unmeasured).
    #[arg(long, value_enum)]
    only: Option<report::Section>,
    /// With the catalog section: only the reads whose name contains this, e.g. `faceted`.
    #[arg(long)]
    reads: Option<String>,
    /// Also write every figure as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Internal: run one measured case (JSON) in this process and print its result.
    #[arg(long, hide = true)]
    case: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(spec) = cli.case {
        return case::run_in_this_process(&spec);
    }
    let plan = report::Plan {
        reads: cli.reads,
        ..report::Plan::new(cli.quick, cli.only)
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(report::run(&plan))?;
    print!("{}", report.table());
    if let Some(path) = cli.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report.json())?)?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(())
}
