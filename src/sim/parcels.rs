//! The customs side of the simulated world: each parcel's path from filing
//! through review, inspection and holds to release, and the declarations the
//! customs API writes for them.

use chrono::{DateTime, Duration, Utc};
use fastrand::Rng;

use super::catalog;
use super::config::{CustomsConfig, Spread};
use super::paging;
use super::world::{Happening, World, mix};
use crate::domain::event::{
    DeclarationFiled, DeclarationRebooked, HoldChanged, HoldLifted, InspectionChanged,
    StatusChanged,
};
use crate::domain::time::BEIJING;
use crate::domain::{
    CustomsChange, Declaration, DeclarationNo, FeedText, GoodsLine, Hold, HoldOutcome, HoldReason,
    Inspection, InspectionMethod, InspectionStatus, Party, PreNo, Procedure, ReceiptStatus, Status,
};

/// The next step of a parcel's path, waiting on the agenda.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    File,
    Send,
    Retry,
    Accept,
    Refile,
    Recover,
    Review,
    Conclude,
    Select,
    StartInspection,
    CompleteInspection,
    PlaceHold,
    LiftHold,
    Release,
    Close,
}

/// One parcel, compact: its content is derived from `content` on demand.
#[derive(Debug)]
pub(super) struct SimParcel {
    pub train: i64,
    pub container: Option<u32>,
    year: u16,
    pub rng: Rng,
    content: u64,
    hostile: bool,
    unknown_shown: bool,
    pub defer: bool,
    pub status: ReceiptStatus,
    status_at: DateTime<Utc>,
    status_note: Option<FeedText>,
    filed_at: Option<DateTime<Utc>>,
    inspection: Option<Box<Inspection>>,
    pub hold: Option<Box<Hold>>,
    pub seq: u64,
    step: Option<Step>,
    generation: u32,
}

impl SimParcel {
    /// Customs knows the parcel.
    pub fn is_filed(&self) -> bool {
        self.filed_at.is_some()
    }

    /// The year of its inventory number.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// An open hold that needs the container opened.
    pub fn blocks_container(&self) -> bool {
        self.hold.as_ref().is_some_and(|h| {
            matches!(
                h.reason_code,
                HoldReason::XrayAnomaly | HoldReason::Prohibited
            )
        })
    }
}

/// The inventory number of a parcel.
pub(super) fn declaration_no(year: u16, serial: u64) -> String {
    format!("9402{year:04}E{serial:09}")
}

/// The serial of an inventory number this simulator could have written.
fn serial_of(declaration_no: &str) -> Option<u64> {
    if !DeclarationNo::from(declaration_no).is_valid() {
        return None;
    }
    declaration_no[9..].parse().ok()
}

fn detention_code(reason: &HoldReason) -> ReceiptStatus {
    match reason {
        HoldReason::Prohibited => ReceiptStatus::DetainedAntiSmuggling,
        HoldReason::SanctionsCheck => ReceiptStatus::DetainedLegal,
        HoldReason::XrayAnomaly => ReceiptStatus::DetainedOther,
        _ => ReceiptStatus::DetainedClearance,
    }
}

fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

impl World {
    /// Creates a parcel packed in container `id` of train `k`, to be filed
    /// before `departure`.
    pub(super) fn create_parcel(
        &mut self,
        k: i64,
        id: u32,
        departure: DateTime<Utc>,
        rng: &mut Rng,
    ) {
        let t = &self.cfg.timetable;
        let before = if rng.f64() < t.late_filing_share {
            self.cfg
                .minutes(t.release_cutoff_minutes + 20.0 + rng.f64() * 40.0)
        } else {
            self.cfg.draw(rng, t.filing)
        };
        let file_at = (departure - before).max(self.now);
        let serial = self.next_serial;
        self.next_serial += 1;
        let parcel = SimParcel {
            train: k,
            container: Some(id),
            year: self.year(),
            rng: Rng::with_seed(rng.u64(..)),
            content: mix(self.cfg.seed, serial),
            hostile: self.cfg.faults.hostile_text && rng.f64() < 0.05,
            unknown_shown: false,
            defer: false,
            status: ReceiptStatus::Stored,
            status_at: self.now,
            status_note: None,
            filed_at: None,
            inspection: None,
            hold: None,
            seq: 0,
            step: None,
            generation: 0,
        };
        self.parcels.insert(serial, parcel);
        self.pack(serial, id);
        self.schedule_step(serial, Step::File, file_at - self.now);
    }

