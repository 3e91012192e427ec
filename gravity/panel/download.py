"""Downloads of the public source files (CEPII BACI and GeoDist, World Bank WDI) with pooch.

``gravity data download baci|geodist|wdi`` calls :func:`download`. Files go to a cache folder
(``--dest``; default ``<user cache>/gravity/<dataset>``, see :func:`default_cache`); a file already
there is not downloaded again. Archives are extracted next to them (``<name>.zip.unzip/``) and
the paths of the extracted files are returned. Checksums: pass ``sha256`` to pin a file;
otherwise the SHA-256 of the first download is recorded in ``downloads.json`` in the cache folder
and every later run checks the cached file against it (trust on first use). ``refresh=True``
forgets the cached copy.

The default addresses are the publishers' own (``base_url`` points them at a mirror):

* BACI: ``https://www.cepii.fr/DATA_DOWNLOAD/baci/data/BACI_{revision}_V{release}.zip``
  (one zip per HS revision and release, all years inside; several GB for HS92);
* GeoDist: ``https://www.cepii.fr/distance/dist_cepii.zip`` and ``.../geo_cepii.xls``;
* WDI: ``https://api.worldbank.org/v2/en/indicator/{indicator}?downloadformat=csv`` (a zip with
  the wide CSV that :func:`gravity.panel.readers.read_wdi` reads).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import pooch

from gravity.exceptions import ConfigError, DataError

__all__ = [
    "BACI_RELEASE",
    "DATASETS",
    "DownloadResult",
    "RemoteFile",
    "default_cache",
    "download",
    "remote_files",
]

log = logging.getLogger("gravity")

Dataset = Literal["baci", "geodist", "wdi"]
DATASETS: tuple[Dataset, ...] = ("baci", "geodist", "wdi")

#: BACI release downloaded by default (CEPII publishes one a year, in January).
BACI_RELEASE = "202601"
BACI_URL = "https://www.cepii.fr/DATA_DOWNLOAD/baci/data/BACI_{revision}_V{release}.zip"
GEODIST_URLS = (
    "https://www.cepii.fr/distance/dist_cepii.zip",
    "https://www.cepii.fr/distance/geo_cepii.xls",
)
WDI_URL = "https://api.worldbank.org/v2/en/indicator/{indicator}?downloadformat=csv"
HS_REVISIONS = ("HS92", "HS96", "HS02", "HS07", "HS12", "HS17", "HS22")
RECORD = "downloads.json"


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: its address, the name it gets in the cache, and its checksum."""

    url: str
    fname: str
    sha256: str | None = None
    unzip: bool = False


@dataclass(frozen=True)
class DownloadResult:
    """What one download produced."""

    url: str
    path: Path
    sha256: str
    size: int
    downloaded: bool
    """``False`` when the cached copy was used."""
    files: tuple[Path, ...]
    """The extracted files (archives), or the file itself."""


def default_cache() -> Path:
    """The user cache folder of gravity (``~/.cache/gravity`` on Linux; pooch's convention)."""
    return Path(pooch.os_cache("gravity"))


def _rebase(url: str, base_url: str | None) -> str:
    if base_url is None:
        return url
    base = urlsplit(base_url.rstrip("/"))
    if not base.scheme or not base.netloc:
        raise ConfigError(f"--base-url {base_url!r} is not an http(s) address like "
                          "'https://mirror.example.org'")
    parts = urlsplit(url)
    path = base.path + parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))


