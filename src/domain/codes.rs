//! The codes and enumerations of the contract, each tolerant of values this
//! version does not know: an unknown value is kept as written (made safe for
//! a terminal, like all [`FeedText`]), shown as "unknown (value)" and
//! written back.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::text::FeedText;

/// The language labels are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

fn unknown_label(lang: Lang, value: &str) -> Cow<'static, str> {
    match lang {
        Lang::En => Cow::Owned(format!("unknown ({value})")),
        Lang::Zh => Cow::Owned(format!("未知 ({value})")),
    }
}

macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, $en:literal, $zh:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not know, kept as written.
            Unknown(FeedText),
        }

        impl $name {
            /// Every value this version knows.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// Reads a value; anything unknown is kept as [`Self::Unknown`].
            pub fn parse(text: &str) -> Self {
                match text {
                    $( $text => $name::$variant, )+
                    other => $name::Unknown(FeedText::new(other)),
                }
            }

            /// The value as written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Unknown(text) => text,
                }
            }

            /// Whether this version knows the value.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }

            /// A label for people, in `lang`.
            pub fn label(&self, lang: Lang) -> Cow<'static, str> {
                match (self, lang) {
                    $(
                        ($name::$variant, Lang::En) => Cow::Borrowed($en),
                        ($name::$variant, Lang::Zh) => Cow::Borrowed($zh),
                    )+
                    ($name::Unknown(text), lang) => unknown_label(lang, text),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = Cow::<str>::deserialize(d)?;
                Ok($name::parse(&text))
            }
        }
    };
}

open_enum!(
    /// Where a train is in its life at the border station.
    TrainStatus {
        /// On the timetable.
        Planned = "planned", "planned", "计划";
        /// Containers are being transshipped and loaded.
        Loading = "loading", "loading", "装车中";
        /// The broad-gauge train is made up and awaiting departure.
        Formed = "formed", "formed", "已编组";
        /// Left the station.
        Departed = "departed", "departed", "已发车";
        /// Will not run.
        Cancelled = "cancelled", "cancelled", "已取消";
    }
);

open_enum!(
    /// Where a container is in the transshipment shed.
    TransshipmentStatus {
        /// Not yet in the shed queue (not arrived, or waiting).
        Pending = "pending", "pending", "待换装";
        /// In the shed queue.
        Queued = "queued", "queued", "排队中";
        /// Being lifted.
        InProgress = "in_progress", "lifting", "换装中";
        /// On a broad-gauge wagon.
        Done = "done", "done", "已换装";
        /// The shed will not move it.
        Blocked = "blocked", "blocked", "受阻";
    }
);

open_enum!(
    /// Where an inspection stands.
    InspectionStatus {
        /// Chosen by risk targeting, not started.
        Selected = "selected", "selected", "已布控";
        /// Under way.
        InProgress = "in_progress", "inspecting", "查验中";
        /// Nothing found.
        Passed = "passed", "passed", "查验正常";
        /// Something found.
        Failed = "failed", "failed", "查验异常";
    }
);

open_enum!(
    /// How a parcel is inspected.
    InspectionMethod {
        /// A paper check.
        Document = "document", "document check", "单证审核";
        /// Machine (X-ray) inspection.
        Xray = "xray", "X-ray", "机检";
        /// Opened and examined.
        Manual = "manual", "manual", "人工查验";
    }
);

open_enum!(
    /// Why a parcel is held.
    HoldReason {
        /// Documents do not match the goods.
        DocMismatch = "DOC_MISMATCH", "documents do not match", "单证不符";
        /// The declared HS code does not match the goods.
        HsMismatch = "HS_MISMATCH", "HS code mismatch", "商品编码不符";
        /// Declared value too low.
        Undervalued = "UNDERVALUED", "undervalued", "低报价格";
        /// The X-ray image shows something unexpected.
        XrayAnomaly = "XRAY_ANOMALY", "X-ray anomaly", "机检图像异常";
        /// Suspected prohibited or restricted goods.
        Prohibited = "PROHIBITED", "suspected prohibited goods", "涉嫌禁限物品";
        /// A party needs a sanctions check.
        SanctionsCheck = "SANCTIONS_CHECK", "sanctions check", "制裁核查";
        /// The weight does not match the declaration.
        WeightMismatch = "WEIGHT_MISMATCH", "weight mismatch", "重量不符";
    }
);

