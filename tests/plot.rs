//! `cascade plot`, `cascade report` and the REPL's `:plot`: every SVG is XML
//! and renders to a PNG that is not blank, default markers sit at their steps
//! on the x axis, the same run gives the same bytes, and the report opens in
//! headless Chromium (where it is installed) without console errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{cascade, stderr};

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("plot-{test}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cascade plot` to an SVG file and returns its text.
fn plot(script: &str, names: &[&str], dir: &Path, file: &str) -> String {
    let out = dir.join(file);
    let mut args = vec!["plot", script];
    args.extend_from_slice(names);
    let out_text = out.to_str().unwrap().to_string();
    args.extend_from_slice(&["-o", &out_text]);
    let output = cascade(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    std::fs::read_to_string(&out).unwrap()
}

/// The share of pixels of a PNG that are not white.
fn ink(png: &[u8]) -> f64 {
    let pixmap = resvg::tiny_skia::Pixmap::decode_png(png).expect("a PNG");
    let inked = pixmap.pixels().iter().filter(|p| (p.red(), p.green(), p.blue()) != (255, 255, 255)).count();
    inked as f64 / pixmap.pixels().len() as f64
}

/// `svg` parses as XML, and resvg renders it to a picture with some ink.
fn assert_renders(svg: &str) {
    roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let tree = resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default()).expect("usvg reads it");
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(&tree, resvg::tiny_skia::Transform::identity(), &mut pixmap.as_mut());
    let share = ink(&pixmap.encode_png().unwrap());
    assert!(share > 0.01, "the picture is almost blank ({share})");
}

#[test]
fn every_example_plots_to_an_svg_that_renders() {
    let dir = temp_dir("examples");
    for (script, names) in [
        ("examples/ai_compute_credit.cascade", vec![]),
        ("examples/ai_compute_credit.cascade", vec!["h100_price", "coreweave.*"]),
        ("examples/ai_compute_credit.cascade", vec!["*.cash"]),
        ("examples/interbank.cascade", vec![]),
        ("examples/fire_sale.cascade", vec![]),
        ("examples/hello.cascade", vec![]),
        ("examples/brief.cascade", vec![]),
    ] {
        let svg = plot(script, &names, &dir, "chart.svg");
        assert_renders(&svg);
    }
}

#[test]
fn a_png_is_rasterised_with_the_bundled_font() {
    let dir = temp_dir("png");
    let out = dir.join("chart.png");
    let output = cascade(&["plot", "examples/ai_compute_credit.cascade", "-o", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let png = std::fs::read(&out).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let share = ink(&png);
    assert!(share > 0.01, "the PNG is almost blank ({share})");
}

#[test]
fn the_same_run_gives_the_same_svg_bytes() {
    let dir = temp_dir("same");
    let first = plot("examples/ai_compute_credit.cascade", &[], &dir, "a.svg");
    let second = plot("examples/ai_compute_credit.cascade", &[], &dir, "b.svg");
    assert_eq!(first, second);
    let png = |name: &str| {
        let out = dir.join(name);
        let output = cascade(&["plot", "examples/interbank.cascade", "-o", out.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        std::fs::read(out).unwrap()
    };
    assert_eq!(png("a.png"), png("b.png"));
}

/// Text elements of an SVG: (x, text-anchor, content).
fn texts(doc: &roxmltree::Document) -> Vec<(f64, String, String)> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            let x = n.attribute("x").and_then(|x| x.parse().ok()).unwrap_or(f64::NAN);
            let anchor = n.attribute("text-anchor").unwrap_or("start").to_string();
            (x, anchor, n.text().unwrap_or("").trim().to_string())
        })
        .collect()
}

/// The x of every vertical segment drawn in `colour`.
fn vertical_lines(doc: &roxmltree::Document, colour: &str) -> Vec<f64> {
    let mut xs = Vec::new();
    for n in doc.descendants().filter(|n| n.has_tag_name("polyline") || n.has_tag_name("line")) {
        if !n.attribute("stroke").is_some_and(|s| s.eq_ignore_ascii_case(colour)) {
            continue;
        }
        let points: Vec<(f64, f64)> = if n.has_tag_name("line") {
            let get = |a: &str| n.attribute(a).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
            vec![(get("x1"), get("y1")), (get("x2"), get("y2"))]
        } else {
            n.attribute("points")
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|p| p.split_once(','))
                .map(|(x, y)| (x.parse().unwrap_or(f64::NAN), y.parse().unwrap_or(f64::NAN)))
                .collect()
        };
        if points.len() >= 2 && points.iter().all(|p| p.0 == points[0].0) {
            xs.push(points[0].0);
        }
    }
    xs
}

/// The x-axis map step → pixel, fitted through the first and the last tick
/// label (`label_step` reads a label's step, or `None` if it is not one).
fn x_axis(doc: &roxmltree::Document, label_step: impl Fn(&str) -> Option<f64>) -> impl Fn(f64) -> f64 {
    let ticks: Vec<(f64, f64)> = texts(doc)
        .into_iter()
        .filter(|(_, anchor, _)| anchor == "middle")
        .filter_map(|(x, _, text)| label_step(&text).map(|s| (s, x)))
        .collect();
    assert!(ticks.len() >= 2, "fewer than two x tick labels: {ticks:?}");
    let (s0, x0) = ticks[0];
    let (s1, x1) = *ticks.iter().rev().find(|t| t.0 != s0).unwrap();
    move |step| x0 + (x1 - x0) * (step - s0) / (s1 - s0)
}

#[test]
fn default_markers_sit_at_their_steps_on_the_x_axis() {
    // hello: the miner defaults at step 6 (its own expect says so).
    let dir = temp_dir("markers");
    let svg = plot("examples/hello.cascade", &[], &dir, "hello.svg");
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let x_of = x_axis(&doc, |t| t.parse::<f64>().ok());
    let markers = vertical_lines(&doc, "#222222");
    assert!(!markers.is_empty(), "no default marker in\n{svg}");
    for x in &markers {
        assert!((x - x_of(6.0)).abs() <= 1.5, "a marker at x = {x}, step 6 is at {}", x_of(6.0));
    }
    assert!(texts(&doc).iter().any(|(_, _, t)| t == "miner"), "the marker is labelled with the entity");

    // The flagship, with dates on the axis: every default's marker at its step.
    let svg = plot("examples/ai_compute_credit.cascade", &[], &dir, "flagship.svg");
    let doc = roxmltree::Document::parse(&svg).unwrap();
    // 2026-01 is step 1 (step 0 is the state before the start), one step a month.
    let x_of = x_axis(&doc, |t| {
        let (y, m) = t.split_once('-')?;
        Some(((y.parse::<i32>().ok()? - 2026) * 12 + m.parse::<i32>().ok()?) as f64)
    });
    let trace = cascade(&["run", "examples/ai_compute_credit.cascade", "--format", "json"]);
    let trace: serde_json::Value = serde_json::from_slice(&trace.stdout).unwrap();
    let mut default_steps: Vec<f64> = Vec::new();
    for step in trace["steps"].as_array().unwrap() {
        for event in step["events"].as_array().unwrap() {
            if event["kind"] == "default" {
                default_steps.push(step["step"].as_f64().unwrap());
            }
        }
    }
    assert!(default_steps.len() >= 3, "the flagship has defaults");
    let markers = vertical_lines(&doc, "#222222");
    for step in &default_steps {
        let want = x_of(*step);
        assert!(markers.iter().any(|x| (x - want).abs() <= 1.5), "no marker at step {step} (x = {want})");
    }
    for x in &markers {
        assert!(
            default_steps.iter().any(|s| (x - x_of(*s)).abs() <= 1.5),
            "a default marker at x = {x} where nothing defaulted"
        );
    }
}

#[test]
fn bad_names_and_outputs_are_usage_errors() {
    let output = cascade(&["plot", "examples/hello.cascade", "prise", "-o", "x.svg"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("did you mean `price`"), "{}", stderr(&output));
    let output = cascade(&["plot", "examples/hello.cascade", "-o", "chart.jpg"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("`.svg` or `.png`"), "{}", stderr(&output));
    let output = cascade(&["plot", "examples/hello.cascade", "nobody.*", "-o", "x.svg"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("matches no"), "{}", stderr(&output));
}

#[test]
fn the_svg_can_go_to_stdout() {
    let output = cascade(&["plot", "examples/hello.cascade", "price", "-o", "-"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_renders(&String::from_utf8(output.stdout).unwrap());
}

#[test]
fn the_repl_plots_the_run_so_far() {
    let dir = temp_dir("repl");
    let out = dir.join("price.svg");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(["repl", "examples/hello.cascade"])
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = format!(":step 8\n:plot price miner.* -o {}\n:plot nothing_here -o x.svg\n", out.display());
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains(&format!("wrote {} (price, miner.cash", out.display())), "{text}");
    assert!(text.contains("steps 0 to 8"), "{text}");
    let svg = std::fs::read_to_string(&out).unwrap();
    assert_renders(&svg);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert!(texts(&doc).iter().any(|(_, _, t)| t == "miner"), "the default at step 6 is marked");
    let both = format!("{text}{}", stderr(&output));
    assert!(both.contains("`nothing_here` is not"), "{both}");
}

#[test]
fn the_report_is_one_self_contained_page() {
    let dir = temp_dir("report");
    let out = dir.join("report.html");
    let output = cascade(&["report", "examples/ai_compute_credit.cascade", "-o", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let html = std::fs::read_to_string(&out).unwrap();
    for part in [
        "<h1>AI compute credit squeeze</h1>",
        "<h2>Scenario</h2>",
        "renewal_share",
        "<h2>Timeline</h2>",
        "neocloud DEFAULTS",
        "<svg",
        "<h2>Why each default happened</h2>",
        "applied_digital defaulted at step 24",
        "<h2>Feedback loops</h2>",
        "reinforcing",
        "@media print",
        "@media (max-width",
    ] {
        assert!(html.contains(part), "the report lacks `{part}`");
    }
    for outside in ["src=", "href=", "url(", "@import", "<script", "<link"] {
        assert!(!html.contains(outside), "the report reaches outside itself: `{outside}`");
    }
    let svg_start = html.find("<svg").unwrap();
    let svg_end = html.find("</svg>").unwrap() + "</svg>".len();
    assert_renders(&html[svg_start..svg_end]);
    chromium_screenshot(&out, &dir);
}

/// Opens the page in headless Chromium, screenshots it at a laptop's and a
/// phone's width, and checks the console. Skips where Chromium is missing.
fn chromium_screenshot(page: &Path, dir: &Path) {
    let Some(browser) = ["chromium", "chromium-browser"].into_iter().find(|b| {
        Command::new(b).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
    }) else {
        println!("skipped: chromium is not installed (apt-get install chromium)");
        return;
    };
    for (name, size) in [("laptop.png", "1280,900"), ("phone.png", "390,844")] {
        let shot = dir.join(name);
        let output = Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--enable-logging=stderr",
                "--v=0",
                &format!("--screenshot={}", shot.display()),
                &format!("--window-size={size}"),
            ])
            .arg(page)
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&output.stderr);
        let console: Vec<&str> =
            log.lines().filter(|l| l.contains("CONSOLE") || l.contains("net::ERR")).collect();
        assert!(console.is_empty(), "console messages: {console:#?}");
        let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}): {log}"));
        let share = ink(&png);
        assert!(share > 0.01, "the screenshot is almost blank ({share})");
    }
}

/// `cascade sweep --plot`: the cumulative default chart and a fan of a value,
/// as SVG that renders, the same bytes for any `--jobs`, and as a PNG.
#[test]
fn a_sweep_plots_its_defaults_and_a_fan_of_a_value() {
    let dir = temp_dir("sweep");
    let script = "tests/repl/market.cascade";
    let sweep_svg = |jobs: &str, file: &str| {
        let out = dir.join(file);
        let output = cascade(&[
            "sweep",
            script,
            "--runs",
            "300",
            "--summary",
            "--jobs",
            jobs,
            "--plot",
            out.to_str().unwrap(),
            "--plot-value",
            "price",
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(stderr(&output).contains(&format!("wrote {}", out.display())), "{}", stderr(&output));
        std::fs::read(&out).unwrap()
    };
    let svg = String::from_utf8(sweep_svg("1", "one.svg")).unwrap();
    assert_eq!(svg.as_bytes(), sweep_svg("2", "two.svg"), "--jobs changes the picture");
    assert_renders(&svg);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let words: Vec<String> = texts(&doc).into_iter().map(|(_, _, t)| t).collect();
    for expected in
        ["Probability of default by step (cumulative)", "price over the paths", "median", "300 paths"]
    {
        assert!(words.iter().any(|w| w == expected), "no `{expected}` in {words:?}");
    }
    // The legend gives each entity's probability by the end, most likely first.
    let legend: Vec<&String> =
        words.iter().filter(|w| w.starts_with("weak ") || w.starts_with("strong ")).collect();
    assert_eq!(legend.len(), 2, "{words:?}");
    assert!(legend[0].starts_with("weak "), "{legend:?}");
    // Month labels on the time axis.
    assert!(words.iter().any(|w| w == "2026-07"), "{words:?}");
    let png = dir.join("fan.png");
    let output = cascade(&["sweep", script, "--runs", "50", "--plot", png.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(ink(&std::fs::read(&png).unwrap()) > 0.01);
}

#[test]
fn bad_sweep_plots_are_usage_errors() {
    let script = "tests/repl/market.cascade";
    let error = |args: &[&str]| {
        let mut all = vec!["sweep", script, "--runs", "5"];
        all.extend_from_slice(args);
        let output = cascade(&all);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        stderr(&output)
    };
    assert!(error(&["--plot-value", "price"]).contains("--plot FILE.svg"));
    assert!(error(&["--plot", "x.svg", "--shard", "1/2"]).contains("a shard has only part"));
    assert!(error(&["--plot", "x.txt"]).contains("`--plot x.txt` should name an `.svg` or `.png` file"));
    assert!(error(&["--plot", "x.svg", "--plot-point", "3"]).contains("the sweep has 1 point (0 to 0)"));
    let e = error(&["--plot", "x.svg", "--plot-value", "prise"]);
    assert!(e.contains("--plot-value prise") && e.contains("price"), "{e}");
}

/// `cascade report --runs N --seed S`: a Monte Carlo section with each
/// entity's probability of default and the cumulative default chart, inline.
#[test]
fn the_report_has_a_monte_carlo_section_with_runs() {
    let dir = temp_dir("report-runs");
    let out = dir.join("report.html");
    let args = ["report", "tests/repl/market.cascade", "--runs", "200", "--seed", "3", "-o"];
    let output = cascade(&[&args[..], &[out.to_str().unwrap()]].concat());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let html = std::fs::read_to_string(&out).unwrap();
    for part in
        ["<h2>Monte Carlo</h2>", "200 paths with seed 3", ">weak</td>", ">strong</td>", "95% interval"]
    {
        assert!(html.contains(part), "the report lacks `{part}`");
    }
    let section = &html[html.find("<h2>Monte Carlo</h2>").unwrap()..];
    let svg = &section[section.find("<svg").unwrap()..section.find("</svg>").unwrap() + "</svg>".len()];
    assert!(svg.contains("Probability of default by step") && svg.contains("price over the paths"));
    assert_renders(svg);
    // The table's numbers are the summary's.
    let summary =
        cascade(&["sweep", "tests/repl/market.cascade", "--runs", "200", "--seed", "3", "--summary"]);
    let text = String::from_utf8_lossy(&summary.stdout).into_owned();
    let weak = text.lines().find(|l| l.contains(",weak,")).unwrap();
    let probability = weak.split(',').nth(5).unwrap();
    assert!(section.contains(&format!("<td class=\"num\">{probability}</td>")), "{probability}: {section}");
    chromium_screenshot(&out, &dir);
}

/// The tornado of `cascade sensitivity --plot`: XML that renders, the bars in
/// the table's order (widest swing first, the param read nowhere last), the same
/// bytes twice, and a PNG with ink.
#[test]
fn the_tornado_renders_in_the_order_of_its_table() {
    let dir = temp_dir("tornado");
    let args = ["sensitivity", "tests/stress/ceil.cascade", "--all", "--metric", "first_default", "--plot"];
    let draw = |file: &str| {
        let out = dir.join(file);
        let output = cascade(&[&args[..], &[out.to_str().unwrap()]].concat());
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        std::fs::read(&out).unwrap()
    };
    let svg = String::from_utf8(draw("a.svg")).unwrap();
    assert_eq!(svg.as_bytes(), draw("b.svg"));
    assert_renders(&svg);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let labels: Vec<String> = texts(&doc).into_iter().map(|(_, _, t)| t).collect();
    assert_eq!(labels.first().map(String::as_str), Some("first_default: what moves it most (base 10)"));
    let at =
        |name: &str| labels.iter().position(|t| t == name).unwrap_or_else(|| panic!("no {name}: {labels:?}"));
    assert!(at("cash") < at("cost") && at("cost") < at("unread"), "{labels:?}");
    // The axis ticks are round: evenly spaced by 1, 2 or 5 times a power of ten.
    let ticks: Vec<f64> = labels.iter().filter_map(|t| t.parse().ok()).collect();
    assert!(ticks.len() >= 3, "{labels:?}");
    let step = ticks[1] - ticks[0];
    let mantissa = step / 10f64.powf(step.log10().floor());
    assert!([1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-9), "step {step}: {ticks:?}");
    assert!(ticks.iter().all(|t| (t / step - (t / step).round()).abs() < 1e-9), "{ticks:?}");
    let share = ink(&draw("t.png"));
    assert!(share > 0.01, "the PNG is almost blank ({share})");
    std::fs::remove_dir_all(&dir).unwrap();
}
