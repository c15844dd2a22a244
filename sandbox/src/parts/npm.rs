//! The OpenID provider of the sandbox: npm `oidc-provider` (OpenID Certified),
//! pinned, in a directory of its own; `provider.mjs` is written next to it by
//! `up` (see `crate::oidc`).

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use super::go::run_logged;

pub fn install(dir: &Path, version: &str) -> Result<()> {
    std::fs::write(dir.join("package.json"), "{\"name\": \"mezame-sandbox-oidc\", \"private\": true, \"type\": \"module\"}\n")?;
    run_logged(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--no-package-lock", "--omit=dev"])
            .arg(format!("oidc-provider@{version}"))
            .current_dir(dir),
        &dir.join("build.log"),
        "npm install oidc-provider",
    )
}
