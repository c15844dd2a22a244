//! The API server, as a user meets it: the real release binary on a free port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use mezame_e2e::{Server, get_json};

fn debug_server() -> Server {
    Server::start("debug_routes = true\n")
}

#[tokio::test]
async fn health_and_version() {
    let s = debug_server();
    let (status, health) = get_json(&s.url("/api/health")).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "ok");
    let (status, version) = get_json(&s.url("/api/version")).await;
    assert_eq!(status, 200);
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(version["profile"], "release");
    assert_eq!(version["ui_embedded"], true);
}

#[tokio::test]
async fn openapi_lists_every_route_and_every_listed_route_answers() {
    let s = debug_server();
    let (status, doc) = get_json(&s.url("/api/openapi.json")).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "OpenAPI 3.1, got {}", doc["openapi"]);
    let paths = doc["paths"].as_object().expect("paths");
    let mut listed: Vec<(String, String)> =
        paths.iter().flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), p.clone()))).collect();
    listed.sort();
    let expected = [
        ("DELETE", "/api/envs/{env}/deploys/{ms}/freeze"),
        ("DELETE", "/api/sessions/{id}"),
        ("DELETE", "/api/tokens/{id}"),
        ("GET", "/api/audit"),
        ("GET", "/api/debug/panic"),
        ("GET", "/api/debug/rebuilds"),
        ("GET", "/api/debug/sleep"),
        ("GET", "/api/envs"),
        ("GET", "/api/envs/{env}/capacity"),
        ("GET", "/api/envs/{env}/capacity/events"),
        ("GET", "/api/envs/{env}/cronjobs"),
        ("GET", "/api/envs/{env}/deploys"),
        ("GET", "/api/envs/{env}/deploys/events"),
        ("GET", "/api/envs/{env}/deploys/{ms}/diff"),
        ("GET", "/api/envs/{env}/deploys/{ms}/dora"),
        ("GET", "/api/envs/{env}/power"),
        ("GET", "/api/envs/{env}/runs"),
        ("GET", "/api/envs/{env}/services/{name}"),
        ("GET", "/api/envs/{env}/topology"),
        ("GET", "/api/envs/{env}/topology/events"),
        ("GET", "/api/health"),
        ("GET", "/api/live"),
        ("GET", "/api/me"),
        ("GET", "/api/openapi.json"),
        ("GET", "/api/runs/{id}"),
        ("GET", "/api/runs/{id}/events"),
        ("GET", "/api/sessions"),
        ("GET", "/api/tokens"),
        ("GET", "/api/version"),
        ("GET", "/api/versions"),
        ("GET", "/auth/callback"),
        ("GET", "/auth/login"),
        ("GET", "/metrics"),
        ("PATCH", "/api/envs/{env}/capacity/{kind}/{name}"),
        ("POST", "/api/debug/echo"),
        ("POST", "/api/envs/{env}/capacity/placement/{ms}"),
        ("POST", "/api/envs/{env}/cronjobs/{namespace}/{name}/run"),
        ("POST", "/api/envs/{env}/deploys/{ms}/promote"),
        ("POST", "/api/envs/{env}/deploys/{ms}/rollback"),
        ("POST", "/api/envs/{env}/nodes/{node}/cordon"),
        ("POST", "/api/envs/{env}/nodes/{node}/drain"),
        ("POST", "/api/envs/{env}/nodes/{node}/uncordon"),
        ("POST", "/api/envs/{env}/sleep"),
        ("POST", "/api/envs/{env}/wake"),
        ("POST", "/api/hooks/git"),
        ("POST", "/api/runs/{id}/cancel"),
        ("POST", "/api/runs/{id}/retry"),
        ("POST", "/api/tokens"),
        ("POST", "/auth/logout"),
        ("PUT", "/api/debug/clock"),
        ("PUT", "/api/envs/{env}/keep-awake"),
        ("PUT", "/api/envs/{env}/power"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(listed, expected, "the document lists exactly the router's routes");
    // Every listed operation is routed (none falls through to the JSON 404/405).
    let client = mezame_e2e::client();
    for (method, path) in &listed {
        let req = match method.as_str() {
            "GET" => client.get(s.url(&path.replace("/api/debug/sleep", "/api/debug/sleep?ms=1"))),
            "POST" => client.post(s.url(path)).json(&serde_json::json!({"message": "hi"})),
            "PUT" => client.put(s.url(path)).json(&serde_json::json!({})),
            "PATCH" => client.patch(s.url(path)).json(&serde_json::json!({})),
            "DELETE" => client.delete(s.url(path)).json(&serde_json::json!({})),
            m => panic!("unexpected method {m}"),
        };
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert!(
            !text.contains("route_not_found") && !text.contains("method_not_allowed"),
            "{method} {path} is listed but not routed: {status} {text}"
        );
    }
    // The server's own `openapi` command prints the same document.
    let printed = std::process::Command::new(mezame_e2e::mezame_bin()).args(["openapi", "--debug-routes"]).output().unwrap();
    let printed: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(printed["paths"], doc["paths"]);
}

#[tokio::test]
async fn debug_routes_are_absent_unless_enabled() {
    let s = Server::start("");
    let (_, doc) = get_json(&s.url("/api/openapi.json")).await;
    assert!(doc["paths"].get("/api/debug/panic").is_none());
    let (status, body) = get_json(&s.url("/api/debug/panic")).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "route_not_found");
    // Nor do answers carry the server's times.
    let r = mezame_e2e::client().get(s.url("/api/envs")).send().await.unwrap();
    assert!(r.headers().get("x-mezame-timing").is_none(), "{:?}", r.headers());
}

