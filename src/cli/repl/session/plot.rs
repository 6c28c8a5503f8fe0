//! `:plot [NAME|PATTERN]... [-o FILE.svg|png]`: the chart of `cascade plot`
//! for the run so far, written to a file; without `-o`, a small chart in the
//! terminal (Braille dots, one panel per value).

use std::io::Write;
use std::path::PathBuf;

use super::{Outcome, Session, say};
use crate::cli::plot::record::Recording;
use crate::cli::plot::{Output, chart, choose, terminal, write};

impl Session {
    pub(in crate::cli::repl) fn plot(&mut self, args: &str, out: &mut dyn Write) -> Outcome {
        let mut patterns = Vec::new();
        let mut path = None;
        let mut words = args.split_whitespace();
        while let Some(word) = words.next() {
            if word == "-o" {
                match words.next() {
                    Some(file) => path = Some(PathBuf::from(file)),
                    None => return self.fail(out, "`-o` needs a file: `:plot h100_price -o price.svg`"),
                }
            } else {
                patterns.push(word.to_string());
            }
        }
        let output = match &path {
            Some(path) => Some(Output::from_path(path).or_else(|message| self.fail(out, &message))?),
            None => None,
        };
        let names = choose(&self.program, &patterns).or_else(|message| self.fail(out, &message))?;
        let recording = self.record(&names).or_else(|e| self.fail_with(out, &e))?;
        if recording.lines.is_empty() {
            return self.fail(out, &format!("none of {} has a number to draw", names.join(", ")));
        }
        let (Some(path), Some(output)) = (path, output) else {
            let _ = write!(out, "{}", terminal::text(&recording));
            return Ok(());
        };
        let svg = chart::svg(&recording).or_else(|message| self.fail(out, &message))?;
        write(&svg, &output).or_else(|message| self.fail(out, &message))?;
        if output != Output::Stdout {
            let lines: Vec<&str> = recording.lines.iter().map(|l| l.name.as_str()).collect();
            say!(out, "wrote {} ({}, steps 0 to {})", path.display(), lines.join(", "), self.timeline.step());
        }
        Ok(())
    }

    /// The session's run replayed from step 0 to the current step (with its
    /// params and the values set by hand), recording `names` at each step.
    fn record(&self, names: &[String]) -> Result<Recording, cascade::Error> {
        let mut start = self.program.start().cancel_flag(self.cancel.clone()).seed(self.random.0);
        if let Some(path) = self.random.1 {
            start = start.path(path);
        }
        for (name, value) in &self.params {
            start = start.set(name, value.clone())?;
        }
        let mut run = start.begin()?;
        let to = self.timeline.step();
        let mut recording = Recording::new(&self.program, names);
        let apply = |run: &mut cascade::Run, step: u64| {
            for h in self.hand_set.iter().filter(|h| h.step == step) {
                // These were checked when they were set and on every replay.
                let _ = run.set_value(&h.name, h.value.clone());
            }
        };
        apply(&mut run, 0);
        recording.record(&mut run)?;
        while run.current_step() < to {
            let Some(summary) = run.step()? else { break };
            apply(&mut run, summary.step);
            recording.record(&mut run)?;
        }
        recording.keep_numbers();
        Ok(recording)
    }
}
