//! `cascade graph` and its library API: the dependency graph as text, DOT and
//! Mermaid, and the feedback loops with their polarities.
//!
//! - Snapshots of each format for small scripts and for the flagship, with the
//!   script at the top of the snapshot.
//! - Loop polarity cases, one line each, through the `check(script, loops)`
//!   helper: reinforcing, balancing, unknown, and scripts with no loop.
//! - The enumeration stops at `MAX_FEEDBACK_LOOPS` and says so.
//! - Graphviz's `dot -Tsvg` accepts every DOT output, without a warning. The
//!   test fails when `dot` is missing (install Graphviz: `apt-get install
//!   graphviz`); set `CASCADE_SKIP_DOT=1` to skip it.
//! - The command line: formats, exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cascade::{
    Engine, FeedbackLoop, GraphFormat, LinkSign, MAX_FEEDBACK_LOOPS, Polarity, Program, RenderStyle,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn compile(source: &str, name: &str) -> Program {
    match Engine::new().compile(source, name) {
        Ok(program) => program,
        Err(cascade::Error::Script(d)) => {
            panic!("{name} does not compile:\n{}", d.render(RenderStyle::Plain))
        }
        Err(e) => panic!("{name} does not compile: {e}"),
    }
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `reinforcing: a → b → a`, one per loop.
fn loops(source: &str) -> Vec<String> {
    let found = compile(source, "case.cascade").feedback_loops();
    assert!(!found.capped);
    found.loops.iter().map(|l| format!("{}: {l}", l.polarity)).collect()
}

/// The loops of `source`, exactly, in the order they are listed.
#[track_caller]
fn check(source: &str, expected: &[&str]) {
    assert_eq!(loops(source), expected, "loops of:\n{source}");
}

/// A snapshot of one format of a script's graph, with the script on top.
fn snapshot(name: &str, file: &str, source: &str, format: GraphFormat) {
    let graph = compile(source, file).graph(format);
    let body = format!(
        "----- SOURCE {file}\n{source}{newline}----- GRAPH ({format})\n{graph}",
        newline = if source.ends_with('\n') { "" } else { "\n" },
        format = format.name(),
    );
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!(name, body);
    });
}

// ---------------------------------------------------------------------------------
// Small scripts whose loops are known by construction

const BALANCING: &str = "\
# A balancing loop: the price falls while it is above the floor, and the
# lower it gets, the less the rule fires.
param price_floor = 1.00
var price = 2.00
rule drift: while price > price_floor then price -= 0.25
";

const REINFORCING: &str = "\
# A reinforcing loop: below the trigger, holders sell; what is sold pushes the
# price down, which makes them sell more.
param trigger = 1.50
param impact = 1%
var price = 2.00
var sold = 0
rule fire_sale: while price < trigger then sold += 10
rule market: while sold > 0 then price *= 1 - impact * sold / 100
";

const UNKNOWN: &str = "\
# An unknown loop: whether more capacity raises the profit depends on the sign
# of the margin, which the formulas do not tell.
param cost = 2
var price = 3
var capacity = 10
let profit = capacity * (price - cost)
rule expand: while profit > 0 then capacity += 1
rule compete: while capacity > 20 then price *= 95%
";

const CONTAGION: &str = "\
# Kinds: a bank defaults when its losses on defaulted debtors exceed its cash;
# one default can cause another. A bank that has defaulted stops paying out.
kind Bank {
  cash = 0
  let buffer = cash - exposure_losses(self)
}
entity a: Bank { cash = 10 }
entity b: Bank { cash = 5 }
exposure a -> b = 20, recovery 50%
rule failure: for x: Bank where not x.defaulted when x.buffer < 0 {
  default(x)
  emit \"{x} fails with cash {x.cash}\"
}
rule payout: for x: Bank where not x.defaulted while step > 2 then x.cash -= 1
";

#[test]
fn text_of_a_balancing_loop() {
    snapshot("text_balancing", "balancing.cascade", BALANCING, GraphFormat::Text);
}

#[test]
fn text_of_a_reinforcing_loop() {
    snapshot("text_reinforcing", "reinforcing.cascade", REINFORCING, GraphFormat::Text);
}

