//! Installing what the build and the tests need, or saying exactly what is missing.
//!
//! - the `wasm32-unknown-unknown` Rust target (rustup);
//! - npm packages of `package.json` (wasm-opt from `binaryen`, Playwright), by `npm ci`;
//! - Debian packages (Chromium, PostgreSQL, Redis), by `apt-get`, as root or via sudo;
//! - schemathesis (PyPI), pinned, in a venv of its own under the cache directory.
//!
//! Go and Python parts of the sandbox are built by `mezame-sandbox` itself.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{fnv1a, on_path, output, root, run, step};

pub fn ensure_wasm_target() -> Result<()> {
    if !on_path("rustup") {
        bail!(
            "rustup is not installed; the WASM target needs it. Install it from https://rustup.rs \
             (or your package manager), then run this command again"
        );
    }
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        step("installing the Rust target wasm32-unknown-unknown");
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// rustup components (rustfmt, clippy) the lint step needs, added when missing.
pub fn ensure_rustup_components(components: &[&str]) -> Result<()> {
    if !on_path("rustup") {
        bail!("rustup is not installed; `cargo fmt` and `cargo clippy` need it. Install it from https://rustup.rs");
    }
    let installed = output(Command::new("rustup").args(["component", "list", "--installed"]))?;
    for c in components {
        if !installed.lines().any(|l| l.trim().starts_with(&format!("{c}-")) || l.trim() == *c) {
            step(&format!("installing the Rust component {c}"));
            run(Command::new("rustup").args(["component", "add", c]))?;
        }
    }
    Ok(())
}

/// `npm ci` when `node_modules` does not match `package-lock.json`.
pub fn ensure_node_modules() -> Result<()> {
    for tool in ["node", "npm"] {
        if !on_path(tool) {
            bail!("{tool} is not installed; install Node.js 20 or newer (e.g. `apt-get install nodejs npm`)");
        }
    }
    let lock = std::fs::read(root().join("package-lock.json")).context("reading package-lock.json")?;
    let stamp_path = root().join("node_modules/.mezame-lock");
    let wanted = format!("{:x}", fnv1a(&lock));
    if std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    step("installing npm packages (binaryen, Playwright) with npm ci");
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(root()))?;
    std::fs::write(stamp_path, wanted)?;
    Ok(())
}

/// The schemathesis version the API fuzz test runs.
const SCHEMATHESIS: &str = "4.32.5";

/// `st` of schemathesis, installed into `~/.cache/mezame/tools/schemathesis-<version>` once.
pub fn ensure_schemathesis() -> Result<PathBuf> {
    let cache = std::env::var_os("MEZAME_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mezame")))
        .context("no HOME to keep tools in")?;
    let dir = cache.join(format!("tools/schemathesis-{SCHEMATHESIS}"));
    let st = dir.join("bin/st");
    if dir.join(".complete").exists() && st.is_file() {
        return Ok(st);
    }
    if !on_path("python3") {
        bail!("python3 is not installed; the API fuzz test needs it for schemathesis (apt-get install python3 python3-venv)");
    }
    step(&format!("installing schemathesis {SCHEMATHESIS} (PyPI) into {}", dir.display()));
    let _ = std::fs::remove_dir_all(&dir);
    run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
    run(Command::new(dir.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("schemathesis=={SCHEMATHESIS}")))?;
    std::fs::write(dir.join(".complete"), SCHEMATHESIS)?;
    Ok(st)
}

/// `wasm-opt` of the npm `binaryen` package (never Debian's: it breaks the app).
pub fn wasm_opt() -> Result<PathBuf> {
    ensure_node_modules()?;
    Ok(root().join("node_modules/.bin/wasm-opt"))
}

/// Headless Chromium, for the browser tests and the benches' browser figures.
pub const CHROMIUM: (&str, &str, &str) = ("chromium", "/usr/bin/chromium", "headless Chromium for the browser tests and figures");

/// Installs missing Debian packages. Each entry: (package, program it provides, why).
pub fn ensure_apt(wanted: &[(&str, &str, &str)]) -> Result<()> {
    let missing: Vec<_> = wanted.iter().filter(|(package, program, _)| !is_installed(package, program)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|(p, _, _)| *p).collect();
    let why: Vec<String> = missing.iter().map(|(p, _, w)| format!("{p} ({w})")).collect();
    if !on_path("apt-get") {
        bail!("missing: {}. This machine has no apt-get; install them with your package manager and run again", why.join(", "));
    }
    let root_user = output(Command::new("id").arg("-u"))?.trim() == "0";
    let sudo: &[&str] = if root_user {
        &[]
    } else if on_path("sudo") {
        &["sudo", "-n"]
    } else {
        bail!("missing: {}. Install them as root: apt-get install -y {}", why.join(", "), names.join(" "));
    };
    step(&format!("installing Debian packages: {}", why.join(", ")));
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut c = Command::new(all[0]);
        c.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut apt(&["update", "-q"]))?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend(names.iter().copied());
    run(&mut apt(&install)).with_context(|| format!("installing {} failed; install them by hand and run again", names.join(" ")))?;
    Ok(())
}

fn is_installed(package: &str, program: &str) -> bool {
    if !program.is_empty() && (on_path(program) || std::path::Path::new(program).is_file()) {
        return true;
    }
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}
