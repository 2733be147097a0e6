"""Random-access example sources and the registry of datasets that `config.data.name` selects.

A source has `len(source)` and `source[i] -> {'image': ..., 'label': int32, ...}`: 'image' is a
uint8 (H, W, C) image (or a float32 point for the 2-D toys), 'label' the class the linear probe
predicts, and some datasets add fields (dSprites 'factors', CelebA 'attributes', lines 'angle';
digit datasets 'attributes' derived from the label with config.data.derived_attributes).

Three kinds of dataset, each with an offline path for tests:
- procedural (no download): digits (scikit-learn's bundled copy), the ACAI lines, a dSprites
  renderer, 2-D toys (mixres/data/procedural.py);
- TFDS, read with `tfds.data_source` (ArrayRecord files, no TensorFlow at run time), tested under
  `tfds.testing.mock_data`; never downloaded at run time;
- local files (`config.data.path`: the files as MNIST, KMNIST, SVHN and CIFAR-10 are
  distributed, or an .npz; mixres/data/files.py), which replace the TFDS read of the named
  dataset for users who have the files but no TFDS.
"""

import math
from typing import Any, Callable, Protocol

import ml_collections
import numpy as np

from mixres.data import files
from mixres.data import procedural
from mixres.data import transforms

Example = dict[str, Any]


class Source(Protocol):
  """Optionally also `read_batch(indices)`, as the function `read_batch` below: for sources
  that read many examples faster at once than one by one (the pipeline reads whole batches)."""

  def __len__(self) -> int: ...
  def __getitem__(self, index: int) -> Example: ...


def stack_examples(examples: list[Example]) -> dict[str, np.ndarray]:
  """Examples -> their fields, each stacked along a new first axis (values as stored)."""
  return {k: np.stack([np.asarray(e[k]) for e in examples]) for k in examples[0]}


def read_batch(source: Source, indices) -> dict[str, np.ndarray]:
  """The examples at `indices` (each in [0, len(source))), stacked: equal to stack_examples of
  source[i] for i in indices, read through `source.read_batch` where the source has one."""
  indices = np.asarray(indices, np.int64).reshape(-1)
  if hasattr(source, 'read_batch'):
    return source.read_batch(indices)
  return stack_examples([source[int(i)] for i in indices])


def check_indices(indices: np.ndarray, length: int) -> np.ndarray:
  """`indices` if all lie in [0, length), else IndexError (as a source's [] raises)."""
  if indices.size and (indices.min() < 0 or indices.max() >= length):
    bad = indices[(indices < 0) | (indices >= length)][0]
    raise IndexError(f'index {bad} out of range for a source of {length} examples')
  return indices


class ArraySource:
  """In-memory images (N, H, W, C) uint8, integer labels (N,) and optional per-example fields."""

  def __init__(self, images: np.ndarray, labels: np.ndarray, **fields: np.ndarray):
    assert images.ndim == 4 and images.dtype == np.uint8, (images.shape, images.dtype)
    self.images, self.labels, self.fields = images, labels.astype(np.int32), fields

  def __len__(self) -> int:
    return len(self.images)

  def _take(self, index):  # One index or an array of them: numpy indexes every field alike.
    return {'image': self.images[index], 'label': self.labels[index],
            **{k: v[index] for k, v in self.fields.items()}}

  def __getitem__(self, index: int) -> Example:
    return self._take(index)

  def read_batch(self, indices: np.ndarray) -> Example:
    return self._take(check_indices(indices, len(self)))


class SubsetSource:
  """The examples of `parent` at `indices`, in that order (a `range` stays lazy)."""

  def __init__(self, parent: Source, indices: np.ndarray | range):
    self.parent = parent
    self.indices = indices if isinstance(indices, range) else np.asarray(indices)

  def __len__(self) -> int:
    return len(self.indices)

  def __getitem__(self, index: int) -> Example:
    return self.parent[int(self.indices[index])]

  def read_batch(self, indices: np.ndarray) -> Example:
    indices = check_indices(indices, len(self))
    if isinstance(self.indices, range):  # The stream's 2^62 indices are never materialised.
      return read_batch(self.parent, self.indices.start + indices * self.indices.step)
    return read_batch(self.parent, self.indices[indices])


class MappedSource:
  """`parent` with `fn` applied to each example's image when it is read."""

  def __init__(self, parent: Source, fn: Callable[[np.ndarray], np.ndarray]):
    self.parent, self.fn = parent, fn

  def __len__(self) -> int:
    return len(self.parent)

  def __getitem__(self, index: int) -> Example:
    example = dict(self.parent[index])
    example['image'] = self.fn(example['image'])
    return example

  def read_batch(self, indices: np.ndarray) -> Example:
    batch = dict(read_batch(self.parent, indices))
    batch['image'] = np.stack([self.fn(image) for image in batch['image']])
    return batch


