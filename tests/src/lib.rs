//! Helpers of the end-to-end tests (run by `cargo xtask test`, which builds the
//! release binaries, brings up a test sandbox and a private PostgreSQL, and
//! passes their whereabouts in environment variables).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use mezame_sandbox::state::State;

pub mod bench;
pub mod capacity;
pub mod chain_bench;
pub mod cluster;
pub mod cpu;
pub mod dns;
pub mod drain_bench;
pub mod manifests;
pub mod page_bench;
pub mod proxy;
pub mod receiver;
pub mod rounds;
pub mod runs;
pub mod served;
pub mod signin;
pub mod sse;

/// API tokens of the test configuration ([`test_auth_toml`]), one per role.
pub const ADMIN: &str = "mzm_e2e_admin_9f1c0d7e5b3a4c2e8d6f0a1b";
pub const OPERATOR: &str = "mzm_e2e_operator_4b2d8e6f0a1c3e5d7f9b0c2a";
pub const VIEWER: &str = "mzm_e2e_viewer_7e5c3a1f9d0b2e4c6a8f0d1b";

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// An `[auth]` table for test servers: no sign-in, no default role, and one
/// API token per role (admin everywhere, operator everywhere, viewer everywhere).
pub fn test_auth_toml() -> String {
    let mut out = String::from("\n[auth]\ndefault_role = \"none\"\n");
    for (name, role, token) in [("admin", "admin", ADMIN), ("operator", "operator", OPERATOR), ("viewer", "viewer", VIEWER)] {
        out.push_str(&format!(
            "[[auth.token]]\nname = \"e2e-{name}\"\nowner = \"e2e-{name}\"\nrole = \"{role}\"\nsha256 = \"{}\"\n",
            sha256_hex(token)
        ));
    }
    out
}

/// An HTTP client with no credentials. (reqwest's TLS uses the process's
/// rustls provider: installed first.)
pub fn anonymous() -> reqwest::Client {
    init_crypto();
    reqwest::Client::new()
}

/// A client builder, the process's rustls provider installed.
pub fn http_builder() -> reqwest::ClientBuilder {
    init_crypto();
    reqwest::Client::builder()
}

/// An HTTP client that acts with `token` (`Authorization: Bearer`).
pub fn client_as(token: &str) -> reqwest::Client {
    init_crypto();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    crate::http_builder().default_headers(headers).build().unwrap()
}

/// An HTTP client acting as the test configuration's admin.
pub fn client() -> reqwest::Client {
    client_as(ADMIN)
}

static DATABASES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A fresh, empty PostgreSQL database on the test server; returns its URL.
pub async fn fresh_postgres() -> String {
    let admin = required_env("MEZAME_TEST_POSTGRES_URL");
    let name = format!("mezame_test_{}_{}", std::process::id(), DATABASES.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    mezame::adapters::db::admin_execute(&admin, &format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("creating database {name} on {admin}: {e}"));
    let (server, _) = admin.rsplit_once('/').unwrap();
    format!("{server}/{name}")
}

/// Runs a command to its end; its stdout, or a failure with its stdout and stderr.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{cmd:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// A variable set by `cargo xtask test`; a clear failure when it is missing.
pub fn required_env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the end-to-end tests with `cargo xtask test`, which prepares them"))
}

/// rustls needs one crypto provider per process (kube and the AWS SDK share it).
pub fn init_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

/// The release `mezame` binary.
pub fn mezame_bin() -> PathBuf {
    PathBuf::from(required_env("MEZAME_BIN"))
}

/// The test sandbox brought up by `cargo xtask test`.
pub fn sandbox() -> State {
    init_crypto();
    let dir = PathBuf::from(required_env("MEZAME_SANDBOX_DIR"));
    State::load(&dir).expect("readable sandbox state").unwrap_or_else(|| panic!("no sandbox in {}", dir.display()))
}

/// A kube client for one of the sandbox's clusters.
pub async fn kube(env: &str) -> kube::Client {
    let state = sandbox();
    mezame_sandbox::kube::client(&state.cluster_kubeconfig(env)).await.expect("a kube client")
}

