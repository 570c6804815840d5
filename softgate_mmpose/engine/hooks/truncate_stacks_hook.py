# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS

from ...models import truncate_stacks


@HOOKS.register_module()
class TruncateStacksHook(Hook):
    """Test the loaded model up to stack K (``tools/test.py --num-stacks``).

    ``Runner.test`` loads the checkpoint before the test loop calls
    ``before_test``, so the full model's weights are in place when the later
    stacks are deleted (:func:`~softgate_mmpose.models.truncate_stacks`).
    The hook acts on test runs only: a validation during training keeps every
    stack.

    Args:
        num_stacks (int): Number of stacks K to keep, 1..num_stacks.
    """

    priority = 'VERY_HIGH'

    def __init__(self, num_stacks: int) -> None:
        if isinstance(num_stacks, bool) or not isinstance(num_stacks, int) \
                or num_stacks < 1:
            raise ValueError('TruncateStacksHook: num_stacks must be a '
                             f'positive integer, got {num_stacks!r}')
        self.num_stacks = num_stacks

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        truncate_stacks(model, self.num_stacks)
