//! Host functions: Rust closures that scripts may call.
//!
//! A closure of one to four arguments of [`Decimal`], `bool`, [`Date`] or
//! `String`, returning one of those or a `Result` of one, is a [`HostFn`]; the
//! checker knows its signature, so a wrong call is a diagnostic at the call site.

use std::fmt::Display;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::value::{Date, Type, Value};

/// A type a host function can take or return.
pub trait HostValue: Sized {
    /// The script type it corresponds to.
    const TYPE: Type;
    /// From a script value (`None` if the type does not match).
    fn from_value(value: &Value) -> Option<Self>;
    /// Into a script value.
    fn into_value(self) -> Value;
}

impl HostValue for Decimal {
    const TYPE: Type = Type::Number;
    fn from_value(value: &Value) -> Option<Self> {
        value.as_number()
    }
    fn into_value(self) -> Value {
        Value::Number(self)
    }
}

impl HostValue for bool {
    const TYPE: Type = Type::Bool;
    fn from_value(value: &Value) -> Option<Self> {
        value.as_bool()
    }
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl HostValue for Date {
    const TYPE: Type = Type::Date;
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Date(d) => Some(*d),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Date(self)
    }
}

impl HostValue for String {
    const TYPE: Type = Type::Str;
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Str(s) => Some(s.to_string()),
            _ => None,
        }
    }
    fn into_value(self) -> Value {
        Value::Str(Arc::from(self))
    }
}

/// What a host function may return: a value, or `Result<value, E: Display>`.
pub trait HostReturn {
    /// The script type of the value.
    const TYPE: Type;
    /// The value, or the error's message.
    fn into_result(self) -> Result<Value, String>;
}

impl<T: HostValue> HostReturn for T {
    const TYPE: Type = T::TYPE;
    fn into_result(self) -> Result<Value, String> {
        Ok(self.into_value())
    }
}

impl<T: HostValue, E: Display> HostReturn for Result<T, E> {
    const TYPE: Type = T::TYPE;
    fn into_result(self) -> Result<Value, String> {
        self.map(HostValue::into_value).map_err(|e| e.to_string())
    }
}

/// A Rust function that scripts can call; implemented for closures of one to
/// four [`HostValue`] arguments. `Args` is a marker that tells the shapes apart.
pub trait HostFn<Args> {
    /// Parameter types and return type.
    fn signature() -> (Vec<Type>, Type);
    /// Calls it with values the checker has already typed.
    fn call(&self, args: &[Value]) -> Result<Value, String>;
}

macro_rules! host_fn {
    ($($arg:ident $index:tt),+) => {
        impl<F, R, $($arg),+> HostFn<($($arg,)+)> for F
        where
            F: Fn($($arg),+) -> R,
            R: HostReturn,
            $($arg: HostValue),+
        {
            fn signature() -> (Vec<Type>, Type) {
                (vec![$($arg::TYPE),+], R::TYPE)
            }

            fn call(&self, args: &[Value]) -> Result<Value, String> {
                let wrong = || String::from("internal error: argument of the wrong type");
                self($($arg::from_value(args.get($index).ok_or_else(wrong)?).ok_or_else(wrong)?),+).into_result()
            }
        }
    };
}

host_fn!(A 0);
host_fn!(A 0, B 1);
host_fn!(A 0, B 1, C 2);
host_fn!(A 0, B 1, C 2, D 3);
