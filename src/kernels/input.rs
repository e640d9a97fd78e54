//! What a kernel receives: the JS value the binding read (a [`Value`]) and the named params
//! its [`InputKind`] declares (the [`Fields`]), read by name through typed getters that check
//! the declared type and bounds.

use super::KernelError;

/// A plain input value, or a record's `data`. Strings and binary are borrowed from the job that
/// owns them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Number(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> Value<'a> {
    /// The bytes of a binary value, or of a string as UTF-8.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            Value::Str(s) => Some(s.as_bytes()),
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// How the binding reads a kernel's JS input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// `null`, a boolean, a number, a string or binary.
    Any,
    Number,
    /// Anything; ignored.
    Ignored,
    /// Binary (`Buffer`, `TypedArray`, `DataView`, `ArrayBuffer`) or a string (read as UTF-8),
    /// or an object `{ data, ...params }` whose `data` is binary or a string. Only the declared
    /// params are read; other properties are ignored.
    Data(&'static [Param]),
    /// An object whose declared params (no `data`) are read; other properties are ignored.
    Object(&'static [Param]),
}

impl InputKind {
    /// The declared params (none for plain kinds).
    pub fn params(self) -> &'static [Param] {
        match self {
            InputKind::Data(p) | InputKind::Object(p) => p,
            _ => &[],
        }
    }
}

/// One declared param: its property name and what it must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub ty: Ty,
}

/// The type and bounds of a param, checked by the [`Fields`] getter of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// A string (as UTF-8) or binary ([`Fields::bytes`]); `optional`: may be absent
    /// ([`Fields::opt_bytes`]).
    Bytes { optional: bool },
    /// A string ([`Fields::str`]); `optional`: may be absent ([`Fields::opt_str`]).
    Str { optional: bool },
    /// An integer in `min..=max` ([`Fields::int`]); absent gives `default`, or a TypeError when
    /// there is none.
    Int {
        min: u64,
        max: u64,
        default: Option<u64>,
    },
    /// A boolean ([`Fields::bool`]); absent gives `default`.
    Bool { default: bool },
    /// A plain object whose own declared params are read the same way ([`Fields::object`]);
    /// it may be absent.
    Object(&'static [Param]),
    /// Checked by the kernel itself ([`Fields::raw`]).
    Raw,
}

impl Param {
    pub const fn bytes(name: &'static str) -> Self {
        Self {
            name,
            ty: Ty::Bytes { optional: false },
        }
    }
    pub const fn opt_bytes(name: &'static str) -> Self {
        Self {
            name,
            ty: Ty::Bytes { optional: true },
        }
    }
    pub const fn str(name: &'static str) -> Self {
        Self {
            name,
            ty: Ty::Str { optional: false },
        }
    }
    pub const fn opt_str(name: &'static str) -> Self {
        Self {
            name,
            ty: Ty::Str { optional: true },
        }
    }
    pub const fn int(name: &'static str, min: u64, max: u64, default: Option<u64>) -> Self {
        Self {
            name,
            ty: Ty::Int { min, max, default },
        }
    }
    pub const fn bool(name: &'static str, default: bool) -> Self {
        Self {
            name,
            ty: Ty::Bool { default },
        }
    }
    pub const fn object(name: &'static str, params: &'static [Param]) -> Self {
        Self {
            name,
            ty: Ty::Object(params),
        }
    }
    pub const fn raw(name: &'static str) -> Self {
        Self { name, ty: Ty::Raw }
    }
}

/// One param as the binding read it (copied out of JS).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Field {
    /// Absent or `undefined`.
    #[default]
    Missing,
    Number(f64),
    Bool(bool),
    BigInt(BigInt),
    Str(String),
    Bytes(Vec<u8>),
    /// A plain object, for a param declared as [`Ty::Object`]: its own declared params.
    Object(Fields),
    /// Any other value, by its `typeof` name (`"null"` for null), for error messages.
    Other(&'static str),
}

impl Field {
    /// The JS type name, for "Received type …" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Field::Missing => "undefined",
            Field::Number(_) => "number",
            Field::Bool(_) => "boolean",
            Field::BigInt(_) => "bigint",
            Field::Str(_) => "string",
            Field::Bytes(_) | Field::Object(_) => "object",
            Field::Other(t) => t,
        }
    }

    /// How a wrong value is described after "Received".
    pub fn received(&self) -> String {
        match self {
            Field::Missing => "undefined".into(),
            Field::Other("null") => "null".into(),
            f => format!("type {}", f.type_name()),
        }
    }

    fn byte_len(&self) -> usize {
        match self {
            Field::Str(s) => s.len(),
            Field::Bytes(b) => b.len(),
            Field::Object(f) => f.byte_len(),
            _ => 0,
        }
    }
}

