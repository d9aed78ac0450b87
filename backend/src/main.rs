//! The `berth` binary: parse the configuration, open the store, serve.

use std::process::ExitCode;

use berth::config::{Cli, Command, ServeArgs};
use berth::AppState;
use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Before any thread or allocation of note: this may start the binary
    // again with the allocator's settings (see `berth::memory`).
    let untuned = berth::memory::tune();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(untuned))
}

async fn run(untuned: Option<String>) -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("BERTH_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Some(why) = untuned {
        tracing::warn!("{why}; memory freed after bursts may not return to the system");
    }
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    tracing::info!(
        listen = %args.listen,
        data_dir = %args.data_dir.display(),
        docker_host = %args.docker_host,
        secure_cookies = args.secure_cookies,
        trusted_proxies = %args.trusted_proxies,
        session_hours = args.session_hours,
        "starting berth {}",
        env!("CARGO_PKG_VERSION")
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let (state, setup_token) = AppState::new(args).await?;
    for engine in state.endpoints.all() {
        match engine.version().await {
            Ok(v) => {
                tracing::info!(endpoint = %engine.id, version = %v.version, api = %v.api_version, "engine answers")
            }
            Err(e) => {
                tracing::warn!(endpoint = %engine.id, "{e}; berth keeps running and retries on use")
            }
        }
    }
    if let Some(token) = setup_token {
        // stdout on purpose, and never the log: whoever can read berth's
        // output is the one who may create the first admin.
        println!("berth is not set up yet; open it in a browser and use this one-time");
        println!("setup token: {token}");
    }
    tracing::info!("listening on http://{}", listener.local_addr()?);
    berth::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for ctrl-c: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
