//! Why `cargo test` failed, a line per failing test, for the very end of the
//! output: CI shows only its last lines, and cargo's own `failures:` section
//! comes long before them (the sandbox report, the browser tests' account and
//! a backtrace follow it). CI's account of stop 44 named the failing test but
//! not its panic.

/// Lines of a panic message kept, and characters per line.
const MESSAGE_LINES: usize = 4;
const LINE_CHARS: usize = 400;

/// The panic of each failing test in cargo test's stdout, as
/// `<test>: <message> (<file:line:col>)`: the last panic of the test's
/// captured output (the test's own, after any of its threads'), its message
/// up to the backtrace or note that follows.
pub fn of(stdout: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut test: Option<&str> = None;
    let mut last: Option<String> = None;
    let mut lines = stdout.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(name) = line.strip_prefix("---- ").and_then(|l| l.strip_suffix(" stdout ----")) {
            keep(test.replace(name), last.take(), &mut out);
        } else if line == "failures:" {
            // The list of names that ends the sections.
            keep(test.take(), last.take(), &mut out);
        } else if test.is_some()
            && let Some((_, at)) = line.split_once(" panicked at ")
        {
            let mut message = Vec::new();
            while let Some(next) =
                lines.next_if(|l| !l.is_empty() && !l.starts_with("note: ") && *l != "stack backtrace:" && !l.contains(" panicked at "))
            {
                if message.len() < MESSAGE_LINES {
                    message.push(next.chars().take(LINE_CHARS).collect::<String>());
                }
            }
            last = Some(format!("{} ({})", message.join(" / "), at.trim_end_matches(':')));
        }
    }
    keep(test, last, &mut out);
    out
}

fn keep(test: Option<&str>, panic: Option<String>, out: &mut Vec<String>) {
    if let Some(test) = test {
        out.push(format!("{test}: {}", panic.unwrap_or_else(|| "failed without a panic in its output".into())));
    }
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn one_line_per_failing_test_with_its_last_panic() {
        let stdout = "running 3 tests\n\
            test a ... ok\n\
            test topo::down ... FAILED\n\
            test b ... FAILED\n\
            \n\
            failures:\n\
            \n\
            ---- topo::down stdout ----\n\
            waiting\n\
            thread 'tokio-rt-worker' (12) panicked at backend/src/x.rs:1:1:\n\
            a worker's\n\
            thread 'topo::down' (11) panicked at tests/tests/topology.rs:230:5:\n\
            timed out after 120s waiting for: qa\n\
            second line\n\
            stack backtrace:\n\
            \x20  0: std::panicking::begin_panic\n\
            \n\
            ---- b stdout ----\n\
            printed, then returned Err\n\
            \n\
            \n\
            failures:\n\
            \x20   topo::down\n\
            \x20   b\n\
            \n\
            test result: FAILED. 1 passed; 2 failed\n";
        assert_eq!(
            of(stdout),
            [
                "topo::down: timed out after 120s waiting for: qa / second line (tests/tests/topology.rs:230:5)",
                "b: failed without a panic in its output",
            ]
        );
        assert!(of("running 1 test\ntest a ... ok\n\ntest result: ok.\n").is_empty());
    }
}
