//! The HDF5 layer under [`super`]: reading groups, string attributes and float datasets
//! through the pure-Rust `hdf5-pure` crate with errors that say what is wrong, and
//! building a file from a tree of groups, attributes and datasets.
//!
//! Files are written in the HDF5 1.8 format (version 2 superblock, "new style" groups),
//! which every HDF5 library since 1.8 (2008) reads, h5py included.

use hdf5_pure::{AttrValue, File, FileBuilder, GroupBuilder, LibVer};
use std::collections::{BTreeMap, HashMap};

type R<T> = Result<T, String>;

/// The 8-byte HDF5 format signature.
pub const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Largest number of `name0`, `name1`, ... chunks of an attribute read (Keras splits
/// attributes over 64 KiB into chunks).
const MAX_ATTR_CHUNKS: usize = 100_000;

/// An HDF5 file opened for reading.
pub struct H5 {
    file: File,
    len: u64,
}

fn has_signature(bytes: &[u8]) -> bool {
    // The superblock may follow a user block of 512, 1024, 2048, ... bytes.
    let mut at = 0usize;
    loop {
        if bytes.len() < at + 8 {
            return false;
        }
        if &bytes[at..at + 8] == SIGNATURE {
            return true;
        }
        at = if at == 0 { 512 } else { at * 2 };
    }
}

impl H5 {
    /// Parses the file's bytes.
    pub fn parse(bytes: Vec<u8>) -> R<H5> {
        if !has_signature(&bytes) {
            return Err("it is not an HDF5 file (no HDF5 signature)".into());
        }
        let len = bytes.len() as u64;
        let file = File::from_bytes(bytes).map_err(|e| format!("it is not a readable HDF5 file ({e})"))?;
        let sb = file.superblock();
        let end = sb.eof_address.saturating_add(sb.base_address.get());
        if end > len {
            return Err(format!("the file is truncated: its superblock says {end} bytes, it has {len}"));
        }
        Ok(H5 { file, len })
    }

    /// Whether a group exists at `path` ("" is the root).
    pub fn has_group(&self, path: &str) -> bool {
        path.is_empty() || self.file.group(path).is_ok()
    }

    /// The attributes of the group at `path` ("" is the root).
    pub fn attrs(&self, path: &str) -> R<HashMap<String, AttrValue>> {
        let g = if path.is_empty() { Ok(self.file.root()) } else { self.file.group(path) };
        g.and_then(|g| g.attrs()).map_err(|e| format!("cannot read the attributes of group '/{path}' ({e})"))
    }

    /// A dataset's shape and values as `f32` (integer and `f64` data are converted).
    pub fn read_f32(&self, path: &str) -> R<(Vec<usize>, Vec<f32>)> {
        let ds = self.file.dataset(path).map_err(|e| format!("cannot open dataset '/{path}' ({e})"))?;
        let shape = self.checked_shape(&ds, path)?;
        let v = ds.read_f32().map_err(|e| format!("cannot read dataset '/{path}' ({e})"))?;
        let n: usize = shape.iter().product();
        if v.len() != n {
            return Err(format!("dataset '/{path}' has {} values for shape ({})", v.len(), fmt(&shape)));
        }
        Ok((shape, v))
    }

    /// A scalar (or one-element) integer dataset.
    pub fn read_i64_scalar(&self, path: &str) -> R<i64> {
        let ds = self.file.dataset(path).map_err(|e| format!("cannot open dataset '/{path}' ({e})"))?;
        let shape = self.checked_shape(&ds, path)?;
        if shape.iter().product::<usize>() != 1 {
            return Err(format!("dataset '/{path}' has shape ({}), a scalar was expected", fmt(&shape)));
        }
        let v = ds.read_i64().map_err(|e| format!("cannot read dataset '/{path}' ({e})"))?;
        v.first().copied().ok_or_else(|| format!("dataset '/{path}' is empty"))
    }

    /// The shape, checked against the file size before anything is allocated for the data.
    fn checked_shape(&self, ds: &hdf5_pure::Dataset, path: &str) -> R<Vec<usize>> {
        let shape = ds.shape().map_err(|e| format!("cannot read the shape of dataset '/{path}' ({e})"))?;
        let mut n: u64 = 1;
        for d in &shape {
            n = n.checked_mul(*d).ok_or_else(|| format!("dataset '/{path}' has an impossible shape"))?;
        }
        if n > self.len {
            return Err(format!("dataset '/{path}' claims {n} values, more than the file holds (is it truncated?)"));
        }
        Ok(shape.iter().map(|d| *d as usize).collect())
    }
}

fn fmt(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}

/// A string attribute (fixed or variable length; bytes are decoded as UTF-8).
pub fn attr_string(attrs: &HashMap<String, AttrValue>, name: &str) -> Option<String> {
    let v = attrs.get(name)?;
    if let Some(s) = v.as_str() {
        return Some(s.to_string());
    }
    match v {
        AttrValue::U8Array(b) => String::from_utf8(b.clone()).ok(),
        AttrValue::I8Array(b) => String::from_utf8(b.iter().map(|x| *x as u8).collect()).ok(),
        _ => None,
    }
}

/// A list-of-strings attribute as Keras writes it (`layer_names`, `weight_names`): a string
/// array, possibly split over `name0`, `name1`, ...; an empty float array is an empty list.
/// `None` when the attribute is absent.
pub fn attr_strings(attrs: &HashMap<String, AttrValue>, name: &str) -> R<Option<Vec<String>>> {
    let one = |v: &AttrValue| -> R<Vec<String>> {
        if let Some(s) = v.as_strings() {
            return Ok(s.to_vec());
        }
        match v {
            AttrValue::F64Array(a) if a.is_empty() => Ok(vec![]),
            AttrValue::F32Array(a) if a.is_empty() => Ok(vec![]),
            _ => Err(format!("attribute '{name}' is not a list of strings")),
        }
    };
    if let Some(v) = attrs.get(name) {
        return one(v).map(Some);
    }
    let mut out = Vec::new();
    let mut found = false;
    for i in 0..MAX_ATTR_CHUNKS {
        match attrs.get(&format!("{name}{i}")) {
            Some(v) => {
                out.extend(one(v)?);
                found = true;
            }
            None => break,
        }
    }
    Ok(found.then_some(out))
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// Dataset contents.
pub enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

#[derive(Default)]
struct GroupNode {
    attrs: Vec<(String, AttrValue)>,
    groups: BTreeMap<String, GroupNode>,
    datasets: Vec<(String, Vec<u64>, Data)>,
}

/// A file under construction: groups are created on demand along `/`-separated paths.
#[derive(Default)]
pub struct Tree {
    root: GroupNode,
}

impl Tree {
    fn group_mut(&mut self, path: &str) -> &mut GroupNode {
        let mut g = &mut self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            g = g.groups.entry(part.to_string()).or_default();
        }
        g
    }

    /// Sets an attribute on the group at `path` ("" is the root).
    pub fn attr(&mut self, path: &str, name: &str, value: AttrValue) {
        self.group_mut(path).attrs.push((name.to_string(), value));
    }

    /// A variable-length UTF-8 string attribute (what h5py writes for `str`).
    pub fn attr_str(&mut self, path: &str, name: &str, value: &str) {
        self.attr(path, name, AttrValue::VarLenString(value.to_string()));
    }

    /// A list of strings as Keras writes it: a variable-length string array, or an empty
    /// float64 array when the list is empty (what `np.asarray([])` gives h5py).
    pub fn attr_strings(&mut self, path: &str, name: &str, values: &[String]) {
        let v =
            if values.is_empty() { AttrValue::F64Array(vec![]) } else { AttrValue::VarLenStringArray(values.to_vec()) };
        self.attr(path, name, v);
    }

    /// A dataset at `path` (its parent groups are created); `shape` `[]` is a scalar.
    pub fn dataset(&mut self, path: &str, shape: &[usize], data: Data) {
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        let shape = shape.iter().map(|d| *d as u64).collect();
        self.group_mut(parent).datasets.push((name.to_string(), shape, data));
    }

    /// The file's bytes.
    pub fn finish(self) -> R<Vec<u8>> {
        let mut b = FileBuilder::new();
        b.with_libver_bounds(LibVer::Earliest, LibVer::V18);
        let GroupNode { attrs, groups, datasets } = self.root;
        for (k, v) in attrs {
            b.set_attr(&k, v);
        }
        for (name, shape, data) in datasets {
            let d = b.create_dataset(&name);
            match &data {
                Data::F32(v) => d.with_f32_data(v),
                Data::I64(v) => d.with_i64_data(v),
            };
            d.with_shape(&shape);
        }
        for (name, node) in groups {
            let mut g = b.create_group(&name);
            fill_group(&mut g, node);
            b.add_group(g.finish());
        }
        b.finish().map_err(|e| format!("cannot build the HDF5 file ({e})"))
    }
}

fn fill_group(g: &mut GroupBuilder, node: GroupNode) {
    let GroupNode { attrs, groups, datasets } = node;
    for (k, v) in attrs {
        g.set_attr(&k, v);
    }
    for (name, shape, data) in datasets {
        let d = g.create_dataset(&name);
        match &data {
            Data::F32(v) => d.with_f32_data(v),
            Data::I64(v) => d.with_i64_data(v),
        };
        d.with_shape(&shape);
    }
    for (name, child) in groups {
        let mut sub = g.create_group(&name);
        fill_group(&mut sub, child);
        g.add_group(sub.finish());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_round_trip() {
        let mut t = Tree::default();
        t.attr_str("", "s", "h\u{e9}llo");
        t.attr_strings("g/h", "names", &["a".into(), "b:0".into()]);
        t.attr_strings("g", "empty", &[]);
        t.dataset("g/h/w:0", &[2, 3], Data::F32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]));
        t.dataset("it", &[], Data::I64(vec![42]));
        let bytes = t.finish().unwrap();
        assert_eq!(&bytes[..8], SIGNATURE);
        let h = H5::parse(bytes).unwrap();
        let root = h.attrs("").unwrap();
        assert_eq!(attr_string(&root, "s").as_deref(), Some("h\u{e9}llo"));
        let gh = h.attrs("g/h").unwrap();
        assert_eq!(attr_strings(&gh, "names").unwrap().unwrap(), vec!["a", "b:0"]);
        assert_eq!(attr_strings(&h.attrs("g").unwrap(), "empty").unwrap().unwrap(), Vec::<String>::new());
        assert_eq!(attr_strings(&gh, "absent").unwrap(), None);
        assert_eq!(h.read_f32("g/h/w:0").unwrap(), (vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]));
        assert_eq!(h.read_i64_scalar("it").unwrap(), 42);
        assert!(h.read_i64_scalar("g/h/w:0").is_err());
        assert!(h.read_f32("nope").is_err());
        assert!(h.has_group("g/h") && !h.has_group("x"));
    }

    #[test]
    fn chunked_attributes_and_signatures() {
        let mut attrs = HashMap::new();
        attrs.insert("layer_names0".to_string(), AttrValue::VarLenStringArray(vec!["a".into()]));
        attrs.insert("layer_names1".to_string(), AttrValue::VarLenStringArray(vec!["b".into(), "c".into()]));
        assert_eq!(attr_strings(&attrs, "layer_names").unwrap().unwrap(), vec!["a", "b", "c"]);
        assert!(H5::parse(b"PK\x03\x04 not hdf5".to_vec()).err().unwrap().contains("not an HDF5 file"));
        assert!(H5::parse(vec![]).is_err());
        let mut trunc = SIGNATURE.to_vec();
        trunc.extend([0u8; 20]);
        assert!(H5::parse(trunc).err().unwrap().contains("not a readable HDF5 file"));
    }
}
