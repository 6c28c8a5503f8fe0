//! A chart in the terminal, for the REPL's `:plot` without a file: one small
//! panel per value, drawn in Braille dots (each character is a cell of 2 × 4
//! dots, so a panel of 60 × 6 characters has 120 × 24 dots), with its range
//! on the left, the steps below and the defaults marked under the axis.
//! Plain text: it reads the same in any terminal, without colour.

use super::record::{Line, Recording};
use super::units::readable;

/// Characters across the plotting area.
pub const WIDTH: usize = 60;
/// Character rows of a panel.
pub const HEIGHT: usize = 6;
/// At most this many panels; more names are listed, to draw into a file.
pub const MAX_PANELS: usize = 4;

/// The dots of one Braille cell, by (column, row) within it.
const DOTS: [[u32; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];

/// The chart of `recording` as lines of text.
pub fn text(recording: &Recording) -> String {
    let mut out = String::new();
    let last = recording.steps.last().copied().unwrap_or(0);
    let defaults: Vec<(u64, String)> = recording
        .events
        .iter()
        .filter(|e| e.kind == cascade::EventKind::Default)
        .map(|e| (e.step, e.text.clone()))
        .collect();
    for line in recording.lines.iter().take(MAX_PANELS) {
        out.push_str(&panel(line, &recording.steps, last, &defaults));
    }
    if recording.lines.len() > MAX_PANELS {
        let rest: Vec<&str> = recording.lines[MAX_PANELS..].iter().map(|l| l.name.as_str()).collect();
        out.push_str(&format!(
            "(and {}: name fewer, or draw them all into a file with `-o FILE.svg`)\n",
            rest.join(", ")
        ));
    }
    if !defaults.is_empty() {
        let named: Vec<String> = defaults.iter().map(|(s, e)| format!("{e} (step {s})")).collect();
        out.push_str(&format!("▲ defaults: {}\n", named.join(", ")));
    }
    out
}

/// One panel: the name and its first and last values, the dots, the axis.
fn panel(line: &Line, steps: &[u64], last: u64, defaults: &[(u64, String)]) -> String {
    let points: Vec<(u64, f64)> =
        steps.iter().zip(&line.values).filter_map(|(s, v)| Some((*s, (*v)?))).collect();
    let (lo, hi) =
        points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, v)| (a.min(*v), b.max(*v)));
    let first = points.first().map_or_else(String::new, |p| readable(p.1));
    let end = points.last().map_or_else(String::new, |p| readable(p.1));
    let mut out = format!("{}  {first} → {end}\n", line.name);
    if points.is_empty() {
        out.push_str("  (no number to draw)\n");
        return out;
    }
    let (dots_x, dots_y) = (WIDTH * 2, HEIGHT * 4);
    // A flat line is drawn across the middle, with its one value there.
    let flat = hi <= lo;
    let span = if flat { 1.0 } else { hi - lo };
    let to_dot = |(s, v): (u64, f64)| -> (usize, usize) {
        let x = (s as f64 / last.max(1) as f64 * (dots_x - 1) as f64).round() as usize;
        let y = if flat { dots_y / 2 } else { ((v - lo) / span * (dots_y - 1) as f64).round() as usize };
        (x.min(dots_x - 1), (dots_y - 1) - y.min(dots_y - 1))
    };
    let mut cells = vec![vec![0u32; WIDTH]; HEIGHT];
    let mut set = |(x, y): (usize, usize)| cells[y / 4][x / 2] |= DOTS[x % 2][y % 4];
    let mut previous: Option<(usize, usize)> = None;
    for point in points.iter().copied().map(to_dot) {
        match previous {
            Some(from) => joined(from, point).into_iter().for_each(&mut set),
            None => set(point),
        }
        previous = Some(point);
    }
    let (top, bottom) = (readable(hi), readable(lo));
    let gutter = top.chars().count().max(bottom.chars().count());
    for (row, cells) in cells.iter().enumerate() {
        let label = match row {
            r if flat && r == (HEIGHT * 4 - 1 - HEIGHT * 2) / 4 => top.clone(),
            0 if !flat => top.clone(),
            r if r == HEIGHT - 1 && !flat => bottom.clone(),
            _ => String::new(),
        };
        let tick = if label.is_empty() { '│' } else { '┤' };
        let dots: String = cells.iter().map(|c| char::from_u32(0x2800 + c).unwrap_or(' ')).collect();
        out.push_str(&format!("{label:>gutter$} {tick}{}\n", dots.trim_end_matches('\u{2800}')));
    }
    let mut axis = vec!['─'; WIDTH];
    for (step, _) in defaults {
        let at = (*step as f64 / last.max(1) as f64 * (WIDTH - 1) as f64).round() as usize;
        axis[at.min(WIDTH - 1)] = '▲';
    }
    out.push_str(&format!("{:gutter$} └{}\n", "", axis.iter().collect::<String>()));
    let right = last.to_string();
    out.push_str(&format!("{:gutter$}  0{}{right}\n", "", " ".repeat(WIDTH.saturating_sub(1 + right.len()))));
    out
}

/// The dots of a straight segment from `a` to `b` (both included).
fn joined(a: (usize, usize), b: (usize, usize)) -> Vec<(usize, usize)> {
    let (x0, y0, x1, y1) = (a.0 as i64, a.1 as i64, b.0 as i64, b.1 as i64);
    let n = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
    (0..=n)
        .map(|i| {
            let x = x0 + (x1 - x0) * i / n;
            let y = y0 + (y1 - y0) * i / n;
            (x as usize, y as usize)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording(values: Vec<Option<f64>>) -> Recording {
        Recording {
            title: String::from("t"),
            steps: (0..values.len() as u64).collect(),
            dates: vec![None; values.len()],
            lines: vec![Line { name: String::from("x"), values }],
            events: Vec::new(),
        }
    }

    #[test]
    fn a_rising_line_goes_from_the_bottom_left_to_the_top_right() {
        let text = text(&recording((0..=10).map(|i| Some(i as f64)).collect()));
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], "x  0 → 10");
        // Top row: the dots reach the right end; bottom row: they start at the left.
        assert!(rows[1].starts_with("10 ┤") && rows[1].chars().count() == 4 + WIDTH, "{text}");
        assert!(rows[HEIGHT].starts_with(" 0 ┤"), "{text}");
        assert!(rows[HEIGHT].chars().nth(4).is_some_and(|c| c != '\u{2800}' && c != ' '), "{text}");
        assert!(rows[1].chars().nth(4) == Some('\u{2800}'), "{text}");
        assert!(rows[HEIGHT + 1].starts_with("   └──"), "{text}");
        assert!(rows[HEIGHT + 2].ends_with("10"), "{text}");
    }

    #[test]
    fn a_flat_line_and_no_numbers_do_not_break_it() {
        let flat = text(&recording(vec![Some(2.0); 5]));
        assert!(flat.starts_with("x  2 → 2\n"), "{flat}");
        assert_eq!(flat.matches("2 ┤").count(), 1, "one label for one value: {flat}");
        let none = text(&recording(vec![None; 3]));
        assert!(none.contains("(no number to draw)"), "{none}");
    }
}