    fn schedule_step(&mut self, serial: u64, step: Step, after: Duration) {
        let Some(p) = self.parcels.get_mut(&serial) else {
            return;
        };
        p.generation += 1;
        p.step = Some(step);
        let generation = p.generation;
        let at = self.now + after.max(Duration::zero());
        self.schedule(at, Happening::Parcel { serial, generation });
    }

    /// A draw from one of the customs spreads, with the parcel's own dice.
    fn parcel_draw(&mut self, serial: u64, pick: fn(&CustomsConfig) -> Spread) -> Duration {
        let p = self.parcels.get_mut(&serial).expect("known parcel");
        self.cfg.draw(&mut p.rng, pick(&self.cfg.customs))
    }

    /// Schedules the parcel's next step after a draw from one of the
    /// customs spreads.
    fn schedule_drawn(&mut self, serial: u64, step: Step, pick: fn(&CustomsConfig) -> Spread) {
        let after = self.parcel_draw(serial, pick);
        self.schedule_step(serial, step, after);
    }

    fn roll(&mut self, serial: u64, share: f64) -> bool {
        self.parcels
            .get_mut(&serial)
            .is_some_and(|p| p.rng.f64() < share)
    }

    pub(super) fn parcel_step(&mut self, serial: u64, generation: u32) {
        let Some(p) = self.parcels.get_mut(&serial) else {
            return;
        };
        if p.generation != generation {
            return;
        }
        let Some(step) = p.step.take() else { return };
        let c = self.cfg.customs.clone();
        match step {
            Step::File => self.file(serial),
            Step::Send => {
                if self.roll(serial, c.send_failed_share) {
                    self.set_status(
                        serial,
                        ReceiptStatus::SendFailed,
                        Some("报文发送失败 · delivery to customs failed"),
                    );
                    let retry = self.parcel_draw(serial, |c| c.send) * 3;
                    self.schedule_step(serial, Step::Retry, retry);
                } else {
                    self.sent(serial);
                }
            }
            Step::Retry | Step::Recover => self.sent(serial),
            Step::Accept => {
                if self.roll(serial, c.rejected_share) {
                    self.set_status(
                        serial,
                        ReceiptStatus::Rejected,
                        Some("申报要素不全 · declaration incomplete, file again"),
                    );
                    self.schedule_drawn(serial, Step::Refile, |c| c.refile);
                } else if self.roll(serial, c.exception_share) {
                    let code = -(self
                        .parcels
                        .get_mut(&serial)
                        .expect("known parcel")
                        .rng
                        .i32(1..=5));
                    self.set_status(
                        serial,
                        ReceiptStatus::Exception(code),
                        Some("报文处理异常 · message processing exception"),
                    );
                    let recover = self.parcel_draw(serial, |c| c.send) * 2;
                    self.schedule_step(serial, Step::Recover, recover);
                } else {
                    self.set_status(serial, ReceiptStatus::Accepted, None);
                    self.schedule_drawn(serial, Step::Review, |c| c.auto_review);
                }
            }
            Step::Refile => {
                self.set_status(
                    serial,
                    ReceiptStatus::Declaring,
                    Some("已重新申报 · filed again"),
                );
                self.schedule_drawn(serial, Step::Send, |c| c.send);
            }
            Step::Review => {
                if self.roll(serial, c.manual_review_share) {
                    self.set_status(serial, ReceiptStatus::ManualReview, None);
                    self.schedule_drawn(serial, Step::Conclude, |c| c.manual_review);
                } else {
                    self.conclude(serial);
                }
            }
            Step::Conclude => self.conclude(serial),
            Step::Select => self.select_for_inspection(serial),
            Step::StartInspection => {
                self.change_inspection(serial, CustomsChange::InspectionStarted, |i, now| {
                    i.status = InspectionStatus::InProgress;
                    i.started_at = Some(now);
                });
                self.schedule_drawn(serial, Step::CompleteInspection, |c| c.inspection);
            }
            Step::CompleteInspection => {
                let failed = self.roll(serial, c.inspection_fail_share);
                self.change_inspection(serial, CustomsChange::InspectionCompleted, |i, now| {
                    i.status = if failed {
                        InspectionStatus::Failed
                    } else {
                        InspectionStatus::Passed
                    };
                    i.completed_at = Some(now);
                });
                if failed {
                    self.schedule_step(serial, Step::PlaceHold, self.cfg.minutes(2.0));
                } else {
                    self.set_status(
                        serial,
                        ReceiptStatus::ReviewConcluded,
                        Some("查验正常 · inspection passed"),
                    );
                    self.schedule_drawn(serial, Step::Release, |c| c.release);
                }
            }
            Step::PlaceHold => self.place_hold(serial),
            Step::LiftHold => self.lift_hold(serial),
            Step::Release => {
                if self.show_unknown_code(serial) {
                    self.schedule_step(serial, Step::Release, self.cfg.minutes(20.0));
                } else {
                    self.set_status(serial, ReceiptStatus::Released, None);
                }
            }
            Step::Close => self.set_status(serial, ReceiptStatus::Closed, None),
        }
    }

