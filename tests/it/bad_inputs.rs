//! The bad-input suite: broken, odd and hostile files never panic; the right files are
//! skipped and named; inconsistent embeddings stop with one clear message; nothing is
//! written outside the cache.

use std::path::{Path, PathBuf};

use crate::common::{fixture, snapshot};
use clip_plot::cache::PreparedDataset;
use clip_plot::dataset::npy::{encode_npy_f16, encode_npy_f32};
use clip_plot::dataset::{Dataset, DatasetError, DatasetOptions};
use clip_plot::prepare::{NoProgress, PrepareError, PrepareOptions, prepare};
use clip_plot::thumbs::decode_large;

fn real_jpeg() -> Vec<u8> {
    std::fs::read(fixture(
        "butterflies/jpgs/354747d21-638c-4e23-a655-c0bb4de18941.jpg",
    ))
    .unwrap()
}

fn real_png() -> Vec<u8> {
    std::fs::read(fixture("tuxpaint/images/symbols/shapes/circle.png"))
        .or_else(|_| {
            let any = snapshot(&fixture("tuxpaint/images/symbols"))
                .into_keys()
                .next()
                .unwrap();
            std::fs::read(any)
        })
        .unwrap()
}

/// Builds `root/images` full of trouble, plus two good files.
fn troubled_dataset(root: &Path) -> PathBuf {
    let images = root.join("images");
    std::fs::create_dir_all(images.join("sub")).unwrap();
    let jpeg = real_jpeg();
    let write = |name: &str, bytes: &[u8]| std::fs::write(images.join(name), bytes).unwrap();
    write("good.jpg", &jpeg);
    write("café photo ü.jpg", &jpeg);
    write("zero.jpg", &[]);
    write("truncated.jpg", &jpeg[..jpeg.len() / 3]);
    write(
        "garbage.jpg",
        b"\x00\x01 definitely not a picture, just bytes \xff\xfe",
    );
    write("png_named.jpg", &real_png());
    for name in [
        "cmyk.jpg",
        "exif_rotated.jpg",
        "palette.png",
        "gray16.png",
        "huge_30000.png",
        "animated.gif",
    ] {
        std::fs::copy(fixture("odd").join(name), images.join(name)).unwrap();
    }
    let mut png16 = Vec::new();
    image::DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(
        20,
        10,
        image::Rgb([65535u16, 0, 30000]),
    ))
    .write_to(
        &mut std::io::Cursor::new(&mut png16),
        image::ImageFormat::Png,
    )
    .unwrap();
    write("rgb16.png", &png16);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(images.join("missing.jpg"), images.join("dangling.jpg"))
            .unwrap();
        std::os::unix::fs::symlink(&images, images.join("sub/loop")).unwrap();
    }
    images
}

fn skipped_reason<'a>(skipped: &'a [clip_plot::dataset::Skipped], path: &str) -> &'a str {
    skipped
        .iter()
        .find(|s| s.path == path)
        .map(|s| s.reason.as_str())
        .unwrap_or_else(|| panic!("{path} not among skipped: {skipped:#?}"))
}

#[test]
fn broken_and_odd_images_are_skipped_or_handled() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("set");
    troubled_dataset(&root);
    let before = snapshot(&root);
    let cache = tmp.path().join("cache");
    let opts = PrepareOptions::new(DatasetOptions {
        root: root.clone(),
        cache: Some(cache.clone()),
        ..Default::default()
    });
    let report = prepare(&opts, &NoProgress).unwrap();
    assert_eq!(snapshot(&root), before, "nothing written into the dataset");

    let s = &report.skipped;
    assert!(skipped_reason(s, "zero.jpg").contains("empty"));
    assert!(skipped_reason(s, "truncated.jpg").contains("JPEG"));
    assert!(skipped_reason(s, "garbage.jpg").contains("not an image"));
    assert!(skipped_reason(s, "huge_30000.png").contains("too large"));
    assert!(skipped_reason(s, "dangling.jpg").contains("dangling"));
    assert!(skipped_reason(s, "sub/loop").contains("loop"));
    assert_eq!(s.len(), 6, "{s:#?}");

    let p = PreparedDataset::open(&cache).unwrap();
    let find = |name: &str| {
        p.images
            .iter()
            .position(|i| i == name)
            .unwrap_or_else(|| panic!("{name} missing from {:?}", p.images))
    };
    for name in [
        "good.jpg",
        "café photo ü.jpg",
        "png_named.jpg",
        "palette.png",
        "gray16.png",
        "rgb16.png",
    ] {
        find(name);
    }
    let large = |name: &str| decode_large(&p.large_thumb_bytes(find(name)).unwrap()).unwrap();

    // EXIF orientation 6: stored 64×32 with red on the left; upright it is 32×64, red on top.
    let r = p.thumb_records()[find("exif_rotated.jpg")];
    assert_eq!((r.source_w, r.source_h), (32, 64));
    let upright = large("exif_rotated.jpg");
    assert_eq!(upright.dimensions(), (32, 64));
    let top = upright.get_pixel(16, 8);
    let bottom = upright.get_pixel(16, 56);
    assert!(top[0] > 200 && top[2] < 60, "top should be red: {top:?}");
    assert!(
        bottom[2] > 200 && bottom[0] < 60,
        "bottom should be blue: {bottom:?}"
    );

    // CMYK: full cyan ink on the left, none on the right.
    let cmyk = large("cmyk.jpg");
    let left = cmyk.get_pixel(8, 16);
    let right = cmyk.get_pixel(56, 16);
    assert!(
        left[0] < 60 && left[1] > 200 && left[2] > 200,
        "cyan: {left:?}"
    );
    assert!(right.0[..3].iter().all(|&c| c > 220), "white: {right:?}");

    // Animated GIF: the first frame (red).
    let gif = large("animated.gif");
    assert!(gif.get_pixel(12, 12)[0] > 200 && gif.get_pixel(12, 12)[2] < 50);

    // Palette PNG with a transparent index keeps its transparency.
    let palette = large("palette.png");
    assert_eq!(palette.get_pixel(5, 5)[3], 0);
    assert!(palette.get_pixel(30, 5)[0] > 150);
}

