//! The month's dual assessment from stored facts, on a hand-computed month: answers owed at the
//! origin (one answered in the last second of its last day in Shanghai, one a second later) and
//! arrivals verified at the residence.

use calamine::Data;
use chrono::{DateTime, NaiveDate};
use hunyu::domain::assessment::{REPORT_TYP, ReportClaims, Side};
use hunyu::domain::certificate::ContraceptionMethod;
use hunyu::domain::id_number::parse;
use hunyu::domain::ledger::EntryKind;
use hunyu::domain::message::PersonRef;
use hunyu::http::download::XLSX;
use hunyu::seal::{read_stored, sign_compact};
use hunyu::sheets::{COUNTERPARTS_SHEET, FIGURES_SHEET, FIRST_FIGURE_ROW};
use hunyu::store::cards::CardRow;
use hunyu::store::ledgers::{self, NewEntry};
use hunyu::store::messages::MessageRow;
use hunyu::store::{StoreError, messages};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{
    Backend, ORIGIN, RESIDENCE, TestNode, federation, id_number, read, single_woman, xlsx_sheet, zhang_li,
};

both_backends!(
    a_hand_computed_month_gives_its_figures,
    every_indicator_on_a_hand_computed_october_with_its_holiday_week,
    issuance_counts_the_women_kept_as_origin_who_hold_a_valid_certificate,
    a_bad_report_request_is_refused_and_audited,
    a_closed_month_goes_to_the_registry_which_cross_checks_it
);

/// A received message owed an answer by `due`, answered at `answered` (UTC), if at all.
fn owed(seq: i64, kind: &str, due: &str, answered: Option<&str>) -> MessageRow {
    let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().naive_utc();
    MessageRow {
        id: format!("0193a000-0000-7000-8000-{seq:012}"),
        direction: "in".into(),
        // A node other than the residence: its numbers stay out of the way of the real exchange.
        peer: "110105003000".into(),
        seq,
        kind: kind.into(),
        subject: None,
        in_reply_to: None,
        due_on: Some(due.parse::<NaiveDate>().unwrap()),
        token: "e30.e30.c2ln".into(),
        created_at: at("2026-11-01T00:00:00Z"),
        receipt: Some("e30.e30.c2ln".into()),
        receipted_at: Some(at("2026-11-01T00:00:00Z")),
        answered_at: answered.map(at),
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
    }
}

/// The figure of `indicator` in an assessment.
pub(crate) fn figure<'a>(assessment: &'a Value, indicator: &str) -> &'a Value {
    assessment["figures"].as_array().unwrap().iter().find(|f| f["indicator"] == indicator).unwrap()
}

pub(crate) fn counts(figure: &Value) -> (Value, Value) {
    (figure["numerator"].clone(), figure["denominator"].clone())
}