    /// With `unknown_codes` on, a parcel now and then shows a code the
    /// domain notes do not list before it moves on.
    fn show_unknown_code(&mut self, serial: u64) -> bool {
        if !self.cfg.faults.unknown_codes {
            return false;
        }
        let p = self.parcels.get_mut(&serial).expect("known parcel");
        if p.unknown_shown || p.rng.f64() >= 0.15 {
            return false;
        }
        p.unknown_shown = true;
        let code = catalog::UNKNOWN_CODES[p.rng.usize(..catalog::UNKNOWN_CODES.len())];
        self.set_status(
            serial,
            ReceiptStatus::parse(code),
            Some("未定义回执 · receipt not in the code list"),
        );
        true
    }

    fn file(&mut self, serial: u64) {
        let seq = self.customs.next_seq();
        let p = self.parcels.get_mut(&serial).expect("known parcel");
        p.filed_at = Some(self.now);
        p.status = ReceiptStatus::Declaring;
        p.status_at = self.now;
        p.seq = seq;
        self.log_customs(seq, |w| {
            let declaration = w.declaration(serial).expect("just filed");
            CustomsChange::DeclarationFiled(DeclarationFiled {
                declaration: Box::new(declaration),
            })
        });
        self.schedule_drawn(serial, Step::Send, |c| c.send);
    }

    fn sent(&mut self, serial: u64) {
        self.set_status(serial, ReceiptStatus::SentToCustoms, None);
        self.schedule_drawn(serial, Step::Accept, |c| c.accept);
    }

    fn conclude(&mut self, serial: u64) {
        self.set_status(serial, ReceiptStatus::ReviewConcluded, None);
        let c = self.cfg.customs.clone();
        if self.roll(serial, c.inspection_share) {
            self.schedule_step(serial, Step::Select, self.cfg.minutes(1.0));
        } else if self.roll(serial, c.direct_hold_share) {
            self.schedule_step(serial, Step::PlaceHold, self.cfg.minutes(2.0));
        } else {
            self.schedule_drawn(serial, Step::Release, |c| c.release);
        }
    }

    pub(super) fn set_status(&mut self, serial: u64, code: ReceiptStatus, note: Option<&str>) {
        let Some(p) = self.parcels.get_mut(&serial) else {
            return;
        };
        p.status = code;
        p.status_at = self.now;
        p.status_note = note.map(FeedText::new);
        if !p.is_filed() {
            return;
        }
        let seq = self.customs.next_seq();
        p.seq = seq;
        self.log_customs(seq, |w| {
            let p = &w.parcels[&serial];
            CustomsChange::StatusChanged(StatusChanged {
                declaration_no: DeclarationNo::new(declaration_no(p.year, serial)),
                status: Status {
                    code: p.status.clone(),
                    at: w.now,
                    note: p.status_note.clone(),
                },
            })
        });
    }

    fn select_for_inspection(&mut self, serial: u64) {
        self.set_status(serial, ReceiptStatus::Inspection, None);
        let p = self.parcels.get_mut(&serial).expect("known parcel");
        let method = match p.rng.u8(..20) {
            0..=11 => InspectionMethod::Xray,
            12..=16 => InspectionMethod::Document,
            _ => InspectionMethod::Manual,
        };
        p.inspection = Some(Box::new(Inspection {
            status: InspectionStatus::Selected,
            method,
            selected_at: self.now,
            started_at: None,
            completed_at: None,
        }));
        self.change_inspection(serial, CustomsChange::InspectionSelected, |_, _| {});
        self.schedule_drawn(serial, Step::StartInspection, |c| c.inspection_wait);
    }

