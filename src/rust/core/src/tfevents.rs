//! TensorBoard event files (TFRecord framing + hand-encoded protobuf), std only.
//!
//! Writing reproduces the byte layout of Keras 3 / TF2 (`keras.callbacks.TensorBoard`):
//! rank-0 `DT_FLOAT` tensor scalars (plugin `scalars`), `[k,3]` `DT_DOUBLE` histograms
//! (plugin `histograms`) and the `keras` model-config tag (plugin `graph_keras_model`).
//! Reading collects every scalar below a log directory (TF2 tensor scalars and legacy
//! `simple_value`), verifying both CRCs of every record.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

// ---- CRC-32C and TFRecord framing ---------------------------------------------------------

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = (c >> 1) ^ (0x82F6_3B78 & (c & 1).wrapping_neg());
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32C (Castagnoli, reflected polynomial `0x82F63B78`), table driven.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc = CRC_TABLE[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc ^ 0xFFFF_FFFF
}

/// TFRecord-masked CRC-32C: `rotate_right(crc, 15) + 0xA282EAD8` (mod 2^32).
pub fn masked_crc32c(data: &[u8]) -> u32 {
    crc32c(data).rotate_right(15).wrapping_add(0xA282_EAD8)
}

/// One TFRecord: u64 LE length, masked CRC of those 8 bytes, data, masked CRC of the data.
fn frame_record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

// ---- Protobuf encoding (field numbers from tensorboard/compat/proto/*.proto) ---------------

const DT_FLOAT: u64 = 1;
const DT_DOUBLE: u64 = 2;
const DT_INT32: u64 = 3;
const DT_STRING: u64 = 7;
const DT_INT64: u64 = 9;

/// Number of histogram buckets Keras/TensorBoard use by default.
pub const HISTOGRAM_BUCKETS: usize = 30;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Field key: `(field << 3) | wire_type`.
fn put_key(out: &mut Vec<u8>, field: u64, wire: u64) {
    put_varint(out, (field << 3) | wire);
}

/// Varint field (wire type 0); negative int64 values are passed as their u64 bit pattern.
fn put_uint(out: &mut Vec<u8>, field: u64, v: u64) {
    put_key(out, field, 0);
    put_varint(out, v);
}

/// Length-delimited field (wire type 2): bytes, string or embedded message, even if empty.
fn put_bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
    put_key(out, field, 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// `TensorProto{dtype, tensor_shape{dim{size}...}}` plus one length-delimited payload field
/// (4 = `tensor_content`, 8 = `string_val`).
fn tensor_proto(dtype: u64, dims: &[u64], payload_field: u64, payload: &[u8]) -> Vec<u8> {
    let mut shape = Vec::new();
    for &d in dims {
        let mut dim = Vec::new();
        put_uint(&mut dim, 1, d);
        put_bytes(&mut shape, 2, &dim);
    }
    let mut t = Vec::new();
    put_uint(&mut t, 1, dtype);
    put_bytes(&mut t, 2, &shape);
    put_bytes(&mut t, payload_field, payload);
    t
}

/// `Summary.Value{tag, tensor, metadata{plugin_data{plugin_name, content?}}}` in TF's order.
fn tensor_value(tag: &str, tensor: &[u8], plugin: &str, content: &[u8]) -> Vec<u8> {
    let mut plugin_data = Vec::new();
    put_bytes(&mut plugin_data, 1, plugin.as_bytes());
    if !content.is_empty() {
        put_bytes(&mut plugin_data, 2, content);
    }
    let mut metadata = Vec::new();
    put_bytes(&mut metadata, 1, &plugin_data);
    let mut v = Vec::new();
    put_bytes(&mut v, 1, tag.as_bytes());
    put_bytes(&mut v, 8, tensor);
    put_bytes(&mut v, 9, &metadata);
    v
}

/// `Event{wall_time, step (omitted when 0, as proto3 does), summary{value}}`.
fn summary_event(wall_time: f64, step: i64, value: &[u8]) -> Vec<u8> {
    let mut summary = Vec::new();
    put_bytes(&mut summary, 1, value);
    let mut ev = Vec::new();
    put_key(&mut ev, 1, 1);
    ev.extend_from_slice(&wall_time.to_le_bytes());
    if step != 0 {
        put_uint(&mut ev, 2, step as u64);
    }
    put_bytes(&mut ev, 5, &summary);
    ev
}

fn scalar_value(tag: &str, value: f32) -> Vec<u8> {
    let t = tensor_proto(DT_FLOAT, &[], 4, &value.to_le_bytes());
    tensor_value(tag, &t, "scalars", b"")
}

/// TF2 histogram buckets (`tensorboard/plugins/histogram/summary_v2.py`): `k` rows of
/// `[left_edge, right_edge, count]`, the first `k-1` buckets half-open, the last closed.
/// Non-finite values (NaN, ±Inf) are ignored so that they cannot poison the edges.
pub fn histogram_buckets(data: &[f64], k: usize) -> Vec<[f64; 3]> {
    let finite: Vec<f64> = data.iter().copied().filter(|x| x.is_finite()).collect();
    if k == 0 || finite.is_empty() {
        return vec![[0.0; 3]; k];
    }
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if hi == lo {
        let mut rows = vec![[lo, lo, 0.0]; k];
        rows[k - 1][2] = finite.len() as f64;
        return rows;
    }
    let width = (hi - lo) / k as f64;
    let mut counts = vec![0.0; k];
    for x in finite {
        counts[(((x - lo) / width).floor() as usize).min(k - 1)] += 1.0;
    }
    let mut edges: Vec<f64> = (0..=k).map(|i| lo + (hi - lo) * i as f64 / k as f64).collect();
    edges[k] = hi;
    (0..k).map(|i| [edges[i], edges[i + 1], counts[i]]).collect()
}

fn histogram_value(tag: &str, data: &[f64]) -> Vec<u8> {
    let rows = histogram_buckets(data, HISTOGRAM_BUCKETS);
    let mut content = Vec::with_capacity(rows.len() * 24);
    for x in rows.iter().flatten() {
        content.extend_from_slice(&x.to_le_bytes());
    }
    let t = tensor_proto(DT_DOUBLE, &[rows.len() as u64, 3], 4, &content);
    tensor_value(tag, &t, "histograms", b"")
}

// ---- Writer --------------------------------------------------------------------------------

static WRITER_COUNTER: AtomicU32 = AtomicU32::new(0);

fn now_secs() -> f64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    now.map_or(0.0, |d| d.as_secs_f64())
}

fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .map(|s| s.trim().replace(['/', '\\'], "_"))
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Writer for one TensorBoard run directory (e.g. `<log_dir>/train`).
///
/// Events are buffered: call [`EventWriter::flush`] (e.g. at every epoch end) so that a live
/// TensorBoard sees them. Dropping the writer flushes (errors ignored).
pub struct EventWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl EventWriter {
    /// Creates `dir` recursively, creates a new file
    /// `events.out.tfevents.{secs:010}.{hostname}.{pid}.{counter}.v2` in it, writes the
    /// `file_version = "brain.Event:2"` event (source-metadata writer `"rkeras"`) and flushes.
    pub fn create(dir: &Path) -> io::Result<EventWriter> {
        fs::create_dir_all(dir)?;
        let now = now_secs();
        let counter = WRITER_COUNTER.fetch_add(1, Ordering::Relaxed);
        let (host, pid) = (hostname(), std::process::id());
        let path = dir.join(format!("events.out.tfevents.{:010}.{host}.{pid}.{counter}.v2", now as u64));
        let file = File::options().write(true).create_new(true).open(&path)?;
        let out = BufWriter::new(file);
        let mut w = EventWriter { out, path };
        let mut source = Vec::new();
        put_bytes(&mut source, 1, b"rkeras");
        let mut ev = Vec::new();
        put_key(&mut ev, 1, 1);
        ev.extend_from_slice(&now.to_le_bytes());
        put_bytes(&mut ev, 3, b"brain.Event:2");
        put_bytes(&mut ev, 10, &source);
        w.write_event(&ev)?;
        w.flush()?;
        Ok(w)
    }

    /// Path of the event file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_event(&mut self, event: &[u8]) -> io::Result<()> {
        self.out.write_all(&frame_record(event))
    }

    /// Writes a scalar stamped with the current time: a rank-0 `DT_FLOAT` tensor with plugin
    /// `scalars`, byte for byte the Keras 3 layout.
    pub fn scalar(&mut self, tag: &str, step: i64, value: f32) -> io::Result<()> {
        self.scalar_at(tag, step, value, now_secs())
    }

    /// Like [`EventWriter::scalar`] with an explicit `wall_time` (seconds since the epoch).
    pub fn scalar_at(&mut self, tag: &str, step: i64, value: f32, wall_time: f64) -> io::Result<()> {
        self.write_event(&summary_event(wall_time, step, &scalar_value(tag, value)))
    }

    /// Writes a TF2 histogram of `data` ([`HISTOGRAM_BUCKETS`] buckets computed by
    /// [`histogram_buckets`]): a `[k,3]` `DT_DOUBLE` tensor with plugin `histograms`.
    pub fn histogram(&mut self, tag: &str, step: i64, data: &[f64]) -> io::Result<()> {
        let value = histogram_value(tag, data);
        self.write_event(&summary_event(now_secs(), step, &value))
    }

    /// Writes the `keras` tag (TensorBoard's conceptual graph): a rank-0 `DT_STRING` tensor
    /// holding the model JSON, plugin `graph_keras_model` with content `b"1"`, step 0.
    pub fn keras_model_json(&mut self, json: &str) -> io::Result<()> {
        let t = tensor_proto(DT_STRING, &[], 8, json.as_bytes());
        let value = tensor_value("keras", &t, "graph_keras_model", b"1");
        self.write_event(&summary_event(now_secs(), 0, &value))
    }

    /// Flushes buffered events to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

// ---- Protobuf decoding ---------------------------------------------------------------------

/// A decoded field value; integers are kept as raw bits.
enum Wire<'a> {
    Varint(u64),
    I64(u64),
    Len(&'a [u8]),
    I32(u32),
    Group,
}

