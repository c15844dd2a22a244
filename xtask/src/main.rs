//! `cargo xtask <command>`: the project's own build, run and test automation.
//!
//! - `dist [--release]`: build the WASM UI into `dist/` (see [`dist`]).
//! - `build`: release UI + release `mezame` binary with the UI embedded.
//! - `image`: that binary in an OCI image (see [`image`]).
//! - `run`: bring the sandbox up and serve the panel on it (see [`run`]).
//! - `test`: install what is missing, then run every test (see [`test`]).
//! - `bench <name>`: a benchmark on its own sandbox (see [`bench`]).
//!
//! Missing tools are installed where the project can ([`tools`]); otherwise the
//! command stops with a message naming the tool and how to get it.

mod bench;
mod dist;
mod image;
mod panics;
mod postgres;
mod report;
mod run;
mod test;
mod tools;
mod util;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the web UI (WASM + JS glue + CSS) into dist/.
    Dist {
        /// Size-optimised build (wasm-opt -Oz), as embedded in release binaries.
        #[arg(long)]
        release: bool,
    },
    /// Build the release `mezame` binary with the UI embedded.
    Build,
    /// Build the OCI image (target/mezame-image.oci.tar) with buildah, no daemon.
    Image,
    /// Bring the sandbox up (dev and prod) and serve the panel on it.
    Run(run::Args),
    /// Run every test: unit, API, storage (SQLite + PostgreSQL), sandbox, browser.
    Test(test::Args),
    /// Run a benchmark (printed figures, one JSON line at the end).
    Bench(bench::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dist { release } => dist::build(release).map(|_| ()),
        Command::Build => run::build_release().map(|_| ()),
        Command::Image => run::build_release().and_then(|bin| image::build(&bin)).map(|_| ()),
        Command::Run(args) => run::run(args),
        Command::Test(args) => test::run_tests(args),
        Command::Bench(args) => bench::run_bench(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
