//! Command line and environment configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::auth::client::TrustedProxies;

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
    /// HTTPS through a proxy; it is on by itself when a trusted proxy
    /// forwards a request with `X-Forwarded-Proto: https`.
    #[arg(long, env = "BERTH_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// The reverse proxies in front of berth: comma-separated IP addresses
    /// and CIDR ranges (127.0.0.1,10.0.0.0/8,fd00::/8). Only requests whose
    /// TCP peer is one of them have their X-Forwarded-For, -Proto and -Host
    /// believed: for the client address (login throttle, audit log), the
    /// Secure cookie and the Origin check. Empty: nobody is believed.
    #[arg(
        long,
        env = "BERTH_TRUSTED_PROXIES",
        value_name = "ADDRESSES",
        default_value = "",
        hide_default_value = true
    )]
    pub trusted_proxies: TrustedProxies,

    /// How long a login lasts, in hours.
    #[arg(long, env = "BERTH_SESSION_HOURS", default_value_t = 24 * 7)]
    pub session_hours: u32,

    /// How many days the audit log keeps its rows; older ones are pruned at
    /// start and every hour. 0 keeps them forever.
    #[arg(long, env = "BERTH_AUDIT_RETENTION_DAYS", default_value_t = 90)]
    pub audit_retention_days: u32,
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
            trusted_proxies: TrustedProxies::default(),
            session_hours: 24 * 7,
            audit_retention_days: 90,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let argv = ["berth", "serve"].iter().chain(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Serve(args) => args,
        })
    }

    #[test]
    fn trusted_proxies_are_a_typed_list() {
        let args = serve(&[]).expect("no flags");
        assert!(
            args.trusted_proxies.is_empty(),
            "nobody is trusted by default"
        );
        let args = serve(&["--trusted-proxies", ""]).expect("empty");
        assert!(args.trusted_proxies.is_empty(), "empty is the default");
        let args = serve(&["--trusted-proxies", "127.0.0.1,10.0.0.0/8, fd00::/8"]).expect("a list");
        assert_eq!(
            args.trusted_proxies.to_string(),
            "127.0.0.1/32,10.0.0.0/8,fd00::/8"
        );
    }

    #[test]
    fn audit_retention_defaults_to_90_days() {
        assert_eq!(serve(&[]).expect("no flags").audit_retention_days, 90);
        let args = serve(&["--audit-retention-days", "7"]).expect("a number");
        assert_eq!(args.audit_retention_days, 7);
        assert!(serve(&["--audit-retention-days", "-1"]).is_err());
    }

    #[test]
    fn a_bad_trusted_proxy_is_a_startup_error_naming_it() {
        let e = serve(&["--trusted-proxies", "127.0.0.1,10.0.0.0/33"]).expect_err("bad");
        let text = e.to_string();
        assert!(text.contains("`10.0.0.0/33` is not"), "{text}");
        assert!(text.contains("--trusted-proxies"), "{text}");
    }
}
