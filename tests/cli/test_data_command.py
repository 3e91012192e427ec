"""``gravity data download``: against a local HTTP server on 127.0.0.1 serving fixture files.

The server mirrors the publishers' paths (``/DATA_DOWNLOAD/baci/data/...``, ``/distance/...``,
``/v2/en/indicator/...``), so ``--base-url`` is the only difference from a real download.
"""

from __future__ import annotations

import functools
import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gravity.cli.main import main
from gravity.panel.build import build_panel
from gravity.panel.download import remote_files
from gravity.panel.options import SampleOptions
from gravity.panel.readers import BaciSource, WdiSource, read_wdi

BACI_CSV = "t,i,j,k,v,q\n2021,4,24,10121,1.5,NA\n2021,710,4,90111,2,0.5\n"
CODES_CSV = (
    "country_code,country_name,country_iso2,country_iso3\n"
    "4,Afghanistan,AF,AFG\n24,Angola,AO,AGO\n710,South Africa,ZA,ZAF\n"
)
WDI_CSV = (
    '"Data Source","World Development Indicators",\n\n"Last Updated Date","2026-10-01",\n\n'
    '"Country Name","Country Code","Indicator Name","Indicator Code","2020","2021",\n'
    '"Angola","AGO","{name}","{code}","1","2",\n'
)


def zip_bytes(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


class Server:
    """A static file server on 127.0.0.1 that records the paths requested."""

    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        requests = self.requests

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:
                pass

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    root = tmp_path / "site"
    baci = root / "DATA_DOWNLOAD" / "baci" / "data"
    baci.mkdir(parents=True)
    (baci / "BACI_HS92_V202601.zip").write_bytes(
        zip_bytes(
            {
                "BACI_HS92_Y2021_V202601.csv": BACI_CSV,
                "country_codes_V202601.csv": CODES_CSV,
                "Readme.txt": "BACI fixture",
            }
        )
    )
    distance = root / "distance"
    distance.mkdir()
    (distance / "dist_cepii.zip").write_bytes(zip_bytes({"dist_cepii.xls": "not really xls"}))
    (distance / "geo_cepii.xls").write_bytes(b"not really xls either")
    indicators = root / "v2" / "en" / "indicator"
    indicators.mkdir(parents=True)
    for code, name in (("NY.GDP.MKTP.CD", "GDP (current US$)"), ("SP.POP.TOTL", "Population")):
        text = WDI_CSV.format(name=name, code=code)
        (indicators / code).write_bytes(zip_bytes({f"API_{code}_DS2_en_csv_v2_1.csv": text}))
    running = Server(root)
    yield running
    running.close()


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["data", "download", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_baci_download_extract_cache_and_build(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "cache"
    args = ["baci", "--base-url", server.url, "--dest", str(dest), "--no-progress"]
    code, out, err = run(args, capsys)
    assert code == 0, err
    assert server.requests == ["/DATA_DOWNLOAD/baci/data/BACI_HS92_V202601.zip"]
    assert "(downloaded," in out and "BACI_HS92_Y2021_V202601.csv" in out
    extracted = dest / "BACI_HS92_V202601.zip.unzip"
    assert (extracted / "BACI_HS92_Y2021_V202601.csv").read_text() == BACI_CSV
    record = (dest / "downloads.json").read_text()
    digest = hashlib.sha256((dest / "BACI_HS92_V202601.zip").read_bytes()).hexdigest()
    assert digest in record and "BACI_HS92_Y2021_V202601.csv" in record
    # a second run uses the cache: no request, same files
    code, out, _ = run(args, capsys)
    assert code == 0 and "(cached," in out and len(server.requests) == 1
    # the downloaded files build a panel as they are
    source = BaciSource(paths=["BACI_HS92_Y2021_V*.csv"], country_codes="country_codes_V202601.csv")
    panel = build_panel(source, None, SampleOptions(), extracted)
    assert panel.frame["value"].sum() == pytest.approx(3500.0)


def test_checksums(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "cache"
    base = ["baci", "--base-url", server.url, "--dest", str(dest), "--no-progress"]
    code, _, err = run([*base, "--sha256", "0" * 64], capsys)
    assert code == 1
    assert "the file's SHA-256 does not match the expected 0000" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(base, capsys)  # trust on first use: the hash is recorded ...
    assert code == 0, err
    archive = dest / "BACI_HS92_V202601.zip"
    good = archive.read_bytes()
    archive.write_bytes(good[:-10] + b"corrupted!")  # ... and a damaged cache is fetched again
    code, _, err = run(base, capsys)
    assert code == 0, err
    assert archive.read_bytes() == good and len(server.requests) == 3


def test_unreachable_or_missing_file_is_one_line(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "baci",
        "--release",
        "199901",
        "--base-url",
        server.url,
        "--dest",
        str(tmp_path),
        "--no-progress",
    ]
    code, _, err = run(args, capsys)
    assert code == 1
    assert err.startswith("gravity data: error: ")
    assert "BACI_HS92_V199901.zip: download failed (HTTPError: 404" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(["baci", "--revision", "HS93", "--dest", str(tmp_path)], capsys)
    assert code == 1 and "unknown HS revision 'HS93'" in err


def test_wdi_and_geodist(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "wdi"
    code, out, err = run(
        [
            "wdi",
            "--indicator",
            "NY.GDP.MKTP.CD",
            "--indicator",
            "SP.POP.TOTL",
            "--base-url",
            server.url,
            "--dest",
            str(dest),
        ],
        capsys,
    )  # progress on
    assert code == 0, err
    assert sorted(server.requests) == [
        "/v2/en/indicator/NY.GDP.MKTP.CD?downloadformat=csv",
        "/v2/en/indicator/SP.POP.TOTL?downloadformat=csv",
    ]
    result = read_wdi(WdiSource(paths=["API_*.zip.unzip/API_*.csv"]), dest)
    assert sorted(set(result.frame["indicator"])) == ["NY.GDP.MKTP.CD", "SP.POP.TOTL"]
    code, out, err = run(
        ["geodist", "--base-url", server.url, "--dest", str(tmp_path / "geo"), "--no-progress"],
        capsys,
    )
    assert code == 0, err
    assert "dist_cepii.xls" in out and "geo_cepii.xls" in out


def test_default_addresses_are_the_publishers() -> None:
    (baci,) = remote_files("baci", revision="hs17", release="V202401b")
    assert baci.url == "https://www.cepii.fr/DATA_DOWNLOAD/baci/data/BACI_HS17_V202401b.zip"
    geo = remote_files("geodist")
    assert [f.url for f in geo] == [
        "https://www.cepii.fr/distance/dist_cepii.zip",
        "https://www.cepii.fr/distance/geo_cepii.xls",
    ]
    (wdi,) = remote_files("wdi", indicators=["SP.POP.TOTL"])
    assert wdi.url == "https://api.worldbank.org/v2/en/indicator/SP.POP.TOTL?downloadformat=csv"
    (mirror,) = remote_files("wdi", base_url="http://127.0.0.1:9/mirror")
    assert mirror.url.startswith("http://127.0.0.1:9/mirror/v2/en/indicator/NY.GDP.MKTP.CD?")
