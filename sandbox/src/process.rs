//! Starting, finding and stopping the sandbox's background processes.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Starts `cmd` detached from this process (a session of its own, output to
/// `log`) so that it survives the command that started it. A session of its
/// own, as kwokctl starts the control plane's processes: with autogroups on,
/// the scheduler shares the cores between sessions first, so a sandbox
/// process competes as a host of its own would, not inside the share of
/// whoever ran `up` (a test, a benchmark's load generator).
pub fn spawn_detached(cmd: &mut Command, log: &Path) -> Result<u32> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let out = File::options().create(true).append(true).open(log)?;
    let child = in_own_session(cmd)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    Ok(child.id())
}

/// Makes `cmd` start in a session of its own (`setsid` between fork and
/// exec): with autogroups on, its own share of the cores.
pub fn in_own_session(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| if libc::setsid() < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) });
    }
    cmd
}

/// Starts `cmd` as a child that the kernel terminates when this process dies.
pub fn spawn_child(cmd: &mut Command, log: &Path) -> Result<Child> {
    use std::os::unix::process::CommandExt;
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let out = File::options().create(true).append(true).open(log)?;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out).spawn().with_context(|| format!("cannot start {:?}", cmd.get_program()))
}

/// Whether a process with this pid exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).is_some_and(|state| state != "Z" && state != "X")
        }
        Err(_) => false,
    }
}

/// The command line of a process, for checking that a pid is still ours.
pub fn cmdline(pid: u32) -> Option<String> {
    std::fs::read(format!("/proc/{pid}/cmdline")).ok().map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
}

/// SIGTERM, then SIGKILL after `grace`; waits until the process is gone.
pub fn stop(pid: u32, grace: Duration) {
    if !alive(pid) {
        return;
    }
    // SAFETY: plain kill(2) on a pid we started.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive(pid) {
        // SAFETY: as above.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Ports this process handed out or was told are taken (see [`reserve`]).
static TAKEN: std::sync::Mutex<std::collections::BTreeSet<u16>> = std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Remembers ports that belong to the sandbox even while nothing listens on
/// them (a stopped environment's), so that [`free_port`] never hands them out.
pub fn reserve(ports: impl IntoIterator<Item = u16>) {
    TAKEN.lock().expect("port set").extend(ports);
}

/// A TCP port on 127.0.0.1 that can be bound now and that this process has
/// not handed out before, chosen **below the kernel's ephemeral range**.
///
/// Binding port 0 once per port, in a row, can be handed the same port twice
/// (it was free again as soon as the probe socket closed): seen in CI, qa's
/// argocd-repo-server got one port for gRPC and metrics and crash-looped with
/// "address already in use" (every Application Unknown for 600 s). Hence the
/// set of ports handed out. And the sandbox keeps its ports across restarts
/// (`state.json`): a port from the ephemeral range can be taken, while its
/// process is down, by any outgoing connection on the machine, whereas
/// outgoing connections never use ports outside that range.
pub fn free_port() -> Result<u16> {
    let low = ephemeral_low();
    let (first, last) = (low.saturating_sub(20_000).max(10_000), low.saturating_sub(1));
    let span = u32::from(last - first) + 1;
    let seed = std::process::id() ^ std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut taken = TAKEN.lock().expect("port set");
    for i in 0..span {
        let port = first + ((seed.wrapping_mul(2_654_435_761).wrapping_add(i)) % span) as u16;
        if !taken.contains(&port) && bindable(port) {
            taken.insert(port);
            return Ok(port);
        }
    }
    bail!("no free TCP port on 127.0.0.1 between {first} and {last}")
}

/// Whether a port kept from an earlier run can serve again: below the
/// ephemeral range (what [`free_port`] gives; older runs kept ports from
/// inside it) and free to bind now.
pub fn reusable(port: u16) -> bool {
    port < ephemeral_low() && bindable(port)
}

/// Whether 127.0.0.1:`port` can be listened on now.
pub fn bindable(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// The first port of the kernel's ephemeral range (32768 when unknown).
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .filter(|p| *p > 11_000)
        .unwrap_or(32_768)
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&std::net::SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_millis(300)).is_ok()
}

/// Waits until 127.0.0.1:`port` accepts connections.
pub fn wait_port(port: u16, what: &str, timeout: Duration, log: &Path) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if port_open(port) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not open port {port} within {}s; see {}", timeout.as_secs(), log.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detached_process_leads_a_session_of_its_own() {
        let log = std::env::temp_dir().join(format!("mezame-detached-{}.log", std::process::id()));
        let pid = spawn_detached(Command::new("sleep").arg("30"), &log).unwrap();
        // /proc/{pid}/stat after the command name: state ppid pgrp session …
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        stop(pid, Duration::from_secs(5));
        let _ = std::fs::remove_file(&log);
        assert_eq!((fields[2], fields[3]), (pid.to_string().as_str(), pid.to_string().as_str()), "pgrp and session of {pid}");
    }

    #[test]
    fn free_ports_stay_out_of_the_ephemeral_range_and_are_never_handed_out_twice() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ports: Vec<u16> = (0..50).map(|_| free_port().unwrap()).collect();
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len(), "a port was handed out twice: {ports:?}");
        assert!(ports.iter().all(|p| *p < ephemeral_low()), "{ports:?}");
        // An old run's port inside the ephemeral range is not kept; a bound one neither.
        assert!(!reusable(held.local_addr().unwrap().port()));
        assert!(reusable(ports[0]));
        let taken = std::net::TcpListener::bind(("127.0.0.1", ports[1])).unwrap();
        assert!(!reusable(ports[1]));
        drop(taken);
        // A reserved port is never handed out.
        let mut all: Vec<u16> = (10_000..ephemeral_low()).collect();
        let keep = all.split_off(all.len() / 2);
        reserve(all);
        assert!((0..20).map(|_| free_port().unwrap()).all(|p| keep.contains(&p)));
    }
}