/// A JS bigint's sign and magnitude; `magnitude` is `None` when it needs more than 128 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BigInt {
    pub negative: bool,
    pub magnitude: Option<u128>,
}

/// The declared params of one input, in declaration order. Each getter takes its field out
/// (strings and bytes move into the kernel's arguments without a copy) and checks it against
/// its declaration. Asking for a name the kernel did not declare, or with the getter of
/// another type, is a bug and panics.
#[derive(Clone, Debug, PartialEq)]
pub struct Fields {
    spec: &'static [Param],
    values: Vec<Field>,
    /// For the params of an object param: its name, so errors say `input.resize.width`.
    parent: Option<&'static str>,
}

impl Fields {
    /// `values` in the order of `spec` (missing trailing ones count as absent).
    pub fn new(spec: &'static [Param], values: Vec<Field>) -> Self {
        debug_assert!(values.len() <= spec.len());
        Self {
            spec,
            values,
            parent: None,
        }
    }

    /// The params of the object param `parent` (declared as `Param::object(parent, spec)`).
    pub fn nested(parent: &'static str, spec: &'static [Param], values: Vec<Field>) -> Self {
        Self {
            parent: Some(parent),
            ..Self::new(spec, values)
        }
    }

    /// All params absent (a plain value input).
    pub fn absent(spec: &'static [Param]) -> Self {
        Self::new(spec, Vec::new())
    }

    /// Bytes of string and binary params (for the pool's `maxInputBytes`).
    pub fn byte_len(&self) -> usize {
        self.values.iter().map(Field::byte_len).sum()
    }

    /// The name errors use: `name`, or `parent.name`.
    fn path(&self, name: &str) -> String {
        match self.parent {
            Some(p) => format!("{p}.{name}"),
            None => name.to_owned(),
        }
    }

    fn take(&mut self, name: &str, want: fn(Ty) -> bool) -> (Ty, Field) {
        let i = self
            .spec
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_else(|| panic!("param {name:?} is not declared"));
        let ty = self.spec[i].ty;
        assert!(want(ty), "param {name:?} is declared as {ty:?}");
        let v = self
            .values
            .get_mut(i)
            .map_or(Field::Missing, std::mem::take);
        (ty, v)
    }

    /// A string or binary param, as bytes.
    pub fn bytes(&mut self, name: &str) -> Result<Vec<u8>, KernelError> {
        let (_, v) = self.take(name, |t| t == Ty::Bytes { optional: false });
        bytes_of(&self.path(name), v)
    }

    /// An optional string or binary param.
    pub fn opt_bytes(&mut self, name: &str) -> Result<Option<Vec<u8>>, KernelError> {
        match self.take(name, |t| t == Ty::Bytes { optional: true }) {
            (_, Field::Missing) => Ok(None),
            (_, v) => bytes_of(&self.path(name), v).map(Some),
        }
    }

    /// A string param.
    pub fn str(&mut self, name: &str) -> Result<String, KernelError> {
        let (_, v) = self.take(name, |t| t == Ty::Str { optional: false });
        str_of(&self.path(name), v)
    }

    /// An optional string param.
    pub fn opt_str(&mut self, name: &str) -> Result<Option<String>, KernelError> {
        match self.take(name, |t| t == Ty::Str { optional: true }) {
            (_, Field::Missing) => Ok(None),
            (_, v) => str_of(&self.path(name), v).map(Some),
        }
    }

    /// An integer param within its declared bounds.
    pub fn int(&mut self, name: &str) -> Result<u64, KernelError> {
        let (ty, v) = self.take(name, |t| matches!(t, Ty::Int { .. }));
        let Ty::Int { min, max, default } = ty else {
            unreachable!("checked by take")
        };
        let n = match (v, default) {
            (Field::Missing, Some(d)) => return Ok(d),
            (Field::Number(n), _) => n,
            (v, _) => {
                return Err(KernelError::invalid_type(format!(
                    "The \"input.{}\" property must be of type number. Received {}",
                    self.path(name),
                    v.received()
                )))
            }
        };
        if !n.is_finite() || n.fract() != 0.0 {
            return Err(KernelError::out_of_range(format!(
                "The value of \"input.{}\" is out of range. It must be an integer. Received {n}",
                self.path(name)
            )));
        }
        check_range(&self.path(name), n, min, max)?;
        Ok(n as u64)
    }

