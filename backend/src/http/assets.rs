//! The web UI: the WASM single-page app built into `dist/` by `cargo xtask dist`.
//!
//! Release builds embed `dist/` in the binary; debug builds read it from disk,
//! so a rebuilt frontend shows up without rebuilding the server. Any path that
//! is not a file of the bundle gets `index.html` (the app's router takes over),
//! but for a missing `.js`, `.wasm` or `.css` file: 404.
//! The bundle's files come precompressed (`.br`, `.gz`, made once by xtask):
//! a browser that accepts brotli gets the `.br` copy as is, no compression
//! per request.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "$MEZAME_DIST_DIR"]
#[allow_missing = true]
struct Dist;

/// Whether the bundle is compiled into the binary.
pub const EMBEDDED: bool = cfg!(not(debug_assertions));

/// Precompressed copies, best first: (suffix, `Content-Encoding`).
const ENCODINGS: [(&str, &str); 2] = [("br", "br"), ("gz", "gzip")];

/// Whether the client's `Accept-Encoding` lists `coding` (without `q=0`).
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|e| {
        let mut parts = e.split(';').map(str::trim);
        parts.next() == Some(coding) && !parts.any(|p| p.replace(' ', "") == "q=0")
    })
}

/// Serves a file of the bundle, or `index.html` for app routes.
pub async fn serve(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    if let Some(file) = (!path.is_empty()).then(|| Dist::get(path)).flatten() {
        let mime = file.metadata.mimetype().to_owned();
        let compressed = ENCODINGS
            .iter()
            .filter(|(_, coding)| accepts(&headers, coding))
            .find_map(|(suffix, coding)| Dist::get(&format!("{path}.{suffix}")).map(|f| (f, *coding)));
        // Bundle files carry a content hash in their URL (see xtask): cache them.
        let cache = (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
        let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
        let content_type =
            (header::CONTENT_TYPE, HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream")));
        return match compressed {
            Some((c, coding)) => {
                ([content_type, cache, vary, (header::CONTENT_ENCODING, HeaderValue::from_static(coding))], Body::from(c.data.into_owned()))
                    .into_response()
            }
            None => ([content_type, cache, vary], Body::from(file.data.into_owned())).into_response(),
        };
    }
    // A bundle file this build does not have (an open tab of an older build
    // asking for its chunk): a 404, not the app's page in its place.
    if [".js", ".wasm", ".css"].iter().any(|ext| path.ends_with(ext)) {
        let reload = "This file is not part of the web UI as it is now (it was updated): reload the page.\n";
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], reload).into_response();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            m
        };
        assert!(accepts(&h("gzip, deflate, br, zstd"), "br"));
        assert!(accepts(&h("gzip;q=1.0, br;q=0.8"), "br"));
        assert!(!accepts(&h("gzip, br;q=0"), "br"));
        assert!(!accepts(&h("gzip"), "br"));
        assert!(!accepts(&HeaderMap::new(), "gzip"));
    }
}
