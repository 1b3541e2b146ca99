//! The reasons in words, English and Chinese, with their countdowns
//! computed at the instant they are shown.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};

use super::shed::ShedOutlook;
use super::{Blocker, CustomsPhase, Cutoff, Reason};
use crate::domain::codes::Lang;

/// A duration for people: seconds under a minute, minutes under two
/// hours, then hours and minutes.
pub fn duration_text(d: Duration, lang: Lang) -> String {
    let seconds = d.num_seconds().abs();
    let minutes = seconds / 60;
    match lang {
        Lang::En if seconds < 60 => format!("{seconds} s"),
        Lang::En if minutes < 120 => format!("{minutes} min"),
        Lang::Zh if seconds < 60 => format!("{seconds}秒"),
        Lang::Zh if minutes < 120 => format!("{minutes}分钟"),
        _ => format!("{}h{:02}", minutes / 60, minutes % 60),
    }
}

fn cutoff_text(cutoff: Cutoff, at: DateTime<Utc>, now: DateTime<Utc>, lang: Lang) -> String {
    let left = at - now;
    let what = match (cutoff, lang) {
        (Cutoff::Transshipment, Lang::En) => "transshipment cut-off",
        (Cutoff::CustomsRelease, Lang::En) => "release cut-off",
        (Cutoff::Transshipment, Lang::Zh) => "换装截止",
        (Cutoff::CustomsRelease, Lang::Zh) => "放行截止",
    };
    match lang {
        Lang::En if left >= Duration::zero() => format!("{what} in {}", duration_text(left, lang)),
        Lang::En => format!("{what} passed {} ago", duration_text(left, lang)),
        Lang::Zh if left >= Duration::zero() => format!("距{what}{}", duration_text(left, lang)),
        Lang::Zh => format!("{what}已过{}", duration_text(left, lang)),
    }
}

fn blocker_text(blocker: Blocker, now: DateTime<Utc>, lang: Lang, out: &mut String) {
    let en = lang == Lang::En;
    let _ = match blocker {
        Blocker::TrainUnknown => out.write_str(if en {
            "train not known to the railway"
        } else {
            "铁路未知该车次"
        }),
        Blocker::NoTrain => out.write_str(if en { "not on a train" } else { "未配车次" }),
        Blocker::Shed(outlook) => match outlook {
            ShedOutlook::UnknownContainer => out.write_str(if en {
                "container not known to the railway"
            } else {
                "铁路未知该集装箱"
            }),
            ShedOutlook::Queued { ahead, .. } => {
                if en {
                    write!(
                        out,
                        "container not transshipped, {ahead} ahead in the shed queue"
                    )
                } else {
                    write!(out, "集装箱未换装，换装库排队前方{ahead}箱")
                }
            }
            ShedOutlook::Lifting { .. } => out.write_str(if en {
                "container being lifted"
            } else {
                "集装箱换装中"
            }),
            ShedOutlook::InYard { .. } => out.write_str(if en {
                "container in the yard, not yet queued"
            } else {
                "集装箱在场站，未排队"
            }),
            ShedOutlook::EnRoute { eta, .. } => match (eta, en) {
                (Some(eta), true) if eta > now => write!(
                    out,
                    "container not arrived, due in {}",
                    duration_text(eta - now, lang)
                ),
                (Some(eta), false) if eta > now => {
                    write!(
                        out,
                        "集装箱未到站，预计{}后到达",
                        duration_text(eta - now, lang)
                    )
                }
                (_, true) => out.write_str("container not arrived, overdue"),
                (_, false) => out.write_str("集装箱未到站，已晚点"),
            },
            ShedOutlook::Blocked => out.write_str(if en {
                "container blocked in the shed"
            } else {
                "集装箱换装受阻"
            }),
            ShedOutlook::UnknownStatus => out.write_str(if en {
                "container in an unknown shed state"
            } else {
                "集装箱换装状态未知"
            }),
            ShedOutlook::Done => out.write_str(if en {
                "container transshipped"
            } else {
                "集装箱已换装"
            }),
        },
        Blocker::Customs(phase) => {
            let (en_text, zh_text, since) = match phase {
                CustomsPhase::Filing { since } => ("being declared", "申报中", Some(since)),
                CustomsPhase::FilingBlocked { since } => (
                    "declaration failed or rejected, must be filed again",
                    "申报失败或退单，需重新申报",
                    Some(since),
                ),
                CustomsPhase::Review {
                    since,
                    manual: true,
                } => ("in manual review", "人工审核中", Some(since)),
                CustomsPhase::Review { since, .. } => ("under review", "审核中", Some(since)),
                CustomsPhase::Inspection { since } => ("in inspection", "查验中", Some(since)),
                CustomsPhase::Held { since } => ("held", "扣留中", Some(since)),
                CustomsPhase::AwaitingRelease { since } => {
                    ("waiting for release", "待放行", Some(since))
                }
                CustomsPhase::Released => ("released", "已放行", None),
                CustomsPhase::Returned => ("returned", "已退运", None),
                CustomsPhase::Unknown => ("in an unknown customs state", "海关状态未知", None),
            };
            match (since, en) {
                (Some(since), true) => {
                    write!(out, "{en_text} for {}", duration_text(now - since, lang))
                }
                (Some(since), false) => {
                    write!(out, "{zh_text}{}", duration_text(now - since, lang))
                }
                (None, true) => out.write_str(en_text),
                (None, false) => out.write_str(zh_text),
            }
        }
    };
}

impl Reason {
    /// The reason in words, at `now` (countdowns are computed, not stored).
    pub fn text(&self, now: DateTime<Utc>, lang: Lang) -> String {
        let mut out = String::new();
        let en = lang == Lang::En;
        let (colon, comma) = if en { (": ", ", ") } else { ("：", "，") };
        match *self {
            Reason::None => {}
            Reason::Returned => out.push_str(if en {
                "returned by customs (700): will not leave on this train"
            } else {
                "海关退运 (700)：不随本班列出境"
            }),
            Reason::Held { hold, cutoff } => {
                out.push_str(if en { "held" } else { "扣留" });
                if let Some(hold) = hold {
                    out.push_str(colon);
                    out.push_str(&hold.label(lang));
                }
                if let Some(at) = cutoff {
                    out.push_str(comma);
                    out.push_str(&cutoff_text(Cutoff::CustomsRelease, at, now, lang));
                }
            }
            Reason::CutoffPassed {
                cutoff,
                at,
                waiting_on,
            }
            | Reason::Tight {
                cutoff,
                at,
                waiting_on,
            } => {
                blocker_text(waiting_on, now, lang, &mut out);
                out.push_str(comma);
                out.push_str(&cutoff_text(cutoff, at, now, lang));
            }
            Reason::Unprojectable(blocker) => blocker_text(blocker, now, lang, &mut out),
        }
        out
    }
}
