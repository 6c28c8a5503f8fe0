//! Pictures of many paths, drawn from a sweep's [`Summary`] with plotters'
//! SVG backend:
//!
//! - [`defaults_chart`]: the cumulative probability of default by step, one
//!   curve per entity (the ten most likely to default, or those chosen), with
//!   each curve's final probability in the legend;
//! - [`fan_chart`]: a value recorded at every step, as a fan: the 10–90% and
//!   25–75% bands over the paths and the median.
//!
//! [`sweep_svg`] stacks them into one picture (what `cascade sweep --plot`
//! writes, and the report's Monte Carlo chart). The charts are functions of the summary only, which is the same for any
//! `--jobs` and any sharding, so the same sweep gives the same bytes.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use cascade::{FanStep, Summary};
use rust_decimal::prelude::ToPrimitive;

use super::chart::{PALETTE, font, ticks};
use super::units::readable;

/// At most this many curves in the default chart.
pub const MAX_CURVES: usize = 10;

const WIDTH: u32 = 1000;
const LEGEND_WIDTH: u32 = 250;
const HEADER: u32 = 56;
const DEFAULTS_HEIGHT: u32 = 380;
const FAN_HEIGHT: u32 = 300;
const Y_AXIS: u32 = 64;
const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
const AXIS: RGBColor = RGBColor(0x99, 0x99, 0x99);
const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);
/// The fan's colour (the palette's blue), its bands lighter.
const FAN: RGBColor = PALETTE[0];

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = Result<(), Box<dyn std::error::Error>>;

/// What the charts of a sweep show.
pub struct SweepChart<'a> {
    pub summary: &'a Summary,
    /// The point drawn.
    pub point: usize,
    /// The title (the scenario's).
    pub title: String,
    /// The entities to draw (none: the [`MAX_CURVES`] most likely to default).
    pub entities: Vec<String>,
    /// Indices into [`Summary::step_records`] to draw as fans, below.
    pub fans: Vec<usize>,
}

/// The curves of the default chart: `(entity, probability by step)`, the
/// chosen entities in their order, or else the [`MAX_CURVES`] with the
/// highest final probability (ties in entity order), most likely first.
pub fn chosen_curves(chart: &SweepChart) -> Vec<(String, Vec<f64>)> {
    let curves = chart.summary.default_curves(chart.point);
    if !chart.entities.is_empty() {
        return chart
            .entities
            .iter()
            .filter_map(|e| curves.iter().find(|c| &c.entity == e))
            .map(|c| (c.entity.clone(), c.by_step.clone()))
            .collect();
    }
    let mut order: Vec<usize> = (0..curves.len()).collect();
    let last = |i: usize| curves[i].by_step.last().copied().unwrap_or(0.0);
    order.sort_by(|a, b| last(*b).total_cmp(&last(*a)).then(a.cmp(b)));
    order.truncate(MAX_CURVES);
    order.into_iter().map(|i| (curves[i].entity.clone(), curves[i].by_step.clone())).collect()
}

/// The picture of `cascade sweep --plot`: the default chart, then a fan per
/// value.
pub fn sweep_svg(chart: &SweepChart) -> Result<String, String> {
    let mut out = String::new();
    draw_all(chart, &mut out).map_err(|e| format!("drawing the chart failed: {e}"))?;
    Ok(out)
}