async fn a_hand_computed_month_gives_its_figures(backend: Backend) {
    let origin = TestNode::spawn(backend, ORIGIN, &[]).await;
    let residence = TestNode::spawn(backend, RESIDENCE, &[&origin]).await;
    let rows = vec![
        // Due 16 November: 23:59:59 in Shanghai is in time, midnight is a day late.
        owed(1, "inquiry", "2026-11-16", Some("2026-11-16T15:59:59Z")),
        owed(2, "inquiry", "2026-11-16", Some("2026-11-16T16:00:00Z")),
        owed(3, "event_report", "2026-11-30", None),
        // Due in December: another month's.
        owed(4, "inquiry", "2026-12-01", Some("2026-11-20T00:00:00Z")),
    ];
    origin.core.store.write(move |conn| messages::insert_all(conn, &rows)).map_err(|e: StoreError| e).unwrap();

    let issued = origin.issue(&zhang_li()).await;
    let certified = json!({ "token": issued["qr"], "address": "新安街道", "arrived_on": "2026-11-05" });
    assert_eq!(residence.post("/api/v1/arrivals", &residence.worker, &certified).await.0, 201);
    let arrival = |id_number: &str, on: &str| {
        json!({ "person": { "id_number": id_number, "name": "李娜" }, "hukou": ORIGIN.0, "address": "新安街道",
                "arrived_on": on })
    };
    let october = id_number("130728", "19950405", 2, true);
    for (id_number, on) in [("130728200109150046", "2026-11-30"), (october.as_str(), "2026-10-31")] {
        let (status, sent) = residence.post("/api/v1/arrivals", &residence.worker, &arrival(id_number, on)).await;
        assert_eq!(status, 201, "{sent}");
    }
    // The origin records a woman leaving for the residence, which never registers her: the two
    // sides' counts for the pair differ (a 漏报 candidate for the superior's cross-check).
    let departure = json!({ "person": { "id_number": id_number("130728", "19980101", 4, true), "name": "赵敏" },
                            "left_on": "2026-11-20", "destination": "新安街道", "to": RESIDENCE.0 });
    assert_eq!(origin.post("/api/v1/departures", &origin.officer, &departure).await.0, 201);
    residence.await_receipts().await;
    origin.await_receipts().await;

    let (status, at_origin) = origin.get("/api/v1/reports/assessment?month=2026-11", &origin.officer).await;
    assert_eq!(status, 200, "{at_origin}");
    assert_eq!((&at_origin["node"], &at_origin["month"]), (&json!(ORIGIN.0), &json!("2026-11")));
    assert_eq!(counts(figure(&at_origin, "inquiry_answer_rate")), (json!(2), json!(2)));
    assert_eq!(counts(figure(&at_origin, "inquiry_on_time_rate")), (json!(1), json!(2)));
    assert_eq!(figure(&at_origin, "inquiry_on_time_rate")["rate"], 0.5);
    assert_eq!(counts(figure(&at_origin, "birth_notice_on_time_rate")), (json!(0), json!(1)));
    assert_eq!(counts(figure(&at_origin, "answers_on_time_rate")), (json!(1), json!(3)));
    // Nothing arrived at the origin: a figure with nothing to count has no rate, not 100 %.
    let verification = figure(&at_origin, "verification_rate");
    assert_eq!((counts(verification), verification.get("rate")), ((json!(0), json!(0)), None));
    let unmeasured = figure(&at_origin, "ledger_consistency");
    assert!(unmeasured.get("numerator").is_none() && unmeasured.get("rate").is_none(), "{unmeasured}");
    assert_eq!(figure(&at_origin, "issuance_rate")["target"], 0.8);
    // Three arrivals told by the month's end and one departure recorded.
    assert_eq!(at_origin["outflow"], json!([{ "node": RESIDENCE.0, "women": 4 }]));
    assert_eq!(at_origin["inflow"], json!([]));

    let (status, at_residence) = residence.get("/api/v1/reports/assessment?month=2026-11", &residence.auditor).await;
    assert_eq!(status, 200, "{at_residence}");
    // Two arrivals in November, one with a valid certificate: 50 %, below the 90 % target.
    let verified = figure(&at_residence, "verification_rate");
    assert_eq!((counts(verified), &verified["meets_target"]), ((json!(1), json!(2)), &json!(false)));
    assert_eq!(at_residence["score"]["residence"], 0.5);
    assert_eq!(at_residence["score"]["combined"], 0.5, "a side with nothing measured leaves it to the other");
    assert_eq!(at_residence["inflow"], json!([{ "node": ORIGIN.0, "women": 3 }]));
    let (status, content_type, csv) =
        residence.download("/api/v1/reports/assessment?month=2026-11&format=csv", &residence.officer, None).await;
    assert_eq!((status, content_type.as_str()), (200, "text/csv; charset=utf-8"), "{csv}");
    let lines: Vec<&str> = csv.strip_prefix('\u{feff}').unwrap().lines().collect();
    assert_eq!(
        lines[0],
        "指标 name_zh,代码 indicator,考核方 side,分子 numerator,分母 denominator,比率 rate,目标 target,达标 meets_target"
    );
    assert!(lines.contains(&"查验率,verification_rate,residence,1,2,50.00%,90.00%,否 no"), "{csv}");
    assert!(lines.contains(&"台帐一致率,ledger_consistency,both,—,—,—,—,—"), "{csv}");
    assert_eq!(lines.len(), 13, "a header and the 12 indicators");
    // As a workbook: counts as numbers, rates and targets as fractions shown as percentages, the
    // counterparts on a sheet of their own, and a chart.
    let (status, content_type, xlsx) = residence
        .download_bytes("/api/v1/reports/assessment?month=2026-11&format=xlsx", &residence.officer, None)
        .await;
    assert_eq!((status, content_type.as_str()), (200, XLSX));
    let figures = xlsx_sheet(&xlsx, FIGURES_SHEET);
    let first = FIRST_FIGURE_ROW;
    assert_eq!(figures.get_value((first - 1, 5)), Some(&Data::String("比率 rate".into())));
    let row =
        (first..first + 12).find(|&r| figures.get_value((r, 1)) == Some(&Data::String("verification_rate".into())));
    let row = row.expect("a row of 查验率");
    let cells: Vec<Option<&Data>> = (3..8).map(|c| figures.get_value((row, c))).collect();
    let expected =
        [Data::Float(1.0), Data::Float(2.0), Data::Float(0.5), Data::Float(0.9), Data::String("否 no".into())];
    assert_eq!(cells, expected.iter().map(Some).collect::<Vec<_>>());
    let unmeasured =
        (first..first + 12).find(|&r| figures.get_value((r, 1)) == Some(&Data::String("ledger_consistency".into())));
    assert_eq!(figures.get_value((unmeasured.unwrap(), 5)), Some(&Data::String("—".into())), "never 100 %");
    let counterparts = xlsx_sheet(&xlsx, COUNTERPARTS_SHEET);
    assert_eq!(counterparts.get_value((1, 1)), Some(&Data::String(ORIGIN.0.into())));
    assert_eq!(counterparts.get_value((1, 2)), Some(&Data::Float(3.0)));
    assert!(xlsx.windows(20).any(|w| w == b"xl/charts/chart1.xml"), "the workbook holds a chart");
    let (_, october) = residence.get("/api/v1/reports/assessment?month=2026-10", &residence.officer).await;
    assert_eq!(counts(figure(&october, "verification_rate")), (json!(0), json!(1)));
    assert_eq!(october["inflow"], json!([{ "node": ORIGIN.0, "women": 1 }]), "by the end of October");
}

