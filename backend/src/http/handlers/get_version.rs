use axum::Json;
use mezame_shared::meta::VersionInfo;

use crate::http::assets;

/// Version of the running binary.
#[utoipa::path(
    get, path = "/api/version", tag = "meta",
    responses((status = 200, body = VersionInfo))
)]
pub async fn get_version() -> Json<VersionInfo> {
    Json(VersionInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        git_commit: option_env!("MEZAME_GIT_COMMIT").map(Into::into),
        profile: if cfg!(debug_assertions) { "debug" } else { "release" }.into(),
        ui_embedded: assets::EMBEDDED,
    })
}