#[test]
fn text_of_an_unknown_loop() {
    snapshot("text_unknown", "unknown.cascade", UNKNOWN, GraphFormat::Text);
}

#[test]
fn every_format_of_a_script_with_kinds() {
    snapshot("text_contagion", "contagion.cascade", CONTAGION, GraphFormat::Text);
    snapshot("dot_contagion", "contagion.cascade", CONTAGION, GraphFormat::Dot);
    snapshot("mermaid_contagion", "contagion.cascade", CONTAGION, GraphFormat::Mermaid);
}

#[test]
fn the_three_small_scripts_have_the_polarity_they_were_built_for() {
    check(BALANCING, &["balancing: price → drift → price"]);
    check(REINFORCING, &["reinforcing: price → fire_sale → sold → market → price"]);
    check(
        UNKNOWN,
        &[
            "unknown: capacity → profit → expand → capacity",
            // Through the price, every sign is known: more profit, more capacity,
            // more competition, a lower price, less profit.
            "balancing: price → profit → expand → capacity → compete → price",
        ],
    );
    check(
        CONTAGION,
        &[
            // A bank that has defaulted does not default again.
            "balancing: Bank.defaulted → failure → Bank.defaulted",
            // Contagion: a default lowers its creditors' buffers, which makes them default.
            "reinforcing: Bank.buffer → failure → Bank.defaulted → Bank.buffer",
            // A defaulted bank stops paying out, so keeps its cash and buffer.
            "balancing: Bank.cash → Bank.buffer → failure → Bank.defaulted → payout → Bank.cash",
        ],
    );
}

#[test]
fn the_links_of_a_loop_carry_their_signs() {
    let found = compile(REINFORCING, "reinforcing.cascade").feedback_loops();
    let spiral: &FeedbackLoop = &found.loops[0];
    assert_eq!(spiral.path, ["price", "fire_sale", "sold", "market"]);
    use LinkSign::*;
    // price falls → fire_sale fires → sold rises → market pushes harder → price falls.
    assert_eq!(spiral.signs, [Negative, Positive, Positive, Negative]);
    assert_eq!(spiral.links(Negative), [("price", "fire_sale"), ("market", "price")]);
    assert_eq!(found.count(Polarity::Reinforcing), 1);
}

// ---------------------------------------------------------------------------------
// Polarity, one construct at a time

#[test]
fn comparisons_and_effects_give_the_signs() {
    // `<` fires on a decrease, `>` on an increase; `+=` raises, `-=` lowers.
    check("var p = 2\nwhile p < 5 then p += 1", &["balancing: p → rule at line 2 → p"]);
    check("var p = 2\nwhile p > 5 then p += 1", &["reinforcing: p → rule at line 2 → p"]);
    check("var p = 2\nwhile p <= 5 then p -= 1", &["reinforcing: p → rule at line 2 → p"]);
    check("var p = 2\nwhile not (p >= 5) then p += 1", &["balancing: p → rule at line 2 → p"]);
    // `*=` and `/=` by whether the factor is above or below 1.
    check("var p = 2\nwhile p > 1 then p *= 90%", &["balancing: p → rule at line 2 → p"]);
    check("var p = 2\nwhile p > 1 then p *= 110%", &["reinforcing: p → rule at line 2 → p"]);
    check("var p = 2\nwhile p > 1 then p /= 2", &["balancing: p → rule at line 2 → p"]);
    check("param k = 5%\nvar p = 2\nwhile p > 1 then p *= 1 + k", &["reinforcing: p → rule at line 3 → p"]);
    // A provably negative increment lowers.
    check("var p = 2\nwhile p > 1 then p += -1", &["balancing: p → rule at line 2 → p"]);
}

#[test]
fn setting_a_value_to_zero_lowers_it_and_a_formula_passes_its_inputs_on() {
    check(
        "var p = 2\nvar q = 1\nwhile p > 1 then q = 0\nwhile q < 1 then p += 1",
        &["reinforcing: p → rule at line 3 → q → rule at line 4 → p"],
    );
    // An order that fills the gap to a target: more stock, smaller orders.
    check(
        "var stock = 100\nvar orders = 0\nwhile true then orders = 120 - stock\nwhile orders > 0 then stock += orders",
        &["balancing: stock → rule at line 3 → orders → rule at line 4 → stock"],
    );
    // Setting to another formula goes either way.
    check("var p = 2\nwhile p > 1 then p = 3", &["unknown: p → rule at line 2 → p"]);
}

