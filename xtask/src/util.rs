//! Small helpers to run commands and find paths.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// The workspace root (parent of `xtask/`).
pub fn root() -> PathBuf {
    // `cargo run` (the `cargo xtask` alias) sets CARGO_MANIFEST_DIR for the
    // process too: prefer it, since one target directory may serve several
    // checkouts and a binary built in one must not act on another.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    manifest_dir.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR"))).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

/// A cargo command with the environment the user's shell would give it.
///
/// `cargo run` (and so `cargo xtask`) sets variables describing the xtask
/// package and prepends its target directories to `LD_LIBRARY_PATH`. Build
/// scripts that watch such variables (ring's does) would then rebuild, and
/// everything above them, on every switch between `cargo xtask …` and plain
/// `cargo …`: remove them.
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || matches!(
                &*key,
                "CARGO_MANIFEST_DIR" | "CARGO_MANIFEST_PATH" | "CARGO_PRIMARY_PACKAGE" | "CARGO_CRATE_NAME" | "CARGO_BIN_NAME"
            )
        {
            c.env_remove(&*key);
        }
    }
    if let Some(paths) = std::env::var_os("LD_LIBRARY_PATH") {
        let target = target_dir();
        let kept: Vec<PathBuf> =
            std::env::split_paths(&paths).filter(|p| !p.starts_with(&target) && !p.to_string_lossy().contains("/lib/rustlib/")).collect();
        if kept.is_empty() {
            c.env_remove("LD_LIBRARY_PATH");
        } else {
            c.env("LD_LIBRARY_PATH", std::env::join_paths(kept).expect("paths that were joined before"));
        }
    }
    c
}

/// Prints a step header.
pub fn step(what: &str) {
    eprintln!("\n==> {what}");
}

/// Runs a command to completion, failing with its description if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let started = Instant::now();
    let desc = describe(cmd);
    let status = cmd.status().with_context(|| format!("cannot start `{desc}`"))?;
    finished(&desc, started, status)
}

/// [`run`], echoing the command's stdout line by line as it comes and
/// appending it to `out` (kept even when the command fails).
pub fn run_keeping_stdout(cmd: &mut Command, out: &mut String) -> Result<()> {
    let started = Instant::now();
    let desc = describe(cmd);
    let mut child = cmd.stdout(Stdio::piped()).spawn().with_context(|| format!("cannot start `{desc}`"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut echo = std::io::stdout();
    for line in BufReader::new(stdout).split(b'\n') {
        let line = String::from_utf8_lossy(&line.with_context(|| format!("reading the output of `{desc}`"))?).into_owned();
        // Flushed per line: the command's stderr (cargo's progress) goes out unbuffered beside it.
        let _ = writeln!(echo, "{line}").and_then(|()| echo.flush());
        out.push_str(&line);
        out.push('\n');
    }
    let status = child.wait().with_context(|| format!("waiting for `{desc}`"))?;
    finished(&desc, started, status)
}

fn finished(desc: &str, started: Instant, status: ExitStatus) -> Result<()> {
    if !status.success() {
        bail!("`{desc}` failed ({status})");
    }
    eprintln!("    ({desc}: {:.1}s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs a command and returns its stdout.
pub fn output(cmd: &mut Command) -> Result<String> {
    let desc = describe(cmd);
    let out = cmd.output().with_context(|| format!("cannot start `{desc}`"))?;
    if !out.status.success() {
        bail!("`{desc}` failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether a program is on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// FNV-1a, 64 bits: a content fingerprint for cache-busting names and stamps.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3))
}