# -------------------------------------------------------------------------------------------------
# TFDS datasets: each name's converter from a TFDS example to ours, and its class count.

CELEB_A_ATTRIBUTES = (
    '5_o_Clock_Shadow', 'Arched_Eyebrows', 'Attractive', 'Bags_Under_Eyes', 'Bald', 'Bangs',
    'Big_Lips', 'Big_Nose', 'Black_Hair', 'Blond_Hair', 'Blurry', 'Brown_Hair', 'Bushy_Eyebrows',
    'Chubby', 'Double_Chin', 'Eyeglasses', 'Goatee', 'Gray_Hair', 'Heavy_Makeup',
    'High_Cheekbones', 'Male', 'Mouth_Slightly_Open', 'Mustache', 'Narrow_Eyes', 'No_Beard',
    'Oval_Face', 'Pale_Skin', 'Pointy_Nose', 'Receding_Hairline', 'Rosy_Cheeks', 'Sideburns',
    'Smiling', 'Straight_Hair', 'Wavy_Hair', 'Wearing_Earrings', 'Wearing_Hat',
    'Wearing_Lipstick', 'Wearing_Necklace', 'Wearing_Necktie', 'Young')


def _binarise(image: np.ndarray) -> np.ndarray:
  return np.where(image > 0, 255, 0).astype(np.uint8)  # dSprites files hold 0/1 pixels.


# Fixes for how a dataset's files store images, applied to TFDS and local files alike.
IMAGE_FIXES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    # EMNIST's files (and so TFDS) store every image transposed (tensorflow/datasets#812).
    'emnist/letters': lambda image: image.transpose(1, 0, 2),
    'dsprites': _binarise,
}


def _image_label(example: Example) -> Example:
  return {'image': np.asarray(example['image']), 'label': np.int32(example['label'])}


def _emnist(example: Example) -> Example:
  return {'image': IMAGE_FIXES['emnist/letters'](np.asarray(example['image'])),
          'label': np.int32(example['label'])}


def _dsprites(example: Example) -> Example:
  factors = [example[f'label_{name}'] for name in procedural.DSPRITES_FACTORS]
  values = [example[f'value_{name}'] for name in procedural.DSPRITES_FACTORS]
  return {'image': _binarise(np.asarray(example['image'])), 'label': np.int32(factors[0]),
          'factors': np.asarray(factors, np.int32), 'factor_values': np.asarray(values, np.float32)}


def _celeb_a(attributes: tuple[str, ...]) -> Callable[[Example], Example]:
  def convert(example: Example) -> Example:
    bits = np.asarray([bool(example['attributes'][a]) for a in attributes])
    # The probe's class is the attribute combination: sum_i bit_i 2^i, 2^len(attributes) classes.
    return {'image': np.asarray(example['image']),
            'label': np.int32(np.sum(bits << np.arange(len(bits)))),
            'attributes': bits.astype(np.float32)}
  return convert


def _checked_attributes(data: ml_collections.ConfigDict) -> tuple[str, ...]:
  attributes = tuple(data.attributes)
  unknown = [a for a in attributes if a not in CELEB_A_ATTRIBUTES]
  if unknown or not attributes:
    raise ValueError(f'config.data.attributes has unknown {unknown or "(none given)"}; choose '
                     f'from: {", ".join(CELEB_A_ATTRIBUTES)}')
  return attributes


# name -> (converter factory from config.data, number of probe classes from config.data).
TFDS_DATASETS: dict[str, tuple[Callable, Callable]] = {
    'mnist': (lambda d: _image_label, lambda d: 10),
    'kmnist': (lambda d: _image_label, lambda d: 10),
    'fashion_mnist': (lambda d: _image_label, lambda d: 10),
    'emnist/letters': (lambda d: _emnist, lambda d: 37),  # Labels 1..26; TFDS declares 37.
    'svhn_cropped': (lambda d: _image_label, lambda d: 10),
    'cifar10': (lambda d: _image_label, lambda d: 10),
    'celeb_a': (lambda d: _celeb_a(_checked_attributes(d)),
                lambda d: 2 ** len(_checked_attributes(d))),
    'dsprites': (lambda d: _dsprites, lambda d: 3),  # The probe predicts the shape.
}


