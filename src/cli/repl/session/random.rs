//! `:seed [S]` and `:path [I|base]`: which random numbers the session's run
//! draws. A change starts a new run with the session's params and replays it
//! to the current step with the values set by hand, as `:set` of a param does.

use std::io::Write;

use super::{Outcome, Session, say};

impl Session {
    /// `:seed [S]`.
    pub(in crate::cli::repl) fn seed(&mut self, args: &str, out: &mut dyn Write) -> Outcome {
        if args.is_empty() {
            say!(out, "{}", self.random_text());
            return Ok(());
        }
        let Ok(seed) = args.parse::<u64>() else {
            return self.fail(out, &format!("a seed is a whole number from 0, e.g. `:seed 4`, not `{args}`"));
        };
        self.redraw((seed, self.random.1), out)
    }

    /// `:path [I|base]`.
    pub(in crate::cli::repl) fn path(&mut self, args: &str, out: &mut dyn Write) -> Outcome {
        let path = match args {
            "" => {
                say!(out, "{}", self.random_text());
                return Ok(());
            }
            "base" | "none" | "off" => None,
            number => match number.parse::<u64>() {
                Ok(i) => Some(i),
                Err(_) => {
                    return self.fail(
                        out,
                        &format!("a path is a whole number from 0 (`:path 7`) or `base`, not `{args}`"),
                    );
                }
            },
        };
        self.redraw((self.random.0, path), out)
    }

    /// `seed 4, path 7: uncertain params drawn (spot = 1.93)`.
    fn random_text(&mut self) -> String {
        let (seed, path) = self.random;
        let uncertain: Vec<String> =
            self.program.params().into_iter().filter(|p| p.uncertain).map(|p| p.name).collect();
        let drawn = |s: &mut Session| -> String {
            let shown: Vec<String> = uncertain
                .iter()
                .filter_map(|name| {
                    let value = s.timeline.current.value(name).ok()?;
                    Some(format!("{name} = {}", s.timeline.current.display(&value)))
                })
                .collect();
            shown.join(", ")
        };
        match path {
            None if uncertain.is_empty() => format!("seed {seed}, the base run"),
            None => {
                format!("seed {seed}, the base run: uncertain params at their base values ({})", drawn(self))
            }
            Some(i) if uncertain.is_empty() => format!("seed {seed}, path {i}"),
            Some(i) => format!("seed {seed}, path {i}: uncertain params drawn ({})", drawn(self)),
        }
    }

    /// Starts again with `random`, replayed to the current step; on failure
    /// nothing changes.
    fn redraw(&mut self, random: (u64, Option<u64>), out: &mut dyn Write) -> Outcome {
        let old = std::mem::replace(&mut self.random, random);
        let params = self.params.clone();
        let again = self.replay(&params, out).inspect_err(|_| self.random = old)?;
        let text = self.random_text();
        say!(out, "{text}{again}");
        Ok(())
    }
}