#[tokio::test]
async fn with_debug_routes_an_answer_carries_the_servers_times() {
    let s = debug_server();
    let r = mezame_e2e::client().get(s.url("/api/envs")).send().await.unwrap();
    let timing = r.headers().get("x-mezame-timing").expect("the timing header").to_str().unwrap().to_owned();
    let (entry, exit) = timing.split_once(' ').expect("two times");
    let (entry, exit): (u128, u128) = (entry.parse().unwrap(), exit.parse().unwrap());
    // The machine's monotonic clock, which this process reads too.
    let now = mezame::telemetry::clock(libc::CLOCK_MONOTONIC).as_nanos();
    assert!(entry <= exit && exit <= now, "{entry} {exit} {now}");
    assert!(now - entry < 60_000_000_000, "read a minute ago or more: {entry} vs {now}");
}

async fn post_raw(s: &Server, body: &str, content_type: &str) -> (u16, serde_json::Value) {
    let r = mezame_e2e::client()
        .post(s.url("/api/debug/echo"))
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.expect("a JSON error body"))
}

fn assert_error_shape(body: &serde_json::Value, code: &str) {
    let error = body["error"].as_object().unwrap_or_else(|| panic!("no error object in {body}"));
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].as_str().is_some_and(|m| m.len() > 10), "a useful message: {body}");
    assert_eq!(body.as_object().unwrap().len(), 1, "only `error` at the top: {body}");
}

#[tokio::test]
async fn errors_are_json_with_the_right_status() {
    let s = debug_server();
    let (status, body) = get_json(&s.url("/api/no/such/route")).await;
    assert_eq!(status, 404);
    assert_error_shape(&body, "route_not_found");

    let r = mezame_e2e::client().delete(s.url("/api/health")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_error_shape(&r.json().await.unwrap(), "method_not_allowed");

    let (status, body) = post_raw(&s, r#"{"message": "#, "application/json").await;
    assert_eq!(status, 400, "malformed JSON");
    assert_error_shape(&body, "bad_body");

    let (status, body) = post_raw(&s, r#"{"message": 42}"#, "application/json").await;
    assert_eq!(status, 422, "well-formed JSON of the wrong shape");
    assert_error_shape(&body, "bad_body");

    let (status, body) = post_raw(&s, r#"{"message": "x"}"#, "text/plain").await;
    assert_eq!(status, 415);
    assert_error_shape(&body, "unsupported_media_type");

    let (status, body) = get_json(&s.url("/api/audit?limit=lots")).await;
    assert_eq!(status, 400);
    assert_error_shape(&body, "bad_query");

    let (status, body) = get_json(&s.url("/api/audit?limit=100000")).await;
    assert_eq!(status, 400);
    assert_error_shape(&body, "bad_request");

    let (status, body) = get_json(&s.url("/api/audit?colour=blue")).await;
    assert_eq!(status, 400, "unknown query parameter");
    assert_error_shape(&body, "bad_query");
}

/// Sends two requests over one keep-alive connection; returns both raw responses.
fn two_requests_on_one_connection(addr: &str, first: &str, second: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let read_response = |stream: &mut TcpStream| -> String {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).expect("the connection stays open");
            assert!(n > 0, "the server closed the connection: {}", String::from_utf8_lossy(&buf));
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let len = text[..head_end]
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                    .expect("a content-length");
                if buf.len() >= head_end + 4 + len {
                    return text;
                }
            }
        }
    };
    let request = |path: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: keep-alive\r\n\r\n", mezame_e2e::ADMIN)
    };
    stream.write_all(request(first).as_bytes()).unwrap();
    let a = read_response(&mut stream);
    stream.write_all(request(second).as_bytes()).unwrap();
    let b = read_response(&mut stream);
    (a, b)
}

