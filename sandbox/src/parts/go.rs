//! Go parts: each is built in a throwaway module under the part's directory
//! (a `tools.go` importing the commands, `go get` + `go mod tidy`), with
//! `CGO_ENABLED=0 -trimpath`. Go's own caches make rebuilds fast.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Runs `cmd` with its output appended to `log`, printing a heartbeat every
/// 30 s; on failure, shows the end of the log.
pub fn run_logged(cmd: &mut Command, log: &Path, what: &str) -> Result<()> {
    let out = std::fs::File::options().create(true).append(true).open(log)?;
    let mut child =
        cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out).spawn().with_context(|| format!("cannot start {what}"))?;
    let started = Instant::now();
    let mut next_beat = Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() >= next_beat {
            eprintln!("sandbox:   … {what}: {}s", started.elapsed().as_secs());
            next_beat += Duration::from_secs(30);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if !status.success() {
        let tail: Vec<String> = BufReader::new(std::fs::File::open(log)?).lines().map_while(Result::ok).collect();
        let start = tail.len().saturating_sub(30);
        bail!("{what} failed ({status}); last lines of {}:\n{}", log.display(), tail[start..].join("\n"));
    }
    Ok(())
}

/// `go`, with the local toolchain.
fn go() -> Result<Command> {
    go_with(LOCAL)
}

/// The installed toolchain ([`GOTOOLCHAIN`](https://go.dev/doc/toolchain)).
const LOCAL: &str = "local";

/// `go` with `toolchain`: `local`, or a release such as `go1.27.3`, which the
/// `go` command fetches from the module proxy (module `golang.org/toolchain`).
fn go_with(toolchain: &str) -> Result<Command> {
    let version = Command::new("go").arg("version").output().context(
        "Go is not installed; the sandbox builds Kubernetes, etcd, kwok and Argo CD with Go >= 1.25 (https://go.dev/doc/install)",
    )?;
    let text = String::from_utf8_lossy(&version.stdout);
    let minor = text
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.strip_prefix("go1."))
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    if minor.is_some_and(|m| m < 25) {
        bail!("{} is too old; the sandbox needs Go >= 1.25", text.trim());
    }
    let mut cmd = Command::new("go");
    cmd.env("CGO_ENABLED", "0").env("GOFLAGS", "-mod=mod").env("GOTOOLCHAIN", toolchain);
    Ok(cmd)
}

/// `go mod download -json <module>@<version>`: (directory, go.mod path).
fn download(work: &Path, module: &str, version: &str) -> Result<(PathBuf, PathBuf)> {
    let out = go()?.args(["mod", "download", "-json"]).arg(format!("{module}@{version}")).current_dir(work).output()?;
    if !out.status.success() {
        bail!("go mod download {module}@{version}: {}", String::from_utf8_lossy(&out.stdout).trim());
    }
    let info: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let dir = info["Dir"].as_str().context("no Dir in go mod download output")?;
    let gomod = info["GoMod"].as_str().context("no GoMod in go mod download output")?;
    Ok((PathBuf::from(dir), PathBuf::from(gomod)))
}

/// Writes a throwaway module requiring `requires`, with `replaces`, whose
/// `tools.go` imports `imports`; then resolves it.
fn module(work: &Path, toolchain: &str, requires: &[(&str, &str)], replaces: &[String], imports: &[&str], log: &Path) -> Result<()> {
    let mut gomod = format!("{MODULE_HEADER}\n");
    for r in replaces {
        gomod.push_str(&format!("replace {r}\n"));
    }
    std::fs::write(work.join("go.mod"), gomod)?;
    let mut tools = String::from("//go:build tools\n\npackage tools\n\nimport (\n");
    for i in imports {
        tools.push_str(&format!("\t_ \"{i}\"\n"));
    }
    tools.push_str(")\n");
    std::fs::write(work.join("tools.go"), tools)?;
    let mut get = go_with(toolchain)?;
    get.arg("get").current_dir(work);
    for (m, v) in requires {
        get.arg(format!("{m}@{v}"));
    }
    run_logged(&mut get, log, "go get")?;
    run_logged(go_with(toolchain)?.args(["mod", "tidy", "-e"]).current_dir(work), log, "go mod tidy")?;
    Ok(())
}

/// How to `go build`: toolchain, tags, ldflags.
#[derive(Clone, Copy)]
struct Build<'a> {
    /// `GOTOOLCHAIN`.
    toolchain: &'a str,
    tags: &'a str,
    ldflags: &'a str,
}

