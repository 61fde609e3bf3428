use super::*;

fn shift_cols(v: &[f32], s: f64, mode: FillMode) -> Vec<f32> {
    // a 1 x n one-channel image; Keras' tx moves along the columns: out[i] = in[i + s]
    let t = Transform { tx: s, ..Transform::default() };
    let mut out = vec![0f32; v.len()];
    apply_transform(v, [1, v.len(), 1], &t, mode, -9.0, &mut out).unwrap();
    out
}

fn close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
    }
}

#[test]
fn fill_modes_match_scipy_affine_transform_order_1() {
    // expected values: scipy.ndimage.affine_transform(arange(5), [1], [s], order=1, mode=m, cval=-9)
    let v = [0f32, 1.0, 2.0, 3.0, 4.0];
    let cases: [(FillMode, f64, [f32; 5]); 12] = [
        (FillMode::Nearest, -1.5, [0.0, 0.0, 0.5, 1.5, 2.5]),
        (FillMode::Nearest, 1.5, [1.5, 2.5, 3.5, 4.0, 4.0]),
        (FillMode::Constant, -0.5, [-9.0, 0.5, 1.5, 2.5, 3.5]),
        (FillMode::Constant, 1.5, [1.5, 2.5, 3.5, -9.0, -9.0]),
        (FillMode::Reflect, -1.5, [0.5, 0.0, 0.5, 1.5, 2.5]),
        (FillMode::Reflect, -3.25, [2.25, 1.25, 0.25, 0.0, 0.75]),
        (FillMode::Reflect, 1.5, [1.5, 2.5, 3.5, 4.0, 3.5]),
        (FillMode::Reflect, 4.25, [4.0, 3.75, 2.75, 1.75, 0.75]),
        (FillMode::Wrap, -0.5, [3.5, 0.5, 1.5, 2.5, 3.5]),
        (FillMode::Wrap, -3.25, [0.75, 1.75, 2.75, 3.75, 0.75]),
        (FillMode::Wrap, 4.25, [0.25, 1.25, 2.25, 3.25, 0.25]),
        (FillMode::Wrap, 6.75, [2.75, 3.75, 0.75, 1.75, 2.75]),
    ];
    for (mode, s, want) in cases {
        close(&shift_cols(&v, s, mode), &want);
    }
}

#[test]
fn integer_shift_moves_whole_pixels_and_keeps_channels() {
    // 3 x 4 image, 2 channels (second = 100 + first); tx = 1: out[r, c] = in[r, c + 1] (nearest)
    let (h, w, c) = (3, 4, 2);
    let img: Vec<f32> = (0..h * w).flat_map(|i| [i as f32, 100.0 + i as f32]).collect();
    let mut out = vec![0f32; img.len()];
    let t = Transform { tx: 1.0, ..Transform::default() };
    apply_transform(&img, [h, w, c], &t, FillMode::Nearest, 0.0, &mut out).unwrap();
    let first: Vec<f32> = out.iter().step_by(2).cloned().collect();
    close(&first, &[1.0, 2.0, 3.0, 3.0, 5.0, 6.0, 7.0, 7.0, 9.0, 10.0, 11.0, 11.0]);
    let second: Vec<f32> = out.iter().skip(1).step_by(2).cloned().collect();
    close(&second, &first.iter().map(|v| v + 100.0).collect::<Vec<_>>());
    // ty = 1 moves along the rows: out[r, c] = in[r + 1, c]
    let t = Transform { ty: 1.0, ..Transform::default() };
    apply_transform(&img, [h, w, c], &t, FillMode::Constant, -1.0, &mut out).unwrap();
    let first: Vec<f32> = out.iter().step_by(2).cloned().collect();
    close(&first, &[4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, -1.0, -1.0, -1.0, -1.0]);
}