/// Iterator over the `(field number, value)` pairs of one serialized message.
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Fields { buf, pos: 0 }
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        let avail = (self.buf.len() - self.pos) as u64;
        if n > avail {
            return Err("truncated protobuf field".into());
        }
        self.pos += n as usize;
        Ok(&self.buf[self.pos - n as usize..self.pos])
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            v |= ((b & 0x7F) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }

    /// Reads the value of a field of wire type `wire` (groups are skipped as a whole).
    fn value(&mut self, wire: u64) -> Result<Wire<'a>, String> {
        let le = |b: &[u8]| b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64);
        Ok(match wire {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::I64(le(self.take(8)?)),
            2 => {
                let n = self.varint()?;
                Wire::Len(self.take(n)?)
            }
            5 => Wire::I32(le(self.take(4)?) as u32),
            3 => {
                let mut depth = 1; // deprecated group: skip up to the matching end-group
                while depth > 0 {
                    match self.varint()? & 7 {
                        3 => depth += 1,
                        4 => depth -= 1,
                        w => {
                            self.value(w)?;
                        }
                    }
                }
                Wire::Group
            }
            w => return Err(format!("invalid wire type {w}")),
        })
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Wire<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let field = self.varint().and_then(|key| Ok((key >> 3, self.value(key & 7)?)));
        if field.is_err() {
            self.pos = self.buf.len(); // stop after an error
        }
        Some(field)
    }
}

/// The last length-delimited occurrence of `field` in `buf`.
fn find_len(buf: &[u8], field: u64) -> Result<Option<&[u8]>, String> {
    let mut found = None;
    for f in Fields::new(buf) {
        if let (n, Wire::Len(b)) = f? {
            found = if n == field { Some(b) } else { found };
        }
    }
    Ok(found)
}

/// Little-endian bits of a `size`-byte fixed value, or the first varint when `size == 0`.
/// This gives the first element of a packed repeated field too.
fn raw_bits(w: &Wire, size: usize) -> Option<u64> {
    match w {
        Wire::Varint(v) | Wire::I64(v) => Some(*v),
        Wire::I32(v) => Some(*v as u64),
        Wire::Len(b) if size == 0 => Fields::new(b).varint().ok(),
        Wire::Len(b) => Some(b.get(..size)?.iter().rev().fold(0, |a, &x| (a << 8) | x as u64)),
        Wire::Group => None,
    }
}

/// Value of a rank-0 numeric `TensorProto`, or `None` when it is not a numeric scalar.
/// The value comes from `tensor_content`, else from the first element of the typed `*_val`.
fn decode_scalar_tensor(buf: &[u8]) -> Result<Option<f64>, String> {
    let (mut dtype, mut rank, mut content) = (0, 0, None);
    // First element of float_val (5), double_val (6), int_val (7), int64_val (10).
    let mut vals = [None; 11];
    for f in Fields::new(buf) {
        match f? {
            (1, Wire::Varint(v)) => dtype = v,
            (2, Wire::Len(shape)) => rank = Fields::new(shape).filter(|d| matches!(d, Ok((2, _)))).count(),
            (4, Wire::Len(c)) => content = Some(c),
            (n @ (5 | 6 | 7 | 10), w) => {
                let size = match n {
                    5 => 4,
                    6 => 8,
                    _ => 0,
                };
                vals[n as usize] = vals[n as usize].or(raw_bits(&w, size));
            }
            _ => {}
        }
    }
    let (val_field, size) = match dtype {
        DT_FLOAT => (5, 4),
        DT_DOUBLE => (6, 8),
        DT_INT32 => (7, 4),
        DT_INT64 => (10, 8),
        _ => return Ok(None),
    };
    let bits = match content {
        Some(c) if !c.is_empty() && c.len() != size => return Ok(None),
        Some(c) if !c.is_empty() => raw_bits(&Wire::Len(c), size),
        _ => vals[val_field],
    };
    let bits = bits.unwrap_or(0); // like TF's MakeNdarray: no value data means zeros
    let value = match dtype {
        DT_FLOAT => f32::from_bits(bits as u32) as f64,
        DT_DOUBLE => f64::from_bits(bits),
        DT_INT32 => bits as i32 as f64,
        _ => bits as i64 as f64,
    };
    Ok((rank == 0).then_some(value))
}

/// The wall time, step and summary bytes (empty when absent) of one serialized `Event`.
fn event_header(buf: &[u8]) -> Result<(f64, i64, &[u8]), String> {
    let (mut wall_time, mut step, mut summary) = (0.0, 0, None);
    for f in Fields::new(buf) {
        match f? {
            (1, Wire::I64(bits)) => wall_time = f64::from_bits(bits),
            (2, Wire::Varint(v)) => step = v as i64,
            (5, Wire::Len(s)) => summary = Some(s),
            _ => {}
        }
    }
    Ok((wall_time, step, summary.unwrap_or_default()))
}

