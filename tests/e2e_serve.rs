//! End to end: `greenchannel serve` (the real binary) against a simulator
//! in this process, visited with the real OpenSSH client (`ssh` in tmux,
//! through the harness of `common::tmux`, with keys made by `ssh-keygen`):
//! officers and a wall at once on one board, a claim one officer makes
//! seen on another's screen, a refused key, failed logins rate limited, a
//! dropped connection, a resize, the idle timeout, and many connections
//! come and gone without the server growing.

mod common;

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::tmux::*;
use greenchannel::sim::SimConfig;

/// A key of the test, made by `ssh-keygen`, and its entry in the keys
/// file (none: a key nobody listed).
struct TestKey {
    file: &'static str,
    listed: Option<Listed>,
}

/// An entry of the keys file.
struct Listed {
    officer_id: &'static str,
    role: &'static str,
    token: Option<&'static str>,
}

const KEYS: &[TestKey] = &[
    TestKey {
        file: "wang",
        listed: Some(Listed {
            officer_id: "ALK-0417",
            role: "officer",
            token: Some(common::OFFICER),
        }),
    },
    TestKey {
        file: "li",
        listed: Some(Listed {
            officer_id: "ALK-0233",
            role: "officer",
            token: Some(common::OFFICER_2),
        }),
    },
    TestKey {
        file: "wall",
        listed: Some(Listed {
            officer_id: "ALK-WALL1",
            role: "viewer",
            token: None,
        }),
    },
    TestKey {
        file: "stranger",
        listed: None,
    },
];

/// The options every client is run with: no configuration of the user's,
/// a fresh host key accepted, only the key given, never a question.
const SSH_OPTIONS: &[&str] = &[
    "-F",
    "/dev/null",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
];

/// Fails the test when the OpenSSH client is missing: `scripts/test`
/// installs it.
fn require_ssh() {
    let ok = Command::new("ssh-keygen")
        .arg("-?")
        .output()
        .is_ok_and(|out| !out.stderr.is_empty())
        && Command::new("ssh")
            .arg("-V")
            .output()
            .is_ok_and(|out| out.status.success());
    assert!(
        ok,
        "these tests need the OpenSSH client (ssh, ssh-keygen): apt-get install openssh-client"
    );
}

/// `greenchannel serve` on a loopback port, its keys file and keys in a
/// directory of its own; killed when dropped.
struct Server {
    child: Child,
    dir: PathBuf,
    port: String,
}

