//! `hunyu import`: a township's register of women's cards from XLSX or CSV, the rows refused
//! listed by row, column and rule, and the same file twice changing nothing.

use std::process::Command;

use hunyu::store::cards;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, ORIGIN, TestNode, xlsx_sheet};

both_backends!(a_register_comes_in_once_and_its_bad_rows_are_listed);

/// Runs `hunyu import` for `node` with `args`; whether it succeeded and what it said.
fn import(node: &TestNode, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hunyu"))
        .arg("import")
        .arg("--config")
        .arg(node.dir.path().join("hunyu.toml"))
        .args(args)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// A register as a township keeps it: its own column order and headers, numbers and dates as
/// Excel stores them, a blank row, and rows that break the rules.
fn register(path: &std::path::Path, method_of_zhang_li: &str) {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let headers = ["姓名", "公民身份号码 id_number", "marital", "避孕方法", "管理方", "对方节点", "登记日期"];
    for (c, h) in (0u16..).zip(headers) {
        sheet.write_string(0, c, h).unwrap();
    }
    let rows: [[&str; 7]; 7] = [
        ["张丽", "130728199003070026", "21", method_of_zhang_li, "origin", "440306001000", "2024-05-01"],
        ["李娜", "130728200109150046", "未婚", "", "现居住地", "130728102000", ""],
        ["王强", "130728198801010015", "21", "", "origin", "", "2024-05-01"],
        ["王芳", "130728199511200026", "99", "magic", "origin", "", "2024-05-01"],
        ["张丽", "130728199003070026", "21", "iud", "origin", "", "2024-05-01"],
        ["", "", "", "", "", "", ""],
        ["赵敏", "130728199003070027", "20", "", "origin", "", "2024-05-01"],
    ];
    for (r, row) in (1u32..).zip(rows) {
        for (c, cell) in (0u16..).zip(row) {
            sheet.write_string(r, c, cell).unwrap();
        }
    }
    // 李娜's date as an Excel date, and a married woman whose status is a number cell.
    let date = Format::new().set_num_format("yyyy-mm-dd");
    sheet.write_datetime_with_format(2, 6, ExcelDateTime::parse_from_str("2025-02-03").unwrap(), &date).unwrap();
    let cells: [(u16, &str); 7] = [
        (0, "刘洋"),
        (1, "130728199511200042"),
        (2, ""),
        (3, "implant"),
        (4, "现居住地"),
        (5, "130728102000"),
        (6, "2025-06-30"),
    ];
    for (c, text) in cells {
        sheet.write_string(8, c, text).unwrap();
    }
    sheet.write_number(8, 2, 20.0).unwrap();
    workbook.save(path).unwrap();
}

async fn a_register_comes_in_once_and_its_bad_rows_are_listed(backend: Backend) {
    let node = TestNode::spawn(backend, ORIGIN, &[]).await;
    let file = node.dir.path().join("register.xlsx");
    register(&file, "iud");
    let (ok, said) = import(&node, &["--file", file.to_str().unwrap()]);
    assert!(ok, "{said}");
    assert!(said.contains("3 card(s) created, 0 changed, 0 unchanged, 4 row(s) refused"), "{said}");
    let rejects = std::fs::read_to_string(node.dir.path().join("register.rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.strip_prefix('\u{feff}').unwrap().lines().collect();
    assert_eq!(lines[0], "行 row,列 column,代码 code,说明 message_zh,message_en");
    let refused: Vec<String> = lines[1..].iter().map(|l| l.split(',').take(3).collect::<Vec<_>>().join(",")).collect();
    assert_eq!(
        refused,
        [
            "4,id_number,card.sex",
            "5,marital,card.marital",
            "5,method,card.method",
            "6,id_number,import.duplicate",
            "8,id_number,id_number.checksum",
        ]
    );
    assert!(!rejects.contains("1307281995112000"), "a rejects file names no value: {rejects}");
    assert_eq!(node.core.store.read(cards::count).unwrap(), 3);
    let held =
        node.core.store.read(|conn| cards::find_all(conn, &["130728200109150046", "130728199511200042"])).unwrap();
    let li_na = held.iter().find(|c| c.name == "李娜").unwrap();
    assert_eq!(
        (li_na.marital.as_str(), li_na.side.as_str(), li_na.since.to_string()),
        ("10", "residence", "2025-02-03".into())
    );
    assert_eq!(held.iter().find(|c| c.name == "刘洋").unwrap().marital, "20");

    // The same file again changes nothing; a changed row changes one card.
    let (ok, said) = import(&node, &["--file", file.to_str().unwrap()]);
    assert!(ok && said.contains("0 card(s) created, 0 changed, 3 unchanged, 4 row(s) refused"), "{said}");
    register(&file, "implant");
    let (ok, said) = import(&node, &["--file", file.to_str().unwrap()]);
    assert!(ok && said.contains("0 card(s) created, 1 changed, 2 unchanged"), "{said}");
    assert_eq!(node.core.store.read(cards::count).unwrap(), 3);
    let (_, audit) = node.get("/api/v1/audit?action=import_cards&limit=100", &node.auditor).await;
    let outcomes: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "card created").count(), 3, "{audit}");
    assert_eq!(outcomes.iter().filter(|o| **o == "card changed").count(), 1, "{audit}");
    assert!(
        audit["entries"].as_array().unwrap().iter().all(|e: &Value| e["actor"] == "host" && e["subject"].is_string())
    );

    // The shipped template as CSV, filled in; a file without the template's columns is refused whole.
    let csv = node.dir.path().join("register.csv");
    let template = std::fs::read_to_string("templates/women-cards.csv").unwrap();
    std::fs::write(&csv, format!("{template}130728199511200026,王芳,40,pill,origin,,2023-01-01\n")).unwrap();
    let (ok, said) = import(&node, &["--file", csv.to_str().unwrap()]);
    assert!(ok && said.contains("1 card(s) created, 0 changed, 0 unchanged, 0 row(s) refused"), "{said}");
    std::fs::write(&csv, "姓名,公民身份号码\n王芳,130728199511200026\n").unwrap();
    let (ok, said) = import(&node, &["--file", csv.to_str().unwrap()]);
    assert!(!ok && said.contains("import.columns") && said.contains("婚姻状况"), "{said}");
}

/// The templates in the repository are the importer's columns.
#[test]
fn the_shipped_templates_are_the_import_columns() {
    let headers = hunyu::import::template_headers();
    let csv = std::fs::read_to_string("templates/women-cards.csv").unwrap();
    assert_eq!(csv.strip_prefix('\u{feff}').unwrap().trim_end(), headers.join(","));
    let sheet = xlsx_sheet(&std::fs::read("templates/women-cards.xlsx").unwrap(), "育龄妇女卡");
    let cells: Vec<String> = (0..7).map(|c| sheet.get_value((0, c)).unwrap().to_string()).collect();
    assert_eq!(cells, headers);
}
