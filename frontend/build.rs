//! The WASM module keeps its relocations (`--emit-relocs`): `cargo xtask dist`
//! splits the lazy routes out of it (`wasm_split_cli_support` needs them).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-bins=--emit-relocs");
    }
}
