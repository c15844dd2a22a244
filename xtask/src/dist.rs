//! Building the web UI into `dist/` without downloading anything:
//! cargo (wasm32, relocations kept) → the lazy routes split out into chunks
//! (`wasm_split_cli_support`, as `cargo leptos --split`: the main module, one
//! `split_*.wasm` per lazy route, shared `chunk_*.wasm`, and a JS loader) →
//! wasm-bindgen on the main module (as a library, pinned to the lock file's
//! version) → wasm-opt from the npm `binaryen` package on every module
//! (release only; Debian's `binaryen` 108 produces bundles that break in
//! Chromium) → content-hashed file names and `index.html`, each file with
//! precompressed `.br` (brotli, quality 11) and `.gz` copies that the server
//! hands out as they are.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use crate::tools;
use crate::util::{cargo, fnv1a, root, run, step, target_dir};

/// The `wasm-bindgen-cli-support` version compiled into this xtask.
const BINDGEN_VERSION: &str = "0.2.130";

/// The JS module that loads the lazy routes' chunks, as the main module
/// imports it (before its name is hashed), and the main JS, as it imports that.
const LOADER: &str = "./mezame_split.js";
const MAIN_JS: &str = "./mezame.js";

/// What was built.
pub struct Bundle {
    pub wasm_bytes: u64,
    pub wasm_gzip_bytes: u64,
    /// What a browser downloads for the first screen (index, CSS, JS, boot
    /// script, WASM): uncompressed, and as served to a browser that accepts brotli.
    pub first_screen_bytes: u64,
    pub first_screen_br_bytes: u64,
    /// The lazy routes' chunks, as served (brotli): fetched when a page needs them.
    pub chunks_br_bytes: u64,
}

pub fn build(release: bool) -> Result<Bundle> {
    step(&format!("building the web UI ({})", if release { "release" } else { "debug" }));
    tools::ensure_wasm_target()?;
    check_bindgen_version()?;
    let (profile, profile_dir) = if release { ("wasm-release", "wasm-release") } else { ("dev", "debug") };
    run(cargo().args(["build", "--package", "mezame-frontend", "--target", "wasm32-unknown-unknown", "--profile", profile]))?;
    let input = target_dir().join("wasm32-unknown-unknown").join(profile_dir).join("mezame-frontend.wasm");
    let staging = target_dir().join("dist-staging");
    let _ = std::fs::remove_dir_all(&staging);
    let chunks_dir = staging.join("chunks");
    std::fs::create_dir_all(&chunks_dir)?;
    let main = staging.join("main.wasm");
    let chunks = split(&input, &main, &chunks_dir)?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&main)
        .web(true)?
        .out_name("mezame")
        .typescript(false)
        .debug(!release)
        // The loader reaches the main module's function table through these exports.
        .keep_lld_exports(true)
        .generate(&staging)
        .with_context(|| format!("wasm-bindgen on {}", main.display()))?;
    let wasm = staging.join("mezame_bg.wasm");
    if release {
        for module in std::iter::once(&wasm).chain(&chunks) {
            optimise(module)?;
        }
    }
    let bundle = assemble(&staging, &chunks_dir.join(LOADER), &chunks)?;
    eprintln!(
        "    dist/: WASM {} KiB raw, {} KiB gzip; first screen {} KiB raw, {} KiB as served (brotli); \
         {} lazy chunk(s), {} KiB as served",
        bundle.wasm_bytes / 1024,
        bundle.wasm_gzip_bytes / 1024,
        bundle.first_screen_bytes / 1024,
        bundle.first_screen_br_bytes / 1024,
        chunks.len(),
        bundle.chunks_br_bytes / 1024
    );
    Ok(bundle)
}

