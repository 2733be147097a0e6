"""Image grids for figures: model outputs in [-1, 1] -> uint8 RGB mosaics."""

import numpy as np


def to_uint8(images: np.ndarray) -> np.ndarray:
  """[-1, 1] floats -> [0, 255] uint8, clipped; one channel is repeated to RGB."""
  images = np.clip((np.asarray(images, np.float32) + 1.0) * 127.5, 0, 255).round()
  images = images.astype(np.uint8)
  return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def grid(tiles: np.ndarray, gap: int = 2, scale: int = 2) -> np.ndarray:
  """(rows, cols, H, W, C) in [-1, 1] -> one (H', W', 3) uint8 mosaic, white gaps, upscaled."""
  rows, cols, h, w, _ = tiles.shape
  tiles = to_uint8(tiles)
  if scale > 1:
    tiles = tiles.repeat(scale, axis=2).repeat(scale, axis=3)
    h, w = h * scale, w * scale
  out = np.full((rows * (h + gap) + gap, cols * (w + gap) + gap, 3), 255, np.uint8)
  for r in range(rows):
    for c in range(cols):
      top, left = gap + r * (h + gap), gap + c * (w + gap)
      out[top:top + h, left:left + w] = tiles[r, c]
  return out


def labelled_rows(mosaic: np.ndarray, labels: list[str], width: int = 150) -> np.ndarray:
  """A white margin left of a `grid` mosaic with one text label per row of tiles."""
  from PIL import Image, ImageDraw  # Imported here: only labelled figures need drawing.
  height = mosaic.shape[0]
  row_height = height / len(labels)
  canvas = Image.new('RGB', (width + mosaic.shape[1], height), 'white')
  canvas.paste(Image.fromarray(mosaic), (width, 0))
  draw = ImageDraw.Draw(canvas)
  for i, label in enumerate(labels):
    draw.text((4, int((i + 0.5) * row_height) - 5), label[:24], fill='black')
  return np.asarray(canvas)


def labelled_panels(panels: list[np.ndarray], labels: list[str], gap: int = 8) -> np.ndarray:
  """Equal-sized uint8 (H, W, 3) panels side by side, each with its label above it."""
  from PIL import Image, ImageDraw
  h, w, _ = panels[0].shape
  top = 16
  canvas = Image.new('RGB', (len(panels) * (w + gap) + gap, h + top + gap), 'white')
  draw = ImageDraw.Draw(canvas)
  for i, (panel, label) in enumerate(zip(panels, labels)):
    left = gap + i * (w + gap)
    canvas.paste(Image.fromarray(panel), (left, top))
    draw.text((left + 2, 2), label[:w // 6], fill='black')
  return np.asarray(canvas)


def labelled_columns(mosaic: np.ndarray, labels: list[str], gap: int = 2, top: int = 14
                     ) -> np.ndarray:
  """A white margin above a `grid` mosaic (made with the same gap) with one label per column."""
  from PIL import Image, ImageDraw
  column_width = (mosaic.shape[1] - gap) / len(labels)
  canvas = Image.new('RGB', (mosaic.shape[1], mosaic.shape[0] + top), 'white')
  canvas.paste(Image.fromarray(mosaic), (0, top))
  draw = ImageDraw.Draw(canvas)
  for i, label in enumerate(labels):
    draw.text((gap + int(i * column_width) + 1, 2), label[:max(1, int(column_width) // 6)],
              fill='black')
  return np.asarray(canvas)