class TfdsSource:
  """A TFDS split through `tfds.data_source`, converted example by example."""

  def __init__(self, name: str, split: str, data_dir: str,
               convert: Callable[[Example], Example]):
    import tensorflow_datasets as tfds  # Imported here: slow, and unneeded for other data.
    self.convert = convert
    try:
      self.source = tfds.data_source(name, split=split, data_dir=data_dir or None,
                                     download=False)
    except Exception as e:  # TFDS raises many types here; all mean "not usable as is".
      raise FileNotFoundError(
          f'config.data.name={name!r}: TFDS split {split!r} is not prepared in ArrayRecord '
          f'format under {data_dir or "the TFDS default data_dir"} ({type(e).__name__}). '
          f'Prepare it once on a machine with internet (this needs tensorflow: pip install '
          f'tensorflow; tfds build {name} --file_format=array_record --data_dir=DIR), then pass '
          f'--config.data.data_dir=DIR; or point the run at local files: '
          f'--config.data.path=FILE ({files.FORMATS})') from None

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, index: int) -> Example:
    return self.convert(self.source[index])


# -------------------------------------------------------------------------------------------------
# Procedural datasets: name -> (factory from config.data, number of probe classes).

# The ACAI lines with config.data.num_examples = 0: a stream of fresh lines, each drawn from its
# index, so long that no run comes near its end (2^62 lines; a run of 2^24 reads 4e-12 of it) and
# none repeats. Its first STREAM_VALID lines are the validation split, ACAI's 5,000 test lines
# (lib/data.py:335 of brain-research/acai), the rest the training stream.
STREAM_LENGTH = 1 << 62
STREAM_VALID = 5_000


def endless(num_examples: int) -> bool:
  """Whether a source (or a split) of this length is the stream: it has no epochs."""
  return num_examples > STREAM_LENGTH // 2


def digits() -> ArraySource:
  """scikit-learn's bundled 8x8 digits (1,797 images), one channel; fitted to size by `build`."""
  from sklearn import datasets
  raw = datasets.load_digits()
  pixels = (raw.images * (255.0 / 16.0)).round().astype(np.uint8)  # Values are 0..16.
  return ArraySource(pixels[..., None], raw.target)


def _toy_classes(name: str) -> int:
  return {'moons': 2, 'circles': 2, 'blobs': procedural.BLOB_CENTRES}.get(name, 0)


PROCEDURAL: dict[str, tuple[Callable, Callable]] = {
    'digits': (lambda d: digits(), lambda d: 10),
    # Drawn at data.image_size, as ACAI draws at its input size; the 10-bin angle label.
    'lines': (lambda d: procedural.LinesSource(d.num_examples or STREAM_LENGTH,
                                               d.procedural_seed, int(d.image_size)),
              lambda d: 10),
    # Rendered at data.image_size, so smaller sprites stay binary.
    'dsprites_rendered': (lambda d: procedural.DspritesSource(d.image_size), lambda d: 3),
    **{toy: (lambda d, toy=toy: procedural.ToySource(toy, d.num_examples or 10_000,
                                                      d.procedural_seed),
             lambda d, toy=toy: _toy_classes(toy))
       for toy in procedural.TOYS},
}

DATASETS = sorted([*PROCEDURAL, *TFDS_DATASETS])


# -------------------------------------------------------------------------------------------------
# Binary attributes derived from digit labels (config.data.derived_attributes): offline stand-ins
# for CelebA's attributes, for the supervised class mixer (objective 'amr_supervised').

DIGIT_ATTRIBUTES: dict[str, tuple[int, ...]] = {
    'odd': (1, 3, 5, 7, 9),
    'large': (5, 6, 7, 8, 9),  # >= 5.
    'loop': (0, 6, 8, 9),  # Digits drawn with a closed loop.
}
DIGIT_DATASETS = ('digits', 'mnist', 'svhn_cropped')  # Labels 0..9 are the digits themselves.


def _checked_derived(data: ml_collections.ConfigDict) -> tuple[str, ...]:
  names = tuple(data.get('derived_attributes', ()))
  unknown = [n for n in names if n not in DIGIT_ATTRIBUTES]
  if unknown:
    raise ValueError(f'config.data.derived_attributes has unknown {unknown}; choose from: '
                     f'{", ".join(sorted(DIGIT_ATTRIBUTES))}')
  if names and data.name not in DIGIT_DATASETS:
    raise ValueError(f'config.data.derived_attributes needs digit labels, but '
                     f'config.data.name={data.name!r}; choose one of: {", ".join(DIGIT_DATASETS)}')
  return names


def digit_attribute_table(names: tuple[str, ...]) -> np.ndarray:
  """(10, len(names)) float32: row d holds digit d's bits, column i the attribute names[i]."""
  return np.asarray([[float(d in DIGIT_ATTRIBUTES[n]) for n in names] for d in range(10)],
                    np.float32)


