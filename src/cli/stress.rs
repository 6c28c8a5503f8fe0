//! `cascade sensitivity` and `cascade threshold`, on the library's
//! [`cascade::Program::sensitivity`] and [`cascade::Program::threshold`].

use std::path::PathBuf;

use cascade::{Decimal, Method, Sensitivity, SensitivityOptions, Threshold, ThresholdOptions, Verdict};

use super::{Failure, Limits, check_data_names, compile, out, report};

/// The flags of `cascade sensitivity`.
#[derive(clap::Args)]
pub struct SensitivityArgs {
    /// The script.
    file: PathBuf,
    /// Vary a param: `NAME=±10%` (of its base value), `NAME=±0.5` or `NAME=LO..HI` (repeatable).
    #[arg(long = "vary", value_name = "NAME=RANGE", allow_hyphen_values = true)]
    vary: Vec<String>,
    /// Vary every number param (by `--spread`, unless a `--vary` names it).
    #[arg(long)]
    all: bool,
    /// How far `--all` moves each param.
    #[arg(long, default_value = "±10%", value_name = "±P%", allow_hyphen_values = true)]
    spread: String,
    /// What to measure: an expression over the final state, `first_default`, `defaults`.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    metric: String,
    /// One at a time (a tornado), or Morris elementary effects.
    #[arg(long, value_enum, default_value_t = MethodArg::Oat)]
    method: MethodArg,
    /// Morris: trajectories (each runs params + 1 points).
    #[arg(long, default_value_t = 10, value_name = "R")]
    trajectories: u64,
    /// Paths at each point (the metric is their mean); without it, one run of the base case.
    #[arg(long, value_name = "N")]
    runs: Option<u64>,
    #[command(flatten)]
    batch: BatchArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    format: TableFormat,
    /// Also draw the tornado to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    #[command(flatten)]
    limits: Limits,
}

/// The flags both searches share: the seed, the threads, `--set` and the horizon.
#[derive(clap::Args)]
struct BatchArgs {
    /// The seed.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// Threads (default: every core). The output is the same for any number.
    #[arg(long, value_name = "J")]
    jobs: Option<usize>,
    /// Fix a param for every run (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Run this many steps instead of the scenario's horizon.
    #[arg(long, value_name = "N")]
    horizon: Option<u64>,
}

