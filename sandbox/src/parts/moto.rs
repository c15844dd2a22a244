//! moto server, pinned, in its own Python venv (with cbor2, for the RPC v2
//! CBOR bridge in front of its CloudWatch).

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use super::go::run_logged;

/// `_part` is the part's name (`<moto>-cbor2-<cbor2>`); the versions are the constants.
pub fn install(dir: &Path, _part: &str) -> Result<()> {
    let venv = dir.join("venv");
    let log = dir.join("build.log");
    run_logged(Command::new("python3").arg("-m").arg("venv").arg(&venv), &log, "python3 -m venv")?;
    run_logged(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("moto[server]=={}", super::MOTO))
            .arg(format!("cbor2=={}", super::CBOR2)),
        &log,
        "pip install moto[server] cbor2",
    )?;
    Ok(())
}
