"""Procedural sources: lines geometry, dSprites factors acting as they should, 2-D toys."""

import numpy as np
import pytest

from mixres.data import procedural


def _centroid(image: np.ndarray) -> tuple[float, float]:
  """(x, y-down) centroid in pixel units of a (S, S) or (S, S, 1) non-negative weight image."""
  w = np.asarray(image, np.float64).reshape(image.shape[0], image.shape[1])
  rows, cols = np.indices(w.shape) + 0.5
  return float(np.sum(w * cols) / w.sum()), float(np.sum(w * rows) / w.sum())


# A binary shape sampled at pixel centres can shift its centroid by up to half a pixel.
_HALF_PIXEL = 0.5


def _angle_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  return np.abs((a - b + np.pi) % (2 * np.pi) - np.pi)


# --- Lines -----------------------------------------------------------------------------------


def test_line_angle_is_recovered_from_the_image():
  """The ink's principal axis points along the angle, counterclockwise from +x with y up.

  Not the centroid's direction from the centre: ACAI centres the band of row k where the segment
  is at k - 1/2, so the drawn line runs up to 0.7 px beside the centre (up to 6 degrees there).
  """
  angles = np.concatenate([np.random.default_rng(0).uniform(0, 2 * np.pi, 300),
                           [0.0, 1e-4, 2 * np.pi - 1e-4, np.pi / 2, np.pi, 1.5 * np.pi]])
  weights = (procedural.render_lines(angles, dtype=np.float64)[..., 0] + 1) / 2
  rows, cols = np.indices((32, 32)) + 0.5
  x, y = cols - 16.0, 16.0 - rows  # y up.
  recovered = []
  for w in weights:
    mx, my = np.sum(w * x) / w.sum(), np.sum(w * y) / w.sum()
    cxx, cyy = np.sum(w * (x - mx)**2), np.sum(w * (y - my)**2)
    axis = 0.5 * np.arctan2(2 * np.sum(w * (x - mx) * (y - my)), cxx - cyy)
    recovered.append(axis if np.cos(axis) * mx + np.sin(axis) * my > 0 else axis + np.pi)
  assert _angle_gap(np.array(recovered), angles).max() < np.deg2rad(1.0)  # 0.72 measured.


def _acai_ink(angle: float) -> float:
  """Total ink sum((x + 1) / 2) of ACAI's draw_line at `angle`, from its definition by hand.

  Each row along the major axis holds a 2-px band of ink weight 2 * (its share), the band always
  inside the image. Walking from the lower end: if that is the tip (the major coordinate of the
  end point is below the centre's 16), the tip's row gets its fraction and every row on to the
  centre 1, 2 * 15 * |major| in all; if it is the centre, every row from 16 up to and including
  the one holding the tip gets 1 (ACAI's branch for a partial last row never runs).
  """
  row_end, col_end = 16.0 + 15.0 * np.sin(-angle), 16.0 + 15.0 * np.cos(-angle)
  end = col_end if abs(16.0 - row_end) < abs(16.0 - col_end) else row_end
  return 2.0 * (np.ceil(end) - 16.0) if end > 16.0 else 2.0 * (16.0 - end)


def test_lines_are_drawn_as_acai_draws_them():
  """docs/faithfulness.md#b3: ACAI's draw_line (lib/data.py:72-112), not a 1-px tent profile."""
  images = procedural.render_lines(np.array([0.0, np.pi / 2]))[..., 0]
  assert images.dtype == np.float32 and set(np.unique(images)) == {-1.0, 1.0}
  # Angle 0: x1 = 16 + 15 = 31, so columns 16..30 along the major axis, each holding the band
  # [16 - 1, 16 + 1) across it: rows 15 and 16. Angle pi / 2: rows 1..15 up, columns 15 and 16.
  np.testing.assert_array_equal(np.argwhere(images[0] == 1.0),
                                [(r, c) for r in (15, 16) for c in range(16, 31)])
  np.testing.assert_array_equal(np.argwhere(images[1] == 1.0),
                                [(r, c) for r in range(1, 16) for c in (15, 16)])
  angles = np.linspace(0.0, 2 * np.pi, 10_000, endpoint=False)  # The evaluator's bank.
  bank = procedural.render_lines(angles, dtype=np.float64)
  ink = np.sum((bank + 1) / 2, axis=(1, 2, 3))
  np.testing.assert_allclose(ink, [_acai_ink(a) for a in angles], atol=1e-9)
  # Measured with ACAI's draw_line itself over the same angles (bit-equal images): 27.409 px of
  # ink on average, 21.21 (45 degrees, 2 * 15 / sqrt(2)) to 30, and 13.41 px exactly at +1.
  full = np.sum(bank == 1.0, axis=(1, 2, 3))
  np.testing.assert_allclose([ink.mean(), ink.min(), ink.max()],
                             [27.4087, 15 * np.sqrt(2), 30.0], atol=1e-4)
  np.testing.assert_allclose(full.mean(), 13.4099, atol=1e-4)
  assert full.min() == 10  # Every line has full-ink pixels.
  # The float32 images are the float64 ones rounded.
  np.testing.assert_array_equal(procedural.render_lines(angles[::97]),
                                bank[::97].astype(np.float32))


