//! 公民身份号码 per GB 11643-1999: 6-digit region, 8-digit birth date, 3-digit sequence, check digit.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::division::province_exists;
use super::error::Coded;

/// Weights of ISO 7064 MOD 11-2 for the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each remainder of the weighted sum mod 11.
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
/// Birth years before this are typos, not people.
const MIN_BIRTH_YEAR: i32 = 1800;

/// 性别: the sex recorded on the ID and the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    /// 女 (female).
    F,
    /// 男 (male).
    M,
}

impl Sex {
    /// Parses the wire form `F` or `M`.
    pub fn parse(input: &str) -> Option<Sex> {
        match input {
            "F" => Some(Sex::F),
            "M" => Some(Sex::M),
            _ => None,
        }
    }

    /// The wire form `F` or `M`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Sex::F => "F",
            Sex::M => "M",
        }
    }
}

/// Why a string is not a valid 公民身份号码, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{}", self.message_en())]
pub enum IdNumberError {
    /// Not 18 characters.
    Length,
    /// Not 17 digits followed by a digit or `X`.
    Format,
    /// The first two digits are no province.
    Region,
    /// Positions 7–14 are no real birth date in range.
    BirthDate,
    /// The ISO 7064 MOD 11-2 check digit does not match.
    Checksum,
}

impl Coded for IdNumberError {
    /// Code, Chinese and English message: the one table for this module.
    fn texts(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            IdNumberError::Length => {
                ("id_number.length", "公民身份号码应为18位", "citizen ID number must be 18 characters long")
            }
            IdNumberError::Format => (
                "id_number.format",
                "公民身份号码应为17位数字加1位数字或X",
                "citizen ID number must be 17 digits followed by a digit or X",
            ),
            IdNumberError::Region => (
                "id_number.region",
                "公民身份号码的省级行政区划代码不存在",
                "citizen ID number names no existing province",
            ),
            IdNumberError::BirthDate => (
                "id_number.birth_date",
                "公民身份号码中的出生日期无效",
                "citizen ID number contains no valid birth date",
            ),
            IdNumberError::Checksum => {
                ("id_number.checksum", "公民身份号码校验码错误", "citizen ID number check digit is wrong")
            }
        }
    }
}

/// ISO 7064 MOD 11-2 check character for the first 17 digits; `None` unless exactly 17 ASCII digits.
pub fn check_digit(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b.iter().zip(WEIGHTS).map(|(&d, w)| u32::from(d - b'0') * w).sum();
    CHECK.get((sum % 11) as usize).copied()
}

/// A valid 公民身份号码 (uppercase `X`); built only by [`parse`]. Display and Debug are masked.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdNumber(String);

/// Parses a 公民身份号码, checking length, format, province, birth date (not after `today`), check digit.
pub fn parse(input: &str, today: NaiveDate) -> Result<IdNumber, IdNumberError> {
    if input.chars().count() != 18 {
        return Err(IdNumberError::Length);
    }
    let b = input.as_bytes();
    let body_ok = b[..17].iter().all(u8::is_ascii_digit);
    if !body_ok || !matches!(b[17], b'0'..=b'9' | b'X' | b'x') {
        return Err(IdNumberError::Format);
    }
    // From here on the input is 18 ASCII bytes, so byte slicing is safe.
    if !province_exists(&input[..2]) {
        return Err(IdNumberError::Region);
    }
    match birth_date_of(input) {
        Some(d) if d.year() >= MIN_BIRTH_YEAR && d <= today => {}
        _ => return Err(IdNumberError::BirthDate),
    }
    let normalised = input.to_ascii_uppercase();
    if check_digit(&normalised[..17]) != normalised.chars().nth(17) {
        return Err(IdNumberError::Checksum);
    }
    Ok(IdNumber(normalised))
}

