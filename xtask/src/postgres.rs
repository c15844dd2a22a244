//! A private PostgreSQL server for the storage tests: a fresh cluster in a
//! temporary directory, on a free loopback port, stopped when dropped. Never
//! the system's default cluster, never assumed to be running.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{output, run, step};

pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// PostgreSQL refuses to run as root: then it runs as the `postgres` user.
    run_as: Option<&'static str>,
}

impl Postgres {
    pub fn start() -> Result<Postgres> {
        let bin = find_bin()?;
        let root_user = output(Command::new("id").arg("-u"))?.trim() == "0";
        let run_as = root_user.then_some("postgres");
        let data = std::env::temp_dir().join(format!("mezame-test-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data)?;
        if let Some(user) = run_as {
            run(Command::new("chown").arg(format!("{user}:")).arg(&data))?;
        }
        let port = free_port()?;
        step(&format!("starting a private PostgreSQL on 127.0.0.1:{port}"));
        let pg = Postgres { bin, data, port, run_as };
        run(
            &mut pg.command("initdb", &["-D", &pg.data.display().to_string(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        )?;
        let opts = format!("-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c full_page_writes=off", pg.data.display());
        run(&mut pg.command(
            "pg_ctl",
            &[
                "-D",
                &pg.data.display().to_string(),
                "-o",
                &opts,
                "-l",
                &pg.data.join("server.log").display().to_string(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        ))
        .with_context(|| format!("PostgreSQL did not start; see {}/server.log", pg.data.display()))?;
        Ok(pg)
    }

    /// URL of the server's `postgres` database, as superuser (tests create their own databases).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(program);
        match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe).args(args);
                c
            }
            None => {
                let mut c = Command::new(exe);
                c.args(args);
                c
            }
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.command("pg_ctl", &["-D", &self.data.display().to_string(), "-m", "fast", "-w", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with `initdb`.
fn find_bin() -> Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!("PostgreSQL server binaries not found under /usr/lib/postgresql (Debian package `postgresql`)"),
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
