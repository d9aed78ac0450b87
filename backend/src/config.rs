//! Command line and environment configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// berth: a self-hosted control plane for Docker hosts.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard and the REST API.
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Use 0.0.0.0:8080 to reach berth from
    /// other machines (put it behind TLS).
    #[arg(long, env = "BERTH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory for berth's database (created if missing).
    #[arg(long, env = "BERTH_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// The Docker engine to manage as the `local` endpoint:
    /// unix:///path/to/docker.sock or tcp://host:port.
    #[arg(
        long,
        env = "DOCKER_HOST",
        default_value = "unix:///var/run/docker.sock"
    )]
    pub docker_host: String,

    /// Mark session cookies `Secure`. Set this when berth is reached over
    /// HTTPS through a proxy; it is on by itself when a request arrives with
    /// `X-Forwarded-Proto: https`.
    #[arg(long, env = "BERTH_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// How long a login lasts, in hours.
    #[arg(long, env = "BERTH_SESSION_HOURS", default_value_t = 24 * 7)]
    pub session_hours: u32,
}

impl ServeArgs {
    /// Defaults for tests and embedding: a data dir, everything else as the
    /// command line would default.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>, docker_host: impl Into<String>) -> Self {
        ServeArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            docker_host: docker_host.into(),
            secure_cookies: false,
            session_hours: 24 * 7,
        }
    }
}