def test_lines_source_draws_each_line_from_its_index():
  a, b = procedural.LinesSource(200, seed=3), procedural.LinesSource(200, seed=3)
  assert len(a) == 200
  for i in (0, 57, 199, 8):  # Any order, any instance.
    x, y = a[i], b[i]
    assert x['image'].shape == (32, 32, 1) and x['image'].dtype == np.uint8
    assert x['label'].dtype == np.int32 and x['angle'].dtype == np.float32
    np.testing.assert_array_equal(x['image'], y['image'])
    angle = procedural.line_angle(3, i)
    assert a.angle(i) == angle and x['angle'] == np.float32(angle) and 0 <= angle < 2 * np.pi
    assert x['label'] == int(np.floor(angle / (2 * np.pi / 10)))
    np.testing.assert_array_equal(x['image'],
                                  procedural.to_uint8(procedural.render_lines([angle])[0]))
  angles = [a.angle(i) for i in range(200)]
  assert len(set(angles)) == 200  # Every index its own line.
  assert set(procedural.angle_bins(np.array(angles), 10).tolist()) == set(range(10))
  assert angles != [procedural.LinesSource(200, seed=4).angle(i) for i in range(200)]
  # Nothing is stored per line: a source of 2^62 lines reads its far end at once.
  far = procedural.LinesSource(1 << 62, seed=3)
  assert far[(1 << 62) - 1]['angle'] == np.float32(procedural.line_angle(3, (1 << 62) - 1))
  assert far.angle(57) == a.angle(57)  # A longer source of the same seed extends it.
  np.testing.assert_array_equal(procedural.angle_bins(np.array([0.0, 6.28, 2 * np.pi]), 4),
                                [0, 3, 3])
  with pytest.raises(IndexError):
    a[200]


def test_the_evaluators_read_out_recovers_the_sources_angles():
  source = procedural.LinesSource(64, seed=1)
  references = procedural.render_lines(np.linspace(0, 2 * np.pi, 10000, endpoint=False))
  angles = np.array([source.angle(i) for i in range(len(source))])
  images = np.stack([source[i]['image'] for i in range(len(source))])
  # The evaluator's angle read-out: nearest reference by cosine distance, on the uint8 images.
  refs = references.reshape(10000, -1).astype(np.float64)
  refs /= np.linalg.norm(refs, axis=1, keepdims=True)
  query = images.reshape(64, -1).astype(np.float64) / 127.5 - 1.0
  query /= np.linalg.norm(query, axis=1, keepdims=True)
  nearest = np.argmax(query @ refs.T, axis=1) * (2 * np.pi / 10000)
  assert _angle_gap(nearest, angles).max() < np.deg2rad(0.5)


# --- dSprites --------------------------------------------------------------------------------


@pytest.fixture(scope='module')
def sprites():
  return procedural.DspritesSource()


def _sprite(sprites, shape=1, scale=5, orientation=0, x=16, y=16) -> np.ndarray:
  index = sprites.index_of(np.array([shape, scale, orientation, x, y]))
  return sprites[int(index)]['image'][..., 0] > 0


