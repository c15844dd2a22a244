//! `mezame-sandbox`: bring the sandbox up, down, report on it, run the platform's CI.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};
use mezame_sandbox::{ci, controller, paths, state::State, up};

#[derive(Parser)]
#[command(
    name = "mezame-sandbox",
    version,
    about = "The platform of PLATFORM.md on real Kubernetes control planes, the real Argo CD and moto"
)]
struct Cli {
    /// State directory of the sandbox (default: $MEZAME_SANDBOX_DIR or ~/.local/state/mezame/sandbox).
    #[arg(long, global = true)]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build what is missing and bring the environments up (idempotent: repairs what is missing).
    Up {
        /// Environments: dev, prod, qa (default: the sandbox's, else dev,prod).
        #[arg(long, value_delimiter = ',')]
        envs: Option<Vec<String>>,
        /// Seconds a new node takes to join after its instance starts.
        #[arg(long, default_value_t = 5)]
        boot_delay: u64,
        /// Seconds to wait for every Application to be Synced and Healthy.
        #[arg(long, default_value_t = 600)]
        wait: u64,
    },
    /// Stop every process of the sandbox and remove its state.
    Down,
    /// Components with pid and port, kubeconfig and context, AWS endpoint, repositories, mezame config.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// The platform's CI for one microservice: commit to `development`, rewrite the image tag in the manifests, refresh Argo CD.
    Ci {
        /// Microservice, e.g. order-service.
        ms: String,
        #[arg(long, default_value = "dev")]
        env: String,
        /// Commit message of the change.
        #[arg(long)]
        message: Option<String>,
        /// The pods never start (a scheduler nobody runs): the rollout stalls, Argo CD says Degraded.
        #[arg(long)]
        broken: bool,
    },
    /// Build the real parts (Kubernetes, etcd, kwok, Argo CD, moto) without starting anything.
    Build,
    /// Stop or start one environment's kube-apiserver: an environment that is down, on demand.
    Apiserver {
        #[arg(value_enum)]
        action: Power,
        #[arg(long)]
        env: String,
    },
    /// Change how long new nodes of one environment take to join (slow nodes on demand).
    BootDelay {
        #[arg(long)]
        env: String,
        /// Seconds; without it, back to the sandbox's `up --boot-delay`.
        secs: Option<u64>,
    },
    /// Make mezame's AWS endpoint of one environment fail a share of calls
    /// (throttling / 5xx from a proxy in front of moto), to see runs survive it.
    AwsFaults {
        #[arg(long)]
        env: String,
        /// Share of calls that fail, 0 to 1 (0: none).
        #[arg(long, default_value_t = 0.3)]
        rate: f64,
        /// Status of a failed call: 503 (ServiceUnavailable), 500 (InternalFailure) or 400 (Throttling).
        #[arg(long, default_value_t = 503)]
        status: u16,
        /// No more faults.
        #[arg(long)]
        off: bool,
    },
    /// An EC2 spot interruption of one node, as aws-node-termination-handler
    /// plays it: event, taint and cordon, evictions (budgets honoured) for the
    /// notice, then the instance terminated and replaced by its Auto Scaling group.
    Interrupt {
        #[arg(long)]
        env: String,
        #[arg(long)]
        node: String,
        /// A rebalance recommendation instead: the event and the taint, nothing else.
        #[arg(long)]
        rebalance: bool,
        /// Seconds the drain may take before the instance goes (AWS gives 120).
        #[arg(long, default_value_t = 30)]
        notice: u64,
    },
    /// Run the sandbox controller of one environment (started by `up`).
    #[command(hide = true)]
    Controller {
        #[arg(long)]
        env: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Power {
    Stop,
    Start,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let dir = cli.dir.clone().unwrap_or_else(paths::default_state_dir);
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    match run(cli.command, dir).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mezame-sandbox: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Cmd, dir: PathBuf) -> Result<()> {
    match command {
        Cmd::Up { envs, boot_delay, wait } => {
            let state = up::up(up::UpOptions { dir, envs, boot_delay_secs: boot_delay, wait: Duration::from_secs(wait) }).await?;
            print_status(&state.dir, false)?;
        }
        Cmd::Down => up::down(&dir)?,
        Cmd::Status { json } => print_status(&dir, json)?,
        Cmd::Ci { ms, env, message, broken } => {
            let state = loaded(&dir)?;
            let run = ci::run_as(&state, &ms, &env, message.as_deref(), broken).await?;
            println!("{}", serde_json::to_string_pretty(&run)?);
        }
        Cmd::Apiserver { action, env } => {
            let state = loaded(&dir)?;
            state.env(&env)?;
            match action {
                Power::Stop => mezame_sandbox::cluster::stop_apiserver(&state, &env)?,
                Power::Start => {
                    let parts = mezame_sandbox::parts::find()
                        .ok_or_else(|| anyhow::anyhow!("the sandbox's parts are not built; run `mezame-sandbox build`"))?;
                    mezame_sandbox::cluster::start(&parts, &state, &env)?;
                }
            }
        }
        Cmd::BootDelay { env, secs } => {
            let state = loaded(&dir)?;
            state.set_boot_delay(&env, secs)?;
            eprintln!("sandbox: new nodes of {env} join {} s after their instance starts", state.boot_delay(&env));
        }
        Cmd::AwsFaults { env, rate, status, off } => {
            let state = loaded(&dir)?;
            let faults = if off { controller::faults::Faults::default() } else { controller::faults::Faults::new(rate, status)? };
            faults.save(&state, &env)?;
            eprintln!("sandbox: {env}: {}", faults.describe());
        }
        Cmd::Interrupt { env, node, rebalance, notice } => {
            let state = loaded(&dir)?;
            let report = mezame_sandbox::interrupt::interrupt(&state, &env, &node, rebalance, Duration::from_secs(notice)).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Cmd::Build => {
            tokio::task::spawn_blocking(mezame_sandbox::parts::ensure).await??;
            eprintln!("sandbox: every part is built ({})", paths::cache_dir().display());
        }
        Cmd::Controller { env } => {
            tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_ansi(false).init();
            controller::run(&dir, &env).await?;
        }
    }
    Ok(())
}

/// The sandbox of `dir`, or an error saying there is none.
fn loaded(dir: &std::path::Path) -> Result<State> {
    State::load(dir)?.ok_or_else(|| anyhow::anyhow!("no sandbox in {}; run `mezame-sandbox up`", dir.display()))
}

fn print_status(dir: &std::path::Path, json: bool) -> Result<()> {
    let Some(status) = up::status(dir)? else {
        if json {
            println!("null");
        } else {
            println!("no sandbox in {}", dir.display());
        }
        return Ok(());
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    println!("sandbox        {}", status.dir.display());
    println!("mezame config  {}", status.mezame_config.display());
    println!("kubeconfig     {}", status.kubeconfig.display());
    println!("manifest repo  {}", status.manifest_repo.display());
    println!("app repos      {}/apps/<ms>", status.repos.display());
    if let Some(k) = &status.kubectl {
        println!("kubectl        {}", k.display());
    }
    if let Some(o) = &status.oidc {
        println!("sign-in        {} (oidc-provider, {})", o.issuer, if o.running { "running" } else { "stopped" });
    }
    for u in &status.users {
        println!("  user {:<6} password {:<20} role {:<9} token {}", u.name, u.password, u.role, u.token);
    }
    for (env, e) in &status.envs {
        println!("\n{env}: {} (context {})", e.apiserver, e.context);
        println!("  AWS {} (moto {}) account {} region {}", e.aws_endpoint, e.moto_endpoint, e.aws_account, e.aws_region);
        for c in &e.components {
            println!(
                "  {:<32} {:<8} {:<8} {}",
                c.name,
                c.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                c.port.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
                if c.running { "running" } else { "stopped" }
            );
        }
    }
    Ok(())
}
