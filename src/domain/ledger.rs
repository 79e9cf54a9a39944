//! The books of record (三帐一卡): what each exchanged fact writes into them.
//!
//! No one types a ledger row: a book follows from the messages this node sent and received (the
//! arrivals it registered, the departures it recorded, the events reported either way). A
//! correction is a new fact that names the one it corrects; both stay in the book.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::assessment::Side;
use super::certificate::ContraceptionMethod;
use super::division::parse_node_code;
use super::error::{ErrorCode, FieldError};
use super::id_number::Sex;
use super::marital::MaritalStatus;
use super::message::{Direction, EventKind, MessageBody, PersonRef, PersonRefDraft};
use super::verification::VerificationStatus;

/// A book of record (三帐一卡).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Book {
    /// 育龄妇女卡: the women this node is responsible for, as origin or as residence, and when she
    /// arrived or left.
    Women,
    /// 结婚帐: marriages and divorces.
    Marriages,
    /// 怀孕出生帐: pregnancies and births.
    Births,
    /// 节育手术帐: contraception procedures and the other free basic services (health checks).
    Services,
}

impl Book {
    /// Every book.
    pub const ALL: [Book; 4] = [Self::Women, Self::Marriages, Self::Births, Self::Services];

    /// The stable name, as in `GET /api/v1/ledgers/{book}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Women => "women",
            Self::Marriages => "marriages",
            Self::Births => "births",
            Self::Services => "services",
        }
    }

    /// The book of a stable name.
    pub fn parse(name: &str) -> Option<Book> {
        Self::ALL.into_iter().find(|b| b.as_str() == name)
    }

    /// The name officers know it by.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Women => "育龄妇女卡",
            Self::Marriages => "结婚帐",
            Self::Births => "怀孕出生帐",
            Self::Services => "节育手术帐",
        }
    }
}

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// 流入: she was registered at the residence.
    Arrived,
    /// 流出: she left the origin.
    Left,
    /// 结婚.
    Married,
    /// 离婚.
    Divorced,
    /// 怀孕.
    Pregnant,
    /// 生育.
    Birth,
    /// 节育手术 or service, with its method.
    Contraception,
    /// 生殖健康检查.
    HealthCheck,
}

impl EntryKind {
    /// Every kind.
    pub const ALL: [EntryKind; 8] = [
        Self::Arrived,
        Self::Left,
        Self::Married,
        Self::Divorced,
        Self::Pregnant,
        Self::Birth,
        Self::Contraception,
        Self::HealthCheck,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Arrived => "arrived",
            Self::Left => "left",
            Self::Married => "married",
            Self::Divorced => "divorced",
            Self::Pregnant => "pregnant",
            Self::Birth => "birth",
            Self::Contraception => "contraception",
            Self::HealthCheck => "health_check",
        }
    }

    /// The kind of a stable name.
    pub fn parse(name: &str) -> Option<EntryKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The book an entry of this kind is kept in.
    pub fn book(self) -> Book {
        match self {
            Self::Arrived | Self::Left => Book::Women,
            Self::Married | Self::Divorced => Book::Marriages,
            Self::Pregnant | Self::Birth => Book::Births,
            Self::Contraception | Self::HealthCheck => Book::Services,
        }
    }
}

/// One entry a fact makes in this node's books.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry<'a> {
    pub kind: EntryKind,
    /// As which side of her management this node keeps it.
    pub side: Side,
    pub person: &'a PersonRef,
    /// When it happened (not when it was recorded).
    pub on: NaiveDate,
    /// The method of a contraception entry.
    pub method: Option<ContraceptionMethod>,
    /// Of an arrival: the version of the valid certificate she showed.
    pub certificate: Option<&'a str>,
    /// The message whose entry this one corrects.
    pub corrects: Option<&'a str>,
}