def attribute_names(data: ml_collections.ConfigDict) -> tuple[str, ...]:
  """The names of the batch's 'attributes' field, in order; () when it has none."""
  derived = _checked_derived(data)
  if derived:
    return derived
  return _checked_attributes(data) if data.name == 'celeb_a' else ()


def attribute_table(data: ml_collections.ConfigDict) -> np.ndarray:
  """(num_classes, num_attributes) float32: the attribute bits of each probe class.

  Derived attributes are functions of the digit; CelebA's label is the attribute combination
  (sum_i bit_i 2^i), so each bit is read off the class. ValueError when there are none.
  """
  derived = _checked_derived(data)
  if derived:
    return digit_attribute_table(derived)
  if data.name == 'celeb_a':
    bits = len(_checked_attributes(data))
    return ((np.arange(2**bits)[:, None] >> np.arange(bits)) & 1).astype(np.float32)
  raise ValueError(f'config.data.name={data.name!r} has no attributes: use celeb_a or set '
                   f'config.data.derived_attributes (on {", ".join(DIGIT_DATASETS)})')


class DerivedAttributesSource:
  """`parent` with 'attributes' (float32 bits, the rows of `table` at the label) on each example."""

  def __init__(self, parent: Source, table: np.ndarray):
    self.parent, self.table = parent, table

  def __len__(self) -> int:
    return len(self.parent)

  def __getitem__(self, index: int) -> Example:
    example = dict(self.parent[index])
    example['attributes'] = self.table[int(example['label'])]
    return example

  def read_batch(self, indices: np.ndarray) -> Example:
    batch = dict(read_batch(self.parent, indices))
    batch['attributes'] = self.table[batch['label'].astype(np.int64)]
    return batch


def _load(data: ml_collections.ConfigDict) -> Source:
  """The whole dataset `data.name`, as stored (before fitting, splitting and subsetting)."""
  if data.name not in PROCEDURAL and data.name not in TFDS_DATASETS:
    raise ValueError(f'config.data.name={data.name!r} is not a dataset; choose one of: '
                     f'{", ".join(DATASETS)}')
  if data.labels_path and not data.path:
    raise ValueError('config.data.labels_path is set but config.data.path is not; set both '
                     '(IDX images and labels) or neither')
  if data.path:
    if data.name in PROCEDURAL:
      raise ValueError(f'config.data.path is set but config.data.name={data.name!r} is '
                       'procedural; set the name of the dataset the files hold (e.g. mnist)')
    images, labels = files.load(data.path, data.labels_path, data.train_split)
    if data.num_classes and labels.max() >= data.num_classes:
      raise ValueError(f'config.data.num_classes={data.num_classes} does not fit the labels in '
                       f'{data.path} (up to {labels.max()}): use {labels.max() + 1} or more')
    source = ArraySource(images, labels)
    fix = IMAGE_FIXES.get(data.name)
    return MappedSource(source, fix) if fix else source
  if data.name in PROCEDURAL:
    return PROCEDURAL[data.name][0](data)
  return TfdsSource(data.name, data.train_split, data.data_dir, TFDS_DATASETS[data.name][0](data))


def _check_num_classes(data: ml_collections.ConfigDict) -> None:
  """The named dataset's class count (local files are checked against their labels on load)."""
  if data.path:
    return
  expected = (PROCEDURAL.get(data.name) or TFDS_DATASETS[data.name])[1](data)
  if data.num_classes not in (0, expected):
    use = f'{expected} (or 0 for no probe)' if expected else '0 (it has no classes)'
    raise ValueError(f'config.data.num_classes={data.num_classes} does not fit '
                     f'{data.name!r}: use {use}')


SPLIT_METHODS = ('default', 'amr_code')


