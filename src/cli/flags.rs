//! The flags several commands share: limits (`--max-...`, `--data`),
//! verbosity, the random draws, and the one run `plot` and `report` draw.

use cascade::Engine;

use super::{Failure, data, out};

#[derive(clap::Args, Clone)]
pub(crate) struct Limits {
    /// At most this many steps per run.
    #[arg(long, value_name = "N")]
    pub(crate) max_steps: Option<u64>,
    /// At most this many rule firings in one step.
    #[arg(long, value_name = "N")]
    pub(crate) max_firings_per_step: Option<u64>,
    /// At most this many sweeps of a `solve` system that states no `limit`.
    #[arg(long, value_name = "N")]
    pub(crate) max_solve_iterations: Option<u64>,
    /// At most this many evaluation operations per run.
    #[arg(long, value_name = "N")]
    pub(crate) max_fuel: Option<u64>,
    /// At most this many rule instances.
    #[arg(long, value_name = "N")]
    pub(crate) max_instances: Option<u64>,
    /// Brackets may nest at most this deep (at most 256).
    #[arg(long, value_name = "N", value_parser = at_most(cascade::syntax::NESTING_CEILING))]
    pub(crate) max_nesting: Option<usize>,
    /// An expression may be at most this many operations deep (at most 1024).
    #[arg(long, value_name = "N", value_parser = at_most(cascade::syntax::EXPR_DEPTH_CEILING))]
    pub(crate) max_expression_depth: Option<usize>,
    /// At most this many entities.
    #[arg(long, value_name = "N")]
    pub(crate) max_entities: Option<usize>,
    /// At most this many exposures.
    #[arg(long, value_name = "N")]
    pub(crate) max_exposures: Option<usize>,
    /// Read the data file the script names NAME (`entities Bank from "NAME"`)
    /// from PATH instead of beside the script (repeatable).
    #[arg(long = "data", value_name = "NAME=PATH")]
    pub(crate) data: Vec<String>,
    /// Keep at most this many records (firings, values read, changes) in a run's trace.
    #[arg(long, value_name = "N")]
    pub(crate) max_trace: Option<u64>,
    /// Read at most this many bytes of script (at most 4294967295).
    #[arg(long, value_name = "N", value_parser = at_most(cascade::source::MAX_TEXT_BYTES))]
    pub(crate) max_source_bytes: Option<usize>,
    /// Read at most this many bytes from one data file (at most 4294967295).
    #[arg(long, value_name = "N", value_parser = at_most(cascade::source::MAX_TEXT_BYTES))]
    pub(crate) max_data_bytes: Option<usize>,
}

/// How much a command says about its script besides its output.
#[derive(clap::Args, Clone, Copy)]
pub(crate) struct Verbosity {
    /// Show every warning in full (by default a one-line count; `check` always shows them).
    #[arg(long)]
    pub(crate) warnings: bool,
}

/// A `--max-...` value of at most `ceiling`: the engine would count a larger
/// one as `ceiling`, so it is refused rather than silently lowered.
pub(crate) fn at_most(ceiling: usize) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(0..=ceiling as u64)
}

impl Limits {
    /// The engine with these limits and the file loader, and the loader (to
    /// ask which `--data` names were used).
    pub(crate) fn engine_with_data(&self) -> Result<(Engine, std::sync::Arc<data::FileLoader>), Failure> {
        let loader = data::FileLoader::new(&self.data, self.data_bytes()).map_err(|message| {
            out::err(&format!("error: {message}\n"));
            Failure::Usage
        })?;
        Ok((self.engine().loader(data::Shared(loader.clone())), loader))
    }

    /// The engine with these limits and the file loader.
    pub(crate) fn engine(&self) -> Engine {
        match data::FileLoader::new(&self.data, self.data_bytes()) {
            Ok(loader) => self.engine_limits().loader(data::Shared(loader)),
            Err(_) => self.engine_limits(),
        }
    }

    fn data_bytes(&self) -> usize {
        self.max_data_bytes.unwrap_or(cascade::DataFile::DEFAULT_MAX_BYTES)
    }

    fn engine_limits(&self) -> Engine {
        let mut engine = Engine::new();
        if let Some(n) = self.max_steps {
            engine = engine.max_steps(n);
        }
        if let Some(n) = self.max_solve_iterations {
            engine = engine.max_solve_iterations(n);
        }
        if let Some(n) = self.max_firings_per_step {
            engine = engine.max_firings_per_step(n);
        }
        if let Some(n) = self.max_fuel {
            engine = engine.max_fuel(n);
        }
        if let Some(n) = self.max_instances {
            engine = engine.max_instances(n);
        }
        if let Some(n) = self.max_nesting {
            engine = engine.max_nesting(n);
        }
        if let Some(n) = self.max_expression_depth {
            engine = engine.max_expression_depth(n);
        }
        if let Some(n) = self.max_entities {
            engine = engine.max_entities(n);
        }
        if let Some(n) = self.max_exposures {
            engine = engine.max_exposures(n);
        }
        if let Some(n) = self.max_trace {
            engine = engine.max_trace(n);
        }
        if let Some(n) = self.max_source_bytes {
            engine = engine.max_source_bytes(n);
        }
        engine.max_data_bytes(self.data_bytes())
    }
}

/// The flags of the one run that `plot` and `report` draw.
#[derive(clap::Args)]
pub(crate) struct RunFlags {
    /// Override a param: `--set holding_cost=2.8` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub(crate) sets: Vec<String>,
    /// Run this many steps instead of the scenario's horizon.
    #[arg(long, value_name = "N")]
    pub(crate) horizon: Option<u64>,
    #[command(flatten)]
    pub(crate) random: Random,
    #[command(flatten)]
    pub(crate) limits: Limits,
}

/// Which random numbers a run draws.
#[derive(clap::Args, Clone, Copy)]
pub(crate) struct Random {
    /// The seed of the random draws (default 0).
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub(crate) seed: u64,
    /// Run as path I of a sweep with this seed: uncertain params are drawn, and the draws are path I's.
    #[arg(long, value_name = "I")]
    pub(crate) path: Option<u64>,
}