def test_dsprites_grid_and_index_round_trip(sprites):
  assert len(sprites) == 737_280 == 3 * 6 * 40 * 32 * 32
  assert procedural.DSPRITES_SIZES == (3, 6, 40, 32, 32)
  assert len(procedural.DSPRITES_FACTORS) == 5
  values = procedural.dsprites_factor_values()
  np.testing.assert_allclose(values[0], [1, 2, 3])  # The original files' (and TFDS's) values.
  np.testing.assert_allclose(values[1], np.linspace(0.5, 1, 6))
  np.testing.assert_allclose(values[2], np.linspace(0, 2 * np.pi, 40))
  np.testing.assert_allclose(values[3], np.linspace(0, 1, 32))
  assert [len(v) for v in values] == list(procedural.DSPRITES_SIZES)
  assert sprites.index_of(np.array([1, 0, 0, 0, 0])) == 6 * 40 * 32 * 32  # Shape slowest.
  assert sprites.index_of(np.array([0, 0, 0, 0, 1])) == 1  # y fastest.
  rng = np.random.default_rng(0)
  indices = rng.integers(0, len(sprites), 500)
  factors = sprites.factors_of(indices)
  np.testing.assert_array_equal(sprites.index_of(factors), indices)
  sampled = sprites.sample_factors(np.random.default_rng(1), 1000)
  assert sampled.shape == (1000, 5) and sampled.dtype == np.int32
  assert np.all(sampled.min(0) == 0)
  assert np.all(sampled.max(0) == np.array(procedural.DSPRITES_SIZES) - 1)
  np.testing.assert_array_equal(sampled, sprites.sample_factors(np.random.default_rng(1), 1000))
  example = sprites[int(indices[0])]
  assert example['image'].shape == (64, 64, 1) and example['image'].dtype == np.uint8
  assert set(np.unique(example['image']).tolist()) <= {0, 255}
  assert example['label'].dtype == np.int32 and example['label'] == factors[0, 0]
  np.testing.assert_array_equal(example['factors'], factors[0])
  np.testing.assert_allclose(example['factor_values'],
                             [v[f] for v, f in zip(values, factors[0])], rtol=1e-6)
  assert sprites.images(indices[:3]).shape == (3, 64, 64, 1)


@pytest.mark.parametrize('shape', [0, 1, 2])
def test_dsprites_position_moves_the_centroid(sprites, shape):
  grid = np.arange(32)
  along_x = np.array([_centroid(_sprite(sprites, shape, x=i, y=7)) for i in grid])
  along_y = np.array([_centroid(_sprite(sprites, shape, x=7, y=i)) for i in grid])
  # Position is the centroid: 12 + 40 * position px (the heart sits on its area centroid);
  # x moves right along columns, y down along rows.
  expected = 12 + 40 * grid / 31
  np.testing.assert_allclose(along_x[:, 0], expected, atol=_HALF_PIXEL)
  np.testing.assert_allclose(along_y[:, 1], expected, atol=_HALF_PIXEL)
  np.testing.assert_allclose(along_x[:, 1], 12 + 40 * 7 / 31, atol=_HALF_PIXEL)
  np.testing.assert_allclose(along_y[:, 0], 12 + 40 * 7 / 31, atol=_HALF_PIXEL)
  assert np.polyfit(grid, along_x[:, 0], 1)[0] == pytest.approx(40 / 31, rel=0.01)
  assert np.polyfit(grid, along_y[:, 1], 1)[0] == pytest.approx(40 / 31, rel=0.01)


@pytest.mark.parametrize('shape', [0, 1, 2])
def test_dsprites_scale_grows_the_area_as_its_square(sprites, shape):
  # One binary sprite's area is quantised (an axis-aligned square grows by whole pixel rows), so
  # average over positions, i.e. over sub-pixel phases, to compare with the continuous area.
  positions = range(0, 32, 3)
  areas = np.array([np.mean([_sprite(sprites, shape, scale=s, x=i, y=(5 * i) % 32).sum()
                             for i in positions]) for s in range(6)])
  assert np.all(np.diff(areas) > 0)
  scales = np.linspace(0.5, 1, 6)
  np.testing.assert_allclose(areas / areas[-1], scales ** 2, rtol=0.08)


def test_dsprites_shapes_differ_at_the_same_position(sprites):
  images = [_sprite(sprites, s) for s in range(3)]
  areas = [im.sum() for im in images]
  assert len(set(areas)) == 3
  for i in range(3):
    for j in range(i + 1, 3):
      assert np.sum(images[i] != images[j]) > 20
  centroids = np.array([_centroid(im) for im in images])
  np.testing.assert_allclose(centroids, np.broadcast_to(centroids[0], (3, 2)), atol=_HALF_PIXEL)