async fn a_bad_report_request_is_refused_and_audited(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let (status, problem) = node.get("/api/v1/reports/assessment?month=2026-13", &node.officer).await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("month.format")), "{problem}");
    let (status, problem) = node.get("/api/v1/reports/assessment?month=2199-01", &node.officer).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("month.ahead")), "{problem}");
    let (status, problem) = node.get("/api/v1/reports/assessment", &node.officer).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("request.query")), "{problem}");
    assert_eq!(node.get("/api/v1/reports/assessment?month=2026-11", &node.worker).await.0, 403);
    let (status, audit) = node.get("/api/v1/audit?action=read_report&limit=1000", &node.auditor).await;
    assert_eq!(status, 200);
    let outcomes: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    for refusal in ["month.format", "month.ahead", "auth.forbidden"] {
        assert!(outcomes.iter().any(|o| o.contains(refusal)), "{refusal}: {outcomes:?}");
    }

    // The women behind a figure: a known, measured indicator of a begun month, for workers and
    // officers; each refusal audited.
    let persons = |query: &str| format!("/api/v1/reports/assessment/persons?{query}");
    for (query, status, code) in [
        ("month=2026-11&indicator=charm_rate", 404, "not_found"),
        ("month=2026-11&indicator=ledger_consistency", 404, "not_found"),
        ("month=2199-01&indicator=issuance_rate", 422, "month.ahead"),
        ("month=2026-11&indicator=issuance_rate&only=some", 400, "request.query"),
        ("month=2026-11", 400, "request.query"),
    ] {
        let (got, problem) = node.get(&persons(query), &node.worker).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{query}: {problem}");
    }
    assert_eq!(node.get(&persons("month=2026-11&indicator=issuance_rate"), &node.auditor).await.0, 403);
    let (status, listed) = node.get(&persons("month=2026-11&indicator=issuance_rate&only=met"), &node.worker).await;
    assert_eq!((status, listed["items"].as_array().map(Vec::len)), (200, Some(0)), "{listed}");
    let (_, audit) = node.get("/api/v1/audit?action=read_report_persons&limit=1000", &node.auditor).await;
    let outcomes: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    for refusal in ["not_found", "month.ahead", "auth.forbidden"] {
        assert!(outcomes.iter().any(|o| o.contains(refusal)), "{refusal}: {outcomes:?}");
    }
}

