//! Running the server: bind, serve HTTP/1.1 with a deadline on reading a
//! request's headers (a client that trickles them is cut off), and shut down
//! gracefully on Ctrl-C or SIGTERM: stop accepting, end the event streams,
//! let runners release their runs, give requests in flight a deadline.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::app::App;
use crate::config::Config;
use crate::http;

/// A request's headers must arrive within this time.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests in flight (and runners releasing their runs) get at shutdown.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// Starts the app on `config.listen` and serves until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    config.check_listen()?;
    let listen = config.listen;
    let listener = TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr: SocketAddr = listener.local_addr()?;
    let app = App::start(config, addr).await?;
    let names: Vec<&str> = app.envs.names().collect();
    tracing::info!(
        %addr,
        envs = ?names,
        database = %app.config.database,
        auth = if app.auth.off { "none" } else { "configured" },
        "mezame is listening"
    );
    if app.auth.off {
        tracing::warn!("sign-in is off (auth = \"none\"): anyone who reaches {addr} acts as an admin");
    }
    // A line for people and scripts: the URL to open.
    println!("mezame listening on http://{addr}/");
    let router = http::router(app.clone());
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    // Connections watch this: on shutdown each finishes its request in flight and closes.
    let (closing, _) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let signal = shutdown();
    tokio::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut signal => break,
        };
        // Every write goes out at once: an answer's last short segment, or a
        // small event of a stream, is not held back (Nagle) until the client's
        // delayed ACK of the one before, up to 40 ms later.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
        let mut stop = closing.subscribe();
        connections.spawn(async move {
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = crate::domain::closing::until_true(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
        // Forget connections that ended.
        while connections.try_join_next().is_some() {}
    }
    tracing::info!("shutting down: no new connections; ending event streams and releasing runs");
    drop(listener);
    app.close(SHUTDOWN_DEADLINE).await;
    closing.send_replace(true);
    let drained = tokio::time::timeout(SHUTDOWN_DEADLINE, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("requests still in flight after {} s: closing them", SHUTDOWN_DEADLINE.as_secs());
    }
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
