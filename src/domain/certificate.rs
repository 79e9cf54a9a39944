//! Content rules of the 婚育证明 (marriage-and-childbearing certificate); field names follow DESIGN §5.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::calendar::parse_iso_date;
use super::division::{DivisionCode, DivisionError, DivisionLevel};
use super::error::{Coded, FieldError};
use super::id_number::{self, IdNumber, Sex};
use super::marital::MaritalStatus;

/// 育龄: the certificate is for women aged 18 to 49 (成年育龄妇女).
const MIN_AGE: u32 = 18;
/// She leaves childbearing age on her 50th birthday, and the certificate lapses then.
const END_AGE: u32 = 50;
/// A child born before the mother turned 14 is a data-entry error.
const MIN_MOTHER_AGE: u32 = 14;
/// Longest name accepted, in characters.
pub const NAME_MAX_CHARS: usize = 50;
/// Most children a certificate lists (`maxItems` of the certificate schema).
pub const MAX_CHILDREN: usize = 20;
/// Longest reason for a revocation (注销原因), in characters.
pub const REVOCATION_REASON_MAX_CHARS: usize = 500;
/// Ordinary validity.
const YEARS_VALID: u32 = 3;
/// Validity with long-acting contraception.
const YEARS_VALID_LONG_ACTING: u32 = 6;

// ---------------------------------------------------------------------------------------------
// Raw input: all strings, so each bad value becomes a field-specific error, not a serde error.

/// Raw certificate input as posted by an officer (the payload objects without the node's claims).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateDraft {
    /// The holder.
    pub person: PersonDraft,
    /// 婚姻状况 and spouse.
    pub marital: MaritalDraft,
    /// 生育状况: her children, if any.
    #[serde(default)]
    pub children: Vec<ChildDraft>,
    /// 节育措施, if stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contraception: Option<ContraceptionDraft>,
}

/// Raw holder data; Debug masks the ID number.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonDraft {
    /// 姓名.
    pub name: String,
    /// 公民身份号码.
    pub id_number: String,
    /// `F` or `M`.
    pub sex: String,
    /// `YYYY-MM-DD`; must agree with the ID number when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// 户籍地 12-digit 区划代码.
    pub hukou: String,
    /// 民族 code per GB 3304.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<String>,
}

/// Raw 婚姻状况.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaritalDraft {
    /// GB/T 2261.2 code.
    pub status: String,
    /// `YYYY-MM-DD` since when the status holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// 配偶, required for married statuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spouse: Option<SpouseDraft>,
}

/// Raw 配偶 data; Debug masks the ID number.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpouseDraft {
    /// 姓名.
    pub name: String,
    /// 公民身份号码.
    pub id_number: String,
}

/// Raw child entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildDraft {
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `F` or `M`.
    pub sex: String,
    /// 孩次: 1 for the first child.
    pub order: u32,
}

/// Raw 节育措施.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContraceptionDraft {
    /// One of the [`ContraceptionMethod`] wire names.
    pub method: String,
    /// `YYYY-MM-DD` since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

impl fmt::Debug for PersonDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonDraft")
            .field("name", &self.name)
            .field("id_number", &super::id_number::mask(&self.id_number))
            .field("sex", &self.sex)
            .field("birth_date", &self.birth_date)
            .field("hukou", &self.hukou)
            .field("ethnicity", &self.ethnicity)
            .finish()
    }
}

impl fmt::Debug for SpouseDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpouseDraft")
            .field("name", &self.name)
            .field("id_number", &super::id_number::mask(&self.id_number))
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Validated content: serialises to exactly the payload objects of DESIGN §5.

/// Validated certificate content; built only by [`CertificateContent::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateContent {
    /// The holder.
    pub person: Person,
    /// 婚姻状况.
    pub marital: Marital,
    /// 生育状况, ordered as given.
    pub children: Vec<Child>,
    /// 节育措施.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contraception: Option<Contraception>,
}

/// The holder, a woman of childbearing age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    /// 姓名, trimmed.
    pub name: String,
    /// 公民身份号码 (serialised in full).
    pub id_number: IdNumber,
    /// Always `F` once validated.
    pub sex: Sex,
    /// 出生日期, from the ID number.
    pub birth_date: NaiveDate,
    /// 户籍地 at county, township or village level.
    pub hukou: DivisionCode,
    /// 民族 GB 3304 code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<String>,
}

/// 婚姻状况 with its date and spouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Marital {
    /// GB/T 2261.2 status.
    pub status: MaritalStatus,
    /// Since when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<NaiveDate>,
    /// 配偶, present exactly when married.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spouse: Option<Spouse>,
}

/// 配偶.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Spouse {
    /// 姓名, trimmed.
    pub name: String,
    /// 公民身份号码 (serialised in full).
    pub id_number: IdNumber,
}

/// One child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Child {
    /// 出生日期.
    pub birth_date: NaiveDate,
    /// 性别.
    pub sex: Sex,
    /// 孩次, 1..n over all children.
    pub order: u32,
}

/// 节育措施.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contraception {
    /// The method.
    pub method: ContraceptionMethod,
    /// Since when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<NaiveDate>,
}