#[test]
fn rotation_by_90_degrees_turns_the_image_counterclockwise() {
    // Keras: apply_transform(arange(9).reshape(3, 3, 1), {'theta': 90}) = [[2,5,8],[1,4,7],[0,3,6]]
    let img: Vec<f32> = (0..9).map(|v| v as f32).collect();
    let mut out = vec![0f32; 9];
    let t = Transform { theta: 90.0, ..Transform::default() };
    apply_transform(&img, [3, 3, 1], &t, FillMode::Nearest, 0.0, &mut out).unwrap();
    close(&out, &[2.0, 5.0, 8.0, 1.0, 4.0, 7.0, 0.0, 3.0, 6.0]);
}

#[test]
fn flips_and_zoom() {
    let img: Vec<f32> = (0..6).map(|v| v as f32).collect(); // 2 x 3
    let mut out = vec![0f32; 6];
    let t = Transform { flip_horizontal: true, ..Transform::default() };
    apply_transform(&img, [2, 3, 1], &t, FillMode::Nearest, 0.0, &mut out).unwrap();
    close(&out, &[2.0, 1.0, 0.0, 5.0, 4.0, 3.0]);
    let t = Transform { flip_vertical: true, ..Transform::default() };
    apply_transform(&img, [2, 3, 1], &t, FillMode::Nearest, 0.0, &mut out).unwrap();
    close(&out, &[3.0, 4.0, 5.0, 0.0, 1.0, 2.0]);
    // zoom zx = 2 on a 5 x 5 image whose rows are 0..4: input col = 2 (col - 2) + 2
    let img: Vec<f32> = (0..25).map(|v| (v % 5) as f32).collect();
    let mut out = vec![0f32; 25];
    let t = Transform { zx: 2.0, ..Transform::default() };
    apply_transform(&img, [5, 5, 1], &t, FillMode::Constant, -9.0, &mut out).unwrap();
    close(&out[5..10], &[-9.0, 0.0, 2.0, 4.0, -9.0]);
    // zoom 0.5 interpolates halfway: input col = (col - 2) / 2 + 2
    let t = Transform { zx: 0.5, ..Transform::default() };
    apply_transform(&img, [5, 5, 1], &t, FillMode::Constant, -9.0, &mut out).unwrap();
    close(&out[20..25], &[1.0, 1.5, 2.0, 2.5, 3.0]);
    // Keras centres the column axis with the height (h / 2 - 0.5): on a 1 x 5 row the
    // centre is column 0, and Keras gives [0, 2, 4, -9, -9] (checked in Python)
    let row = [0f32, 1.0, 2.0, 3.0, 4.0];
    let mut out = vec![0f32; 5];
    apply_transform(
        &row,
        [1, 5, 1],
        &Transform { zx: 2.0, ..Transform::default() },
        FillMode::Constant,
        -9.0,
        &mut out,
    )
    .unwrap();
    close(&out, &[0.0, 2.0, 4.0, -9.0, -9.0]);
}

#[test]
fn channel_shift_clips_to_the_image_range_and_brightness_goes_through_8_bits() {
    let img = [0f32, 10.0, 20.0, 30.0];
    let mut out = vec![0f32; 4];
    let t = Transform { channel_shift_intensity: Some(15.0), ..Transform::default() };
    apply_transform(&img, [2, 2, 1], &t, FillMode::Nearest, 0.0, &mut out).unwrap();
    close(&out, &[15.0, 25.0, 30.0, 30.0]);
    let img = [0f32, 10.5, 100.0, 200.0];
    let t = Transform { brightness: Some(1.5), ..Transform::default() };
    apply_transform(&img, [2, 2, 1], &t, FillMode::Nearest, 0.0, &mut out).unwrap();
    close(&out, &[0.0, 15.0, 150.0, 255.0]);
    // values beyond 0..255 are scaled to 0..255 and back: -1 .. 1 -> 0, 127.5 (127), 255
    let img = [-1f32, 0.0, 1.0, 1.0];
    let t = Transform { brightness: Some(0.5), ..Transform::default() };
    apply_transform(&img, [2, 2, 1], &t, FillMode::Nearest, 0.0, &mut out).unwrap();
    let back = |q: f32| q / 255.0 * 2.0 - 1.0;
    close(&out, &[back(0.0), back(63.0), back(127.0), back(127.0)]);
    assert!(apply_transform(&img, [1, 2, 2], &t, FillMode::Nearest, 0.0, &mut out).is_err());
}

