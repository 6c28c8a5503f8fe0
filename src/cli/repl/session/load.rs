//! The world of a session: loading a file, adding items, restarting on a
//! changed world, and replaying the run to the step it was at.

use super::*;

impl Session {
    // -------------------------------------------------------------------------
    // The world

    /// The name the world is compiled under (and diagnostics show).
    pub(super) fn world_name(&self, world: &str) -> String {
        match &self.file {
            Some(file) if world == self.file_text => file.display().to_string(),
            Some(file) => format!("{} (edited in the REPL)", file.display()),
            None => String::from("<repl>"),
        }
    }

    /// Loads a script: a new world at step 0. On failure nothing changes.
    pub fn load(&mut self, path: &Path, out: &mut dyn Write) -> Outcome {
        let text = match self.engine.read_file(path) {
            Ok(text) => text,
            Err(e) => return self.fail_to_read(out, &e),
        };
        let program = match self.engine.compile(&text, &path.display().to_string()) {
            Ok(p) => p,
            Err(e) => return self.fail_with(out, &e),
        };
        let Restarted { timeline, .. } =
            self.restart(&program, &[], &[], 0, &mut Vec::new()).or_else(|e| self.fail_with(out, &e))?;
        self.file = Some(path.to_path_buf());
        self.file_text = text.clone();
        self.world = text;
        self.world_items = OnceCell::new();
        self.program = program;
        self.revision += 1;
        self.timeline = timeline;
        self.params.clear();
        self.hand_set.clear();
        self.print_diagnostics(out, self.program.warnings());
        say!(out, "loaded {}: {}", path.display(), self.summary());
        Ok(())
    }

    /// Remembers the file to `:reload`, after it failed to load at start-up.
    pub fn remember_file(&mut self, path: &Path) {
        self.file = Some(path.to_path_buf());
    }

    /// A file that cannot be read is one line (`error: cannot read ...`); a
    /// file that is not UTF-8 or is too long gets its diagnostic.
    fn fail_to_read(&mut self, out: &mut dyn Write, error: &Error) -> Outcome {
        match error {
            Error::Io(diagnostics) => {
                let message = diagnostics.problems().first().map(|p| p.message.clone()).unwrap_or_default();
                self.fail(out, &message)
            }
            _ => self.fail_with(out, error),
        }
    }

    /// `"AI compute credit squeeze": 13 params, 2 vars, 5 entities, 13 rules; 48 steps`
    pub(super) fn summary(&self) -> String {
        let declarations = self.program.declarations();
        let mut parts = Vec::new();
        for what in ["param", "var", "let", "series", "kind", "entity"] {
            let n = declarations.iter().filter(|d| d.what.as_str() == what).count();
            let word = match (what, n) {
                (_, 0) => continue,
                ("series", _) | (_, 1) => what.to_string(),
                ("entity", _) => String::from("entities"),
                _ => format!("{what}s"),
            };
            parts.push(format!("{n} {word}"));
        }
        let rules = self.program.rules().len();
        parts.push(format!("{rules} rule{}", if rules == 1 { "" } else { "s" }));
        let title = self.program.title().map(|t| format!("\"{t}\", ")).unwrap_or_default();
        format!("{title}{}; {} steps", parts.join(", "), self.program.horizon())
    }

    /// Starts again with `params`, replayed to the current step with the
    /// values set by hand, and keeps the new run: prints its notes and returns
    /// "; replayed to step N" (empty at step 0). On failure it prints the error
    /// and nothing changes.
    pub(super) fn replay(
        &mut self,
        params: &[(String, Value)],
        out: &mut dyn Write,
    ) -> Result<String, Failed> {
        let to = self.timeline.step();
        let mut notes = Vec::new();
        let result = self.restart(&self.program, params, &self.hand_set, to, &mut notes);
        let Restarted { timeline, params, hand_set } = match result {
            Ok(x) => x,
            Err(e) => {
                self.print_interrupt_or(out, &e);
                return Err(Failed);
            }
        };
        self.timeline = timeline;
        self.params = params;
        self.hand_set = hand_set;
        for note in notes {
            say!(out, "note: {note}");
        }
        Ok(if to > 0 { format!("; replayed to step {}", self.timeline.step()) } else { String::new() })
    }

