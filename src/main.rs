//! The `hunyu` binary.

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = hunyu::cli::Cli::parse();
    hunyu::exchange::tls::install_crypto_provider();
    let default_filter = cli.command.default_log_filter();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("HUNYU_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter)))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match hunyu::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