/// The YYYYMMDD date at positions 7–14 of an 18-byte ASCII number, if it is a real date.
fn birth_date_of(s: &str) -> Option<NaiveDate> {
    let y: i32 = s.get(6..10)?.parse().ok()?;
    let m: u32 = s.get(10..12)?.parse().ok()?;
    let d: u32 = s.get(12..14)?.parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, d)
}

impl IdNumber {
    /// The full number; personal data, so only for payloads and storage, never logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Sex from the 17th digit: odd is male, even is female.
    pub fn sex(&self) -> Sex {
        if self.0.as_bytes()[16] % 2 == 1 { Sex::M } else { Sex::F }
    }

    /// Birth date from positions 7–14 (checked by [`parse`]).
    pub fn birth_date(&self) -> NaiveDate {
        // parse() guarantees a real date; MIN is an unreachable fallback that avoids a panic path.
        birth_date_of(&self.0).unwrap_or(NaiveDate::MIN)
    }

    /// The number with the birth date hidden, e.g. `110105********002X`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Hides all but the region (first 6) and the last 4 characters of an ID number as typed, or all
/// of a text too short to be one: for screens others may see, and for logs written by mistake.
pub fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let (head, rest) = chars.split_at(6);
    let (middle, tail) = rest.split_at(rest.len() - 4);
    let mut out: String = head.iter().collect();
    out.push_str(&"*".repeat(middle.len()));
    out.extend(tail);
    out
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdNumber").field(&self.masked()).finish()
    }
}