fn embedding_case(files: &[(&str, Vec<u8>)], images: usize) -> (tempfile::TempDir, DatasetOptions) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    std::fs::create_dir_all(root.join("images")).unwrap();
    let jpeg = real_jpeg();
    for i in 0..images {
        std::fs::write(root.join(format!("images/{i}.jpg")), &jpeg).unwrap();
    }
    for (name, bytes) in files {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let opts = DatasetOptions {
        root,
        ..Default::default()
    };
    (tmp, opts)
}

fn names(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("{i}.jpg\n"))
        .collect::<String>()
        .into_bytes()
}

fn open_err(files: &[(&str, Vec<u8>)], images: usize) -> String {
    let (_tmp, opts) = embedding_case(files, images);
    let before = snapshot(&opts.root);
    let err = Dataset::open(&opts).unwrap_err();
    assert_eq!(snapshot(&opts.root), before);
    err.to_string()
}

#[test]
fn inconsistent_embeddings_stop_with_one_clear_message() {
    // Row count differs from the file list.
    let msg = open_err(
        &[
            ("embeddings.npy", encode_npy_f32(3, 4, &[0.5; 12])),
            ("filenames.txt", names(4)),
        ],
        4,
    );
    assert!(
        msg.contains("embeddings.npy has 3 rows") && msg.contains("filenames.txt has 4"),
        "{msg}"
    );

    // 1-D array.
    let one_d = {
        let mut b = encode_npy_f32(1, 4, &[0.5; 4]);
        let pos = b.windows(6).position(|w| w == b"(1, 4)").unwrap();
        b.splice(pos..pos + 6, b"(4,)  ".iter().copied());
        b
    };
    let msg = open_err(&[("embeddings.npy", one_d), ("filenames.txt", names(1))], 1);
    assert!(msg.contains("1-D"), "{msg}");

    // Complex numbers.
    let complex = {
        let mut b = encode_npy_f32(2, 2, &[0.5; 4]);
        let pos = b.windows(3).position(|w| w == b"<f4").unwrap();
        b[pos..pos + 3].copy_from_slice(b"<c8");
        b
    };
    let msg = open_err(
        &[("embeddings.npy", complex), ("filenames.txt", names(1))],
        1,
    );
    assert!(msg.contains("complex"), "{msg}");

    // Truncated.
    let full = encode_npy_f16(4, 8, &[0.25; 32]);
    let msg = open_err(
        &[
            ("embeddings.npy", full[..full.len() - 10].to_vec()),
            ("filenames.txt", names(4)),
        ],
        4,
    );
    assert!(msg.contains("truncated"), "{msg}");

    // clip-retrieval shard whose metadata lacks image_path.
    let msg = open_err(
        &[
            (
                "embeddings/img_emb/img_emb_0.npy",
                encode_npy_f16(2, 4, &[0.5; 8]),
            ),
            (
                "embeddings/metadata/metadata_0.parquet",
                std::fs::read(fixture("odd/no_image_path.parquet")).unwrap(),
            ),
        ],
        2,
    );
    assert!(
        msg.contains("no `image_path` column") && msg.contains("metadata_0.parquet"),
        "{msg}"
    );

    // Shards of different dimensions.
    let (_tmp, opts) = embedding_case(
        &[
            ("emb/a.jpg.npy", encode_npy_f32(1, 4, &[0.5; 4])),
            ("emb/b.jpg.npy", encode_npy_f32(1, 5, &[0.5; 5])),
        ],
        0,
    );
    for name in ["a.jpg", "b.jpg"] {
        std::fs::write(opts.root.join("images").join(name), real_jpeg()).unwrap();
    }
    let err = Dataset::open(&DatasetOptions {
        embeddings: Some(opts.root.join("emb")),
        ..opts.clone()
    })
    .unwrap_err();
    assert!(
        matches!(err, DatasetError::DimensionMismatch { .. }),
        "{err}"
    );

    // No images at all.
    let (_tmp, opts) = embedding_case(&[], 0);
    assert!(matches!(
        Dataset::open(&opts).unwrap_err(),
        DatasetError::NoImages { .. }
    ));
}

#[test]
fn nan_rows_are_left_out_by_name() {
    let mut data = vec![0.5f32; 3 * 4];
    data[5] = f32::NAN;
    let (_tmp, opts) = embedding_case(
        &[
            ("embeddings.npy", encode_npy_f32(3, 4, &data)),
            ("filenames.txt", names(3)),
        ],
        3,
    );
    let cache = opts.root.join(".clip-plot");
    let report = prepare(
        &PrepareOptions::new(DatasetOptions {
            cache: Some(cache),
            ..opts
        }),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(report.images, 2);
    assert!(skipped_reason(&report.skipped, "1.jpg").contains("NaN"));
}

#[test]
fn a_folder_of_only_broken_files_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("images")).unwrap();
    std::fs::write(tmp.path().join("images/a.jpg"), b"nope").unwrap();
    let err = prepare(
        &PrepareOptions::new(DatasetOptions {
            root: tmp.path().to_path_buf(),
            ..Default::default()
        }),
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(err, PrepareError::NoUsableImages { .. }));
    assert!(err.to_string().contains("a.jpg"), "{err}");
}
