use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match odoo_sync::cli::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line naming what is wrong; the cause chain joined with ': '.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
