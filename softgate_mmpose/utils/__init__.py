from .io import atomic_open, atomic_write_bytes, atomic_write_text
from .safe_globals import (checkpoint_safe_globals,
                           register_checkpoint_safe_globals)

__all__ = [
    'atomic_open', 'atomic_write_bytes', 'atomic_write_text',
    'checkpoint_safe_globals', 'register_checkpoint_safe_globals'
]