/// The entry a message makes in the books of the node that sent it (`Direction::Out`) or
/// received it (`In`), if any: a residence keeps what it registers and reports, an origin what
/// it records and is told.
pub fn entry_of(body: &MessageBody, direction: Direction) -> Option<LedgerEntry<'_>> {
    // The sender of an arrival notice or an event report is the residence; of a departure, the origin.
    let residence_sent = match direction {
        Direction::Out => Side::Residence,
        Direction::In => Side::Origin,
    };
    let plain = |kind, side, person, on| LedgerEntry {
        kind,
        side,
        person,
        on,
        method: None,
        certificate: None,
        corrects: None,
    };
    match body {
        MessageBody::ArrivalNotice(notice) => {
            let valid = notice.certificate.as_ref().filter(|shown| shown.status == VerificationStatus::Active);
            Some(LedgerEntry {
                certificate: valid.map(|shown| shown.jti.as_str()),
                ..plain(EntryKind::Arrived, residence_sent, &notice.person, notice.arrived_on)
            })
        }
        // The expected residence keeps nothing until she arrives and is registered there.
        MessageBody::DepartureNotice(departure) => (direction == Direction::Out)
            .then(|| plain(EntryKind::Left, Side::Origin, &departure.person, departure.left_on)),
        MessageBody::EventReport(report) => Some(LedgerEntry {
            kind: match report.event {
                EventKind::Birth => EntryKind::Birth,
                EventKind::Marriage => EntryKind::Married,
                EventKind::Divorce => EntryKind::Divorced,
                EventKind::Contraception => EntryKind::Contraception,
                EventKind::Pregnancy => EntryKind::Pregnant,
                EventKind::HealthCheck => EntryKind::HealthCheck,
            },
            side: residence_sent,
            person: &report.person,
            on: report.on,
            method: report.method,
            certificate: None,
            corrects: report.corrects.as_deref(),
        }),
        MessageBody::Inquiry(_)
        | MessageBody::Reply(_)
        | MessageBody::CertificateUpdate(_)
        | MessageBody::Revocation(_) => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::message::{
        ArrivalNotice, DepartureNotice, EventReport, Inquiry, PersonRefDraft, presentation_due,
    };

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn her() -> PersonRef {
        PersonRefDraft { id_number: "130728199003070026".into(), name: "张丽".into() }
            .parse("person", day("2026-12-01"))
            .unwrap()
    }

    fn event(event: EventKind, method: Option<ContraceptionMethod>, corrects: Option<&str>) -> MessageBody {
        MessageBody::EventReport(EventReport {
            person: her(),
            event,
            on: day("2026-11-20"),
            note: None,
            method,
            corrects: corrects.map(str::to_owned),
        })
    }

    #[test]
    fn an_arrival_is_in_both_sides_books_and_a_departure_only_in_the_origin_s() {
        let arrived_on = day("2026-11-03");
        let arrival = MessageBody::ArrivalNotice(ArrivalNotice {
            person: her(),
            arrived_on,
            address: "新安街道".into(),
            presentation_due: presentation_due(arrived_on),
            certificate: None,
        });
        let at_residence = entry_of(&arrival, Direction::Out).unwrap();
        assert_eq!(at_residence.certificate, None, "she showed none");
        assert_eq!(
            (at_residence.kind, at_residence.side, at_residence.on),
            (EntryKind::Arrived, Side::Residence, arrived_on)
        );
        assert_eq!(entry_of(&arrival, Direction::In).unwrap().side, Side::Origin);
        let departure = MessageBody::DepartureNotice(DepartureNotice {
            person: her(),
            left_on: day("2026-10-30"),
            destination: "深圳".into(),
        });
        let at_origin = entry_of(&departure, Direction::Out).unwrap();
        assert_eq!((at_origin.kind.book(), at_origin.side), (Book::Women, Side::Origin));
        assert_eq!(entry_of(&departure, Direction::In), None);
        let inquiry = MessageBody::Inquiry(Inquiry { person: her(), question: "?".into(), urgent: false });
        assert_eq!(entry_of(&inquiry, Direction::Out), None);
    }

    #[test]
    fn a_card_follows_her_arrivals_departures_and_events() {
        let person = her();
        let arrival = |on: &str, side| LedgerEntry { side, ..entry(EntryKind::Arrived, &person, day(on)) };
        let first = WomanCard::after(None, &arrival("2026-11-03", Side::Residence), "130728102000").unwrap();
        assert_eq!(
            (first.side, first.counterpart.as_deref(), first.since, first.marital),
            (Side::Residence, Some("130728102000"), day("2026-11-03"), MaritalStatus::Unstated)
        );
        assert_eq!(WomanCard::after(Some(&first), &arrival("2026-11-03", Side::Residence), "130728102000"), None);
        assert_eq!(
            WomanCard::after(Some(&first), &arrival("2026-10-01", Side::Origin), "440305001000"),
            None,
            "an older move changes nothing"
        );
        let moved = WomanCard::after(Some(&first), &arrival("2026-11-20", Side::Residence), "440305001000").unwrap();
        assert_eq!((moved.counterpart.as_deref(), moved.since), (Some("440305001000"), day("2026-11-20")));
        let married = WomanCard::after(Some(&moved), &entry(EntryKind::Married, &person, day("2026-01-01")), "x");
        let married = married.unwrap();
        assert_eq!((married.marital, married.since), (MaritalStatus::Married, day("2026-11-20")));
        let implant = LedgerEntry {
            method: Some(ContraceptionMethod::Implant),
            ..entry(EntryKind::Contraception, &person, day("2026-11-25"))
        };
        let served = WomanCard::after(Some(&married), &implant, "x").unwrap();
        assert_eq!(served.method, Some(ContraceptionMethod::Implant));
        assert_eq!(WomanCard::after(Some(&served), &entry(EntryKind::Birth, &person, day("2026-11-26")), "x"), None);
        let him = PersonRefDraft { id_number: "110105199003070017".into(), name: "李明".into() };
        let him = him.parse("person", day("2026-12-01")).unwrap();
        assert_eq!(WomanCard::after(None, &entry(EntryKind::Married, &him, day("2026-11-01")), "x"), None);
    }

    fn entry(kind: EntryKind, person: &PersonRef, on: NaiveDate) -> LedgerEntry<'_> {
        LedgerEntry { kind, side: Side::Residence, person, on, method: None, certificate: None, corrects: None }
    }

    #[test]
    fn each_event_goes_to_its_book_with_its_method_and_what_it_corrects() {
        let books = [
            (EventKind::Birth, Book::Births),
            (EventKind::Pregnancy, Book::Births),
            (EventKind::Marriage, Book::Marriages),
            (EventKind::Divorce, Book::Marriages),
            (EventKind::HealthCheck, Book::Services),
        ];
        for (kind, book) in books {
            let body = event(kind, None, None);
            let entry = entry_of(&body, Direction::In).unwrap();
            assert_eq!((entry.kind.book(), entry.side, entry.on), (book, Side::Origin, day("2026-11-20")), "{kind:?}");
        }
        let service = event(EventKind::Contraception, Some(ContraceptionMethod::Implant), Some("m1"));
        let entry = entry_of(&service, Direction::Out).unwrap();
        assert_eq!(
            (entry.kind, entry.side, entry.method, entry.corrects),
            (EntryKind::Contraception, Side::Residence, Some(ContraceptionMethod::Implant), Some("m1"))
        );
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
        }
        for book in Book::ALL {
            assert_eq!(Book::parse(book.as_str()), Some(book));
        }
    }
}

