//! The holder's own view of her record (PIPL arts. 44–46, 个人信息查阅、更正): the code printed on
//! her paper certificate that lets her in, and the deadline of her correction requests.

use chrono::{Days, NaiveDate};

/// The holder code's alphabet: Crockford's base32, which has no I, L, O or U to misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of a holder code: 60 random bits, beyond guessing under the lock-out.
pub const CODE_CHARS: usize = 12;
/// Days an officer has to answer a correction request (PIPL art. 50 asks for a timely answer;
/// 15 days is the common term of the provincial rules).
pub const CORRECTION_DAYS: u64 = 15;

/// Correction requests of one woman left unanswered at once: each is an officer's duty, so her
/// code cannot fill a worklist.
pub const OPEN_CORRECTIONS_MAX: i64 = 3;

/// A holder code (本人查询码), as printed: `XXXX-XXXX-XXXX`.
#[derive(Clone, PartialEq, Eq)]
pub struct HolderCode(String);

impl HolderCode {
    /// The code of 60 random bits taken from `random`.
    pub fn from_random(random: [u8; 8]) -> Self {
        let bits = u64::from_be_bytes(random);
        let code = (0..CODE_CHARS).map(|i| char::from(ALPHABET[((bits >> (5 * i)) & 31) as usize])).collect();
        Self(code)
    }

    /// The code as typed: case, spaces and hyphens do not matter, and the letters people mistake
    /// for digits (O, I, L) are read as those digits; `None` if it cannot be a code.
    pub fn parse(typed: &str) -> Option<Self> {
        let mut code = String::with_capacity(CODE_CHARS);
        for c in typed.chars().filter(|c| !matches!(c, ' ' | '-')) {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if code.len() == CODE_CHARS || !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return None;
            }
            code.push(c);
        }
        (code.len() == CODE_CHARS).then_some(Self(code))
    }

    /// The twelve characters, as hashed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code in groups of four, as printed.
    pub fn printed(&self) -> String {
        let groups: Vec<&str> = [&self.0[0..4], &self.0[4..8], &self.0[8..12]].into();
        groups.join("-")
    }
}

impl std::fmt::Debug for HolderCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HolderCode(***)")
    }
}

/// The day a correction request filed on `filed_on` is due.
pub fn correction_due(filed_on: NaiveDate) -> NaiveDate {
    filed_on.checked_add_days(Days::new(CORRECTION_DAYS)).unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_however_it_is_typed() {
        let code = HolderCode::from_random([0x8f, 0x12, 0x00, 0xff, 0x3c, 0x99, 0x41, 0x07]);
        let printed = code.printed();
        assert_eq!(printed.len(), 14);
        assert_eq!(HolderCode::parse(&printed), Some(code.clone()));
        assert_eq!(HolderCode::parse(&printed.to_lowercase().replace('-', " ")), Some(code.clone()));
        let misread = code.as_str().replace('0', "o").replace('1', "l");
        assert_eq!(HolderCode::parse(&misread), Some(code));
        for bad in ["", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKMU", "ABCD-EFGH-JK中N"] {
            assert_eq!(HolderCode::parse(bad), None, "{bad}");
        }
        assert_eq!(format!("{:?}", HolderCode::from_random([9; 8])), "HolderCode(***)");
    }

    #[test]
    fn different_random_bits_give_different_codes() {
        let a = HolderCode::from_random([0; 8]);
        let b = HolderCode::from_random([0, 0, 0, 0, 0, 0, 0, 1]);
        assert_ne!(a, b);
        assert_eq!(a.as_str(), "000000000000");
    }

    #[test]
    fn a_correction_is_due_fifteen_days_after_it_is_filed() {
        let filed = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default();
        assert_eq!(correction_due(filed), NaiveDate::from_ymd_opt(2026, 12, 18).unwrap_or_default());
    }
}
