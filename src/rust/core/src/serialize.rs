//! rkeras's own file format: a whole model (architecture, weights, compile configuration,
//! optimizer state, random stream) or just its weights, in one checksummed binary file.
//! `save_model()`, `serialize_model()`, `saveRDS()` of a model and `save_model_weights()`
//! all write it.
//!
//! # Layout (format version 1)
//!
//! All integers are little-endian.
//!
//! | offset    | size | content                                                          |
//! |-----------|------|------------------------------------------------------------------|
//! | 0         | 8    | signature `52 4B 45 52 41 53 1A 0A` (`RKERAS`, `^Z`, `\n`)        |
//! | 8         | 4    | format version, `u32` (1)                                        |
//! | 12        | 4    | header length `H`, `u32`                                         |
//! | 16        | 8    | blob length `B`, `u64`                                           |
//! | 24        | H    | header: UTF-8 JSON (below)                                       |
//! | 24+H      | B    | blobs: `f32` arrays, little-endian, back to back, no padding     |
//! | 24+H+B    | 4    | CRC-32 (IEEE 802.3, as zlib's `crc32()`) of bytes `0 .. 24+H+B`  |
//!
//! The file is exactly `28 + H + B` bytes long. The `^Z\n` in the signature catches
//! text-mode transfers (as PNG's does).
//!
//! The header is a JSON object:
//!
//! ```json
//! { "kind": "model",                 // or "weights" (save_model_weights())
//!   "writer": "rkeras-core 0.1.0",
//!   "dtype": "float32",              // the blobs' element type
//!   "model": { ModelSpec },          // architecture: name, class_name, input_shape, input_name, layers
//!   "compile": { CompileSpec } | null,   // optimizer config, loss, metrics
//!   "optimizer": { "iterations": 12, "learning_rate": 0.001 } | null,
//!   "rng": { ChaCha8 state } | null,  // the model's training stream (shuffling, dropout)
//!   "weights": [ {"layer": "dense", "weight": "kernel", "shape": [4, 8]}, ... ],
//!   "optimizer_weights": [ {"layer": "dense", "weight": "kernel", "slot": "m", "shape": [4, 8]}, ... ] }
//! ```
//!
//! `weights` lists every weight in Keras order (layer by layer; dense: `kernel` with shape
//! `(in, units)`, then `bias` with shape `(units)`), with the Keras weight names, so a
//! Keras HDF5 writer can map them one to one. Their values are the first blobs, in that
//! order, each row-major (C order, like NumPy). `optimizer_weights` follow: for each
//! trainable weight in order, each slot of the optimizer in
//! [`crate::optimizers::OptimizerConfig::slot_names`] order. A blob's length is the product
//! of its shape (1 for `[]`) times 4 bytes; the blob lengths add up to `B` exactly.
//!
//! # Compatibility
//!
//! Readers ignore header fields they do not know. A change that an older reader could not
//! safely ignore increments the format version; this reader refuses versions above
//! [`FORMAT_VERSION`] with a message that says to update rkeras, and keeps reading every
//! earlier version (`testdata/serialize/model-v1.rkeras` is a file written by version 1).
//!
//! # Validation
//!
//! [`decode`] never panics and never allocates more than the input's size before the
//! checksum has been verified: a foreign file (HDF5, gzip/RDS, zip, ...), a file from a
//! newer rkeras, a truncated or damaged file (wrong length, wrong checksum, bad header) and
//! a header that does not fit its blobs or its architecture all give an `Err` that says
//! which.

use crate::layers::{fmt_shape, WeightCount};
use crate::model::{CompileSpec, Model, ModelSpec};
use crate::optimizers::OptimizerState;
use crate::rng::Rng;
use crate::Real;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file signature.
pub const MAGIC: [u8; 8] = *b"RKERAS\x1a\n";
/// The format version this code writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes before the header.
const PREFIX_LEN: usize = 24;
/// Everything but the header and the blobs: prefix and checksum.
const OVERHEAD: u64 = 28;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// A whole model (`save_model()`, `serialize_model()`).
    Model,
    /// Weights only (`save_model_weights()`); the architecture is recorded for messages.
    Weights,
}

/// One `f32` array of the blob area.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlobRef {
    /// Name of the layer the weight belongs to.
    pub layer: String,
    /// Keras weight name (`kernel`, `bias`, ...).
    pub weight: String,
    /// Optimizer slot name (`m`, `v`, ...), for `optimizer_weights`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// Keras shape, row-major.
    pub shape: Vec<usize>,
}

