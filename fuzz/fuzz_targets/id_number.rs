//! 公民身份号码 (GB 11643): `domain::id_number::parse`, as request bodies and received payloads
//! reach it, and what is read off a number it accepts (sex, birth date, masked form, serde).
#![no_main]

use chrono::NaiveDate;
use hunyu::domain::id_number::{IdNumber, Sex, check_digit, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = (check_digit(text), Sex::parse(text));
    let today = hunyu_fuzz::today();
    let on_today = parse(text, today);
    let any_day = parse(text, NaiveDate::MAX);
    if let Ok(number) = &on_today {
        assert_eq!(any_day.as_ref(), Ok(number), "a number valid today is refused without the date bound");
    }
    if let Ok(number) = any_day {
        let full = number.as_str();
        assert_eq!(full.len(), 18);
        assert_eq!(check_digit(&full[..17]), full.chars().nth(17));
        assert!(number.birth_date() <= NaiveDate::MAX);
        let _ = (number.sex().as_str(), number.masked(), number.to_string(), format!("{number:?}"));
        let json = serde_json::to_string(&number).expect("an ID number serialises");
        let back: IdNumber = serde_json::from_str(&json).expect("a serialised ID number reads back");
        assert_eq!(back, number);
    }
});
