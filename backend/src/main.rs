//! `mezame`: the control panel's server.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use mezame::config::Config;

#[derive(Parser)]
#[command(name = "mezame", version, about = "Control panel for microservice platforms on AWS EKS delivered by GitOps")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and the API.
    Serve {
        /// TOML configuration (see mezame.example.toml). Without one the panel
        /// starts with no environments.
        #[arg(long, env = "MEZAME_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:8080); wins over the file
        /// and MEZAME_LISTEN.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Print the OpenAPI document and exit.
    Openapi {
        /// Include the diagnostic routes.
        #[arg(long)]
        debug_routes: bool,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // kube and the AWS SDK share rustls; pick its crypto provider once.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, listen } => {
            mezame::telemetry::init();
            let mut config = match Config::load(config.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("mezame: {e}");
                    return std::process::ExitCode::from(2);
                }
            };
            if let Some(listen) = listen {
                config.listen = listen;
            }
            if let Err(e) = config.check_listen() {
                eprintln!("mezame: {e}");
                return std::process::ExitCode::from(2);
            }
            if let Err(e) = mezame::serve::run(config).await {
                tracing::error!("{e:#}");
                eprintln!("mezame: {e:#}");
                return std::process::ExitCode::FAILURE;
            }
        }
        Command::Openapi { debug_routes } => {
            let doc = mezame::http::openapi(debug_routes);
            println!("{}", doc.to_pretty_json().expect("the document serialises"));
        }
    }
    std::process::ExitCode::SUCCESS
}