impl BlobRef {
    fn path(&self) -> String {
        match &self.slot {
            Some(s) => format!("{}/{}/{}", self.layer, self.weight, s),
            None => format!("{}/{}", self.layer, self.weight),
        }
    }
}

/// The scalar part of the optimizer state (its slots are blobs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerHeader {
    pub iterations: u64,
    /// The learning-rate variable (`f32`, as Keras keeps it).
    pub learning_rate: f32,
}

/// The JSON header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub kind: FileKind,
    #[serde(default)]
    pub writer: String,
    pub dtype: String,
    pub model: ModelSpec,
    #[serde(default)]
    pub compile: Option<CompileSpec>,
    #[serde(default)]
    pub optimizer: Option<OptimizerHeader>,
    #[serde(default)]
    pub rng: Option<Rng>,
    pub weights: Vec<BlobRef>,
    #[serde(default)]
    pub optimizer_weights: Vec<BlobRef>,
}

/// A checked file: its header and the values of its blobs.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub header: Header,
    /// One array per entry of `header.weights`.
    pub weights: Vec<Vec<f32>>,
    /// One array per entry of `header.optimizer_weights`.
    pub optimizer_weights: Vec<Vec<f32>>,
}

// ---------------------------------------------------------------------------------------
// CRC-32 (IEEE, reflected, poly 0xEDB88320), slice-by-8
// ---------------------------------------------------------------------------------------

const fn crc_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut s = 1;
        while s < 8 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            s += 1;
        }
        i += 1;
    }
    t
}

static CRC_TABLES: [[u32; 256]; 8] = crc_tables();

/// CRC-32 as zlib computes it (`crc32(0, data, len)`).
pub fn crc32(data: &[u8]) -> u32 {
    let t = &CRC_TABLES;
    let mut crc = !0u32;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        crc = t[7][(lo & 0xFF) as usize]
            ^ t[6][((lo >> 8) & 0xFF) as usize]
            ^ t[5][((lo >> 16) & 0xFF) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xFF) as usize]
            ^ t[2][((hi >> 8) & 0xFF) as usize]
            ^ t[1][((hi >> 16) & 0xFF) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ t[0][((crc ^ b as u32) & 0xFF) as usize];
    }
    !crc
}

// ---------------------------------------------------------------------------------------
// Encoding and decoding of the container
// ---------------------------------------------------------------------------------------

