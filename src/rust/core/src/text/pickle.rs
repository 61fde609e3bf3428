//! A minimal, safe reader for the pickle streams numpy writes for 1-D object arrays whose
//! elements are lists of integers: the `x_train` / `x_test` (IMDB) and `x` (Reuters) members
//! of Keras' `.npz` files.
//!
//! The stream is run on a small stack machine that only builds values (ints, strings,
//! bytes, tuples, lists, references to a few named globals); nothing is ever called. The
//! result must have the shape numpy's `ndarray.__reduce__` gives an object array:
//! `_reconstruct(ndarray, (0,), b'b')` built with `(1, (n,), dtype('O8'), False, [items])`.
//! Known globals: `numpy(._core|.core).multiarray._reconstruct` and `.scalar`,
//! `numpy.ndarray`, `numpy.dtype`, `_codecs.encode`; any other is an error that names it, as
//! is any opcode outside the protocol 0-5 binary subset numpy's arrays use.

/// A value on the stack or in a container: integers inline (the bulk of the data: one per
/// word), everything else as an index into the arena.
#[derive(Clone, Copy, Debug)]
enum Item {
    Int(i64),
    Obj(usize),
}

#[derive(Clone, Debug)]
enum Val {
    None,
    Bool(bool),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Item>),
    List(Vec<Item>),
    Global(String, String),
    Reduce(Item, Item),
    Built(Box<Val>, Item),
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    arena: Vec<Val>,
    /// `None` is a MARK.
    stack: Vec<Option<Item>>,
    memo: std::collections::HashMap<u64, Item>,
}

const KNOWN_GLOBALS: [(&str, &str); 7] = [
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
];