/// 避孕节育方法, as named on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContraceptionMethod {
    /// 未采取措施.
    None,
    /// 宫内节育器 (IUD), long-acting.
    Iud,
    /// 皮下埋植, long-acting.
    Implant,
    /// 避孕针.
    Injection,
    /// 口服避孕药.
    Pill,
    /// 避孕套.
    Condom,
    /// 输卵管结扎, long-acting (permanent).
    TubalLigation,
    /// 输精管结扎 (the husband's).
    Vasectomy,
    /// 其他.
    Other,
}

impl ContraceptionMethod {
    /// Every method, in wire order.
    pub const ALL: [ContraceptionMethod; 9] = [
        ContraceptionMethod::None,
        ContraceptionMethod::Iud,
        ContraceptionMethod::Implant,
        ContraceptionMethod::Injection,
        ContraceptionMethod::Pill,
        ContraceptionMethod::Condom,
        ContraceptionMethod::TubalLigation,
        ContraceptionMethod::Vasectomy,
        ContraceptionMethod::Other,
    ];

    /// The wire name, e.g. `tubal_ligation`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContraceptionMethod::None => "none",
            ContraceptionMethod::Iud => "iud",
            ContraceptionMethod::Implant => "implant",
            ContraceptionMethod::Injection => "injection",
            ContraceptionMethod::Pill => "pill",
            ContraceptionMethod::Condom => "condom",
            ContraceptionMethod::TubalLigation => "tubal_ligation",
            ContraceptionMethod::Vasectomy => "vasectomy",
            ContraceptionMethod::Other => "other",
        }
    }

    /// Parses a wire name.
    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == input)
    }

    /// Long-acting methods (IUD, implant, tubal ligation) extend validity to 6 years.
    pub fn is_long_acting(&self) -> bool {
        matches!(self, ContraceptionMethod::Iud | ContraceptionMethod::Implant | ContraceptionMethod::TubalLigation)
    }
}

// ---------------------------------------------------------------------------------------------
// Dates.

/// Same month and day `years` later; 29 Feb becomes 1 Mar in a non-leap year (saturates at the max date).
pub fn anniversary(date: NaiveDate, years: u32) -> NaiveDate {
    let Some(year) = i32::try_from(years).ok().and_then(|y| date.year().checked_add(y)) else {
        return NaiveDate::MAX;
    };
    NaiveDate::from_ymd_opt(year, date.month(), date.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .unwrap_or(NaiveDate::MAX)
}

/// Completed years from `birth` to `on`: the largest n with `anniversary(birth, n) <= on` (0 before birth).
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    let years = u32::try_from(on.year() - birth.year()).unwrap_or(0);
    if years > 0 && anniversary(birth, years) > on { years - 1 } else { years }
}

/// The day before `date` (itself at the minimum date, which no certificate reaches).
fn day_before(date: NaiveDate) -> NaiveDate {
    date.pred_opt().unwrap_or(date)
}

// ---------------------------------------------------------------------------------------------
// Rules and their messages.

/// Each content rule with its stable code; field paths are given where the rule is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Name,
    Sex,
    SexMismatch,
    BirthDate,
    Ethnicity,
    NotFemale,
    Age,
    MaritalStatus,
    SpouseRequired,
    SpouseUnexpected,
    SpouseSamePerson,
    MaritalSince,
    ChildBirthDate,
    ChildSex,
    ChildOrder,
    ChildCount,
    ContraceptionMethod,
    ContraceptionSince,
}

