//! Finding the environment a request names, with a 404 that lists the known ones.

use std::sync::Arc;

use crate::app::App;
use crate::domain::envs::Environment;
use crate::domain::topology::Live;
use crate::http::error::ApiError;

pub fn env(app: &App, name: &str) -> Result<(Arc<Environment>, Arc<Live>), ApiError> {
    match (app.envs.get(name), app.topologies.get(name)) {
        (Some(env), Some(live)) => Ok((env.clone(), live.clone())),
        _ => {
            let known: Vec<&str> = app.envs.names().collect();
            Err(ApiError::not_found(if known.is_empty() {
                format!("unknown environment {name}: no environment is configured")
            } else {
                format!("unknown environment {name}; configured: {}", known.join(", "))
            }))
        }
    }
}
