//! The REPL's commands: names, usage and help (`:help`, completion and hints
//! read this table).

/// One `:command`.
pub struct Command {
    /// Its name, without the colon.
    pub name: &'static str,
    /// Its arguments, e.g. `[N]`.
    pub usage: &'static str,
    /// One line for `:help`.
    pub summary: &'static str,
    /// More for `:help NAME`.
    pub details: &'static str,
}

impl Command {
    /// The command called `name` (or one of its short forms).
    pub fn find(name: &str) -> Option<&'static Command> {
        let name = match name {
            "q" | "exit" => "quit",
            "h" | "?" => "help",
            "s" => "step",
            other => other,
        };
        COMMANDS.iter().find(|c| c.name == name)
    }
}

/// Every command, in the order `:help` lists them.
pub const COMMANDS: &[Command] = &[
    Command {
        name: "load",
        usage: "FILE",
        summary: "load a script and start again at step 0",
        details: "Forgets the session: declarations typed in, params and values set, steps.\n\
                  If the script has errors, they are printed and the session stays as it was.",
    },
    Command {
        name: "reload",
        usage: "",
        summary: "read the script again (after editing it), keep the step",
        details: "Declarations typed in the REPL are dropped; params and values set by hand\n\
                  are kept, and the run is replayed to the current step.",
    },
    Command {
        name: "step",
        usage: "[N]",
        summary: "run N steps (1 by default) and show what happened",
        details: "Prints each step that had events, and the last one. Ctrl-C stops a long\n\
                  `:step N` after the step that is running; the session keeps it.",
    },
    Command {
        name: "run",
        usage: "",
        summary: "run to the horizon or a `stop` (Ctrl-C stops it)",
        details: "Prints the steps that had events, then the expectations once the run has ended.",
    },
    Command {
        name: "back",
        usage: "[N]",
        summary: "go back N steps (1 by default): every value as it was then",
        details: "Values set by hand after that step are forgotten. Example: `:back 3`.",
    },
    Command {
        name: "reset",
        usage: "",
        summary: "start again at step 0 with the script's own params",
        details: "Forgets params and values set by hand; keeps declarations typed in the REPL.",
    },
    Command {
        name: "seed",
        usage: "[S]",
        summary: "the seed of the random draws (replays the run), or show it",
        details: "Draws in effects and initial values come from the stream of (seed, path). Setting\n\
                  the seed starts a new run with it and replays the same steps and the values set\n\
                  by hand. With no argument, shows the seed and the path. Example: `:seed 4`.",
    },
    Command {
        name: "path",
        usage: "[I|base]",
        summary: "run as path I of a sweep (replays the run), or the base run again",
        details: "Path I of `cascade sweep --seed S` draws its uncertain params (`param x = 2 ~\n\
                  normal(2, 0.2)`) and every random draw as that path did, so `:seed S` and\n\
                  `:path I` (with `:set` for the point's params) reproduce row I of the sweep.\n\
                  `:path base` goes back to the base run: uncertain params at their base values.",
    },
    Command {
        name: "show",
        usage: "NAME",
        summary: "a value, an entity with all its fields, a kind, or a rule",
        details: "Examples: `:show coreweave`, `:show h100_price`, `:show Lessor`,\n\
                  `:show margin_call`, `:show coreweave.ltv`.",
    },
    Command {
        name: "set",
        usage: "NAME = VALUE",
        summary: "set a param (replays the run) or a var or stored field (now)",
        details: "VALUE is an expression, evaluated now: `:set h100_price = h100_price * 0.9`.\n\
                  A param is fixed for a run: setting one starts a new run with it and replays\n\
                  the same steps and the values set by hand. A var or a stored field changes\n\
                  now; rules see it in the next step. Derived values follow their formula.\n\
                  Before the first step, `entity.field` sets the field's initial value, as\n\
                  `--set` does: initial values computed from it follow.",
    },
    Command {
        name: "why",
        usage: "TARGET",
        summary: "why an entity defaulted or a value changed",
        details: "TARGET is an entity, `entity.field` or a var: `:why applied_digital`.",
    },
    Command {
        name: "graph",
        usage: "[text|dot|mermaid]",
        summary: "the dependency graph and its feedback loops",
        details: "The same as `cascade graph FILE`, for the world as it is now (with the\n\
                  declarations typed in).",
    },
    Command {
        name: "plot",
        usage: "[NAME|PATTERN]... [-o FILE]",
        summary: "chart values over the steps so far, here or in an SVG (or PNG) file",
        details: "The chart of `cascade plot`: names as there (`h100_price`, `coreweave.*`,\n\
                  `*.cash`), the vars and lets when none is given; defaults marked. Without `-o`,\n\
                  a small chart here (a panel of Braille dots per value, at most 4); with\n\
                  `-o FILE.svg` or `-o FILE.png`, the full chart in that file.",
    },
    Command {
        name: "rules",
        usage: "",
        summary: "the rules, in source order",
        details: "Name (or line), priority and description of every rule.",
    },
    Command {
        name: "events",
        usage: "[N]",
        summary: "the last N events (all by default)",
        details: "Defaults, emitted messages and stops so far, with the rule that caused each.",
    },
    Command {
        name: "help",
        usage: "[COMMAND]",
        summary: "this list, or more about one command",
        details: "",
    },
    Command {
        name: "quit",
        usage: "",
        summary: "leave (Ctrl-D does too)",
        details: "Also `:q` and `:exit`.",
    },
];

/// The text of `:help` (no argument).
pub fn help_text() -> String {
    let mut out = String::from(
        "Type a declaration or rule to add it to the world (a name declared again replaces\n\
         the earlier declaration), an expression to evaluate it now, or a command:\n",
    );
    for c in COMMANDS {
        let head =
            if c.usage.is_empty() { format!(":{}", c.name) } else { format!(":{} {}", c.name, c.usage) };
        out.push_str(&format!("  {head:<20} {}\n", c.summary));
    }
    out.push_str(
        "Tab completes commands, names and `entity.` fields; Ctrl-C cancels the input or\n\
         a long :run; Ctrl-D leaves.\n",
    );
    out
}

/// The text of `:help NAME`.
pub fn command_help(command: &Command) -> String {
    let head = if command.usage.is_empty() {
        format!(":{}", command.name)
    } else {
        format!(":{} {}", command.name, command.usage)
    };
    let mut out = format!("{head}\n  {}\n", command.summary);
    for line in command.details.lines().filter(|l| !l.is_empty()) {
        out.push_str(&format!("  {}\n", line.trim()));
    }
    out
}
