"""Random-access image sources: `len(source)` and `source[i] -> {'image': uint8 HWC, 'label'}`.

Every source has an offline path: 'digits' is embedded in scikit-learn; TFDS sources are read
with `tfds.data_source` (ArrayRecord files, no TensorFlow at run time) and are tested under
`tfds.testing.mock_data`.
"""

from typing import Any, Protocol

import ml_collections
import numpy as np
from PIL import Image

EMBEDDED = ('digits',)


class Source(Protocol):
  def __len__(self) -> int: ...
  def __getitem__(self, index: int) -> dict[str, Any]: ...


class ArraySource:
  """In-memory images (N, H, W, C) uint8 and integer labels (N,)."""

  def __init__(self, images: np.ndarray, labels: np.ndarray):
    assert images.ndim == 4 and images.dtype == np.uint8, (images.shape, images.dtype)
    self.images, self.labels = images, labels.astype(np.int32)

  def __len__(self) -> int:
    return len(self.images)

  def __getitem__(self, index: int) -> dict[str, Any]:
    return {'image': self.images[index], 'label': self.labels[index]}


class SubsetSource:
  """The examples of `parent` at `indices`, in that order."""

  def __init__(self, parent: Source, indices: np.ndarray):
    self.parent, self.indices = parent, np.asarray(indices)

  def __len__(self) -> int:
    return len(self.indices)

  def __getitem__(self, index: int) -> dict[str, Any]:
    return self.parent[int(self.indices[index])]


class TfdsSource:
  """A TFDS split through `tfds.data_source`; keeps only 'image' and 'label'."""

  def __init__(self, name: str, split: str, data_dir: str = ''):
    import tensorflow_datasets as tfds  # Imported here: slow, and unneeded for embedded data.
    try:
      self.source = tfds.data_source(name, split=split, data_dir=data_dir or None,
                                     download=False)
    except Exception as e:  # TFDS raises many types here; all mean "not usable as is".
      raise FileNotFoundError(
          f'config.data.name={name!r}: TFDS split {split!r} is not prepared in ArrayRecord '
          f'format under {data_dir or "the TFDS default data_dir"} ({type(e).__name__}). '
          f'Prepare it on a machine with internet (needs tensorflow): tfds build {name} '
          f'--file_format=array_record [--data_dir=DIR], then pass --config.data.data_dir=DIR; '
          f'or train offline on --config.data.name=digits.') from None

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, index: int) -> dict[str, Any]:
    example = self.source[index]
    return {'image': np.asarray(example['image']), 'label': np.int32(example['label'])}


def digits(image_size: int = 32) -> ArraySource:
  """scikit-learn's bundled 8x8 digits (1,797 images), bilinearly resized, one channel."""
  from sklearn import datasets
  raw = datasets.load_digits()
  pixels = (raw.images * (255.0 / 16.0)).round().astype(np.uint8)  # Values are 0..16.
  images = np.stack([
      np.asarray(Image.fromarray(p).resize((image_size, image_size), Image.BILINEAR))
      for p in pixels])[..., None]
  return ArraySource(images, raw.target)


def split_indices(n: int, valid_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """A seeded train/valid cut of range(n): the same for every run with the same seed."""
  if not 0.0 < valid_fraction < 1.0:
    raise ValueError(f'config.data.valid_fraction={valid_fraction} must be in (0, 1)')
  order = np.random.default_rng(seed).permutation(n)
  num_valid = max(1, int(round(n * valid_fraction)))
  return np.sort(order[num_valid:]), np.sort(order[:num_valid])


def build(config: ml_collections.ConfigDict) -> tuple[Source, Source]:
  """(train, valid) sources for config.data."""
  data = config.data
  if data.name == 'digits':
    full = digits(data.image_size)
  else:
    full = TfdsSource(data.name, data.train_split, data.data_dir)
  train, valid = split_indices(len(full), data.valid_fraction, data.split_seed)
  return SubsetSource(full, train), SubsetSource(full, valid)