/// The flags of `cascade threshold`.
#[derive(clap::Args)]
pub struct ThresholdArgs {
    /// The script.
    file: PathBuf,
    /// The param and its range: `NAME=LO..HI`.
    #[arg(long, value_name = "NAME=LO..HI", allow_hyphen_values = true)]
    vary: Option<String>,
    /// A joint move instead: `'spot_price=-1.00,renewal_share=-50%'` (the full move at scale 1).
    #[arg(long, value_name = "NAME=MOVE,...", allow_hyphen_values = true)]
    shock: Option<String>,
    /// The condition: `coreweave.defaulted`, `first_default <= 12`; with `--runs`, `p(COND) >= 50%`.
    #[arg(long, value_name = "COND", allow_hyphen_values = true)]
    until: String,
    /// The widest a boundary's interval may be (default: a millionth of the range).
    #[arg(long, value_name = "T")]
    tolerance: Option<String>,
    /// Points of the first scan (both ends included).
    #[arg(long, default_value_t = 17, value_name = "N")]
    grid: u64,
    /// Explain this entity past the boundary (default: the one the condition names).
    #[arg(long, value_name = "NAME")]
    explain: Option<String>,
    /// Paths at each point; the condition is then a probability.
    #[arg(long, value_name = "N")]
    runs: Option<u64>,
    #[command(flatten)]
    batch: BatchArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ThresholdFormat::Text)]
    format: ThresholdFormat,
    #[command(flatten)]
    limits: Limits,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MethodArg {
    Oat,
    Morris,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TableFormat {
    Text,
    Csv,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ThresholdFormat {
    Text,
    Json,
}

fn pairs(flag: &str, texts: &[String]) -> Result<Vec<(String, String)>, Failure> {
    texts
        .iter()
        .map(|text| match text.split_once('=') {
            Some((name, value)) => Ok((name.trim().to_string(), value.trim().to_string())),
            None => {
                out::err(&format!("error: `{flag} {text}` should be `{flag} NAME=VALUE`\n"));
                Err(Failure::Usage)
            }
        })
        .collect()
}

fn jobs(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1)
}

fn runs(runs: Option<u64>) -> Result<u64, Failure> {
    match runs {
        Some(0) => {
            out::err("error: `--runs 0`: no paths to run\n  help: ask for at least one: `--runs 1000`\n");
            Err(Failure::Usage)
        }
        Some(n) => Ok(n),
        None => Ok(0),
    }
}

fn usage(error: &cascade::Error) -> Failure {
    match report(error) {
        Failure::Script => Failure::Script,
        _ => Failure::Usage,
    }
}

pub fn sensitivity(args: SensitivityArgs) -> Result<(), Failure> {
    let (engine, loader) = args.limits.engine_with_data()?;
    let program = compile(&engine, &args.file, super::Verbosity { warnings: false })?;
    check_data_names(&loader)?;
    let options = SensitivityOptions {
        vary: pairs("--vary", &args.vary)?,
        all: args.all,
        spread: args.spread.clone(),
        metric: args.metric.clone(),
        method: if args.method == MethodArg::Morris { Method::Morris } else { Method::Oat },
        trajectories: args.trajectories,
        set: pairs("--set", &args.batch.sets)?,
        runs: runs(args.runs)?,
        seed: args.batch.seed,
        horizon: args.batch.horizon,
        jobs: jobs(args.batch.jobs),
    };
    let result = program.sensitivity(&options).map_err(|e| usage(&e))?;
    if let Some(path) = &args.plot {
        super::plot::tornado::write(&result, path)?;
    }
    let text = match args.format {
        TableFormat::Text => sensitivity_text(&result),
        TableFormat::Csv => sensitivity_csv(&result),
        TableFormat::Json => json(&result),
    };
    out::out(&text)
}

pub fn threshold(args: ThresholdArgs) -> Result<(), Failure> {
    let (engine, loader) = args.limits.engine_with_data()?;
    let program = compile(&engine, &args.file, super::Verbosity { warnings: false })?;
    check_data_names(&loader)?;
    let shock: Vec<String> = match &args.shock {
        Some(text) => text.split(',').map(str::to_string).collect(),
        None => Vec::new(),
    };
    let options = ThresholdOptions {
        vary: pairs("--vary", args.vary.as_slice())?.into_iter().next(),
        shock: pairs("--shock", &shock)?,
        until: args.until.clone(),
        tolerance: args.tolerance.clone(),
        grid: args.grid,
        set: pairs("--set", &args.batch.sets)?,
        runs: runs(args.runs)?,
        seed: args.batch.seed,
        horizon: args.batch.horizon,
        jobs: jobs(args.batch.jobs),
        explain: args.explain.clone(),
    };
    let result = program.threshold(&options).map_err(|e| usage(&e))?;
    let text = match args.format {
        ThresholdFormat::Text => threshold_text(&result),
        ThresholdFormat::Json => json(&result),
    };
    out::out(&text)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn show(value: Option<Decimal>) -> String {
    value.map_or_else(|| String::from("none"), |v| v.normalize().to_string())
}

fn plural(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Columns padded to their widest cell.
fn table(rows: &[Vec<String>]) -> String {
    let mut widths = vec![0; rows.first().map_or(0, Vec::len)];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn sensitivity_text(s: &Sensitivity) -> String {
    let mut text = format!("{} at the base case: {}", s.metric, show(s.base));
    if !s.base_defaults.is_empty() {
        text.push_str(&format!(" (defaults: {})", s.base_defaults.join(", ")));
    }
    text.push('\n');
    let per = if s.paths_per_point > 1 {
        format!(", mean of {} paths each", s.paths_per_point)
    } else {
        String::new()
    };
    if s.method == Method::Oat {
        text.push_str(&format!(
            "one at a time: {}, {}{per}\n\n",
            plural(s.rows.len() as u64, "param"),
            plural(s.runs, "run")
        ));
        let mut rows =
            vec![["param", "low", "high", "at low", "at high", "swing", "flips"].map(String::from).to_vec()];
        for r in &s.rows {
            let mut flips = Vec::new();
            if !r.flips_low.is_empty() {
                flips.push(format!("low: {}", r.flips_low.join(" ")));
            }
            if !r.flips_high.is_empty() {
                flips.push(format!("high: {}", r.flips_high.join(" ")));
            }
            rows.push(vec![
                format!("{}{}", r.param, if r.knife_edge { " !" } else { "" }),
                r.low.to_string(),
                r.high.to_string(),
                show(r.at_low),
                show(r.at_high),
                r.swing.normalize().to_string(),
                flips.join("; "),
            ]);
        }
        text.push_str(&table(&rows));
        let edges: Vec<&cascade::TornadoRow> = s.rows.iter().filter(|r| r.knife_edge).collect();
        if !edges.is_empty() {
            text.push('\n');
            for r in edges {
                text.push_str(&format!(
                    "! knife-edge: {} from {} to {} or {} moves {} from {} to {} or {}\n",
                    r.param,
                    r.base.normalize(),
                    r.low,
                    r.high,
                    s.metric,
                    show(s.base),
                    show(r.at_low),
                    show(r.at_high)
                ));
            }
        }
        if s.rows.iter().any(|r| !r.flips_low.is_empty() || !r.flips_high.is_empty()) {
            text.push_str("flips: +NAME defaults there but not at the base case; -NAME defaults at the base case only\n");
        }
    } else {
        text.push_str(&format!(
            "Morris elementary effects: {}, {}{per}; effects per the whole range\n\n",
            plural(s.effects.len() as u64, "param"),
            plural(s.runs, "run")
        ));
        let mut rows =
            vec![["param", "low", "high", "mu*", "mu", "sigma", "effects"].map(String::from).to_vec()];
        for e in &s.effects {
            rows.push(vec![
                e.param.clone(),
                e.low.to_string(),
                e.high.to_string(),
                show(e.mean_abs),
                show(e.mean),
                show(e.spread),
                e.count.to_string(),
            ]);
        }
        text.push_str(&table(&rows));
    }
    if !s.skipped.is_empty() {
        text.push_str(&format!("not varied (not numbers): {}\n", s.skipped.join(", ")));
    }
    text
}

fn sensitivity_csv(s: &Sensitivity) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let opt = |v: Option<Decimal>| v.map_or_else(String::new, |v| v.normalize().to_string());
    if s.method == Method::Oat {
        let _ = writer.write_record([
            "param",
            "base",
            "low",
            "high",
            "at_low",
            "at_high",
            "swing",
            "flips_low",
            "flips_high",
            "knife_edge",
        ]);
        for r in &s.rows {
            let _ = writer.write_record([
                r.param.clone(),
                r.base.normalize().to_string(),
                r.low.to_string(),
                r.high.to_string(),
                opt(r.at_low),
                opt(r.at_high),
                r.swing.normalize().to_string(),
                r.flips_low.join(" "),
                r.flips_high.join(" "),
                r.knife_edge.to_string(),
            ]);
        }
    } else {
        let _ = writer.write_record(["param", "low", "high", "mu_star", "mu", "sigma", "effects"]);
        for e in &s.effects {
            let _ = writer.write_record([
                e.param.clone(),
                e.low.to_string(),
                e.high.to_string(),
                opt(e.mean_abs),
                opt(e.mean),
                opt(e.spread),
                e.count.to_string(),
            ]);
        }
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn holds(b: bool) -> &'static str {
    if b { "holds" } else { "does not hold" }
}

fn threshold_text(t: &Threshold) -> String {
    let mut text = String::new();
    let over = format!("{} on [{}, {}]", t.along, t.lo, t.hi);
    match t.verdict {
        Verdict::HoldsEverywhere => {
            text.push_str(&format!("`{}` holds everywhere on [{}, {}] ({})\n", t.until, t.lo, t.hi, t.along))
        }
        Verdict::NeverHolds => {
            text.push_str(&format!("`{}` holds nowhere on [{}, {}] ({})\n", t.until, t.lo, t.hi, t.along))
        }
        Verdict::Changes => {
            text.push_str(&format!(
                "`{}` changes {} over {} (tolerance {})\n",
                t.until,
                if t.boundaries.len() == 1 {
                    String::from("once")
                } else {
                    format!("{} times", t.boundaries.len())
                },
                over,
                t.tolerance.normalize()
            ));
            for b in &t.boundaries {
                let shares = b.shares.map_or_else(String::new, |(a, c)| format!(" (p = {a} and {c})"));
                text.push_str(&format!(
                    "  between {} and {}: {} below, {} above{shares}; {} to narrow it\n",
                    b.from,
                    b.to,
                    holds(b.below),
                    holds(b.above),
                    plural(b.runs, "run")
                ));
            }
        }
    }
    if let Some(shock) = &t.shock {
        if shock.scale.is_zero() {
            text.push_str("it holds already at the base case (scale 0)\n");
        } else {
            text.push_str(&format!(
                "smallest scale at which it holds: {} (it does not at {})\n",
                shock.scale, shock.scale_from
            ));
        }
        for (name, base, at) in &shock.params {
            text.push_str(&format!("  {name}: {} -> {}\n", base.normalize(), at.normalize()));
        }
    } else if t.along == "scale" {
        text.push_str("it does not hold even at the full shock (scale 1)\n");
    }
    text.push_str(&format!("{} in all ({} points)\n", plural(t.runs, "run"), t.points));
    if let Some(e) = &t.explain {
        let path =
            e.path.map(|p| format!(", path {p} (`--path {p}` with the same `--seed`)")).unwrap_or_default();
        text.push_str(&format!("\nexplain {} at {} = {}{path}:\n{}", e.target, t.along, e.at, e.text));
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    text
}