open_enum!(
    /// How a hold ended.
    HoldOutcome {
        /// Back to the flow.
        Released = "released", "released", "放行";
        /// Refused export.
        Returned = "returned", "returned", "退运";
        /// Taken out of the container; misses this train.
        Removed = "removed", "taken out", "掏箱";
    }
);

open_enum!(
    /// What an officer's token may do.
    Role {
        /// Read only (e.g. a wall terminal).
        Viewer = "viewer", "viewer", "只读";
        /// Triage actions on held parcels.
        Officer = "officer", "officer", "关员";
        /// Also releases another officer's claim.
        Supervisor = "supervisor", "supervisor", "科长";
    }
);

impl Role {
    /// Whether the role may write triage actions.
    pub fn may_act(&self) -> bool {
        matches!(self, Role::Officer | Role::Supervisor)
    }
}

open_enum!(
    /// A triage action on a held parcel.
    HoldActionKind {
        /// Take the hold as one's own.
        Claim = "claim", "claim", "认领";
        /// Give up a claim.
        Unclaim = "unclaim", "release claim", "取消认领";
        /// Add a note.
        Note = "note", "note", "备注";
        /// Ask for priority inspection.
        RequestPriorityInspection = "request_priority_inspection", "priority inspection", "优先查验";
        /// Escalate to a supervisor.
        Escalate = "escalate", "escalate", "上报";
        /// Ask for the parcel to go on the next train.
        DeferToNextTrain = "defer_to_next_train", "defer to next train", "改配下一班";
    }
);

open_enum!(
    /// Customs supervision mode of a declaration.
    Procedure {
        /// B2C retail export.
        RetailExport = "9610", "9610 B2C retail export", "9610 跨境电商零售出口";
        /// B2B direct export.
        B2bDirect = "9710", "9710 B2B direct export", "9710 跨境电商B2B直接出口";
        /// Export to an overseas warehouse.
        OverseasWarehouse = "9810", "9810 overseas warehouse", "9810 跨境电商出口海外仓";
    }
);

/// Receipt status of an export inventory (`DOMAIN.md`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReceiptStatus {
    /// 1: saved as a draft at E-Port.
    Stored,
    /// 2: being declared through E-Port.
    Declaring,
    /// 3: delivered to customs.
    SentToCustoms,
    /// 4: delivery to customs failed.
    SendFailed,
    /// 100: rejected; must be corrected and filed again.
    Rejected,
    /// 120: accepted into the customs system.
    Accepted,
    /// 300: manual review by an officer.
    ManualReview,
    /// 399: review concluded.
    ReviewConcluded,
    /// 500: selected for inspection.
    Inspection,
    /// 501: detained, referred to the clearance department.
    DetainedClearance,
    /// 502: detained, referred to the anti-smuggling police.
    DetainedAntiSmuggling,
    /// 503: detained, referred to the legal department.
    DetainedLegal,
    /// 599: detained, other.
    DetainedOther,
    /// 700: returned (refused export).
    Returned,
    /// 800: released.
    Released,
    /// 899: clearance closed.
    Closed,
    /// A negative code: technical processing exception.
    Exception(i32),
    /// A code this version does not know, kept as written.
    Unknown(FeedText),
}

