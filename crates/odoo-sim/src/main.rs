//! `odoo-sim`: the standalone simulator binary. Parses `SimArgs`, calls `odoo_sim::run`.

use clap::Parser;

#[derive(Parser)]
#[command(name = "odoo-sim", about = "An Odoo 18 or 19 simulator on the wire")]
struct Cli {
    #[command(flatten)]
    sim: odoo_sim::SimArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    odoo_sim::run(Cli::parse().sim).await
}
