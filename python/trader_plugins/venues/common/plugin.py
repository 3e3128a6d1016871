"""The plugin objects every venue registers, written once: a data client (``--feed VENUE:k=v``) and
an execution client (``--venue VENUE:k=v``) built from the venue's options table and config class.
A venue subclasses them naming itself, its options (:attr:`VenuePlugin.options`), its config class
and the clients it builds; what it reads from the options and how its clients start stays its own.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from trader.exceptions import InvalidInputError

from . import options as _options

__all__ = ["VenuePlugin", "FeedPlugin", "InstrumentFeedPlugin", "ExecutionPlugin"]


class VenuePlugin:
    """What a venue's plugin objects share: its name, the options table and the config class."""

    #: The venue's name (``--feed NAME:...``), also the prefix of its config's errors.
    name: ClassVar[str]
    description: ClassVar[str]
    #: Option name -> converter (every config field given as text).
    options: ClassVar[Mapping[str, Callable[[Any], Any]]]
    #: The config class (keyword arguments, raising :class:`InvalidInputError` prefixed ``name: ``).
    config_class: ClassVar[Callable[..., Any]]
    #: Options given as comma- or plus-separated lists.
    list_options: ClassVar[Iterable[str]] = ("symbols",)

    def load(self, spec: str) -> Callable[..., Any]:
        """The class ``spec`` (``"module:Name"``) names in the venue's package (imported when it is
        needed: a venue's clients pull in their dependencies only when used)."""
        module, _, name = spec.partition(":")
        package = type(self).__module__.rpartition(".")[0]
        cls: Callable[..., Any] = getattr(importlib.import_module(f".{module}", package), name)
        return cls

    def config(self, options: Mapping[str, Any], where: str) -> Any:
        """The venue's config from ``k=v`` options (see :func:`.options.config_from_options`)."""
        return _options.config_from_options(options, self.options, self.config_class, where, venue=self.name,
                                            lists=self.list_options)


class FeedPlugin(VenuePlugin):
    """A data client taking options, not files: :meth:`feed_config` refuses paths, naming the
    options it takes (:attr:`usage`)."""

    #: An example of the options (shown when files are given instead).
    usage: ClassVar[str]

    def feed_config(self, paths: list[str], options: Mapping[str, Any]) -> Any:
        """The config of a feed opened with ``paths`` and ``options``.

        :raise InvalidInputError: files given, or a bad option."""
        if paths:
            raise InvalidInputError(f"feed {self.name}: takes options ({self.usage}), not files: {paths[0]!r}")
        return self.config(options, f"feed {self.name}")


class InstrumentFeedPlugin(FeedPlugin):
    """A data client whose feed reads its instrument from the venue before it is handed over
    (:attr:`data_client` builds it; ``instrument()`` fetches tick, lot and contract sizes)."""

    #: The data client class in the venue's package, ``"module:Name"``.
    data_client: ClassVar[str]

    def open(self, paths: list[str], options: dict[str, Any], *, speed: float = 1.0,
             end_on_disconnect: bool = False) -> Any:
        """The feed, its instrument read from the venue.

        :raise InvalidInputError: files given, a bad option, or the venue does not list the symbol."""
        feed = self.load(self.data_client)(self.feed_config(paths, options), end_on_disconnect=end_on_disconnect)
        feed.instrument()
        return feed


class ExecutionPlugin(VenuePlugin):
    """An execution client: ``credentials(path)`` loads the API key (a TOML file only its user can
    read, else ``<env_prefix>_API_KEY`` / ``_API_SECRET`` and, with :attr:`need_passphrase`,
    ``_API_PASSPHRASE``); ``client(options, credentials, on_report)`` builds the client."""

    paper = False
    #: The environment variables' prefix.
    env_prefix: ClassVar[str]
    #: The venue's keys come with a passphrase (OKX).
    need_passphrase: ClassVar[bool] = False

    #: The execution client class in the venue's package, ``"module:Name"``.
    execution_client: ClassVar[str]

    def credentials(self, path: str | None) -> Any:
        """The API key and secret (and passphrase) from ``path``, else from the environment.
        Refused, naming the source, when any is missing."""
        from .auth import Credentials

        if path:
            return Credentials.from_file(path, need_passphrase=self.need_passphrase)
        return Credentials.from_env(prefix=self.env_prefix, need_passphrase=self.need_passphrase)

    def client(self, options: dict[str, Any], credentials: Any, on_report: Any) -> Any:
        return self.load(self.execution_client)(self.config(options, f"venue {self.name}"), credentials, on_report)
