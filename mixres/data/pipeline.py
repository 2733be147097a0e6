"""The grain input pipeline: seeded shuffle, per-process shard, batch, scale to [-1, 1].

Batches form a random-access `grain.MapDataset`: batch i of the run is `batches[i]`, a pure
function of (data, shuffle seed, i). A resumed run starts at `batches[step:]` and so sees exactly
the batches the uninterrupted run would have seen; the checkpoint needs only the step.
"""

from typing import Any, Iterator

import grain
import jax
import numpy as np

from mixres.data.sources import Source


def to_model_input(images: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] -> float32 [-1, 1], the range every model in mixres works in."""
  return images.astype(np.float32) * (2.0 / 255.0) - 1.0


def _stack(examples: list[dict[str, Any]]) -> dict[str, np.ndarray]:
  return {'image': to_model_input(np.stack([e['image'] for e in examples])),
          'label': np.asarray([e['label'] for e in examples], np.int32)}


def train_batches(source: Source, global_batch_size: int, seed: int,
                  process_index: int | None = None, process_count: int | None = None
                  ) -> grain.MapDataset:
  """Endless, reshuffled every epoch; this process's share of each global batch."""
  process_index = jax.process_index() if process_index is None else process_index
  process_count = jax.process_count() if process_count is None else process_count
  if global_batch_size % process_count:
    raise ValueError(f'config.batch_size={global_batch_size} must be divisible by the number '
                     f'of processes ({process_count})')
  stream = grain.MapDataset.source(source).shuffle(seed=seed).repeat()
  # Process p takes examples p, p + P, ...: disjoint shares that together cover the stream.
  stream = stream[process_index::process_count]
  return stream.batch(global_batch_size // process_count, drop_remainder=True, batch_fn=_stack)


def iterate(batches: grain.MapDataset, start: int = 0, threads: int = 2) -> Iterator[dict]:
  """Batches start, start + 1, ... read ahead by `threads` worker threads."""
  options = grain.ReadOptions(num_threads=threads, prefetch_buffer_size=2 * threads)
  return iter(batches[start:].to_iter_dataset(options))


def eval_batches(source: Source, batch_size: int, max_examples: int = 0
                 ) -> Iterator[dict[str, np.ndarray]]:
  """One ordered pass; the last batch is padded to full size with `mask` = 0 on the padding."""
  n = len(source) if not max_examples else min(max_examples, len(source))
  for start in range(0, n, batch_size):
    batch = _stack([source[i] for i in range(start, min(start + batch_size, n))])
    real = len(batch['label'])
    pad = batch_size - real
    batch = {k: np.concatenate([v, np.repeat(v[-1:], pad, 0)]) for k, v in batch.items()}
    batch['mask'] = (np.arange(batch_size) < real).astype(np.float32)
    yield batch
