//! JSON numbers, read exactly as serde_json (without its `float_roundtrip`
//! feature) reads them, so that a value parses to the same `u64`, `i64` or
//! `f64` here as it did before: integers stay integers while they fit,
//! `-0` and integers too large for 64 bits become floats, and a float is
//! its significand scaled by a table of powers of ten.

/// A parsed number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Number {
    /// A non-negative integer that fits in 64 bits.
    Unsigned(u64),
    /// A negative integer that fits in 64 bits.
    Signed(i64),
    /// Anything else, always finite.
    Float(f64),
}

/// Why a number could not be read, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NumberError {
    pub(super) message: &'static str,
    pub(super) at: usize,
}

/// A cursor over the bytes of one number.
struct Digits<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Digits<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn digit(&mut self) -> Option<u8> {
        match self.peek() {
            Some(c @ b'0'..=b'9') => {
                self.pos += 1;
                Some(c - b'0')
            }
            _ => None,
        }
    }

    fn fail<T>(&self, message: &'static str) -> Result<T, NumberError> {
        Err(NumberError {
            message,
            at: self.pos,
        })
    }

    /// The digits of an integer part or an exponent must not be empty.
    fn invalid_or_eof<T>(&self) -> Result<T, NumberError> {
        match self.peek() {
            Some(_) => self.fail("invalid number"),
            None => self.fail("EOF while parsing a value"),
        }
    }
}

/// Whether `value * 10 + digit` would pass `max`.
fn overflows(value: u64, digit: u8, max: u64) -> bool {
    value >= max / 10 && (value > max / 10 || u64::from(digit) > max % 10)
}

/// Reads the number that starts at `start` (a `-` or a digit); the number
/// and the position after it.
pub(super) fn parse(bytes: &[u8], start: usize) -> Result<(Number, usize), NumberError> {
    let mut d = Digits { bytes, pos: start };
    let positive = d.peek() != Some(b'-');
    if !positive {
        d.pos += 1;
    }
    let number = match d.digit() {
        Some(0) => {
            if d.peek().is_some_and(|c| c.is_ascii_digit()) {
                return d.fail("invalid number");
            }
            tail(&mut d, positive, 0)?
        }
        Some(first) => {
            let mut significand = u64::from(first);
            loop {
                match d.peek() {
                    Some(c @ b'0'..=b'9') if overflows(significand, c - b'0', u64::MAX) => {
                        break Number::Float(long_integer(&mut d, positive, significand)?);
                    }
                    Some(c @ b'0'..=b'9') => {
                        d.pos += 1;
                        significand = significand * 10 + u64::from(c - b'0');
                    }
                    _ => break tail(&mut d, positive, significand)?,
                }
            }
        }
        None => return d.invalid_or_eof(),
    };
    Ok((number, d.pos))
}

/// After the integer part.
fn tail(d: &mut Digits<'_>, positive: bool, significand: u64) -> Result<Number, NumberError> {
    Ok(match d.peek() {
        Some(b'.') => Number::Float(decimal(d, positive, significand, 0)?),
        Some(b'e' | b'E') => Number::Float(exponent(d, positive, significand, 0)?),
        _ if positive => Number::Unsigned(significand),
        _ => {
            // `-0` and integers below i64::MIN are floats.
            let negated = (significand as i64).wrapping_neg();
            if negated >= 0 {
                Number::Float(-(significand as f64))
            } else {
                Number::Signed(negated)
            }
        }
    })
}

/// An integer part too long for 64 bits: the digits past them only scale it.
fn long_integer(d: &mut Digits<'_>, positive: bool, significand: u64) -> Result<f64, NumberError> {
    let mut scale = 0i32;
    while d.digit().is_some() {
        scale = scale.saturating_add(1);
    }
    match d.peek() {
        Some(b'.') => decimal(d, positive, significand, scale),
        Some(b'e' | b'E') => exponent(d, positive, significand, scale),
        _ => from_parts(d, positive, significand, scale),
    }
}

