//! The line chart of a [`Recording`], drawn with plotters' SVG backend.
//!
//! Layout, top to bottom: the title and a key line; a strip of event labels
//! (defaults in black, `emit`s in grey), each joined by a short tick to a
//! vertical marker line (dashed for a default, dotted for an `emit`) that
//! crosses every panel at the event's step; then one panel per magnitude
//! group (lines whose largest values are within a factor of 30 share a
//! panel), each with its own y axis in readable units and its legend on the
//! right. All panels share the x axis: steps, labelled with dates when the
//! scenario has a start. Colours are the Okabe–Ito palette (yellow left out,
//! too pale on white); a second round of colours is drawn dashed.
//!
//! The output is a function of the recording only: the same run gives the same
//! bytes.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::record::{Recording, event_label};
use super::units::{magnitude, readable};

/// Okabe & Ito's colour-blind-safe palette, without its yellow.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black
];

/// The colour of default markers and their labels.
pub const DEFAULT_COLOUR: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// The colour of `emit` markers and their labels.
pub const EMIT_COLOUR: RGBColor = RGBColor(0x88, 0x88, 0x88);

/// Grid lines and axes.
const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
const AXIS: RGBColor = RGBColor(0x99, 0x99, 0x99);

const WIDTH: u32 = 1000;
const LEGEND_WIDTH: u32 = 230;
const HEADER: u32 = 56;
const PANEL: u32 = 230;
const ROW: u32 = 16;
const MAX_ROWS: usize = 6;
const MAX_PANELS: usize = 5;
/// Lines within this factor of each other's largest value share a panel.
const SHARE_FACTOR: f64 = 30.0;
/// At most this many points per line; longer runs are drawn at a stride.
const MAX_POINTS: usize = 2_000;
const Y_AXIS: u32 = 64;
const MARGIN_LEFT: u32 = 8;
const MARGIN_RIGHT: u32 = 18;

/// plotters' SVG backend writes `font-size` as the given size / 1.24.
pub fn font(px: f64) -> FontDesc<'static> {
    ("sans-serif", px * 1.24).into_font()
}

/// Roughly how wide `text` is at `px` pixels in DejaVu Sans (an average glyph
/// is about 0.6 em); used only to keep labels apart.
fn text_width(text: &str, px: f64) -> f64 {
    text.chars().count() as f64 * px * 0.6
}

/// One label in the strip above the panels.
struct Marker {
    x: f64,
    label: String,
    default: bool,
}

/// The chart of `recording` as an SVG document.
pub fn svg(recording: &Recording) -> Result<String, String> {
    let mut out = String::new();
    draw(recording, &mut out).map_err(|e| format!("drawing the chart failed: {e}"))?;
    Ok(out)
}

/// The lines of each panel, by index into `recording.lines`.
pub fn panels(recording: &Recording) -> Vec<Vec<usize>> {
    let magnitudes: Vec<f64> =
        recording.lines.iter().map(|l| magnitude(l.values.iter().flatten().copied())).collect();
    let mut order: Vec<usize> = (0..recording.lines.len()).collect();
    order.sort_by(|a, b| magnitudes[*b].total_cmp(&magnitudes[*a]).then(a.cmp(b)));
    let mut groups: Vec<(f64, Vec<usize>)> = Vec::new();
    for i in order {
        let m = magnitudes[i];
        let full = groups.len() >= MAX_PANELS;
        match groups.last_mut() {
            // Lines that are all zero join the smallest group.
            Some((top, members)) if m * SHARE_FACTOR >= *top || m == 0.0 || full => members.push(i),
            _ => groups.push((m, vec![i])),
        }
    }
    let mut panels: Vec<Vec<usize>> = groups
        .into_iter()
        .map(|(_, mut members)| {
            members.sort_unstable();
            members
        })
        .collect();
    panels.sort_by_key(|members| members[0]);
    panels
}