fn draw_all(chart: &SweepChart, out: &mut String) -> Drawn {
    let fans = &chart.fans;
    let height = HEADER + DEFAULTS_HEIGHT + FAN_HEIGHT * fans.len() as u32 + 8;
    let root = SVGBackend::with_string(out, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let summary = chart.summary;
    let paths = summary.default_table(chart.point).first().map_or(0, |r| r.paths);
    root.draw(&Text::new(chart.title.clone(), (16, 10), font(18.0).style(FontStyle::Bold)))?;
    let mut key = format!("{paths} paths");
    let label = summary.point_label(chart.point);
    if !label.is_empty() {
        key.push_str(&format!(" at {label}"));
    }
    if summary.point_count() > 1 {
        key.push_str(&format!(" (point {} of {})", chart.point, summary.point_count()));
    }
    root.draw(&Text::new(key, (16, 34), font(12.0).color(&MUTED)))?;
    let body = root.split_vertically(HEADER).1;
    let (top, rest) = body.split_vertically(DEFAULTS_HEIGHT);
    defaults_chart(&top, chart)?;
    let mut rest = rest;
    for record in fans {
        let (area, below) = rest.split_vertically(FAN_HEIGHT);
        let name = summary.step_records().get(*record).cloned().unwrap_or_default();
        fan_chart(&area, summary, &name, &summary.fan(chart.point, *record))?;
        rest = below;
    }
    root.present()?;
    Ok(())
}

type Panel<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The frame both charts share: a bold title, steps 0 to `last` across, the
/// y range with its grid lines and labels (the x labels are [`x_axis`]'s).
fn panel<'a, 'b>(
    plot: &'a Area<'b>,
    title: &str,
    last: u64,
    (lo, hi): (f64, f64),
    y_label: &dyn Fn(&f64) -> String,
) -> Result<Panel<'a, 'b>, Box<dyn std::error::Error>> {
    plot.draw(&Text::new(title, (MARGIN_LEFT as i32 + Y_AXIS as i32, 2), font(13.0).style(FontStyle::Bold)))?;
    let mut cc = ChartBuilder::on(plot)
        .margin_left(MARGIN_LEFT)
        .margin_right(18)
        .margin_top(24)
        .margin_bottom(4)
        .x_label_area_size(26)
        .y_label_area_size(Y_AXIS)
        .build_cartesian_2d(0f64..last as f64, lo..hi)?;
    cc.configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(6)
        .y_label_formatter(y_label)
        .y_label_style(font(12.0))
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .draw()?;
    Ok(cc)
}

/// The x axis shared by both charts: ticks at whole steps (or dates).
fn x_axis(plot: &Area, chart: &Panel<'_, '_>, summary: &Summary, last: u64, (lo, hi): (f64, f64)) -> Drawn {
    let dated = summary.date_of_step(1).is_some();
    let (base_x, base_y) = plot.get_base_pixel();
    for tick in ticks(last, dated) {
        let x = tick as f64;
        let (px, py) = chart.backend_coord(&(x, lo));
        let (_, top) = chart.backend_coord(&(x, hi));
        plot.draw(&PathElement::new(vec![(px - base_x, top - base_y), (px - base_x, py - base_y)], GRID))?;
        plot.draw(&PathElement::new(
            vec![(px - base_x, py - base_y), (px - base_x, py - base_y + 4)],
            AXIS.stroke_width(1),
        ))?;
        let label = match summary.date_of_step(tick).filter(|_| tick > 0) {
            Some(date) => date.to_string(),
            None => tick.to_string(),
        };
        let style = TextStyle::from(font(12.0)).pos(Pos::new(HPos::Center, VPos::Top));
        plot.draw(&Text::new(label, (px - base_x, py - base_y + 7), style))?;
    }
    Ok(())
}

/// The cumulative probability of default by step.
pub fn defaults_chart(area: &Area, chart: &SweepChart) -> Drawn {
    let curves = chosen_curves(chart);
    let summary = chart.summary;
    let last = curves.iter().map(|(_, c)| c.len().saturating_sub(1) as u64).max().unwrap_or(0).max(1);
    let top = curves.iter().flat_map(|(_, c)| c.last().copied()).fold(0.0f64, f64::max);
    // Room above the highest curve, in steps of 10 percentage points.
    let hi = ((top * 1.08 * 10.0).ceil() / 10.0).clamp(0.1, 1.0);
    let (plot, legend) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let percent_label = |y: &f64| format!("{:.0}%", y * 100.0);
    let title = "Probability of default by step (cumulative)";
    let mut cc = panel(&plot, title, last, (0.0, hi), &percent_label)?;
    x_axis(&plot, &cc, summary, last, (0.0, hi))?;
    for (n, (_, by_step)) in curves.iter().enumerate() {
        let colour = PALETTE[n % PALETTE.len()];
        let points: Vec<(f64, f64)> = steps_of(by_step);
        if n >= PALETTE.len() {
            cc.draw_series(DashedLineSeries::new(points, 8, 4, colour.stroke_width(2)))?;
        } else {
            cc.draw_series(LineSeries::new(points, colour.stroke_width(2)))?;
        }
    }
    if curves.is_empty() {
        plot.draw(&Text::new("no entity to draw", (120, 120), font(13.0).color(&MUTED)))?;
    }
    legend.draw(&Text::new("by the end", (34, 8), font(11.0).color(&MUTED)))?;
    for (n, (entity, by_step)) in curves.iter().enumerate() {
        let y = 40 + 20 * n as i32;
        let colour = PALETTE[n % PALETTE.len()];
        let style = colour.stroke_width(3);
        if n >= PALETTE.len() {
            legend.draw(&PathElement::new(vec![(4, y), (12, y)], style))?;
            legend.draw(&PathElement::new(vec![(18, y), (26, y)], style))?;
        } else {
            legend.draw(&PathElement::new(vec![(4, y), (26, y)], style))?;
        }
        let share = by_step.last().copied().unwrap_or(0.0);
        let text = format!("{} {}", short(entity, 22), percent(share));
        legend.draw(&Text::new(text, (34, y - 7), font(12.0)))?;
    }
    Ok(())
}

const MARGIN_LEFT: u32 = 8;

/// A curve as points, a step at a time: the probability by step `s` holds
/// from `s` to `s + 1` (drawn as a staircase).
fn steps_of(by_step: &[f64]) -> Vec<(f64, f64)> {
    let mut points = Vec::with_capacity(by_step.len() * 2);
    for (s, p) in by_step.iter().enumerate() {
        if s > 0 {
            points.push((s as f64, by_step[s - 1]));
        }
        points.push((s as f64, *p));
    }
    points
}

/// `62%`, `0.4%`, `<0.1%`.
fn percent(share: f64) -> String {
    match share * 100.0 {
        0.0 => String::from("0%"),
        p if p < 0.1 => String::from("<0.1%"),
        p if p < 10.0 => format!("{p:.1}%"),
        p => format!("{p:.0}%"),
    }
}

fn short(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let head: String = name.chars().take(max - 1).collect();
    format!("{head}…")
}

/// A fan chart of a value over the steps: the 10–90% band, the 25–75% band
/// and the median.
pub fn fan_chart(area: &Area, summary: &Summary, name: &str, fan: &[FanStep]) -> Drawn {
    let number = |q: &Option<rust_decimal::Decimal>| q.and_then(|d| d.to_f64()).filter(|x| x.is_finite());
    let rows: Vec<(f64, [Option<f64>; 5])> =
        fan.iter().map(|s| (s.step as f64, s.quantiles.each_ref().map(number))).collect();
    let values = rows.iter().flat_map(|(_, q)| q.iter().flatten().copied());
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if lo > 0.0 && lo < hi * 0.5 {
        lo = 0.0;
    }
    let room = if hi > lo { (hi - lo) * 0.06 } else { hi.abs().max(1.0) * 0.1 };
    let (lo, hi) = (if lo == 0.0 { 0.0 } else { lo - room }, hi + room);
    let last = fan.last().map_or(1, |s| s.step).max(1);
    let (plot, legend) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let mut cc = panel(&plot, &format!("{name} over the paths"), last, (lo, hi), &|y: &f64| readable(*y))?;
    x_axis(&plot, &cc, summary, last, (lo, hi))?;
    for ((low, high), opacity) in [((0, 4), 0.18), ((1, 3), 0.35)] {
        let band = band(&rows, low, high);
        if !band.is_empty() {
            cc.draw_series(std::iter::once(Polygon::new(band, FAN.mix(opacity).filled())))?;
        }
    }
    let median: Vec<(f64, f64)> = rows.iter().filter_map(|(x, q)| Some((*x, q[2]?))).collect();
    cc.draw_series(LineSeries::new(median, FAN.stroke_width(2)))?;
    let entries =
        [("median", None), ("25–75% of paths", Some(0.35 + 0.18 * 0.65)), ("10–90% of paths", Some(0.18))];
    for (n, (label, fill)) in entries.iter().enumerate() {
        let y = 20 + 20 * n as i32;
        match fill {
            None => legend.draw(&PathElement::new(vec![(4, y), (26, y)], FAN.stroke_width(3)))?,
            Some(opacity) => {
                legend.draw(&Rectangle::new([(4, y - 6), (26, y + 6)], FAN.mix(*opacity).filled()))?
            }
        }
        legend.draw(&Text::new(label.to_string(), (34, y - 7), font(12.0)))?;
    }
    Ok(())
}

/// The outline of the band between quantiles `low` and `high`: along the top,
/// then back along the bottom (steps where either is missing are left out).
fn band(rows: &[(f64, [Option<f64>; 5])], low: usize, high: usize) -> Vec<(f64, f64)> {
    let both: Vec<(f64, f64, f64)> = rows.iter().filter_map(|(x, q)| Some((*x, q[low]?, q[high]?))).collect();
    let mut outline: Vec<(f64, f64)> = both.iter().map(|(x, _, h)| (*x, *h)).collect();
    outline.extend(both.iter().rev().map(|(x, l, _)| (*x, *l)));
    outline
}

#[cfg(test)]
mod tests {
    use super::{percent, steps_of};

    #[test]
    fn percentages_read_well() {
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.0004), "<0.1%");
        assert_eq!(percent(0.034), "3.4%");
        assert_eq!(percent(0.6234), "62%");
        assert_eq!(percent(1.0), "100%");
    }

    #[test]
    fn a_curve_is_a_staircase() {
        assert_eq!(
            steps_of(&[0.0, 0.5, 1.0]),
            vec![(0.0, 0.0), (1.0, 0.0), (1.0, 0.5), (2.0, 0.5), (2.0, 1.0)]
        );
    }
}
