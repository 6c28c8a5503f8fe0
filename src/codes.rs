//! The registry of diagnostic codes: each code's string, severity and
//! meaning, in one place.
//!
//! Every problem the library raises names its code through a constant here
//! (`codes::check::unknown_name`, spelled like the code itself), and
//! `tests/codes.rs` checks that no code string is written anywhere else in
//! `src/`, and that `docs/language.md` lists exactly the codes of [`ALL`].
//! A new diagnostic is one line in the `codes!` list below, then its use.

/// Whether a code is an error or a warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The script does not run (or the run stops).
    Error,
    /// Reported, but the script runs.
    Warning,
}

/// One registered code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    /// The code, such as `cascade::check::unknown_name`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// What it means, in a line.
    pub meaning: &'static str,
}

macro_rules! codes {
    ($($group:ident { $($name:ident: $severity:ident, $meaning:literal;)* })*) => {
        $(
            #[doc = concat!("Codes `cascade::", stringify!($group), "::*`.")]
            #[allow(non_upper_case_globals)]
            pub mod $group {
                $(
                    #[doc = concat!("`cascade::", stringify!($group), "::", stringify!($name), "`: ", $meaning, ".")]
                    pub const $name: &str = concat!("cascade::", stringify!($group), "::", stringify!($name));
                )*
            }
        )*

        /// Every registered code, by group.
        pub const ALL: &[Code] = &[
            $($(Code { code: $group::$name, severity: Severity::$severity, meaning: $meaning },)*)*
        ];
    };
}