#[tokio::test]
async fn a_panicking_handler_answers_500_json_and_keeps_the_connection() {
    let s = debug_server();
    let addr = s.addr();
    let (panic, after) =
        tokio::task::spawn_blocking(move || two_requests_on_one_connection(&addr, "/api/debug/panic", "/api/health")).await.unwrap();
    assert!(panic.starts_with("HTTP/1.1 500"), "{panic}");
    let body: serde_json::Value = serde_json::from_str(panic.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_error_shape(&body, "internal");
    assert!(after.starts_with("HTTP/1.1 200"), "the same connection serves the next request: {after}");
}

#[tokio::test]
async fn metrics_count_requests_per_route() {
    let s = debug_server();
    for _ in 0..3 {
        mezame_e2e::anonymous().get(s.url("/api/health")).send().await.unwrap();
    }
    mezame_e2e::anonymous().get(s.url("/api/nope")).send().await.unwrap();
    let text = mezame_e2e::client().get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"mezame_http_requests_total{method="GET",route="/api/health",status="200"} 3"#), "{text}");
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(text.contains("mezame_http_request_duration_seconds_bucket{"), "{text}");
}

#[tokio::test]
async fn the_ui_is_served_for_app_paths() {
    let s = Server::start("");
    for path in ["/", "/envs", "/topology", "/some/deep/link?env=dev"] {
        let r = mezame_e2e::anonymous().get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = r.text().await.unwrap();
        assert!(html.contains("<script type=\"module\" src=\"/boot-") && html.contains("_bg-"), "{path}: {html}");
    }
}

/// The bundle's files are served precompressed — brotli to a browser that
/// accepts it, gzip to one that accepts only gzip (the same bytes once
/// decompressed), plain otherwise — and what a browser downloads for the
/// first screen stays within 400 KiB.
#[tokio::test]
async fn the_bundle_is_served_precompressed_and_the_first_screen_is_small() {
    let s = Server::start("");
    let c = mezame_e2e::anonymous();
    let html = c.get(s.url("/")).send().await.unwrap().text().await.unwrap();
    let mut files: Vec<String> = html
        .split('"')
        .filter(|p| p.starts_with('/') && [".js", ".css", ".wasm"].iter().any(|e| p.ends_with(e)))
        .map(str::to_string)
        .collect();
    assert_eq!(files.len(), 4, "CSS, JS glue, WASM, boot script in {html}");
    let (mut raw, mut served) = (html.len(), html.len());
    files.sort();
    // The JS glue imports the loader of the lazy routes' chunks: on the first screen too.
    let mut i = 0;
    while let Some(file) = files.get(i).cloned() {
        i += 1;
        let f = &file;
        let get = |encoding: Option<&'static str>| {
            let mut req = c.get(s.url(f));
            if let Some(e) = encoding {
                req = req.header("accept-encoding", e);
            }
            async move {
                let r = req.send().await.unwrap();
                assert_eq!(r.status().as_u16(), 200, "{f}");
                let coding = r.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_string());
                let vary = r.headers().get("vary").map(|v| v.to_str().unwrap().to_string());
                (coding, vary, r.bytes().await.unwrap().to_vec())
            }
        };
        let (coding, _, plain) = get(None).await;
        assert_eq!(coding, None, "{f}: plain without Accept-Encoding");
        let (coding, vary, br) = get(Some("gzip, deflate, br, zstd")).await;
        assert_eq!(coding.as_deref(), Some("br"), "{f}");
        assert_eq!(vary.as_deref(), Some("accept-encoding"), "{f}");
        let (coding, _, gz) = get(Some("gzip")).await;
        assert_eq!(coding.as_deref(), Some("gzip"), "{f}");
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut unzipped).unwrap();
        assert_eq!(unzipped, plain, "{f}: the gzip copy is the file");
        assert!(
            br.len() < plain.len() && br.len() <= gz.len() + 64,
            "{f}: brotli {} vs gzip {} vs plain {}",
            br.len(),
            gz.len(),
            plain.len()
        );
        raw += plain.len();
        served += br.len();
        if f.ends_with(".js") {
            let text = String::from_utf8(plain).unwrap();
            for imported in text.split("from \"./").skip(1).filter_map(|rest| rest.split('"').next()) {
                let imported = format!("/{imported}");
                if !files.contains(&imported) {
                    files.push(imported);
                }
            }
        }
    }
    assert!(files.iter().any(|f| f.starts_with("/mezame_split-")), "the loader of the lazy routes is imported: {files:?}");
    // A chunk of an older build is a 404, not the app's page.
    let r = c.get(s.url("/split_gone-0000000000000000.wasm")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    println!("first screen: {} files, {} KiB raw, {} KiB as served with brotli", files.len(), raw / 1024, served / 1024);
    assert!(served <= 400 * 1024, "the first screen downloads {} KiB (target ≤ 400 KiB)", served / 1024);
}