    fn change_inspection(
        &mut self,
        serial: u64,
        kind: fn(InspectionChanged) -> CustomsChange,
        change: impl FnOnce(&mut Inspection, DateTime<Utc>),
    ) {
        let seq = self.customs.next_seq();
        let now = self.now;
        let p = self.parcels.get_mut(&serial).expect("known parcel");
        let inspection = p.inspection.as_mut().expect("an inspection to change");
        change(inspection, now);
        p.seq = seq;
        self.log_customs(seq, |w| {
            let p = &w.parcels[&serial];
            kind(InspectionChanged {
                declaration_no: DeclarationNo::new(declaration_no(p.year, serial)),
                inspection: p.inspection.as_deref().cloned().expect("just changed"),
            })
        });
    }

    fn place_hold(&mut self, serial: u64) {
        let hostile = self.cfg.faults.hostile_text;
        let p = self.parcels.get_mut(&serial).expect("known parcel");
        let reason_code = match p.inspection.as_ref().map(|i| &i.method) {
            Some(InspectionMethod::Xray) => HoldReason::XrayAnomaly,
            Some(InspectionMethod::Manual) => {
                [HoldReason::Prohibited, HoldReason::WeightMismatch][p.rng.usize(..2)].clone()
            }
            Some(_) => [
                HoldReason::DocMismatch,
                HoldReason::HsMismatch,
                HoldReason::Undervalued,
            ][p.rng.usize(..3)]
            .clone(),
            None => [
                HoldReason::DocMismatch,
                HoldReason::SanctionsCheck,
                HoldReason::Undervalued,
            ][p.rng.usize(..3)]
            .clone(),
        };
        let reason = if hostile && p.rng.f64() < 0.2 {
            super::hostile::text(&mut p.rng)
        } else {
            catalog::hold_reason_text(reason_code.as_str()).into()
        };
        let status = detention_code(&reason_code);
        self.set_status(serial, status, None);
        let hold = Hold {
            reason_code,
            reason,
            placed_at: self.now,
            claimed_by: None,
            claimed_at: None,
            priority_inspection: false,
            escalated: false,
            defer_requested: false,
            notes: Vec::new(),
            version: 1,
        };
        let seq = self.customs.next_seq();
        let p = self.parcels.get_mut(&serial).expect("known parcel");
        p.hold = Some(Box::new(hold.clone()));
        p.seq = seq;
        let number = declaration_no(p.year, serial);
        let blocks = p.blocks_container();
        let container = p.container;
        self.open_holds.insert(serial);
        let placed = CustomsChange::HoldPlaced(HoldChanged {
            declaration_no: DeclarationNo::new(number.clone()),
            hold,
            by: None,
        });
        self.log_customs(seq, |_| placed);
        if let (true, Some(id)) = (blocks, container) {
            self.block_container(
                id,
                format!("海关扣留待开箱 · customs hold on {number}").into(),
            );
        }
        if self.roll(serial, self.cfg.customs.colleague_claim_share) {
            let claim = self.parcel_draw(serial, |c| c.colleague_claim);
            self.schedule(self.now + claim, Happening::ColleagueClaim(serial));
        }
        self.schedule_drawn(serial, Step::LiftHold, |c| c.hold);
    }

    /// Brings a hold's end forward (priority inspection, or a deferral).
    pub(super) fn hasten_hold(&mut self, serial: u64, within: Duration) {
        self.schedule_step(serial, Step::LiftHold, within);
    }

    fn lift_hold(&mut self, serial: u64) {
        let c = self.cfg.customs.clone();
        let p = self.parcels.get_mut(&serial).expect("known parcel");
        if p.hold.is_none() {
            return;
        }
        let dice = p.rng.f64();
        let outcome = if p.defer {
            HoldOutcome::Removed
        } else if dice < c.hold_returned_share {
            HoldOutcome::Returned
        } else if dice < c.hold_returned_share + c.hold_removed_share {
            HoldOutcome::Removed
        } else {
            HoldOutcome::Released
        };
        p.hold = None;
        p.defer = false;
        let seq = self.customs.next_seq();
        p.seq = seq;
        let number = DeclarationNo::new(declaration_no(p.year, serial));
        let old_container = p.container;
        self.open_holds.remove(&serial);
        let lifted = CustomsChange::HoldLifted(HoldLifted {
            declaration_no: number,
            outcome: outcome.clone(),
        });
        self.log_customs(seq, |_| lifted);
        match outcome {
            HoldOutcome::Returned => {
                self.set_status(
                    serial,
                    ReceiptStatus::Returned,
                    Some("退运 · export refused, returned to shipper"),
                );
            }
            HoldOutcome::Removed => {
                self.take_out_for_next_train(serial);
                self.set_status(
                    serial,
                    ReceiptStatus::ReviewConcluded,
                    Some("掏箱改配下一班列 · taken out, next train"),
                );
                self.schedule_drawn(serial, Step::Release, |c| c.release);
            }
            _ => {
                self.set_status(
                    serial,
                    ReceiptStatus::ReviewConcluded,
                    Some("扣留解除 · hold lifted"),
                );
                self.schedule_drawn(serial, Step::Release, |c| c.release);
            }
        }
        if let Some(id) = old_container {
            self.unblock_container_if_clear(id);
        }
    }

