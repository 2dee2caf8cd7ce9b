//! [`Process`]: one `rill` server process the cluster started, and the knobs on it.
//!
//! Signals go only to our own children, by PID, and only while the child is unreaped:
//! until `wait` reaps it, its PID cannot be reused by another process, so a signal can
//! never hit a stranger. SIGKILL uses `Child::kill`; SIGTERM, SIGSTOP and SIGCONT are sent
//! with the `kill` command (the workspace denies `unsafe`, which `libc::kill` needs).

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext as _, Result};

/// Starts the line written to the log before each run.
const START_MARKER: &str = "===== [testkit] starting";
/// How often a wait for exit polls the child.
const EXIT_POLL: Duration = Duration::from_millis(20);

/// A server process: its command line (kept for restarts), its log file and its child.
///
/// Invariant: `child` is `Some` exactly while the process may be running (not yet
/// reaped); the command line never changes, so a restart reuses the same ports and
/// data directory.
#[derive(Debug)]
pub struct Process {
    name: String,
    program: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(String, String)>,
    addr: String,
    log_path: PathBuf,
    child: Option<Child>,
    last_exit: Option<ExitStatus>,
}

impl Process {
    /// A process, not yet started, that will run `program args` with stderr appended to
    /// `log_path`. `addr` is the address it listens on (for callers' convenience).
    pub(crate) fn new(
        name: String,
        program: PathBuf,
        args: Vec<OsString>,
        envs: Vec<(String, String)>,
        addr: String,
        log_path: PathBuf,
    ) -> Self {
        Self {
            name,
            program,
            args,
            envs,
            addr,
            log_path,
            child: None,
            last_exit: None,
        }
    }

    /// Its name, e.g. "broker 2".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address it listens on ("127.0.0.1:port"); the same across restarts.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The file its stderr is appended to, across restarts.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Its PID while it has not been reaped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// How it last exited, once it has been reaped.
    pub fn last_exit(&self) -> Option<ExitStatus> {
        self.last_exit
    }

    /// Whether it is running (a SIGSTOPped process counts as running). Reaps it if it
    /// has exited.
    pub fn is_running(&mut self) -> bool {
        self.try_reap().is_none() && self.child.is_some()
    }

    /// Starts it. Fails if it is already running.
    pub fn start(&mut self) -> Result<()> {
        if self.is_running() {
            return Err(self.state_error("already running"));
        }
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .io("open log", &self.log_path)?;
        // A visible boundary between runs in the one log file.
        writeln!(log, "{START_MARKER} {} =====", self.name).io("write log", &self.log_path)?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .io("spawn", &self.program)?;
        self.child = Some(child);
        Ok(())
    }

    /// Starts it again with the same command line (same ports, same data directory),
    /// killing it with SIGKILL first if it is still running.
    pub fn restart(&mut self) -> Result<()> {
        self.kill9()?;
        self.start()
    }