impl Coded for Rule {
    /// Code, Chinese and English message: the one table for this module.
    fn texts(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            Rule::Name => (
                "name.invalid",
                "姓名应为1至50个字符，且不含控制字符",
                "name must be 1 to 50 characters without control characters",
            ),
            Rule::Sex => ("person.sex", "性别应为F或M", "sex must be F or M"),
            Rule::SexMismatch => {
                ("person.sex_mismatch", "性别与公民身份号码不符", "sex does not match the citizen ID number")
            }
            Rule::BirthDate => (
                "person.birth_date",
                "出生日期应为YYYY-MM-DD格式，且与公民身份号码一致",
                "birth date must be a YYYY-MM-DD date equal to the one in the citizen ID number",
            ),
            Rule::Ethnicity => (
                "person.ethnicity",
                "民族代码应为GB 3304中的01至56、97或98",
                "ethnicity must be a GB 3304 code: 01 to 56, 97 or 98",
            ),
            Rule::NotFemale => {
                ("certificate.not_female", "婚育证明只发给女性", "the certificate is issued to women only")
            }
            Rule::Age => (
                "certificate.age",
                "持证人在签发日应为18至49周岁",
                "the holder must be aged 18 to 49 on the issue date",
            ),
            Rule::MaritalStatus => (
                "marital.status",
                "婚姻状况应为GB/T 2261.2代码（10、20、21、22、23、30、40、90）",
                "marital status must be a GB/T 2261.2 code (10, 20, 21, 22, 23, 30, 40, 90)",
            ),
            Rule::SpouseRequired => {
                ("marital.spouse_required", "已婚须填写配偶信息", "a married status requires the spouse")
            }
            Rule::SpouseUnexpected => {
                ("marital.spouse_unexpected", "非在婚状况不应填写配偶信息", "only a married status may name a spouse")
            }
            Rule::SpouseSamePerson => (
                "marital.spouse.same_person",
                "配偶的公民身份号码不能与本人相同",
                "the spouse's citizen ID number must differ from the holder's",
            ),
            Rule::MaritalSince => (
                "marital.since",
                "婚姻状况起始日期应为YYYY-MM-DD格式，不早于出生日期，不晚于签发日期",
                "marital status date must be a YYYY-MM-DD date between birth and the issue date",
            ),
            Rule::ChildBirthDate => (
                "child.birth_date",
                "子女出生日期应为YYYY-MM-DD格式，晚于母亲满14周岁之日，不晚于签发日期",
                "child's birth date must be a YYYY-MM-DD date after the mother's 14th birthday and not after the issue date",
            ),
            Rule::ChildSex => ("child.sex", "子女性别应为F或M", "child's sex must be F or M"),
            Rule::ChildOrder => (
                "child.order",
                "子女孩次应为从1起连续不重复的编号",
                "children's orders must be 1 to n without gaps or duplicates",
            ),
            Rule::ChildCount => ("child.count", "子女不超过20人", "at most 20 children"),
            Rule::ContraceptionMethod => (
                "contraception.method",
                "节育措施应为none、iud、implant、injection、pill、condom、tubal_ligation、vasectomy或other",
                "contraception method must be one of none, iud, implant, injection, pill, condom, tubal_ligation, vasectomy, other",
            ),
            Rule::ContraceptionSince => (
                "contraception.since",
                "节育措施起始日期应为YYYY-MM-DD格式，不早于出生日期，不晚于签发日期",
                "contraception date must be a YYYY-MM-DD date between birth and the issue date",
            ),
        }
    }
}

/// A person's name (姓名): trimmed, 1–50 characters, no control characters.
pub fn parse_name(raw: &str, field: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    let n = name.chars().count();
    if (1..=NAME_MAX_CHARS).contains(&n) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(Rule::Name.to_field_error(field))
    }
}

/// What the rules about spouse, children and dates need of the holder.
struct Holder {
    /// Her ID number, if valid.
    id: Option<IdNumber>,
    /// Her birth date: from the ID number, else from the stated birth date.
    birth: Option<NaiveDate>,
}

/// Collects every broken rule of one draft.
struct Checker {
    issue_date: NaiveDate,
    errors: Vec<FieldError>,
}

impl Checker {
    /// Keeps `value`, or records `rule` at `field` when it is missing.
    fn require<T>(&mut self, value: Option<T>, rule: Rule, field: &str) -> Option<T> {
        if value.is_none() {
            self.errors.push(rule.to_field_error(field));
        }
        value
    }

    /// Name trimmed, 1–50 characters, no control characters.
    fn name(&mut self, raw: &str, field: &str) -> Option<String> {
        parse_name(raw, field).map_err(|e| self.errors.push(e)).ok()
    }

    /// A citizen ID number, its id_number.* code at `field` when invalid.
    fn id_number(&mut self, raw: &str, field: &str) -> Option<IdNumber> {
        id_number::parse(raw, self.issue_date).map_err(|e| self.errors.push(e.to_field_error(field))).ok()
    }

    /// An optional `YYYY-MM-DD` date within `[earliest, issue date]` (no lower bound when unknown).
    /// Outer `None` means invalid (error recorded).
    fn date_in_range(
        &mut self,
        raw: Option<&str>,
        earliest: Option<NaiveDate>,
        rule: Rule,
        field: &str,
    ) -> Option<Option<NaiveDate>> {
        let Some(raw) = raw else {
            return Some(None);
        };
        let date = parse_iso_date(raw).filter(|d| earliest.is_none_or(|e| *d >= e) && *d <= self.issue_date);
        self.require(date, rule, field).map(Some)
    }