    /// Moves a parcel to another train (and container), telling customs if
    /// it knows the parcel.
    pub(super) fn move_parcel(&mut self, serial: u64, to: i64, container: Option<u32>) {
        let Some(p) = self.parcels.get(&serial) else {
            return;
        };
        let old = p.container;
        if old != container {
            if let Some(id) = old {
                self.unpack(serial, id);
            }
            if let Some(id) = container {
                self.pack(serial, id);
            }
        }
        let p = self.parcels.get_mut(&serial).expect("known parcel");
        p.train = to;
        p.container = container;
        if !p.is_filed() {
            return;
        }
        let seq = self.customs.next_seq();
        p.seq = seq;
        self.log_customs(seq, |w| {
            CustomsChange::DeclarationRebooked(DeclarationRebooked {
                declaration_no: DeclarationNo::new(declaration_no(w.parcels[&serial].year, serial)),
                train_id: w.train_id_of(to).expect("rebooked onto a known train"),
                container_no: container.and_then(|id| w.container_no_of(id)),
            })
        });
    }

    /// The parcel's container left on its train: a released parcel goes
    /// with it and is closed later; one not released is taken out for the
    /// next train.
    pub(super) fn parcel_departs(&mut self, serial: u64) {
        let Some(p) = self.parcels.get(&serial) else {
            return;
        };
        match p.status {
            ReceiptStatus::Released => {
                self.schedule_drawn(serial, Step::Close, |c| c.close);
            }
            ReceiptStatus::Returned | ReceiptStatus::Closed => {}
            _ => self.take_out_for_next_train(serial),
        }
    }

    /// Takes a parcel out of its container for the next train that still
    /// takes containers.
    fn take_out_for_next_train(&mut self, serial: u64) {
        let next = self.next_train(self.parcels[&serial].train);
        let container = self.container_for(next, serial);
        self.move_parcel(serial, next, container);
    }

    // ----- simulated colleagues ------------------------------------------

    pub(super) fn colleague_claim(&mut self, serial: u64) {
        let Some(p) = self.parcels.get_mut(&serial) else {
            return;
        };
        let Some(hold) = &p.hold else { return };
        if hold.claimed_by.is_some() {
            return;
        }
        let officer = catalog::COLLEAGUES[p.rng.usize(..catalog::COLLEAGUES.len())];
        self.apply_hold_action(serial, officer, &crate::domain::HoldActionKind::Claim, None);
        let note = self.parcel_draw(serial, |c| c.colleague_claim);
        self.schedule(self.now + note, Happening::ColleagueNote(serial));
    }

    pub(super) fn colleague_note(&mut self, serial: u64) {
        let hostile = self.cfg.faults.hostile_text;
        let Some(p) = self.parcels.get_mut(&serial) else {
            return;
        };
        let Some(officer) = p.hold.as_ref().and_then(|h| h.claimed_by.clone()) else {
            return;
        };
        if !catalog::COLLEAGUES.contains(&officer.as_str()) {
            return;
        }
        let text = if hostile && p.rng.f64() < 0.3 {
            super::hostile::text(&mut p.rng)
        } else {
            catalog::NOTES[p.rng.usize(..catalog::NOTES.len())].into()
        };
        self.apply_hold_action(
            serial,
            &officer,
            &crate::domain::HoldActionKind::Note,
            Some(text),
        );
    }

    // ----- snapshots -------------------------------------------------------