/// Closes `month` at `node` as its officer.
async fn close(node: &TestNode, month: &str) -> (u16, Value) {
    node.post("/api/v1/reports/assessment/close", &node.officer, &json!({ "month": month })).await
}

async fn a_closed_month_goes_to_the_registry_which_cross_checks_it(backend: Backend) {
    let (registry, nodes) = federation(backend, &[ORIGIN, RESIDENCE]).await;
    let (origin, residence) = (&nodes[0], &nodes[1]);
    let at_registry = |path: &str| {
        let url = format!("{}{path}", registry.url.as_deref().unwrap());
        async move { read(reqwest::get(url).await.unwrap()).await }
    };
    // October: the residence registers one woman from the origin; the origin records another
    // leaving for the residence, which does not register her (yet).
    let zhao_min = id_number("130728", "19980101", 4, true);
    let arrival = |id_number: &str, name: &str| {
        json!({ "person": { "id_number": id_number, "name": name }, "hukou": ORIGIN.0, "address": "新安街道",
                "arrived_on": "2026-10-05" })
    };
    let li_na = id_number("130728", "19950405", 2, true);
    assert_eq!(residence.post("/api/v1/arrivals", &residence.worker, &arrival(&li_na, "李娜")).await.0, 201);
    let departure = json!({ "person": { "id_number": zhao_min, "name": "赵敏" }, "left_on": "2026-10-20",
                            "destination": "新安街道", "to": RESIDENCE.0 });
    assert_eq!(origin.post("/api/v1/departures", &origin.officer, &departure).await.0, 201);
    residence.await_receipts().await;
    origin.await_receipts().await;

    let this_month = hunyu::domain::assessment::Month::of(chrono::Utc::now()).to_string();
    let (status, problem) = close(origin, &this_month).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("month.open")), "{problem}");
    let (status, problem) = close(origin, "2026-13").await;
    assert_eq!((status, problem["errors"][0]["code"].as_str()), (422, Some("month.format")), "{problem}");

    let (status, first) = close(origin, "2026-10").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!((&first["ver"], &first["made"], &first["sent"]), (&json!(1), &json!(true), &json!(true)), "{first}");
    assert_eq!(first["assessment"]["outflow"], json!([{ "node": RESIDENCE.0, "women": 2 }]));
    let (status, at_residence) = close(residence, "2026-10").await;
    assert_eq!((status, &at_residence["sent"]), (200, &json!(true)), "{at_residence}");
    let (status, checked) = at_registry("/reports/2026-10/cross-check").await;
    assert_eq!(status, 200, "{checked}");
    let pair = json!({ "origin": ORIGIN.0, "residence": RESIDENCE.0, "origin_says": 2, "residence_says": 1,
                       "flagged": true });
    assert_eq!((&checked["flagged"], &checked["pairs"]), (&json!(1), &json!([pair])), "{checked}");
    let (status, rolled) = at_registry("/reports/2026-10/roll-up?level=province").await;
    assert_eq!(status, 200, "{rolled}");
    // Hebei and Guangdong: an area each.
    let areas: Vec<&Value> = rolled["areas"].as_array().unwrap().iter().collect();
    assert_eq!(areas.iter().map(|a| a["area"].as_str().unwrap()).collect::<Vec<_>>(), ["130000000000", "440000000000"]);
    let area = areas[1];
    assert_eq!(area["nodes"], json!([RESIDENCE.0]), "{rolled}");
    let verified = area["figures"].as_array().unwrap().iter().find(|f| f["indicator"] == "verification_rate").unwrap();
    assert_eq!((&verified["numerator"], &verified["denominator"]), (&json!(0), &json!(1)), "{rolled}");

    // A late fact: the residence registers 赵敏 as arrived in October. Closing again makes
    // version 2, which supersedes version 1 at the registry; both stay.
    assert_eq!(residence.post("/api/v1/arrivals", &residence.worker, &arrival(&zhao_min, "赵敏")).await.0, 201);
    let (status, second) = close(residence, "2026-10").await;
    assert_eq!(status, 200, "{second}");
    assert_eq!((&second["ver"], &second["made"], &second["sent"]), (&json!(2), &json!(true), &json!(true)));
    assert_eq!(second["supersedes"], at_residence["jti"]);
    let (_, again) = close(residence, "2026-10").await;
    assert_eq!((&again["ver"], &again["made"], &again["jti"]), (&json!(2), &json!(false), &second["jti"]));
    let (_, kept) = at_registry("/reports/2026-10").await;
    let versions: Vec<(&str, u64)> = kept["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["iss"].as_str().unwrap(), r["ver"].as_u64().unwrap()))
        .collect();
    assert_eq!(versions, [(ORIGIN.0, 1), (RESIDENCE.0, 1), (RESIDENCE.0, 2)]);
    let (_, checked) = at_registry("/reports/2026-10/cross-check").await;
    assert_eq!((&checked["flagged"], &checked["pairs"][0]["residence_says"]), (&json!(0), &json!(2)), "{checked}");

    // The registry refuses a report signed by the wrong node, one addressed to another registry
    // and one that does not follow the versions it holds; it keeps one already kept again.
    let claims: ReportClaims = read_stored(second["token"].as_str().unwrap()).unwrap();
    let signed = |claims: &ReportClaims| {
        sign_compact(&residence.signer(), REPORT_TYP, &serde_json::to_vec(claims).unwrap(), false)
    };
    let submit = |token: String| {
        let url = format!("{}/reports", registry.url.as_deref().unwrap());
        async move { read(reqwest::Client::new().post(url).body(token).send().await.unwrap()).await }
    };
    let posing =
        ReportClaims { iss: ORIGIN.0.into(), jti: "0193b000-0000-7000-8000-000000000001".into(), ..claims.clone() };
    let elsewhere = ReportClaims { aud: "110000000000".into(), ..claims.clone() };
    for (forged, code) in [(posing, "report.invalid"), (elsewhere, "report.invalid")] {
        let (status, problem) = submit(signed(&forged)).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some(code)), "{problem}");
    }
    let skipping = ReportClaims {
        ver: 3,
        jti: "0193b000-0000-7000-8000-000000000003".into(),
        supersedes: at_residence["jti"].as_str().map(str::to_owned),
        ..claims
    };
    let (status, problem) = submit(signed(&skipping)).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("report.version")), "{problem}");
    let (status, problem) = submit("not a report".into()).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("report.invalid")), "{problem}");
    assert_eq!(submit(second["token"].as_str().unwrap().to_owned()).await.0, 204);
    let (_, kept) = at_registry("/reports/2026-10").await;
    assert_eq!(kept["reports"].as_array().unwrap().len(), 3, "nothing refused was kept");
}

