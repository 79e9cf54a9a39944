//! The tables officers take away: a book, a worklist or a month's assessment as a CSV file that
//! Excel opens, or as an XLSX workbook (rust_xlsxwriter) with Chinese headers, percentages as
//! percentages, each target beside its figure, the figures below target marked and a chart.

use rust_xlsxwriter::{Chart, ChartType, Color, Format as CellFormat, FormatBorder, Workbook, Worksheet, XlsxError};

use crate::domain::assessment::Figure;
use crate::service::reports::Assessment;

/// The media type of an XLSX workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The form of a table taken away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The JSON document (the default).
    #[default]
    Json,
    /// A CSV file with Chinese headers, UTF-8 with a byte-order mark so that Excel reads it.
    Csv,
    /// An XLSX workbook with Chinese headers.
    Xlsx,
}

impl Format {
    /// Every form, in a stable order.
    pub const ALL: [Format; 3] = [Format::Json, Format::Csv, Format::Xlsx];

    /// The wire name, and the file name extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }

    /// The media type of a file of this form.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => XLSX,
        }
    }
}

/// Why a table could not be written: a defect, as writing goes to memory.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("writing CSV failed: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing XLSX failed: {0}")]
    Xlsx(#[from] XlsxError),
}

/// A table of text cells under headers (each `中文 field`).
pub struct Table<'a> {
    /// The sheet's name in a workbook.
    pub title: &'a str,
    pub headers: &'a [&'a str],
    pub rows: Vec<Vec<String>>,
}

/// The table as CSV, UTF-8 with a byte-order mark so that Excel reads the Chinese.
pub fn csv(table: &Table<'_>) -> Result<Vec<u8>, SheetError> {
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    out.write_record(table.headers)?;
    for row in &table.rows {
        out.write_record(row)?;
    }
    out.into_inner().map_err(|e| SheetError::Csv(e.into_error().into()))
}

