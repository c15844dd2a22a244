//! Entry point of the WASM app: mounts [`mezame_frontend::App`] on `<body>`.

fn main() {
    console_error_panic_hook::set_once();
    mezame_frontend::components::perf::mark("wasm_started_ms");
    leptos::mount::mount_to_body(mezame_frontend::App);
    mezame_frontend::components::perf::mark("app_mounted_ms");
}