/// Writes a file: `blobs` must hold one array per entry of `header.weights`, then one per
/// entry of `header.optimizer_weights`, each of the length its shape says.
pub fn encode(header: &Header, blobs: &[&[f32]]) -> Vec<u8> {
    let json = serde_json::to_vec(header).expect("the header serializes");
    let n_blob: usize = blobs.iter().map(|b| b.len()).sum();
    let mut out = Vec::with_capacity(PREFIX_LEN + json.len() + 4 * n_blob + 4);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&((4 * n_blob) as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for b in blobs {
        for v in b.iter() {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// What a file that is not ours probably is, for the error message.
fn foreign_hint(bytes: &[u8]) -> &'static str {
    let starts = |p: &[u8]| bytes.starts_with(p);
    if starts(b"\x89HDF\r\n\x1a\n") {
        " It is an HDF5 file (a Keras .h5 model?): HDF5 files are read by load_model_hdf5()."
    } else if starts(&[0x1f, 0x8b]) {
        " It is a gzip file (an .rds file from saveRDS()? read it with readRDS())."
    } else if starts(b"PK\x03\x04") {
        " It is a zip archive (a Keras 3 .keras file?), which rkeras cannot read."
    } else if starts(b"RDX") || starts(b"X\n") || starts(b"B\n") || starts(b"A\n") {
        " It is R serialization data (from save() or serialize()?)."
    } else if bytes.iter().take(64).all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) {
        " It looks like a text file."
    } else {
        ""
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Number of elements of a shape, or an error if it overflows.
fn elements(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Checks the signature, version, length and checksum of a file and parses its header.
/// Returns the header and the blob area.
fn check_container(bytes: &[u8]) -> Result<(Header, &[u8]), String> {
    let n = bytes.len();
    if n == 0 {
        return Err("the file is empty".into());
    }
    if n < MAGIC.len() {
        if MAGIC.starts_with(bytes) {
            return Err(format!("the file is truncated: it has only {n} bytes"));
        }
        return Err(format!(
            "not an rkeras model file: it is {n} bytes long and does not start with the RKERAS signature.{}",
            foreign_hint(bytes)
        ));
    }
    if bytes[..MAGIC.len()] != MAGIC {
        return Err(format!(
            "not an rkeras model file: it does not start with the RKERAS signature.{}",
            foreign_hint(bytes)
        ));
    }
    if n < PREFIX_LEN {
        return Err(format!("the file is truncated: it has only {n} bytes"));
    }
    let version = u32_at(bytes, 8);
    if version == 0 {
        return Err("the file is damaged: its format version is 0".into());
    }
    if version > FORMAT_VERSION {
        return Err(format!(
            "the file was written by a newer version of rkeras (file format version {version}; \
             this version reads versions 1 to {FORMAT_VERSION}): update rkeras to read it{}",
            if version > 0xFFFF { ", or the file is damaged" } else { "" }
        ));
    }
    let h = u32_at(bytes, 12) as u64;
    let b = u64_at(bytes, 16);
    let want = h.checked_add(b).and_then(|x| x.checked_add(OVERHEAD));
    match want {
        Some(w) if (n as u64) < w => {
            return Err(format!("the file is truncated: it has {n} bytes, its header says {w}"));
        }
        Some(w) if (n as u64) > w => {
            return Err(format!(
                "the file is damaged: it has {} unexpected bytes after its end ({n} bytes, its header says {w})",
                n as u64 - w
            ));
        }
        Some(_) => {}
        None => return Err("the file is damaged: impossible header and data lengths".into()),
    }
    let body = n - 4;
    let stored = u32_at(bytes, body);
    let computed = crc32(&bytes[..body]);
    if stored != computed {
        return Err(format!("the file is damaged: checksum mismatch (stored {stored:08x}, computed {computed:08x})"));
    }
    let h = h as usize;
    let json = &bytes[PREFIX_LEN..PREFIX_LEN + h];
    // the checksum holds, so a header this version cannot read comes from another writer
    let header: Header = serde_json::from_slice(json).map_err(|e| {
        format!("cannot read the file's header ({e}); the file may come from a newer version of rkeras")
    })?;
    if header.dtype != "float32" {
        return Err(format!("unsupported weight type \"{}\" (rkeras reads float32)", header.dtype));
    }
    Ok((header, &bytes[PREFIX_LEN + h..body]))
}

/// Checks a whole file and returns its header and blob values. Never panics.
pub fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    let (header, blob_area) = check_container(bytes)?;
    let mut offset = 0usize;
    let mut take = |r: &BlobRef| -> Result<Vec<f32>, String> {
        let len = elements(&r.shape)
            .and_then(|e| e.checked_mul(4))
            .filter(|l| offset.checked_add(*l).is_some_and(|end| end <= blob_area.len()))
            .ok_or_else(|| {
                format!(
                    "the file is damaged: weight {} with shape ({}) does not fit in the file's data",
                    r.path(),
                    fmt_shape(&r.shape)
                )
            })?;
        let v = blob_area[offset..offset + len]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        offset += len;
        Ok(v)
    };
    let weights = header.weights.iter().map(&mut take).collect::<Result<Vec<_>, _>>()?;
    let optimizer_weights = header.optimizer_weights.iter().map(&mut take).collect::<Result<Vec<_>, _>>()?;
    if offset != blob_area.len() {
        return Err(format!(
            "the file is damaged: its header lists {offset} bytes of weights, the file holds {}",
            blob_area.len()
        ));
    }
    Ok(Decoded { header, weights, optimizer_weights })
}

/// The header of a file, after all the checks of [`decode`].
pub fn read_header(bytes: &[u8]) -> Result<Header, String> {
    decode(bytes).map(|d| d.header)
}

/// Upper bound check on what building `spec` allocates, before building it: the weights of
/// the layers whose shapes this function knows must not exceed what the file holds (a
/// crafted header asking for terabytes gets an error, not an allocation failure). Layers it
/// does not know end the check.
fn check_architecture_size(spec: &ModelSpec, available: usize) -> Result<(), String> {
    let too_big = || format!("the file is damaged: its architecture needs more weights than the {available} it holds");
    if spec.is_graph() {
        // a lower bound without shape inference (a dense layer has at least `units` weights)
        let mut total = 0usize;
        for l in &spec.layers {
            total = total.checked_add(l.kind.min_weight_count()).ok_or_else(too_big)?;
        }
        return if total > available { Err(too_big()) } else { Ok(()) };
    }
    let mut shape = spec.input_shape.clone();
    elements(&shape).ok_or_else(too_big)?;
    let mut total = 0usize;
    for l in &spec.layers {
        match l.kind.weight_count(&mut shape) {
            WeightCount::Values(n) => total = total.checked_add(n).ok_or_else(too_big)?,
            WeightCount::TooBig => return Err(too_big()),
            WeightCount::Unknown => break,
        }
        if total > available {
            return Err(too_big());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------

mod files;
mod finite;
mod temps;
pub use files::{check_regular_file, read_regular_file};
pub use finite::{check_finite, check_finite_values};
pub use temps::{remove_stale_temps, temp_path};

/// Writes `bytes` to a new file at `path` (which must not exist) and flushes it to disk.
pub fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| format!("cannot create '{}': {e}", path.display()))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| format!("cannot write '{}': {e}", path.display()))
}

/// Moves a finished temporary file over `target` in one step (a rename within a directory
/// is atomic: readers see the old file or the new one, never a mix), then flushes the
/// directory entry.
pub fn replace_file(tmp: &Path, target: &Path) -> Result<(), String> {
    std::fs::rename(tmp, target)
        .map_err(|e| format!("cannot move '{}' to '{}': {e}", tmp.display(), target.display()))?;
    #[cfg(unix)]
    if let Some(dir) = target.parent() {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------

fn to_f32<T: Real>(v: &[T]) -> Vec<f32> {
    v.iter().map(|x| x.to_f32().unwrap_or(f32::NAN)).collect()
}

/// Where each parameter the optimizer updates comes from: `(layer, weight, shape)` of the
/// trainable weights, in order.
fn trainable_refs<T: Real>(m: &Model<T>) -> Vec<(String, String, Vec<usize>)> {
    m.layers()
        .iter()
        .filter(|l| l.spec().trainable)
        .flat_map(|l| {
            let name = l.spec().name.clone();
            l.weights().into_iter().filter(|w| w.trainable).map(move |w| (name.clone(), w.name.to_string(), w.shape))
        })
        .collect()
}

/// `(layer, weight)` and shape of every weight of a model, Keras order.
fn weight_refs<T: Real>(m: &Model<T>) -> Vec<BlobRef> {
    m.get_weights()
        .into_iter()
        .map(|(layer, weight, shape, _)| BlobRef { layer, weight: weight.to_string(), slot: None, shape })
        .collect()
}

impl<T: Real> Model<T> {
    fn header(&self, kind: FileKind) -> Header {
        Header {
            kind,
            writer: concat!("rkeras-core ", env!("CARGO_PKG_VERSION")).to_string(),
            dtype: "float32".into(),
            model: self.spec.clone(),
            compile: None,
            optimizer: None,
            rng: None,
            weights: weight_refs(self),
            optimizer_weights: Vec::new(),
        }
    }

    /// The whole model as a file: architecture, weights, the model's random stream and, when
    /// compiled, the compile configuration, plus the optimizer state when `include_optimizer`.
    pub fn to_bytes(&self, include_optimizer: bool) -> Vec<u8> {
        let mut h = self.header(FileKind::Model);
        h.rng = Some(self.rng.clone());
        let state = self.compiled.as_ref().filter(|_| include_optimizer).map(|c| c.optimizer.state());
        let weights: Vec<Vec<f32>> = self.get_weights().into_iter().map(|(_, _, _, v)| to_f32(&v)).collect();
        let mut blobs: Vec<&[f32]> = weights.iter().map(|v| &v[..]).collect();
        if let Some(c) = &self.compiled {
            h.compile = Some(c.spec.clone());
            if let Some(state) = &state {
                h.optimizer =
                    Some(OptimizerHeader { iterations: state.iterations, learning_rate: state.learning_rate });
                let names = c.optimizer.slot_names();
                for ((layer, weight, shape), slots) in trainable_refs(self).into_iter().zip(&state.slots) {
                    for (name, values) in names.iter().zip(slots) {
                        h.optimizer_weights.push(BlobRef {
                            layer: layer.clone(),
                            weight: weight.clone(),
                            slot: Some(name.to_string()),
                            shape: shape.clone(),
                        });
                        blobs.push(values);
                    }
                }
            }
        }
        encode(&h, &blobs)
    }

    /// Only the weights (`save_model_weights()`); the architecture is recorded for messages.
    pub fn weights_to_bytes(&self) -> Vec<u8> {
        let h = self.header(FileKind::Weights);
        let weights: Vec<Vec<f32>> = self.get_weights().into_iter().map(|(_, _, _, v)| to_f32(&v)).collect();
        let blobs: Vec<&[f32]> = weights.iter().map(|v| &v[..]).collect();
        encode(&h, &blobs)
    }

    /// Rebuilds a model from [`Model::to_bytes`] output: same architecture, bitwise the same
    /// weights, the same random stream and, when `compile` and the file has them, the same
    /// compile configuration and optimizer state (so training resumes exactly).
    pub fn from_bytes(bytes: &[u8], compile: bool) -> Result<Model<T>, String> {
        let d = decode(bytes)?;
        Self::from_decoded(d, compile)
    }

    /// [`Model::from_bytes`] on a decoded file.
    pub fn from_decoded(d: Decoded, compile: bool) -> Result<Model<T>, String> {
        let Decoded { header, weights, optimizer_weights } = d;
        if header.kind != FileKind::Model {
            return Err("the file holds only weights (written by save_model_weights()), not a model: \
                        build the model and load them with load_model_weights()"
                .into());
        }
        let available = weights.iter().map(|w| w.len()).sum();
        check_architecture_size(&header.model, available)?;
        let mut m = Model::<T>::build(header.model.clone(), &mut Rng::seed_from(0))
            .map_err(|e| format!("the file's architecture cannot be built: {e}"))?;
        let expected = weight_refs(&m);
        if expected.len() != header.weights.len() {
            return Err(format!(
                "the file is damaged: its architecture has {} weight arrays, the file holds {}",
                expected.len(),
                header.weights.len()
            ));
        }
        for (i, (e, f)) in expected.iter().zip(&header.weights).enumerate() {
            if e.layer != f.layer || e.weight != f.weight || e.shape != f.shape {
                return Err(format!(
                    "the file is damaged: weight {} is {} with shape ({}), its architecture expects {} with shape ({})",
                    i + 1,
                    f.path(),
                    fmt_shape(&f.shape),
                    e.path(),
                    fmt_shape(&e.shape)
                ));
            }
        }
        let values: Vec<(Vec<usize>, Vec<T>)> = expected
            .iter()
            .zip(weights)
            .map(|(e, w)| (e.shape.clone(), w.into_iter().map(|x| T::c(x as f64)).collect()))
            .collect();
        m.set_weights(&values)?;
        if let Some(rng) = header.rng {
            m.rng = rng;
        }
        if let (true, Some(spec)) = (compile, header.compile) {
            spec.optimizer.validate().map_err(|e| format!("the file's optimizer configuration is invalid: {e}"))?;
            m.compile(spec)?;
            if let Some(opt) = header.optimizer {
                let trainable = trainable_refs(&m);
                let names = m.compiled.as_ref().expect("compiled").optimizer.slot_names();
                let n_slots = names.len();
                if header.optimizer_weights.len() != trainable.len() * n_slots {
                    return Err(format!(
                        "the file is damaged: it holds {} optimizer arrays, the model needs {} ({} trainable weights x {} slots)",
                        header.optimizer_weights.len(),
                        trainable.len() * n_slots,
                        trainable.len(),
                        n_slots
                    ));
                }
                let expected = trainable.iter().flat_map(|(l, w, shape)| {
                    names.iter().map(move |s| BlobRef {
                        layer: l.clone(),
                        weight: w.clone(),
                        slot: Some(s.to_string()),
                        shape: shape.clone(),
                    })
                });
                for (e, f) in expected.zip(&header.optimizer_weights) {
                    if e != *f {
                        return Err(format!(
                            "the file is damaged: optimizer array {} with shape ({}) should be {} with shape ({})",
                            f.path(),
                            fmt_shape(&f.shape),
                            e.path(),
                            fmt_shape(&e.shape)
                        ));
                    }
                }
                let mut it = optimizer_weights.into_iter();
                let slots: Vec<Vec<Vec<f32>>> =
                    trainable.iter().map(|_| (0..n_slots).map(|_| it.next().unwrap_or_default()).collect()).collect();
                let state = OptimizerState { iterations: opt.iterations, learning_rate: opt.learning_rate, slots };
                let c = m.compiled.as_mut().expect("compiled");
                c.optimizer.set_state(&state).map_err(|e| format!("the file's optimizer state does not fit: {e}"))?;
            }
        }
        Ok(m)
    }

    /// Loads the weights of a file written by [`Model::weights_to_bytes`] or
    /// [`Model::to_bytes`] into this model. Keras rules: by default layers with weights are
    /// matched in order (weightless layers do not count); with `by_name` they are matched by
    /// name and layers missing from the file keep their weights. A shape mismatch is an
    /// error, or, with `skip_mismatch` (and `by_name`), skips the layer with a warning.
    /// Returns the warnings. On error nothing changes.
    pub fn load_weights_bytes(
        &mut self,
        bytes: &[u8],
        by_name: bool,
        skip_mismatch: bool,
    ) -> Result<Vec<String>, String> {
        let d = decode(bytes)?;
        check_finite(&d)?;
        // the file's weights grouped by layer, in order
        let mut file_layers: Vec<(String, Vec<(usize, &BlobRef)>)> = Vec::new();
        for (i, r) in d.header.weights.iter().enumerate() {
            match file_layers.last_mut() {
                Some((name, v)) if *name == r.layer => v.push((i, r)),
                _ => file_layers.push((r.layer.clone(), vec![(i, r)])),
            }
        }
        let model_layers: Vec<(String, Vec<Vec<usize>>)> = self
            .layers()
            .iter()
            .filter(|l| !l.weights().is_empty())
            .map(|l| (l.spec().name.clone(), l.weights().into_iter().map(|w| w.shape).collect()))
            .collect();
        let mut values: Vec<(Vec<usize>, Vec<T>)> =
            self.get_weights().into_iter().map(|(_, _, shape, v)| (shape, v)).collect();
        let mut warnings = Vec::new();
        if !by_name && file_layers.len() != model_layers.len() {
            return Err(format!(
                "You are trying to load a weight file containing {} layers into a model with {} layers",
                file_layers.len(),
                model_layers.len()
            ));
        }
        let mut pos = 0usize; // index of the first weight of the current model layer
        for (k, (name, shapes)) in model_layers.iter().enumerate() {
            let found = if by_name { file_layers.iter().find(|(n, _)| n == name) } else { file_layers.get(k) };
            let start = pos;
            pos += shapes.len();
            let Some((fname, fw)) = found else { continue };
            let file_shapes: Vec<&Vec<usize>> = fw.iter().map(|(_, r)| &r.shape).collect();
            let fits = fw.len() == shapes.len() && file_shapes.iter().zip(shapes).all(|(a, b)| *a == b);
            if !fits {
                let msg = format!(
                    "layer {} (\"{name}\") expects {} weight(s) with shapes {}, but the file's layer \"{fname}\" has {} with shapes {}",
                    k + 1,
                    shapes.len(),
                    shapes.iter().map(|s| format!("({})", fmt_shape(s))).collect::<Vec<_>>().join(", "),
                    fw.len(),
                    file_shapes.iter().map(|s| format!("({})", fmt_shape(s))).collect::<Vec<_>>().join(", ")
                );
                if skip_mismatch && by_name {
                    warnings.push(format!("Skipping loading of weights for {msg}"));
                    continue;
                }
                return Err(msg);
            }
            for (j, (i, _)) in fw.iter().enumerate() {
                values[start + j].1 = d.weights[*i].iter().map(|x| T::c(*x as f64)).collect();
            }
        }
        self.set_weights(&values)?;
        Ok(warnings)
    }

    /// The same model with a new spec (for example other `trainable` flags, or without its
    /// last layer): layers whose name and weight shapes are unchanged keep their weights,
    /// others are initialized from `rng`; the model's random stream is kept. The result is
    /// not compiled.
    pub fn rebuilt(&self, spec: ModelSpec, rng: &mut Rng) -> Result<Model<T>, String> {
        let mut m = Model::<T>::build(spec, rng)?;
        for l in m.layers_mut() {
            let Some(old) = self.layers().iter().find(|o| o.spec().name == l.spec().name) else { continue };
            let old_w = old.weights();
            let new_shapes: Vec<Vec<usize>> = l.weights().into_iter().map(|w| w.shape).collect();
            if old_w.len() != new_shapes.len() || old_w.iter().zip(&new_shapes).any(|(o, s)| &o.shape != s) {
                continue;
            }
            let mut ws = Vec::new();
            l.push_weights_mut(&mut ws);
            for (p, o) in ws.into_iter().zip(&old_w) {
                p.copy_from_slice(o.values);
            }
        }
        m.rng = self.rng.clone();
        Ok(m)
    }
}

#[cfg(test)]
mod tests;