@pytest.mark.parametrize('shape', [0, 1, 2])
def test_dsprites_rotation_keeps_area_and_centroid(sprites, shape):
  base = _sprite(sprites, shape)
  for o in (3, 5, 10, 17, 29):
    rotated = _sprite(sprites, shape, orientation=o)
    assert rotated.sum() == pytest.approx(base.sum(), rel=0.06)
    np.testing.assert_allclose(_centroid(rotated), _centroid(base), atol=_HALF_PIXEL)
    assert np.sum(rotated != base) > 10
  np.testing.assert_array_equal(_sprite(sprites, shape, orientation=39), base)  # 2 pi == 0.


def test_dsprites_orientation_turns_counterclockwise(sprites):
  def tilt(image):  # Covariance of (x, y-up) over the ink: > 0 leans up-right.
    rows, cols = np.nonzero(image)
    return np.cov(cols, -rows)

  flat, quarter = tilt(_sprite(sprites, 1)), tilt(_sprite(sprites, 1, orientation=10))
  assert flat[0, 0] > 3 * flat[1, 1]  # Long axis along x at orientation 0.
  assert quarter[1, 1] > 3 * quarter[0, 0]  # About pi/2 (10 * 2 pi / 39): long axis vertical.
  assert tilt(_sprite(sprites, 1, orientation=5))[0, 1] > 0  # About pi/4: up-right.
  heart = _sprite(sprites, 2)
  rows = np.nonzero(heart)[0]
  assert np.mean(rows) < (rows.min() + rows.max()) / 2  # Lobes (more ink) at the top.


def test_dsprites_stay_inside_the_frame():
  for shape in range(3):
    for scale in (0.5, 1.0):
      for orientation in np.linspace(0, 2 * np.pi, 40):
        for x in (0.0, 1.0):
          for y in (0.0, 1.0):
            image = procedural.render_sprite(shape, scale, orientation, x, y)
            assert image.any()
            assert not (image[[0, 1, -2, -1], :].any() or image[:, [0, 1, -2, -1]].any())
  small = procedural.DspritesSource(image_size=32)[0]['image']
  assert small.shape == (32, 32, 1) and small.max() == 255


# --- 2-D toys --------------------------------------------------------------------------------

_LABELS = {'moons': {0, 1}, 'circles': {0, 1}, 'blobs': set(range(8))}


@pytest.mark.parametrize('name', procedural.TOYS)
def test_toys_are_bounded_labelled_and_seeded(name):
  source = procedural.ToySource(name, 2000, seed=0)
  assert len(source) == 2000 and source.points.shape == (2000, 2)
  assert np.all(np.isfinite(source.points)) and np.abs(source.points).max() < 1.2
  assert np.abs(source.points).max() > 0.7  # Uses the square, not a corner of it.
  assert set(source.labels.tolist()) == _LABELS.get(name, {0})
  example = source[5]
  assert example['image'].shape == (2,) and example['image'].dtype == np.float32
  assert example['label'].dtype == np.int32
  np.testing.assert_array_equal(source.points,
                                procedural.ToySource(name, 2000, seed=0).points)
  assert not np.array_equal(source.points, procedural.ToySource(name, 2000, seed=1).points)
  noisy = procedural.ToySource(name, 2000, seed=0, noise=0.1)
  assert noisy.noise == 0.1 and not np.array_equal(noisy.points, source.points)


def test_spiral_points_lie_on_the_curve_and_uniform_points_do_not():
  curve = procedural.spiral_curve(501)
  assert procedural.distance_to_spiral(curve).max() < 1e-6
  source = procedural.ToySource('spiral', 2000, seed=0, noise=0.02)
  near = procedural.distance_to_spiral(source.points)
  assert np.median(near) < 0.03 and np.mean(near < 0.06) > 0.95
  uniform = np.random.default_rng(0).uniform(-1, 1, (2000, 2))
  assert np.mean(procedural.distance_to_spiral(uniform) < 0.06) < 0.3


def test_unknown_toy_names_the_choices():
  with pytest.raises(ValueError) as error:
    procedural.ToySource('mnist', 10, seed=0)
  message = str(error.value)
  assert '\n' not in message and message.startswith("config.data.name='mnist' is not a 2-D toy")
  assert all(name in message for name in procedural.TOYS)
