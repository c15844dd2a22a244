//! `cargo xtask bench <name>`: benchmarks with printed figures, each ending
//! with one JSON line. They run on their own sandbox (`target/bench-sandbox`),
//! never on the one `cargo xtask run` uses.

use std::process::Command;

use anyhow::Result;

use crate::run::{build_release, sandbox_packages};
use crate::tools;
use crate::util::{run, step, target_dir};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    which: Which,
    /// Leave the bench sandbox running afterwards.
    #[arg(long, global = true)]
    keep_sandbox: bool,
}

#[derive(clap::Subcommand)]
enum Which {
    /// The topology at scale: GET latency under concurrent clients vs the raw
    /// API server list, RSS, pod change → SSE delta.
    /// Arguments after `--`: --services N (500) --pods M (10000) --clients C (20) --requests R (2000).
    Topology {
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// The Node groups view at scale: GET …/capacity p50/p99 (worst of 3
    /// rounds) under concurrent clients, RSS; scale action → node on the page;
    /// drain overhead per evicted pod; the page's long tasks in Chromium.
    /// Arguments after `--`: --nodes N (1000) --pods M (30000) --services S (500) --clients C (10) --requests R (1000).
    Capacity {
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// A sleep and a wake of dev: each run's total time, time waiting on AWS
    /// and the cluster, and the orchestration overhead (target ≤ 2 s per run).
    Power,
    /// The deploy index: 17 app repositories and a manifest repository written
    /// by `git fast-import`, the first index in one pass, a restart, GET p99.
    /// Arguments after `--`: --app-commits N (10000) --deploys M (10000) --clients C (10) --requests R (1000).
    Deploys {
        #[arg(last = true)]
        args: Vec<String>,
    },
}

pub fn run_bench(args: Args) -> Result<()> {
    let mut packages = sandbox_packages();
    // The topology bench's browser figures (without it they are `null`).
    packages.push(tools::CHROMIUM);
    tools::ensure_apt(&packages)?;
    tools::ensure_node_modules()?;
    let bin = build_release()?;
    let dir = target_dir().join("bench-sandbox");
    let sandbox = |a: &[&str]| {
        let mut c = Command::new(bin.join("mezame-sandbox"));
        c.arg("--dir").arg(&dir).args(a);
        c
    };
    step("bringing up the bench sandbox (dev)");
    run(&mut sandbox(&["up", "--envs", "dev", "--boot-delay", "2"]))?;
    let result = match &args.which {
        Which::Topology { args } => {
            step("bench topology");
            run(Command::new(bin.join("bench-topology")).args(args).env("MEZAME_BIN", bin.join("mezame")).env("MEZAME_SANDBOX_DIR", &dir))
        }
        Which::Capacity { args } => {
            step("bench capacity");
            run(Command::new(bin.join("bench-capacity")).args(args).env("MEZAME_BIN", bin.join("mezame")).env("MEZAME_SANDBOX_DIR", &dir))
        }
        Which::Deploys { args } => {
            step("bench deploys");
            run(Command::new(bin.join("bench-deploys")).args(args).env("MEZAME_BIN", bin.join("mezame")).env("MEZAME_SANDBOX_DIR", &dir))
        }
        Which::Power => {
            step("bench power");
            run(Command::new(bin.join("bench-power")).arg("dev").env("MEZAME_BIN", bin.join("mezame")).env("MEZAME_SANDBOX_DIR", &dir))
        }
    };
    if !args.keep_sandbox {
        step("stopping the bench sandbox");
        run(&mut sandbox(&["down"]))?;
    }
    result
}
