//! What an officer may ask for, judged before anything is sent: the board's
//! keys and the `hold` command refuse the same things, in the same words.
//! Customs still has the last word (a colleague's claim, a stale version);
//! these are the refusals that need no answer from it.

use crate::domain::{FeedText, Hold, HoldActionKind, Lang, Officer, Role};

/// Why an action is refused before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// This terminal or command takes no actions (`--read-only`, wall).
    ReadOnly,
    /// The token's role may only read (a viewer's).
    MayOnlyRead {
        /// Who.
        officer_id: String,
        /// The role, in words.
        role: Role,
    },
    /// The parcel has no open hold.
    NotHeld(String),
    /// Releasing a claim nobody has.
    NotClaimed(String),
    /// Releasing a colleague's claim, which only a supervisor may do.
    SupervisorOnly {
        /// The parcel.
        declaration_no: String,
        /// Whose claim it is.
        claimed_by: String,
    },
    /// A note without text.
    NoteNeedsText,
}

impl Refusal {
    /// The refusal in words.
    pub fn text(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            Refusal::ReadOnly if zh => "只读：不能操作".to_owned(),
            Refusal::ReadOnly => "read-only: no actions are taken".to_owned(),
            Refusal::MayOnlyRead { officer_id, role } if zh => {
                format!("{officer_id}（{}）只能查看", role.label(lang))
            }
            Refusal::MayOnlyRead { officer_id, role } => {
                format!("{officer_id} ({}) may only read", role.label(lang))
            }
            Refusal::NotHeld(number) if zh => format!("{number} 未被扣留"),
            Refusal::NotHeld(number) => format!("{number} is not held"),
            Refusal::NotClaimed(number) if zh => format!("{number} 无人认领"),
            Refusal::NotClaimed(number) => format!("{number} is not claimed"),
            Refusal::SupervisorOnly {
                declaration_no,
                claimed_by,
            } if zh => format!("只有科长可以取消 {claimed_by} 对 {declaration_no} 的认领"),
            Refusal::SupervisorOnly {
                declaration_no,
                claimed_by,
            } => format!("only a supervisor may release {claimed_by}'s claim on {declaration_no}"),
            Refusal::NoteNeedsText if zh => "备注不能为空".to_owned(),
            Refusal::NoteNeedsText => "a note needs text".to_owned(),
        }
    }

    /// A short machine-readable code, like the contract's.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::ReadOnly => "read_only",
            Refusal::MayOnlyRead { .. } => "forbidden",
            Refusal::NotHeld(_) => "not_held",
            Refusal::NotClaimed(_) => "invalid_action",
            Refusal::SupervisorOnly { .. } => "forbidden",
            Refusal::NoteNeedsText => "invalid_action",
        }
    }
}

/// The consequential actions, which ask `y / n` (or `--yes`) first.
pub fn asks_first(kind: &HoldActionKind) -> bool {
    matches!(
        kind,
        HoldActionKind::RequestPriorityInspection
            | HoldActionKind::Escalate
            | HoldActionKind::DeferToNextTrain
    )
}

/// The role's refusal, if it may not act at all.
pub fn may_act(officer: &Officer) -> Result<(), Refusal> {
    if officer.role.may_act() {
        Ok(())
    } else {
        Err(Refusal::MayOnlyRead {
            officer_id: officer.officer_id.to_string(),
            role: officer.role.clone(),
        })
    }
}

/// A note's text, if it has any.
pub fn note_text(text: Option<&str>) -> Result<FeedText, Refusal> {
    text.filter(|t| !t.trim().is_empty())
        .map(FeedText::new)
        .ok_or(Refusal::NoteNeedsText)
}

/// Whether `officer` may ask for `kind` on the parcel with `hold` (as the
/// feed or customs last showed it); the hold version to expect if so. (A
/// note's text is judged by [`note_text`].)
pub fn check(
    officer: &Officer,
    kind: &HoldActionKind,
    declaration_no: &str,
    hold: Option<&Hold>,
) -> Result<u64, Refusal> {
    may_act(officer)?;
    let hold = hold.ok_or_else(|| Refusal::NotHeld(declaration_no.to_owned()))?;
    if *kind == HoldActionKind::Unclaim {
        match hold.claimed_by.as_deref() {
            None => return Err(Refusal::NotClaimed(declaration_no.to_owned())),
            Some(by) if by != officer.officer_id.as_str() && officer.role != Role::Supervisor => {
                return Err(Refusal::SupervisorOnly {
                    declaration_no: declaration_no.to_owned(),
                    claimed_by: by.to_owned(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(hold.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn officer(id: &str, role: Role) -> Officer {
        Officer {
            officer_id: id.into(),
            name: "Wang Fang".into(),
            role,
        }
    }

    fn hold(claimed_by: Option<&str>, version: u64) -> Hold {
        Hold {
            reason_code: crate::domain::HoldReason::Undervalued,
            reason: "undervalued".into(),
            placed_at: "2026-11-26T03:30:00Z".parse().unwrap(),
            claimed_by: claimed_by.map(Into::into),
            claimed_at: None,
            priority_inspection: false,
            escalated: false,
            defer_requested: false,
            notes: Vec::new(),
            version,
        }
    }

    const NO: &str = "94022026E000012345";

    #[test]
    fn what_needs_no_answer_from_customs_is_refused_here() {
        let wang = officer("ALK-0417", Role::Officer);
        let wall = officer("WALL-1", Role::Viewer);
        let boss = officer("ALK-0001", Role::Supervisor);
        let theirs = hold(Some("ALK-0233"), 4);
        let claim = HoldActionKind::Claim;
        assert_eq!(check(&wang, &claim, NO, Some(&theirs)), Ok(4));
        assert!(matches!(
            check(&wall, &claim, NO, Some(&theirs)),
            Err(Refusal::MayOnlyRead { .. })
        ));
        assert_eq!(
            check(&wang, &claim, NO, None),
            Err(Refusal::NotHeld(NO.into()))
        );
        let unclaim = HoldActionKind::Unclaim;
        let refused = check(&wang, &unclaim, NO, Some(&theirs)).unwrap_err();
        assert_eq!(
            refused.text(Lang::En),
            "only a supervisor may release ALK-0233's claim on 94022026E000012345"
        );
        assert_eq!(check(&boss, &unclaim, NO, Some(&theirs)), Ok(4));
        let mine = hold(Some("ALK-0417"), 5);
        assert_eq!(check(&wang, &unclaim, NO, Some(&mine)), Ok(5));
        assert_eq!(
            check(&wang, &unclaim, NO, Some(&hold(None, 1))),
            Err(Refusal::NotClaimed(NO.into()))
        );
        let note = HoldActionKind::Note;
        assert_eq!(note_text(Some("  ")), Err(Refusal::NoteNeedsText));
        assert_eq!(note_text(None), Err(Refusal::NoteNeedsText));
        assert_eq!(note_text(Some("ok\u{1b}")).unwrap(), "ok");
        assert_eq!(check(&wang, &note, NO, Some(&theirs)), Ok(4));
    }

    #[test]
    fn the_consequential_ones_ask_first() {
        assert!(asks_first(&HoldActionKind::Escalate));
        assert!(!asks_first(&HoldActionKind::Claim));
        assert!(!asks_first(&HoldActionKind::Note));
    }
}