/// At the `.`.
fn decimal(
    d: &mut Digits<'_>,
    positive: bool,
    mut significand: u64,
    scale: i32,
) -> Result<f64, NumberError> {
    d.pos += 1;
    let mut fraction = 0i32;
    let mut overflowed = false;
    while let Some(c @ b'0'..=b'9') = d.peek() {
        d.pos += 1;
        if overflowed {
            continue;
        }
        if overflows(significand, c - b'0', u64::MAX) {
            // Digits that no longer fit change nothing.
            overflowed = true;
            continue;
        }
        significand = significand * 10 + u64::from(c - b'0');
        fraction -= 1;
    }
    if fraction == 0 && !overflowed {
        return d.invalid_or_eof();
    }
    let scale = scale.saturating_add(fraction);
    match d.peek() {
        Some(b'e' | b'E') => exponent(d, positive, significand, scale),
        _ => from_parts(d, positive, significand, scale),
    }
}

/// At the `e` or `E`.
fn exponent(
    d: &mut Digits<'_>,
    positive: bool,
    significand: u64,
    scale: i32,
) -> Result<f64, NumberError> {
    d.pos += 1;
    let positive_exponent = match d.peek() {
        Some(b'+') => {
            d.pos += 1;
            true
        }
        Some(b'-') => {
            d.pos += 1;
            false
        }
        _ => true,
    };
    let Some(first) = d.digit() else {
        // serde_json consumes the byte that is not a digit before it fails.
        return match d.peek() {
            Some(_) => {
                d.pos += 1;
                d.fail("invalid number")
            }
            None => d.fail("EOF while parsing a value"),
        };
    };
    let mut value = i32::from(first);
    while let Some(digit) = d.digit() {
        if overflows(value as u64, digit, i32::MAX as u64) {
            // An exponent past i32: zero or out of range, as serde_json has it.
            if significand != 0 && positive_exponent {
                return d.fail("number out of range");
            }
            while d.digit().is_some() {}
            return Ok(if positive { 0.0 } else { -0.0 });
        }
        value = value * 10 + i32::from(digit);
    }
    let scale = if positive_exponent {
        scale.saturating_add(value)
    } else {
        scale.saturating_sub(value)
    };
    from_parts(d, positive, significand, scale)
}

/// `significand × 10^scale`, the way serde_json computes it.
fn from_parts(
    d: &Digits<'_>,
    positive: bool,
    significand: u64,
    mut scale: i32,
) -> Result<f64, NumberError> {
    let mut value = significand as f64;
    loop {
        match POW10.get(scale.unsigned_abs() as usize) {
            Some(&power) => {
                if scale >= 0 {
                    value *= power;
                    if value.is_infinite() {
                        return d.fail("number out of range");
                    }
                } else {
                    value /= power;
                }
                break;
            }
            None => {
                if value == 0.0 {
                    break;
                }
                if scale >= 0 {
                    return d.fail("number out of range");
                }
                value /= 1e308;
                scale += 308;
            }
        }
    }
    Ok(if positive { value } else { -value })
}

/// Checks the grammar of a number that is skipped, not read: no value, so
/// no range either (serde_json's `ignore_value`).
pub(super) fn skip(bytes: &[u8], start: usize) -> Result<usize, NumberError> {
    let mut d = Digits { bytes, pos: start };
    if d.peek() == Some(b'-') {
        d.pos += 1;
    }
    match d.digit() {
        Some(0) => {
            if d.peek().is_some_and(|c| c.is_ascii_digit()) {
                return d.fail("invalid number");
            }
        }
        Some(_) => while d.digit().is_some() {},
        None => return d.fail("invalid number"),
    }
    if d.peek() == Some(b'.') {
        d.pos += 1;
        if d.digit().is_none() {
            return d.fail("invalid number");
        }
        while d.digit().is_some() {}
    }
    if matches!(d.peek(), Some(b'e' | b'E')) {
        d.pos += 1;
        if matches!(d.peek(), Some(b'+' | b'-')) {
            d.pos += 1;
        }
        if d.digit().is_none() {
            return d.fail("invalid number");
        }
        while d.digit().is_some() {}
    }
    Ok(d.pos)
}

