"""The grain input pipeline: seeded shuffle, augmentation, batch, per-process shard, [-1, 1].

Batches form a random-access `grain.MapDataset`: batch i of the run is `batches[i]`, a pure
function of (data, shuffle seed, augmentation seed, i); augmentation draws its randomness from
grain's per-index generator. So the iterator's position is one integer, the index of the next
batch, which the checkpoint stores (`position`): a resumed run starts at `batches[position:]`
and sees exactly the batches the uninterrupted run would have seen.

`config.data.batching` says how batches meet epochs:
- 'stream': an endless stream, reshuffled every epoch, cut into full batches that may straddle
  two epochs; objectives count their schedules (G every 5th step) in global steps.
- 'epoch': as PyTorch's DataLoader(shuffle=True) in the AMR code (task_launcher.py:573-576):
  each epoch a fresh seeded shuffle cut into ceil(N / B) batches, the last one partial, and the
  schedules count from each epoch's first batch (models/base.py:50 passes iter=b+1,
  swapgan.py:263 updates G when (iter - 1) % 5 == 0).
An endless source (the lines stream, sources.STREAM_LENGTH) has no epochs: 'stream' only, and
a run's length in steps.
"""

import dataclasses
import functools
import math
import sys
from typing import Any, Iterator

import grain
import jax
import ml_collections
import numpy as np

from mixres.data import sources
from mixres.data import transforms
from mixres.data.sources import Source

_AUGMENT_SEED_OFFSET = 7_919  # Augmentation randomness independent of the shuffle's.
BATCHINGS = ('stream', 'epoch')


@dataclasses.dataclass(frozen=True)
class EpochClock:
  """Where steps fall among the epochs of a training set, under config.data.batching."""
  num_examples: int
  batch_size: int
  batching: str = 'stream'

  def __post_init__(self):
    if self.batching not in BATCHINGS:
      raise ValueError(f'config.data.batching={self.batching!r} is not a batching; choose one '
                       f'of: {", ".join(BATCHINGS)}')
    if self.batching == 'epoch' and sources.endless(self.num_examples):
      raise ValueError("config.data.batching='epoch' needs epochs, but the training set is an "
                       "endless stream (config.data.num_examples=0); use batching='stream', or "
                       'set config.data.num_examples')

  @property
  def batches_per_epoch(self) -> int:
    """'epoch': ceil(N / B) batches, the last partial. 'stream': not whole; see `epochs_done`."""
    return math.ceil(self.num_examples / self.batch_size)

  def last_batch_size(self) -> int:
    """Size of each epoch's last batch ('epoch'); B under 'stream', whose batches are all full."""
    if self.batching == 'stream':
      return self.batch_size
    return self.num_examples - (self.batches_per_epoch - 1) * self.batch_size

  def epochs_done(self, steps: int) -> int:
    """Whole epochs of data seen after `steps` steps."""
    if sources.endless(self.num_examples):
      raise ValueError("an 'N epochs' cadence (config.eval.every) never comes round on an "
                       "endless stream (config.data.num_examples=0); use 'N steps'")
    if self.batching == 'epoch':
      return steps // self.batches_per_epoch
    return steps * self.batch_size // self.num_examples

  def schedule_step(self, step: int) -> int:
    """What an objective's schedule counts: the global step, or the batch's index in its epoch."""
    return step % self.batches_per_epoch if self.batching == 'epoch' else step

  def train_steps(self, num_epochs: float) -> int:
    """Steps in `num_epochs` epochs."""
    if sources.endless(self.num_examples):
      raise ValueError(f'config.num_epochs={num_epochs} epochs of an endless stream never end '
                       '(config.data.num_examples=0); set config.num_train_steps')
    if self.batching == 'epoch':
      return math.ceil(num_epochs * self.batches_per_epoch)
    return math.ceil(num_epochs * self.num_examples / self.batch_size)


