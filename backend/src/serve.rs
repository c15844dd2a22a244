//! Running the server.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::app::App;
use crate::config::Config;
use crate::http;

/// Starts the app on `config.listen` and serves until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let app = App::start(config).await?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr: SocketAddr = listener.local_addr()?;
    let names: Vec<&str> = app.envs.names().collect();
    tracing::info!(
        %addr,
        envs = ?names,
        database = %crate::app::redact(&app.config.database),
        "mezame is listening"
    );
    // A line for people and scripts: the URL to open.
    println!("mezame listening on http://{addr}/");
    axum::serve(listener, http::router(app))
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
