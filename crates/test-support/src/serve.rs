//! A `snapqris serve` child process.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long `serve` may take to announce its address (two nodes migrating one database at
/// once, on a busy machine).
const STARTUP_LIMIT: Duration = Duration::from_secs(20);
/// How long `serve` may take to exit after SIGTERM.
const EXIT_LIMIT: Duration = Duration::from_secs(10);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(10);

/// A `snapqris serve` child process. Its stdout is read for the `listening on …` line, its
/// stderr (the logs) is kept for [`Serve::stderr`] and printed when a test panics with it
/// alive; dropping it kills the process (SIGKILL) and reaps it.
pub struct Serve {
    child: Child,
    base_url: String,
    stdout: Option<std::process::ChildStdout>,
    /// The stdout lines after the first, once [`Serve::wait_listening`] started reading.
    later_lines: Option<std::sync::mpsc::Receiver<Option<std::io::Result<String>>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Serve {
    /// Starts `command` (a `snapqris … serve --listen 127.0.0.1:0` command line) without
    /// waiting; call [`Serve::wait_listening`] before sending it requests.
    ///
    /// # Panics
    ///
    /// When the process cannot be started.
    pub fn spawn(mut command: Command) -> Serve {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start snapqris serve");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let kept = Arc::clone(&stderr);
        // Drained all along, so the server never blocks on a full pipe.
        let stderr_reader = std::thread::spawn(move || {
            let mut chunk = [0; 8192];
            while let Ok(read @ 1..) = pipe.read(&mut chunk) {
                lock(&kept).extend_from_slice(&chunk[..read]);
            }
        });
        Serve {
            stdout: child.stdout.take(),
            later_lines: None,
            child,
            base_url: String::new(),
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// Starts `command` and waits until it announces its address.
    ///
    /// # Panics
    ///
    /// As [`Serve::spawn`] and [`Serve::wait_listening`].
    pub fn start(command: Command) -> Serve {
        let mut serve = Serve::spawn(command);
        serve.wait_listening();
        serve
    }

    /// Waits (at most 20 s) for the `listening on http://…` line on stdout.
    ///
    /// # Panics
    ///
    /// When no such line comes in time, or when called twice.
    pub fn wait_listening(&mut self) {
        let stdout = self.stdout.take().expect("wait_listening called once");
        let (line_sender, first_line) = std::sync::mpsc::channel();
        // The reader keeps draining stdout so the server never writes into a closed pipe.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = line_sender.send(lines.next());
            // Later lines are kept for `wait_line` (or dropped with the receiver).
            for line in lines {
                if line_sender.send(Some(line)).is_err() {
                    break;
                }
            }
        });
        let line = first_line.recv_timeout(STARTUP_LIMIT);
        self.later_lines = Some(first_line);
        let line = match line {
            Ok(Some(Ok(line))) => line,
            other => panic!(
                "serve did not announce itself ({other:?}); stderr: {}",
                self.stderr()
            ),
        };
        self.base_url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
    }

    /// Waits (at most 20 s) for the next stdout line after `listening on …` that starts with
    /// `prefix`, e.g. `console on `; returns the rest of it.
    ///
    /// # Panics
    ///
    /// When no such line comes in time, or before [`Serve::wait_listening`].
    pub fn wait_line(&mut self, prefix: &str) -> String {
        let lines = self.later_lines.as_ref().expect("wait_listening first");
        let deadline = std::time::Instant::now() + STARTUP_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match lines.recv_timeout(left) {
                Ok(Some(Ok(line))) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_owned();
                    }
                }
                other => panic!(
                    "serve printed no {prefix:?} line ({other:?}); stderr: {}",
                    self.stderr()
                ),
            }
        }
    }

    /// `http://127.0.0.1:PORT`, known once [`Serve::wait_listening`] returned.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        self.base_url
            .strip_prefix("http://")
            .unwrap_or(&self.base_url)
    }

    /// The process id.
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&lock(&self.stderr)).into_owned()
    }

    /// Waits (at most `limit`) until what the server logged satisfies `done`; returns it.
    /// Logs reach stderr through a background writer, a moment after the answer.
    ///
    /// # Panics
    ///
    /// When `limit` passes first.
    pub fn wait_for_stderr(&self, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let logged = self.stderr();
            if done(&logged) {
                return logged;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not log what was awaited within {limit:?}; stderr: {logged}"
            );
            std::thread::sleep(POLL);
        }
    }

    /// SIGKILL (`kill -9`), then reaps the process.
    ///
    /// # Panics
    ///
    /// When the process cannot be killed or reaped.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill serve");
        self.child.wait().expect("reap serve");
        self.read_stderr_to_end();
    }

    /// Sends SIGTERM.
    ///
    /// # Panics
    ///
    /// When `kill -TERM` fails.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {}: {status}", self.pid());
    }

    /// Sends SIGTERM and waits (at most 10 s) for the exit status.
    ///
    /// # Panics
    ///
    /// When the process is still running after 10 s.
    pub fn terminate_and_wait(&mut self) -> ExitStatus {
        self.terminate();
        self.wait_exit(EXIT_LIMIT).unwrap_or_else(|| {
            panic!(
                "serve still running {EXIT_LIMIT:?} after SIGTERM; stderr: {}",
                self.stderr()
            )
        })
    }

    /// The exit status, if the process has exited.
    ///
    /// # Panics
    ///
    /// When the status cannot be read.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .try_wait()
            .expect("read the exit status of serve")
    }

    /// Waits at most `limit` for the process to exit; `None` if it is still running. Once it
    /// has exited, [`Serve::stderr`] holds everything it wrote.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                self.read_stderr_to_end();
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Serve {
    /// Waits for the reader to take the last of stderr: the process is gone, so its pipe ends
    /// (the exit status can be read before the reader has drained the pipe).
    fn read_stderr_to_end(&mut self) {
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            self.read_stderr_to_end();
            eprintln!("stderr of serve (pid {}):\n{}", self.pid(), self.stderr());
        }
    }
}

/// The kept stderr, even if a reader panicked while holding it.
fn lock(bytes: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    bytes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