    /// A run of `program` with `params`, replayed to step `to` with `hand_set`.
    /// Returns the timeline and the params and values that still apply.
    pub(super) fn restart(
        &self,
        program: &Program,
        params: &[(String, Value)],
        hand_set: &[HandSet],
        to: u64,
        notes: &mut Vec<String>,
    ) -> Result<Restarted, Error> {
        let declared = program.params();
        let mut start = program.start().cancel_flag(self.cancel.clone()).seed(self.random.0);
        if let Some(path) = self.random.1 {
            start = start.path(path);
        }
        let mut kept_params = Vec::new();
        for (name, value) in params {
            if name.contains('.') {
                // A stored field's initial value (`:set alpha.capital = 2bn` at step 0).
                if program.start().set(name, value.clone()).is_ok() {
                    start = start.set(name, value.clone())?;
                    kept_params.push((name.clone(), value.clone()));
                } else {
                    notes.push(format!("`{name}` can no longer be set; it is no longer set in the REPL"));
                }
                continue;
            }
            match declared.iter().find(|p| p.name == *name) {
                Some(p) if Some(p.ty) == type_of(value) => {
                    start = start.set(name, value.clone())?;
                    kept_params.push((name.clone(), value.clone()));
                }
                Some(_) => notes
                    .push(format!("param `{name}` has another type now; it is no longer set in the REPL")),
                None => notes.push(format!("param `{name}` is no longer declared")),
            }
        }
        let run = start.begin()?;
        let (timeline, hand_set) = Timeline::replay(run, to, hand_set, notes)?;
        Ok(Restarted { timeline, params: kept_params, hand_set })
    }

    /// Puts a new program in place, replayed to the current step. On failure
    /// prints the error and nothing changes.
    pub(super) fn switch_to(
        &mut self,
        program: Program,
        world: String,
        out: &mut dyn Write,
        notes: &mut Vec<String>,
    ) -> Outcome {
        let to = self.timeline.step();
        let result = self.restart(&program, &self.params, &self.hand_set, to, notes);
        let Restarted { timeline, params, hand_set } = match result {
            Ok(x) => x,
            Err(e) => {
                self.print_interrupt_or(out, &e);
                say!(out, "the change was not made: the run of the changed world fails before step {to}");
                return Err(Failed);
            }
        };
        let old_warnings = self.program.warnings().problems().to_vec();
        self.program = program;
        self.world = world;
        self.world_items = OnceCell::new();
        self.revision += 1;
        self.timeline = timeline;
        self.params = params;
        self.hand_set = hand_set;
        let new_warnings: Vec<_> = self
            .program
            .warnings()
            .problems()
            .iter()
            .filter(|p| !old_warnings.iter().any(|o| o.code == p.code && o.message == p.message))
            .cloned()
            .collect();
        // One line each: while a world is being typed in, "never used" is expected.
        for warning in new_warnings {
            say!(out, "warning: {}", warning.message);
        }
        for note in notes.iter() {
            say!(out, "note: {note}");
        }
        Ok(())
    }

    pub(super) fn print_interrupt_or(&self, out: &mut dyn Write, error: &Error) {
        if interrupt::raised() {
            say!(out, "interrupted");
        } else {
            self.print_error(out, error);
        }
    }

    /// Declarations and rules typed in.
    pub(super) fn add_items(&mut self, input: &str, out: &mut dyn Write) -> Outcome {
        let source = SourceFile::new("<input>", input);
        let (file, problems) = syntax::parse_file(&source);
        if !problems.is_empty() {
            self.print_diagnostics(out, &Diagnostics::new(&source, problems));
            return Err(Failed);
        }
        let edit = world::edit(&self.world, input, &file.items);
        let name = self.world_name(&edit.text);
        let program = match self.engine.compile(&edit.text, &name) {
            Ok(p) => p,
            Err(Error::Script(diagnostics)) => {
                // Only the errors: warnings about a world that does not exist are noise.
                let errors = diagnostics.problems().iter().filter(|p| p.is_error()).cloned().collect();
                let diagnostics = Diagnostics::new(diagnostics.source(), errors);
                let (mine, theirs) = edit.split(&source, &diagnostics);
                self.print_diagnostics(out, &mine);
                self.print_capped(out, &theirs, "the rest of the world");
                return Err(Failed);
            }
            Err(e) => return self.fail_with(out, &e),
        };
        let step = self.timeline.step();
        self.switch_to(program, edit.text, out, &mut Vec::new())?;
        for note in &edit.notes {
            say!(out, "{note}");
        }
        if step > 0 {
            say!(out, "replayed to step {}", self.timeline.step());
        }
        Ok(())
    }

    /// `:reload`: the file again, without the items typed in.
    pub(super) fn reload(&mut self, out: &mut dyn Write) -> Outcome {
        let Some(path) = self.file.clone() else {
            return self.fail(out, "no script is loaded; use `:load FILE`");
        };
        let text = match self.engine.read_file(&path) {
            Ok(text) => text,
            Err(e) => return self.fail_to_read(out, &e),
        };
        let program = match self.engine.compile(&text, &path.display().to_string()) {
            Ok(p) => p,
            Err(e) => return self.fail_with(out, &e),
        };
        let typed = self.world != self.file_text;
        let old_text = std::mem::replace(&mut self.file_text, text.clone());
        if self.switch_to(program, text, out, &mut Vec::new()).is_err() {
            self.file_text = old_text;
            return Err(Failed);
        }
        let dropped = if typed { " (the items typed in the REPL are dropped)" } else { "" };
        say!(
            out,
            "reloaded {}{dropped}: {}; at step {}",
            path.display(),
            self.summary(),
            self.timeline.step()
        );
        Ok(())
    }
}