def remote_files(
    dataset: Dataset,
    *,
    revision: str = "HS92",
    release: str = BACI_RELEASE,
    indicators: Sequence[str] = ("NY.GDP.MKTP.CD",),
    base_url: str | None = None,
    sha256: str | None = None,
) -> list[RemoteFile]:
    """The files of ``dataset`` (see the module docstring for the addresses).

    Raises
    ------
    ConfigError
        Unknown dataset, HS revision, release or indicator format.
    """
    if dataset == "baci":
        revision = revision.upper()
        if revision not in HS_REVISIONS:
            raise ConfigError(f"unknown HS revision {revision!r}; use one of {HS_REVISIONS}")
        release = release.upper().removeprefix("V")
        if not re.fullmatch(r"\d{6}[a-z]?", release, flags=re.IGNORECASE):
            raise ConfigError(f"BACI release {release!r} should look like 202601 or 202401b")
        url = BACI_URL.format(revision=revision, release=release.lower())
        files = [RemoteFile(url, url.rsplit("/", 1)[1], sha256, unzip=True)]
    elif dataset == "geodist":
        files = [RemoteFile(u, u.rsplit("/", 1)[1], None, u.endswith(".zip")) for u in GEODIST_URLS]
        if sha256 is not None:
            files[0] = RemoteFile(files[0].url, files[0].fname, sha256, True)
    elif dataset == "wdi":
        files = []
        for code in indicators:
            if not re.fullmatch(r"[A-Za-z0-9_.]+", code):
                raise ConfigError(f"WDI indicator {code!r} should look like NY.GDP.MKTP.CD")
            files.append(
                RemoteFile(WDI_URL.format(indicator=code), f"API_{code}.zip", sha256, True)
            )
    else:
        raise ConfigError(f"unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}")
    return [RemoteFile(_rebase(f.url, base_url), f.fname, f.sha256, f.unzip) for f in files]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _load_record(folder: Path) -> dict[str, dict[str, object]]:
    path = folder / RECORD
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg}); delete it to start afresh") from exc
    return data if isinstance(data, dict) else {}


def download(
    files: Sequence[RemoteFile],
    dest: Path,
    *,
    progress: bool = True,
    refresh: bool = False,
    timeout: float = 60.0,
) -> list[DownloadResult]:
    """Fetch ``files`` into ``dest`` (a cache: existing, verified files are not fetched again).

    Parameters
    ----------
    files : sequence of RemoteFile
        What to fetch (see :func:`remote_files`).
    dest : pathlib.Path
        Cache folder; created if needed. ``downloads.json`` there records each file.
    progress : bool
        Show a progress bar per file (tqdm).
    refresh : bool
        Download again even when a cached copy exists.
    timeout : float
        Seconds to wait for the server before giving up.

    Returns
    -------
    list of DownloadResult

    Raises
    ------
    DataError
        Unreachable server, HTTP error, a checksum that does not match, or a damaged archive;
        one line naming the address and the fix.
    """
    dest.mkdir(parents=True, exist_ok=True)
    record = _load_record(dest)
    results = []
    for remote in files:
        target = dest / remote.fname
        known = remote.sha256 or _recorded_hash(record, remote, target)
        if refresh and target.exists():
            target.unlink()
            known = remote.sha256
        existed = target.exists()
        processor = pooch.Unzip() if remote.unzip else None
        downloader = pooch.HTTPDownloader(progressbar=progress, timeout=timeout)
        start = time.perf_counter()
        try:
            output = pooch.retrieve(
                remote.url,
                known_hash=None if known is None else f"sha256:{known}",
                fname=remote.fname,
                path=dest,
                processor=processor,
                downloader=downloader,
                progressbar=progress,
            )
        except ValueError as exc:  # pooch: checksum mismatch
            raise DataError(
                f"{remote.url}: the file's SHA-256 does not match the expected {known} "
                f"({' '.join(str(exc).split())[:160]}); check the --sha256 value, or pass "
                "--refresh if the publisher updated the file"
            ) from exc
        except Exception as exc:  # requests raises many types: one line for all of them
            message = " ".join(str(exc).split())[:200]
            raise DataError(
                f"{remote.url}: download failed ({type(exc).__name__}: {message}); check the "
                "address and the network, or download it by hand into "
                f"{dest} as {remote.fname}"
            ) from exc
        digest = _sha256(target)
        outputs = [Path(p) for p in output] if isinstance(output, list) else [Path(output)]
        downloaded = not existed or refresh
        log.info("%s %s (%s bytes, %.1f s)", "downloaded" if downloaded else "cached",
                 target.name, f"{target.stat().st_size:,}", time.perf_counter() - start)
        record[remote.fname] = {
            "url": remote.url,
            "sha256": digest,
            "bytes": target.stat().st_size,
            "files": [str(p.relative_to(dest)) for p in sorted(outputs)],
            "retrieved_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        results.append(DownloadResult(remote.url, target, digest, target.stat().st_size,
                                      downloaded, tuple(sorted(outputs))))
    (dest / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", "utf-8")
    return results


def _recorded_hash(
    record: dict[str, dict[str, object]], remote: RemoteFile, target: Path
) -> str | None:
    entry = record.get(remote.fname)
    if not target.exists() or not entry or entry.get("url") != remote.url:
        return None
    value = entry.get("sha256")
    return value if isinstance(value, str) else None
