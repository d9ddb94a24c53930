use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match odoo_sync::cli::run().await {
        Ok(()) => ExitCode::SUCCESS,
        // `odoo-sync catalog export | head -1`: the reader has all it wanted, as with Unix tools.
        Err(error) if odoo_sync::cli::is_closed_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // One line naming what is wrong; the cause chain joined with ': '.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