/// The frontend's `wasm-bindgen` (Cargo.lock) must be the version of the
/// bindgen library we link, or the generated glue does not match the module.
fn check_bindgen_version() -> Result<()> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let locked = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"wasm-bindgen\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string());
    match locked {
        Some(v) if v == BINDGEN_VERSION => Ok(()),
        Some(v) => bail!(
            "Cargo.lock has wasm-bindgen {v} but xtask links wasm-bindgen-cli-support {BINDGEN_VERSION}; \
             pin both to the same version (xtask/Cargo.toml and the workspace's wasm-bindgen)"
        ),
        None => Ok(()), // not locked yet: the cargo build above will lock the pinned version
    }
}

/// Splits the lazy routes out of the module cargo built: writes the main
/// module to `main`, and the chunks and their JS loader ([`LOADER`]) into
/// `dir`; returns the chunks' paths.
fn split(input: &Path, main: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    let raw = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let mut options = wasm_split_cli_support::Options::new(&raw);
    options.output_dir = dir;
    options.main_out_path = main;
    options.link_name = LOADER;
    options.main_module = MAIN_JS;
    let split =
        wasm_split_cli_support::transform(options).map_err(|e| anyhow!("splitting the lazy routes out of {}: {e:?}", input.display()))?;
    Ok(split.split_modules)
}

fn optimise(wasm: &Path) -> Result<()> {
    let wasm_opt = tools::wasm_opt()?;
    let optimised = wasm.with_extension("opt.wasm");
    run(std::process::Command::new(&wasm_opt)
        .args(["-Oz", "--strip-debug", "--strip-producers"])
        .args([
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(wasm)
        .arg("-o")
        .arg(&optimised))?;
    std::fs::rename(&optimised, wasm)?;
    Ok(())
}

/// Copies the bundle into `dist/` under content-hashed names and writes
/// `index.html`. Files whose content is already there are left untouched, so
/// an unchanged UI does not make cargo rebuild the binary that embeds it.
fn assemble(staging: &Path, loader: &Path, chunks: &[PathBuf]) -> Result<Bundle> {
    let dist = root().join("dist");
    std::fs::create_dir_all(&dist)?;
    let css = std::fs::read(root().join("style/mezame.css"))?;
    let js = std::fs::read_to_string(staging.join("mezame.js"))?;
    let wasm = std::fs::read(staging.join("mezame_bg.wasm"))?;
    let mut loader_js = std::fs::read_to_string(loader).with_context(|| format!("reading {}", loader.display()))?;
    let wasm_name = hashed("mezame_bg", &wasm, "wasm");
    // The chunks under hashed names, in the loader that fetches them.
    let mut lazy: Vec<(String, Vec<u8>)> = Vec::new();
    for chunk in chunks {
        let bytes = std::fs::read(chunk)?;
        let file = chunk.file_name().and_then(|n| n.to_str()).context("a chunk without a name")?;
        let stem = file.trim_end_matches(".wasm");
        let name = hashed(stem, &bytes, "wasm");
        loader_js = replace_once(&loader_js, &format!("\"./{file}\""), &format!("\"./{name}\""), "the loader")?;
        lazy.push((name, bytes));
    }
    // The main JS and the loader import each other: both are named after one
    // hash of everything they stand for.
    let set = fnv1a(&[js.as_bytes(), &wasm, loader_js.as_bytes()].concat()) ^ lazy.iter().fold(0, |h, (n, _)| h ^ fnv1a(n.as_bytes()));
    let js_name = format!("mezame-{set:016x}.js");
    let loader_name = format!("mezame_split-{set:016x}.js");
    // (One import per lazy route, all of the one loader.)
    let js = replace_all(&js, &format!("from \"{LOADER}\""), &format!("from \"./{loader_name}\""), "the main JS")?.into_bytes();
    let loader_js = replace_once(&loader_js, &format!("from \"{MAIN_JS}\""), &format!("from \"./{js_name}\""), "the loader")?;
    lazy.push((loader_name, loader_js.into_bytes()));
    let css_name = hashed("mezame", &css, "css");
    // The boot script is a file of its own: the Content-Security-Policy allows
    // no inline script.
    let boot = format!("import init from \"/{js_name}\";\ninit({{ module_or_path: \"/{wasm_name}\" }});\n").into_bytes();
    let boot_name = hashed("boot", &boot, "js");
    let index = std::fs::read_to_string(root().join("frontend/index.html"))?
        .replace("{{CSS}}", &css_name)
        .replace("{{JS}}", &js_name)
        .replace("{{WASM}}", &wasm_name)
        .replace("{{BOOT}}", &boot_name);
    let plain: [(&str, &[u8]); 5] =
        [(&css_name, &css), (&js_name, &js), (&wasm_name, &wasm), (&boot_name, &boot), ("index.html", index.as_bytes())];
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let (mut first_screen, mut first_screen_br) = (0u64, 0u64);
    for (name, bytes) in plain {
        first_screen += bytes.len() as u64;
        // index.html is small and changes per build: served plain.
        if name == "index.html" {
            first_screen_br += bytes.len() as u64;
        } else {
            let br = compressed(&dist.join(format!("{name}.br")), bytes, brotli)?;
            let gz = compressed(&dist.join(format!("{name}.gz")), bytes, gzip)?;
            first_screen_br += br.len() as u64;
            files.push((format!("{name}.br"), br));
            files.push((format!("{name}.gz"), gz));
        }
        files.push((name.to_string(), bytes.to_vec()));
    }
    // The loader is imported by the main JS (first screen); the chunks when a page needs them.
    let mut chunks_br = 0u64;
    for (name, bytes) in lazy {
        let br = compressed(&dist.join(format!("{name}.br")), &bytes, brotli)?;
        let gz = compressed(&dist.join(format!("{name}.gz")), &bytes, gzip)?;
        if name.ends_with(".js") {
            first_screen += bytes.len() as u64;
            first_screen_br += br.len() as u64;
        } else {
            chunks_br += br.len() as u64;
        }
        files.push((format!("{name}.br"), br));
        files.push((format!("{name}.gz"), gz));
        files.push((name, bytes));
    }
    for entry in std::fs::read_dir(&dist)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if !files.iter().any(|(n, _)| *n == name) {
            let _ = std::fs::remove_file(&path).or_else(|_| std::fs::remove_dir_all(&path));
        }
    }
    for (name, bytes) in &files {
        let path = dist.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(&path, bytes)?;
        }
    }
    Ok(Bundle {
        wasm_bytes: wasm.len() as u64,
        wasm_gzip_bytes: gzip(&wasm)?.len() as u64,
        first_screen_bytes: first_screen,
        first_screen_br_bytes: first_screen_br,
        chunks_br_bytes: chunks_br,
    })
}

