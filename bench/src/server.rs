//! The real `tablecard` binary as a child process: started on a free port
//! against a given database, waited for until ready, killed when dropped
//! (and on every exit path), its memory read from /proc.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

pub const SECRET: &str = "bench-secret-key-long-enough-0123456789-abcdef";

/// The secret the bench's servers sign with (from [`SECRET`]): what makes
/// and reads the codes a till scans.
pub fn secret() -> loyalty::ServerSecret {
    loyalty::ServerSecret::from_master(SECRET.as_bytes())
}

pub struct Server {
    child: Child,
    pub base: String,
    pub log: PathBuf,
}

pub struct Options<'a> {
    pub database_url: &'a str,
    pub api_rate_per_minute: u32,
    pub log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Server {
    pub async fn start(root: &std::path::Path, o: Options<'_>) -> Server {
        let port = free_port();
        let log = std::fs::File::create(&o.log).expect("server log");
        let mut command = Command::new(root.join("target/release/tablecard"));
        // SAFETY: prctl is async-signal-safe and touches no memory of the
        // parent; it only asks the kernel to kill the child when the bench
        // dies, however it ends (a signal to the bench alone included).
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", o.database_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", root.join("target/site"))
            .env("TABLECARD_SECRET_KEY", SECRET)
            .env(
                "TABLECARD_API_RATE_PER_MINUTE",
                o.api_rate_per_minute.to_string(),
            )
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("start target/release/tablecard (run `make build` first)");
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: o.log,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the server exited at start ({status}); its log is {}",
                    self.log.display()
                );
            }
            if let Ok(r) = client.get(format!("{}/readyz", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the server at {} did not become ready; its log is {}",
            self.base,
            self.log.display()
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Resident memory now and at its peak, in bytes.
    pub fn memory(&self) -> Memory {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
                .map(|kb| kb * 1024)
                .unwrap_or(0)
        };
        Memory {
            rss_bytes: field("VmRSS:"),
            peak_rss_bytes: field("VmHWM:"),
        }
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Memory {
    pub rss_bytes: u64,
    pub peak_rss_bytes: u64,
}