#[tokio::test]
async fn without_a_config_there_are_no_environments() {
    let s = Server::start_without_config();
    let (status, body) = get_json(&s.url("/api/envs")).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"envs": []}));
}

/// A request that takes longer than `request_timeout_secs` is answered 503;
/// beyond `max_concurrent_requests` at once, requests are answered 503 at once
/// (not queued); a client that trickles its headers is cut off.
#[tokio::test]
async fn slow_requests_time_out_and_excess_load_is_shed() {
    let s = Server::start("debug_routes = true\nrequest_timeout_secs = 1\nmax_concurrent_requests = 2\n");
    let client = mezame_e2e::client();
    let t = std::time::Instant::now();
    let r = client.get(s.url("/api/debug/sleep?ms=3000")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "timeout", "{body}");
    assert!(t.elapsed() < Duration::from_millis(2500), "abandoned at the timeout: {:?}", t.elapsed());
    // Two slow requests hold both places: the third is refused at once.
    let slow = |c: reqwest::Client, url: String| async move { c.get(url).send().await.unwrap().status().as_u16() };
    let a = tokio::spawn(slow(client.clone(), s.url("/api/debug/sleep?ms=900")));
    let b = tokio::spawn(slow(client.clone(), s.url("/api/debug/sleep?ms=900")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = std::time::Instant::now();
    let r = client.get(s.url("/api/health")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 503, "a third request while two are in flight");
    assert!(t.elapsed() < Duration::from_millis(300), "refused at once, not queued");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "overloaded", "{body}");
    assert_eq!((a.await.unwrap(), b.await.unwrap()), (200, 200));
    assert_eq!(client.get(s.url("/api/health")).send().await.unwrap().status().as_u16(), 200, "free again");
    // Headers trickled slower than the header-read timeout (10 s): cut off.
    let addr = s.addr();
    let cut = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        stream.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n").unwrap();
        let t = std::time::Instant::now();
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).unwrap_or(0);
        (t.elapsed(), String::from_utf8_lossy(&buf[..n]).to_string())
    })
    .await
    .unwrap();
    assert!(
        cut.0 >= Duration::from_secs(9) && cut.0 < Duration::from_secs(15),
        "closed after the header-read timeout: {:?} {:?}",
        cut.0,
        cut.1
    );
    assert!(!cut.1.contains("200 OK"), "no answer to an unfinished request: {}", cut.1);
}

