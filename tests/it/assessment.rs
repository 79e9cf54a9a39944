//! The dual assessment's settings as an operator writes them: a holiday calendar loaded from a
//! file named in the config, the cut-off day, weights and targets, each refused when wrong.

use hunyu::config::{AssessmentSettings, Config, ConfigError};
use hunyu::domain::assessment::{Indicator, Rate};
use hunyu::node::NodeCore;
use hunyu::setup::{InitOptions, init_node};

/// A new node's directory and the path of its config file.
fn new_node() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let options = InitOptions {
        dir: dir.path().join("node"),
        code: "130728102000".into(),
        name: "柴沟堡镇".into(),
        database_url: "sqlite://hunyu.db".into(),
        listen: "127.0.0.1:0".into(),
        peer_listen: None,
        api_tls: false,
    };
    let (_, config_path) = init_node(&options).unwrap();
    (dir, config_path)
}

/// Changes the assessment settings in the config file as an operator would, and loads it.
fn with_assessment(
    config_path: &std::path::Path,
    change: impl FnOnce(&mut AssessmentSettings),
) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(config_path).unwrap();
    let mut config: Config = toml::from_str(&text).unwrap();
    change(&mut config.assessment);
    std::fs::write(config_path, toml::to_string(&config).unwrap()).unwrap();
    Config::load(config_path)
}

#[test]
fn next_year_s_holidays_come_from_a_file_the_config_names_without_a_new_build() {
    let (_dir, config_path) = new_node();
    let shipped = NodeCore::open(&Config::load(&config_path).unwrap()).unwrap();
    assert!(!shipped.assessment.calendar.covers_year(2027));
    let start = chrono::NaiveDate::from_ymd_opt(2026, 12, 30).unwrap();
    let before = shipped.assessment.calendar.add_working_days(start, 5);
    assert!(before.is_provisional(), "2027 is not known to the shipped calendar");
    drop(shipped);

    // The State Council's 2027 notice, as an operator would type it (dates for the test only).
    let calendar = config_path.with_file_name("holidays-2027.csv");
    std::fs::write(&calendar, "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-04,holiday,元旦\n").unwrap();
    let config = with_assessment(&config_path, |a| {
        a.calendar = Some("holidays-2027.csv".into());
        a.cut_off_day = 20;
        a.targets.insert("inquiry_on_time_rate".into(), 0.95);
    })
    .unwrap();
    let core = NodeCore::open(&config).unwrap();
    let rules = &core.assessment;
    assert!(rules.calendar.covers_year(2027));
    let after = rules.calendar.add_working_days(start, 5);
    // 31 Dec, then 5 Jan to 8 Jan: the two holidays push the fifth working day to Friday 8 Jan.
    assert_eq!((after.date.to_string(), after.is_provisional()), ("2027-01-08".to_owned(), false));
    assert_eq!(rules.cut_off_day, 20);
    assert_eq!(rules.targets.of(Indicator::InquiryOnTimeRate), Some(Rate::per_mille(950)));
    assert_eq!(rules.targets.of(Indicator::IssuanceRate), Some(Rate::per_mille(800)));
}

#[test]
fn a_wrong_calendar_or_assessment_setting_stops_the_node_and_names_it() {
    let (_dir, config_path) = new_node();
    let original = std::fs::read_to_string(&config_path).unwrap();
    let refused = |change: &dyn Fn(&mut AssessmentSettings)| {
        std::fs::write(&config_path, &original).unwrap();
        match with_assessment(&config_path, change) {
            Err(error) => error.to_string(),
            Ok(config) => NodeCore::open(&config).err().expect("a node started on a wrong setting").to_string(),
        }
    };
    let calendar = config_path.with_file_name("holidays.csv");
    std::fs::write(&calendar, "date,kind,name\n2027-01-01,holiday,元旦\n2027-1-4,holiday,元旦\n").unwrap();
    let error = refused(&|a| a.calendar = Some("holidays.csv".into()));
    assert!(error.contains("holidays.csv") && error.contains("line 3"), "{error}");
    let error = refused(&|a| a.calendar = Some("absent.csv".into()));
    assert!(error.contains("absent.csv"), "{error}");
    assert!(refused(&|a| a.cut_off_day = 31).contains("assessment.cut_off_day"));
    let error = refused(&|a| (a.origin_weight, a.residence_weight) = (7, 3));
    assert!(error.contains("assessment.residence_weight") && error.contains("primary"), "{error}");
    let error = refused(&|a| a.targets = [("issue_rate".into(), 0.8)].into());
    assert!(error.contains("issue_rate"), "{error}");
    assert!(refused(&|a| a.targets = [("issuance_rate".into(), 80.0)].into()).contains("between 0 and 1"));
}
