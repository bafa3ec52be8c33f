"""Output paths given on the command line: refused in one line before any work is done."""

from __future__ import annotations

from pathlib import Path

from sliceq22.errors import Sliceq22Error


def check_output_file(path: str | Path) -> Path:
    """Return ``path`` if a file can be written there, else raise saying why.

    Checked before a command does its work, so a wrong ``-o`` costs nothing:
    an existing folder where the file should go, a parent that is a file, or a
    parent that does not exist.

    Parameters
    ----------
    path : str or Path
        The output file named by ``-o``.

    Returns
    -------
    Path

    Raises
    ------
    Sliceq22Error
        One line naming the problem.
    """
    out = Path(path)
    if out.is_dir():
        raise Sliceq22Error(f"cannot write {out}: it is a folder; give a file name")
    parent = out.parent
    # The nearest existing ancestor tells a file in the way from a missing folder.
    ancestor = parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise Sliceq22Error(f"cannot write {out}: {ancestor} is a file, not a folder")
    if not parent.is_dir():
        raise Sliceq22Error(f"cannot write {out}: folder {parent} does not exist")
    return out