/// `text` with its one occurrence of `from` replaced, or an error naming `what`.
fn replace_once(text: &str, from: &str, to: &str, what: &str) -> Result<String> {
    match text.matches(from).count() {
        1 => Ok(text.replacen(from, to, 1)),
        n => bail!("{what} has {n} occurrence(s) of {from}, expected 1: the output of wasm-bindgen or of the splitter changed"),
    }
}

/// `text` with every occurrence (at least one) of `from` replaced.
fn replace_all(text: &str, from: &str, to: &str, what: &str) -> Result<String> {
    if !text.contains(from) {
        bail!("{what} has no {from}: the output of wasm-bindgen or of the splitter changed");
    }
    Ok(text.replace(from, to))
}

/// The compressed copy of `bytes`: the one already at `path` when the file
/// name is content-hashed and it exists (brotli at quality 11 takes seconds).
fn compressed(path: &Path, bytes: &[u8], compress: fn(&[u8]) -> Result<Vec<u8>>) -> Result<Vec<u8>> {
    let hashed_name = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains('-'));
    match std::fs::read(path) {
        Ok(existing) if hashed_name => Ok(existing),
        _ => compress(bytes),
    }
}

fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

/// `name-<16 hex digits of FNV-1a>.ext`
fn hashed(name: &str, bytes: &[u8], ext: &str) -> String {
    format!("{name}-{:016x}.{ext}", fnv1a(bytes))
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}