/// An instant given in UTC, as the store keeps it.
fn utc(t: &str) -> chrono::NaiveDateTime {
    DateTime::parse_from_rfc3339(t).unwrap().naive_utc()
}

/// A message sent from `node` as `kind`, made at `at`, receipted or not, with the book entry it
/// made (if `entry` gives its kind, person, day and certificate).
fn plant(
    node: &TestNode,
    seq: i64,
    kind: &str,
    at: &str,
    receipted: bool,
    entry: Option<(EntryKind, &str, &str, Option<&str>)>,
) {
    let row = MessageRow {
        created_at: utc(at),
        direction: "out".into(),
        kind: kind.into(),
        receipt: receipted.then(|| "e30.e30.c2ln".into()),
        receipted_at: receipted.then(|| utc(at)),
        due_on: None,
        ..owed(seq, kind, "2026-10-01", None)
    };
    let entry = entry.map(|(kind, id_number, on, certificate)| NewEntry {
        source: row.id.clone(),
        peer: row.peer.clone(),
        kind,
        side: Side::Residence,
        subject: Some(node.core.audit_key.subject(id_number)),
        person: PersonRef { id_number: parse(id_number, NaiveDate::MAX).unwrap(), name: "某某".into() },
        on_date: on.parse().unwrap(),
        method: (kind == EntryKind::Contraception).then_some(ContraceptionMethod::Iud),
        certificate: certificate.map(str::to_owned),
        corrects: None,
        recorded_at: row.created_at,
    });
    node.core
        .store
        .write(move |conn| {
            messages::insert_all(conn, &[row])?;
            ledgers::insert_all(conn, &entry.into_iter().collect::<Vec<_>>())
        })
        .map_err(|e: StoreError| e)
        .unwrap();
}

