"""Writing files so that nothing is lost: a failed or interrupted write leaves the old file."""
import glob
import os
import tempfile

TEMP_PREFIX = ".tmp-"


def remove_temp_files(folder):
    """Delete the ``.tmp-*`` files that atomic writes killed midway left in ``folder``."""
    for path in glob.glob(os.path.join(glob.escape(os.fspath(folder)), TEMP_PREFIX + "*")):
        try:
            os.unlink(path)
        except OSError:
            pass


def atomic_write(path, write):
    """Call ``write(file)`` on a temp file next to ``path``, then move it over ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=os.path.basename(path), dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)      # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