    /// A filed parcel's declaration, as the customs API writes it.
    pub(super) fn declaration(&self, serial: u64) -> Option<Declaration> {
        let p = self.parcels.get(&serial)?;
        let filed_at = p.filed_at?;
        let mut rng = Rng::with_seed(p.content);
        let enterprise = catalog::enterprise(self.cfg.seed, rng.u32(..400));
        let logistics = rng.usize(..catalog::LOGISTICS.len());
        let (logistics_code, logistics_name) = catalog::LOGISTICS[logistics];
        let mut waybill = FeedText::from(catalog::waybill(&mut rng, logistics));
        let procedure = match rng.u8(..20) {
            0..=16 => Procedure::RetailExport,
            17..=18 => Procedure::B2bDirect,
            _ => Procedure::OverseasWarehouse,
        };
        let mut ebc_name = FeedText::from(enterprise.name);
        let mut total_cents = 0u64;
        let mut grams = 0u64;
        let mut goods: Vec<GoodsLine> = (1..=rng.u32(1..=3))
            .map(|line| {
                let g = &catalog::GOODS[rng.usize(..catalog::GOODS.len())];
                let qty = u64::from(rng.u32(1..=12));
                let cents = qty * u64::from(rng.u32(g.unit_cents.0..=g.unit_cents.1));
                total_cents += cents;
                grams += qty * u64::from(g.unit_grams);
                GoodsLine {
                    line,
                    hs_code: g.hs_code.into(),
                    name: g.name.into(),
                    qty: qty as f64,
                    unit: Some(g.unit.into()),
                    value: money(cents).into(),
                    currency: "USD".into(),
                }
            })
            .collect();
        if p.hostile {
            match rng.u8(..3) {
                0 => goods[0].name = super::hostile::text(&mut rng),
                1 => ebc_name = super::hostile::text(&mut rng),
                _ => waybill = super::hostile::text(&mut rng),
            }
        }
        let filed_day = filed_at.with_timezone(&BEIJING).format("%Y%m%d");
        Some(Declaration {
            declaration_no: DeclarationNo::new(declaration_no(p.year, serial)),
            pre_no: Some(PreNo::new(format!(
                "B{filed_day}{:09}",
                serial % 1_000_000_000
            ))),
            waybill_no: waybill,
            procedure,
            ebc: Party {
                code: enterprise.code.into(),
                name: ebc_name,
            },
            logistics: Some(Party {
                code: logistics_code.into(),
                name: logistics_name.into(),
            }),
            origin_region: Some(enterprise.region.into()),
            destination_country: Some("UZ".into()),
            train_id: self.train_id_of(p.train),
            container_no: p.container.and_then(|id| self.container_no_of(id)),
            goods,
            total_value: Some(money(total_cents).into()),
            currency: Some("USD".into()),
            gross_weight_kg: Some(format!("{}.{:03}", grams / 1000, grams % 1000).into()),
            filed_at: Some(filed_at),
            status: Status {
                code: p.status.clone(),
                at: p.status_at,
                note: p.status_note.clone(),
            },
            inspection: p.inspection.as_deref().cloned(),
            hold: p.hold.as_deref().cloned(),
            seq: p.seq,
        })
    }

    /// Filed declarations in inventory-number order after the page token:
    /// those of trains not yet gone, or all of one train.
    pub fn declaration_page(
        &self,
        train_id: Option<&str>,
        after: Option<u64>,
        size: usize,
    ) -> (Vec<Declaration>, Option<String>) {
        let train = train_id.map(|id| self.train_key(id));
        let start = after.map_or(0, |s| s.saturating_add(1));
        let mut matching = self.parcels.range(start..).filter(|(_, p)| {
            p.is_filed()
                && match train {
                    Some(Some(k)) => p.train == k,
                    Some(None) => false,
                    None => !self.train_gone(p.train),
                }
        });
        let page: Vec<u64> = matching.by_ref().take(size).map(|(s, _)| *s).collect();
        let next = match (page.last(), matching.next()) {
            (Some(last), Some(_)) => Some(paging::token(*last)),
            _ => None,
        };
        let declarations = page
            .into_iter()
            .filter_map(|s| self.declaration(s))
            .collect();
        (declarations, next)
    }

    /// One declaration by inventory number.
    pub fn declaration_by_no(&self, number: &str) -> Option<Declaration> {
        self.declaration(self.filed_serial(number)?)
    }

    /// The serial of the filed parcel with this inventory number.
    pub(super) fn filed_serial(&self, number: &str) -> Option<u64> {
        let serial = serial_of(number)?;
        let p = self.parcels.get(&serial)?;
        (p.is_filed() && declaration_no(p.year, serial) == number).then_some(serial)
    }