/// A running `mezame serve`, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the release binary with `config` (TOML; a `database` key is added
    /// if absent, and [`test_auth_toml`] if it has no `auth`), on a port the OS picks.
    pub fn start(config: &str) -> Server {
        Self::start_with_env(config, &[])
    }

    /// [`Server::start`] with more environment variables (a secret named by reference in `config`).
    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Server {
        let (cmd, dir) = Self::configured(config, env);
        Self::spawn(cmd, dir)
    }

    /// [`Server::start`] in a session of its own (`setsid`). With autogroups
    /// on (`/proc/sys/kernel/sched_autogroup_enabled`) the kernel shares the
    /// cores between sessions first: the server is then scheduled apart from
    /// the process that started it — a bench's load generator — as in a pod
    /// of its own, instead of sharing one group's share with it.
    pub fn start_apart(config: &str) -> Server {
        let (mut cmd, dir) = Self::configured(config, &[]);
        mezame_sandbox::process::in_own_session(&mut cmd);
        Self::spawn(cmd, dir)
    }

    /// `mezame serve` with `config` written to a file of a new directory (see [`Server::start`]).
    fn configured(config: &str, env: &[(&str, &str)]) -> (Command, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut text = config.to_string();
        if !text.contains("database") {
            text = format!("database = \"{}\"\n{text}", dir.path().join("mezame.db").display());
        }
        if !text.contains("[auth]") && !text.contains("\nauth = ") && !text.starts_with("auth = ") {
            text.push_str(&test_auth_toml());
        }
        let file = dir.path().join("mezame.toml");
        std::fs::write(&file, text).unwrap();
        let mut cmd = Command::new(mezame_bin());
        cmd.arg("serve").arg("--config").arg(&file).envs(env.iter().copied());
        (cmd, dir)
    }

    /// Starts the binary without any configuration file, sign-in off (`MEZAME_AUTH=none`).
    pub fn start_without_config() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(mezame_bin());
        cmd.arg("serve").env("MEZAME_DATABASE", dir.path().join("mezame.db")).env("MEZAME_AUTH", "none");
        Self::spawn(cmd, dir)
    }

    fn spawn(mut cmd: Command, dir: tempfile::TempDir) -> Server {
        cmd.args(["--listen", "127.0.0.1:0"]).env("RUST_LOG", "warn,kube_client=off").stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("mezame starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("mezame listening on ") {
                    let _ = tx.send(url.trim_end_matches('/').to_string());
                }
            }
        });
        let base = rx.recv_timeout(Duration::from_secs(60)).expect("mezame prints the URL it listens on");
        Server { child, base, _dir: dir }
    }

    /// `kill -9` the server and start it again with the same configuration
    /// and database (on a new port: `base` changes).
    pub fn kill_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap());
        let file = dir.path().join("mezame.toml");
        assert!(file.exists(), "only a server started with a configuration file can be restarted");
        let mut cmd = Command::new(mezame_bin());
        cmd.arg("serve").arg("--config").arg(&file);
        let fresh = Self::spawn(cmd, dir);
        // The old handle (a dead process, an empty directory) is dropped.
        drop(std::mem::replace(self, fresh));
    }

    /// Stops the server as a deploy does (SIGTERM) and waits for it to exit;
    /// returns how long that took.
    pub fn terminate(&mut self) -> Duration {
        let t = Instant::now();
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        loop {
            if self.child.try_wait().ok().flatten().is_some() {
                return t.elapsed();
            }
            assert!(t.elapsed() < Duration::from_secs(30), "mezame did not exit within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A second server process with the same configuration and database (a
    /// replica), on its own port. `self` must outlive it: the database is in
    /// `self`'s directory.
    pub fn replica(&self) -> Server {
        let source = self._dir.path().join("mezame.toml");
        assert!(source.exists(), "only a server started with a configuration file has replicas");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mezame.toml");
        std::fs::copy(&source, &file).unwrap();
        let mut cmd = Command::new(mezame_bin());
        cmd.arg("serve").arg("--config").arg(&file);
        Self::spawn(cmd, dir)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's process id (for its RSS, in the benchmark).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET as the admin, returning (status, JSON body).
pub async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let r = client().get(url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"));
    (status, body)
}

/// Polls `check` until it returns `Some`, panicking with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_ok(what, timeout, || {
        let checked = check();
        async move { checked.await.ok_or_else(String::new) }
    })
    .await
}

/// Polls `check` until it returns `Ok`, panicking after `timeout` with `what`
/// and the reason `check` gave last.
pub async fn eventually_ok<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let why = match check().await {
            Ok(v) => return v,
            Err(why) => why,
        };
        if Instant::now() > deadline {
            let why = if why.is_empty() { why } else { format!(". Last: {why}") };
            panic!("timed out after {}s waiting for: {what}{why}", timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The `[git]` table of mezame's configuration: the sandbox's repositories
/// (`envs`: the environments the server is given).
pub fn sandbox_git_toml(envs: &[&str]) -> String {
    mezame_sandbox::config::git_toml(&sandbox(), envs)
}

/// The `[[env]]` block of mezame's configuration for one sandbox environment.
pub fn sandbox_env_toml(env: &str) -> String {
    let state = sandbox();
    let spec = mezame_sandbox::platform::env_spec(env).expect("an environment of the sandbox");
    assert!(state.env(env).is_ok(), "{env} is in the test sandbox");
    mezame_sandbox::config::env_toml(&state, spec)
}
