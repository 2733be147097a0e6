"""The grain input pipeline: seeded shuffle, augmentation, batch, per-process shard, [-1, 1].

Batches form a random-access `grain.MapDataset`: batch i of the run is `batches[i]`, a pure
function of (data, shuffle seed, augmentation seed, i); augmentation draws its randomness from
grain's per-index generator. So the iterator's position is one integer, the index of the next
batch, which the checkpoint stores (`position`): a resumed run starts at `batches[position:]`
and sees exactly the batches the uninterrupted run would have seen.
"""

import functools
from typing import Any, Iterator

import grain
import jax
import ml_collections
import numpy as np

from mixres.data import transforms
from mixres.data.sources import Source

_AUGMENT_SEED_OFFSET = 7_919  # Augmentation randomness independent of the shuffle's.


def _spread(seed: int) -> int:
  """A well-mixed 32-bit seed derived from `seed`: nearby seeds give unrelated ones."""
  return int(np.random.SeedSequence(seed).generate_state(1)[0])


def to_model_input(images: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] -> float32 [-1, 1], the range every model in mixres works in."""
  return images.astype(np.float32) * (2.0 / 255.0) - 1.0


def _as_input(values: np.ndarray) -> np.ndarray:
  # Images arrive as uint8; the 2-D toys' points are float32 already.
  return to_model_input(values) if values.dtype == np.uint8 else values.astype(np.float32)


def stack(examples: list[dict[str, Any]]) -> dict[str, np.ndarray]:
  """A list of examples -> a batch: every field stacked, images (and views) scaled to [-1, 1]."""
  batch = {k: np.stack([np.asarray(e[k]) for e in examples]) for k in examples[0]}
  batch['label'] = batch['label'].astype(np.int32)
  for key in ('image', 'views'):
    if key in batch:
      batch[key] = _as_input(batch[key])
  return batch


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
                  process_index: int | None = None, process_count: int | None = None
                  ) -> grain.MapDataset:
  """Endless, reshuffled every epoch; this process's share of each global batch.

  Args:
    augment: config.data.augment; with num_views > 0 each example gains 'views'.
  """
  process_index = jax.process_index() if process_index is None else process_index
  process_count = jax.process_count() if process_count is None else process_count
  if global_batch_size % process_count:
    raise ValueError(f'config.batch_size={global_batch_size} must be divisible by the number '
                     f'of processes ({process_count})')
  # grain reshuffles epoch e with seed + e, so seeds 0 and 1 would share epochs; spread them.
  stream = grain.MapDataset.source(source).shuffle(seed=_spread(seed)).repeat()
  if augment is not None and augment.num_views:
    check_augment(augment)
    # grain derives each element's generator from (seed, index in the global stream), so the
    # views of an example do not depend on how many processes share the stream.
    stream = stream.random_map(functools.partial(_add_views, augment=augment),
                               seed=_spread(seed + _AUGMENT_SEED_OFFSET))
  # Cut the stream into per-process blocks; process p takes blocks p, p + P, ... Global batch i
  # is then stream[i * B:(i + 1) * B] in order, process p holding rows p * B/P onwards, which
  # is how the mesh assembles it (parallel.to_global): the same batch, row for row, on any
  # number of processes. The stream is endless, so every block is full.
  blocks = stream.batch(global_batch_size // process_count, batch_fn=stack)
  return blocks[process_index::process_count]


def iterate(batches: grain.MapDataset, start: int = 0, threads: int = 2) -> Iterator[dict]:
  """Batches start, start + 1, ... read ahead by `threads` worker threads."""
  options = grain.ReadOptions(num_threads=threads, prefetch_buffer_size=2 * threads)
  return iter(batches[start:].to_iter_dataset(options))


def eval_batches(source: Source, batch_size: int, max_examples: int = 0
                 ) -> Iterator[dict[str, np.ndarray]]:
  """One ordered pass; the last batch is padded to full size with `mask` = 0 on the padding."""
  n = len(source) if not max_examples else min(max_examples, len(source))
  for start in range(0, n, batch_size):
    batch = stack([source[i] for i in range(start, min(start + batch_size, n))])
    real = len(batch['label'])
    pad = batch_size - real
    batch = {k: np.concatenate([v, np.repeat(v[-1:], pad, 0)]) for k, v in batch.items()}
    batch['mask'] = (np.arange(batch_size) < real).astype(np.float32)
    yield batch