/// The table as a workbook of one sheet: bold headers, the header row frozen, columns fitted.
pub fn xlsx(table: &Table<'_>) -> Result<Vec<u8>, SheetError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(table.title)?;
    write_headers(sheet, 0, table.headers)?;
    for (r, row) in (1u32..).zip(&table.rows) {
        for (c, cell) in (0u16..).zip(row) {
            sheet.write_string(r, c, cell)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofit();
    Ok(workbook.save_to_buffer()?)
}

/// A yes-or-no cell, in Chinese and English.
pub fn yes_no(yes: bool) -> String {
    if yes { "是 yes" } else { "否 no" }.to_owned()
}

/// The columns of the assessment: the Chinese name, then the JSON field.
pub const ASSESSMENT_HEADERS: [&str; 8] = [
    "指标 name_zh",
    "代码 indicator",
    "考核方 side",
    "分子 numerator",
    "分母 denominator",
    "比率 rate",
    "目标 target",
    "达标 meets_target",
];

/// The assessment as a CSV file or, for [`Format::Xlsx`], its workbook.
pub fn assessment_file(assessed: &Assessment, format: Format) -> Result<Vec<u8>, SheetError> {
    match format {
        Format::Xlsx => assessment_xlsx(assessed),
        _ => csv(&Table { title: FIGURES_SHEET, headers: &ASSESSMENT_HEADERS, rows: assessment_rows(assessed) }),
    }
}

/// The assessment as text rows, one per indicator: a dash where there is nothing to show (not
/// measured, or nothing to count), never 100 %.
fn assessment_rows(assessed: &Assessment) -> Vec<Vec<String>> {
    let shown = |value: Option<String>| value.unwrap_or_else(|| "—".to_owned());
    assessed
        .figures
        .iter()
        .map(|f| {
            vec![
                f.indicator.name_zh().to_owned(),
                f.indicator.code().to_owned(),
                f.indicator.side().as_str().to_owned(),
                shown(f.numerator.map(|n| n.to_string())),
                shown(f.denominator.map(|n| n.to_string())),
                shown(f.rate().map(|r| r.to_string())),
                shown(f.target.map(|t| t.to_string())),
                shown(f.meets_target().map(yes_no)),
            ]
        })
        .collect()
}

/// The sheet of the figures in an assessment workbook.
pub const FIGURES_SHEET: &str = "双向考核";
/// The sheet of the counterparts in an assessment workbook.
pub const COUNTERPARTS_SHEET: &str = "对口统计";
/// The row of the first indicator on the figures sheet (0-based: a title, a blank, the headers).
pub const FIRST_FIGURE_ROW: u32 = 3;

/// The assessment as a workbook: the figures sheet (counts as numbers, rates and targets as
/// percentages, a rate below its target on red, a chart of the rates against the targets) and
/// the counterparts sheet (the women counted with each other node, for the cross-check).
fn assessment_xlsx(assessed: &Assessment) -> Result<Vec<u8>, SheetError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(FIGURES_SHEET)?;
    let title = CellFormat::new().set_bold().set_font_size(14);
    sheet.write_string_with_format(0, 0, format!("{} {} 双向考核月报", assessed.node, assessed.month), &title)?;
    write_headers(sheet, FIRST_FIGURE_ROW - 1, &ASSESSMENT_HEADERS)?;
    let percent = CellFormat::new().set_num_format("0.00%");
    let below = CellFormat::new().set_num_format("0.00%").set_background_color(Color::RGB(0xFF_C7CE)).set_bold();
    for (r, figure) in (FIRST_FIGURE_ROW..).zip(&assessed.figures) {
        write_figure(sheet, r, figure, &percent, &below)?;
    }
    let last = FIRST_FIGURE_ROW + u32::try_from(assessed.figures.len()).unwrap_or(0) - 1;
    let score_row = last + 2;
    let bold = CellFormat::new().set_bold();
    sheet.write_string_with_format(score_row, 0, "综合得分 score", &bold)?;
    let sides = [
        ("流出地 origin", assessed.score.origin, assessed.score.weights.origin),
        ("现居住地 residence", assessed.score.residence, assessed.score.weights.residence),
    ];
    for (r, (side, rate, weight)) in (score_row + 1..).zip(sides) {
        sheet.write_string(r, 0, side)?;
        write_rate(sheet, r, 5, rate.map(f64::from), &percent)?;
        sheet.write_string(r, 6, format!("权重 weight {weight}"))?;
    }
    sheet.write_string_with_format(score_row + 3, 0, "加权 combined", &bold)?;
    write_rate(sheet, score_row + 3, 5, assessed.score.combined.map(f64::from), &percent)?;

    let mut chart = Chart::new(ChartType::Column);
    chart.title().set_name("指标与目标 indicators against targets");
    for (column, name) in [(5u16, "比率 rate"), (6, "目标 target")] {
        chart.add_series().set_name(name).set_categories((FIGURES_SHEET, FIRST_FIGURE_ROW, 0, last, 0)).set_values((
            FIGURES_SHEET,
            FIRST_FIGURE_ROW,
            column,
            last,
            column,
        ));
    }
    chart.y_axis().set_num_format("0%").set_max(1.0);
    chart.set_width(900).set_height(420);
    sheet.set_freeze_panes(FIRST_FIGURE_ROW, 0)?;
    sheet.autofit();
    sheet.insert_chart(score_row + 5, 0, &chart)?;

    let counterparts = workbook.add_worksheet();
    counterparts.set_name(COUNTERPARTS_SHEET)?;
    write_headers(counterparts, 0, &["方向 flow", "对方节点 node", "人数 women"])?;
    let flows =
        assessed.outflow.iter().map(|c| ("流出 outflow", c)).chain(assessed.inflow.iter().map(|c| ("流入 inflow", c)));
    for (r, (flow, counterpart)) in (1u32..).zip(flows) {
        counterparts.write_string(r, 0, flow)?;
        counterparts.write_string(r, 1, &counterpart.node)?;
        counterparts.write_number(r, 2, counterpart.women as f64)?;
    }
    counterparts.autofit();
    Ok(workbook.save_to_buffer()?)
}

/// One indicator's row: its names, its counts, its rate and target as percentages, whether it
/// meets the target; the rate on red when it does not.
fn write_figure(
    sheet: &mut Worksheet,
    r: u32,
    figure: &Figure,
    percent: &CellFormat,
    below: &CellFormat,
) -> Result<(), XlsxError> {
    let indicator = figure.indicator;
    sheet.write_string(r, 0, indicator.name_zh())?;
    sheet.write_string(r, 1, indicator.code())?;
    sheet.write_string(r, 2, indicator.side().as_str())?;
    for (column, count) in [(3u16, figure.numerator), (4, figure.denominator)] {
        match count {
            Some(count) => sheet.write_number(r, column, count as f64)?,
            None => sheet.write_string(r, column, "—")?,
        };
    }
    let meets = figure.meets_target();
    let rate_format = if meets == Some(false) { below } else { percent };
    write_rate(sheet, r, 5, figure.rate().map(f64::from), rate_format)?;
    write_rate(sheet, r, 6, figure.target.map(f64::from), percent)?;
    sheet.write_string(r, 7, meets.map_or_else(|| "—".to_owned(), yes_no))?;
    Ok(())
}

/// A rate as a percentage, or a dash where there is none (never 100 %).
fn write_rate(sheet: &mut Worksheet, r: u32, c: u16, rate: Option<f64>, format: &CellFormat) -> Result<(), XlsxError> {
    match rate {
        Some(rate) => sheet.write_number_with_format(r, c, rate, format)?,
        None => sheet.write_string(r, c, "—")?,
    };
    Ok(())
}

/// A bold, bordered header row.
fn write_headers(sheet: &mut Worksheet, r: u32, headers: &[&str]) -> Result<(), XlsxError> {
    let header =
        CellFormat::new().set_bold().set_border_bottom(FormatBorder::Thin).set_background_color(Color::RGB(0xDD_EBF7));
    for (c, name) in (0u16..).zip(headers) {
        sheet.write_string_with_format(r, c, *name, &header)?;
    }
    Ok(())
}
