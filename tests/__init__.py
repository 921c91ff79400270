"""Mutual's test suite.

Hypothesis: no per-example deadline anywhere (a loaded CI machine must not turn slowness into
failures), and on CI (CI=true) derandomized, so a run is repeatable and what landed green stays
green; locally every run explores new examples.
"""

import os

from hypothesis import settings

settings.register_profile("mutual", deadline=None)
settings.register_profile("mutual-ci", deadline=None, derandomize=True)
settings.load_profile("mutual-ci" if os.environ.get("CI") else "mutual")
