"""TextAttack, run offline: NLTK's resources resolved first, its downloads skipped, the
environment it rewrites put back."""
from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def textattack_offline():
    """Run TextAttack code after NLTK's resources resolve: its nltk.download calls (at import and
    in WordSwapWordNet()) are skipped when offline, where they could only fail noisily, and the
    environment variables its import rewrites are put back."""
    from ..common.resources import cache_dir, ensure_resources, host_reachable

    ensure_resources()
    os.environ.setdefault("TA_CACHE_DIR", str(cache_dir() / "textattack"))
    import nltk

    real_download, environ = nltk.download, dict(os.environ)
    if not host_reachable():
        nltk.download = lambda *args, **kwargs: False
    try:
        yield
    finally:
        nltk.download = real_download
        # Importing textattack rewrites HF_HOME, XDG_CACHE_HOME, PYTORCH_TRANSFORMERS_CACHE and
        # more for the whole process (and its children); put the user's environment back.
        os.environ.clear()
        os.environ.update(environ)