def _spread(seed: int) -> int:
  """A well-mixed 32-bit seed derived from `seed`: nearby seeds give unrelated ones."""
  return int(np.random.SeedSequence(seed).generate_state(1)[0])


def to_model_input(images: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] -> float32 [-1, 1], the range every model in mixres works in."""
  return images.astype(np.float32) * (2.0 / 255.0) - 1.0


def _as_input(values: np.ndarray) -> np.ndarray:
  # Images arrive as uint8; the 2-D toys' points are float32 already.
  return to_model_input(values) if values.dtype == np.uint8 else values.astype(np.float32)


def _model_batch(fields: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  """Stacked fields as the model reads them: int32 labels, images (and views) in [-1, 1]."""
  batch = {**fields, 'label': fields['label'].astype(np.int32)}
  for key in ('image', 'views'):
    if key in batch:
      batch[key] = _as_input(batch[key])
  return batch


def stack(examples: list[dict[str, Any]]) -> dict[str, np.ndarray]:
  """A list of examples -> a batch: every field stacked, images (and views) scaled to [-1, 1]."""
  return _model_batch(sources.stack_examples(examples))


def read(source: Source, indices) -> dict[str, np.ndarray]:
  """The examples of `source` at `indices` as a batch (as `stack`), read together where the
  source can (sources.read_batch): the lines are drawn in one vectorised render."""
  return _model_batch(sources.read_batch(source, indices))


def _add_views(example: dict[str, Any], rng: np.random.Generator,
               augment: ml_collections.ConfigDict) -> dict[str, Any]:
  """AugIntAE: `num_views` independent random affine copies of the image, (V, H, W, C)."""
  views = [transforms.random_affine(example['image'], rng, augment.rotation,
                                    augment.translation, tuple(augment.scale))
           for _ in range(augment.num_views)]
  return {**example, 'views': np.stack(views)}


def check_augment(augment: ml_collections.ConfigDict) -> None:
  if int(augment.num_views) < 0:
    raise ValueError(f'config.data.augment.num_views={augment.num_views} must be >= 0')
  if len(augment.scale) != 2 or not 0 < augment.scale[0] <= augment.scale[1]:
    raise ValueError(f'config.data.augment.scale={tuple(augment.scale)} must be (low, high) '
                     'with 0 < low <= high')


def train_batches(source: Source, global_batch_size: int, seed: int,
                  augment: ml_collections.ConfigDict | None = None,
                  process_index: int | None = None, process_count: int | None = None,
                  batching: str = 'stream') -> grain.MapDataset:
  """Endless, reshuffled every epoch; this process's share of each global batch.

  Args:
    augment: config.data.augment; with num_views > 0 each example gains 'views'.
    batching: config.data.batching (module docstring).
  """
  process_index = jax.process_index() if process_index is None else process_index
  process_count = jax.process_count() if process_count is None else process_count
  if global_batch_size % process_count:
    raise ValueError(f'config.batch_size={global_batch_size} must be divisible by the number '
                     f'of processes ({process_count})')
  clock = EpochClock(len(source), global_batch_size, batching)
  if batching == 'epoch':
    if clock.last_batch_size() % process_count:
      raise ValueError(
          f"config.data.batching='epoch' ends each epoch with a batch of "
          f'{clock.last_batch_size()}, which {process_count} processes cannot share evenly; '
          "use config.data.batching='stream'")
    return grain.MapDataset.source(
        _EpochBatches(source, global_batch_size, seed, augment, process_index, process_count))
  # grain reshuffles epoch e with seed + e, so seeds 0 and 1 would share epochs; spread them.
  # Cut the stream into per-process blocks; process p takes blocks p, p + P, ... Global batch i
  # is then stream[i * B:(i + 1) * B] in order, process p holding rows p * B/P onwards, which
  # is how the mesh assembles it (parallel.to_global): the same batch, row for row, on any
  # number of processes. The stream is endless, so every block is full.
  block = global_batch_size // process_count
  if augment is not None and augment.num_views:
    check_augment(augment)
    stream = grain.MapDataset.source(source).shuffle(seed=_spread(seed)).repeat()
    # grain derives each element's generator from (seed, index in the global stream), so the
    # views of an example do not depend on how many processes share the stream.
    stream = stream.random_map(functools.partial(_add_views, augment=augment),
                               seed=_spread(seed + _AUGMENT_SEED_OFFSET))
    blocks = stream.batch(block, batch_fn=stack)
  else:
    # The same shuffle applied to the indices, each block read in one go (`read`): the same
    # batches as reading example by example, several times faster (BENCHMARKS.md).
    order = grain.MapDataset.range(len(source)).shuffle(seed=_spread(seed)).repeat()
    blocks = order.batch(block, batch_fn=np.asarray).map(functools.partial(read, source))
  return blocks[process_index::process_count]


class _EpochBatches:
  """Random-access batches under batching 'epoch': batch i is batch i % n of epoch i // n.

  Epoch e is the permutation of a generator seeded by (seed, e); each process reads its equal
  share of every global batch, rows p * b/P onwards (b = B, or the last batch's size).
  """

  def __init__(self, source: Source, batch_size: int, seed: int,
               augment: ml_collections.ConfigDict | None, process_index: int,
               process_count: int):
    self.source, self.batch_size, self.seed = source, batch_size, _spread(seed)
    self.augment = augment if augment is not None and augment.num_views else None
    if self.augment is not None:
      check_augment(self.augment)
    self.process_index, self.process_count = process_index, process_count
    self.clock = EpochClock(len(source), batch_size, 'epoch')
    self._orders = {}  # epoch -> permutation, the last two (reader threads straddle epochs).

  def __len__(self) -> int:
    return sys.maxsize  # Endless, as the stream.

  def _order(self, epoch: int) -> np.ndarray:
    if epoch not in self._orders:
      order = np.random.default_rng((self.seed, epoch)).permutation(len(self.source))
      self._orders = {e: o for e, o in self._orders.items() if e >= epoch - 1}
      self._orders[epoch] = order
    return self._orders[epoch]

  def __getitem__(self, index: int) -> dict[str, np.ndarray]:
    epoch, within = divmod(int(index), self.clock.batches_per_epoch)
    rows = self._order(epoch)[within * self.batch_size:(within + 1) * self.batch_size]
    share = len(rows) // self.process_count
    start = self.process_index * share
    if self.augment is None:
      return read(self.source, rows[start:start + share])
    examples = []
    for position in range(start, start + share):
      rng = np.random.default_rng((self.seed + _AUGMENT_SEED_OFFSET, epoch,
                                   within * self.batch_size + position))
      examples.append(_add_views(self.source[int(rows[position])], rng, self.augment))
    return stack(examples)


def iterate(batches: grain.MapDataset, start: int = 0, threads: int = 2) -> Iterator[dict]:
  """Batches start, start + 1, ... read ahead by `threads` worker threads."""
  options = grain.ReadOptions(num_threads=threads, prefetch_buffer_size=2 * threads)
  return iter(batches[start:].to_iter_dataset(options))


def eval_batches(source: Source, batch_size: int, max_examples: int = 0
                 ) -> Iterator[dict[str, np.ndarray]]:
  """One ordered pass; the last batch is padded to full size with `mask` = 0 on the padding."""
  n = len(source) if not max_examples else min(max_examples, len(source))
  for start in range(0, n, batch_size):
    batch = read(source, np.arange(start, min(start + batch_size, n)))
    real = len(batch['label'])
    pad = batch_size - real
    batch = {k: np.concatenate([v, np.repeat(v[-1:], pad, 0)]) for k, v in batch.items()}
    batch['mask'] = (np.arange(batch_size) < real).astype(np.float32)
    yield batch
