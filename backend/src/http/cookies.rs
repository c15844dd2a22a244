//! The cookies mezame sets: the session (`HttpOnly`, `SameSite=Lax`, `Secure`
//! when people reach the panel over https) and the short one binding a
//! sign-in to the browser that started it.

use axum::http::{HeaderMap, HeaderValue, header};

/// The session's secret.
pub const SESSION: &str = "mezame_session";
/// The OAuth `state` of a sign-in in progress (path `/auth`, 10 minutes).
pub const LOGIN: &str = "mezame_login";

/// The value of cookie `name`, if the request has it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set(name: &str, value: &str, path: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"))
        .expect("cookie values are base64url")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_several() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; mezame_session=abc; b=2"));
        assert_eq!(get(&h, SESSION).as_deref(), Some("abc"));
        assert_eq!(get(&h, LOGIN), None);
        let c = set(SESSION, "x", "/", 60, true);
        assert_eq!(c.to_str().unwrap(), "mezame_session=x; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
    }
}