/// Appends the scalars of one serialized `Event` to `out`.
fn decode_event(buf: &[u8], run: &str, out: &mut Vec<ScalarRecord>) -> Result<(), String> {
    let (wall_time, step, summary) = event_header(buf)?;
    for f in Fields::new(summary) {
        let Wire::Len(value) = f?.1 else { continue };
        let (mut tag, mut simple, mut tensor, mut metadata) = (&[][..], None, None, None);
        for vf in Fields::new(value) {
            match vf? {
                (1, Wire::Len(t)) => tag = t,
                (2, Wire::I32(bits)) => simple = Some(f32::from_bits(bits) as f64),
                (8, Wire::Len(t)) => tensor = Some(t),
                (9, Wire::Len(m)) => metadata = Some(m),
                _ => {}
            }
        }
        let plugin_data = match metadata {
            Some(m) => find_len(m, 1)?,
            None => None,
        };
        let plugin = match plugin_data {
            Some(pd) => find_len(pd, 1)?,
            None => None,
        };
        let scalar_plugin = !matches!(plugin, Some(p) if p != b"scalars");
        let value = match (simple, tensor) {
            (Some(v), _) => Some(v),
            (None, Some(t)) if scalar_plugin => decode_scalar_tensor(t)?,
            _ => None,
        };
        if let Some(value) = value {
            let (run, tag) = (run.to_string(), String::from_utf8_lossy(tag).into_owned());
            out.push(ScalarRecord { run, tag, step, value, wall_time });
        }
    }
    Ok(())
}

// ---- Reader --------------------------------------------------------------------------------

/// One scalar point read from an event file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarRecord {
    /// Run: directory relative to the log dir, `/`-separated (`"."` for the log dir itself).
    pub run: String,
    /// Summary tag, e.g. `epoch_loss`.
    pub tag: String,
    /// Step (epoch, batch or iteration count).
    pub step: i64,
    /// Value (f32 scalars are widened exactly).
    pub value: f64,
    /// Seconds since the Unix epoch.
    pub wall_time: f64,
}

/// Calls `each` with the payload of every record of one event file. A bad CRC or an error
/// from `each` is an error naming the file and the record's byte offset; a truncated last
/// record silently ends the file (it may still be being written).
fn for_each_record(path: &Path, mut each: impl FnMut(&[u8]) -> Result<(), String>) -> Result<(), String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    let mut pos = 0;
    while bytes.len() - pos >= 12 {
        let err = |what: &str| format!("{}: {what} in record at byte offset {pos}", path.display());
        let header = &bytes[pos..pos + 8];
        if masked_crc32c(header) != u32_at(pos + 8) {
            return Err(err("bad length CRC"));
        }
        let len = u64::from_le_bytes(header.try_into().unwrap());
        if len.saturating_add(4) > (bytes.len() - pos - 12) as u64 {
            break; // truncated last record
        }
        let end = pos + 12 + len as usize;
        if masked_crc32c(&bytes[pos + 12..end]) != u32_at(end) {
            return Err(err("bad data CRC"));
        }
        each(&bytes[pos + 12..end]).map_err(|e| err(&format!("malformed event ({e})")))?;
        pos = end + 4;
    }
    Ok(())
}

fn read_event_file(path: &Path, run: &str, out: &mut Vec<ScalarRecord>) -> Result<(), String> {
    for_each_record(path, |ev| decode_event(ev, run, out))
}

/// Appends `(run, path)` for every event file in `dir` and, recursively, below it. `run` is
/// the `/`-terminated path of `dir` relative to the log dir (empty for the log dir itself).
/// Symlinked directories are not followed, which rules out cycles.
fn event_files(dir: &Path, run: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let io_err = |e: io::Error| format!("{}: {e}", dir.display());
    for entry in fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let (path, name) = (entry.path(), entry.file_name().to_string_lossy().into_owned());
        if entry.file_type().map_err(io_err)?.is_dir() {
            event_files(&path, &format!("{run}{name}/"), out)?;
        } else if name.contains("tfevents") && path.is_file() {
            out.push((run.to_string(), path));
        }
    }
    Ok(())
}

/// Reads every scalar in every event file below `log_dir` (recursively).
///
/// Event files are those whose basename contains `tfevents`; the files of a run are read in
/// lexicographic file-name order. Accepted values: rank-0 `DT_FLOAT`/`DT_DOUBLE`/`DT_INT32`/
/// `DT_INT64` tensors (from `tensor_content` or the typed `*_val` fields) whose plugin is
/// `scalars` or absent, and legacy `simple_value`. Histograms, strings, graphs and other
/// events are skipped. Both CRCs are verified: a mismatch is an error naming the file and the
/// byte offset of the record; a truncated last record is not an error. The result is sorted
/// by run, tag, then step (stable, so equal steps keep file order).
pub fn read_scalars(log_dir: &Path) -> Result<Vec<ScalarRecord>, String> {
    let mut files = Vec::new();
    event_files(log_dir, "", &mut files)?;
    files.sort(); // by run, then by file name within a run
    let mut out = Vec::new();
    for (run, path) in &files {
        read_event_file(path, run.strip_suffix('/').unwrap_or("."), &mut out)?;
    }
    out.sort_by(|a, b| (&a.run, &a.tag, a.step).cmp(&(&b.run, &b.tag, b.step)));
    Ok(out)
}

