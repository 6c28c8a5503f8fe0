//! The tornado of `cascade sensitivity --plot FILE.svg|png`: one bar per
//! param, from the metric at its low value to the metric at its high value,
//! around a line at the base case; widest swing on top.

use std::path::Path;

use cascade::{Decimal, Sensitivity};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rust_decimal::prelude::ToPrimitive;

use super::chart::PALETTE;
use super::{Output, write as write_picture};
use crate::cli::{Failure, out};

const WIDTH: u32 = 1000;
const ROW: u32 = 30;
const TOP: u32 = 70;
const BOTTOM: u32 = 50;
const LABELS: u32 = 240;
const RIGHT: u32 = 40;
/// At most this many bars (the widest).
const MAX_BARS: usize = 40;

fn font(px: f64) -> FontDesc<'static> {
    ("sans-serif", px * 1.24).into_font()
}

/// Draws `result`'s tornado to `path` (`.svg` or `.png`).
pub fn write(result: &Sensitivity, path: &Path) -> Result<(), Failure> {
    let fail = |message: String| {
        out::err(&format!("error: {message}\n"));
        Failure::Usage
    };
    let output = Output::from_path(path).map_err(|m| fail(m.replace("`-o ", "`--plot ")))?;
    if result.rows.is_empty() {
        return Err(fail(String::from("`--plot` draws a one-at-a-time tornado: use it with `--method oat`")));
    }
    let svg = svg(result).map_err(fail)?;
    write_picture(&svg, &output).map_err(fail)
}

/// The tornado as an SVG document.
pub fn svg(result: &Sensitivity) -> Result<String, String> {
    let mut text = String::new();
    draw(result, &mut text).map_err(|e| format!("drawing the tornado failed: {e}"))?;
    Ok(text)
}

fn float(d: Option<Decimal>) -> Option<f64> {
    d.and_then(|d| d.to_f64())
}

fn draw(result: &Sensitivity, text: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let rows = &result.rows[..result.rows.len().min(MAX_BARS)];
    let height = TOP + BOTTOM + ROW * rows.len() as u32;
    let root = SVGBackend::with_string(text, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let base = float(result.base);
    let mut values: Vec<f64> =
        rows.iter().flat_map(|r| [float(r.at_low), float(r.at_high)]).flatten().collect();
    values.extend(base);
    let (mut lo, mut hi) =
        values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        (lo, hi) = (lo - 1.0, hi + 1.0);
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (lo - pad, hi + pad);
    let x0 = LABELS as f64;
    let x1 = (WIDTH - RIGHT) as f64;
    let x = |v: f64| (x0 + (v - lo) / (hi - lo) * (x1 - x0)) as i32;
    let title = format!(
        "{}: what moves it most (base {})",
        result.metric,
        base.map_or("none".into(), super::units::readable)
    );
    root.draw(&Text::new(title, (20, 18), font(18.0)))?;
    let legend = TextStyle::from(font(13.0));
    root.draw(&Rectangle::new([(20, 46), (32, 58)], PALETTE[0].filled()))?;
    root.draw(&Text::new("param at its low value", (38, 45), legend.clone()))?;
    root.draw(&Rectangle::new([(220, 46), (232, 58)], PALETTE[1].filled()))?;
    root.draw(&Text::new("param at its high value", (238, 45), legend.clone()))?;
    root.draw(&Text::new("! knife-edge", (440, 45), legend.clone().color(&PALETTE[3])))?;
    let label = TextStyle::from(font(14.0)).pos(Pos::new(HPos::Right, VPos::Center));
    let value_label = TextStyle::from(font(12.0)).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, row) in rows.iter().enumerate() {
        let y = (TOP + ROW * i as u32) as i32;
        let mid = y + ROW as i32 / 2;
        let name = format!("{}{}", if row.knife_edge { "! " } else { "" }, row.param);
        let style = if row.knife_edge { label.clone().color(&PALETTE[3]) } else { label.clone() };
        root.draw(&Text::new(name, (LABELS as i32 - 10, mid), style))?;
        let from = base.map_or(x(lo), x);
        for (value, colour, shown) in [(row.at_low, PALETTE[0], "low"), (row.at_high, PALETTE[1], "high")] {
            match float(value) {
                // No bar where the metric did not move.
                Some(v) if Some(v) == base => {}
                Some(v) => {
                    let (a, b) = (from.min(x(v)), from.max(x(v)).max(from.min(x(v)) + 2));
                    root.draw(&Rectangle::new(
                        [(a, y + 5), (b, y + ROW as i32 - 5)],
                        colour.mix(0.85).filled(),
                    ))?;
                }
                None => {
                    let at = if shown == "low" { x0 as i32 + 4 } else { x1 as i32 - 60 };
                    root.draw(&Text::new(
                        format!("{shown}: none"),
                        (at, mid),
                        value_label.clone().color(&colour),
                    ))?;
                }
            }
        }
    }
    if let Some(b) = base {
        let bx = x(b);
        root.draw(&PathElement::new(
            vec![(bx, TOP as i32 - 4), (bx, (height - BOTTOM) as i32 + 4)],
            BLACK.stroke_width(1),
        ))?;
    }
    // The axis: round ticks.
    let axis_y = (height - BOTTOM) as i32 + 8;
    root.draw(&PathElement::new(vec![(x0 as i32, axis_y), (x1 as i32, axis_y)], RGBColor(0x99, 0x99, 0x99)))?;
    let tick = TextStyle::from(font(12.0)).pos(Pos::new(HPos::Center, VPos::Top));
    for v in super::units::ticks(lo, hi, 5) {
        let tx = x(v);
        root.draw(&PathElement::new(vec![(tx, axis_y), (tx, axis_y + 4)], RGBColor(0x99, 0x99, 0x99)))?;
        root.draw(&Text::new(super::units::readable(v), (tx, axis_y + 8), tick.clone()))?;
    }
    root.present()?;
    Ok(())
}
