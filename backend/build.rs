//! Rebuild the binary when the frontend bundle in `dist/` changes: release
//! builds embed it (see `src/http/assets.rs`).
fn main() {
    // rust-embed compares canonical paths in debug builds: give it one without `..`.
    let manifest = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = manifest.parent().expect("backend/ is in the workspace").join("dist");
    println!("cargo:rustc-env=MEZAME_DIST_DIR={}", dist.display());
    // Watched by its absolute path (cargo scans a directory's whole tree):
    // the build script's output (the path above) is cached by the target
    // directory, which clones elsewhere share (CI's); another clone's dist/
    // is "missing" here, so the script runs again instead of embedding a
    // deleted directory (an empty UI).
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-env-changed=MEZAME_GIT_COMMIT");
    let commit = std::env::var("MEZAME_GIT_COMMIT").ok().or_else(|| {
        std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    });
    if let Some(c) = commit {
        println!("cargo:rustc-env=MEZAME_GIT_COMMIT={c}");
    }
}