impl Server {
    /// Serving `sim`'s board, with more environment (settings).
    fn start(sim: &Sim, env: &[(&str, &str)]) -> Server {
        require_ssh();
        let dir = std::env::temp_dir().join(format!(
            "greenchannel-serve-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory");
        let mut keys_file = String::new();
        for TestKey { file: name, listed } in KEYS {
            let key = dir.join(name);
            let made = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
                .arg(&key)
                .output()
                .expect("ssh-keygen runs");
            assert!(made.status.success(), "ssh-keygen: {made:?}");
            let Some(Listed {
                officer_id: officer,
                role,
                token,
            }) = listed
            else {
                continue;
            };
            let public = std::fs::read_to_string(key.with_extension("pub")).expect("a public key");
            keys_file.push_str(&format!(
                "[[officer]]\nkey = \"{}\"\nofficer_id = \"{officer}\"\nrole = \"{role}\"\n",
                public.trim()
            ));
            if let Some(token) = token {
                std::fs::write(dir.join(format!("{name}.token")), token).expect("a token file");
                keys_file.push_str(&format!("token_file = \"{name}.token\"\n"));
            }
        }
        std::fs::write(dir.join("officers.toml"), keys_file).expect("the keys file");
        let log = std::fs::File::create(dir.join("serve.log")).expect("a log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_greenchannel"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--keys"])
            .arg(dir.join("officers.toml"))
            .args(["--railway-url", &sim.running.railway_url()])
            .args(["--customs-url", &sim.running.customs_url()])
            .arg("--config")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GREENCHANNEL_") {
                command.env_remove(name);
            }
        }
        command
            .env("GREENCHANNEL_RAILWAY_TOKEN", common::VIEWER)
            .env("GREENCHANNEL_CUSTOMS_TOKEN", common::VIEWER)
            .env("XDG_STATE_HOME", dir.join("state"))
            .envs(env.iter().copied());
        let mut child = command.spawn().expect("the server starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("the server says where it listens");
        // greenchannel serve on 127.0.0.1:PORT (…)
        let port = first
            .split_whitespace()
            .nth(3)
            .and_then(|addr| addr.rsplit(':').next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        Server { child, dir, port }
    }

    /// The arguments of `ssh` for a visit with `key` as `user`.
    fn ssh(&self, key: &str, user: &str, more: &[&str]) -> Vec<OsString> {
        let mut command: Vec<OsString> = SSH_OPTIONS.iter().map(OsString::from).collect();
        command.extend(more.iter().map(OsString::from));
        command.extend(["-p", &self.port, "-i"].map(OsString::from));
        command.push(self.dir.join(key).into());
        command.push(format!("{user}@127.0.0.1").into());
        command
    }

    /// A visit in a terminal of `size`: `ssh -tt` in tmux.
    fn visit(&self, key: &str, user: &str, size: (u16, u16), more: &[&str]) -> Board {
        let mut more = more.to_vec();
        more.push("-tt");
        let mut command = vec![OsString::from("ssh")];
        command.extend(self.ssh(key, user, &more));
        Board::launch(size, &command)
    }

    /// What the server logged so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }

    /// Waits until the log shows what `ok` looks for.
    fn wait_log(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let log = self.log();
            if ok(&log) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "not logged within {TIMEOUT:?}: {what}\n--- log ---\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's resident memory and open files, from `/proc`.
    fn footprint(&self) -> (u64, usize) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's status");
        let rss_kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS");
        let files = std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("the server's files")
            .count();
        (rss_kb, files)
    }
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A simulator of many holds, none claimed by simulated colleagues.
fn triage_sim() -> Sim {
    Sim::with(SimConfig::triage(), common::start())
}

/// Waits for a visit's board with both feeds read and `officer` signed in.
fn wait_signed_in(board: &Board, officer: &str) -> String {
    board.wait_for(&format!("the board of {officer}, both feeds ok"), |s| {
        let top = header(s);
        top.contains(officer) && top.contains("railway ok") && top.contains("customs ok")
    })
}

#[test]
fn two_officers_and_a_wall_share_one_board_and_see_each_others_claims() {
    let sim = triage_sim();
    let server = Server::start(&sim, &[]);
    let wang = server.visit("wang", "officer", (160, 48), &[]);
    let li = server.visit("li", "officer", (160, 48), &[]);
    // The wall in Chinese: each session has its own language.
    let wall = server.visit(
        "wall",
        "wall",
        (160, 48),
        &["-o", "SetEnv=LANG=zh_CN.UTF-8"],
    );
    wait_signed_in(&wang, "ALK-0417 王芳 Wang Fang officer");
    wait_signed_in(&li, "ALK-0233 李建国 Li Jianguo officer");
    wall.wait_for("the wall, in Chinese, read only", |s| {
        let top = header(s);
        top.contains("阿拉山口铁路口岸") && top.contains("ALK-WALL1") && top.contains("只读")
    });

    // Wang claims the first hold nobody has.
    wang.keys(&["5"]);
    let screen = wang.wait_for("Wang's holds, one unclaimed", |s| {
        titled(s, "Holds ·") && parcel_rows(s).iter().any(|r| r.contains("unclaimed"))
    });
    let rows = parcel_rows(&screen);
    let index = rows
        .iter()
        .position(|r| r.contains("unclaimed"))
        .expect("an unclaimed hold");
    let parcel = row_declaration(rows[index])
        .expect("a declaration")
        .to_owned();
    for _ in 0..index {
        wang.keys(&["j"]);
    }
    wang.wait_for("the unclaimed hold selected", |s| {
        selected_declaration(s).as_deref() == Some(parcel.as_str())
    });
    li.keys(&["5"]);
    li.wait_for("Li's holds: the parcel unclaimed", |s| {
        parcel_rows(s)
            .iter()
            .any(|r| r.contains(&parcel) && r.contains("unclaimed"))
    });
    wang.keys(&["c"]);
    wang.wait_for("Wang's claim recorded", |s| {
        parcel_rows(s)
            .iter()
            .any(|r| r.contains(&parcel) && r.contains("ALK-0417") && r.contains("claim ✓"))
    });
    // Li sees it on his own screen, and has no action of his own on it.
    let seen = li.wait_for("Wang's claim on Li's screen", |s| {
        parcel_rows(s)
            .iter()
            .any(|r| r.contains(&parcel) && r.contains("ALK-0417"))
    });
    assert!(!seen.contains("claim ✓"), "not Li's own claim:\n{seen}");
    // And Li's own claim on it is refused before it is sent.
    for _ in 0..index {
        li.keys(&["j"]);
    }
    li.wait_for("the hold selected on Li's screen", |s| {
        selected_declaration(s).as_deref() == Some(parcel.as_str())
    });
    li.keys(&["c"]);
    li.wait_for("Li's claim refused: Wang has it", |s| {
        s.lines().last().is_some_and(|l| l.contains("ALK-0417"))
    });
    // The claim went under Wang's own token, into his own journal.
    let journals =
        greenchannel::triage::journal::all_in(&server.dir.join("state/greenchannel/journals"));
    assert!(
        journals.iter().any(|j| j.ends_with("ALK-0417.jsonl")),
        "{journals:?}"
    );
    let held = sim.customs(&format!("/v1/declarations/{parcel}"));
    assert_eq!(held["hold"]["claimed_by"], "ALK-0417", "{held}");
    // The wall shows its pages, and took no keys of anyone's.
    assert!(!titled(&wall.screen(), "Holds ·"));
}

#[test]
fn an_unknown_key_is_refused_and_logged() {
    let sim = Sim::new();
    let server = Server::start(&sim, &[]);
    let out = Command::new("ssh")
        .args(server.ssh("stranger", "officer", &["-tt"]))
        .stdin(Stdio::null())
        .output()
        .expect("ssh runs");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{said}");
    assert!(said.contains("Permission denied (publickey)"), "{said}");
    server.wait_log("the refused key and the failed login", |log| {
        log.contains("key refused: SHA256:") && log.contains("failed login")
    });
}

#[test]
fn an_address_that_keeps_failing_is_refused_for_a_while() {
    let sim = Sim::new();
    let server = Server::start(
        &sim,
        &[("GREENCHANNEL_SERVE_FAILED_LOGINS_PER_MINUTE", "2")],
    );
    let attempt = |key: &str| {
        Command::new("ssh")
            .args(server.ssh(key, "officer", &["-tt"]))
            .stdin(Stdio::null())
            .output()
            .expect("ssh runs")
    };
    for n in 1..=2 {
        let out = attempt("stranger");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
            "attempt {n}: {out:?}"
        );
        server.wait_log(&format!("failed login {n}"), |log| {
            log.matches("failed login").count() >= n
        });
    }
    // Now even a known key from that address gets no SSH at all.
    let out = attempt("wang");
    assert_eq!(out.status.code(), Some(255), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "refused before any authentication: {out:?}"
    );
    server.wait_log("the refusal", |log| {
        log.contains("refused: too many failed logins")
    });
}

#[test]
fn a_dropped_connection_ends_its_session_and_no_other() {
    let sim = Sim::new();
    let server = Server::start(&sim, &[]);
    let wang = server.visit("wang", "officer", (120, 40), &[]);
    let li = server.visit("li", "officer", (120, 40), &[]);
    wait_signed_in(&wang, "ALK-0417");
    wait_signed_in(&li, "ALK-0233");
    // Wang's client stops reading (suspended): Li's session goes on.
    signal(wang.pid(), "STOP");
    li.keys(&["3"]);
    li.wait_for("Li's parcels while Wang's client is stopped", |s| {
        titled(s, "Parcels ·")
    });
    // Then Wang's connection drops: his ssh client is killed outright.
    signal(wang.pid(), "KILL");
    server.wait_log("Wang's session ended", |log| {
        log.lines()
            .any(|l| l.contains("session ended: the client went away") && l.contains("ALK-0417"))
    });
    assert!(
        !server
            .log()
            .lines()
            .any(|l| l.contains("session ended") && l.contains("ALK-0233")),
        "Li's session goes on"
    );
    // Li's goes on: it takes keys and draws.
    li.keys(&["5"]);
    li.wait_for("Li's holds", |s| titled(s, "Holds ·"));
    li.keys(&["q"]);
    let pid = li.pid();
    assert_ended_cleanly(&li, pid, "q over ssh");
    server.wait_log("Li's session ended by quitting", |log| {
        log.lines()
            .any(|l| l.contains("session ended: quit") && l.contains("ALK-0233"))
    });
}

#[test]
fn a_resize_redraws_at_the_new_size() {
    let sim = Sim::new();
    let server = Server::start(&sim, &[]);
    let wang = server.visit("wang", "officer", (160, 48), &[]);
    wait_signed_in(&wang, "ALK-0417");
    let wide = |s: &str, width: usize| {
        s.lines()
            .any(|l| l.starts_with('┌') && l.chars().count() == width && l.ends_with('┐'))
    };
    wang.wait_for("a box as wide as 160 columns", |s| wide(s, 160));
    wang.resize(100, 30);
    let screen = wang.wait_for("the board redrawn at 100×30", |s| {
        wide(s, 100) && s.lines().nth(29).is_some_and(|l| l.contains("? help"))
    });
    assert!(
        screen.lines().all(|l| l.chars().count() <= 100),
        "nothing left of the wider board:\n{screen}"
    );
    wang.resize(50, 12);
    wang.wait_for("too small, said", |s| {
        s.contains("terminal too small") && s.contains("50×12 < 64×16")
    });
}

#[test]
fn an_idle_session_ends_and_says_why() {
    let sim = Sim::new();
    // Three seconds without a key.
    let server = Server::start(&sim, &[("GREENCHANNEL_SERVE_IDLE_TIMEOUT_MINUTES", "0.05")]);
    let wang = server.visit("wang", "officer", (120, 40), &[]);
    let wall = server.visit("wall", "wall", (120, 40), &[]);
    wait_signed_in(&wang, "ALK-0417");
    let pid = wang.pid();
    let screen = assert_ended_cleanly(&wang, pid, "the idle timeout");
    assert!(
        screen.contains("greenchannel: no key pressed for 3 s: session ended"),
        "{screen}"
    );
    // A wall takes no keys: it is never idle.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        header(&wall.screen()).contains("ALK-WALL1"),
        "{}",
        wall.screen()
    );
}

#[test]
fn hundreds_of_visits_leave_the_server_as_it_was() {
    let sim = Sim::new();
    let server = Server::start(&sim, &[]);
    let visit = || {
        // A session that opens and is gone at once: stdin closed.
        let out = Command::new("ssh")
            .args(server.ssh("wang", "officer", &["-tt"]))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("ssh runs");
        assert!(out.code().is_some(), "ssh ended");
    };
    let ended = |n: usize| {
        server.wait_log(&format!("{n} sessions ended"), |log| {
            log.matches("session ended").count() >= n
        });
    };
    // Warm up: the board, the allocator's pools, the officer's desk.
    for _ in 0..20 {
        visit();
    }
    ended(20);
    std::thread::sleep(Duration::from_millis(500));
    let (rss_before, files_before) = server.footprint();
    let cycles = 200;
    for _ in 0..cycles {
        visit();
    }
    ended(20 + cycles);
    std::thread::sleep(Duration::from_millis(500));
    let (rss_after, files_after) = server.footprint();
    assert!(
        files_after <= files_before + 2,
        "open files: {files_before} before, {files_after} after {cycles} visits"
    );
    assert!(
        rss_after <= rss_before + 8 * 1024,
        "resident memory: {rss_before} kB before, {rss_after} kB after {cycles} visits"
    );
}