impl<'a> Machine<'a> {
    fn err<T>(&self, msg: impl std::fmt::Display) -> Result<T, String> {
        Err(format!("pickle stream, byte {}: {msg}", self.pos))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.data.len() - self.pos < n {
            return self.err("the stream ends early (truncated file?)");
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64, String> {
        let b = self.take(n)?;
        Ok(b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64))
    }

    fn len(&mut self, n: usize) -> Result<usize, String> {
        let l = self.uint(n)?;
        if l > (self.data.len() - self.pos) as u64 {
            return self.err(format!("a length of {l} bytes runs past the end of the stream"));
        }
        Ok(l as usize)
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.pos..];
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return self.err("unterminated GLOBAL name");
        };
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.pos += end + 1;
        Ok(s)
    }

    fn push(&mut self, v: Val) {
        self.arena.push(v);
        self.stack.push(Some(Item::Obj(self.arena.len() - 1)));
    }

    fn push_int(&mut self, v: i64) {
        self.stack.push(Some(Item::Int(v)));
    }

    fn pop(&mut self) -> Result<Item, String> {
        match self.stack.pop() {
            Some(Some(id)) => Ok(id),
            Some(None) => self.err("unexpected MARK on the stack"),
            None => self.err("the stack is empty"),
        }
    }

    fn top(&self) -> Result<Item, String> {
        match self.stack.last() {
            Some(Some(id)) => Ok(*id),
            _ => self.err("expected a value on the stack"),
        }
    }

    fn top_obj(&self) -> Result<usize, String> {
        match self.top()? {
            Item::Obj(id) => Ok(id),
            Item::Int(_) => self.err("expected an object on the stack, found an integer"),
        }
    }

    fn obj(&self, it: Item) -> Result<&Val, String> {
        match it {
            Item::Obj(id) => Ok(&self.arena[id]),
            Item::Int(_) => self.err("expected an object, found an integer"),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<Item>, String> {
        let Some(m) = self.stack.iter().rposition(|s| s.is_none()) else {
            return self.err("no MARK on the stack");
        };
        // everything after the mark is a value (the mark is the last one)
        let items = self.stack.drain(m..).skip(1).flatten().collect();
        Ok(items)
    }

    fn global(&mut self, module: String, name: String) -> Result<(), String> {
        if !KNOWN_GLOBALS.iter().any(|(m, n)| *m == module && *n == name) {
            return self.err(format!(
                "refusing the global `{module}.{name}`: only numpy object arrays of integer lists are read"
            ));
        }
        self.push(Val::Global(module, name));
        Ok(())
    }

    fn memo_put(&mut self, key: u64) -> Result<(), String> {
        let id = self.top()?;
        self.memo.insert(key, id);
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), String> {
        match self.memo.get(&key) {
            Some(&id) => {
                self.stack.push(Some(id));
                Ok(())
            }
            None => self.err(format!("memo entry {key} is not defined")),
        }
    }

    fn append(&mut self, list: usize, items: Vec<Item>) -> Result<(), String> {
        match &mut self.arena[list] {
            Val::List(v) => {
                v.extend(items);
                Ok(())
            }
            _ => self.err("APPEND(S) to something that is not a list"),
        }
    }

    fn run(&mut self) -> Result<Item, String> {
        loop {
            let op = self.take(1)?[0];
            match op {
                0x80 => {
                    let proto = self.uint(1)?;
                    if proto > 5 {
                        return self.err(format!("unsupported pickle protocol {proto}"));
                    }
                }
                0x95 => {
                    self.uint(8)?; // FRAME: a length hint
                }
                b'.' => return self.pop(),
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.global(module, name)?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (self.obj(module)?, self.obj(name)?) {
                        (Val::Str(m), Val::Str(n)) => {
                            let (m, n) = (m.clone(), n.clone());
                            self.global(m, n)?;
                        }
                        _ => return self.err("STACK_GLOBAL needs two strings"),
                    }
                }
                b'q' => {
                    let k = self.uint(1)?;
                    self.memo_put(k)?;
                }
                b'r' => {
                    let k = self.uint(4)?;
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = self.memo.len() as u64;
                    self.memo_put(k)?;
                }
                b'h' => {
                    let k = self.uint(1)?;
                    self.memo_get(k)?;
                }
                b'j' => {
                    let k = self.uint(4)?;
                    self.memo_get(k)?;
                }
                b'K' => {
                    let v = self.uint(1)? as i64;
                    self.push_int(v);
                }
                b'M' => {
                    let v = self.uint(2)? as i64;
                    self.push_int(v);
                }
                b'J' => {
                    let v = self.uint(4)? as u32 as i32 as i64;
                    self.push_int(v);
                }
                0x8a => {
                    let n = self.uint(1)? as usize;
                    if n > 8 {
                        return self.err(format!("an integer of {n} bytes does not fit in 64 bits"));
                    }
                    let b = self.take(n)?;
                    let mut v: i64 = 0;
                    for (i, &x) in b.iter().enumerate() {
                        v |= (x as i64) << (8 * i);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n); // two's complement of n bytes
                    }
                    self.push_int(v);
                }
                b'N' => self.push(Val::None),
                0x88 => self.push(Val::Bool(true)),
                0x89 => self.push(Val::Bool(false)),
                b'X' | 0x8c | 0x8d => {
                    let n = match op {
                        b'X' => self.len(4)?,
                        0x8c => self.len(1)?,
                        _ => self.len(8)?,
                    };
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.push(Val::Str(s));
                }
                b'T' | b'U' => {
                    // Python 2 str: text for our purposes (dtype codes, 'b'); bytes when encoded
                    let n = if op == b'T' { self.len(4)? } else { self.len(1)? };
                    let s: String = self.take(n)?.iter().map(|&b| b as char).collect();
                    self.push(Val::Str(s));
                }
                b'C' | b'B' | 0x8e => {
                    let n = match op {
                        b'C' => self.len(1)?,
                        b'B' => self.len(4)?,
                        _ => self.len(8)?,
                    };
                    let b = self.take(n)?.to_vec();
                    self.push(Val::Bytes(b));
                }
                b'(' => self.stack.push(None),
                b')' => self.push(Val::Tuple(Vec::new())),
                0x85 => {
                    let a = self.pop()?;
                    self.push(Val::Tuple(vec![a]));
                }
                0x86 => {
                    let b = self.pop()?;
                    let a = self.pop()?;
                    self.push(Val::Tuple(vec![a, b]));
                }
                0x87 => {
                    let c = self.pop()?;
                    let b = self.pop()?;
                    let a = self.pop()?;
                    self.push(Val::Tuple(vec![a, b, c]));
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Val::Tuple(items));
                }
                b']' => self.push(Val::List(Vec::new())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Val::List(items));
                }
                b'a' => {
                    let item = self.pop()?;
                    let list = self.top_obj()?;
                    self.append(list, vec![item])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let list = self.top_obj()?;
                    self.append(list, items)?;
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let v = self.reduce(f, args)?;
                    self.push(v);
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.top_obj()?;
                    let old = std::mem::replace(&mut self.arena[obj], Val::None);
                    self.arena[obj] = Val::Built(Box::new(old), state);
                }
                _ => {
                    return self.err(format!(
                        "unsupported pickle opcode 0x{op:02x} (only numpy object arrays of integer lists are read)"
                    ))
                }
            }
        }
    }

    /// REDUCE: `_codecs.encode(s, 'latin1')` becomes bytes; everything else stays symbolic.
    fn reduce(&self, f: Item, args: Item) -> Result<Val, String> {
        if let (Ok(Val::Global(m, n)), Ok(Val::Tuple(a))) = (self.obj(f), self.obj(args)) {
            if m == "_codecs" && n == "encode" {
                return match a.first().map(|&i| self.obj(i)) {
                    Some(Ok(Val::Str(s))) => Ok(Val::Bytes(s.chars().map(|c| c as u32 as u8).collect())),
                    _ => self.err("_codecs.encode without a string"),
                };
            }
            return Ok(Val::Reduce(f, args));
        }
        self.err("REDUCE needs a known global and a tuple of arguments")
    }
}

