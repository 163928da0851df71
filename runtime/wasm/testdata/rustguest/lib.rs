//! The Rust example of a WASM consumer. For each event (a structured
//! CloudEvent, JSON) it emits the Go guest's summary,
//!   {"source_id":"<id>","type":"<type>","tenant":"<tenantid>","keys":"<data's keys, sorted>","guest":"rust"}
//! with a small JSON scanner of its own, so that it builds with rustc alone
//! (no cargo, no crates) and allocates only the reused input buffer and
//! the output:
//!
//!   rustc --edition 2021 --target wasm32-unknown-unknown --crate-type cdylib -C opt-level=3 -o guest.wasm lib.rs
//!
//! ABI (docs/wasm.md): the host calls alloc(n) for a buffer, writes the event
//! there and calls handle(ptr, n); the guest calls emit(ptr, n) per output;
//! handle returns 0 on success.

#[link(wasm_import_module = "env")]
extern "C" {
    fn emit(ptr: *const u8, len: u32) -> u32;
}

/// The input buffer, reused between events.
static mut IN: Vec<u8> = Vec::new();
/// The output buffer, reused between events.
static mut OUT: Vec<u8> = Vec::new();

#[no_mangle]
pub extern "C" fn alloc(n: u32) -> *mut u8 {
    unsafe {
        IN.clear();
        IN.resize(n as usize, 0);
        IN.as_mut_ptr()
    }
}

#[no_mangle]
pub extern "C" fn handle(ptr: *const u8, n: u32) -> u32 {
    let input = unsafe { core::slice::from_raw_parts(ptr, n as usize) };
    let ev = match Event::parse(input) {
        Some(ev) => ev,
        None => return 1,
    };
    let out = unsafe { &mut OUT };
    out.clear();
    out.extend_from_slice(b"{\"source_id\":\"");
    out.extend_from_slice(ev.id);
    out.extend_from_slice(b"\",\"type\":\"");
    out.extend_from_slice(ev.typ);
    out.extend_from_slice(b"\",\"tenant\":\"");
    out.extend_from_slice(ev.tenant);
    out.extend_from_slice(b"\",\"keys\":\"");
    for (i, k) in ev.keys.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(k);
    }
    out.extend_from_slice(b"\",\"guest\":\"rust\"}");
    if unsafe { emit(out.as_ptr(), out.len() as u32) } == 0 {
        0
    } else {
        2
    }
}

/// What the summary needs of an event: its string attributes as they are
/// written (escapes left alone) and the member names of its data object.
struct Event<'a> {
    id: &'a [u8],
    typ: &'a [u8],
    tenant: &'a [u8],
    keys: Vec<&'a [u8]>,
}

impl<'a> Event<'a> {
    fn parse(b: &'a [u8]) -> Option<Event<'a>> {
        let mut s = Scanner { b, i: 0 };
        let mut ev = Event { id: b"", typ: b"", tenant: b"", keys: Vec::new() };
        s.members(|s, name| {
            match name {
                b"id" => ev.id = s.string()?,
                b"type" => ev.typ = s.string()?,
                b"tenantid" => ev.tenant = s.string()?,
                b"data" if s.peek() == Some(b'{') => {
                    let keys = &mut ev.keys;
                    s.members(|s, key| {
                        keys.push(key);
                        s.skip()
                    })?;
                }
                _ => s.skip()?,
            }
            Some(())
        })?;
        ev.keys.sort();
        Some(ev)
    }
}

/// Scanner walks one JSON document; every method returns None on
/// malformed input.
struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? != c {
            return None;
        }
        self.i += 1;
        Some(())
    }

    /// string returns a string's raw contents, between its quotes.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        while *self.b.get(self.i)? != b'"' {
            self.i += if self.b[self.i] == b'\\' { 2 } else { 1 };
        }
        self.i += 1;
        Some(&self.b[start..self.i - 1])
    }

    /// members calls f for each member of an object, with the scanner at
    /// the member's value, which f must consume.
    fn members(&mut self, mut f: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let name = self.string()?;
            self.eat(b':')?;
            f(self, name)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// skip consumes one value of any kind.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => self.members(|s, _| s.skip()),
            b'[' => {
                self.i += 1;
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.skip()?;
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            _ => {
                let start = self.i;
                while self.i < self.b.len() && !matches!(self.b[self.i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    self.i += 1;
                }
                if self.i == start {
                    None
                } else {
                    Some(())
                }
            }
        }
    }
}