/// One summary value of any kind, as stored (see [`read_summaries`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRecord {
    /// Run, as in [`ScalarRecord::run`].
    pub run: String,
    pub tag: String,
    pub step: i64,
    pub wall_time: f64,
    /// Plugin name of the metadata (`scalars`, `histograms`, `graph_keras_model`), or empty.
    pub plugin: String,
    /// Tensor dtype (`DT_FLOAT` = 1, `DT_DOUBLE` = 2, `DT_STRING` = 7, ...); a legacy
    /// `simple_value` reads as a rank-0 `DT_FLOAT`.
    pub dtype: u64,
    /// Tensor shape (empty for rank 0).
    pub dims: Vec<u64>,
    /// `tensor_content` (raw little-endian values), or the first `string_val` of a string.
    pub content: Vec<u8>,
}

impl SummaryRecord {
    /// The `[k, 3]` rows `(left, right, count)` of a TF2 histogram.
    pub fn histogram(&self) -> Option<Vec<[f64; 3]>> {
        if self.dtype != DT_DOUBLE || self.dims.len() != 2 || self.dims[1] != 3 {
            return None;
        }
        let vals: Vec<f64> = self.content.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect();
        (vals.len() as u64 == self.dims[0] * 3).then(|| vals.chunks(3).map(|r| [r[0], r[1], r[2]]).collect())
    }

    /// The string of a rank-0 `DT_STRING` tensor (the `keras` model JSON).
    pub fn text(&self) -> Option<String> {
        (self.dtype == DT_STRING && self.dims.is_empty()).then(|| String::from_utf8_lossy(&self.content).into_owned())
    }

    /// The value of a rank-0 `DT_FLOAT` scalar.
    pub fn scalar(&self) -> Option<f32> {
        let bytes: [u8; 4] = self.content.as_slice().try_into().ok()?;
        (self.dtype == DT_FLOAT && self.dims.is_empty()).then(|| f32::from_le_bytes(bytes))
    }
}