/// At most `max_event_streams` event streams per server: the next one is a
/// 503 that says why, and a place frees up when a stream closes.
#[tokio::test]
async fn event_streams_are_bounded_per_server() {
    let s = Server::start(
        "max_event_streams = 2\n[[env]]\nname = \"dev\"\n[env.kubernetes]\nkubeconfig = \"/nonexistent/kubeconfig\"\n\
         [env.aws]\nregion = \"eu-west-1\"\nendpoint_url = \"http://127.0.0.1:9\"\naccess_key_id = \"x\"\nsecret_access_key = \"y\"\n",
    );
    let url = s.url("/api/envs/dev/topology/events");
    let a = mezame_e2e::sse::Sse::open(&url).await;
    let b = mezame_e2e::sse::Sse::open(&url).await;
    let (status, body) = get_json(&url).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "too_many_streams", "{body}");
    drop(a);
    let _c = mezame_e2e::eventually("a place frees up once a stream closes", Duration::from_secs(10), || async {
        let r = mezame_e2e::client().get(&url).send().await.ok()?;
        (r.status().as_u16() == 200).then_some(r)
    })
    .await;
    drop(b);
}

#[test]
fn a_bad_config_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[[env]]\nname = \"Dev Env\"\n[env.kubernetes]\n[env.aws]\n").unwrap();
    let out = std::process::Command::new(mezame_e2e::mezame_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Dev Env") && err.contains("lowercase"), "{err}");
}

/// Roles per environment: a viewer is refused wake, sleep, settings and
/// keep-awake with a 403 that says who may and how to get access, and nothing
/// changes; an operator gets past the check (to the next refusal: dev has no
/// power settings); settings need an admin.
#[tokio::test]
async fn operators_operate_viewers_read_admins_configure() {
    use mezame_e2e::{OPERATOR, VIEWER, client_as};
    let s = Server::start(
        "[[env]]\nname = \"dev\"\n\
         [env.kubernetes]\nkubeconfig = \"/nonexistent/kubeconfig\"\n\
         [env.aws]\nregion = \"eu-west-1\"\nendpoint_url = \"http://127.0.0.1:9\"\naccess_key_id = \"x\"\nsecret_access_key = \"y\"\n",
    );
    let send = |token: &str, method: reqwest::Method, path: &str, body: serde_json::Value| {
        let req = client_as(token).request(method, s.url(path)).json(&body);
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    use reqwest::Method;
    let settings = serde_json::json!({"eks_cluster": "platform-dev", "capacity": [{"kind": "nodegroup", "name": "system", "min": 3, "desired": 1, "max": 2}]});
    for (method, path, body) in [
        (Method::POST, "/api/envs/dev/wake", serde_json::json!({})),
        (Method::POST, "/api/envs/dev/sleep", serde_json::json!({})),
        (Method::PUT, "/api/envs/dev/power", settings.clone()),
        (Method::PUT, "/api/envs/dev/keep-awake", serde_json::json!({"until": "21:00"})),
    ] {
        let (status, body) = send(VIEWER, method.clone(), path, body).await;
        assert_eq!(status, 403, "{method} {path} as a viewer: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("e2e-viewer is viewer in dev") && message.contains("[[auth.bind]]"), "{message}");
    }
    let (_, power) = send(VIEWER, Method::GET, "/api/envs/dev/power", serde_json::Value::Null).await;
    assert_eq!(
        (power["may_operate"].clone(), power["settings"].clone()),
        (serde_json::json!(false), serde_json::Value::Null),
        "nothing stored: {power}"
    );
    assert!(power["who_may"].as_str().unwrap().contains("operator or higher in dev"), "{power}");
    let (_, runs) = get_json(&s.url("/api/envs/dev/runs")).await;
    assert_eq!(runs["runs"], serde_json::json!([]), "no run started");

    let (status, body) = send(OPERATOR, Method::POST, "/api/envs/dev/wake", serde_json::json!({})).await;
    assert_eq!(status, 400, "an operator gets past the check: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("no power settings"), "{body}");
    let (status, body) = send(OPERATOR, Method::PUT, "/api/envs/dev/power", settings.clone()).await;
    assert_eq!(status, 403, "settings need an admin: {body}");
    let (_, power) = send(OPERATOR, Method::GET, "/api/envs/dev/power", serde_json::Value::Null).await;
    assert_eq!(
        (power["may_operate"].clone(), power["may_configure"].clone()),
        (serde_json::json!(true), serde_json::json!(false)),
        "{power}"
    );
    let (status, body) = send(mezame_e2e::ADMIN, Method::PUT, "/api/envs/dev/power", settings).await;
    assert_eq!(status, 400, "an admin gets past the check: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("min ≤ desired ≤ max"), "{body}");
}
