//! moto server, pinned, in its own Python venv.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use super::go::run_logged;

pub fn install(dir: &Path, version: &str) -> Result<()> {
    let venv = dir.join("venv");
    let log = dir.join("build.log");
    run_logged(Command::new("python3").arg("-m").arg("venv").arg(&venv), &log, "python3 -m venv")?;
    run_logged(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("moto[server]=={version}")),
        &log,
        "pip install moto[server]",
    )?;
    Ok(())
}
