"""Atomic file writing: a reader sees the old file or the whole new one, never
a partial one."""
import contextlib
import os
import os.path as osp
import tempfile
from typing import IO, Iterator, Union


def _umask() -> int:
    # os.umask can only be read by setting it; restore it at once.
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: Union[str, os.PathLike],
                mode: str = 'wb') -> Iterator[IO]:
    """Open a temporary file beside ``path`` that replaces ``path`` on success.

    The file is written in the same directory (so the final ``os.replace`` is
    atomic) and, unlike ``tempfile.mkstemp``'s private 0600 file, ends with
    the mode an ordinary ``open(path, 'w')`` would give it (0666 less the
    umask), so other users of a shared machine can read annotations, images
    and checkpoints. If the block raises, the temporary file is removed and
    ``path`` is left untouched.

    Args:
        path (str | os.PathLike): Destination file. Its directory must exist.
        mode (str): ``'wb'`` or ``'w'`` (text, UTF-8). Defaults to ``'wb'``.

    Yields:
        IO: The open temporary file.
    """
    if mode not in ('w', 'wb'):
        raise ValueError(
            f'atomic_open supports modes "w" and "wb", not {mode!r}')
    path = os.fspath(path)
    directory = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(
        dir=directory, prefix='.' + osp.basename(path) + '.', suffix='.tmp')
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        kwargs = dict(encoding='utf-8') if mode == 'w' else {}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def atomic_write_bytes(path: Union[str, os.PathLike], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, 'wb') as f:
        f.write(data)


def atomic_write_text(path: Union[str, os.PathLike], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see
    :func:`atomic_open`)."""
    with atomic_open(path, 'w') as f:
        f.write(text)