/// Powers of ten as the nearest `f64`s, written as literals so that each is
/// rounded once, by the compiler.
static POW10: [f64; 309] = [
    1e000, 1e001, 1e002, 1e003, 1e004, 1e005, 1e006, 1e007, 1e008, 1e009, 1e010, 1e011, 1e012,
    1e013, 1e014, 1e015, 1e016, 1e017, 1e018, 1e019, 1e020, 1e021, 1e022, 1e023, 1e024, 1e025,
    1e026, 1e027, 1e028, 1e029, 1e030, 1e031, 1e032, 1e033, 1e034, 1e035, 1e036, 1e037, 1e038,
    1e039, 1e040, 1e041, 1e042, 1e043, 1e044, 1e045, 1e046, 1e047, 1e048, 1e049, 1e050, 1e051,
    1e052, 1e053, 1e054, 1e055, 1e056, 1e057, 1e058, 1e059, 1e060, 1e061, 1e062, 1e063, 1e064,
    1e065, 1e066, 1e067, 1e068, 1e069, 1e070, 1e071, 1e072, 1e073, 1e074, 1e075, 1e076, 1e077,
    1e078, 1e079, 1e080, 1e081, 1e082, 1e083, 1e084, 1e085, 1e086, 1e087, 1e088, 1e089, 1e090,
    1e091, 1e092, 1e093, 1e094, 1e095, 1e096, 1e097, 1e098, 1e099, 1e100, 1e101, 1e102, 1e103,
    1e104, 1e105, 1e106, 1e107, 1e108, 1e109, 1e110, 1e111, 1e112, 1e113, 1e114, 1e115, 1e116,
    1e117, 1e118, 1e119, 1e120, 1e121, 1e122, 1e123, 1e124, 1e125, 1e126, 1e127, 1e128, 1e129,
    1e130, 1e131, 1e132, 1e133, 1e134, 1e135, 1e136, 1e137, 1e138, 1e139, 1e140, 1e141, 1e142,
    1e143, 1e144, 1e145, 1e146, 1e147, 1e148, 1e149, 1e150, 1e151, 1e152, 1e153, 1e154, 1e155,
    1e156, 1e157, 1e158, 1e159, 1e160, 1e161, 1e162, 1e163, 1e164, 1e165, 1e166, 1e167, 1e168,
    1e169, 1e170, 1e171, 1e172, 1e173, 1e174, 1e175, 1e176, 1e177, 1e178, 1e179, 1e180, 1e181,
    1e182, 1e183, 1e184, 1e185, 1e186, 1e187, 1e188, 1e189, 1e190, 1e191, 1e192, 1e193, 1e194,
    1e195, 1e196, 1e197, 1e198, 1e199, 1e200, 1e201, 1e202, 1e203, 1e204, 1e205, 1e206, 1e207,
    1e208, 1e209, 1e210, 1e211, 1e212, 1e213, 1e214, 1e215, 1e216, 1e217, 1e218, 1e219, 1e220,
    1e221, 1e222, 1e223, 1e224, 1e225, 1e226, 1e227, 1e228, 1e229, 1e230, 1e231, 1e232, 1e233,
    1e234, 1e235, 1e236, 1e237, 1e238, 1e239, 1e240, 1e241, 1e242, 1e243, 1e244, 1e245, 1e246,
    1e247, 1e248, 1e249, 1e250, 1e251, 1e252, 1e253, 1e254, 1e255, 1e256, 1e257, 1e258, 1e259,
    1e260, 1e261, 1e262, 1e263, 1e264, 1e265, 1e266, 1e267, 1e268, 1e269, 1e270, 1e271, 1e272,
    1e273, 1e274, 1e275, 1e276, 1e277, 1e278, 1e279, 1e280, 1e281, 1e282, 1e283, 1e284, 1e285,
    1e286, 1e287, 1e288, 1e289, 1e290, 1e291, 1e292, 1e293, 1e294, 1e295, 1e296, 1e297, 1e298,
    1e299, 1e300, 1e301, 1e302, 1e303, 1e304, 1e305, 1e306, 1e307, 1e308,
];
