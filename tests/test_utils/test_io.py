import os
import stat

import pytest

from softgate_mmpose.utils import (atomic_open, atomic_write_bytes,
                                   atomic_write_text)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize('umask', [0o022, 0o002, 0o077])
def test_written_file_has_umask_mode(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / 'a.bin', b'xyz')
        atomic_write_text(tmp_path / 'b.json', '{}')
    finally:
        os.umask(old)
    for name in ('a.bin', 'b.json'):
        assert _mode(tmp_path / name) == 0o666 & ~umask
    assert (tmp_path / 'a.bin').read_bytes() == b'xyz'
    assert (tmp_path / 'b.json').read_text() == '{}'


def test_failure_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / 'keep.txt'
    target.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_open(target, 'w') as f:
            f.write('half')
            raise RuntimeError('boom')
    assert target.read_text() == 'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['keep.txt']


def test_failure_on_new_file_writes_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_open(tmp_path / 'new.bin') as f:
            f.write(b'half')
            raise RuntimeError('boom')
    assert list(tmp_path.iterdir()) == []


def test_rejects_other_modes(tmp_path):
    with pytest.raises(ValueError, match='modes'):
        with atomic_open(tmp_path / 'x', 'a'):
            pass
