//! Large digits for the wall, legible from across a room: five rows, drawn
//! with a block (or `#` in ASCII mode).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

fn glyph(c: char) -> [&'static str; 5] {
    match c {
        '0' => ["###", "# #", "# #", "# #", "###"],
        '1' => [" # ", "## ", " # ", " # ", "###"],
        '2' => ["###", "  #", "###", "#  ", "###"],
        '3' => ["###", "  #", "###", "  #", "###"],
        '4' => ["# #", "# #", "###", "  #", "  #"],
        '5' => ["###", "#  ", "###", "  #", "###"],
        '6' => ["###", "#  ", "###", "# #", "###"],
        '7' => ["###", "  #", "  #", "  #", "  #"],
        '8' => ["###", "# #", "###", "# #", "###"],
        '9' => ["###", "# #", "###", "  #", "###"],
        ':' => ["   ", " # ", "   ", " # ", "   "],
        '-' => ["   ", "   ", "###", "   ", "   "],
        '+' => ["   ", " # ", "###", " # ", "   "],
        'h' => ["#  ", "#  ", "###", "# #", "# #"],
        'm' => ["   ", "   ", "###", "###", "# #"],
        's' => ["   ", " ##", " # ", "## ", "   "],
        _ => ["   ", "   ", "   ", "   ", "   "],
    }
}

/// The five lines of `text` in large digits, `ink` for the strokes.
pub fn lines(text: &str, ink: &str, style: Style) -> Vec<Line<'static>> {
    (0..5)
        .map(|row| {
            let mut out = String::new();
            for c in text.chars() {
                for cell in glyph(c)[row].chars() {
                    out.push_str(if cell == '#' { ink } else { " " });
                }
                out.push(' ');
            }
            Line::from(Span::styled(out, style))
        })
        .collect()
}

/// Columns `text` takes in large digits.
pub fn width(text: &str) -> usize {
    text.chars().count() * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_five_rows_of_three_columns() {
        let lines = lines("12:05", "#", Style::new());
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0].width(), width("12:05"));
        assert_eq!(lines[2].spans[0].content, " #  ###     # # ### ");
    }
}
