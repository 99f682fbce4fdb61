//! Plain text tables: left-aligned columns, two spaces apart.

/// Renders `header` and `rows` with every column as wide as its widest cell.
/// Trailing spaces are trimmed from each line.
/// Cells are shown as one line each, control characters escaped: they hold
/// what servers send (model ids, names).
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| super::terminal::line(cell).into_owned())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            let pad = widths
                .get(i)
                .copied()
                .unwrap_or(0)
                .saturating_sub(cell.chars().count());
            out.extend(std::iter::repeat_n(' ', pad));
        }
        out.trim_end().to_owned()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let rows = vec![
            vec![
                "vllm/a-long-name".to_owned(),
                "text".to_owned(),
                "".to_owned(),
            ],
            vec!["vllm/b".to_owned(), "text+image".to_owned(), "x".to_owned()],
        ];
        let out = render(&["Model", "Input", "Tags"], &rows);
        assert_eq!(
            out,
            "Model             Input       Tags\n\
             vllm/a-long-name  text\n\
             vllm/b            text+image  x\n"
        );
    }
}
