//! `greenchannel hold` and `greenchannel journal`, the real binary against
//! the simulator over loopback: listing and showing held parcels, acting
//! on several at once through the board's own path (journal, key, expected
//! version, refusals), with answers lost, customs down, a colleague's
//! competing claim; refusals before anything is sent; the audit trail and
//! discarding; and the exit codes scripts read.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use greenchannel::sim::RunningSim;
use serde_json::{Value, json};

/// One finished run of the binary.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", self.context()))
    }

    fn context(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// An officer at a shell: a token, a state directory of their own, and the
/// simulator's URLs.
struct Shell {
    token: &'static str,
    state: PathBuf,
    railway: String,
    customs: String,
}

impl Shell {
    fn new(sim: &RunningSim, token: &'static str, name: &str) -> Shell {
        let state = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("hold_cli")
            .join(name);
        let _ = std::fs::remove_dir_all(&state);
        Shell {
            token,
            state,
            railway: sim.railway_url(),
            customs: sim.customs_url(),
        }
    }

    /// Runs `greenchannel ARGS…` with this shell's token and state, quick
    /// retries, and stdin closed (no one to answer a question).
    async fn run(&self, args: &[&str]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_greenchannel"));
        command
            .args(args)
            .args([
                "--railway-url",
                &self.railway,
                "--customs-url",
                &self.customs,
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GREENCHANNEL_") {
                command.env_remove(name);
            }
        }
        command
            .env("GREENCHANNEL_RAILWAY_TOKEN", self.token)
            .env("GREENCHANNEL_CUSTOMS_TOKEN", self.token)
            .env("GREENCHANNEL_FEEDS_BACKOFF_INITIAL_SECONDS", "0.05")
            .env("GREENCHANNEL_FEEDS_BACKOFF_MAX_SECONDS", "0.2")
            .env("GREENCHANNEL_TRIAGE_MAX_ATTEMPTS", "4")
            .env("XDG_STATE_HOME", &self.state);
        let out = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the runner thread ends")
            .expect("the binary runs");
        Run {
            code: out.status.code().expect("not killed by a signal"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Held parcels nobody has claimed, as customs lists them.
async fn unclaimed(sim: &RunningSim) -> Vec<(String, u64)> {
    let page = common::get_json(
        &format!("{}/v1/holds?page_size=1000", sim.customs_url()),
        common::OFFICER,
    )
    .await;
    page["declarations"]
        .as_array()
        .expect("declarations")
        .iter()
        .filter(|d| d["hold"]["claimed_by"].is_null())
        .map(|d| {
            (
                d["declaration_no"].as_str().expect("number").to_owned(),
                d["hold"]["version"].as_u64().expect("version"),
            )
        })
        .collect()
}

/// The hold as customs has it now.
async fn hold(sim: &RunningSim, number: &str) -> Value {
    let url = format!("{}/v1/declarations/{number}", sim.customs_url());
    common::get_json(&url, common::OFFICER).await["hold"].clone()
}

#[tokio::test]
async fn several_claims_and_a_note_go_through_even_when_answers_are_lost() {
    let sim = common::start_sim(common::triage_config()).await;
    let holds = unclaimed(&sim).await;
    let numbers: Vec<&str> = holds[..3].iter().map(|(n, _)| n.as_str()).collect();
    common::faults(
        &sim,
        json!({"lost_answers": true, "lost_answer_share": 0.5}),
    )
    .await;
    let wang = Shell::new(&sim, common::OFFICER, "lost");
    let mut args = vec!["hold", "claim", "--json"];
    args.extend(&numbers);
    let run = wang.run(&args).await;
    assert_eq!(run.code, 0, "{}", run.context());
    let done = run.json();
    for (line, (number, version)) in done.as_array().expect("a line each").iter().zip(&holds) {
        assert_eq!(line["declaration_no"], number.as_str());
        assert_eq!(line["state"], "sent");
        assert_eq!(line["outcome"]["state"], "done", "{line}");
        assert_eq!(
            hold(&sim, number).await["version"],
            version + 1,
            "recorded once"
        );
    }
    assert!(run.stderr.contains("[3/3]"), "progress: {}", run.context());

    let note = wang
        .run(&["hold", "note", numbers[0], "--note", "seal intact"])
        .await;
    assert_eq!(note.code, 0, "{}", note.context());
    let held = hold(&sim, numbers[0]).await;
    assert_eq!(held["notes"][0]["text"], "seal intact");
    assert_eq!(held["claimed_by"], "ALK-0417");
}

#[tokio::test]
async fn a_colleagues_claim_is_refused_and_said_so() {
    let sim = common::start_sim(common::triage_config()).await;
    let (number, _) = unclaimed(&sim).await.remove(0);
    let li = Shell::new(&sim, common::OFFICER_2, "colleague-li");
    assert_eq!(li.run(&["hold", "claim", &number]).await.code, 0);
    let wang = Shell::new(&sim, common::OFFICER, "colleague-wang");
    let run = wang.run(&["hold", "claim", &number, "--json"]).await;
    assert_eq!(run.code, 1, "{}", run.context());
    assert_eq!(run.json()[0]["outcome"]["code"], "claimed_by_other");
    // Notes are always allowed; releasing a colleague's claim is not.
    let note = wang
        .run(&["hold", "note", &number, "--note", "x-ray seen"])
        .await;
    assert_eq!(note.code, 0, "{}", note.context());
    let version = hold(&sim, &number).await["version"].clone();
    let unclaim = wang.run(&["hold", "unclaim", &number]).await;
    assert_eq!(unclaim.code, 1, "{}", unclaim.context());
    assert!(
        unclaim
            .stdout
            .contains("only a supervisor may release ALK-0233's claim"),
        "{}",
        unclaim.context()
    );
    assert_eq!(
        hold(&sim, &number).await["version"],
        version,
        "nothing sent"
    );
    let zhang = Shell::new(&sim, common::SUPERVISOR, "colleague-zhang");
    let released = zhang.run(&["hold", "unclaim", &number]).await;
    assert_eq!(released.code, 0, "{}", released.context());
    assert!(hold(&sim, &number).await["claimed_by"].is_null());
}

#[tokio::test]
async fn refusals_before_anything_is_sent() {
    let sim = common::start_sim(common::triage_config()).await;
    let (number, version) = unclaimed(&sim).await.remove(0);
    let wall = Shell::new(&sim, common::VIEWER, "refusals-wall");
    let run = wall.run(&["hold", "claim", &number]).await;
    assert_eq!(run.code, 1, "{}", run.context());
    assert!(
        run.stdout.contains("(viewer) may only read"),
        "{}",
        run.context()
    );
    let wang = Shell::new(&sim, common::OFFICER, "refusals-wang");
    let read_only = wang.run(&["hold", "claim", &number, "--read-only"]).await;
    assert!(
        read_only.stdout.contains("read-only"),
        "{}",
        read_only.context()
    );
    let no_text = wang.run(&["hold", "note", &number]).await;
    assert!(
        no_text.stdout.contains("a note needs text"),
        "{}",
        no_text.context()
    );
    let unasked = wang.run(&["hold", "escalate", &number]).await;
    assert!(
        unasked.stdout.contains("confirm with --yes"),
        "{}",
        unasked.context()
    );
    let garbage = wang.run(&["hold", "claim", "94022026X000000001"]).await;
    assert!(
        garbage.stdout.contains("not an inventory number"),
        "{}",
        garbage.context()
    );
    for run in [&read_only, &no_text, &unasked, &garbage] {
        assert_eq!(run.code, 1, "{}", run.context());
    }
    assert_eq!(
        hold(&sim, &number).await["version"],
        version,
        "nothing sent"
    );
    let confirmed = wang.run(&["hold", "escalate", &number, "--yes"]).await;
    assert_eq!(confirmed.code, 0, "{}", confirmed.context());
    assert_eq!(hold(&sim, &number).await["escalated"], true);
}

/// Customs down altogether (whoami included): nothing can be judged or
/// queued, and the command says customs could not be reached.
#[tokio::test]
async fn customs_down_altogether_is_exit_3() {
    let sim = common::start_sim(common::triage_config()).await;
    let (number, _) = unclaimed(&sim).await.remove(0);
    common::faults(
        &sim,
        json!({"outages": true, "outage_every_seconds": 3600.0, "outage_seconds": 3600.0}),
    )
    .await;
    let wang = Shell::new(&sim, common::OFFICER, "down-altogether");
    let run = wang.run(&["hold", "claim", &number]).await;
    assert_eq!(run.code, 3, "{}", run.context());
    assert!(run.stderr.contains("503"), "{}", run.context());
    let list = wang.run(&["hold", "list"]).await;
    assert_eq!(list.code, 3, "{}", list.context());
}

#[tokio::test]
async fn customs_down_leaves_the_actions_in_the_journal_for_the_next_run() {
    let sim = common::start_sim(common::triage_config()).await;
    let holds = unclaimed(&sim).await;
    let wang = Shell::new(&sim, common::OFFICER, "down");
    // whoami answers, the actions do not: every action gets a 503.
    let before = wang.run(&["hold", "list", "--json"]).await;
    assert_eq!(before.code, 0, "{}", before.context());
    common::faults(
        &sim,
        json!({"lost_answers": true, "lost_answer_share": 1.0}),
    )
    .await;
    let run = wang
        .run(&["hold", "claim", &holds[0].0, "--wait", "2", "--json"])
        .await;
    assert_eq!(run.code, 3, "{}", run.context());
    assert_eq!(run.json()[0]["state"], "sent");
    assert!(
        run.stdout.contains("pending") || run.stdout.contains("stuck"),
        "{}",
        run.context()
    );
    let pending = wang.run(&["journal", "--pending", "--json"]).await;
    let lines = pending.json();
    assert_eq!(
        lines.as_array().expect("a list").len(),
        1,
        "{}",
        pending.context()
    );
    let key = lines[0]["key"].as_str().expect("a key").to_owned();

    // Customs answers again: the next command sends the earlier claim
    // first, under its own key (recorded once, as the lost answer already
    // had it recorded).
    common::faults(&sim, json!({"lost_answers": false})).await;
    let next = wang.run(&["hold", "claim", &holds[1].0]).await;
    assert_eq!(next.code, 0, "{}", next.context());
    assert!(
        next.stderr.contains("left unanswered by an earlier run"),
        "{}",
        next.context()
    );
    let trail = wang.run(&["journal", "--json"]).await.json();
    let first = trail
        .as_array()
        .expect("a list")
        .iter()
        .find(|l| l["key"] == key.as_str())
        .expect("the earlier claim");
    assert_eq!(first["outcome"]["state"], "done", "{first}");
    assert_eq!(hold(&sim, &holds[0].0).await["version"], holds[0].1 + 1);
    assert_eq!(hold(&sim, &holds[1].0).await["claimed_by"], "ALK-0417");
}

#[tokio::test]
async fn an_action_that_will_never_go_through_is_discarded() {
    let sim = common::start_sim(common::triage_config()).await;
    let holds = unclaimed(&sim).await;
    let wang = Shell::new(&sim, common::OFFICER, "discard");
    // Customs says who the token is; the action's answer never comes back.
    common::faults(
        &sim,
        json!({"lost_answers": true, "lost_answer_share": 1.0}),
    )
    .await;
    let run = wang
        .run(&["hold", "claim", &holds[0].0, "--wait", "1"])
        .await;
    assert_eq!(run.code, 3, "{}", run.context());
    let key = wang.run(&["journal", "--pending", "--json"]).await.json()[0]["key"]
        .as_str()
        .expect("a key")
        .to_owned();
    let unasked = wang.run(&["journal", "discard", &key[..8]]).await;
    assert_ne!(unasked.code, 0, "asks first: {}", unasked.context());
    let discarded = wang.run(&["journal", "discard", &key[..8], "--yes"]).await;
    assert_eq!(discarded.code, 0, "{}", discarded.context());
    assert_eq!(
        wang.run(&["journal", "--pending", "--json"]).await.json(),
        json!([])
    );
    // Customs answers again: the next run does not send the discarded
    // claim (customs recorded the first attempt, whose answer was lost:
    // that is what discarding cannot undo, and the trail says discarded).
    common::faults(&sim, json!({"lost_answers": false})).await;
    let version = hold(&sim, &holds[0].0).await["version"].clone();
    let next = wang
        .run(&["hold", "note", &holds[1].0, "--note", "ok"])
        .await;
    assert_eq!(next.code, 0, "{}", next.context());
    assert!(!next.stderr.contains("earlier run"), "{}", next.context());
    assert_eq!(hold(&sim, &holds[0].0).await["version"], version);
    let trail = wang.run(&["journal", "--json"]).await.json();
    assert_eq!(trail[0]["outcome"]["state"], "discarded", "{trail}");
}

#[tokio::test]
async fn lists_and_shows_held_parcels() {
    let sim = common::start_sim(common::triage_config()).await;
    let holds = unclaimed(&sim).await;
    let wang = Shell::new(&sim, common::OFFICER, "list");
    assert_eq!(wang.run(&["hold", "claim", &holds[0].0]).await.code, 0);
    let all = wang.run(&["hold", "list", "--json"]).await.json();
    let all = all.as_array().expect("a list");
    assert!(all.len() >= holds.len(), "{all:?}");
    let mine = wang.run(&["hold", "list", "--mine", "--json"]).await.json();
    assert_eq!(mine.as_array().expect("a list").len(), 1, "{mine}");
    assert_eq!(mine[0]["declaration_no"], holds[0].0.as_str());
    assert_eq!(mine[0]["hold"]["claimed_by"], "ALK-0417");
    let unclaimed_now = wang
        .run(&["hold", "list", "--unclaimed", "--json"])
        .await
        .json();
    assert!(
        unclaimed_now
            .as_array()
            .expect("a list")
            .iter()
            .all(|p| p["hold"]["claimed_by"].is_null())
    );
    let train = all[0]["train_id"].as_str().expect("a train").to_owned();
    let train_no = train.split('-').next().expect("a number");
    let on_train = wang
        .run(&["hold", "list", "--train", train_no, "--json"])
        .await
        .json();
    assert!(
        on_train
            .as_array()
            .expect("a list")
            .iter()
            .all(|p| p["train_id"] == train.as_str())
    );
    let text = wang.run(&["hold", "list"]).await;
    assert!(text.stdout.starts_with("DECLARATION"), "{}", text.context());
    assert!(text.stdout.contains("held"), "{}", text.context());
    let shown = wang.run(&["hold", "show", &holds[0].0]).await;
    assert_eq!(shown.code, 0, "{}", shown.context());
    for expected in ["claimed by   ALK-0417", "my action", "claim — recorded"] {
        assert!(
            shown.stdout.contains(expected),
            "{expected}: {}",
            shown.context()
        );
    }
    let json = wang
        .run(&["hold", "show", &holds[0].0, "--json"])
        .await
        .json();
    assert_eq!(json["declaration"]["hold"]["claimed_by"], "ALK-0417");
    assert_eq!(json["mine"][0]["outcome"]["state"], "done");
}