    /// SIGKILL, then reaps it. A no-op if it is not running.
    pub fn kill9(&mut self) -> Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        let child = self.child.as_mut().expect("running");
        child.kill().io("kill -9", &self.program)?;
        let status = child.wait().io("wait for", &self.program)?;
        self.child = None;
        self.last_exit = Some(status);
        Ok(())
    }

    /// SIGSTOP: it stays alive (its sockets stay open) but runs nothing.
    pub fn sigstop(&mut self) -> Result<()> {
        self.signal("STOP")
    }

    /// SIGCONT: resumes it after [`Process::sigstop`].
    pub fn sigcont(&mut self) -> Result<()> {
        self.signal("CONT")
    }

    /// SIGTERM (a clean shutdown), then waits up to `deadline` for it to exit and returns
    /// how it exited. On timeout it is left running and [`Error::Timeout`] is returned.
    pub fn terminate(&mut self, deadline: Duration) -> Result<ExitStatus> {
        self.signal("TERM")?;
        self.wait_exit(deadline)
    }

    /// Waits up to `deadline` for it to exit on its own.
    pub fn wait_exit(&mut self, deadline: Duration) -> Result<ExitStatus> {
        let end = Instant::now() + deadline;
        loop {
            if let Some(status) = self.try_reap() {
                return Ok(status);
            }
            if self.child.is_none() {
                return Err(self.state_error("not running"));
            }
            if Instant::now() >= end {
                return Err(Error::Timeout {
                    what: format!("{} to exit", self.name),
                    after: deadline,
                });
            }
            std::thread::sleep(EXIT_POLL);
        }
    }

    /// The last `lines` lines of its log (reading at most the last 256 KiB).
    pub fn log_tail(&self, lines: usize) -> String {
        crate::logs::tail(&self.log_path, lines)
    }

    /// Its log since it was last started (within the last 256 KiB of the file): what
    /// tests search for a line the current run printed.
    pub fn run_log(&self) -> String {
        let tail = crate::logs::tail(&self.log_path, usize::MAX);
        match tail.rfind(START_MARKER) {
            Some(at) => tail[at..].to_owned(),
            None => tail,
        }
    }

    /// Reaps it if it has exited, returning how.
    fn try_reap(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                self.last_exit = Some(status);
                Some(status)
            }
            // Still running; an error from waitpid on our own child means the same.
            Ok(None) | Err(_) => None,
        }
    }

    fn signal(&mut self, signal: &str) -> Result<()> {
        if !self.is_running() {
            return Err(self.state_error(&format!("not running, cannot send SIG{signal}")));
        }
        let pid = self.pid().expect("running").to_string();
        let status = Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .io("run kill", "kill")?;
        if status.success() {
            Ok(())
        } else {
            Err(self.state_error(&format!("kill -s {signal} {pid} failed: {status}")))
        }
    }

    fn state_error(&self, reason: &str) -> Error {
        Error::ProcessState {
            name: self.name.clone(),
            reason: reason.to_owned(),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // Never leave a server behind, whatever the test did.
        let _ = self.kill9();
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt as _;

    use super::*;

    /// A `sleep 30` process logging to a temp dir.
    fn sleeper(dir: &Path) -> Process {
        Process::new(
            "sleeper".into(),
            PathBuf::from("sleep"),
            vec!["30".into()],
            Vec::new(),
            "127.0.0.1:0".into(),
            dir.join("sleeper.log"),
        )
    }

    /// Whether `pid` is in state T (stopped), from /proc.
    fn stopped(pid: u32) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let state = stat.rsplit(')').next().unwrap().split_whitespace().next();
        state == Some("T")
    }

    #[test]
    fn knobs_signal_only_the_child_and_track_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sleeper(dir.path());
        assert!(!p.is_running());
        assert!(p.sigstop().is_err(), "no signal to a process not started");
        p.start().unwrap();
        assert!(p.is_running());
        assert!(p.start().is_err(), "already running");

        p.sigstop().unwrap();
        crate::wait_until(Duration::from_secs(5), "the child to stop", || {
            stopped(p.pid().unwrap())
        });
        assert!(p.is_running(), "a stopped process still runs");
        p.sigcont().unwrap();
        crate::wait_until(Duration::from_secs(5), "the child to resume", || {
            !stopped(p.pid().unwrap())
        });

        let status = p.terminate(Duration::from_secs(5)).unwrap();
        assert_eq!(status.signal(), Some(15));
        assert!(!p.is_running());
        assert_eq!(p.last_exit(), Some(status));

        p.restart().unwrap();
        let pid = p.pid().unwrap();
        p.restart().unwrap();
        assert_ne!(p.pid().unwrap(), pid, "restart replaced a running child");
        p.kill9().unwrap();
        assert_eq!(p.last_exit().unwrap().signal(), Some(9));
        p.kill9().unwrap();

        let log = p.log_tail(10);
        assert_eq!(log.matches("starting sleeper").count(), 3, "{log}");
        assert_eq!(p.run_log().matches("starting sleeper").count(), 1);
    }

    #[test]
    fn terminate_times_out_on_a_process_that_ignores_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sleeper(dir.path());
        p.start().unwrap();
        p.sigstop().unwrap(); // SIGTERM stays pending while stopped
        let err = p.terminate(Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        assert!(p.is_running());
    }
}