/// The steps at which the x axis has a label: every multiple of an interval
/// that gives at most 8 labels, from step 0, or with dates from step 1 (the
/// start date: step 0 is the state before it) in whole months, quarters or
/// years when the steps are months.
pub fn ticks(last: u64, dated: bool) -> Vec<u64> {
    let intervals: &[u64] = if dated {
        &[1, 2, 3, 6, 12, 24, 36, 60, 120, 240, 600, 1200]
    } else {
        &[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000]
    };
    let every = intervals.iter().copied().find(|i| last / i <= 8).unwrap_or((last / 8).max(1));
    let first = u64::from(dated && last >= 1);
    (0..).map(|k| first + k * every).take_while(|t| *t <= last).collect()
}

/// At most this many characters in a strip label; the rest become `+N`.
const LABEL_CHARS: usize = 34;

/// `names` joined with commas, cut to [`LABEL_CHARS`] with a count of the rest.
fn join_label(names: &[String]) -> String {
    let mut text = String::new();
    for (i, name) in names.iter().enumerate() {
        let more = names.len() - i;
        let next = if text.is_empty() { name.clone() } else { format!("{text}, {name}") };
        if i > 0 && next.chars().count() > LABEL_CHARS {
            return format!("{text} +{more}");
        }
        text = next;
    }
    text
}