    /// Held declarations, most urgent train first (earliest release
    /// cut-off), after position `after` (cut-off millis, serial).
    pub fn holds_page(
        &self,
        after: Option<(u64, u64)>,
        size: usize,
    ) -> (Vec<Declaration>, Option<String>) {
        let mut held: Vec<(u64, u64)> = self
            .open_holds
            .iter()
            .filter_map(|serial| {
                let p = self.parcels.get(serial)?;
                let cutoff = self.release_cutoff(p.train)?;
                let millis = u64::try_from(cutoff.timestamp_millis()).unwrap_or(0);
                p.is_filed().then_some((millis, *serial))
            })
            .collect();
        held.sort_unstable();
        let start = after.map_or(0, |after| held.partition_point(|h| *h <= after));
        let page = &held[start..held.len().min(start + size)];
        let next = (start + page.len() < held.len())
            .then(|| page.last().map(|(c, s)| paging::pair_token(*c, *s)))
            .flatten();
        let declarations = page
            .iter()
            .filter_map(|(_, s)| self.declaration(*s))
            .collect();
        (declarations, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{StageInputs, StageState, stage_path};
    use crate::sim::config::SimConfig;

    fn start() -> DateTime<Utc> {
        "2026-11-26T03:30:00Z".parse().unwrap()
    }

    #[test]
    fn inventory_numbers_round_trip() {
        let number = declaration_no(2026, 12345);
        assert_eq!(number, "94022026E000012345");
        assert_eq!(serial_of(&number), Some(12345));
        assert_eq!(serial_of("94022026X000012345"), None);
        assert_eq!(serial_of("nonsense"), None);
    }

    #[test]
    fn declarations_look_real_and_are_valid() {
        let world = World::new(&SimConfig::default(), start());
        let (page, _) = world.declaration_page(None, None, 500);
        assert!(!page.is_empty());
        for d in &page {
            assert!(d.declaration_no.is_valid(), "{}", d.declaration_no);
            assert!(d.pre_no.as_ref().unwrap().is_valid());
            assert!(d.container_no.as_ref().unwrap().is_valid());
            assert!(!d.goods.is_empty());
            assert!(d.ebc.name.ends_with("公司"), "{}", d.ebc.name);
            let total: u64 = d
                .goods
                .iter()
                .map(|g| g.value.replace('.', "").parse::<u64>().unwrap())
                .sum();
            assert_eq!(money(total), *d.total_value.as_ref().unwrap());
        }
    }

    #[test]
    fn defaults_give_every_path_somewhere_on_the_board() {
        let mut world = World::new(&SimConfig::default(), start());
        world.advance_to(start() + Duration::minutes(30));
        let (page, _) = world.declaration_page(None, None, 1_000_000);
        let codes: std::collections::BTreeSet<String> = page
            .iter()
            .map(|d| d.status.code.code().into_owned())
            .collect();
        for code in ["2", "3", "120", "399", "800"] {
            assert!(codes.contains(code), "no parcel at {code}: {codes:?}");
        }
        assert!(page.iter().any(|d| d.hold.is_some()), "no holds");
        assert!(
            page.iter().any(|d| d.inspection.is_some()),
            "no inspections"
        );
        // Holds and detention codes go together.
        for d in &page {
            let path = stage_path(StageInputs {
                status: &d.status.code,
                inspection: d.inspection.as_ref().map(|i| &i.status),
                hold_open: d.hold.is_some(),
                transshipment: None,
            });
            if d.hold.is_some() {
                assert!(d.status.code.is_detained(), "{:?}", d.status);
                assert_eq!(
                    path.state(crate::domain::Stage::Inspection),
                    StageState::Blocked
                );
            }
        }
    }

    #[test]
    fn holds_are_listed_most_urgent_first_and_page_cleanly() {
        let mut world = World::new(&SimConfig::default(), start());
        world.advance_to(start() + Duration::minutes(45));
        let (all, none) = world.holds_page(None, 10_000);
        assert!(none.is_none());
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = world.holds_page(after, 2);
            paged.extend(page);
            match next {
                Some(token) => after = paging::pair_position(&token),
                None => break,
            }
        }
        assert_eq!(paged, all);
        assert!(all.iter().all(|d| d.hold.is_some()));
    }
}
