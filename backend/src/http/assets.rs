//! The web UI: the WASM single-page app built into `dist/` by `cargo xtask dist`.
//!
//! Release builds embed `dist/` in the binary; debug builds read it from disk,
//! so a rebuilt frontend shows up without rebuilding the server. Any path that
//! is not a file of the bundle gets `index.html` (the app's router takes over).

use axum::body::Body;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "$MEZAME_DIST_DIR"]
#[allow_missing = true]
struct Dist;

/// Whether the bundle is compiled into the binary.
pub const EMBEDDED: bool = cfg!(not(debug_assertions));

/// Serves a file of the bundle, or `index.html` for app routes.
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if let Some(file) = (!path.is_empty()).then(|| Dist::get(path)).flatten() {
        let mime = file.metadata.mimetype().to_owned();
        // Bundle files carry a content hash in their URL (see xtask): cache them.
        return (
            [(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "public, max-age=31536000, immutable".to_owned())],
            Body::from(file.data.into_owned()),
        )
            .into_response();
    }
    match Dist::get("index.html") {
        Some(index) => {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], Body::from(index.data.into_owned()))
                .into_response()
        }
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "The web UI is not built. Run `cargo xtask dist` (debug) or `cargo xtask build` \
             (release binary with the UI embedded). The API is under /api.\n",
        )
            .into_response(),
    }
}
