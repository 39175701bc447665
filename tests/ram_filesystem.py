# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""TensorFlow's in-memory `ram://` filesystem, made visible to Beam.

Importing this module registers a Beam `FileSystem` for the `ram` scheme
that does every operation through `tf.io.gfile`, so TensorFlow, TFX's
`fileio` and Beam's `FileSystems` see the same non-local files (in this
process only: the DirectRunner's in-memory mode). A pipeline whose root is
`ram://...` then proves every artifact read and write goes through those
APIs: a local `open()` or `os.makedirs()` on such a path fails or lands in
a `ram:` folder on disk.
"""
import io
from typing import BinaryIO, List

from apache_beam.io.filesystem import CompressedFile
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystem import FileSystem
from apache_beam.io.filesystems import BeamIOError
import tensorflow as tf
from tensorflow.python.lib.io import file_io

gfile = tf.io.gfile
_list_directory = file_io.list_directory_v2


def _list_existing_children(path: str) -> List[str]:
  """TF's RamFileSystem lists children by name prefix, so a folder `assets`
  beside `assets.extra` (every TF Serving export) also "holds" `.extra`,
  which does not exist. Only children that exist are listed here."""
  children = _list_directory(path)
  if not path.startswith("ram://"):
    return children
  return [c for c in children
          if file_io.file_exists_v2(path.rstrip("/") + "/" + c.rstrip("/"))]


# tf.io.gfile.listdir, and tf.io.gfile.walk through file_io.list_directory.
file_io.list_directory = file_io.list_directory_v2 = _list_existing_children
gfile.listdir = _list_existing_children


class _Writer(io.RawIOBase):
  """A write channel that knows its position (TF's ram files cannot tell)."""

  mode = "wb"

  def __init__(self, path: str):
    super().__init__()
    self._file = gfile.GFile(path, "wb")
    self._file.write(b"")  # creates the file now, as a local open() would
    self._position = 0

  def writable(self) -> bool:
    return True

  def write(self, data) -> int:
    self._file.write(bytes(data))
    self._position += len(data)
    return len(data)

  def tell(self) -> int:
    return self._position

  def flush(self) -> None:
    if not self.closed:
      self._file.flush()

  def close(self) -> None:
    if not self.closed:
      self._file.close()
    super().close()


class TfRamFileSystem(FileSystem):
  """Beam's view of `ram://`, through tf.io.gfile."""

  @classmethod
  def scheme(cls) -> str:
    return "ram"

  def join(self, basepath: str, *paths: str) -> str:
    return "/".join([basepath.rstrip("/")] + [p.strip("/") for p in paths])

  def split(self, path: str):
    path = path.rstrip("/")
    head, _, tail = path.rpartition("/")
    return head, tail

  def mkdirs(self, path: str) -> None:
    gfile.makedirs(path)

  def has_dirs(self) -> bool:
    return True

  def _list(self, dir_or_prefix: str):
    if not gfile.exists(dir_or_prefix):
      return
    for folder, _, files in gfile.walk(dir_or_prefix):
      for name in files:
        yield self.metadata(self.join(folder, name))

  def _wrap(self, raw, path: str, compression_type: str) -> BinaryIO:
    compression_type = FileSystem._get_compression_type(path, compression_type)
    if compression_type == CompressionTypes.UNCOMPRESSED:
      return raw
    return CompressedFile(raw, compression_type=compression_type)

  def create(self, path: str, mime_type: str = "application/octet-stream",
             compression_type: str = CompressionTypes.AUTO) -> BinaryIO:
    gfile.makedirs(self.split(path)[0])
    return self._wrap(_Writer(path), path, compression_type)

  def open(self, path: str, mime_type: str = "application/octet-stream",
           compression_type: str = CompressionTypes.AUTO) -> BinaryIO:
    return self._wrap(gfile.GFile(path, "rb"), path, compression_type)

  def _each(self, operation, sources: List[str], destinations: List[str],
            what: str) -> None:
    errors = {}
    for source, destination in zip(sources, destinations):
      try:
        operation(source, destination)
      except Exception as e:  # pylint: disable=broad-except
        errors[(source, destination)] = e
    if errors:
      raise BeamIOError(f"{what} failed", errors)

  def _copy(self, source: str, destination: str) -> None:
    if not gfile.isdir(source):
      gfile.makedirs(self.split(destination)[0])
      gfile.copy(source, destination, overwrite=True)
      return
    for folder, _, files in gfile.walk(source):
      target = destination + folder[len(source.rstrip("/")):]
      gfile.makedirs(target)
      for name in files:
        gfile.copy(self.join(folder, name), self.join(target, name), True)

  def copy(self, source_file_names, destination_file_names) -> None:
    self._each(self._copy, source_file_names, destination_file_names, "copy")

  def _rename(self, source: str, destination: str) -> None:
    gfile.makedirs(self.split(destination)[0])
    gfile.rename(source, destination, overwrite=True)

  def rename(self, source_file_names, destination_file_names) -> None:
    self._each(self._rename, source_file_names, destination_file_names,
               "rename")

  def exists(self, path: str) -> bool:
    return gfile.exists(path)

  def size(self, path: str) -> int:
    return gfile.stat(path).length

  def last_updated(self, path: str) -> float:
    return gfile.stat(path).mtime_nsec / 1e9

  def checksum(self, path: str) -> str:
    return str(self.size(path))

  def metadata(self, path: str) -> FileMetadata:
    stat = gfile.stat(path)
    return FileMetadata(path, stat.length, stat.mtime_nsec / 1e9)

  def delete(self, paths: List[str]) -> None:
    def remove(path, _):
      if gfile.isdir(path):
        gfile.rmtree(path)
      else:
        gfile.remove(path)
    self._each(remove, paths, paths, "delete")
