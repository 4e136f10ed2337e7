//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copies a folder recursively (symlinks are not followed).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file below `dir` with its size and mtime, to prove nothing was written there.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(entry.path(), (meta.len(), meta.modified().unwrap()));
            }
        }
    }
    out
}

/// The binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_clip-plot-view"))
}

/// The tuxpaint fixture prepared once per test run (every test that needs it shares the
/// preparation, the slow part); returns its cache, which tests must not change.
pub fn shared_tuxpaint_cache() -> &'static Path {
    static CACHE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("shared-tuxpaint-{}", std::process::id()));
        clip_plot::prepare::prepare(
            &clip_plot::prepare::PrepareOptions::new(clip_plot::dataset::DatasetOptions {
                root: fixture("tuxpaint"),
                cache: Some(cache.clone()),
                logo: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/logo.png")),
                ..Default::default()
            }),
            &clip_plot::prepare::NoProgress,
        )
        .unwrap();
        cache
    })
}

/// A copy of the shared prepared tuxpaint cache in `dir/cache`, for a test to change.
pub fn prepared_tuxpaint_copy(dir: &Path) -> PathBuf {
    let cache = dir.join("cache");
    copy_dir(shared_tuxpaint_cache(), &cache);
    cache
}

/// A parquet table of text columns.
pub fn write_text_table(path: &Path, columns: &[(&str, Vec<String>)]) {
    let fields: String = columns
        .iter()
        .map(|(c, _)| format!("required binary {c} (UTF8); "))
        .collect();
    let schema = std::sync::Arc::new(
        parquet::schema::parser::parse_message_type(&format!("message schema {{ {fields} }}"))
            .unwrap(),
    );
    let mut writer = parquet::file::writer::SerializedFileWriter::new(
        std::fs::File::create(path).unwrap(),
        schema,
        Default::default(),
    )
    .unwrap();
    let mut group = writer.next_row_group().unwrap();
    for (_, values) in columns {
        let mut col = group.next_column().unwrap().unwrap();
        let bytes: Vec<parquet::data_type::ByteArray> = values
            .iter()
            .map(|t| parquet::data_type::ByteArray::from(t.as_str()))
            .collect();
        col.typed::<parquet::data_type::ByteArrayType>()
            .write_batch(&bytes, None, None)
            .unwrap();
        col.close().unwrap();
    }
    group.close().unwrap();
    writer.close().unwrap();
}

/// Every file below `dir`, recursively.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Checks a prepared cache of img2dataset shards below `root/shards`: every image is read
/// back from its container `shards/SHARD.EXT` (SHARD: the key's first five digits) with the
/// bytes of `source_of(key)`, and export names it `shards/SHARD.EXT/KEY.png` beside its key.
pub fn assert_shard_members_read_back_and_export(
    root: &Path,
    cache: &Path,
    ext: &str,
    source_of: impl Fn(&str) -> PathBuf,
    count: usize,
) {
    use clip_plot::dataset::ImageSource;
    let prepared = clip_plot::cache::PreparedDataset::open(cache).unwrap();
    assert_eq!(prepared.len(), count);
    for (i, rel) in prepared.images.iter().enumerate() {
        let key = clip_plot::dataset::coords::key_of(rel);
        let source = prepared.source(i).unwrap();
        let ImageSource::Member { container, .. } = &source else {
            panic!("{rel} is not read from its {ext}: {source:?}");
        };
        assert_eq!(*container, root.join(format!("shards/{}.{ext}", &key[..5])));
        assert_eq!(
            source.read().unwrap(),
            std::fs::read(source_of(key)).unwrap()
        );
    }
    let csv = cache.with_extension("export.csv");
    clip_plot::export::ExportTable::from_prepared(&prepared, "pca")
        .unwrap()
        .write(&csv)
        .unwrap();
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (filename, key) = (col("filename"), col("key"));
    let rows: Vec<_> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), count);
    for row in rows {
        let expected = format!("shards/{}.{ext}/{}.png", &row[key][..5], &row[key]);
        assert_eq!(row[filename], expected);
    }
}