#[test]
fn standardize_order_and_values() {
    let s = StandardizeConfig {
        rescale: Some(0.5),
        mean: Some(vec![1.0, 2.0]),
        std: Some(vec![2.0, 4.0]),
        ..StandardizeConfig::default()
    };
    let mut img = vec![4f32, 8.0, 6.0, 12.0];
    s.apply(&mut img, 2).unwrap();
    let want = [
        (2.0 - 1.0) / (2.0 + 1e-6),
        (4.0 - 2.0) / (4.0 + 1e-6),
        (3.0 - 1.0) / (2.0 + 1e-6),
        (6.0 - 2.0) / (4.0 + 1e-6),
    ];
    close(&img, &want.map(|v: f64| v as f32));
    let s = StandardizeConfig { samplewise_center: true, samplewise_std_normalization: true, ..Default::default() };
    let mut img = vec![1f32, 3.0];
    s.apply(&mut img, 1).unwrap();
    close(&img, &[-1.0 / (1.0 + 1e-6) as f32, 1.0 / (1.0 + 1e-6) as f32]);
    let bad = StandardizeConfig { mean: Some(vec![0.0; 3]), ..Default::default() };
    assert!(bad.apply(&mut img, 1).unwrap_err().contains("3 channels"));
}

#[test]
fn batches_repeat_with_the_seed_and_differ_without_it() {
    let cfg = AugmentConfig {
        rotation_range: 30.0,
        height_shift_range: vec![0.2],
        height_shift_choice: false,
        width_shift_range: vec![0.2],
        width_shift_choice: false,
        shear_range: 0.0,
        zoom_range: [0.9, 1.1],
        channel_shift_range: 0.0,
        brightness_range: None,
        horizontal_flip: true,
        vertical_flip: false,
        fill_mode: FillMode::Nearest,
        cval: 0.0,
    };
    let x: Vec<f32> = (0..2 * 8 * 8 * 3).map(|v| (v % 17) as f32).collect();
    let a = process_batch(&x, [2, 8, 8, 3], Some(&cfg), None, 5).unwrap();
    let b = process_batch(&x, [2, 8, 8, 3], Some(&cfg), None, 5).unwrap();
    let c = process_batch(&x, [2, 8, 8, 3], Some(&cfg), None, 6).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(process_batch(&x, [2, 8, 8, 4], Some(&cfg), None, 5).is_err());
    let bad = AugmentConfig { zoom_range: [0.0, 1.0], ..cfg.clone() };
    assert!(process_batch(&x, [2, 8, 8, 3], Some(&bad), None, 5).unwrap_err().contains("zoom_range"));
    // choice shifts: only the listed pixel counts, with either sign
    let choice = AugmentConfig {
        rotation_range: 0.0,
        height_shift_range: vec![2.0],
        height_shift_choice: true,
        width_shift_range: vec![],
        zoom_range: [1.0, 1.0],
        horizontal_flip: false,
        ..cfg
    };
    let mut rng = Rng::seed_from(1);
    for _ in 0..20 {
        let t = choice.random_transform(&mut rng, 8, 8);
        assert!(t.tx == 2.0 || t.tx == -2.0, "{}", t.tx);
        assert_eq!(t.ty, 0.0);
    }
}

#[test]
fn permutation_is_a_permutation_and_mix_seed_separates_parts() {
    let mut p = permutation(100, 3);
    assert_ne!(p, (0..100).collect::<Vec<_>>());
    p.sort();
    assert_eq!(p, (0..100).collect::<Vec<_>>());
    assert_ne!(mix_seed(&[1, 2]), mix_seed(&[2, 1]));
    assert_eq!(mix_seed(&[7, 1, 3]), mix_seed(&[7, 1, 3]));
}