    /// The holder, plus what later rules need of her even when another person field is bad.
    fn person(&mut self, d: &PersonDraft) -> (Option<Person>, Holder) {
        let name = self.name(&d.name, "person.name");
        let id = self.id_number(&d.id_number, "person.id_number");
        let sex = self.require(Sex::parse(&d.sex), Rule::Sex, "person.sex");
        if id.as_ref().zip(sex).is_some_and(|(id, sex)| id.sex() != sex) {
            self.errors.push(Rule::SexMismatch.to_field_error("person.sex"));
        }

        let stated_birth = match d.birth_date.as_deref() {
            None => None,
            Some(raw) => {
                let date = parse_iso_date(raw).filter(|b| id.as_ref().is_none_or(|id| id.birth_date() == *b));
                self.require(date, Rule::BirthDate, "person.birth_date")
            }
        };
        let birth = id.as_ref().map(IdNumber::birth_date).or(stated_birth);

        let hukou = DivisionCode::parse(&d.hukou)
            .and_then(|c| match c.level() {
                DivisionLevel::Province | DivisionLevel::Prefecture => Err(DivisionError::Level),
                _ => Ok(c),
            })
            .map_err(|e| self.errors.push(e.to_field_error("person.hukou")))
            .ok();

        let ethnicity = match &d.ethnicity {
            None => Some(None),
            Some(raw) => {
                self.require(is_ethnicity(raw).then(|| raw.clone()), Rule::Ethnicity, "person.ethnicity").map(Some)
            }
        };

        // 婚育证明 is for women of childbearing age.
        let male = sex == Some(Sex::M) || id.as_ref().is_some_and(|id| id.sex() == Sex::M);
        if male {
            self.errors.push(Rule::NotFemale.to_field_error("person.sex"));
        }
        if birth.is_some_and(|b| !(MIN_AGE..END_AGE).contains(&age_on(b, self.issue_date))) {
            self.errors.push(Rule::Age.to_field_error("person.birth_date"));
        }

        let holder = Holder { id: id.clone(), birth };
        let person = match (name, id, sex, hukou, ethnicity) {
            (Some(name), Some(id), Some(sex), Some(hukou), Some(ethnicity)) => {
                Some(Person { name, birth_date: id.birth_date(), id_number: id, sex, hukou, ethnicity })
            }
            _ => None,
        };
        (person, holder)
    }

    /// 婚姻状况, spouse and date; `holder` is her own ID to tell the spouse apart.
    fn marital(&mut self, d: &MaritalDraft, holder: Option<&IdNumber>, birth: Option<NaiveDate>) -> Option<Marital> {
        let status = self.require(MaritalStatus::parse(&d.status), Rule::MaritalStatus, "marital.status");
        match (status, &d.spouse) {
            (Some(s), None) if s.is_married() => {
                self.errors.push(Rule::SpouseRequired.to_field_error("marital.spouse"));
            }
            (Some(s), Some(_)) if !s.is_married() => {
                self.errors.push(Rule::SpouseUnexpected.to_field_error("marital.spouse"));
            }
            _ => {}
        }
        let spouse = match &d.spouse {
            None => Some(None),
            Some(sd) => {
                let name = self.name(&sd.name, "marital.spouse.name");
                let id = self.id_number(&sd.id_number, "marital.spouse.id_number").filter(|id| {
                    let same = holder == Some(id);
                    if same {
                        self.errors.push(Rule::SpouseSamePerson.to_field_error("marital.spouse.id_number"));
                    }
                    !same
                });
                match (name, id) {
                    (Some(name), Some(id_number)) => Some(Some(Spouse { name, id_number })),
                    _ => None,
                }
            }
        };
        let since = self.date_in_range(d.since.as_deref(), birth, Rule::MaritalSince, "marital.since");
        Some(Marital { status: status?, since: since?, spouse: spouse? })
    }

    /// Children, each born after the mother turned 14; orders exactly 1..n.
    fn children(&mut self, drafts: &[ChildDraft], birth: Option<NaiveDate>) -> Option<Vec<Child>> {
        if drafts.len() > MAX_CHILDREN {
            self.errors.push(Rule::ChildCount.to_field_error("children"));
            return None;
        }
        let earliest = birth.map(|b| anniversary(b, MIN_MOTHER_AGE)).and_then(|d| d.succ_opt());
        let mut children = Some(Vec::with_capacity(drafts.len()));
        for (i, c) in drafts.iter().enumerate() {
            let field = format!("children[{i}].birth_date");
            let birth_date = self.date_in_range(Some(&c.birth_date), earliest, Rule::ChildBirthDate, &field).flatten();
            let sex = self.require(Sex::parse(&c.sex), Rule::ChildSex, &format!("children[{i}].sex"));
            match (birth_date, sex, children.as_mut()) {
                (Some(birth_date), Some(sex), Some(list)) => list.push(Child { birth_date, sex, order: c.order }),
                _ => children = None,
            }
        }
        let mut orders: Vec<u32> = drafts.iter().map(|c| c.order).collect();
        orders.sort_unstable();
        if !orders.iter().zip(1u32..).all(|(o, n)| *o == n) {
            self.errors.push(Rule::ChildOrder.to_field_error("children"));
            return None;
        }
        children
    }

    /// 节育措施; outer `None` means invalid.
    fn contraception(
        &mut self,
        d: Option<&ContraceptionDraft>,
        birth: Option<NaiveDate>,
    ) -> Option<Option<Contraception>> {
        let Some(d) = d else {
            return Some(None);
        };
        let method =
            self.require(ContraceptionMethod::parse(&d.method), Rule::ContraceptionMethod, "contraception.method");
        let since = self.date_in_range(d.since.as_deref(), birth, Rule::ContraceptionSince, "contraception.since");
        Some(Some(Contraception { method: method?, since: since? }))
    }
}

/// GB 3304 民族 code: 01–56, or 97 (其他) / 98 (外国血统中国籍人士).
fn is_ethnicity(code: &str) -> bool {
    code.len() == 2
        && code.bytes().all(|b| b.is_ascii_digit())
        && code.parse::<u8>().is_ok_and(|n| matches!(n, 1..=56 | 97 | 98))
}

