"""Archive instances: built in, configured in ``instances.yaml``, or discovered over HTTP.

An *instance* is one DANDI-API archive: a name, the API base URL (``…/api``, no trailing
slash) and, when it has one, the web UI URL. Three sources, looked up in this order:

* built in: the instances the official client knows (``dandi``, ``dandi-sandbox``, ``linc``,
  …), with the same names and URLs, so ``DANDI:000123`` means the same thing to both clients;
* configured: ``instances.yaml`` in the user config directory
  (``platformdirs.user_config_dir("neuropil")``, or ``$NEUROPIL_CONFIG_DIR``)::

      default: mylab              # a name or a URL; $NEUROPIL_URL overrides it
      instances:
        mylab:
          api: https://archive.mylab.org/api
          web: https://archive.mylab.org     # optional ("gui" is accepted too)

* discovered: any other server is asked for its server info (``{root}/server-info``, then
  ``{root}/api/info/``), like the official client does; the instance is named ``host[:port]``
  of its API URL. Discoveries are cached for the life of the process. The requests go through
  a :class:`~neuropil.http.transport.Transport` (with the caller's httpx ``transport``, if
  any: :class:`~neuropil.client.archive.Archive` passes its own) and its redirect follower.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import platformdirs
import yaml

from neuropil.errors import InvalidConfig, InvalidUrl, RemoteError, UnknownInstance, UsageError
from neuropil.http import redirects
from neuropil.http.transport import Backoff, Transport

CONFIG_DIR_ENV = "NEUROPIL_CONFIG_DIR"
DEFAULT_URL_ENV = "NEUROPIL_URL"
INSTANCES_FILE = "instances.yaml"
#: Discovery is a single small GET: fail fast on a wrong host.
DISCOVERY_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: Names are lowercase; no ``:`` or ``/`` so that ``NAME:000123`` and ``dandi://NAME/…`` parse.
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
#: Names the official client retired, with what replaced them.
RENAMED = {"dandi-staging": "dandi-sandbox"}


@dataclass(frozen=True)
class Instance:
    """One DANDI-API archive. URLs are stored without a trailing slash."""

    name: str
    api_url: str
    web_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_url", _check_http_url(self.api_url, "API URL"))
        if self.web_url is not None:
            object.__setattr__(self, "web_url", _check_http_url(self.web_url, "web URL"))

    @property
    def base_url(self) -> str:
        """The API URL without its final ``/api``: the server's root."""
        return self.api_url.removesuffix("/api")

    def matches(self, url: str) -> bool:
        """Whether ``url`` is this instance's API URL, web URL or server root."""
        norm = normalize_url(url)
        return norm in {self.api_url, self.base_url, self.web_url}

    def coverage(self, url: str) -> int:
        """The length of the longest of this instance's URLs that ``url`` is or lies under
        (0 if none): the best-covering instance owns a URL."""
        norm = normalize_url(url)
        own = (u for u in (self.api_url, self.base_url, self.web_url) if u)
        return max((len(u) for u in own if norm == u or norm.startswith(u + "/")), default=0)


def normalize_url(url: str) -> str:
    """Lowercase the scheme and host and drop a trailing slash, query and fragment."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}".rstrip("/")


def _check_http_url(url: str, what: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidUrl(f"{what} {url!r} is not an http(s) URL")
    return normalize_url(url)


def builtin_instances(env: Mapping[str, str] | None = None) -> dict[str, Instance]:
    """The instances the official client knows (``dandi/consts.py``), by name."""
    env = os.environ if env is None else env
    host = env.get("DANDI_INSTANCEHOST", "localhost")
    table = [
        ("dandi", "https://api.dandiarchive.org/api", "https://dandiarchive.org"),
        (
            "dandi-sandbox",
            "https://api.sandbox.dandiarchive.org/api",
            "https://sandbox.dandiarchive.org",
        ),
        ("dandi-api-local-docker-tests", f"http://{host}:8000/api", f"http://{host}:8085"),
        ("linc", "https://api.lincbrain.org/api", "https://lincbrain.org"),
        ("linc-staging", "https://staging-api.lincbrain.org/api", "https://staging.lincbrain.org"),
        ("ember-dandi", "https://api-dandi.emberarchive.org/api", "https://dandi.emberarchive.org"),
        (
            "ember-dandi-sandbox",
            "https://api-dandi.sandbox.emberarchive.org/api",
            "https://dandi.sandbox.emberarchive.org",
        ),
    ]
    return {name: Instance(name, api, web) for name, api, web in table}


# --------------------------------------------------------------------------- config files


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user config directory: ``$NEUROPIL_CONFIG_DIR`` or the platform's default."""
    env = os.environ if env is None else env
    override = env.get(CONFIG_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_config_dir("neuropil"))


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (mode 0700) if missing; an existing directory is left as it is."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def atomic_write(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: readers never see a
    half-written file, and the file never exists with looser permissions than ``mode``."""
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path.lock`` around a read-modify-write of ``path``."""
    ensure_private_dir(path.parent)
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: atomic writes only
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- discovery

