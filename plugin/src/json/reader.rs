//! A pull reader of JSON text: the caller says what it expects next (an
//! object with these fields, a string, a number) and gets it with no tree
//! in between; strings are borrowed from the text unless they hold escapes.
//!
//! It accepts and refuses what serde_json accepts and refuses for the same
//! target types (`json::tests` compares the two on generated input): the
//! grammar, a nesting limit of 128, escapes and surrogate pairs, numbers,
//! and a struct's fields (unknown ones skipped but checked, a repeated one
//! refused).
//!
//! What a struct reader calls for each field ([`Object::next_key`],
//! [`Reader::null`], [`Reader::opt_string`], [`Reader::u32`],
//! [`Reader::opt_u32`], [`Reader::skip`]) is compiled into its caller: the
//! compact text servers write is read in line, anything else by an
//! out-of-line `*_slow` function. The readers of streamed chunks need that,
//! once per field per token; everywhere else it stays small because the
//! larger parts (the scan of a string value, the error for a repeated
//! field) are out of line as well.

use super::Error;
use super::number::{self, Number};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// serde_json's nesting limit: deeper input is an error, not a stack
/// overflow. Skipped values have no limit, as in serde_json: they are
/// skipped without recursion.
const MAX_DEPTH: u8 = 128;

const EOF_VALUE: &str = "EOF while parsing a value";
const EOF_STRING: &str = "EOF while parsing a string";
const CONTROL: &str = "control character (\\u0000-\\u001F) found while parsing a string";
const LONE_SURROGATE: &str = "lone leading surrogate in hex escape";

/// What a value that is not the expected one is, for the error.
fn kind(byte: u8) -> Option<&'static str> {
    Some(match byte {
        b'"' => "a string",
        b'{' => "an object",
        b'[' => "a list",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        b'-' | b'0'..=b'9' => "a number",
        _ => return None,
    })
}

/// The offset of the first byte of `bytes` that ends a plain run of string
/// text: `"`, `\` or a control character. Eight bytes at a time: the byte
/// tests of each word are folded into one mask whose lowest set bit is
/// exact (a test can only set false bits above its first true one).
#[inline]
fn string_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let zero_byte = |word: u64| word.wrapping_sub(ONES) & !word & HIGH;
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut words {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let found = zero_byte(word ^ (ONES * u64::from(b'"')))
            | zero_byte(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word & HIGH);
        if found != 0 {
            return Some(offset + found.trailing_zeros() as usize / 8);
        }
        offset += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| offset + i)
}

/// An object being read.
#[derive(Debug)]
pub(crate) struct Object {
    first: bool,
    /// One bit per field of a struct that has been read.
    seen: u32,
}

impl Object {
    /// The next key and its colon; `None` at the end of the object.
    #[inline(always)]
    pub(crate) fn next_key<'a>(
        &mut self,
        reader: &mut Reader<'a>,
    ) -> Result<Option<Cow<'a, str>>, Error> {
        let key = reader.key(self.first);
        self.first = false;
        key
    }

    /// Notes that the field with `bit` is being read: serde's derived
    /// code refuses a field given twice.
    #[inline(always)]
    pub(crate) fn first_time(
        &mut self,
        reader: &Reader<'_>,
        bit: u32,
        key: &str,
    ) -> Result<(), Error> {
        if self.seen & bit != 0 {
            return Err(duplicate(reader, key));
        }
        self.seen |= bit;
        Ok(())
    }
}

/// The error for a field given twice: out of line, as [`Object::first_time`]
/// is compiled in for every field of every struct read.
#[cold]
#[inline(never)]
fn duplicate(reader: &Reader<'_>, key: &str) -> Error {
    reader.error(format!("duplicate field `{key}`"))
}