impl CertificateContent {
    /// Validates a draft for a certificate issued on `issue_date`; collects every broken rule.
    pub fn parse(draft: CertificateDraft, issue_date: NaiveDate) -> Result<CertificateContent, Vec<FieldError>> {
        let mut c = Checker { issue_date, errors: Vec::new() };
        let (person, Holder { id, birth }) = c.person(&draft.person);
        let marital = c.marital(&draft.marital, id.as_ref(), birth);
        let children = c.children(&draft.children, birth);
        let contraception = c.contraception(draft.contraception.as_ref(), birth);
        match (person, marital, children, contraception) {
            (Some(person), Some(marital), Some(children), Some(contraception)) if c.errors.is_empty() => {
                Ok(CertificateContent { person, marital, children, contraception })
            }
            _ => Err(c.errors),
        }
    }

    /// Last day (inclusive) on which a certificate issued on `issue_date` is valid.
    pub fn valid_until(&self, issue_date: NaiveDate) -> NaiveDate {
        let long_acting = self.contraception.as_ref().is_some_and(|c| c.method.is_long_acting());
        let years = if long_acting { YEARS_VALID_LONG_ACTING } else { YEARS_VALID };
        let by_term = day_before(anniversary(issue_date, years));
        let by_age = day_before(anniversary(self.person.birth_date, END_AGE));
        by_term.min(by_age)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    const VECTOR: &str = include_str!("../../tests/data/vectors/certificate.payload.json");

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn issue() -> NaiveDate {
        d(2026, 1, 5)
    }

    /// The four content objects of the vector payload.
    fn vector_content() -> Value {
        let v: Value = serde_json::from_str(VECTOR).unwrap();
        let mut out = serde_json::Map::new();
        for k in ["person", "marital", "children", "contraception"] {
            out.insert(k.into(), v[k].clone());
        }
        Value::Object(out)
    }

    fn draft() -> CertificateDraft {
        serde_json::from_value(vector_content()).unwrap()
    }

    /// A valid ID number for `birth`, female unless `male`.
    fn id_for(birth: NaiveDate, male: bool) -> String {
        let seq = if male { "001" } else { "002" };
        let first17 = format!("130728{}{seq}", birth.format("%Y%m%d"));
        format!("{first17}{}", id_number::check_digit(&first17).unwrap())
    }

    /// A minimal unmarried, childless woman born on `birth`.
    fn single(birth: NaiveDate) -> CertificateDraft {
        CertificateDraft {
            person: PersonDraft {
                name: "李芳".into(),
                id_number: id_for(birth, false),
                sex: "F".into(),
                birth_date: None,
                hukou: "130728000000".into(),
                ethnicity: None,
            },
            marital: MaritalDraft { status: "10".into(), since: None, spouse: None },
            children: vec![],
            contraception: None,
        }
    }

    /// (field, code) of every error, for compact assertions.
    fn errors(draft: CertificateDraft, on: NaiveDate) -> Vec<(String, &'static str)> {
        match CertificateContent::parse(draft, on) {
            Ok(_) => vec![],
            Err(es) => es.into_iter().map(|e| (e.field, e.code)).collect(),
        }
    }

    fn one(field: &str, code: &'static str) -> Vec<(String, &'static str)> {
        vec![(field.to_owned(), code)]
    }

    fn with(f: impl FnOnce(&mut CertificateDraft)) -> Vec<(String, &'static str)> {
        let mut dr = draft();
        f(&mut dr);
        errors(dr, issue())
    }

    #[test]
    fn vector_parses_and_serialises_back_exactly() {
        let content = CertificateContent::parse(draft(), issue()).unwrap();
        assert_eq!(serde_json::to_value(&content).unwrap(), vector_content());
        assert_eq!(content.person.sex, Sex::F);
        assert_eq!(content.marital.status, MaritalStatus::FirstMarriage);
        // IUD: 6 years.
        assert_eq!(content.valid_until(issue()), d(2032, 1, 4));
        // The draft round-trips through serde too.
        assert_eq!(serde_json::to_value(draft()).unwrap(), vector_content());
    }

    #[test]
    fn validity_terms() {
        let mut dr = draft();
        dr.contraception.as_mut().unwrap().method = "pill".into();
        let c = CertificateContent::parse(dr, issue()).unwrap();
        assert_eq!(c.valid_until(issue()), d(2029, 1, 4));
        let mut dr = draft();
        dr.contraception = None;
        let c = CertificateContent::parse(dr, issue()).unwrap();
        assert_eq!(c.valid_until(issue()), d(2029, 1, 4));
        for (m, years) in [("implant", 6), ("tubal_ligation", 6), ("condom", 3), ("none", 3)] {
            let mut dr = draft();
            dr.contraception.as_mut().unwrap().method = m.into();
            let c = CertificateContent::parse(dr, issue()).unwrap();
            assert_eq!(c.valid_until(issue()), day_before(anniversary(issue(), years)), "{m}");
        }
    }

    #[test]
    fn validity_capped_before_50th_birthday() {
        // Born 1978-06-15: 47 on issue, 50 on 2028-06-15, so valid through 2028-06-14.
        let c = CertificateContent::parse(single(d(1978, 6, 15)), issue()).unwrap();
        assert_eq!(c.valid_until(issue()), d(2028, 6, 14));
        // Issued the day before her 50th birthday: valid that one day.
        let on = d(2028, 6, 14);
        let c = CertificateContent::parse(single(d(1978, 6, 15)), on).unwrap();
        assert_eq!(c.valid_until(on), on);
    }

    #[test]
    fn age_boundaries() {
        let birth = d(2008, 1, 5);
        assert!(errors(single(birth), d(2026, 1, 5)).is_empty(), "18th birthday exactly");
        assert_eq!(errors(single(birth), d(2026, 1, 4)), one("person.birth_date", "certificate.age"));
        let birth = d(1976, 1, 5);
        assert!(errors(single(birth), d(2026, 1, 4)).is_empty(), "day before 50th birthday");
        assert_eq!(errors(single(birth), d(2026, 1, 5)), one("person.birth_date", "certificate.age"));
    }

    #[test]
    fn feb_29_anniversaries() {
        let leap = d(2008, 2, 29);
        assert_eq!(anniversary(leap, 18), d(2026, 3, 1));
        assert_eq!(anniversary(leap, 16), d(2024, 2, 29));
        assert_eq!(anniversary(leap, 0), leap);
        assert_eq!(age_on(leap, d(2026, 2, 28)), 17);
        assert_eq!(age_on(leap, d(2026, 3, 1)), 18);
        assert_eq!(age_on(leap, d(2024, 2, 28)), 15);
        assert_eq!(age_on(leap, d(2024, 2, 29)), 16);
        assert_eq!(age_on(leap, d(2000, 1, 1)), 0);
        assert_eq!(anniversary(leap, u32::MAX), NaiveDate::MAX);
        assert!(errors(single(leap), d(2026, 3, 1)).is_empty());
        assert_eq!(errors(single(leap), d(2026, 2, 28)), one("person.birth_date", "certificate.age"));
    }

    #[test]
    fn names() {
        assert_eq!(with(|d| d.person.name = "   ".into()), one("person.name", "name.invalid"));
        assert_eq!(with(|d| d.person.name = "张".repeat(51)), one("person.name", "name.invalid"));
        assert_eq!(with(|d| d.person.name = "张\n丽".into()), one("person.name", "name.invalid"));
        assert!(with(|d| d.person.name = format!(" {} ", "张".repeat(50))).is_empty());
        let c = CertificateContent::parse(
            {
                let mut dr = draft();
                dr.person.name = "  张丽 ".into();
                dr
            },
            issue(),
        )
        .unwrap();
        assert_eq!(c.person.name, "张丽");
        assert_eq!(
            with(|d| d.marital.spouse.as_mut().unwrap().name = String::new()),
            one("marital.spouse.name", "name.invalid")
        );
    }

    #[test]
    fn person_id_sex_birth() {
        assert_eq!(
            with(|d| d.person.id_number = "130728199003070021".into()),
            one("person.id_number", "id_number.checksum")
        );
        assert_eq!(
            with(|d| d.person.id_number = "13072819900307002".into()),
            one("person.id_number", "id_number.length")
        );
        assert_eq!(with(|d| d.person.sex = "女".into()), one("person.sex", "person.sex"));
        // A male ID and sex F: the sex disagrees and he is no woman.
        assert_eq!(
            with(|d| d.person.id_number = id_for(d1990(), true)),
            vec![("person.sex".into(), "person.sex_mismatch"), ("person.sex".into(), "certificate.not_female")]
        );
        assert_eq!(
            with(|d| d.person.sex = "M".into()),
            vec![("person.sex".into(), "person.sex_mismatch"), ("person.sex".into(), "certificate.not_female")]
        );
        assert_eq!(
            with(|d| {
                d.person.id_number = id_for(d1990(), true);
                d.person.sex = "M".into();
            }),
            one("person.sex", "certificate.not_female")
        );
        assert_eq!(
            with(|d| d.person.birth_date = Some("1990-03-08".into())),
            one("person.birth_date", "person.birth_date")
        );
        assert_eq!(
            with(|d| d.person.birth_date = Some("1990-3-7".into())),
            one("person.birth_date", "person.birth_date")
        );
        assert!(with(|d| d.person.birth_date = None).is_empty());
    }

    fn d1990() -> NaiveDate {
        d(1990, 3, 7)
    }

    #[test]
    fn hukou() {
        for (code, err) in [
            ("13072810200", "division.format"),
            ("990728102000", "division.province"),
            ("130728000003", "division.structure"),
            ("130000000000", "division.level"),
            ("130700000000", "division.level"),
        ] {
            assert_eq!(with(|d| d.person.hukou = code.into()), one("person.hukou", err), "{code}");
        }
        for ok in ["130728000000", "130728102000", "130728102203"] {
            assert!(with(|d| d.person.hukou = ok.into()).is_empty(), "{ok}");
        }
    }

    #[test]
    fn ethnicity() {
        for bad in ["00", "57", "96", "99", "1", "001", "", "+1"] {
            assert_eq!(
                with(|d| d.person.ethnicity = Some(bad.into())),
                one("person.ethnicity", "person.ethnicity"),
                "{bad:?}"
            );
        }
        for ok in ["01", "56", "97", "98"] {
            assert!(with(|d| d.person.ethnicity = Some(ok.into())).is_empty(), "{ok}");
        }
        assert!(with(|d| d.person.ethnicity = None).is_empty());
    }

    #[test]
    fn marital_rules() {
        assert_eq!(with(|d| d.marital.status = "11".into()), one("marital.status", "marital.status"));
        assert_eq!(with(|d| d.marital.spouse = None), one("marital.spouse", "marital.spouse_required"));
        assert_eq!(with(|d| d.marital.status = "40".into()), one("marital.spouse", "marital.spouse_unexpected"));
        assert_eq!(
            with(|d| d.marital.spouse.as_mut().unwrap().id_number = "130728198801010016".into()),
            one("marital.spouse.id_number", "id_number.checksum")
        );
        assert_eq!(
            with(|d| d.marital.spouse.as_mut().unwrap().id_number = d.person.id_number.clone()),
            one("marital.spouse.id_number", "marital.spouse.same_person")
        );
        for bad in ["1990-03-06", "2026-01-06", "2015-6-1"] {
            assert_eq!(with(|d| d.marital.since = Some(bad.into())), one("marital.since", "marital.since"), "{bad}");
        }
        for ok in ["1990-03-07", "2026-01-05"] {
            assert!(with(|d| d.marital.since = Some(ok.into())).is_empty(), "{ok}");
        }
        assert!(
            with(|d| {
                d.marital.status = "30".into();
                d.marital.spouse = None;
            })
            .is_empty()
        );
    }

    fn child(birth: &str, sex: &str, order: u32) -> ChildDraft {
        ChildDraft { birth_date: birth.into(), sex: sex.into(), order }
    }

    #[test]
    fn children_rules() {
        // She turned 14 on 2004-03-07: a child that day is rejected, the next day accepted.
        assert_eq!(
            with(|d| d.children[0].birth_date = "2004-03-07".into()),
            one("children[0].birth_date", "child.birth_date")
        );
        assert!(with(|d| d.children[0].birth_date = "2004-03-08".into()).is_empty());
        assert_eq!(
            with(|d| d.children[0].birth_date = "2026-01-06".into()),
            one("children[0].birth_date", "child.birth_date")
        );
        assert_eq!(
            with(|d| d.children.push(child("2018-02-30", "F", 2))),
            one("children[1].birth_date", "child.birth_date")
        );
        assert_eq!(with(|d| d.children.push(child("2018-02-03", "X", 2))), one("children[1].sex", "child.sex"));
        for orders in [vec![1, 3], vec![1, 1], vec![0, 1], vec![2, 3]] {
            assert_eq!(
                with(|d| {
                    d.children = orders.iter().map(|o| child("2018-02-03", "F", *o)).collect();
                }),
                one("children", "child.order"),
                "{orders:?}"
            );
        }
        assert!(with(|d| d.children = vec![child("2019-01-01", "F", 2), child("2016-03-02", "M", 1)]).is_empty());
        assert!(with(|d| d.children.clear()).is_empty());
    }

    #[test]
    fn contraception_rules() {
        assert_eq!(
            with(|d| d.contraception.as_mut().unwrap().method = "IUD".into()),
            one("contraception.method", "contraception.method")
        );
        for bad in ["1990-03-06", "2026-01-06", "20160901"] {
            assert_eq!(
                with(|d| d.contraception.as_mut().unwrap().since = Some(bad.into())),
                one("contraception.since", "contraception.since"),
                "{bad}"
            );
        }
        assert!(with(|d| d.contraception.as_mut().unwrap().since = None).is_empty());
        for m in ContraceptionMethod::ALL {
            assert_eq!(ContraceptionMethod::parse(m.as_str()), Some(m));
            assert_eq!(serde_json::to_value(m).unwrap(), json!(m.as_str()));
        }
    }

    #[test]
    fn spouse_is_compared_even_when_her_name_is_bad() {
        assert_eq!(
            with(|d| {
                d.person.name = String::new();
                d.marital.spouse.as_mut().unwrap().id_number = d.person.id_number.clone();
            }),
            vec![
                ("person.name".into(), "name.invalid"),
                ("marital.spouse.id_number".into(), "marital.spouse.same_person")
            ]
        );
    }

    #[test]
    fn birth_date_stands_in_for_a_bad_id() {
        // The ID is wrong, but the stated birth date still drives the age and date rules.
        assert_eq!(
            with(|d| {
                d.person.id_number = "130728199003070021".into();
                d.person.birth_date = Some("2010-01-01".into());
            }),
            vec![
                ("person.id_number".into(), "id_number.checksum"),
                ("person.birth_date".into(), "certificate.age"),
                // 2016 is before she (born 2010) turned 14.
                ("children[0].birth_date".into(), "child.birth_date"),
            ]
        );
    }

    #[test]
    fn every_error_is_collected() {
        let mut dr = draft();
        dr.person.name = String::new();
        dr.person.hukou = "1".into();
        dr.marital.status = "99".into();
        dr.children[0].sex = "?".into();
        dr.contraception.as_mut().unwrap().method = "?".into();
        let es = CertificateContent::parse(dr, issue()).unwrap_err();
        let codes: Vec<_> = es.iter().map(|e| e.code).collect();
        assert_eq!(codes, ["name.invalid", "division.format", "marital.status", "child.sex", "contraception.method"]);
        for e in &es {
            assert!(!e.message_zh.is_empty() && !e.message_en.is_empty());
        }
    }

    #[test]
    fn rule_codes_are_unique() {
        let all = [
            Rule::Name,
            Rule::Sex,
            Rule::SexMismatch,
            Rule::BirthDate,
            Rule::Ethnicity,
            Rule::NotFemale,
            Rule::Age,
            Rule::MaritalStatus,
            Rule::SpouseRequired,
            Rule::SpouseUnexpected,
            Rule::SpouseSamePerson,
            Rule::MaritalSince,
            Rule::ChildBirthDate,
            Rule::ChildSex,
            Rule::ChildOrder,
            Rule::ChildCount,
            Rule::ContraceptionMethod,
            Rule::ContraceptionSince,
        ];
        let mut codes: Vec<_> = all.iter().map(|r| r.texts().0).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }

    #[test]
    fn drafts_reject_unknown_fields_and_mask_ids_in_debug() {
        let mut v = vector_content();
        v["person"]["nickname"] = json!("x");
        assert!(serde_json::from_value::<CertificateDraft>(v).is_err());
        let mut v = vector_content();
        v["iss"] = json!("130728102000");
        assert!(serde_json::from_value::<CertificateDraft>(v).is_err());
        let dbg = format!("{:?}", draft());
        assert!(!dbg.contains("130728199003070026"), "{dbg}");
        assert!(!dbg.contains("130728198801010015"), "{dbg}");
        assert!(dbg.contains("130728********0026"), "{dbg}");
        let content = CertificateContent::parse(draft(), issue()).unwrap();
        let dbg = format!("{content:?}");
        assert!(!dbg.contains("19900307") && !dbg.contains("19880101"), "{dbg}");
        assert_eq!(crate::domain::id_number::mask("123"), "***");
    }

    fn date_between(from: NaiveDate, days: u64) -> impl Strategy<Value = NaiveDate> {
        (0..days).prop_map(move |n| from + chrono::Days::new(n))
    }

    proptest! {
        #[test]
        fn age_on_agrees_with_anniversary(
            birth in date_between(d(1900, 1, 1), 60_000),
            later in 0u64..40_000,
        ) {
            let on = birth + chrono::Days::new(later);
            let age = age_on(birth, on);
            prop_assert!(anniversary(birth, age) <= on);
            prop_assert!(anniversary(birth, age + 1) > on);
        }

        #[test]
        fn validity_stays_within_term_and_childbearing_age(
            birth in date_between(d(1970, 1, 1), 15_000),
            age in MIN_AGE..END_AGE,
            offset in 0u64..366,
            method in prop::option::of(prop::sample::select(ContraceptionMethod::ALL.to_vec())),
        ) {
            let on = anniversary(birth, age) + chrono::Days::new(offset);
            prop_assume!((MIN_AGE..END_AGE).contains(&age_on(birth, on)));
            let mut dr = single(birth);
            dr.contraception = method.map(|m| ContraceptionDraft { method: m.as_str().into(), since: None });
            let c = CertificateContent::parse(dr, on).unwrap();
            let until = c.valid_until(on);
            prop_assert!(until >= on);
            prop_assert!(until <= day_before(anniversary(birth, END_AGE)));
            prop_assert!(until <= day_before(anniversary(on, YEARS_VALID_LONG_ACTING)));
        }

        #[test]
        fn arbitrary_strings_never_panic(
            name in "\\PC{0,8}", id in "[0-9Xx]{16,19}", sex in "[FMX]",
            hukou in "[0-9]{11,13}", status in "[0-9]{2}", cb in "[0-9-]{8,11}", order in 0u32..4,
        ) {
            let mut dr = draft();
            dr.person.name = name;
            dr.person.id_number = id;
            dr.person.sex = sex;
            dr.person.hukou = hukou;
            dr.marital.status = status;
            dr.children[0].birth_date = cb;
            dr.children[0].order = order;
            if let Err(es) = CertificateContent::parse(dr, issue()) {
                prop_assert!(!es.is_empty());
            }
        }
    }

    #[test]
    fn a_certificate_lists_at_most_twenty_children() {
        let child = |order| ChildDraft { birth_date: "2010-01-01".into(), sex: "F".into(), order };
        assert!(with(|dr| dr.children = (1..=20).map(child).collect()).is_empty());
        assert_eq!(with(|dr| dr.children = (1..=22).map(child).collect()), one("children", "child.count"));
    }
}
