use std::sync::Arc;

use axum::{Extension, Json};
use utoipa::openapi::OpenApi;

/// This document: the OpenAPI 3.1 description of every route of the server.
#[utoipa::path(
    get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn get_openapi(Extension(doc): Extension<Arc<OpenApi>>) -> Json<OpenApi> {
    Json((*doc).clone())
}