/// A position in JSON text.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    text: &'a str,
    pos: usize,
    /// How many more levels of nesting are allowed.
    depth: u8,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            depth: MAX_DEPTH,
        }
    }

    /// An error at the current position.
    #[cold]
    pub(crate) fn error(&self, message: impl Into<String>) -> Error {
        Error::at(self.text, self.pos, message.into())
    }

    /// Skips whitespace; the byte after it.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.pos) {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(byte);
            }
            self.pos += 1;
        }
        None
    }

    /// Only whitespace may follow the value that was read.
    pub(crate) fn finish(&mut self) -> Result<(), Error> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("trailing characters")),
        }
    }

    /// The error for a value that is not `expected`.
    #[cold]
    fn unexpected(&self, byte: Option<u8>, expected: &str) -> Error {
        match byte.map(kind) {
            None => self.error(EOF_VALUE),
            Some(None) => self.error("expected value"),
            Some(Some(found)) => self.error(format!("invalid type: {found}, expected {expected}")),
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth -= 1;
        if self.depth == 0 {
            return Err(self.error("recursion limit exceeded"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth += 1;
    }

    /// Consumes `null` if it comes next.
    #[inline(always)]
    pub(crate) fn null(&mut self) -> Result<bool, Error> {
        if self.compact_null() {
            return Ok(true);
        }
        match self.text.as_bytes().get(self.pos) {
            Some(b'n' | b' ' | b'\n' | b'\r' | b'\t') | None => self.null_slow(),
            Some(_) => Ok(false),
        }
    }

    /// Consumes `null` if it is the very next word.
    #[inline(always)]
    fn compact_null(&mut self) -> bool {
        let next = self.text.as_bytes().get(self.pos..);
        if next.and_then(<[u8]>::first_chunk) == Some(b"null") {
            self.pos += 4;
            return true;
        }
        false
    }

    #[inline(never)]
    fn null_slow(&mut self) -> Result<bool, Error> {
        if self.peek() == Some(b'n') {
            self.literal("null")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// `word` (`true`, `false`, `null`), which the next byte starts.
    fn literal(&mut self, word: &str) -> Result<(), Error> {
        let bytes = self.text.as_bytes();
        for &expected in word.as_bytes() {
            match bytes.get(self.pos) {
                None => return Err(self.error(EOF_VALUE)),
                Some(&byte) if byte == expected => self.pos += 1,
                Some(_) => return Err(self.error("expected ident")),
            }
        }
        Ok(())
    }

    /// The start of an object read as a struct (see [`crate::json::fields`]).
    pub(crate) fn begin_object(&mut self, expected: &str) -> Result<Object, Error> {
        self.open(b'{', expected)?;
        Ok(Object {
            first: true,
            seen: 0,
        })
    }

    /// An object: `member` reads the value of each key.
    pub(crate) fn object(
        &mut self,
        expected: &str,
        member: &mut dyn FnMut(&mut Self, &str) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut object = self.begin_object(expected)?;
        while let Some(key) = object.next_key(self)? {
            member(self, &key).map_err(|e| e.within(&key))?;
        }
        Ok(())
    }

    /// Consumes `bracket`, a level deeper.
    #[inline(always)]
    fn open(&mut self, bracket: u8, expected: &str) -> Result<(), Error> {
        let next = self.peek();
        if next != Some(bracket) {
            return Err(self.unexpected(next, expected));
        }
        self.pos += 1;
        self.enter()
    }

    /// The next key of an object and its colon; `None` at the object's end.
    #[inline(always)]
    fn key(&mut self, first: bool) -> Result<Option<Cow<'a, str>>, Error> {
        // Compact JSON first, the way servers write it: `"key":` or
        // `,"key":` with a key that needs no unescaping is a slice of the
        // text, and `}` ends the object. Anything else is read again from
        // the same place by the general path.
        let bytes = self.text.as_bytes();
        let quote = self.pos + usize::from(!first);
        if (first || bytes.get(self.pos) == Some(&b',')) && bytes.get(quote) == Some(&b'"') {
            let start = quote + 1;
            let end = self.plain_run(start);
            if bytes.get(end) == Some(&b'"')
                && bytes.get(end + 1) == Some(&b':')
                && let Some(key) = self.text.get(start..end)
            {
                self.pos = end + 2;
                return Ok(Some(Cow::Borrowed(key)));
            }
        } else if bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            self.leave();
            return Ok(None);
        }
        self.key_slow(first)
    }

    #[inline(never)]
    fn key_slow(&mut self, first: bool) -> Result<Option<Cow<'a, str>>, Error> {
        match self.peek() {
            Some(b'}') if first => {}
            Some(b'"') if first => {
                self.pos += 1;
                return self.key_body().map(Some);
            }
            Some(_) if first => return Err(self.error("key must be a string")),
            Some(b',') => {
                self.pos += 1;
                return match self.peek() {
                    Some(b'"') => {
                        self.pos += 1;
                        self.key_body().map(Some)
                    }
                    Some(_) => Err(self.error("key must be a string")),
                    None => Err(self.error("EOF while parsing an object")),
                };
            }
            Some(b'}') => {}
            Some(_) => return Err(self.error("expected `,` or `}`")),
            None => return Err(self.error("EOF while parsing an object")),
        }
        self.pos += 1;
        self.leave();
        Ok(None)
    }

    /// A key after its opening quote, and its colon.
    fn key_body(&mut self) -> Result<Cow<'a, str>, Error> {
        let key = self.string_body()?;
        match self.peek() {
            Some(b':') => {
                self.pos += 1;
                Ok(key)
            }
            Some(_) => Err(self.error("expected `:`")),
            None => Err(self.error("EOF while parsing an object")),
        }
    }

    /// A list: `element` reads each element.
    pub(crate) fn array(
        &mut self,
        expected: &str,
        element: &mut dyn FnMut(&mut Self) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.open(b'[', expected)?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.leave();
            return Ok(());
        }
        let mut index = 0usize;
        loop {
            element(self).map_err(|e| e.within_index(index))?;
            index += 1;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.leave();
                    return Ok(());
                }
                Some(_) => return Err(self.error("expected `,` or `]`")),
                None => return Err(self.error("EOF while parsing a list")),
            }
        }
    }

    /// Whether a string comes next.
    pub(crate) fn next_is_string(&mut self) -> bool {
        self.peek() == Some(b'"')
    }

    /// A string.
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>, Error> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.string_body()
            }
            other => Err(self.unexpected(other, "a string")),
        }
    }

    /// A string or `null`.
    #[inline(always)]
    pub(crate) fn opt_string(&mut self) -> Result<Option<Cow<'a, str>>, Error> {
        if let Some(text) = self.plain_string() {
            return Ok(Some(Cow::Borrowed(text)));
        }
        if self.compact_null() {
            return Ok(None);
        }
        self.opt_string_slow()
    }

    /// A string with no escapes and no whitespace before it, as servers
    /// write most strings: the slice of the text between its quotes.
    #[inline(always)]
    fn plain_string(&mut self) -> Option<&'a str> {
        let text = self.text;
        let bytes = text.as_bytes();
        if bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let end = self.value_run(start);
        if bytes.get(end) != Some(&b'"') {
            return None;
        }
        let string = text.get(start..end)?;
        self.pos = end + 1;
        Some(string)
    }

    #[inline(never)]
    fn opt_string_slow(&mut self) -> Result<Option<Cow<'a, str>>, Error> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.string_body().map(Some)
            }
            Some(b'n') => {
                self.literal("null")?;
                Ok(None)
            }
            other => Err(self.unexpected(other, "a string")),
        }
    }

    /// The rest of a string after its opening quote.
    fn string_body(&mut self) -> Result<Cow<'a, str>, Error> {
        let text = self.text;
        let bytes = text.as_bytes();
        let start = self.pos;
        self.pos = self.plain_run(start);
        match bytes.get(self.pos) {
            Some(b'"') => {
                self.pos += 1;
                return Ok(Cow::Borrowed(&text[start..self.pos - 1]));
            }
            Some(b'\\') => {}
            Some(_) => return Err(self.error(CONTROL)),
            None => return Err(self.error(EOF_STRING)),
        }
        let mut out = String::with_capacity(self.pos - start + 16);
        let mut run = start;
        loop {
            // At a backslash: the text before it is plain.
            out.push_str(&text[run..self.pos]);
            self.pos += 1;
            self.escape(&mut out)?;
            run = self.pos;
            self.pos = self.plain_run(run);
            match bytes.get(self.pos) {
                Some(b'"') => {
                    out.push_str(&text[run..self.pos]);
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {}
                Some(_) => return Err(self.error(CONTROL)),
                None => return Err(self.error(EOF_STRING)),
            }
        }
    }

    /// Where the plain string text that starts at `from` ends: at a
    /// quote, a backslash, a control character or the end of the text.
    #[inline]
    fn plain_run(&self, from: usize) -> usize {
        let rest = self.text.as_bytes().get(from..).unwrap_or_default();
        from + string_end(rest).unwrap_or(rest.len())
    }

    /// [`Self::plain_run`] out of line, for [`Self::plain_string`]: that is
    /// compiled into every reader of a string value or a skipped one, and
    /// the scan in each would make the component kilobytes larger, while a
    /// call per string value costs the streamed chunks nothing measurable.
    /// Keys keep the scan in line: it is the tightest loop of a chunk.
    #[inline(never)]
    fn value_run(&self, from: usize) -> usize {
        self.plain_run(from)
    }

    /// The escape after a backslash, decoded into `out`.
    fn escape(&mut self, out: &mut String) -> Result<(), Error> {
        let Some(&byte) = self.text.as_bytes().get(self.pos) else {
            return Err(self.error(EOF_STRING));
        };
        self.pos += 1;
        let decoded = match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => return Err(self.error("invalid escape")),
        };
        out.push(decoded);
        Ok(())
    }

    /// `\uXXXX`, or a surrogate pair of two: lone surrogates are errors.
    fn unicode_escape(&mut self) -> Result<char, Error> {
        let first = self.hex4()?;
        let code = match first {
            0xDC00..=0xDFFF => return Err(self.error(LONE_SURROGATE)),
            0xD800..=0xDBFF => {
                let bytes = self.text.as_bytes();
                for expected in [b'\\', b'u'] {
                    match bytes.get(self.pos) {
                        None => return Err(self.error(EOF_STRING)),
                        Some(&byte) => {
                            self.pos += 1;
                            if byte != expected {
                                return Err(self.error("unexpected end of hex escape"));
                            }
                        }
                    }
                }
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error(LONE_SURROGATE));
                }
                ((u32::from(first) - 0xD800) << 10 | (u32::from(second) - 0xDC00)) + 0x1_0000
            }
            other => u32::from(other),
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))
    }

    /// Four hex digits.
    fn hex4(&mut self) -> Result<u16, Error> {
        let bytes = self.text.as_bytes();
        let Some(digits) = bytes.get(self.pos..self.pos + 4) else {
            self.pos = bytes.len();
            return Err(self.error(EOF_STRING));
        };
        self.pos += 4;
        let mut value = 0u16;
        for &digit in digits {
            let Some(nibble) = char::from(digit).to_digit(16) else {
                return Err(self.error("invalid escape"));
            };
            value = value << 4 | nibble as u16;
        }
        Ok(value)
    }

    /// A number.
    fn number(&mut self) -> Result<Number, Error> {
        match number::parse(self.text.as_bytes(), self.pos) {
            Ok((number, end)) => {
                self.pos = end;
                Ok(number)
            }
            Err(e) => {
                self.pos = e.at;
                Err(self.error(e.message))
            }
        }
    }

    /// A whole number of at most `max`.
    fn unsigned(&mut self, max: u64) -> Result<u64, Error> {
        let next = self.peek();
        if !matches!(next, Some(b'-' | b'0'..=b'9')) {
            return Err(self.unexpected(next, "a whole number"));
        }
        match self.number()? {
            Number::Unsigned(value) if value <= max => Ok(value),
            Number::Unsigned(value) => Err(self.error(format!(
                "invalid value: {value}, expected a whole number of at most {max}"
            ))),
            Number::Signed(value) => Err(self.error(format!(
                "invalid value: {value}, expected a whole number of 0 or more"
            ))),
            Number::Float(_) => Err(self.error(
                "invalid type: a number with a fraction or an exponent, expected a whole number",
            )),
        }
    }

    /// A whole number that fits in 32 bits.
    #[inline(always)]
    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        // One digit, as in `"index":0`, is the common case.
        let bytes = self.text.as_bytes();
        if let Some(&digit @ b'0'..=b'9') = bytes.get(self.pos)
            && !matches!(
                bytes.get(self.pos + 1),
                Some(b'0'..=b'9' | b'.' | b'e' | b'E')
            )
        {
            self.pos += 1;
            return Ok(u32::from(digit - b'0'));
        }
        self.u32_slow()
    }

    #[inline(never)]
    fn u32_slow(&mut self) -> Result<u32, Error> {
        let value = self.unsigned(u64::from(u32::MAX))?;
        u32::try_from(value).map_err(|_| self.error("number out of range"))
    }

    /// A whole number that fits in 32 bits, or `null`.
    #[inline(always)]
    pub(crate) fn opt_u32(&mut self) -> Result<Option<u32>, Error> {
        if self.null()? {
            return Ok(None);
        }
        self.u32().map(Some)
    }

    /// Any value, as a tree.
    pub(crate) fn value(&mut self) -> Result<Value, Error> {
        let next = self.peek();
        Ok(match next {
            Some(b'"') => {
                self.pos += 1;
                Value::String(self.string_body()?.into_owned())
            }
            Some(b'{') => {
                let mut map = Map::new();
                self.object("an object", &mut |reader, key| {
                    let value = reader.value()?;
                    // A repeated key keeps its last value, as in serde_json.
                    map.insert(key.to_owned(), value);
                    Ok(())
                })?;
                Value::Object(map)
            }
            Some(b'[') => {
                let mut items = Vec::new();
                self.array("a list", &mut |reader| {
                    items.push(reader.value()?);
                    Ok(())
                })?;
                Value::Array(items)
            }
            Some(b't') => {
                self.literal("true")?;
                Value::Bool(true)
            }
            Some(b'f') => {
                self.literal("false")?;
                Value::Bool(false)
            }
            Some(b'n') => {
                self.literal("null")?;
                Value::Null
            }
            Some(b'-' | b'0'..=b'9') => match self.number()? {
                Number::Unsigned(value) => Value::from(value),
                Number::Signed(value) => Value::from(value),
                // Always finite: an infinite one is a range error.
                Number::Float(value) => Value::from(value),
            },
            other => return Err(self.unexpected(other, "a value")),
        })
    }

    /// Any value, checked but not kept; nesting of any depth, without
    /// recursion.
    #[inline(always)]
    pub(crate) fn skip(&mut self) -> Result<(), Error> {
        if self.compact_null() || self.plain_string().is_some() {
            return Ok(());
        }
        // A whole number, as in `"created":1795619791`.
        let bytes = self.text.as_bytes();
        if let Some(b'1'..=b'9') = bytes.get(self.pos) {
            let digits = bytes[self.pos..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if !matches!(bytes.get(self.pos + digits), Some(b'.' | b'e' | b'E')) {
                self.pos += digits;
                return Ok(());
            }
        }
        self.skip_slow()
    }

    #[inline(never)]
    fn skip_slow(&mut self) -> Result<(), Error> {
        match self.peek() {
            Some(b'{' | b'[') => self.skip_nested(),
            _ => self.skip_scalar(),
        }
    }

    /// A value that is not a list or an object.
    fn skip_scalar(&mut self) -> Result<(), Error> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.skip_string()
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => match number::skip(self.text.as_bytes(), self.pos) {
                Ok(end) => {
                    self.pos = end;
                    Ok(())
                }
                Err(e) => {
                    self.pos = e.at;
                    Err(self.error(e.message))
                }
            },
            Some(_) => Err(self.error("expected value")),
            None => Err(self.error(EOF_VALUE)),
        }
    }

    /// A list or an object, skipped level by level.
    fn skip_nested(&mut self) -> Result<(), Error> {
        // The open lists and objects, innermost last.
        let mut open: Vec<u8> = Vec::new();
        loop {
            match self.peek() {
                Some(bracket @ (b'{' | b'[')) => {
                    self.pos += 1;
                    let close = if bracket == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                    } else {
                        open.push(bracket);
                        if bracket == b'{' {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                _ => self.skip_scalar()?,
            }
            // A value ended: close what it ends, or go on to the next one.
            loop {
                let Some(&bracket) = open.last() else {
                    return Ok(());
                };
                let (close, what) = if bracket == b'{' {
                    (b'}', "an object")
                } else {
                    (b']', "a list")
                };
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if bracket == b'{' {
                            self.skip_key()?;
                        }
                        break;
                    }
                    Some(byte) if byte == close => {
                        self.pos += 1;
                        open.pop();
                    }
                    Some(_) => {
                        let close = char::from(close);
                        return Err(self.error(format!("expected `,` or `{close}`")));
                    }
                    None => return Err(self.error(format!("EOF while parsing {what}"))),
                }
            }
        }
    }

    /// A key and its colon, skipped.
    fn skip_key(&mut self) -> Result<(), Error> {
        match self.peek() {
            Some(b'"') => self.pos += 1,
            Some(_) => return Err(self.error("key must be a string")),
            None => return Err(self.error("EOF while parsing an object")),
        }
        self.skip_string()?;
        match self.peek() {
            Some(b':') => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(self.error("expected `:`")),
            None => Err(self.error("EOF while parsing an object")),
        }
    }

    /// The rest of a string that is skipped: its escapes are checked, but
    /// as in serde_json, a `\u` escape only for its four hex digits.
    fn skip_string(&mut self) -> Result<(), Error> {
        let bytes = self.text.as_bytes();
        loop {
            self.pos = self.plain_run(self.pos);
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match bytes.get(self.pos) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1;
                        }
                        Some(b'u') => {
                            self.pos += 1;
                            self.hex4()?;
                        }
                        Some(_) => {
                            self.pos += 1;
                            return Err(self.error("invalid escape"));
                        }
                        None => return Err(self.error(EOF_STRING)),
                    }
                }
                Some(_) => return Err(self.error(CONTROL)),
                None => return Err(self.error(EOF_STRING)),
            }
        }
    }
}
