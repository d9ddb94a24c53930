//! The one table every section's rows go into: fixed columns, empty cells shown as `-`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The columns, in print order (after "section" and "case").
pub const COLUMNS: &[&str] = &[
    "wall",
    "products/s",
    "Odoo calls",
    "peak RSS",
    "×seed",
    "×floor",
    "p50",
    "p99",
    "requests/s",
    "note",
];

#[derive(Debug, Clone)]
pub struct Row {
    section: String,
    case: String,
    cells: BTreeMap<&'static str, String>,
}

impl Row {
    pub fn new(section: &str, case: &str) -> Row {
        Row {
            section: section.to_string(),
            case: case.to_string(),
            cells: BTreeMap::new(),
        }
    }

    /// Sets one cell; `column` must be one of `COLUMNS`.
    pub fn set(mut self, column: &'static str, value: impl Into<String>) -> Row {
        debug_assert!(COLUMNS.contains(&column), "unknown column {column}");
        self.cells.insert(column, value.into());
        self
    }
}

#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    pub fn push(&mut self, rows: impl IntoIterator<Item = Row>) {
        self.rows.extend(rows);
    }

    pub fn render(&self) -> String {
        let headers: Vec<&str> = ["section", "case"].iter().chain(COLUMNS).copied().collect();
        let lines: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| {
                let mut line = vec![row.section.clone(), row.case.clone()];
                line.extend(
                    COLUMNS
                        .iter()
                        .map(|c| row.cells.get(c).cloned().unwrap_or_else(|| "-".to_string())),
                );
                line
            })
            .collect();
        let widths: Vec<usize> = (0..headers.len())
            .map(|i| {
                lines
                    .iter()
                    .map(|line| line[i].chars().count())
                    .chain([headers[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let mut print = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, width))| {
                    let pad = width - cell.chars().count();
                    // Text columns left-aligned, figures right-aligned; the note is last.
                    if i < 2 || i == headers.len() - 1 {
                        format!("{cell}{}", " ".repeat(pad))
                    } else {
                        format!("{}{cell}", " ".repeat(pad))
                    }
                })
                .collect();
            let _ = writeln!(out, "| {} |", padded.join(" | "));
        };
        print(&headers.iter().map(|h| h.to_string()).collect::<Vec<_>>());
        print(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
        for line in &lines {
            print(line);
        }
        out
    }
}

/// A figure with thousands separators, no decimals: 12345.6 → "12,346".
pub fn num(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// Milliseconds with a precision that suits the size.
pub fn ms(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2} ms")
    } else if value < 100.0 {
        format!("{value:.1} ms")
    } else {
        format!("{value:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_get_thousands_separators() {
        assert_eq!(num(1234567.4), "1,234,567");
        assert_eq!(num(999.0), "999");
        assert_eq!(num(-1000.0), "-1,000");
    }

    #[test]
    fn every_row_has_every_column() {
        let mut table = Table::default();
        table.push([Row::new("s", "c").set("wall", "1 s")]);
        let text = table.render();
        assert_eq!(text.lines().count(), 3);
        assert!(text.contains(" 1 s |"));
        assert!(text.contains(" - |"));
    }
}
