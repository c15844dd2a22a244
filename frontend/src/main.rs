//! Entry point of the WASM app: mounts [`mezame_frontend::App`] on `<body>`.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(mezame_frontend::App);
}