#[test]
fn derived_values_increase_or_decrease_in_what_they_read() {
    // ratio = debt / assets falls as assets rise.
    check(
        "var debt = 5\nvar assets = 10\nlet ratio = debt / assets\nwhile ratio > 1 then assets += 1",
        &["balancing: assets → ratio → rule at line 4 → assets"],
    );
    check(
        "var debt = 5\nvar assets = 10\nlet ratio = debt / max(assets, 1)\nwhile ratio > 1 then debt += 1",
        &["reinforcing: debt → ratio → rule at line 4 → debt"],
    );
    // A difference of non-negative values has no known sign, so neither has a
    // product with it.
    check(
        "var a = 5\nvar b = 1\nlet x = a * (b - 3)\nwhile x > 1 then a += 1",
        &["unknown: a → x → rule at line 4 → a"],
    );
    // ...unless the params make it positive.
    check(
        "param lo = 3\nvar a = 5\nlet x = a * (lo + 1 - 2)\nwhile x > 1 then a += 1",
        &["reinforcing: a → x → rule at line 4 → a"],
    );
    // A series stays within its points.
    check(
        "series share = { 1: 20%, 10: 60% }\nvar p = 5\nlet revenue = (1 - share) * p\nwhile revenue > 1 then p -= 1",
        &["balancing: p → revenue → rule at line 4 → p"],
    );
}

#[test]
fn equality_and_host_functions_have_no_direction() {
    check("var p = 2\nwhile p == 2 then p += 1", &["unknown: p → rule at line 2 → p"]);
    let program = Engine::new()
        .function("wobble", |x: cascade::Decimal| x)
        .compile("var p = 2\nwhile wobble(p) > 1 then p += 1", "host.cascade")
        .expect("compiles");
    let found = program.feedback_loops();
    assert_eq!(found.loops.len(), 1);
    assert_eq!(found.loops[0].polarity, Polarity::Unknown);
}

#[test]
fn a_value_read_by_the_formula_of_an_effect_counts() {
    // More debt, a bigger payment, less cash; less cash, the rule fires.
    check(
        "kind Firm { cash = 10, debt = 5 }\nentity f: Firm {}\n\
         rule pay: for x: Firm while x.cash > 0 then x.cash -= x.debt\n\
         rule borrow: for x: Firm while x.cash < 3 then x.debt += 1",
        &[
            "balancing: Firm.cash → pay → Firm.cash",
            "reinforcing: Firm.cash → borrow → Firm.debt → pay → Firm.cash",
        ],
    );
    // A value read only for another target carries nothing to this one.
    check("var a = 1\nvar b = 1\nwhile true { a = 0\n b += a }", &[]);
}

#[test]
fn defaults_aggregates_and_delays() {
    // `default` raises `defaulted`; `where not x.defaulted` fires less as it rises.
    check(
        "kind K { cash = 1 }\nentity e: K {}\nfor x: K where not x.defaulted when x.cash < 0 then default(x)",
        &["balancing: K.defaulted → rule at line 3 → K.defaulted"],
    );
    // Losses on defaulted debtors spread defaults.
    check(
        "kind K { cash = 1 }\nentity e: K {}\nentity f: K {}\nexposure e -> f = 2\n\
         for x: K when exposure_losses(x) > x.cash then default(x)",
        &["reinforcing: K.defaulted → rule at line 5 → K.defaulted"],
    );
    // A count over a filter moves with the filter.
    check(
        "kind K { cash = 1 }\nentity e: K {}\nvar stress = 0\n\
         let weak = count(x for x in K where x.cash < stress)\n\
         while weak > 0 then stress += 1",
        &["reinforcing: stress → weak → rule at line 5 → stress"],
    );
    // `after` keeps the direction; a delay that reads the value has none.
    check("var p = 2\nwhen p > 1 then after 2 steps p -= 1", &["balancing: p → rule at line 2 → p"]);
    check("var p = 2\nwhen p > 1 then after p steps p -= 1", &["unknown: p → rule at line 2 → p"]);
}