_cache_lock = threading.Lock()
_discovered: dict[str, Instance] = {}  # by server root, and by instance name


def clear_discovery_cache() -> None:
    """Forget every instance discovered so far in this process."""
    with _cache_lock:
        _discovered.clear()


def discovered(name: str) -> Instance | None:
    """An instance discovered earlier in this process, by its ``host[:port]`` name."""
    with _cache_lock:
        return _discovered.get(f"name:{name.lower()}")


def server_root(url: str) -> str:
    """``scheme://host[:port][/prefix]`` of a server URL: no query, no trailing ``/api``."""
    norm = _check_http_url(url, "server URL")
    return norm.removesuffix("/api")


def discover(
    url: str,
    *,
    timeout: httpx.Timeout = DISCOVERY_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> Instance:
    """Ask the server at ``url`` what it is: GET ``{root}/server-info``, and when that is not
    DANDI server info (e.g. a 404), ``{root}/api/info/``; build the instance from
    ``services.api.url`` and ``services.webui.url``. Cached per root for the process.

    A ``url`` with a path is first tried as a root with that path prefix, then as the bare
    ``scheme://host[:port]``. Raises :class:`RemoteError` when no DANDI-API server answers.
    ``transport`` replaces the network (as :class:`Transport`'s does).
    """
    root = server_root(url)
    with _cache_lock:
        hit = _discovered.get(root)
    if hit is not None:
        return hit
    instance, answered = _discover_uncached(root, timeout, transport)
    with _cache_lock:
        _discovered[root] = _discovered[answered] = instance
        _discovered[f"name:{instance.name}"] = instance
    return instance


def _discover_uncached(
    root: str, timeout: httpx.Timeout, transport: httpx.BaseTransport | None
) -> tuple[Instance, str]:
    """The instance, and the root that answered."""
    parts = urlsplit(root)
    origin = f"{parts.scheme}://{parts.netloc}"
    roots = [root] if root == origin else [root, origin]
    problems: list[str] = []
    status = 0
    # One attempt: discovery fails fast on a wrong host. No token: nothing is known yet.
    t = Transport(origin, timeout=timeout, backoff=Backoff(attempts=1), transport=transport)
    try:
        for candidate in roots:
            for suffix in ("/server-info", "/api/info/"):
                info, problem, status = _fetch_info(t, candidate + suffix)
                if info is not None:
                    return _instance_from_info(info, candidate + suffix), candidate
                problems.append(problem)
    finally:
        if transport is None:  # a caller's httpx transport stays open for the caller
            t.close()
    raise RemoteError(
        f"{root} does not look like a DANDI-API archive: " + "; ".join(problems),
        status_code=status,
        url=root,
    )


def _fetch_info(t: Transport, url: str) -> tuple[dict[str, Any] | None, str, int]:
    """(server info or None, what went wrong, the status answered: 0 for an answer that is
    no server info). Unreachable hosts raise."""
    try:
        response = redirects.get(t, url, headers={"Accept": "application/json"})
    except RemoteError as exc:
        if exc.status_code == 0:
            why = exc.__cause__ or exc  # the connection error itself, when there is one
            raise RemoteError(f"cannot reach {url}: {why}", status_code=0, url=url) from exc
        return None, f"GET {url} -> {exc.status_code}", exc.status_code
    if response.status_code != 200:
        return None, f"GET {url} -> {response.status_code}", response.status_code
    try:
        body = response.json()
    except ValueError:
        return None, f"GET {url} did not return JSON", 0
    if not isinstance(_api_url_of(body), str):
        return None, f"GET {url} has no services.api.url", 0
    return body, "", 200


def _api_url_of(info: Any) -> Any:
    try:
        return info["services"]["api"]["url"]
    except (KeyError, TypeError):
        return None


def _instance_from_info(info: dict[str, Any], source: str) -> Instance:
    api_url = str(_api_url_of(info))
    web = info.get("services", {}).get("webui") or {}
    web_url = web.get("url") if isinstance(web, dict) else None
    try:
        return Instance(host_port(api_url), api_url, web_url or None)
    except InvalidUrl as exc:
        raise RemoteError(
            f"{source} reported unusable URLs: {exc}", status_code=0, url=source
        ) from exc


def host_port(url: str) -> str:
    """``host[:port]`` of a URL (IPv6 hosts in brackets), lowercase: a discovered name."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port is not None else host


# --------------------------------------------------------------------------- registry


class Registry:
    """Built-in plus configured instances, a default one, and URL → instance resolution.

    ``config_dir`` defaults to :func:`config_dir`; ``env`` (default ``os.environ``) is where
    ``NEUROPIL_URL``/``NEUROPIL_CONFIG_DIR`` are read, so tests can pass their own.
    """

    def __init__(
        self,
        config_dir: Path | None = None,
        *,
        env: Mapping[str, str] | None = None,
        timeout: httpx.Timeout = DISCOVERY_TIMEOUT,
    ) -> None:
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.config_dir = config_dir if config_dir is not None else _default_dir(self.env)
        self.timeout = timeout

    @property
    def path(self) -> Path:
        """The ``instances.yaml`` this registry reads and writes."""
        return self.config_dir / INSTANCES_FILE

    # -- reading

    def builtin(self) -> dict[str, Instance]:
        """The built-in instances, by name."""
        return builtin_instances(self.env)

    def configured(self) -> dict[str, Instance]:
        """The instances from ``instances.yaml``, by name."""
        entries = self._load().get("instances") or {}
        if not isinstance(entries, dict):
            raise InvalidConfig(f"{self.path}: 'instances' must be a mapping of name to URLs")
        return {str(name).lower(): self._entry(str(name), e) for name, e in entries.items()}

    def list(self) -> tuple[Instance, ...]:
        """Every known instance: built in first, then configured ones by name."""
        configured = self.configured()
        return (*self.builtin().values(), *(configured[k] for k in sorted(configured)))

    def find(self, name: str) -> Instance | None:
        """The instance called ``name`` (any case), or None. Never touches the network."""
        key = name.strip().lower()
        return self.builtin().get(key) or self.configured().get(key) or discovered(key)

    def get(self, name: str) -> Instance:
        """The instance called ``name``; :class:`UnknownInstance` lists the known names."""
        key = name.strip().lower()
        if key in RENAMED:
            raise UnknownInstance(
                f"instance {name!r} was removed; it is now called {RENAMED[key]!r}"
            )
        found = self.find(key)
        if found is None:
            known = ", ".join(i.name for i in self.list())
            raise UnknownInstance(
                f"unknown instance {name!r}; known instances: {known}. Add one with "
                "`neuropil instances add NAME URL`, or give the archive's URL instead."
            )
        return found

    def by_url(self, url: str) -> Instance | None:
        """The known instance that owns ``url``: it is, or lies under, the instance's API URL,
        web URL or server root (the longest such match wins). Never touches the network."""
        candidates = [*self.list()]
        hit = discovered(host_port(url))
        if hit is not None:
            candidates.append(hit)
        best = max(candidates, key=lambda i: i.coverage(url))
        return best if best.coverage(url) else None

    # -- resolving

    def discover(self, url: str, *, transport: httpx.BaseTransport | None = None) -> Instance:
        """The instance serving ``url``: a known one when the URL is one of its URLs, else
        what the server says about itself (:func:`discover`, through ``transport`` if
        given), renamed to a configured instance with the same API URL if there is one."""
        known = self.by_url(url)
        if known is not None:
            return known
        found = discover(url, timeout=self.timeout, transport=transport)
        return self.by_url(found.api_url) or found

    def resolve(
        self, name_or_url: str, *, transport: httpx.BaseTransport | None = None
    ) -> Instance:
        """An instance from a name (``dandi``, ``mylab``) or an archive URL (discovered
        through ``transport``, if given)."""
        text = name_or_url.strip()
        if re.match(r"(?i)https?://", text):
            return self.discover(text, transport=transport)
        return self.get(text)

    def default_spec(self) -> str | None:
        """The configured default as written: ``$NEUROPIL_URL``, else the config ``default:``,
        else the official client's ``$DANDI_INSTANCE``; None when nothing is set."""
        for value in (self.env.get(DEFAULT_URL_ENV), self._load().get("default")):
            if value:
                return str(value)
        return self.env.get("DANDI_INSTANCE") or None

    def default(self, *, transport: httpx.BaseTransport | None = None) -> Instance:
        """The default instance (see :meth:`default_spec`); ``dandi`` when none is set.
        A URL is discovered through ``transport``, if given."""
        spec = self.default_spec()
        return self.resolve(spec, transport=transport) if spec else self.get("dandi")

    # -- writing

    def add(
        self, name: str, api_url: str, web_url: str | None = None, *, default: bool = False
    ) -> Instance:
        """Add (or replace) a configured instance; ``default=True`` also makes it the default."""
        key = name.strip().lower()
        if not NAME_RE.fullmatch(key):
            raise UsageError(
                f"instance name {name!r} is not valid: use letters, digits, '.', '_' and '-', "
                "starting with a letter or digit"
            )
        if key in self.builtin() or key in RENAMED:
            raise UsageError(f"{key!r} is a built-in instance name; choose another name")
        instance = Instance(key, api_url, web_url)
        with file_lock(self.path):
            data = self._load()
            entries = data.get("instances") or {}
            if not isinstance(entries, dict):
                raise InvalidConfig(f"{self.path}: 'instances' must be a mapping")
            entry = {"api": instance.api_url}
            if instance.web_url:
                entry["web"] = instance.web_url
            entries[key] = entry
            data["instances"] = entries
            if default:
                data["default"] = key
            self._save(data)
        return instance

    def remove(self, name: str) -> None:
        """Remove a configured instance (and the default, if it pointed to it)."""
        key = name.strip().lower()
        if key in self.builtin():
            raise UsageError(f"{key!r} is built in and cannot be removed")
        with file_lock(self.path):
            data = self._load()
            entries = data.get("instances") or {}
            if not isinstance(entries, dict) or key not in entries:
                raise UnknownInstance(f"no configured instance called {name!r} in {self.path}")
            del entries[key]
            if str(data.get("default", "")).lower() == key:
                del data["default"]
            self._save(data)

    def set_default(self, name_or_url: str | None) -> None:
        """Make a known instance name or a URL the default (None clears it)."""
        with file_lock(self.path):
            data = self._load()
            if name_or_url is None:
                data.pop("default", None)
            elif re.match(r"(?i)https?://", name_or_url):
                data["default"] = normalize_url(_check_http_url(name_or_url, "URL"))
            else:
                data["default"] = self.get(name_or_url).name
            self._save(data)

    # -- file format

    def _load(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise InvalidConfig(f"cannot read {self.path}: {exc}") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidConfig(f"{self.path} is not valid YAML: {exc}") from exc
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise InvalidConfig(f"{self.path} must hold a mapping (default:, instances:)")
        return data

    def _save(self, data: dict[str, Any]) -> None:
        text = yaml.safe_dump(data, default_flow_style=False, sort_keys=True)
        atomic_write(self.path, text, mode=0o644)

    def _entry(self, name: str, entry: Any) -> Instance:
        if isinstance(entry, str):
            entry = {"api": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("api"), str):
            raise InvalidConfig(f"{self.path}: instance {name!r} needs an 'api' URL")
        web = entry.get("web", entry.get("gui"))
        try:
            return Instance(name.lower(), entry["api"], str(web) if web else None)
        except InvalidUrl as exc:
            raise InvalidConfig(f"{self.path}: instance {name!r}: {exc}") from exc


def _default_dir(env: Mapping[str, str]) -> Path:
    return config_dir(env)