/// The columns of a woman's card (育龄妇女卡) as a township keeps it, in template order: the
/// Chinese header and the field name.
pub const CARD_COLUMNS: [(&str, &str); 7] = [
    ("公民身份号码", "id_number"),
    ("姓名", "name"),
    ("婚姻状况", "marital"),
    ("避孕方法", "method"),
    ("管理方", "side"),
    ("对方节点", "counterpart"),
    ("登记日期", "since"),
];

/// A woman's card (育龄妇女卡) as it stands: who she is, her marital status and contraception,
/// whether this node keeps her as origin or residence, the node on the other side, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WomanCard {
    pub person: PersonRef,
    pub marital: MaritalStatus,
    pub method: Option<ContraceptionMethod>,
    pub side: Side,
    /// Her residence, kept as origin; her origin, kept as residence.
    pub counterpart: Option<String>,
    pub since: NaiveDate,
}

impl WomanCard {
    /// Reads a card from the cells of a row, in [`CARD_COLUMNS`] order, by the domain's rules;
    /// each broken rule names its column's field. A man's ID number has no card.
    pub fn parse(cells: &[&str; 7], today: NaiveDate) -> Result<WomanCard, Vec<FieldError>> {
        let [id_number, name, marital, method, side, counterpart, since] = cells.map(str::trim);
        let person = PersonRefDraft { id_number: id_number.to_owned(), name: name.to_owned() };
        let mut errors = Vec::new();
        let person = person.parse("", today).map_err(|e| errors.extend(e.into_iter().map(unprefixed))).ok();
        if let Some(person) = &person
            && person.id_number.sex() != Sex::F
        {
            errors.push(ErrorCode::CardSex.at("id_number"));
        }
        let marital = MaritalStatus::ALL.into_iter().find(|m| m.code() == marital || m.name_zh() == marital);
        if marital.is_none() {
            errors.push(ErrorCode::CardMarital.at("marital"));
        }
        let method = match method {
            "" => Ok(None),
            given => ContraceptionMethod::parse(given).map(Some).ok_or(()),
        };
        if method.is_err() {
            errors.push(ErrorCode::CardMethod.at("method"));
        }
        let side = match side {
            "origin" | "户籍地" | "流出" => Some(Side::Origin),
            "residence" | "现居住地" | "流入" => Some(Side::Residence),
            _ => None,
        };
        if side.is_none() {
            errors.push(ErrorCode::CardSide.at("side"));
        }
        let counterpart = match counterpart {
            "" => Ok(None),
            given => parse_node_code(given).map(|code| Some(code.as_str().to_owned())).map_err(|_| ()),
        };
        if counterpart.is_err() {
            errors.push(ErrorCode::UnknownNode.at("counterpart"));
        }
        let since = NaiveDate::parse_from_str(since, "%Y-%m-%d").ok();
        match since {
            None => errors.push(ErrorCode::CardDate.at("since")),
            Some(day) if day > today => errors.push(ErrorCode::FutureDate.at("since")),
            Some(_) => {}
        }
        match (person, marital, method, side, counterpart, since) {
            (Some(person), Some(marital), Ok(method), Some(side), Ok(counterpart), Some(since))
                if errors.is_empty() =>
            {
                Ok(WomanCard { person, marital, method, side, counterpart, since })
            }
            _ => Err(errors),
        }
    }
}

