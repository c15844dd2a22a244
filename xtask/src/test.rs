//! `cargo xtask test`: every test, on a fresh machine.
//!
//! 1. installs what is missing (Chromium, PostgreSQL, Redis, npm packages, the WASM target);
//!    then `cargo fmt --check` and `cargo clippy -D warnings` (host crates
//!    with all targets, the UI for WASM): a warning fails the run;
//! 2. builds the release UI and binaries (the browser test uses the release `mezame`);
//! 3. brings up a sandbox of its own (dev, prod, qa) in `target/test-sandbox`;
//! 4. starts a private PostgreSQL on a free loopback port;
//! 5. `cargo test --release` of the workspace (unit, API, storage, envs, sandbox tests);
//! 6. the Playwright browser tests in headless Chromium;
//! 7. the API fuzzed by schemathesis (no 5xx, no change from a refused request);
//! 8. the `down` test, which stops the sandbox and checks nothing is left.

use std::process::Command;
use std::time::Instant;

use anyhow::Result;

use crate::postgres::Postgres;
use crate::run::{HOST_PACKAGES, build_release, sandbox_packages};
use crate::tools;
use crate::util::{cargo, root, run, step, target_dir};

#[derive(clap::Args)]
pub struct Args {
    /// Leave the test sandbox running afterwards (for debugging).
    #[arg(long)]
    keep_sandbox: bool,
    /// Extra arguments for `cargo test` (e.g. a test name filter).
    #[arg(last = true)]
    cargo_args: Vec<String>,
}

/// Formatting and clippy, before anything is built for the tests.
fn lint() -> Result<()> {
    tools::ensure_rustup_components(&["rustfmt", "clippy"])?;
    step("cargo fmt --check");
    run(cargo().args(["fmt", "--all", "--check"]))?;
    step("cargo clippy -D warnings (host crates, all targets; the UI for WASM)");
    run(cargo().args(["clippy", "--workspace", "--exclude", "mezame-frontend", "--all-targets", "--", "-D", "warnings"]))?;
    tools::ensure_wasm_target()?;
    run(cargo().args(["clippy", "--package", "mezame-frontend", "--target", "wasm32-unknown-unknown", "--", "-D", "warnings"]))?;
    Ok(())
}

pub fn run_tests(args: Args) -> Result<()> {
    let started = Instant::now();
    let mut packages = sandbox_packages();
    packages.push(tools::CHROMIUM);
    packages.push(("postgresql", "/usr/lib/postgresql", "the storage tests"));
    packages.extend(crate::image::packages());
    tools::ensure_apt(&packages)?;
    tools::ensure_node_modules()?;
    let schemathesis = tools::ensure_schemathesis()?;
    lint()?;
    let bin = build_release()?;
    let image = crate::image::build(&bin)?;
    let sandbox_dir = target_dir().join("test-sandbox");
    let sandbox = |args: &[&str]| {
        let mut c = Command::new(bin.join("mezame-sandbox"));
        c.arg("--dir").arg(&sandbox_dir).args(args);
        c
    };
    step("bringing up the test sandbox (dev, prod, qa)");
    run(&mut sandbox(&["up", "--envs", "dev,prod,qa", "--boot-delay", "2"]))?;
    // The browser tests' failures and the sandbox as they ended, printed last
    // (CI shows the end of the output; Playwright's own account comes before).
    let failures = target_dir().join("playwright-failures.txt");
    let _ = std::fs::remove_file(&failures);
    // The cargo tests' stdout, for the panics of the tests that fail (printed last).
    let mut tested = String::new();
    let result = (|| -> Result<()> {
        let pg = Postgres::start()?;
        let env = [
            ("MEZAME_BIN", bin.join("mezame").display().to_string()),
            ("MEZAME_SANDBOX_BIN", bin.join("mezame-sandbox").display().to_string()),
            ("MEZAME_SANDBOX_DIR", sandbox_dir.display().to_string()),
            ("MEZAME_TEST_POSTGRES_URL", pg.url()),
            ("MEZAME_SCHEMATHESIS", schemathesis.display().to_string()),
            ("MEZAME_IMAGE", image.display().to_string()),
        ];
        step("cargo test (unit, API, storage, environments, sandbox)");
        let mut test = cargo();
        // One test at a time: the end-to-end tests of different files share
        // one process (`tests/tests/all.rs`) and one sandbox.
        test.args(["test", "--release"])
            .args(HOST_PACKAGES)
            .args(&args.cargo_args)
            .env("RUST_TEST_THREADS", "1")
            .envs(env.iter().map(|(k, v)| (k, v)));
        crate::util::run_keeping_stdout(&mut test, &mut tested)?;
        step("browser tests (Playwright, headless Chromium)");
        run(Command::new(root().join("node_modules/.bin/playwright"))
            .args(["test", "--config", "tests/browser/playwright.config.ts"])
            .current_dir(root())
            .env("MEZAME_PLAYWRIGHT_FAILURES", &failures)
            .envs(env.iter().map(|(k, v)| (k, v))))?;
        step("the API fuzzed by schemathesis (bounded)");
        crate::util::run_keeping_stdout(
            cargo()
                .args(["test", "--release"])
                .args(HOST_PACKAGES)
                .args(["--test", "all", "--", "--ignored", "--nocapture", "fuzz::"])
                .envs(env.iter().map(|(k, v)| (k, v))),
            &mut tested,
        )?;
        drop(pg);
        if !args.keep_sandbox {
            step("the down test: stop the sandbox, check that nothing is left");
            crate::util::run_keeping_stdout(
                cargo()
                    .args(["test", "--release", "--package", "mezame-e2e", "--test", "all", "--", "--ignored", "sandbox_down::"])
                    .envs(env.iter().map(|(k, v)| (k, v))),
                &mut tested,
            )?;
        }
        Ok(())
    })();
    // Read before the sandbox is down (its logs go with it), printed last.
    let report = result.is_err().then(|| crate::report::sandbox(&sandbox_dir, sandbox(&["status"])));
    let processes = result.is_err().then(|| {
        let out = sandbox(&["status", "--json"]).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        crate::report::processes(&out.unwrap_or_else(|e| e.to_string()))
    });
    if result.is_err() && !args.keep_sandbox {
        let _ = run(&mut sandbox(&["down"]));
    }
    if result.is_err()
        && let Ok(text) = std::fs::read_to_string(&failures)
        && !text.trim().is_empty()
    {
        eprintln!("\n==> the browser tests that failed, and the sandbox when they ended\n{}", text.trim_end());
    }
    if let Some(report) = report {
        eprintln!("\n==> the test sandbox when the tests stopped\n{}", report.trim_end());
    }
    let panics = crate::panics::of(&tested);
    if !panics.is_empty() {
        eprintln!("\n==> why cargo test failed (each failing test's last panic; its whole output is above)");
        for panic in panics {
            eprintln!("  {panic}");
        }
    }
    if let Some(processes) = processes {
        eprintln!("\n==> the test sandbox's processes when the tests stopped");
        for line in processes {
            eprintln!("  {line}");
        }
    }
    result?;
    eprintln!("\nall tests passed in {:.0}s", started.elapsed().as_secs_f64());
    Ok(())
}