/// A woman's card as a township's register holds it.
fn card(node: &TestNode, id_number: &str, marital: &str, method: Option<&str>, side: &str) -> CardRow {
    CardRow {
        id_number: id_number.into(),
        subject: node.core.audit_key.subject(id_number),
        name: "某某".into(),
        birth_date: NaiveDate::parse_from_str(&id_number[6..14], "%Y%m%d").unwrap(),
        marital: marital.into(),
        method: method.map(str::to_owned),
        side: side.into(),
        counterpart: None,
        since: "2024-01-01".parse().unwrap(),
        updated_at: utc("2026-01-01T00:00:00Z"),
    }
}

/// October 2026 at a residence, each figure worked out by hand. National Day: 1–7 October are
/// holidays and Saturday 10 October a working day, so the fifth working day after 1 October is
/// Tuesday 13 October (not Thursday 8 October, as weekends alone would give).
async fn every_indicator_on_a_hand_computed_october_with_its_holiday_week(backend: Backend) {
    let node = TestNode::spawn(backend, RESIDENCE, &[]).await;
    let woman = |seq: u32| id_number("130728", "19900307", seq, true);
    let (a1, a2, a3, a5) = (woman(1), woman(2), woman(3), woman(5));
    let arrived = |seq, who: &str, on: &str, at: &str, certified: bool| {
        let certificate = certified.then_some("0193a000-0000-7000-8000-00000000c0de");
        plant(&node, seq, "arrival_notice", at, true, Some((EntryKind::Arrived, who, on, certificate)));
    };
    // Arrived on the holiday of 1 October; checked by 23:59:59 on the 13th in Shanghai: in time.
    arrived(11, &a1, "2026-10-01", "2026-10-13T15:59:59Z", true);
    // The same day, checked a second later, at 00:00 on the 14th: late.
    arrived(12, &a2, "2026-10-01", "2026-10-13T16:00:00Z", true);
    // Arrived without a certificate, her origin told the next day; shown and checked on the
    // third working day (a second registration, itself an arrival of the month).
    arrived(13, &a3, "2026-10-20", "2026-10-21T02:00:00Z", false);
    arrived(14, &a3, "2026-10-20", "2026-10-23T02:00:00Z", true);
    // Without a certificate, her origin told on 5 November: after the 20th working day (3 November).
    arrived(15, &a5, "2026-10-02", "2026-11-05T02:00:00Z", false);
    // Two events reported in October, one receipted; a contraception service for a1.
    plant(
        &node,
        16,
        "event_report",
        "2026-10-15T02:00:00Z",
        true,
        Some((EntryKind::Contraception, &a1, "2026-10-15", None)),
    );
    let birth = |on| Some((EntryKind::Birth, a2.as_str(), on, None));
    plant(&node, 17, "event_report", "2026-10-31T15:59:59Z", false, birth("2026-10-31"));
    // Reported at 00:00 on 1 November in Shanghai: November's.
    plant(&node, 18, "event_report", "2026-10-31T16:00:00Z", true, birth("2026-11-01"));
    // The women's cards: a1 married with an IUD; a2 married on the pill; an unmarried woman; a
    // married woman aged 56; and one kept as origin, married, without a method.
    let cards = vec![
        card(&node, &a1, "21", Some("iud"), "residence"),
        card(&node, &a2, "20", Some("pill"), "residence"),
        card(&node, &id_number("130728", "20000101", 6, true), "10", None, "residence"),
        card(&node, &id_number("130728", "19700101", 7, true), "21", Some("implant"), "residence"),
        card(&node, &id_number("130728", "19920101", 8, true), "22", None, "origin"),
    ];
    node.core
        .store
        .write(move |conn| hunyu::store::cards::insert_all(conn, &cards))
        .map_err(|e: StoreError| e)
        .unwrap();

    let (status, october) = node.get("/api/v1/reports/assessment?month=2026-10", &node.officer).await;
    assert_eq!(status, 200, "{october}");
    let expected = [
        // Five arrivals: four verified (a3 through her second registration), three in time.
        ("verification_rate", 4, 5),
        ("on_time_verification_rate", 3, 5),
        // Of the two registered without a certificate, one origin told in time.
        ("arrival_notice_on_time_rate", 1, 2),
        ("event_report_rate", 1, 2),
        // Married women 15–49 kept as residence: a1 and a2; a1 served in October.
        ("basic_service_rate", 1, 2),
        // Married women 15–49 on either side: a1, a2 and the one kept as origin; a1's IUD.
        ("long_acting_rate", 1, 3),
        // The one kept as origin holds no certificate from here.
        ("issuance_rate", 0, 1),
    ];
    for (indicator, n, d) in expected {
        assert_eq!(counts(figure(&october, indicator)), (json!(n), json!(d)), "{indicator}: {october}");
    }
    assert_eq!(figure(&october, "on_time_verification_rate")["rate"], 0.6);
    assert_eq!(figure(&october, "long_acting_rate")["meets_target"], false);

    // Behind every figure, the women it counts: as many as its denominator, those met as many as
    // its numerator.
    for (indicator, n, d) in expected {
        let path = format!("/api/v1/reports/assessment/persons?month=2026-10&indicator={indicator}&limit=1000");
        let (status, listed) = node.get(&path, &node.worker).await;
        assert_eq!(status, 200, "{listed}");
        let items = listed["items"].as_array().unwrap();
        let met = items.iter().filter(|p| p["met"] == true).count();
        assert_eq!((met, items.len()), (n, d), "{indicator}: {listed}");
    }
    let path = "/api/v1/reports/assessment/persons?month=2026-10&indicator=on_time_verification_rate&only=missed";
    let (_, late) = node.get(path, &node.officer).await;
    let late: Vec<(&Value, &Value)> =
        late["items"].as_array().unwrap().iter().map(|p| (&p["id_number"], &p["responsible"])).collect();
    // a2 checked a second late, a5 never; both on this node's cards as residence, it answers for a2.
    assert_eq!(late, [(&json!(a2), &json!(RESIDENCE.0)), (&json!(a5), &Value::Null)]);
    let path = "/api/v1/reports/assessment/persons?month=2026-10&indicator=issuance_rate&format=csv";
    let (status, _, csv) = node.download(path, &node.officer, None).await;
    assert_eq!(status, 200, "{csv}");
    let row = format!("{},某某,否 no,origin,,{},", id_number("130728", "19920101", 8, true), RESIDENCE.0);
    assert_eq!(csv.lines().nth(1), Some(row.as_str()), "{csv}");
}