/// Events grouped by step and kind, defaults first, as strip labels.
fn markers(recording: &Recording) -> Vec<Marker> {
    let mut groups: Vec<(u64, bool, Vec<String>)> = Vec::new();
    for default in [true, false] {
        for event in &recording.events {
            let is_default = event.kind == cascade::EventKind::Default;
            if is_default != default
                || !matches!(event.kind, cascade::EventKind::Default | cascade::EventKind::Emit)
            {
                continue;
            }
            let names = event_label(event);
            let at = match groups.iter().position(|g| g.0 == event.step && g.1 == default) {
                Some(at) => at,
                None => {
                    groups.push((event.step, default, Vec::new()));
                    groups.len() - 1
                }
            };
            let group = &mut groups[at].2;
            for name in names.split(", ") {
                if !group.iter().any(|n| n == name) {
                    group.push(name.to_string());
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|(step, default, names)| Marker { x: step as f64, label: join_label(&names), default })
        .collect()
}

/// Assigns each marker a row of the strip so labels do not overlap; `None`
/// for a label that fits in no row (its marker line is still drawn).
fn rows(markers: &[Marker], to_pixel: &dyn Fn(f64) -> f64, right: f64) -> Vec<Option<(usize, f64)>> {
    // Each placed label: its row, its extent, and the x of its tick, which
    // runs from the label down through every row below it.
    let mut placed: Vec<(usize, (f64, f64), f64)> = Vec::new();
    markers
        .iter()
        .map(|m| {
            let px = to_pixel(m.x);
            let width = text_width(&m.label, 12.0);
            let left = if px + 3.0 + width > right { (px - 3.0 - width).max(2.0) } else { px + 3.0 };
            // Labels keep 4 pixels apart; a tick may pass just beside a label.
            let span = (left - 4.0, left + width + 4.0);
            let inside = |x: f64, (a, b): (f64, f64)| x > a + 3.0 && x < b - 3.0;
            let free = |row: usize| {
                placed.iter().all(|(r, other, x)| match (*r).cmp(&row) {
                    std::cmp::Ordering::Equal => span.1 < other.0 || span.0 > other.1,
                    std::cmp::Ordering::Less => !inside(*x, span),
                    std::cmp::Ordering::Greater => !inside(px, *other),
                })
            };
            let row = (0..MAX_ROWS).find(|r| free(*r))?;
            placed.push((row, span, px));
            Some((row, left))
        })
        .collect()
}

fn draw(recording: &Recording, out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let panels = panels(recording);
    let last = recording.steps.last().copied().unwrap_or(0);
    let x_max = last.max(1) as f64;
    let dated = recording.dates.iter().any(Option::is_some);
    let ticks = ticks(last, dated);
    let markers = markers(recording);
    // The plot area's x range in pixels, as ChartBuilder lays it out below.
    let plot_left = (MARGIN_LEFT + Y_AXIS) as f64;
    let plot_right = (WIDTH - LEGEND_WIDTH - MARGIN_RIGHT) as f64;
    let to_pixel = |x: f64| plot_left + (plot_right - plot_left - 1.0) * x / x_max;
    let placed = rows(&markers, &to_pixel, plot_right);
    let used_rows = placed.iter().flatten().map(|(r, _)| r + 1).max().unwrap_or(0) as u32;
    let strip = if markers.is_empty() { 0 } else { used_rows * ROW + 10 };
    let height = HEADER + strip + PANEL * panels.len().max(1) as u32 + 8;

    let root = SVGBackend::with_string(out, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(recording.title.clone(), (16, 10), font(18.0).style(FontStyle::Bold)))?;
    let mut key = match recording.steps.len() {
        n if n > MAX_POINTS => format!("steps 0 to {last}, drawn every {} steps", stride(n)),
        _ => format!("steps 0 to {last}"),
    };
    if markers.iter().any(|m| m.default) {
        key.push_str(" · dashed line: a default");
    }
    if markers.iter().any(|m| !m.default) {
        key.push_str(" · dotted line: an emit");
    }
    root.draw(&Text::new(key, (16, 34), font(12.0).color(&RGBColor(0x55, 0x55, 0x55))))?;

    // The strip of event labels.
    let strip_top = HEADER as i32;
    let strip_bottom = (HEADER + strip) as i32;
    for (marker, place) in markers.iter().zip(&placed) {
        let colour = if marker.default { DEFAULT_COLOUR } else { EMIT_COLOUR };
        let px = to_pixel(marker.x).round() as i32;
        if let Some((row, left)) = place {
            let y = strip_top + (*row as u32 * ROW) as i32;
            let style = if marker.default { font(12.0).style(FontStyle::Bold) } else { font(12.0) };
            root.draw(&Text::new(marker.label.clone(), (left.round() as i32, y), style.color(&colour)))?;
            root.draw(&PathElement::new(vec![(px, y + 13), (px, strip_bottom)], colour.stroke_width(1)))?;
        }
    }

    let body = root.split_vertically(HEADER + strip).1;
    let areas = body.split_evenly((panels.len().max(1), 1));
    for (members, area) in panels.iter().zip(areas.iter()) {
        draw_panel(recording, members, area, x_max, &ticks, &markers)?;
    }
    root.present()?;
    Ok(())
}

/// Draw every `stride`-th point of a run with `steps` rows.
fn stride(steps: usize) -> usize {
    steps.div_ceil(MAX_POINTS).max(1)
}

fn draw_panel(
    recording: &Recording,
    members: &[usize],
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    x_max: f64,
    ticks: &[u64],
    markers: &[Marker],
) -> Result<(), Box<dyn std::error::Error>> {
    let (plot, legend) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let values = members.iter().flat_map(|i| recording.lines[*i].values.iter().flatten().copied());
    let (lo, hi) = y_range(values);
    let mut chart = ChartBuilder::on(&plot)
        .margin_left(MARGIN_LEFT)
        .margin_right(MARGIN_RIGHT)
        .margin_top(8)
        .margin_bottom(4)
        .x_label_area_size(26)
        .y_label_area_size(Y_AXIS)
        .build_cartesian_2d(0f64..x_max, lo..hi)?;
    // The x axis is drawn here, not by plotters: its labels sit at the steps
    // of `ticks` (whole years, quarters, ...), with dates when there are any.
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_label_formatter(&|y| readable(*y))
        .y_labels(6)
        .y_label_style(font(12.0))
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .draw()?;
    let (base_x, base_y) = plot.get_base_pixel();
    for tick in ticks {
        let x = *tick as f64;
        chart.draw_series(LineSeries::new(vec![(x, lo), (x, hi)], GRID.stroke_width(1)))?;
        let (px, py) = chart.backend_coord(&(x, lo));
        let label = match recording.dates.get(*tick as usize).copied().flatten() {
            Some(date) => date.to_string(),
            None => tick.to_string(),
        };
        plot.draw(&PathElement::new(
            vec![(px - base_x, py - base_y), (px - base_x, py - base_y + 4)],
            AXIS.stroke_width(1),
        ))?;
        let style = TextStyle::from(font(12.0)).pos(Pos::new(HPos::Center, VPos::Top));
        plot.draw(&Text::new(label, (px - base_x, py - base_y + 7), style))?;
    }
    for marker in markers {
        let colour = if marker.default { DEFAULT_COLOUR } else { EMIT_COLOUR };
        let points = vec![(marker.x, lo), (marker.x, hi)];
        if marker.default {
            chart.draw_series(DashedLineSeries::new(points, 6, 4, colour.stroke_width(1)))?;
        } else {
            chart.draw_series(DashedLineSeries::new(points, 2, 3, colour.stroke_width(1)))?;
        }
    }
    let every = stride(recording.steps.len());
    for (n, i) in members.iter().enumerate() {
        let line = &recording.lines[*i];
        let colour = PALETTE[n % PALETTE.len()];
        let dashed = n >= PALETTE.len();
        let mut segment: Vec<(f64, f64)> = Vec::new();
        let mut flush = |segment: &mut Vec<(f64, f64)>| -> Result<(), Box<dyn std::error::Error>> {
            if segment.len() == 1 {
                chart.draw_series(std::iter::once(Circle::new(segment[0], 2, colour.filled())))?;
            } else if dashed {
                chart.draw_series(DashedLineSeries::new(segment.clone(), 8, 4, colour.stroke_width(2)))?;
            } else if !segment.is_empty() {
                chart.draw_series(LineSeries::new(segment.clone(), colour.stroke_width(2)))?;
            }
            segment.clear();
            Ok(())
        };
        for (row, value) in line.values.iter().enumerate() {
            let at_stride = row % every == 0 || row + 1 == line.values.len();
            match value {
                Some(v) if at_stride => segment.push((recording.steps[row] as f64, *v)),
                Some(_) => {}
                None => flush(&mut segment)?,
            }
        }
        flush(&mut segment)?;
    }
    // The legend, beside the panel.
    let fits = ((PANEL - 30) / 18) as usize;
    for (n, i) in members.iter().enumerate() {
        let y = 16 + 18 * n as i32;
        if n + 1 == fits && members.len() > fits {
            let more = format!("and {} more", members.len() - n);
            legend.draw(&Text::new(more, (34, y - 7), font(12.0).color(&EMIT_COLOUR)))?;
            break;
        }
        let colour = PALETTE[n % PALETTE.len()];
        let style = colour.stroke_width(3);
        if n >= PALETTE.len() {
            legend.draw(&PathElement::new(vec![(4, y), (12, y)], style))?;
            legend.draw(&PathElement::new(vec![(18, y), (26, y)], style))?;
        } else {
            legend.draw(&PathElement::new(vec![(4, y), (26, y)], style))?;
        }
        legend.draw(&Text::new(short(&recording.lines[*i].name, 26), (34, y - 7), font(12.0)))?;
    }
    Ok(())
}

/// `name`, cut to `max` characters with an ellipsis.
fn short(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let head: String = name.chars().take(max - 1).collect();
    format!("{head}…")
}

/// The y range of a panel: its values with some room, from 0 when the values
/// are all on one side of it and not far from it.
fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if lo > 0.0 && lo < hi * 0.5 {
        lo = 0.0;
    }
    if hi < 0.0 && hi > lo * 0.5 {
        hi = 0.0;
    }
    if hi - lo <= hi.abs().max(lo.abs()) * 1e-9 {
        let room = if hi == 0.0 { 1.0 } else { hi.abs() * 0.1 };
        return (lo - room, hi + room);
    }
    let room = (hi - lo) * 0.06;
    (if lo == 0.0 { 0.0 } else { lo - room }, if hi == 0.0 { 0.0 } else { hi + room })
}
