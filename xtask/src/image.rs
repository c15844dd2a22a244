//! `cargo xtask image`: mezame's OCI image, built without a daemon or a
//! registry. The base is a Debian bookworm root file system (its essential
//! packages, ca-certificates, git) made by `mmdebstrap` from the apt mirror and
//! cached under `~/.cache/mezame/image/`; `deploy/image/Containerfile` adds the
//! release binary on top, built by `buildah` with chroot isolation, and the
//! result is written as an OCI archive, `target/mezame-image.oci.tar`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::tools;
use crate::util::{fnv1a, output, root, run, step, target_dir};

/// Debian release of the base, and what it adds to the essential packages.
const SUITE: &str = "bookworm";
const INCLUDE: &str = "ca-certificates,git";
/// Documentation and locales are left out of the base.
const EXCLUDE: &str = "path-exclude=/usr/share/{doc,man,locale,info}/*";

pub fn packages() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("mmdebstrap", "mmdebstrap", "the image's Debian base"),
        ("buildah", "buildah", "the image, without a daemon"),
        ("skopeo", "skopeo", "inspecting the image"),
    ]
}

/// Builds the image from the release binary in `bin_dir`; returns the OCI archive.
pub fn build(bin_dir: &Path) -> Result<PathBuf> {
    tools::ensure_apt(&packages())?;
    let rootfs = base()?;
    let context = target_dir().join("image-context");
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(&context)?;
    std::fs::copy(root().join("deploy/image/Containerfile"), context.join("Containerfile"))?;
    std::fs::hard_link(&rootfs, context.join("rootfs.tar")).or_else(|_| std::fs::copy(&rootfs, context.join("rootfs.tar")).map(|_| ()))?;
    std::fs::copy(bin_dir.join("mezame"), context.join("mezame"))?;
    let version = output(Command::new(bin_dir.join("mezame")).arg("--version"))?;
    let version = version.split_whitespace().nth(1).context("mezame --version prints a version")?.to_string();
    let tag = format!("localhost/mezame:{version}");
    step(&format!("building the image {tag} (buildah, chroot isolation)"));
    run(Command::new("buildah")
        .args(["bud", "--isolation", "chroot", "--layers=false", "--quiet", "-t", &tag, "-f", "Containerfile", "."])
        .current_dir(&context))?;
    let archive = target_dir().join("mezame-image.oci.tar");
    let _ = std::fs::remove_file(&archive);
    run(Command::new("buildah").args(["push", "--quiet", &tag]).arg(format!("oci-archive:{}:{tag}", archive.display())))?;
    let _ = std::fs::remove_dir_all(&context);
    let size = std::fs::metadata(&archive)?.len();
    eprintln!(
        "    {} ({:.0} MB, base {:.0} MB uncompressed)",
        archive.display(),
        size as f64 / 1e6,
        std::fs::metadata(&rootfs)?.len() as f64 / 1e6
    );
    Ok(archive)
}

/// The base root file system, made once per package selection.
fn base() -> Result<PathBuf> {
    let mirror = std::env::var("MEZAME_DEBIAN_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into());
    let key = fnv1a(format!("{SUITE} {INCLUDE} {EXCLUDE} {mirror}").as_bytes());
    let home = std::env::var_os("HOME").map(PathBuf::from).context("HOME is not set")?;
    let dir = home.join(".cache/mezame/image");
    std::fs::create_dir_all(&dir)?;
    let rootfs = dir.join(format!("rootfs-{SUITE}-{key:016x}.tar"));
    if rootfs.exists() {
        return Ok(rootfs);
    }
    step(&format!("making the image's base: Debian {SUITE} essential + {INCLUDE} (mmdebstrap, ~40 s, once)"));
    // mmdebstrap picks the output's format by its extension: keep `.tar`.
    let partial = dir.join(format!("rootfs-{SUITE}-{key:016x}.partial.tar"));
    run(Command::new("mmdebstrap")
        .args(["--variant=essential", "--quiet"])
        .arg(format!("--include={INCLUDE}"))
        .arg(format!("--dpkgopt={EXCLUDE}"))
        .arg(SUITE)
        .arg(&partial)
        .arg(&mirror))
    .with_context(|| format!("mmdebstrap from {mirror} failed (set MEZAME_DEBIAN_MIRROR to a reachable Debian mirror)"))?;
    std::fs::rename(&partial, &rootfs)?;
    Ok(rootfs)
}
