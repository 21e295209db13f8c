"""The one way this project writes a folder: fill a hidden temporary sibling, then rename it into
place, so a reader sees the old folder or the whole new one and never half of it (corpora, cached
sources, resources, training runs)."""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path


@contextlib.contextmanager
def atomic_folder(final, keep_existing: bool = False):
    """Yield an empty temporary folder beside `final`; when the block ends without error it
    becomes `final` (an older `final` is moved aside in one rename and deleted after). On error
    the temporary folder is removed. `keep_existing`: a cache filled by whoever finishes first
    keeps the first one (another process may have finished it meanwhile)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists() and keep_existing:
        shutil.rmtree(tmp, ignore_errors=True)
        return
    replace_folder(tmp, final)


def replace_file(path, content: str | bytes) -> None:
    """Write `path` (text, or bytes such as a PNG) whole or not at all: a temporary sibling renamed
    into place, so a reader (a resumed job, another process) sees the old file or the new, never half."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if isinstance(content, bytes):
        tmp.write_bytes(content)
    else:
        tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)


def replace_png(path, figure, dpi: int = 120) -> None:
    """A matplotlib figure saved as `path` whole or not at all (as `replace_file`)."""
    import io

    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=dpi)
    replace_file(path, png.getvalue())


def replace_folder(filled, final) -> None:
    """Move a filled folder to `final` (for work folders that outlive one process, such as a
    training seed's, which resumes): an older `final` is moved aside in one rename, then deleted."""
    filled, final = Path(filled), Path(final)
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        os.replace(final, old)
    os.replace(filled, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