const RECEIPT_CODES: &[(ReceiptStatus, &str, &str, &str)] = &[
    (
        ReceiptStatus::Stored,
        "1",
        "stored at E-Port",
        "电子口岸已暂存",
    ),
    (ReceiptStatus::Declaring, "2", "declaring", "电子口岸申报中"),
    (
        ReceiptStatus::SentToCustoms,
        "3",
        "sent to customs",
        "发送海关成功",
    ),
    (
        ReceiptStatus::SendFailed,
        "4",
        "send failed",
        "发送海关失败",
    ),
    (ReceiptStatus::Rejected, "100", "rejected", "海关退单"),
    (ReceiptStatus::Accepted, "120", "accepted", "海关入库"),
    (
        ReceiptStatus::ManualReview,
        "300",
        "manual review",
        "人工审核",
    ),
    (
        ReceiptStatus::ReviewConcluded,
        "399",
        "review concluded",
        "海关审结",
    ),
    (ReceiptStatus::Inspection, "500", "inspection", "查验"),
    (
        ReceiptStatus::DetainedClearance,
        "501",
        "detained: clearance dept.",
        "扣留移送通关",
    ),
    (
        ReceiptStatus::DetainedAntiSmuggling,
        "502",
        "detained: anti-smuggling",
        "扣留移送缉私",
    ),
    (
        ReceiptStatus::DetainedLegal,
        "503",
        "detained: legal dept.",
        "扣留移送法规",
    ),
    (
        ReceiptStatus::DetainedOther,
        "599",
        "detained: other",
        "其它扣留",
    ),
    (ReceiptStatus::Returned, "700", "returned", "退运"),
    (ReceiptStatus::Released, "800", "released", "放行"),
    (ReceiptStatus::Closed, "899", "clearance closed", "结关"),
];

impl ReceiptStatus {
    /// Every fixed code this version knows (negative codes aside).
    pub fn known() -> impl Iterator<Item = &'static ReceiptStatus> {
        RECEIPT_CODES.iter().map(|(status, ..)| status)
    }

    /// Reads a code. Only the canonical spelling of a known code is
    /// recognised, so that every value is written back exactly as read.
    pub fn parse(code: &str) -> Self {
        if let Some((status, ..)) = RECEIPT_CODES.iter().find(|(_, text, ..)| *text == code) {
            return status.clone();
        }
        match code.parse::<i32>() {
            Ok(n) if n < 0 && n.to_string() == code => ReceiptStatus::Exception(n),
            _ => ReceiptStatus::Unknown(FeedText::new(code)),
        }
    }

    /// The code as written on the wire.
    pub fn code(&self) -> Cow<'_, str> {
        match self {
            ReceiptStatus::Exception(n) => Cow::Owned(n.to_string()),
            ReceiptStatus::Unknown(text) => Cow::Borrowed(text),
            known => Cow::Borrowed(
                RECEIPT_CODES
                    .iter()
                    .find(|(status, ..)| status == known)
                    .map(|(_, text, ..)| *text)
                    .expect("every fixed status has a code"),
            ),
        }
    }

    /// The numeric value of the code, when it is a number.
    pub fn number(&self) -> Option<i32> {
        match self {
            ReceiptStatus::Exception(n) => Some(*n),
            ReceiptStatus::Unknown(text) => text.parse().ok(),
            known => known.code().parse().ok(),
        }
    }

    /// Whether this version knows the code.
    pub fn is_known(&self) -> bool {
        !matches!(self, ReceiptStatus::Unknown(_))
    }

    /// One of the detention codes (501, 502, 503, 599).
    pub fn is_detained(&self) -> bool {
        matches!(
            self,
            ReceiptStatus::DetainedClearance
                | ReceiptStatus::DetainedAntiSmuggling
                | ReceiptStatus::DetainedLegal
                | ReceiptStatus::DetainedOther
        )
    }

    /// Released (800) or closed after release (899).
    pub fn is_released(&self) -> bool {
        matches!(self, ReceiptStatus::Released | ReceiptStatus::Closed)
    }

    /// A label for people, in `lang`.
    pub fn label(&self, lang: Lang) -> Cow<'static, str> {
        match (self, lang) {
            (ReceiptStatus::Exception(n), Lang::En) => {
                Cow::Owned(format!("processing exception ({n})"))
            }
            (ReceiptStatus::Exception(n), Lang::Zh) => Cow::Owned(format!("处理异常 ({n})")),
            (ReceiptStatus::Unknown(text), lang) => unknown_label(lang, text),
            (known, lang) => {
                let (_, _, en, zh) = RECEIPT_CODES
                    .iter()
                    .find(|(status, ..)| status == known)
                    .expect("every fixed status has labels");
                Cow::Borrowed(if lang == Lang::Zh { zh } else { en })
            }
        }
    }
}