/// 发证率 at the origin: of the women it keeps as origin, those holding a certificate from here
/// valid at the month's end; a revoked one does not count.
async fn issuance_counts_the_women_kept_as_origin_who_hold_a_valid_certificate(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let zhang_li_card = card(&node, "130728199003070026", "21", Some("iud"), "origin");
    let wang_fang = single_woman(3);
    let wang_fang_id = wang_fang["person"]["id_number"].as_str().unwrap().to_owned();
    let cards = vec![
        zhang_li_card,
        card(&node, &wang_fang_id, "10", None, "origin"),
        card(&node, "130728200109150046", "10", None, "origin"),
    ];
    node.core
        .store
        .write(move |conn| hunyu::store::cards::insert_all(conn, &cards))
        .map_err(|e: StoreError| e)
        .unwrap();
    node.issue(&zhang_li()).await;
    let revoked = node.issue(&wang_fang).await;
    let path = format!("/api/v1/certificates/{}/revoke", revoked["id"].as_str().unwrap());
    assert_eq!(node.post(&path, &node.officer, &json!({ "reason": "注销" })).await.0, 200);
    let this_month = hunyu::domain::assessment::Month::of(chrono::Utc::now()).to_string();
    let (status, assessed) = node.get(&format!("/api/v1/reports/assessment?month={this_month}"), &node.officer).await;
    assert_eq!(status, 200, "{assessed}");
    assert_eq!(counts(figure(&assessed, "issuance_rate")), (json!(1), json!(3)), "{assessed}");
}