const PLAIN: Build<'static> = Build { toolchain: LOCAL, tags: "", ldflags: "-s -w" };

/// `go build -o <out>/ <packages>` as `how` says.
fn build(work: &Path, out: &Path, packages: &[&str], how: &Build, log: &Path, what: &str) -> Result<()> {
    let Build { toolchain, tags, ldflags } = *how;
    let mut cmd = go_with(toolchain)?;
    cmd.args(["build", "-trimpath"]);
    if !tags.is_empty() {
        cmd.args(["-tags", tags]);
    }
    cmd.args(["-ldflags", ldflags]).arg("-o");
    if packages.len() == 1 {
        cmd.arg(out);
    } else {
        cmd.arg(format!("{}/", out.display()));
    }
    cmd.args(packages).current_dir(work);
    run_logged(&mut cmd, log, what)
}

/// The `replace` directives of a go.mod, without comments or local paths.
fn replaces_of(gomod: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(gomod)?;
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        if line == "replace (" {
            in_block = true;
            continue;
        }
        if in_block && line == ")" {
            in_block = false;
            continue;
        }
        let directive = if in_block {
            line
        } else if let Some(rest) = line.strip_prefix("replace ") {
            rest.trim()
        } else {
            continue;
        };
        if let Some((_, target)) = directive.split_once("=>") {
            let target = target.trim();
            if !target.starts_with('.') && !target.starts_with('/') {
                out.push(directive.to_string());
            }
        }
    }
    Ok(out)
}

/// The throwaway module's go.mod header.
const MODULE_HEADER: &str = "module mezame.local/sandbox-part\n\ngo 1.26.0\n";

/// `<dir>/src` with an empty module (for `go mod download`), and the build log path.
fn workspace(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let work = dir.join("src");
    std::fs::create_dir_all(&work)?;
    std::fs::write(work.join("go.mod"), MODULE_HEADER)?;
    Ok((work, dir.join("build.log")))
}

/// kube-apiserver, kube-controller-manager, kube-scheduler and kubectl.
pub fn kubernetes(dir: &Path, version: &str) -> Result<()> {
    let (work, log) = workspace(dir)?;
    let (_, gomod) = download(&work, "k8s.io/kubernetes", version)?;
    // k8s.io/kubernetes replaces its staging modules with ./staging/...:
    // use the published staging versions (v0.X.Y for v1.X.Y) instead.
    let staging = format!("v0{}", version.trim_start_matches("v1"));
    let text = std::fs::read_to_string(&gomod)?;
    let replaces: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let (name, target) = l.split_once("=>")?;
            target.trim().starts_with("./staging").then(|| {
                let name = name.trim().trim_start_matches("replace").trim();
                format!("{name} => {name} {staging}")
            })
        })
        .collect();
    if replaces.is_empty() {
        bail!("no staging replaces found in {}", gomod.display());
    }
    let commands = [
        "k8s.io/kubernetes/cmd/kube-apiserver",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "k8s.io/kubernetes/cmd/kube-scheduler",
        "k8s.io/kubernetes/cmd/kubectl",
    ];
    module(&work, LOCAL, &[("k8s.io/kubernetes", version)], &replaces, &commands, &log)?;
    let minor = version.split('.').nth(1).unwrap_or("0");
    let mut ldflags = String::from("-s -w");
    for pkg in ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"] {
        ldflags
            .push_str(&format!(" -X {pkg}.gitVersion={version} -X {pkg}.gitMajor=1 -X {pkg}.gitMinor={minor} -X {pkg}.gitTreeState=clean"));
    }
    let how = Build { tags: "selinux,notest,grpcnotrace", ldflags: &ldflags, ..PLAIN };
    build(&work, dir, &commands, &how, &log, "go build kubernetes")
}

/// etcd, built from the server module with its sibling modules at the same version.
pub fn etcd(dir: &Path, version: &str) -> Result<()> {
    let (work, log) = workspace(dir)?;
    let requires: Vec<(&str, &str)> = [
        "go.etcd.io/etcd/server/v3",
        "go.etcd.io/etcd/api/v3",
        "go.etcd.io/etcd/client/pkg/v3",
        "go.etcd.io/etcd/client/v3",
        "go.etcd.io/etcd/pkg/v3",
    ]
    .into_iter()
    .map(|m| (m, version))
    .collect();
    module(&work, LOCAL, &requires, &[], &["go.etcd.io/etcd/server/v3"], &log)?;
    build(&work, &dir.join("etcd"), &["go.etcd.io/etcd/server/v3"], &PLAIN, &log, "go build etcd")
}