#[test]
fn a_value_named_only_in_a_message_makes_no_loop() {
    let source = "var ticks = 0\nrule tick: while step > 0 {\n  ticks += 1\n  emit \"ticks: {ticks}\"\n}\n";
    check(source, &[]);
    let text = compile(source, "tick.cascade").graph(GraphFormat::Text);
    assert!(text.contains("    mentions  ticks\n"), "{text}");
    assert!(text.ends_with("Feedback loops: none\n"), "{text}");
}

// ---------------------------------------------------------------------------------
// The cap

/// Eight vars, each written by a rule that reads all eight: the complete graph
/// on 8 nodes with self-loops has 16,072 elementary cycles.
fn complete_graph_script() -> String {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let mut script: String = names.iter().map(|n| format!("var {n} = 1\n")).collect();
    for n in names {
        script.push_str(&format!("while {} > 0 then {n} += 1\n", names.join(" + ")));
    }
    script
}

#[test]
fn the_enumeration_stops_at_the_cap_and_says_so() {
    let program = compile(&complete_graph_script(), "complete.cascade");
    let found = program.feedback_loops();
    assert!(found.capped);
    assert_eq!(found.loops.len(), MAX_FEEDBACK_LOOPS);
    assert_eq!(found.count(Polarity::Reinforcing), MAX_FEEDBACK_LOOPS);
    let text = program.graph(GraphFormat::Text);
    assert!(text.contains("Feedback loops: 10000 or more (10000 reinforcing)\n"), "{text}");
    assert!(text.ends_with("  (stopped looking after 10000 loops: there may be more)\n"));
    let dot = program.graph(GraphFormat::Dot);
    assert!(dot.contains("// Feedback loops: 10000 or more"));

    let few = program.feedback_loops_up_to(5);
    assert!(few.capped);
    assert_eq!(few.loops.len(), 5);
    // Below the cap, nothing is capped: 8 + 28 + 112 + ... = 16,072 in all.
    let all = program.feedback_loops_up_to(20_000);
    assert!(!all.capped);
    assert_eq!(all.loops.len(), 16_072);
}

// ---------------------------------------------------------------------------------
// The flagship

const FLAGSHIP: &str = "examples/ai_compute_credit.cascade";

#[test]
fn the_flagship_price_spiral_is_a_reinforcing_loop() {
    let program = compile(&read(FLAGSHIP), FLAGSHIP);
    let found = program.feedback_loops();
    assert!(!found.capped);
    let find = |path: &[&str]| {
        found
            .loops
            .iter()
            .find(|l| l.path == path)
            .unwrap_or_else(|| panic!("no loop {path:?} among\n{:#?}", found.loops))
    };
    // Price → collateral → LTV → margin call → cash → forced sale → price.
    let spiral = find(&[
        "h100_price",
        "used_h100_value",
        "Lessor.collateral",
        "Lessor.ltv",
        "margin_call",
        "Lessor.cash",
        "forced_sale",
    ]);
    assert_eq!(spiral.polarity, Polarity::Reinforcing);
    // The margin call is larger when the collateral is smaller.
    let direct = find(&[
        "h100_price",
        "used_h100_value",
        "Lessor.collateral",
        "margin_call",
        "Lessor.cash",
        "forced_sale",
    ]);
    assert_eq!(direct.polarity, Polarity::Reinforcing);
    // Lower rents, lower revenue, less cash, forced sales, lower rents.
    let revenue = find(&[
        "h100_price",
        "Lessor.hourly_revenue",
        "Lessor.monthly_margin",
        "operations",
        "Lessor.cash",
        "forced_sale",
    ]);
    assert_eq!(revenue.polarity, Polarity::Reinforcing);
    // Deflation times a month's luck (a log-normal factor, 1 in the base case):
    // with luck a month's rent can also rise, so the sign is not known.
    assert_eq!(find(&["h100_price", "deflation"]).polarity, Polarity::Unknown);
}