/// Serialises in full: payloads and storage need the real number (mask for display instead).
impl Serialize for IdNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Reads a number another node or this node's own store wrote: every rule is checked but the
/// birth date's being past, which its writer checked on its own day.
impl<'de> Deserialize<'de> for IdNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        parse(&text, NaiveDate::MAX).map_err(|e| serde::de::Error::custom(e.code()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    const ID_NUMBERS: &str = include_str!("../../tests/data/id_numbers.csv");

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    fn code_of(e: IdNumberError) -> &'static str {
        e.code()
    }

    #[test]
    fn reference_numbers_get_their_verdict() {
        let mut rdr = csv::Reader::from_reader(ID_NUMBERS.as_bytes());
        let mut rows = 0;
        for row in rdr.records() {
            let row = row.unwrap();
            let (input, valid, note) = (&row[0], &row[1], &row[2]);
            let got = parse(input, today());
            match valid {
                "true" => {
                    let id = got.unwrap_or_else(|e| panic!("{input}: {e}"));
                    assert_eq!(id.as_str(), input.to_ascii_uppercase());
                }
                "false" => {
                    let want = note.split_whitespace().next().unwrap();
                    assert_eq!(got.map_err(code_of), Err(want), "{input}");
                }
                other => panic!("bad verdict {other}"),
            }
            rows += 1;
        }
        assert_eq!(rows, 15);
    }

    #[test]
    fn accessors() {
        let id = parse("11010519491231002x", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.sex(), Sex::F);
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(id.to_string(), "110105********002X");
        assert_eq!(format!("{id:?}"), "IdNumber(\"110105********002X\")");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"11010519491231002X\"");
        assert_eq!(serde_json::from_str::<IdNumber>("\"11010519491231002X\"").unwrap(), id);
        let wrong = serde_json::from_str::<IdNumber>("\"110105194912310021\"").unwrap_err();
        assert!(wrong.to_string().contains("id_number.checksum"), "{wrong}");
        let man = parse("440524188001010014", today()).unwrap();
        assert_eq!(man.sex(), Sex::M);
    }

    #[test]
    fn check_digit_rejects_non_digits() {
        assert_eq!(check_digit("11010519491231002"), Some('X'));
        assert_eq!(check_digit("1101051949123100"), None);
        assert_eq!(check_digit("1101051949123100a"), None);
        assert_eq!(check_digit("110105194912310021"), None);
    }

    #[test]
    fn edge_cases() {
        // Length counts characters, not bytes; a full-width digit is then a format error.
        assert_eq!(parse("11010519491231002６", today()), Err(IdNumberError::Format));
        assert_eq!(parse("１1010519491231002X", today()), Err(IdNumberError::Format));
        assert_eq!(parse("1101051949123100２X", today()), Err(IdNumberError::Format));
        assert_eq!(parse("1101051949123100２", today()), Err(IdNumberError::Length));
        assert_eq!(parse("11010519491231002Y", today()), Err(IdNumberError::Format));
        assert_eq!(parse("11010517991231002X", today()), Err(IdNumberError::BirthDate));
        // Born today is allowed, tomorrow is not.
        let first17 = "11010520261128002";
        let ok = format!("{first17}{}", check_digit(first17).unwrap());
        assert!(parse(&ok, today()).is_ok());
        assert_eq!(parse(&ok, today().pred_opt().unwrap()), Err(IdNumberError::BirthDate));
    }

    #[test]
    fn errors_have_codes_and_messages() {
        let e = IdNumberError::Checksum.to_field_error("person.id_number");
        assert_eq!(e.field, "person.id_number");
        assert_eq!(e.code, "id_number.checksum");
        assert_eq!(e.message_zh, "公民身份号码校验码错误");
        assert_eq!(e.message_en, "citizen ID number check digit is wrong");
        assert_eq!(IdNumberError::Length.to_string(), IdNumberError::Length.message_en());
    }

    #[test]
    fn sex_parse() {
        assert_eq!(Sex::parse("F"), Some(Sex::F));
        assert_eq!(Sex::parse("M"), Some(Sex::M));
        assert_eq!(Sex::parse("f"), None);
        assert_eq!(serde_json::to_string(&Sex::F).unwrap(), "\"F\"");
        assert_eq!(serde_json::from_str::<Sex>("\"M\"").unwrap(), Sex::M);
    }

    /// 17 digits with a real province and a past birth date.
    fn first17() -> impl Strategy<Value = String> {
        let provinces = vec!["11", "13", "44", "62", "65", "71", "81", "82"];
        (prop::sample::select(provinces), 0u32..10_000, 0i64..(365 * 220), 0u32..1000).prop_map(
            |(p, rest, days, seq)| {
                let d = NaiveDate::from_ymd_opt(1800, 1, 1).unwrap() + chrono::Days::new(days as u64);
                format!("{p}{rest:04}{}{seq:03}", d.format("%Y%m%d"))
            },
        )
    }

    fn valid_id() -> impl Strategy<Value = String> {
        first17().prop_map(|f| {
            let c = check_digit(&f).unwrap();
            format!("{f}{c}")
        })
    }

    proptest! {
        #[test]
        fn computed_check_digit_parses(s in valid_id()) {
            let id = parse(&s, today()).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
            prop_assert_eq!(id.birth_date().format("%Y%m%d").to_string(), &s[6..14]);
        }

        #[test]
        fn one_changed_digit_fails(s in valid_id(), pos in 0usize..18, delta in 1u8..10) {
            let mut b = s.clone().into_bytes();
            if b[pos] == b'X' {
                b[pos] = b'0' + delta;
            } else {
                b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            }
            let changed = String::from_utf8(b).unwrap();
            prop_assert!(parse(&changed, today()).is_err(), "{} still parses", changed);
        }

        #[test]
        fn masked_hides_birth_date(s in valid_id()) {
            let id = parse(&s, today()).unwrap();
            let m = id.masked();
            prop_assert_eq!(m.chars().count(), 18);
            prop_assert_eq!(&m[..6], &s[..6]);
            prop_assert_eq!(&m[6..14], "********");
            prop_assert_eq!(&m[14..], &s[14..]);
            prop_assert_eq!(id.to_string(), m.clone());
            let dbg = format!("{id:?}");
            prop_assert!(!dbg.contains(&s[6..14]));
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,20}") {
            let _ = parse(&s, today());
        }
    }
}
