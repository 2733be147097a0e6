"""Sources and the grain pipeline: shapes, splits, shards, resume order, TFDS under mock data."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from configs import base
from mixres.data import pipeline
from mixres.data import sources


def counting_source(n):
  """Image i is filled with i % 256, label i: lets tests see which examples a batch holds."""
  images = (np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 1), np.uint8))
  return sources.ArraySource(images, np.arange(n))


def test_digits_are_embedded_32x32():
  digits = sources.digits(32)
  assert len(digits) == 1797
  example = digits[0]
  assert example['image'].shape == (32, 32, 1) and example['image'].dtype == np.uint8
  assert example['image'].max() > 200 and example['image'].min() == 0
  assert set(digits.labels.tolist()) == set(range(10))


def test_split_is_seeded_disjoint_and_complete():
  train, valid = sources.split_indices(100, 0.1, seed=0)
  again, _ = sources.split_indices(100, 0.1, seed=0)
  other, _ = sources.split_indices(100, 0.1, seed=1)
  assert len(valid) == 10 and len(train) == 90
  assert sorted(np.concatenate([train, valid]).tolist()) == list(range(100))
  np.testing.assert_array_equal(train, again)
  assert not np.array_equal(train, other)
  with pytest.raises(ValueError, match='config.data.valid_fraction=1.5'):
    sources.split_indices(100, 1.5, 0)


def test_scaling_to_minus_one_one():
  np.testing.assert_allclose(pipeline.to_model_input(np.array([0, 255], np.uint8)), [-1, 1])


def test_process_shards_are_disjoint_and_cover_each_epoch():
  source = counting_source(12)
  shards = [pipeline.train_batches(source, 4, seed=0, process_index=p, process_count=2)
            for p in range(2)]
  epoch = [label for shard in shards for step in range(3) for label in shard[step]['label']]
  assert sorted(epoch) == list(range(12))
  second = [label for shard in shards for step in range(3, 6) for label in shard[step]['label']]
  assert sorted(second) == list(range(12))
  assert epoch != second  # Reshuffled every epoch.
  assert shards[0][0]['image'].shape == (2, 4, 4, 1)
  with pytest.raises(ValueError, match='config.batch_size=5 must be divisible'):
    pipeline.train_batches(source, 5, seed=0, process_index=0, process_count=2)


def test_resumed_iterator_sees_the_same_batches():
  batches = pipeline.train_batches(counting_source(50), 8, seed=3, process_index=0,
                                   process_count=1)
  straight = pipeline.iterate(batches)
  expected = [next(straight)['label'] for _ in range(12)]
  resumed = pipeline.iterate(batches, start=7)
  for step in range(7, 12):
    np.testing.assert_array_equal(next(resumed)['label'], expected[step])


def test_eval_batches_pad_and_mask():
  batches = list(pipeline.eval_batches(counting_source(10), 4))
  assert [b['image'].shape[0] for b in batches] == [4, 4, 4]
  np.testing.assert_array_equal(batches[-1]['mask'], [1, 1, 0, 0])
  assert sum(b['mask'].sum() for b in batches) == 10


def test_tfds_svhn_under_mock_data():
  config = base.get_config()
  with tfds.testing.mock_data(num_examples=50):
    train, valid = sources.build(config)
    assert (len(train), len(valid)) == (45, 5)  # The reference's 90/10 cut.
    example = train[0]
  assert example['image'].shape == (32, 32, 3) and example['image'].dtype == np.uint8
  assert example['label'].dtype == np.int32


def test_unprepared_tfds_dataset_says_how_to_prepare(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"config.data.name='svhn_cropped'.*tfds build"):
    sources.TfdsSource('svhn_cropped', 'train', str(tmp_path))