#[test]
fn the_flagship_in_every_format() {
    let source = read(FLAGSHIP);
    snapshot("text_flagship", FLAGSHIP, &source, GraphFormat::Text);
    snapshot("dot_flagship", FLAGSHIP, &source, GraphFormat::Dot);
    snapshot("mermaid_flagship", FLAGSHIP, &source, GraphFormat::Mermaid);
}

// ---------------------------------------------------------------------------------
// Graphviz

/// Every script whose graph `dot` must accept: the small ones above, the
/// examples and the ok cases.
fn dot_inputs() -> Vec<(String, String)> {
    let mut inputs: Vec<(String, String)> = [
        ("balancing.cascade", BALANCING),
        ("reinforcing.cascade", REINFORCING),
        ("unknown.cascade", UNKNOWN),
        ("contagion.cascade", CONTAGION),
        ("a \"quoted\" \\ name.cascade", BALANCING),
    ]
    .iter()
    .map(|(name, source)| (name.to_string(), source.to_string()))
    .collect();
    for dir in ["examples", "tests/cases/ok"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "cascade"));
        files.sort();
        for path in files {
            let name = format!("{dir}/{}", path.file_name().unwrap_or_default().to_string_lossy());
            inputs.push((name, std::fs::read_to_string(&path).unwrap_or_default()));
        }
    }
    inputs
}

fn run_dot(dot: &str) -> std::io::Result<Output> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(dot.as_bytes())?;
    }
    child.wait_with_output()
}

#[test]
fn graphviz_accepts_the_dot_output() {
    if std::env::var("CASCADE_SKIP_DOT").is_ok_and(|v| v == "1") {
        eprintln!("CASCADE_SKIP_DOT=1: not checking the DOT output with Graphviz");
        return;
    }
    for (name, source) in dot_inputs() {
        let Ok(program) = Engine::new().compile(&source, &name) else { continue };
        let dot = program.graph(GraphFormat::Dot);
        let output = match run_dot(&dot) {
            Ok(output) => output,
            Err(e) => panic!(
                "cannot run Graphviz's `dot` ({e}): install Graphviz (`apt-get install graphviz`), \
                 or set CASCADE_SKIP_DOT=1 to skip this test"
            ),
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.is_empty(),
            "dot -Tsvg rejects the graph of {name}:\n{stderr}\n{dot}"
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("<svg"), "no SVG for {name}");
    }
}

// ---------------------------------------------------------------------------------
// Formats and the command line

#[test]
fn formats_parse_from_their_names() {
    for format in [GraphFormat::Text, GraphFormat::Dot, GraphFormat::Mermaid] {
        assert_eq!(format.name().parse::<GraphFormat>(), Ok(format));
    }
    assert_eq!(GraphFormat::default(), GraphFormat::Text);
    let error = "svg".parse::<GraphFormat>().unwrap_err();
    assert_eq!(error, "unknown graph format `svg`: use `text`, `dot` or `mermaid`");
}

fn cascade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn temp_script(name: &str, text: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("graph");
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("a temporary script");
    path
}

#[test]
fn the_command_prints_what_the_library_draws() {
    let program = compile(&read(FLAGSHIP), FLAGSHIP);
    for (args, format) in [
        (vec!["graph", FLAGSHIP], GraphFormat::Text),
        (vec!["graph", FLAGSHIP, "--format", "text"], GraphFormat::Text),
        (vec!["graph", FLAGSHIP, "--format", "dot"], GraphFormat::Dot),
        (vec!["graph", "--format", "mermaid", FLAGSHIP], GraphFormat::Mermaid),
    ] {
        let output = cascade(&args);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8_lossy(&output.stdout), program.graph(format), "{args:?}");
    }
}

#[test]
fn the_command_exits_1_on_script_errors_and_2_on_usage_errors() {
    let broken = temp_script("broken.cascade", "var x = \n");
    let output = cascade(&["graph", path_str(&broken)]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());

    let output = cascade(&["graph", FLAGSHIP, "--format", "svg"]);
    assert_eq!(output.status.code(), Some(2));
    let output = cascade(&["graph", "no/such/file.cascade"]);
    assert_eq!(output.status.code(), Some(2));
    let output = cascade(&["graph"]);
    assert_eq!(output.status.code(), Some(2));
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}