    /// A boolean param.
    pub fn bool(&mut self, name: &str) -> Result<bool, KernelError> {
        let (ty, v) = self.take(name, |t| matches!(t, Ty::Bool { .. }));
        let Ty::Bool { default } = ty else {
            unreachable!("checked by take")
        };
        match v {
            Field::Missing => Ok(default),
            Field::Bool(b) => Ok(b),
            v => Err(KernelError::invalid_type(format!(
                "The \"input.{}\" property must be of type boolean. Received {}",
                self.path(name),
                v.received()
            ))),
        }
    }

    /// An object param's own params, or `None` when it is absent.
    pub fn object(&mut self, name: &str) -> Result<Option<Fields>, KernelError> {
        match self.take(name, |t| matches!(t, Ty::Object(_))) {
            (_, Field::Missing) => Ok(None),
            (_, Field::Object(f)) => Ok(Some(f)),
            (_, v) => Err(KernelError::invalid_type(format!(
                "The \"input.{}\" property must be of type object. Received {}",
                self.path(name),
                v.received()
            ))),
        }
    }

    /// A param the kernel checks itself.
    pub fn raw(&mut self, name: &str) -> Field {
        self.take(name, |t| t == Ty::Raw).1
    }
}

/// The error for an integer param outside `min..=max` (also used where a bound depends on
/// another param).
pub fn check_range(name: &str, n: f64, min: u64, max: u64) -> Result<(), KernelError> {
    if n < min as f64 || n > max as f64 {
        return Err(KernelError::out_of_range(format!(
            "The value of \"input.{name}\" is out of range. It must be >= {min} && <= {max}. \
             Received {n}"
        )));
    }
    Ok(())
}

fn bytes_of(name: &str, v: Field) -> Result<Vec<u8>, KernelError> {
    match v {
        Field::Str(s) => Ok(s.into_bytes()),
        Field::Bytes(b) => Ok(b),
        v => Err(KernelError::invalid_type(format!(
            "The \"input.{name}\" property must be of type string or an instance of Buffer, \
             TypedArray, DataView or ArrayBuffer. Received {}",
            v.received()
        ))),
    }
}

fn str_of(name: &str, v: Field) -> Result<String, KernelError> {
    match v {
        Field::Str(s) => Ok(s),
        v => Err(KernelError::invalid_type(format!(
            "The \"input.{name}\" property must be of type string. Received {}",
            v.received()
        ))),
    }
}

/// Kernel params a pool sets for all its tasks (`new WorkerPool({ ... })`); a task's own
/// param of the same name overrides them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolParams {
    /// The images' `limitInputPixels`; `u64::MAX` for no limit.
    pub limit_input_pixels: u64,
}

impl Default for PoolParams {
    fn default() -> Self {
        Self {
            limit_input_pixels: super::image::DEFAULT_LIMIT_INPUT_PIXELS,
        }
    }
}

/// What `prepare` receives: the value (a plain input, or a record's `data`; `Null` for
/// [`InputKind::Object`]), the declared params and the pool's own.
#[derive(Debug)]
pub struct Input<'a> {
    pub value: Value<'a>,
    pub fields: Fields,
    pub pool: PoolParams,
}

impl<'a> Input<'a> {
    /// A plain value for a kernel of input kind `kind`: its params absent.
    pub fn plain(kind: InputKind, value: Value<'a>) -> Self {
        Self {
            value,
            fields: Fields::absent(kind.params()),
            pool: PoolParams::default(),
        }
    }

    /// A record `{ data, ...params }` (or an object with `data` Null) for tests and direct calls;
    /// a name given twice takes its last value.
    pub fn record(value: Value<'a>, spec: &'static [Param], given: &[(&str, Field)]) -> Self {
        Self {
            value,
            fields: Fields::new(spec, pick(spec, given)),
            pool: PoolParams::default(),
        }
    }

    /// The same input under a pool's params.
    pub fn in_pool(self, pool: PoolParams) -> Self {
        Self { pool, ..self }
    }
}