impl WomanCard {
    /// Her card after a fact of the books, or `None` when the fact changes nothing: an arrival or
    /// a departure puts her on the entry's side with `counterpart` (the message's other node) from
    /// that day on, unless the card already says something later; a marriage or a divorce sets
    /// her marital status, a contraception its method. A woman without a card gets one with her
    /// first fact, her marital status not stated until a fact says it. A man has no card.
    pub fn after(held: Option<&WomanCard>, entry: &LedgerEntry<'_>, counterpart: &str) -> Option<WomanCard> {
        if entry.person.id_number.sex() != Sex::F {
            return None;
        }
        let mut card = held.cloned().unwrap_or_else(|| WomanCard {
            person: entry.person.clone(),
            marital: MaritalStatus::Unstated,
            method: None,
            side: entry.side,
            counterpart: Some(counterpart.to_owned()),
            since: entry.on,
        });
        match entry.kind {
            EntryKind::Arrived | EntryKind::Left if entry.on >= card.since => {
                card.side = entry.side;
                card.counterpart = Some(counterpart.to_owned());
                card.since = entry.on;
            }
            EntryKind::Married => card.marital = MaritalStatus::Married,
            EntryKind::Divorced => card.marital = MaritalStatus::Divorced,
            EntryKind::Contraception if entry.method.is_some() => card.method = entry.method,
            _ => {}
        }
        (held != Some(&card)).then_some(card)
    }
}

/// A person's field error without the prefix of a nested path: a card's columns are flat.
fn unprefixed(mut error: FieldError) -> FieldError {
    error.field = error.field.trim_start_matches('.').to_owned();
    error
}
