//! How admin commands print: aligned tables for people (the default), or one JSON
//! document for scripts (`--output json`, RILL_OUTPUT=json). The JSON shapes are
//! listed in docs/cli.md; each command builds its document with `serde_json::json!`
//! next to its table, so the two cannot drift apart unnoticed.

/// The output format of admin commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    /// Aligned tables and lines for people.
    #[default]
    Human,
    /// One JSON document on stdout.
    Json,
}

impl Output {
    /// Prints `json()` in JSON mode, else `human()`: exactly one of them is built.
    pub fn print(self, json: impl FnOnce() -> serde_json::Value, human: impl FnOnce() -> String) {
        match self {
            Output::Json => println!("{}", json()),
            Output::Human => {
                let text = human();
                if !text.is_empty() {
                    println!("{}", text.trim_end_matches('\n'));
                }
            }
        }
    }
}

/// A table: a header row and rows of cells, printed in left-aligned columns two spaces
/// apart, with no trailing spaces.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; it must have one cell per column (a programmer error otherwise).
    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(cells.len(), self.header.len(), "one cell per column");
        self.rows.push(cells);
    }

    /// The table as text, one line per row (header first), each ending in a newline.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = w - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A cell for an optional value: the value, or "-".
pub fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A comma list of broker ids.
pub fn id_list(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_to_the_widest_cell_without_trailing_spaces() {
        let mut t = Table::new(&["GROUP", "STATE", "MEMBERS"]);
        t.row(vec!["orders-app".into(), "Stable".into(), "2".into()]);
        t.row(vec!["g".into(), "Empty".into(), "".into()]);
        assert_eq!(
            t.render(),
            "GROUP       STATE   MEMBERS\n\
             orders-app  Stable  2\n\
             g           Empty\n"
        );
    }

    #[test]
    fn wide_characters_count_once() {
        let mut t = Table::new(&["K", "V"]);
        t.row(vec!["é".into(), "x".into()]);
        assert_eq!(t.render(), "K  V\né  x\n");
    }

    #[test]
    #[should_panic(expected = "one cell per column")]
    fn a_short_row_is_a_programmer_error() {
        Table::new(&["A", "B"]).row(vec!["a".into()]);
    }

    #[test]
    fn dashes_stand_for_missing_values() {
        assert_eq!(or_dash(None::<i64>), "-");
        assert_eq!(or_dash(Some(3)), "3");
        assert_eq!(id_list(&[1, 2, 3]), "1,2,3");
    }
}
