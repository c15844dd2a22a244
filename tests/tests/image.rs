//! The OCI image built by `cargo xtask image` (`MEZAME_IMAGE`, set by `cargo
//! xtask test`): inspected with skopeo (non-root user, entrypoint, port,
//! size), then run with buildah (chroot isolation: podman's runtime cannot set
//! its rlimits in this VM) — it serves the panel and its health as user 65532.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mezame_e2e::{eventually, required_env, run_ok};
use serde_json::Value;

/// A working container of the image; removed when dropped.
struct Container(String);

impl Container {
    fn of(archive: &str) -> Container {
        Container(run_ok(Command::new("buildah").args(["from", "--quiet"]).arg(format!("oci-archive:{archive}"))).trim().to_string())
    }

    fn run(&self, args: &[&str]) -> Command {
        let mut c = Command::new("buildah");
        c.args(["run", "--isolation", "chroot", "--env", "MEZAME_AUTH=none", &self.0, "--"]).args(args);
        c
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("buildah").args(["rm", &self.0]).output();
    }
}

/// The server in the container: `buildah run` does not pass a kill on to it,
/// so it is stopped by its listen address (and runs under `timeout` anyway).
struct Killed(Child, String);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = Command::new("pkill").args(["-f", &format!("mezame serve --listen {}", self.1)]).output();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_image_runs_mezame_as_a_non_root_user_and_serves_the_panel() {
    let archive = required_env("MEZAME_IMAGE");
    let config: Value =
        serde_json::from_str(&run_ok(Command::new("skopeo").args(["inspect", "--config"]).arg(format!("oci-archive:{archive}"))))
            .expect("the image's config");
    let c = &config["config"];
    assert_eq!(c["User"], "65532:65532", "non-root: {c}");
    assert_eq!(c["Entrypoint"][0], "/usr/local/bin/mezame", "{c}");
    assert!(c["ExposedPorts"].get("8080/tcp").is_some(), "{c}");
    assert!(c["Env"].as_array().unwrap().iter().any(|e| e == "HOME=/var/lib/mezame"), "{c}");
    let mb = std::fs::metadata(&archive).unwrap().len() as f64 / 1e6;
    println!("image {archive}: {mb:.0} MB compressed, user {}, entrypoint {}", c["User"], c["Entrypoint"]);

    let container = tokio::task::spawn_blocking(move || Container::of(&archive)).await.unwrap();
    let uid = run_ok(&mut container.run(&["id", "-u"]));
    assert_eq!(uid.trim(), "65532");
    let git = run_ok(&mut container.run(&["git", "--version"]));
    assert!(git.starts_with("git version"), "git in the image (the Deploys page's mirrors): {git}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let _server = Killed(
        container
            .run(&["timeout", "120", "/usr/local/bin/mezame", "serve", "--listen", &listen])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        listen.clone(),
    );
    let base = format!("http://{listen}");
    let http = mezame_e2e::anonymous();
    eventually("the image's mezame answers /api/live", Duration::from_secs(60), || async {
        let r = http.get(format!("{base}/api/live")).send().await.ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
    let health: Value = http.get(format!("{base}/api/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["database"], "ok", "its SQLite database in HOME: {health}");
    let page = http.get(&base).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<script"), "the embedded UI");
}
