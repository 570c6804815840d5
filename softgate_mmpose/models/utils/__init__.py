from .deploy import switch_to_deploy
from .truncate import truncate_stacks

__all__ = ['switch_to_deploy', 'truncate_stacks']