fn val(arena: &[Val], it: Item) -> Option<&Val> {
    match it {
        Item::Obj(id) => Some(&arena[id]),
        Item::Int(_) => None,
    }
}

fn global_is(arena: &[Val], it: Item, name: &str) -> bool {
    matches!(val(arena, it), Some(Val::Global(m, n)) if n == name && (m == "numpy" || m.ends_with(".multiarray")))
}

/// `(callable, args, build state)` of a reduced value (possibly built).
fn reduced(arena: &[Val], it: Item) -> Option<(Item, &[Item], Option<Item>)> {
    let (v, state) = match val(arena, it)? {
        Val::Built(v, s) => (v.as_ref(), Some(*s)),
        v => (v, None),
    };
    match v {
        Val::Reduce(f, a) => match val(arena, *a)? {
            Val::Tuple(args) => Some((*f, args.as_slice(), state)),
            _ => None,
        },
        _ => None,
    }
}

/// The dtype code (`"O8"`, `"i8"`, ...) and byte order of a pickled `numpy.dtype`.
fn dtype_code(arena: &[Val], it: Item) -> Option<(String, bool)> {
    let (f, args, state) = reduced(arena, it)?;
    if !global_is(arena, f, "dtype") {
        return None;
    }
    let code = match val(arena, *args.first()?)? {
        Val::Str(s) => s.clone(),
        _ => return None,
    };
    let mut big = false;
    if let Some(Val::Tuple(t)) = state.and_then(|s| val(arena, s)) {
        if let Some(Val::Str(order)) = t.get(1).and_then(|&i| val(arena, i)) {
            big = order == ">";
        }
    }
    Some((code, big))
}

