//! `cargo xtask run`: the panel on the sandbox, from a fresh machine.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::util::{cargo, run as run_cmd, step, target_dir};
use crate::{dist, tools};

#[derive(clap::Args)]
pub struct Args {
    /// Sandbox environments (dev, prod, qa); default dev,prod.
    #[arg(long, value_delimiter = ',')]
    envs: Option<Vec<String>>,
    /// Serve the panel without a sandbox (no environments configured).
    #[arg(long)]
    no_sandbox: bool,
    /// Address of the panel.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
}

/// The packages built for the host: everything but the WASM UI and xtask.
/// `run` and `test` build the same selection, so that Cargo resolves the same
/// features and compiles each dependency once.
pub const HOST_PACKAGES: [&str; 5] = ["--workspace", "--exclude", "mezame-frontend", "--exclude", "xtask"];

/// Release UI + release `mezame` (UI embedded) and `mezame-sandbox`; returns target/release.
pub fn build_release() -> Result<PathBuf> {
    dist::build(true)?;
    step("building mezame and mezame-sandbox (release)");
    run_cmd(cargo().args(["build", "--release"]).args(HOST_PACKAGES))?;
    Ok(target_dir().join("release"))
}

/// Packages the sandbox needs at run time.
pub fn sandbox_packages() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![("redis-server", "redis-server", "Argo CD's Redis in the sandbox"), ("git", "git", "the sandbox's repositories")]
}

fn s(v: &serde_json::Value) -> &str {
    v.as_str().unwrap_or("?")
}

pub fn run(args: Args) -> Result<()> {
    if !args.no_sandbox {
        tools::ensure_apt(&sandbox_packages())?;
    }
    let bin = build_release()?;
    let mut serve = Command::new(bin.join("mezame"));
    serve.args(["serve", "--listen", &args.listen]);
    let mut sign_in = String::from("sign-in is off (auth = \"none\", loopback only)");
    if !args.no_sandbox {
        step("bringing the sandbox up (the first time builds Kubernetes, etcd, kwok, Argo CD and moto: ~15 min)");
        let mut up = Command::new(bin.join("mezame-sandbox"));
        up.arg("up");
        if let Some(envs) = &args.envs {
            up.arg("--envs").arg(envs.join(","));
        }
        run_cmd(&mut up)?;
        let status = Command::new(bin.join("mezame-sandbox")).args(["status", "--json"]).output()?;
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).context("reading the sandbox status")?;
        let config = status["mezame_config"].as_str().context("the sandbox has no mezame config")?;
        serve.args(["--config", config]);
        let users: Vec<String> = status["users"]
            .as_array()
            .map(|u| {
                u.iter()
                    .map(|u| {
                        format!(
                            "  {:<6} password {:<20} ({}); API token: {}",
                            s(&u["name"]),
                            s(&u["password"]),
                            s(&u["role"]),
                            s(&u["token"])
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        sign_in = format!(
            "sign in on the sandbox's OpenID provider ({}) as one of:\n{}\n  (scripts: curl -H 'Authorization: Bearer <token>' …)",
            s(&status["oidc"]["issuer"]),
            users.join("\n")
        );
    } else {
        serve.env("MEZAME_AUTH", "none");
    }
    step(&format!(
        "serving the panel: open http://{}/ — {sign_in}\n(Ctrl-C to stop; `mezame-sandbox down` stops the sandbox)",
        args.listen
    ));
    let status = serve.status().context("starting mezame")?;
    if !status.success() {
        anyhow::bail!("mezame exited with {status}");
    }
    Ok(())
}