def split_indices(n: int, valid_fraction: float, seed: int, valid_size: int = 0,
                  method: str = 'default') -> tuple[np.ndarray, np.ndarray]:
  """A seeded train/valid cut of range(n): the same for every run with the same seed.

  Train indices are sorted (the pipeline shuffles them), or under 'amr_code' in the authors'
  shuffled order (their Table 2 subsets are its first N); validation indices stay in seeded
  random order, so any prefix (eval.max_examples, the figure pairs) is a fair sample even of
  datasets stored in order, like the dSprites factor grid.

  Args:
    valid_size: > 0: this many validation examples; 0: round(n * valid_fraction).
    method: 'default' (validation = the first part of a Generator permutation) or 'amr_code'
      (the AMR code's get_shuffled_indices, task_launcher.py:58-62: RandomState(seed).shuffle,
      training = the first n - valid_size, validation = the rest: MNIST and KMNIST 433-435,
      452-454, SVHN 470-472, CIFAR-10 513-515). The same examples as theirs only where the
      dataset is in the original files' order (local files, config.data.path); a TFDS build
      may store its records in another order.
  """
  if method not in SPLIT_METHODS:
    raise ValueError(f'config.data.split_method={method!r} is not a split; choose one of: '
                     f'{", ".join(SPLIT_METHODS)}')
  if valid_size:
    if not 0 < valid_size < n:
      raise ValueError(f'config.data.valid_size={valid_size} must be in [1, {n - 1}] (the '
                       f'dataset has {n} examples), or 0 to use valid_fraction')
    num_valid = int(valid_size)
  else:
    if not 0.0 < valid_fraction < 1.0:
      raise ValueError(f'config.data.valid_fraction={valid_fraction} must be in (0, 1)')
    num_valid = max(1, int(round(n * valid_fraction)))
    if num_valid >= n:
      raise ValueError(f'config.data.valid_fraction={valid_fraction} leaves no training '
                       f'examples of {n}')
  if method == 'amr_code':
    order = np.arange(n)
    np.random.RandomState(seed).shuffle(order)
    return order[:n - num_valid], order[n - num_valid:]
  order = np.random.default_rng(seed).permutation(n)
  return np.sort(order[num_valid:]), order[:num_valid]


def subset_indices(n: int, size: int, seed: int) -> np.ndarray:
  """The first `size` of a seeded shuffle of range(n) (the AMR paper's Table 2 subsets)."""
  if not 0 < size <= n:
    raise ValueError(f'config.data.train_subset={size} must be in [1, {n}] (the training '
                     'split\'s size), or 0 for all of it')
  return np.random.default_rng(seed).permutation(n)[:size]


def build(config: ml_collections.ConfigDict) -> tuple[Source, Source]:
  """(train, valid) sources for config.data: fitted to image_size, split, optionally subset."""
  data = config.data
  full = _load(data)
  _check_num_classes(data)
  derived = _checked_derived(data)
  if derived:
    full = DerivedAttributesSource(full, digit_attribute_table(derived))
  native = np.shape(full[0]['image'])
  if len(native) == 3:  # Images (the 2-D toys are points and pass through).
    size, method = int(data.image_size), data.fit
    transforms.check_fit(method, native, size)
    if native[:2] != (size, size):
      full = MappedSource(full, lambda image: transforms.fit(image, size, method))
  if endless(len(full)):
    return _split_stream(full, data)
  train, valid = split_indices(len(full), data.valid_fraction, data.split_seed,
                               int(data.valid_size), data.split_method)
  if data.train_subset:
    chosen = subset_indices(len(train), data.train_subset, data.subset_seed)  # Checks the size.
    if data.split_method == 'amr_code':
      # task_launcher.py:544-552: the first N of their training part (the shuffle that follows
      # only reorders those N), so the subsets are nested as ours are.
      chosen = np.arange(data.train_subset)
    train = train[chosen]
  return SubsetSource(full, train), SubsetSource(full, valid)


def _split_stream(full: Source, data: ml_collections.ConfigDict) -> tuple[Source, Source]:
  """The stream's first valid_size (default STREAM_VALID) lines validate, the rest train."""
  if data.train_subset:
    raise ValueError(f'config.data.train_subset={data.train_subset} needs a finite training '
                     f'set, but {data.name!r} with config.data.num_examples=0 is an endless '
                     'stream; set config.data.num_examples, or train_subset=0')
  num_valid = int(data.valid_size) or STREAM_VALID
  if num_valid < 1:
    raise ValueError(f'config.data.valid_size={data.valid_size} must be >= 1, or 0 for the '
                     f'stream\'s default {STREAM_VALID}')
  return SubsetSource(full, range(num_valid, len(full))), SubsetSource(full, range(num_valid))


def image_shape(source: Source) -> tuple[int, ...]:
  return tuple(np.shape(source[0]['image']))


def describe(config: ml_collections.ConfigDict, train: Source, valid: Source) -> str:
  """One line for the log: what the run trains on."""
  where = config.data.path or config.data.data_dir or 'default'
  if endless(len(train)):
    return (f'data {config.data.name} ({where}): an endless stream of fresh examples / '
            f'{len(valid)} valid, {"x".join(map(str, image_shape(train)))}')
  return (f'data {config.data.name} ({where}): {len(train)} train / {len(valid)} valid, '
          f'{"x".join(map(str, image_shape(train)))}, '
          f'{math.ceil(len(train) / config.batch_size)} steps per epoch')