impl fmt::Display for ReceiptStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

impl Serialize for ReceiptStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.code())
    }
}

impl<'de> Deserialize<'de> for ReceiptStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = Cow::<str>::deserialize(d)?;
        Ok(ReceiptStatus::parse(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_receipt_code_round_trips_with_both_labels() {
        for status in ReceiptStatus::known() {
            let code = status.code();
            assert_eq!(&ReceiptStatus::parse(&code), status);
            assert!(status.is_known());
            assert!(!status.label(Lang::En).is_empty());
            assert!(!status.label(Lang::Zh).is_empty());
            assert_ne!(status.label(Lang::En), status.label(Lang::Zh));
        }
        assert_eq!(ReceiptStatus::known().count(), 16);
    }

    #[test]
    fn receipt_labels_match_domain_notes() {
        assert_eq!(ReceiptStatus::parse("120").label(Lang::Zh), "海关入库");
        assert_eq!(ReceiptStatus::parse("800").label(Lang::Zh), "放行");
        assert_eq!(ReceiptStatus::parse("502").label(Lang::Zh), "扣留移送缉私");
        assert_eq!(
            ReceiptStatus::parse("399").label(Lang::En),
            "review concluded"
        );
    }

    #[test]
    fn negative_codes_are_processing_exceptions() {
        let status = ReceiptStatus::parse("-3");
        assert_eq!(status, ReceiptStatus::Exception(-3));
        assert_eq!(status.code(), "-3");
        assert_eq!(status.label(Lang::Zh), "处理异常 (-3)");
        assert_eq!(status.number(), Some(-3));
    }

    #[test]
    fn unknown_codes_round_trip_exactly() {
        for code in ["450", "0120", "-03", "+800", " 800", "", "放行"] {
            let status = ReceiptStatus::parse(code);
            assert!(!status.is_known(), "{code:?} should be unknown");
            assert_eq!(status.code(), code);
            let json = serde_json::to_string(&status).unwrap();
            let back: ReceiptStatus = serde_json::from_str(&json).unwrap();
            assert_eq!(back, status);
        }
        assert_eq!(ReceiptStatus::parse("450").label(Lang::En), "unknown (450)");
        assert_eq!(ReceiptStatus::parse("450").number(), Some(450));
    }

    #[test]
    fn unknown_codes_are_made_safe_as_they_are_read() {
        let status: ReceiptStatus = serde_json::from_str(r#""\u001b[2J5\u009b01""#).unwrap();
        assert_eq!(status.code(), "[2J501");
        assert_eq!(status.label(Lang::En), "unknown ([2J501)");
        let role: Role = serde_json::from_str(r#""\u001b]0;boss\u0007""#).unwrap();
        assert_eq!(role.as_str(), "]0;boss");
        assert!(!role.may_act());
    }

    #[test]
    fn open_enums_keep_unknown_values() {
        let status: TransshipmentStatus = serde_json::from_str(r#""weighing""#).unwrap();
        assert_eq!(status, TransshipmentStatus::Unknown("weighing".into()));
        assert_eq!(serde_json::to_string(&status).unwrap(), r#""weighing""#);
        assert_eq!(status.label(Lang::Zh), "未知 (weighing)");
        for known in TrainStatus::KNOWN {
            assert_eq!(&TrainStatus::parse(known.as_str()), known);
        }
        for known in HoldReason::KNOWN {
            assert_eq!(&HoldReason::parse(known.as_str()), known);
            assert!(known.is_known());
        }
    }

    #[test]
    fn roles() {
        assert!(!Role::Viewer.may_act());
        assert!(Role::Officer.may_act());
        assert!(Role::Supervisor.may_act());
        assert!(!Role::parse("auditor").may_act());
    }
}