codes! {
    syntax {
        unexpected: Error, "a token the grammar does not allow here";
        unexpected_end: Error, "the text ends in the middle of an item";
        too_deep: Error, "brackets or an expression nested deeper than the limit";
        number_out_of_range: Error, "a number literal beyond the range of exact decimals";
        bad_date: Error, "a date literal that is not a real month or day";
        bad_number: Error, "a malformed number literal";
        not_utf8: Error, "a script file that is not UTF-8 text";
        empty: Error, "an empty expression (REPL, `Run::evaluate`)";
        too_many_errors: Error, "more syntax errors than are reported; the rest are counted";
        internal: Error, "a grammar rule the parser did not expect (a bug)";
        data_file_name: Error, "a data file's name with an interpolation";
    }
    check {
        unknown_name: Error, "a name that is not declared";
        unknown_field: Error, "a field the kind does not have";
        unknown_kind: Error, "a kind that is not declared";
        unknown_function: Error, "a function that is neither built in nor registered by the host";
        duplicate: Error, "a name declared twice";
        reserved_name: Error, "a declaration named like a built-in";
        type_mismatch: Error, "a value of the wrong type";
        arity: Error, "a call with the wrong number of arguments";
        assign_readonly: Error, "an assignment to a param or another value that cannot change";
        assign_derived: Error, "an assignment to a derived value";
        assign_builtin: Error, "an assignment to a built-in name such as `step`";
        bad_recovery: Error, "a literal recovery rate outside 0% to 100%";
        cycle: Error, "derived values that depend on each other in a cycle";
        not_constant: Error, "a value computed before the run that reads what changes during it";
        misplaced_call: Error, "a built-in called where it may not be (such as a random draw in a condition)";
        bad_setting: Error, "an unknown or invalid setting of the `scenario` block or of a model";
        missing_fields: Error, "a model declared for a kind without the fields it reads";
        no_model: Error, "a model's result read for a kind without that model";
        series_order: Error, "series points out of order, or two at the same step";
        empty_series: Error, "a series without points";
        date_without_start: Error, "a date used without a `start` date in the scenario";
        bad_time: Error, "a time point that is not a step or a date";
        bad_delay: Error, "an `after` delay that is not a whole number of steps";
        self_outside_kind: Error, "`self` outside a kind";
        not_a_kind: Error, "an entity's kind that is not a kind";
        not_an_entity: Error, "a name used as an entity that is not one";
        kind_as_value: Error, "a kind used as a value";
        collection_as_value: Error, "a list of exposures used as a value";
        not_an_aggregate: Error, "a function that cannot aggregate, used as an aggregate";
        bad_aggregate_source: Error, "an aggregate over something that is not a kind or a list of exposures";
        self_exposure: Error, "an exposure of an entity to itself";
        shadowing: Error, "a local of an effect block named like something the rule can already see";
        too_deep: Error, "derived values that refer forward to each other too deeply";
        invalid: Error, "an expression with no value (REPL, `Run::evaluate`)";
        unused: Warning, "a declaration nothing reads";
        order_dependent: Warning, "two rules of equal priority whose order changes the result";
        never_reached: Warning, "a time point outside the run";
        never_fires: Warning, "a rule whose condition can never hold";
    }
    run {
        division_by_zero: Error, "a division by zero";
        overflow: Error, "arithmetic beyond the range of exact decimals";
        underflow: Error, "a product or quotient too small to be told from 0";
        no_value: Error, "a value that does not exist (such as `defaulted_at` of an entity that has not defaulted)";
        empty_aggregate: Error, "`mean`, `min` or `max` of no elements";
        bad_argument: Error, "an argument a built-in cannot take";
        bad_recovery: Error, "a recovery rate outside 0% to 100%";
        bad_delay: Error, "an `after` delay that is not a positive whole number";
        bad_time: Error, "an `at` time computed from params that is not a whole step number";
        host_error: Error, "a host function that failed";
        cycle: Error, "a derived value that needs itself while it is computed";
        internal: Error, "a state the evaluator did not expect (a bug)";
        bad_model_input: Error, "a model input it cannot take (a negative external asset, a shock outside 0 to 1)";
        not_settled: Error, "a model's or `solve` system's values that did not settle within the iteration limit";
        bad_solve: Error, "a `solve` tolerance below 0, or a `limit` that is not a whole number from 1";
        conflicting_writes: Error, "two instances of a `together` rule that write one value in ways that depend on their order";
    }
    limit {
        fuel: Error, "more evaluation work than the fuel limit";
        firings: Error, "more rule firings in one step than the limit";
        instances: Error, "more rule instances than the limit";
        entities: Error, "more entities than the limit";
        exposures: Error, "more exposures than the limit";
        source: Error, "a script longer than the engine reads";
        data: Error, "a data file longer than the engine reads";
        trace: Error, "more records in a run's trace than the limit";
        cancelled: Error, "a run cancelled by its host";
        steps: Warning, "a horizon beyond the step limit";
    }
    test {
        expect_failed: Error, "an `expect` that did not hold";
        assert_failed: Error, "an `assert` that failed";
    }
    io {
        read: Error, "a script file that cannot be read";
    }
    data {
        read: Error, "a data file that cannot be read";
        not_utf8: Error, "a data file that is not UTF-8 text";
        empty: Error, "an empty data file";
        bad_csv: Error, "a data file that is not valid CSV";
        column_count: Error, "a row with more or fewer cells than the header";
        missing_column: Error, "a stored field without a column";
        unknown_column: Error, "a column that names no stored field";
        duplicate_column: Error, "a column named twice";
        derived_column: Error, "a column that names a derived field";
        unknown_entity: Error, "an exposure to an entity that does not exist";
        bad_name: Error, "an entity name that cannot be used";
        bad_value: Error, "a cell that is not a value of its column's type";
        bad_recovery: Error, "a recovery rate outside 0% to 100%";
        too_many_problems: Error, "more problems in a data file than are shown";
        no_loader: Error, "a data file the engine has no loader for";
        problems: Error, "problems in the data files (the error that holds them)";
    }
    api {
        error: Error, "an error of the API given as a diagnostic";
        unknown_name: Error, "a name the program does not declare (API)";
        bad_value: Error, "a value of the wrong type for a param (API)";
        bad_function: Error, "a host function registered with a name that cannot be used";
    }
    sweep {
        bad_option: Error, "a sweep option that cannot be used (`--vary`, `--shard`, `--record`, `--runs`, `--sample`)";
    }
    stress {
        wrong_type: Error, "a `--metric` that is not a number, or an `--until` that is not a bool (sensitivity, threshold)";
    }
    merge {
        mismatch: Error, "outputs that are not the complete shards of one sweep";
    }
}

/// The registered code `code`.
pub fn find(code: &str) -> Option<&'static Code> {
    ALL.iter().find(|c| c.code == code)
}
