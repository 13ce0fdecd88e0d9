"""Stage 0 for the real corpora: download, verify, unpack, mark complete.

`corpus.get_corpus` runs the steps for one `sources.CorpusSource`:

1. `<db_root>/.complete` exists: nothing to do, no request is made.
2. `<db_root>` already holds files: it is checked as an unpacked copy (`verify.check_layout`)
   and marked; nothing is downloaded.
3. Otherwise each archive is fetched into `<download_dir>/<name>.part`, resumed with HTTP
   Range after an interruption (`fetch`), checked (size and md5 where known, archive
   signature; `verify`) and only then renamed to `<name>`; a file that fails is moved to
   `<name>.bad`. The archives are unpacked into a staging directory beside `<db_root>`
   (`unpack`), the staged tree is checked against the official counts, renamed into place,
   and `.complete` is written last.

The errors below are the expected failures: each message names the file and what is wrong.
"""


class CorpusError(Exception):
    """A corpus could not be put in place; the message says why and what to do."""


class DownloadError(CorpusError):
    """A file could not be downloaded: refused (401/403, a login page), missing, or unreachable."""


class ManualDownloadError(CorpusError):
    """A file has to be downloaded by hand; the message says from where and where to put it."""


class ChecksumError(CorpusError):
    """A file's size or md5 differs from the published value."""


class ArchiveError(CorpusError):
    """An archive is unreadable, truncated, corrupt, or has unsafe member paths."""


class LayoutError(CorpusError):
    """An unpacked corpus lacks files, or its protocol counts differ from the official ones."""