fn int_of(arena: &[Val], it: Item) -> Result<i64, String> {
    match it {
        Item::Int(v) => return Ok(v),
        Item::Obj(id) => {
            if let Val::Bool(b) = &arena[id] {
                return Ok(*b as i64);
            }
        }
    }
    // a numpy integer scalar: scalar(dtype('i8'), b'...')
    if let Some((f, args, _)) = reduced(arena, it) {
        if global_is(arena, f, "scalar") && args.len() == 2 {
            if let (Some((code, big)), Some(Val::Bytes(b))) = (dtype_code(arena, args[0]), val(arena, args[1])) {
                let signed = code.starts_with('i');
                let width: usize = code[1..].parse().unwrap_or(0);
                if (signed || code.starts_with('u')) && matches!(width, 1 | 2 | 4 | 8) && b.len() == width {
                    let mut bytes = b.clone();
                    if big {
                        bytes.reverse();
                    }
                    let mut v: u64 = 0;
                    for (i, &x) in bytes.iter().enumerate() {
                        v |= (x as u64) << (8 * i);
                    }
                    let shift = 64 - 8 * width as u32;
                    return Ok(if signed { ((v << shift) as i64) >> shift } else { v as i64 });
                }
            }
        }
    }
    Err("an element of a sequence is not an integer".into())
}

/// Reads the pickle stream of a numpy 1-D object array of integer lists (what follows the
/// header of an object `.npy` file) into one vector per element.
pub fn read_object_int_lists(stream: &[u8]) -> Result<Vec<Vec<i64>>, String> {
    let mut m = Machine { data: stream, pos: 0, arena: Vec::new(), stack: Vec::new(), memo: Default::default() };
    let root = m.run()?;
    let arena = &m.arena;
    let shape_err = || "the pickle does not hold a numpy object array".to_string();
    let (f, _, state) = reduced(arena, root).ok_or_else(shape_err)?;
    if !global_is(arena, f, "_reconstruct") {
        return Err(shape_err());
    }
    let state = match state.and_then(|s| val(arena, s)) {
        Some(Val::Tuple(t)) if t.len() == 5 => t.clone(),
        _ => return Err(shape_err()),
    };
    let shape: Vec<i64> = match val(arena, state[1]) {
        Some(Val::Tuple(dims)) => dims.iter().map(|&d| int_of(arena, d)).collect::<Result<_, _>>()?,
        _ => return Err(shape_err()),
    };
    match dtype_code(arena, state[2]) {
        Some((code, _)) if code.starts_with('O') => {}
        Some((code, _)) => return Err(format!("the array has dtype '{code}', not an object array")),
        None => return Err(shape_err()),
    }
    if shape.len() != 1 {
        return Err(format!("the object array has {} dimensions, expected 1", shape.len()));
    }
    let items = match val(arena, state[4]) {
        Some(Val::List(items)) => items,
        _ => return Err(shape_err()),
    };
    if items.len() as i64 != shape[0] {
        return Err(format!("the object array claims {} elements but holds {}", shape[0], items.len()));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, &it)| match val(arena, it) {
            Some(Val::List(xs)) | Some(Val::Tuple(xs)) => {
                xs.iter().map(|&x| int_of(arena, x).map_err(|e| format!("element {}: {e}", i + 1))).collect()
            }
            _ => Err(format!("element {} of the object array is not a list of integers", i + 1)),
        })
        .collect()
}

/// Reads an object `.npy` file (all of it: magic, header, pickle) into one vector per element.
pub fn read_npy_object_int_lists(bytes: &[u8]) -> Result<Vec<Vec<i64>>, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file".into());
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    if bytes.len() < start + hlen {
        return Err("the .npy header is truncated".into());
    }
    let header = String::from_utf8_lossy(&bytes[start..start + hlen]);
    if !header.contains("'descr': '|O'") {
        return Err(format!("not an object array (header {})", header.trim()));
    }
    read_object_int_lists(&bytes[start + hlen..])
}