/// kwok and kwokctl, plus kwok's default Stage files (`stages/`).
pub fn kwok(dir: &Path, version: &str) -> Result<()> {
    let (work, log) = workspace(dir)?;
    let commands = ["sigs.k8s.io/kwok/cmd/kwok", "sigs.k8s.io/kwok/cmd/kwokctl"];
    module(&work, LOCAL, &[("sigs.k8s.io/kwok", version)], &[], &commands, &log)?;
    build(&work, dir, &commands, &PLAIN, &log, "go build kwok")?;
    let (src, _) = download(&work, "sigs.k8s.io/kwok", version)?;
    let stages = dir.join("stages");
    std::fs::create_dir_all(&stages)?;
    for file in [
        "node/fast/node-initialize.yaml",
        "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
        "pod/fast/pod-ready.yaml",
        "pod/fast/pod-complete.yaml",
        "pod/fast/pod-delete.yaml",
    ] {
        let from = src.join("kustomize/stage").join(file);
        let name = Path::new(file).file_name().expect("a file name");
        std::fs::copy(&from, stages.join(name)).with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

/// `helm`, for the chart's tests (`helm lint`, `helm template`).
pub fn helm(dir: &Path, version: &str) -> Result<()> {
    let (work, log) = workspace(dir)?;
    let commands = ["helm.sh/helm/v3/cmd/helm"];
    module(&work, LOCAL, &[("helm.sh/helm/v3", version)], &[], &commands, &log)?;
    build(&work, dir, &commands, &PLAIN, &log, "go build helm")
}

/// external-dns, run for the environments whose records it owns (prod).
/// Its go.mod needs Go 1.27 ([`EXTERNAL_DNS_GO`], fetched from the module
/// proxy), and three of its requirements are refused by the proxy at their
/// versions ("not available", 403): near versions replace them. Only the
/// civo and exoscale providers and the OpenShift route source use them.
pub fn external_dns(dir: &Path, version: &str) -> Result<()> {
    let (work, log) = workspace(dir)?;
    let replaces = [
        "github.com/civo/civogo => github.com/civo/civogo v0.7.2",
        "github.com/exoscale/egoscale/v3 => github.com/exoscale/egoscale/v3 v3.1.43",
        "github.com/openshift/api => github.com/openshift/api v0.0.0-20260709102940-580f1c1ba691",
    ]
    .map(String::from);
    let command = "sigs.k8s.io/external-dns";
    module(&work, EXTERNAL_DNS_GO, &[(command, version)], &replaces, &[command], &log)?;
    let ldflags = format!("-s -w -X sigs.k8s.io/external-dns/pkg/apis/externaldns.Version={version}");
    let how = Build { toolchain: EXTERNAL_DNS_GO, ldflags: &ldflags, ..PLAIN };
    build(&work, &dir.join("external-dns"), &[command], &how, &log, "go build external-dns")
}

/// The Go release external-dns needs (its go.mod says `go 1.27.0`).
const EXTERNAL_DNS_GO: &str = "go1.27.3";

/// The multi-call `argocd` binary and the Application/AppProject CRDs.
pub fn argocd(dir: &Path, version: &str) -> Result<()> {
    let (work, log) = workspace(dir)?;
    let (src, gomod) = download(&work, "github.com/argoproj/argo-cd/v3", version)?;
    // Argo CD pins k8s.io/* and friends with replace directives: copy them.
    let replaces = replaces_of(&gomod)?;
    let cmd = "github.com/argoproj/argo-cd/v3/cmd";
    module(&work, LOCAL, &[("github.com/argoproj/argo-cd/v3", version)], &replaces, &[cmd], &log)?;
    build(&work, &dir.join("argocd"), &[cmd], &PLAIN, &log, "go build argocd")?;
    for component in ["argocd-application-controller", "argocd-repo-server"] {
        std::os::unix::fs::symlink("argocd", dir.join(component))?;
    }
    let crds = dir.join("crds");
    std::fs::create_dir_all(&crds)?;
    for file in ["application-crd.yaml", "appproject-crd.yaml"] {
        std::fs::copy(src.join("manifests/crds").join(file), crds.join(file))?;
    }
    Ok(())
}