impl Field {
    /// The value of the object param `parent` (declared with `spec`) from named fields, for
    /// tests and direct calls.
    pub fn object(parent: &'static str, spec: &'static [Param], given: &[(&str, Field)]) -> Self {
        Field::Object(Fields::nested(parent, spec, pick(spec, given)))
    }
}

/// The fields of `spec` in its order, from (name, value) pairs.
fn pick(spec: &'static [Param], given: &[(&str, Field)]) -> Vec<Field> {
    spec.iter()
        .map(|p| {
            given
                .iter()
                .rev()
                .find(|(n, _)| *n == p.name)
                .map_or(Field::Missing, |(_, f)| f.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[Param] = &[
        Param::bytes("password"),
        Param::int("cost", 4, 31, Some(12)),
        Param::opt_str("type"),
        Param::raw("seed"),
    ];

    #[test]
    fn getters_read_by_name_and_check_the_declaration() {
        let mut f = Input::record(
            Value::Null,
            SPEC,
            &[
                ("cost", Field::Number(5.0)),
                ("password", Field::Str("pw".into())),
            ],
        )
        .fields;
        assert_eq!(f.byte_len(), 2);
        assert_eq!(f.int("cost"), Ok(5));
        assert_eq!(f.bytes("password"), Ok(b"pw".to_vec()));
        assert_eq!(f.opt_str("type"), Ok(None));
        assert_eq!(f.raw("seed"), Field::Missing);
    }

    #[test]
    fn defaults_bounds_and_types() {
        let mut f = Fields::absent(SPEC);
        assert_eq!(f.int("cost"), Ok(12));
        assert_eq!(
            f.bytes("password").unwrap_err().code,
            "ERR_INVALID_ARG_TYPE"
        );
        let mut f = Fields::new(SPEC, vec![Field::Missing, Field::Number(3.0)]);
        let e = f.int("cost").unwrap_err();
        assert_eq!(e.code, "ERR_OUT_OF_RANGE");
        assert!(e.message.contains(">= 4 && <= 31"), "{}", e.message);
        let mut f = Fields::new(SPEC, vec![Field::Missing, Field::Number(4.5)]);
        assert_eq!(f.int("cost").unwrap_err().code, "ERR_OUT_OF_RANGE");
        let mut f = Fields::new(SPEC, vec![Field::Other("null"), Field::Str("x".into())]);
        let e = f.bytes("password").unwrap_err();
        assert!(e.message.ends_with("Received null"), "{}", e.message);
        assert_eq!(f.int("cost").unwrap_err().code, "ERR_INVALID_ARG_TYPE");
    }

    #[test]
    fn booleans_and_objects() {
        const INNER: &[Param] = &[Param::int("width", 1, 9, None), Param::bool("flag", true)];
        const OUTER: &[Param] = &[Param::object("resize", INNER), Param::bool("on", false)];
        let mut f = Fields::absent(OUTER);
        assert_eq!(f.object("resize"), Ok(None));
        assert_eq!(f.bool("on"), Ok(false));
        let mut f = Input::record(
            Value::Null,
            OUTER,
            &[
                (
                    "resize",
                    Field::object("resize", INNER, &[("width", Field::Number(10.0))]),
                ),
                ("on", Field::Bool(true)),
            ],
        )
        .fields;
        assert_eq!(f.bool("on"), Ok(true));
        let mut inner = f.object("resize").unwrap().unwrap();
        assert_eq!(inner.bool("flag"), Ok(true));
        let e = inner.int("width").unwrap_err();
        assert!(
            e.message.contains("\"input.resize.width\""),
            "{}",
            e.message
        );
        let mut f = Input::record(
            Value::Null,
            OUTER,
            &[
                ("resize", Field::Number(1.0)),
                ("on", Field::Str("yes".into())),
            ],
        )
        .fields;
        let e = f.object("resize").unwrap_err();
        assert_eq!(e.code, "ERR_INVALID_ARG_TYPE");
        assert!(e.message.ends_with("Received type number"), "{}", e.message);
        assert_eq!(f.bool("on").unwrap_err().code, "ERR_INVALID_ARG_TYPE");
    }

    #[test]
    #[should_panic(expected = "not declared")]
    fn an_undeclared_name_is_a_bug() {
        let _ = Fields::absent(SPEC).int("costs");
    }

    #[test]
    #[should_panic(expected = "declared as")]
    fn the_wrong_getter_is_a_bug() {
        let _ = Fields::absent(SPEC).str("cost");
    }
}