/// Appends every summary value of one serialized `Event` to `out`.
fn decode_summaries(buf: &[u8], run: &str, out: &mut Vec<SummaryRecord>) -> Result<(), String> {
    let (wall_time, step, summary) = event_header(buf)?;
    for f in Fields::new(summary) {
        let Wire::Len(value) = f?.1 else { continue };
        let mut rec = SummaryRecord {
            run: run.to_string(),
            tag: String::new(),
            step,
            wall_time,
            plugin: String::new(),
            dtype: 0,
            dims: Vec::new(),
            content: Vec::new(),
        };
        for vf in Fields::new(value) {
            match vf? {
                (1, Wire::Len(t)) => rec.tag = String::from_utf8_lossy(t).into_owned(),
                (2, Wire::I32(bits)) => (rec.dtype, rec.content) = (DT_FLOAT, bits.to_le_bytes().to_vec()),
                (9, Wire::Len(m)) => {
                    let name = find_len(m, 1)?.map(|pd| find_len(pd, 1)).transpose()?.flatten();
                    rec.plugin = String::from_utf8_lossy(name.unwrap_or_default()).into_owned();
                }
                (8, Wire::Len(t)) => {
                    for tf in Fields::new(t) {
                        match tf? {
                            (1, Wire::Varint(d)) => rec.dtype = d,
                            (2, Wire::Len(shape)) => {
                                for d in Fields::new(shape) {
                                    if let (2, Wire::Len(dim)) = d? {
                                        let size = Fields::new(dim).find_map(|x| match x {
                                            Ok((1, Wire::Varint(n))) => Some(n),
                                            _ => None,
                                        });
                                        rec.dims.push(size.unwrap_or(0));
                                    }
                                }
                            }
                            (4, Wire::Len(c)) => rec.content = c.to_vec(),
                            (8, Wire::Len(c)) if rec.content.is_empty() => rec.content = c.to_vec(),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        out.push(rec);
    }
    Ok(())
}

/// Reads every summary value (scalars, histograms, the `keras` graph tag, ...) below
/// `log_dir`, in file order: runs sorted, the files of a run by name, records as written.
/// CRCs are checked as in [`read_scalars`].
pub fn read_summaries(log_dir: &Path) -> Result<Vec<SummaryRecord>, String> {
    let mut files = Vec::new();
    event_files(log_dir, "", &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for (run, path) in &files {
        let run = run.strip_suffix('/').unwrap_or(".");
        for_each_record(path, |ev| decode_summaries(ev, run, &mut out))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        let byte = |i| u8::from_str_radix(&s[i..i + 2], 16).unwrap();
        (0..s.len()).step_by(2).map(byte).collect()
    }

    fn tmpdir(name: &str) -> PathBuf {
        let nanos = (now_secs().fract() * 1e9) as u64;
        let dir = format!("tfev_{name}_{}_{nanos}", std::process::id());
        std::env::temp_dir().join(dir)
    }

    /// `tests/fixtures/keras` of the repository: Keras 3's own TensorBoard logs in `tb_*`.
    fn reference_dir() -> PathBuf {
        crate::testutil::fixture("keras")
    }

    fn series(recs: &[ScalarRecord], run: &str, tag: &str) -> Vec<(i64, f64)> {
        let recs = recs.iter().filter(|r| r.run == run && r.tag == tag);
        recs.map(|r| (r.step, r.value)).collect()
    }

    fn steps(recs: &[ScalarRecord], run: &str, tag: &str) -> Vec<i64> {
        series(recs, run, tag).into_iter().map(|s| s.0).collect()
    }

    #[test]
    fn crc_vectors() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(masked_crc32c(b"\x1a\x11CRC test, one two"), 0x5794_D08A);
        assert_eq!(masked_crc32c(&24u64.to_le_bytes()), 0x224b_7fa3);
    }

    #[test]
    fn scalar_record_is_byte_exact() {
        let want = hex("3400000000000000 5e33175c 0900000040fc54d941 1003 2a27 0a25 0a0a
            65706f63685f6c6f7373 420a 0801 1200 22040000003f 4a0b 0a09 0a077363616c617273 c0cc74b8");
        let value = scalar_value("epoch_loss", 0.5);
        assert_eq!(frame_record(&summary_event(1_700_000_000.0, 3, &value)), want);
        // proto3 omits step 0; negative steps are 10-byte two's-complement varints.
        assert_eq!(summary_event(1.0, 0, b""), hex("09 000000000000f03f 2a02 0a00"));
        let neg = hex("09 000000000000f03f 10 ffffffffffffffffff01 2a02 0a00");
        assert_eq!(summary_event(1.0, -1, b""), neg);
        // The same bytes through the writer, right after the file_version record.
        let dir = tmpdir("exact");
        let mut w = EventWriter::create(&dir).unwrap();
        w.scalar_at("epoch_loss", 3, 0.5, 1_700_000_000.0).unwrap();
        w.flush().unwrap();
        let bytes = fs::read(w.path()).unwrap();
        let (first, rest) = bytes.split_at(bytes.len() - want.len());
        assert_eq!(rest, want);
        assert_eq!(first.len(), 16 + first[0] as usize);
        assert!(first.windows(13).any(|w| w == b"brain.Event:2"));
        assert!(first.windows(6).any(|w| w == b"rkeras"));
        let name = w.path().file_name().unwrap().to_string_lossy().into_owned();
        let parts: Vec<&str> = name.split('.').collect();
        assert_eq!(parts[..3], ["events", "out", "tfevents"]);
        assert!(parts[3].len() == 10 && parts[3].bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(parts[parts.len() - 3], std::process::id().to_string());
        assert_eq!(parts[parts.len() - 1], "v2");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_keras_reference_logs() {
        let refdir = reference_dir();
        let recs = read_scalars(&refdir.join("tb_epoch")).unwrap();
        assert_eq!(recs.len(), 9 + 12); // no histograms, no `keras` tag
        for tag in ["epoch_loss", "epoch_accuracy", "epoch_learning_rate"] {
            assert_eq!(steps(&recs, "train", tag), [0, 1, 2], "{tag}");
        }
        assert_eq!(steps(&recs, "validation", "epoch_loss"), [0, 1, 2]);
        let eval = series(&recs, "validation", "evaluation_loss_vs_iterations");
        let losses = [0.7994823455810547, 0.7923036813735962, 0.7862995266914368];
        assert_eq!(eval, [(3, losses[0]), (6, losses[1]), (9, losses[2])]);
        let loss0 = f32::from_le_bytes([0x45, 0xfe, 0x48, 0x3f]) as f64; // bytes from the spec
        assert_eq!(series(&recs, "train", "epoch_loss")[0], (0, loss0));
        assert_eq!(series(&recs, "train", "epoch_learning_rate")[1].1, 0.001f32 as f64);
        assert!(recs.iter().all(|r| r.wall_time > 1.7e9));

        let batch = read_scalars(&refdir.join("tb_batch")).unwrap();
        assert_eq!(steps(&batch, "train", "batch_loss"), [1, 2, 3, 4, 5, 6]);
        let freq2 = read_scalars(&refdir.join("tb_freq2")).unwrap();
        assert_eq!(series(&freq2, "train", "epoch_loss"), [(1, 0.7698745131492615)]);
        let all = read_scalars(&refdir).unwrap(); // nested runs
        assert_eq!(steps(&all, "tb_freq2/validation", "evaluation_loss_vs_iterations"), [5, 10]);
    }

    #[test]
    fn round_trip() {
        let dir = tmpdir("roundtrip");
        let mut train = EventWriter::create(&dir.join("train")).unwrap();
        let mut val = EventWriter::create(&dir.join("validation")).unwrap();
        let mut root = EventWriter::create(&dir).unwrap();
        let mut nested = EventWriter::create(&dir.join("run1/train")).unwrap();
        train.keras_model_json(r#"{"class_name": "Sequential"}"#).unwrap();
        let mut want = Vec::new();
        for epoch in 0..3 {
            let t = 1_700_000_000.0 + epoch as f64;
            let (acc, loss) = (0.5 + 0.1 * epoch as f32, 0.7 / (1.0 + epoch as f32));
            for (tag, v) in [("epoch_accuracy", acc), ("epoch_loss", loss)] {
                train.scalar_at(tag, epoch, v, t).unwrap();
                val.scalar_at(tag, epoch, v * 1.1, t).unwrap();
                want.push(("train", tag, epoch, v as f64, t));
                want.push(("validation", tag, epoch, (v * 1.1) as f64, t));
            }
            train.histogram("dense/kernel/histogram", epoch, &[0.1, -0.2]).unwrap();
        }
        for step in [-5, i64::MAX, 0] {
            root.scalar_at("odd_steps", step, f32::INFINITY, 1.5).unwrap();
            nested.scalar_at("x", step, -2.25, 2.5).unwrap();
            want.push((".", "odd_steps", step, f64::INFINITY, 1.5));
            want.push(("run1/train", "x", step, -2.25, 2.5));
        }
        root.scalar_at("nan", 1, f32::NAN, 1.0).unwrap();
        drop((train, val, root, nested)); // flushes
        fs::write(dir.join("train/notes.txt"), b"not an event file").unwrap();
        let mut got = read_scalars(&dir).unwrap();
        assert!(got.remove(0).value.is_nan()); // (".", "nan") sorts first
        want.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        let got: Vec<_> = got.iter().map(|r| (&r.run[..], &r.tag[..], r.step, r.value, r.wall_time)).collect();
        assert_eq!(got, want);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Encodings used by other writers: simple_value, DT_DOUBLE/INT, the typed *_val fields.
    #[test]
    fn reads_other_scalar_encodings() {
        let mut legacy = Vec::new();
        put_bytes(&mut legacy, 1, b"legacy");
        put_key(&mut legacy, 2, 5);
        legacy.extend_from_slice(&0.25f32.to_le_bytes());
        let mut neg7 = Vec::new();
        put_varint(&mut neg7, -7i64 as u64);
        let mut int64_val = tensor_proto(DT_INT64, &[], 4, b"");
        put_uint(&mut int64_val, 10, 42); // unpacked repeated
        let mut grouped = tensor_proto(DT_DOUBLE, &[], 4, &2.5f64.to_le_bytes());
        put_key(&mut grouped, 99, 3); // a group, to be skipped
        put_uint(&mut grouped, 1, 5);
        put_key(&mut grouped, 99, 4);
        let scalars = |tag, t: Vec<u8>| tensor_value(tag, &t, "scalars", b"");
        let values = [
            legacy,
            scalars("f_val", tensor_proto(DT_FLOAT, &[], 5, &1.5f32.to_le_bytes())),
            scalars("i32", tensor_proto(DT_INT32, &[], 7, &neg7)),
            scalars("i64", int64_val),
            scalars("dbl", grouped),
            scalars("vec", tensor_proto(DT_FLOAT, &[1], 4, &[0; 4])),
            scalars("str", tensor_proto(DT_STRING, &[], 8, b"x")),
            tensor_value("other", &tensor_proto(DT_FLOAT, &[], 4, &[0; 4]), "custom", b""),
        ];
        let dir = tmpdir("encodings");
        let mut w = EventWriter::create(&dir).unwrap();
        for v in &values {
            w.write_event(&summary_event(1.0, 1, v)).unwrap();
        }
        drop(w);
        let got = read_scalars(&dir).unwrap();
        let got: Vec<_> = got.iter().map(|r| (&r.tag[..], r.value)).collect();
        let want = [("dbl", 2.5), ("f_val", 1.5), ("i32", -7.0), ("i64", 42.0)];
        assert_eq!(got, [&want[..], &[("legacy", 0.25)]].concat());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corruption_and_truncation() {
        let dir = tmpdir("corrupt");
        let mut w = EventWriter::create(&dir).unwrap();
        for step in 1..=3 {
            w.scalar_at("epoch_loss", step, step as f32, 10.0).unwrap();
        }
        w.flush().unwrap();
        let (path, good) = (w.path().to_path_buf(), fs::read(w.path()).unwrap());
        drop(w);
        let (first, rec) = (16 + good[0] as usize, 68); // file_version record, scalar record
        assert_eq!(good.len(), first + 3 * rec);
        assert_eq!(read_scalars(&dir).unwrap().len(), 3);

        let check_err = |byte: usize, what: &str, offset: usize| {
            let mut bad = good.clone();
            bad[byte] ^= 0x10;
            fs::write(&path, &bad).unwrap();
            let e = read_scalars(&dir).unwrap_err();
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(e.contains(what) && e.contains(&*name), "{e}");
            assert!(e.ends_with(&format!("byte offset {offset}")), "{e}");
        };
        check_err(first + rec + 30, "bad data CRC", first + rec); // payload of the 2nd scalar
        check_err(first + rec + 64, "bad data CRC", first + rec); // its stored CRC
        check_err(first, "bad length CRC", first); // length of the 1st scalar
        check_err(first + 9, "bad length CRC", first); // its length CRC

        for cut in [1, 4, 5, rec - 12, rec - 1] {
            fs::write(&path, &good[..good.len() - cut]).unwrap();
            let recs = read_scalars(&dir).unwrap();
            assert_eq!(steps(&recs, ".", "epoch_loss"), [1, 2], "cut {cut}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn histogram_buckets_edge_cases() {
        assert_eq!(histogram_buckets(&[], 30), vec![[0.0; 3]; 30]);
        assert_eq!(histogram_buckets(&[f64::NAN], 3), vec![[0.0; 3]; 3]);
        assert!(histogram_buckets(&[1.0], 0).is_empty());
        let mut constant = vec![[2.5, 2.5, 0.0]; 30];
        constant[29][2] = 7.0;
        assert_eq!(histogram_buckets(&[2.5; 7], 30), constant);

        // 0..=30 in 30 buckets: width 1, the maximum falls into the last (closed) bucket.
        let ramp: Vec<f64> = (0..=30).map(f64::from).collect();
        for (i, r) in histogram_buckets(&ramp, 30).iter().enumerate() {
            assert_eq!(*r, [i as f64, i as f64 + 1.0, if i == 29 { 2.0 } else { 1.0 }]);
        }

        // Pseudo-normal data (Box-Muller over an LCG) plus non-finite values to be ignored.
        let mut s = 12345u64;
        let mut u = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let normal = |u1: f64, u2: f64| (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let mut data: Vec<f64> = (0..1000).map(|_| normal(u(), u())).collect();
        let (lo, hi) = data.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        data.extend([f64::NAN, f64::INFINITY]);
        let rows = histogram_buckets(&data, 30);
        assert_eq!(rows.iter().map(|r| r[2]).sum::<f64>(), 1000.0);
        assert_eq!((rows[0][0], rows[29][1]), (lo, hi));
        assert!(rows.windows(2).all(|w| w[0][1] == w[1][0] && w[0][0] < w[0][1]));
        assert!(rows[14][2] + rows[15][2] > 4.0 * (rows[0][2] + rows[29][2])); // bell-shaped
        for r in &rows[..29] {
            let n = data.iter().filter(|&&x| x >= r[0] && x < r[1]).count();
            assert_eq!(n as f64, r[2]);
        }
    }

    #[test]
    fn reads_all_summaries_in_order() {
        let dir = tmpdir("summaries");
        let mut w = EventWriter::create(&dir.join("train")).unwrap();
        w.keras_model_json(r#"{"a": "\u00e9"}"#).unwrap();
        w.scalar_at("epoch_loss", 2, 0.5, 1.0).unwrap();
        w.histogram("d/kernel/histogram", 3, &[1.0, 2.0, 4.0]).unwrap();
        drop(w);
        let got = read_summaries(&dir).unwrap();
        let tags: Vec<_> = got.iter().map(|r| (&r.run[..], &r.tag[..], r.step, &r.plugin[..])).collect();
        assert_eq!(
            tags,
            [
                ("train", "keras", 0, "graph_keras_model"),
                ("train", "epoch_loss", 2, "scalars"),
                ("train", "d/kernel/histogram", 3, "histograms")
            ]
        );
        assert_eq!(got[0].text().as_deref(), Some(r#"{"a": "\u00e9"}"#));
        assert_eq!((got[1].scalar(), got[1].wall_time, got[1].histogram()), (Some(0.5), 1.0, None));
        assert_eq!(got[2].histogram(), Some(histogram_buckets(&[1.0, 2.0, 4.0], HISTOGRAM_BUCKETS)));
        let keras = read_summaries(&reference_dir().join("tb_epoch")).unwrap();
        let hist: Vec<_> = keras.iter().filter(|r| r.plugin == "histograms").collect();
        assert_eq!(hist.len(), 12);
        assert!(hist.iter().all(|h| h.histogram().map(|rows| rows.len()) == Some(30)));
        assert!(keras[0].text().unwrap().starts_with(r#"{"module": "keras", "class_name": "Sequential""#));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn histogram_and_keras_tensor_layout() {
        let value = histogram_value("h", &[1.0, 2.0, 4.0]);
        let tensor = find_len(&value, 8).unwrap().unwrap();
        // dtype DT_DOUBLE, shape [30, 3], 720 bytes of tensor_content: the rows, f64 LE.
        let (head, content) = tensor.split_at(tensor.len() - 720);
        assert_eq!(head, hex("0802 1208 1202081e 12020803 22d005"));
        let rows = histogram_buckets(&[1.0, 2.0, 4.0], 30);
        assert!(content.chunks(8).zip(rows.iter().flatten()).all(|(c, x)| c == x.to_le_bytes()));
        assert!(value.ends_with(&hex("4a0e 0a0c 0a0a 686973746f6772616d73"))); // "histograms"

        let dir = tmpdir("keras");
        let mut w = EventWriter::create(&dir).unwrap();
        w.keras_model_json("{}").unwrap();
        w.flush().unwrap();
        let bytes = fs::read(w.path()).unwrap();
        let want = hex("0a056b65726173 4208 0807 1200 42027b7d 4a18 0a16 0a11
            67726170685f6b657261735f6d6f64656c 120131"); // "keras", "graph_keras_model", "1"
        assert!(bytes.windows(want.len()).any(|w| w == want));
        assert!(read_scalars(&dir).unwrap().is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
